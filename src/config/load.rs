//! Loading the configuration at startup: `redis.conf`-style files (with
//! `include`) and `redis-server`-style command-line arguments.

use std::path::Path;

use super::Config;
use super::directives::lookup;
use super::error::{ConfigError, io_reason};
use super::glob::glob_match;
use super::parse::{quote_arg, split_args};

/// How deep `include` may nest (Redis has no limit and crashes on a cycle).
const MAX_INCLUDE_DEPTH: usize = 16;

/// Directives Redis still accepts in files but ignores (with exactly one
/// argument).
const DEPRECATED_IGNORED: &[&str] = &["list-max-ziplist-entries", "list-max-ziplist-value", "lua-replicate-commands"];

/// What the command line asks for.
// `Run` is much larger than the other variants, but the value is built once
// at startup and moved straight into the server: boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// Run the server with this configuration.
    Run {
        /// The configuration: defaults, then the file, then the options.
        config: Config,
        /// Absolute path of the config file, if one was given (also
        /// available as [`Config::config_file`]).
        file: Option<String>,
    },
    /// `-h` / `--help`: print [`usage`] and exit.
    Help,
    /// `-v` / `--version`: print the version and exit.
    Version,
}

/// The usage text for `--help`.
pub fn usage() -> String {
    let program = "tallkv";
    format!(
        "Usage: {program} [/path/to/tallkv.conf] [options]\n\
         \x20      {program} -v or --version\n\
         \x20      {program} -h or --help\n\
         \n\
         Options are configuration directives written --name value..., applied\n\
         after the configuration file, in order. A directive takes all the\n\
         arguments up to the next one starting with --.\n\
         \n\
         Examples:\n\
         \x20      {program} (run the server with the default configuration)\n\
         \x20      {program} /etc/tallkv/6379.conf\n\
         \x20      {program} --port 7777\n\
         \x20      {program} --threads 4 --bind 127.0.0.1 ::1\n\
         \x20      {program} /etc/mytallkv.conf --loglevel verbose\n"
    )
}

/// Parses the arguments of the process (`std::env::args_os()` without the
/// program name) with [`parse_command_line`].
pub fn parse_env_args() -> Result<CommandLine, ConfigError> {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(text) => args.push(text),
            Err(raw) => {
                return Err(ConfigError::other(format!(
                    "command line argument {} is not valid UTF-8",
                    raw.to_string_lossy()
                )));
            }
        }
    }
    parse_command_line(&args)
}

/// Parses command-line arguments like `redis-server` does.
///
/// `args` are the arguments AFTER the program name. An optional first
/// argument not starting with `-` is a config file path; then come
/// `--name value...` options, applied after the file in order. An option
/// takes every following argument up to the next one starting with `--`,
/// except that its first argument is taken even when it starts with `--`
/// (as Redis 7.0.1+ does; `--save` directly followed by another option, or
/// last, means `--save ""`). `--port 7000` may also be one argument.
/// `-h`/`--help` and `-v`/`--version` as the first argument, or `--help` /
/// `--version` in place of an option name, give [`CommandLine::Help`] /
/// [`CommandLine::Version`].
pub fn parse_command_line(args: &[String]) -> Result<CommandLine, ConfigError> {
    let mut config_path = None;
    let mut rest = args;
    if let Some(first) = args.first() {
        match first.as_str() {
            "-v" | "--version" => return Ok(CommandLine::Version),
            "-h" | "--help" => return Ok(CommandLine::Help),
            _ => {}
        }
        if !first.starts_with('-') {
            config_path = Some(first);
            rest = &args[1..];
        }
    }
    // Split the options first, so that `--help` wins over a bad file.
    let options = match split_options(rest)? {
        Split::Options(options) => options,
        Split::Help => return Ok(CommandLine::Help),
        Split::Version => return Ok(CommandLine::Version),
    };
    let mut config = Config::default();
    let mut file = None;
    if let Some(path) = config_path {
        config.load_file(path)?;
        let absolute =
            std::path::absolute(path).map(|p| p.to_string_lossy().into_owned()).unwrap_or_else(|_| path.clone());
        config.config_file = Some(absolute.clone());
        file = Some(absolute);
    }
    for option in &options {
        let mut text = option.name.clone();
        for value in &option.values {
            text.push(' ');
            text.push_str(&quote_arg(value));
        }
        let error = |reason: String| ConfigError::in_command_line(&option.name, &text, reason);
        if option.name == "include" && option.values.len() == 1 {
            config.include(&option.values[0], 0, &error)?;
            continue;
        }
        config.apply_startup(&option.name, &option.values).map_err(error)?;
    }
    Ok(CommandLine::Run { config, file })
}

/// One `--name value...` option.
struct CliOption {
    name: String,
    values: Vec<String>,
}

/// The outcome of splitting the options.
enum Split {
    Options(Vec<CliOption>),
    Help,
    Version,
}

/// Groups the arguments into options, following `redis-server`'s `main()`.
fn split_options(args: &[String]) -> Result<Split, ConfigError> {
    let mut options: Vec<CliOption> = Vec::new();
    // True when the last option already has at least one argument, so that
    // an argument starting with `--` starts a new option.
    let mut last_has_value = true;
    for (index, arg) in args.iter().enumerate() {
        if arg == "-" && (index == 0 || index + 1 == args.len()) {
            return Err(ConfigError::other("reading the configuration from standard input ('-') is not supported"));
        }
        if last_has_value && arg.starts_with("--") {
            match arg.as_str() {
                "--help" => return Ok(Split::Help),
                "--version" => return Ok(Split::Version),
                _ => {}
            }
            let words = split_args(&arg.as_bytes()[2..]).ok_or_else(|| {
                ConfigError::other(format!("unbalanced quotes in command line argument {}", quote_arg(arg)))
            })?;
            let mut words = words.into_iter().map(|w| String::from_utf8_lossy(&w).into_owned());
            let Some(name) = words.next() else {
                return Err(ConfigError::other(format!(
                    "missing option name in command line argument {}",
                    quote_arg(arg)
                )));
            };
            let mut option = CliOption { name: name.to_ascii_lowercase(), values: words.collect() };
            last_has_value = !option.values.is_empty();
            if !last_has_value && option.name == "save" {
                let next_is_option = args.get(index + 1).is_none_or(|next| next.starts_with("--"));
                if next_is_option {
                    option.values.push(String::new());
                    last_has_value = true;
                }
            }
            options.push(option);
        } else {
            match options.last_mut() {
                Some(option) => option.values.push(arg.clone()),
                None => {
                    return Err(ConfigError::other(format!(
                        "unexpected argument {}: options are written --name value",
                        quote_arg(arg)
                    )));
                }
            }
            last_has_value = true;
        }
    }
    Ok(Split::Options(options))
}

/// Removes the bytes of `set` from both ends of `bytes`.
fn trim_bytes<'a>(bytes: &'a [u8], set: &[u8]) -> &'a [u8] {
    let start = bytes.iter().position(|b| !set.contains(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !set.contains(b)).map_or(start, |p| p + 1);
    &bytes[start..end.max(start)]
}

/// Converts arguments to strings; config values must be UTF-8.
fn to_strings(args: &[Vec<u8>]) -> Result<Vec<String>, String> {
    args.iter()
        .map(|arg| String::from_utf8(arg.clone()).map_err(|_| "argument must be valid UTF-8".to_string()))
        .collect()
}

impl Config {
    /// Reads the config file at `path` (relative paths are relative to the
    /// working directory) and applies its directives in order.
    pub fn load_file(&mut self, path: &str) -> Result<(), ConfigError> {
        let data = std::fs::read(path).map_err(|e| {
            ConfigError::other(format!("Fatal error, can't open config file '{path}': {}", io_reason(&e)))
        })?;
        self.load_bytes(&data, path, 0)
    }

    /// Applies the directives of `text`, a config file's content; `source`
    /// names it in errors (like a file path).
    pub fn load_str(&mut self, text: &str, source: &str) -> Result<(), ConfigError> {
        self.load_bytes(text.as_bytes(), source, 0)
    }

    /// Applies config file content, `depth` levels of `include` deep.
    fn load_bytes(&mut self, data: &[u8], source: &str, depth: usize) -> Result<(), ConfigError> {
        for (index, raw_line) in data.split(|&b| b == b'\n').enumerate() {
            let line = trim_bytes(raw_line, b" \t\r\n");
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let shown = String::from_utf8_lossy(line);
            let error = |reason: String| ConfigError::in_file(source, index + 1, &shown, reason);
            let Some(args) = split_args(line) else {
                return Err(error("Unbalanced quotes in configuration line".to_string()));
            };
            let Some((name, values)) = args.split_first() else {
                continue;
            };
            let name = String::from_utf8_lossy(name).to_ascii_lowercase();
            let values = to_strings(values).map_err(error)?;
            if name == "include" && values.len() == 1 {
                self.include(&values[0], depth, &error)?;
                continue;
            }
            self.apply_startup(&name, &values).map_err(error)?;
        }
        Ok(())
    }

    /// Applies `include target`: a file, or a glob in the file name part
    /// (`conf.d/*.conf`, matching files in sorted order; no match is not an
    /// error). Relative paths are relative to the working directory, as in
    /// Redis. `error` builds an error located at the `include` line.
    fn include(
        &mut self,
        target: &str,
        depth: usize,
        error: &dyn Fn(String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(error(format!(
                "include nesting deeper than {MAX_INCLUDE_DEPTH} levels (is there an include cycle?)"
            )));
        }
        let has_wildcard = |s: &str| s.contains(['*', '?', '[']);
        let mut files = Vec::new();
        if has_wildcard(target) {
            let (dir, pattern) = match target.rsplit_once('/') {
                Some(("", pattern)) => ("/", pattern),
                Some((dir, pattern)) => (dir, pattern),
                None => (".", target),
            };
            if has_wildcard(dir) {
                return Err(error("wildcards are only supported in the file name part of an include path".to_string()));
            }
            // Like glob(3): an unreadable directory or no match is no error.
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let hidden_ok = !name.starts_with('.') || pattern.starts_with('.');
                    let is_file = entry.path().is_file();
                    if hidden_ok && is_file && glob_match(pattern.as_bytes(), name.as_bytes(), false) {
                        files.push(Path::new(dir).join(&name).to_string_lossy().into_owned());
                    }
                }
            }
            files.sort();
        } else {
            files.push(target.to_string());
        }
        for file in files {
            let data = std::fs::read(&file)
                .map_err(|e| error(format!("Fatal error, can't open config file '{file}': {}", io_reason(&e))))?;
            self.load_bytes(&data, &file, depth + 1)?;
        }
        Ok(())
    }

    /// Applies one directive read at startup (`name` in lower case).
    fn apply_startup(&mut self, name: &str, values: &[String]) -> Result<(), String> {
        if name == "save" {
            // Later `save` lines add rules to the earlier ones' (Redis's config file semantics).
            let earlier = if self.save_read_at_startup { self.save_rules().to_vec() } else { Vec::new() };
            self.apply_startup_directive(name, values)?;
            let added = std::mem::take(self.save_rules_mut());
            *self.save_rules_mut() = earlier.into_iter().chain(added).collect();
            self.save_read_at_startup = true;
            return Ok(());
        }
        self.apply_startup_directive(name, values)
    }

    /// Applies one directive read at startup, without `save`'s accumulation.
    fn apply_startup_directive(&mut self, name: &str, values: &[String]) -> Result<(), String> {
        let Some((directive, used_name)) = lookup(name) else {
            if DEPRECATED_IGNORED.contains(&name) && values.len() == 1 {
                return Ok(());
            }
            return Err("Bad directive or wrong number of arguments".to_string());
        };
        // A multi-argument directive given one non-empty argument splits it
        // (`save "900 1 300 10"`, `--bind "127.0.0.1 ::1"`), as Redis does.
        if directive.is_multi() && values.len() == 1 && !values[0].is_empty() {
            let split = split_args(values[0].as_bytes())
                .ok_or_else(|| "Unbalanced quotes in configuration line".to_string())?;
            let split = to_strings(&split)?;
            return directive.apply(self, used_name, &split);
        }
        directive.apply(self, used_name, values)
    }
}
