//! The shape of Redis's command metadata, as `tools/gen_commands.py` writes it into
//! `generated.rs`. Nothing here is hand-maintained per command.

/// One command or subcommand, as Redis 7.2 describes it.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (`"get"`; a subcommand is named by its own word: `"encoding"`).
    pub name: &'static str,
    /// The container for a subcommand (`Some("object")`), `None` for a top-level command.
    pub container: Option<&'static str>,
    /// One-line summary.
    pub summary: &'static str,
    /// The Redis version that introduced it.
    pub since: &'static str,
    /// Command group (`"string"`, `"generic"`, `"connection"`, ...).
    pub group: &'static str,
    /// Complexity text, empty if none.
    pub complexity: &'static str,
    /// Redis arity: positive = exact argument count, negative = at least -arity (command name included).
    pub arity: i32,
    /// Command flags in lower case, as COMMAND INFO shows them (`"write"`, `"denyoom"`, `"fast"`...).
    pub flags: &'static [&'static str],
    /// ACL categories, implicit ones included, as COMMAND INFO shows them (`"@write"`, `"@string"`...).
    pub acl_categories: &'static [&'static str],
    /// Command tips (`"request_policy:all_shards"`...).
    pub tips: &'static [&'static str],
    /// Key specifications.
    pub key_specs: &'static [KeySpec],
    /// Documented arguments (for COMMAND DOCS).
    pub arguments: &'static [ArgSpec],
    /// Version history entries `(version, text)`.
    pub history: &'static [(&'static str, &'static str)],
    /// Doc flags (`"deprecated"`, `"syscmd"`).
    pub doc_flags: &'static [&'static str],
    /// Version that deprecated it, empty if none.
    pub deprecated_since: &'static str,
    /// What replaces it, empty if none.
    pub replaced_by: &'static str,
    /// Subcommands of a container command.
    pub subcommands: &'static [CommandSpec],
}

/// Where a command's keys are, as a Redis 7 key specification.
#[derive(Debug)]
pub struct KeySpec {
    /// Flags in upper case as Redis shows them (`"RW"`, `"ACCESS"`, `"UPDATE"`...).
    pub flags: &'static [&'static str],
    /// Where the search for keys begins.
    pub begin_search: BeginSearch,
    /// How keys are found from there.
    pub find_keys: FindKeys,
    /// Notes, empty if none.
    pub notes: &'static str,
}

/// The first step of a key specification.
#[derive(Debug, Clone, Copy)]
pub enum BeginSearch {
    /// Keys start at a fixed argument index.
    Index(i32),
    /// Keys start after a keyword, searched from `start_from` (negative: from the end).
    Keyword {
        /// The keyword, upper case.
        keyword: &'static str,
        /// Index to start searching from.
        start_from: i32,
    },
    /// Keys cannot be found from the specification alone.
    Unknown,
}

/// The second step of a key specification.
#[derive(Debug, Clone, Copy)]
pub enum FindKeys {
    /// A range of keys: `last_key` relative to the first (negative: from the end),
    /// every `step`-th argument, `limit` (when `last_key` is -1: 0 = all, n = 1/n of the rest).
    Range {
        /// Index of the last key relative to the first.
        last_key: i32,
        /// Distance between keys.
        step: i32,
        /// Fraction limit.
        limit: i32,
    },
    /// A count argument followed by the keys.
    KeyNum {
        /// Index of the count argument, relative to the begin-search result.
        key_num_idx: i32,
        /// Index of the first key relative to the begin-search result.
        first_key: i32,
        /// Distance between keys.
        step: i32,
    },
    /// Keys cannot be found from the specification alone.
    Unknown,
}

/// One documented argument (COMMAND DOCS).
#[derive(Debug)]
pub struct ArgSpec {
    /// Argument name.
    pub name: &'static str,
    /// Type: `key`, `string`, `integer`, `double`, `pattern`, `unix-time`, `pure-token`, `oneof`, `block`.
    pub kind: &'static str,
    /// Display text, empty if none.
    pub display: &'static str,
    /// Token, empty if none.
    pub token: &'static str,
    /// Summary, empty if none.
    pub summary: &'static str,
    /// Version that added it, empty if none.
    pub since: &'static str,
    /// Version that deprecated it, empty if none.
    pub deprecated_since: &'static str,
    /// Index into the command's key specs for `key` arguments, -1 otherwise.
    pub key_spec_index: i32,
    /// Flags: `optional`, `multiple`, `multiple_token`.
    pub flags: &'static [&'static str],
    /// Nested arguments of `oneof` and `block`.
    pub arguments: &'static [ArgSpec],
}
