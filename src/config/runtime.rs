//! CONFIG GET and CONFIG SET, with Redis 7 semantics and error texts.

use super::Config;
use super::directives::{Access, DIRECTIVES, Directive, lookup};
use super::glob::glob_match;
use super::parse::split_spaces;

impl Config {
    /// CONFIG GET: the `(name, value)` pairs matching any of `patterns`.
    ///
    /// As in Redis 7.0: a pattern without `*`, `?` or `[` is looked up
    /// directly (case-insensitively, by canonical name or alias) and the
    /// reply echoes the name as the client wrote it; a glob pattern is
    /// matched case-insensitively against every canonical name and every
    /// alias, each reported under its own name. A name is reported once
    /// even when several patterns match it. Results come in pattern order,
    /// then in table order. Unknown names are simply absent.
    pub fn get(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut reply: Vec<(String, String)> = Vec::new();
        // Lower-case names already in the reply.
        let mut seen: Vec<String> = Vec::new();
        for pattern in patterns {
            let is_glob = pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
            if !is_glob {
                let Ok(written) = std::str::from_utf8(pattern) else {
                    continue;
                };
                let lower = written.to_ascii_lowercase();
                if seen.contains(&lower) {
                    continue;
                }
                let value = lookup(&lower).and_then(|(directive, _)| directive.render(self));
                if let Some(value) = value {
                    seen.push(lower);
                    reply.push((written.to_string(), value));
                }
                continue;
            }
            for directive in DIRECTIVES {
                for name in directive.names() {
                    if seen.iter().any(|s| s == name) || !glob_match(pattern, name.as_bytes(), true) {
                        continue;
                    }
                    if let Some(value) = directive.render(self) {
                        seen.push(name.to_string());
                        reply.push((name.to_string(), value));
                    }
                }
            }
        }
        reply
    }

    /// CONFIG SET from a client that is not local: see
    /// [`Config::set_from_client`].
    pub fn set(&mut self, pairs: &[(&[u8], &[u8])]) -> Result<(), String> {
        self.set_from_client(pairs, false)
    }

    /// CONFIG SET: sets every `(name, value)` pair, or none of them.
    ///
    /// All names are checked first (unknown, immutable, protected,
    /// duplicate), then all values are validated on a copy, which replaces
    /// `self` only if every value was valid. `client_is_local` matters only
    /// when `enable-protected-configs` is `local`.
    ///
    /// On error returns the reply text without the leading `-`, exactly as
    /// Redis 7 words it, e.g.
    /// `ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config`.
    /// (An odd number of CONFIG SET arguments is the caller's to reject:
    /// Redis answers `ERR syntax error`.)
    pub fn set_from_client(&mut self, pairs: &[(&[u8], &[u8])], client_is_local: bool) -> Result<(), String> {
        let failed =
            |name: &str, why: &str| format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {why}");
        let mut chosen: Vec<(&'static Directive, &'static str, &[u8])> = Vec::new();
        for (name, value) in pairs {
            let written = String::from_utf8_lossy(name);
            let found = std::str::from_utf8(name).ok().and_then(|n| lookup(&n.to_ascii_lowercase()));
            let Some((directive, used_name)) = found else {
                return Err(format!("ERR Unknown option or number of arguments for CONFIG SET - '{written}'"));
            };
            match directive.access {
                Access::Immutable => return Err(failed(&written, "can't set immutable config")),
                Access::Protected if !self.enable_protected_configs.allows(client_is_local) => {
                    return Err(failed(&written, "can't set protected config"));
                }
                Access::Mutable | Access::Protected => {}
            }
            if chosen.iter().any(|(_, n, _)| *n == used_name) {
                return Err(failed(&written, "duplicate parameter"));
            }
            chosen.push((directive, used_name, value));
        }

        let mut next = self.clone();
        for (directive, used_name, value) in chosen {
            let value = std::str::from_utf8(value).map_err(|_| failed(used_name, "argument must be valid UTF-8"))?;
            let values = if directive.is_multi() { split_spaces(value) } else { vec![value.to_string()] };
            directive.apply(&mut next, used_name, &values).map_err(|why| failed(used_name, &why))?;
        }
        *self = next;
        Ok(())
    }
}
