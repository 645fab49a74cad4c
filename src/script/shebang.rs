//! `#!lua flags=...` shebang lines, parsed as Redis 7's `evalExtractShebangFlags` does.

use crate::util::splitargs::split_args;

/// The flags a script declares in its shebang line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    /// No shebang: the script runs in Redis 6 compatibility mode (it may write, and the
    /// caller decides OOM/stale behaviour from the commands it calls).
    pub eval_compat_mode: bool,
    /// `no-writes`: the script may not call write commands.
    pub no_writes: bool,
    /// `allow-oom`: the script may run while the server is out of memory.
    pub allow_oom: bool,
    /// `allow-stale`: the script may run on a stale replica.
    pub allow_stale: bool,
    /// `no-cluster`: the script refuses to run in cluster mode.
    pub no_cluster: bool,
    /// `allow-cross-slot-keys`: the script may access keys of several slots.
    pub allow_cross_slot_keys: bool,
}

/// A parsed shebang: the flags, and how many bytes of the body the shebang line takes (the
/// newline ending it is not counted, so line numbers of the compiled body do not change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shebang {
    pub flags: ScriptFlags,
    pub len: usize,
}

/// Parses the shebang of a script body. A body without `#!` has no shebang (length 0) and
/// runs in compatibility mode. Errors are full reply texts (`ERR ...`).
pub fn parse(body: &[u8]) -> Result<Shebang, String> {
    if !body.starts_with(b"#!") {
        return Ok(Shebang { flags: ScriptFlags { eval_compat_mode: true, ..ScriptFlags::default() }, len: 0 });
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".to_string());
    };
    let parts = match split_args(&body[..end]) {
        Some(parts) if !parts.is_empty() => parts,
        _ => return Err("ERR Invalid engine in script shebang".to_string()),
    };
    if parts[0] != b"#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {}", String::from_utf8_lossy(&parts[0])));
    }
    let mut flags = ScriptFlags::default();
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {}", String::from_utf8_lossy(part)));
        };
        if list.is_empty() {
            continue;
        }
        for flag in list.split(|&b| b == b',') {
            match flag {
                b"no-writes" => flags.no_writes = true,
                b"allow-oom" => flags.allow_oom = true,
                b"allow-stale" => flags.allow_stale = true,
                b"no-cluster" => flags.no_cluster = true,
                b"allow-cross-slot-keys" => flags.allow_cross_slot_keys = true,
                other => {
                    return Err(format!("ERR Unexpected flag in script shebang: {}", String::from_utf8_lossy(other)));
                }
            }
        }
    }
    Ok(Shebang { flags, len: end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_shebang_is_compat_mode() {
        let s = parse(b"return 1").unwrap();
        assert!(s.flags.eval_compat_mode);
        assert_eq!(s.len, 0);
    }

    #[test]
    fn flags_parsed() {
        let s = parse(b"#!lua flags=no-writes,allow-oom\nreturn 1").unwrap();
        assert_eq!(s.len, 31);
        assert!(s.flags.no_writes && s.flags.allow_oom && !s.flags.eval_compat_mode && !s.flags.allow_stale);
        let s = parse(b"#!lua flags=allow-stale,no-cluster,allow-cross-slot-keys\n").unwrap();
        assert!(s.flags.allow_stale && s.flags.no_cluster && s.flags.allow_cross_slot_keys);
        let s = parse(b"#!lua\nreturn 1").unwrap();
        assert_eq!(s.flags, ScriptFlags::default());
        let s = parse(b"#!lua flags=\nreturn 1").unwrap();
        assert_eq!(s.flags, ScriptFlags::default());
    }

    #[test]
    fn errors_as_redis() {
        assert_eq!(parse(b"#!lua").unwrap_err(), "ERR Invalid script shebang");
        assert_eq!(parse(b"#!py\n").unwrap_err(), "ERR Unexpected engine in script shebang: #!py");
        assert_eq!(parse(b"#!lua flags=foo\n").unwrap_err(), "ERR Unexpected flag in script shebang: foo");
        assert_eq!(parse(b"#!lua flags=no-writes,\n").unwrap_err(), "ERR Unexpected flag in script shebang: ");
        assert_eq!(parse(b"#!lua name=x\n").unwrap_err(), "ERR Unknown lua shebang option: name=x");
        assert_eq!(parse(b"#!lua \"x\n").unwrap_err(), "ERR Invalid engine in script shebang");
    }
}
