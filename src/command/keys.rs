//! The one generic key finder: a command's key positions from its key specifications,
//! as Redis's `getKeysUsingKeySpecs` computes them.

use super::spec::{BeginSearch, CommandSpec, FindKeys};
use crate::protocol::Args;

/// Where a command's keys are among its arguments.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct KeyPositions {
    /// Argument index of each key, in order of appearance.
    pub positions: Vec<usize>,
    /// For each key, how many arguments from its position belong to it (MSET's key and
    /// value: 2); 1 for plain keys. Used to split a command per shard.
    pub span: usize,
}

/// The position of the only key of a command whose single key spec is a fixed index with
/// a one-key range (GET key, SET key value...), if that is its shape.
pub fn single_key_position(spec: &CommandSpec) -> Option<usize> {
    match spec.key_specs {
        [only] => match (only.begin_search, only.find_keys) {
            (BeginSearch::Index(pos), FindKeys::Range { last_key: 0, .. }) if pos > 0 => Some(pos as usize),
            _ => None,
        },
        _ => None,
    }
}

/// The key positions of `args` for the command described by `spec`.
pub fn find(spec: &CommandSpec, args: Args<'_>) -> KeyPositions {
    let argc = args.len() as i64;
    let mut out = KeyPositions { positions: Vec::new(), span: 1 };
    for (spec_index, key_spec) in spec.key_specs.iter().enumerate() {
        let first = match key_spec.begin_search {
            BeginSearch::Index(i) => i as i64,
            BeginSearch::Keyword { keyword, start_from } => {
                let (start, end, step): (i64, i64, i64) =
                    if start_from >= 0 { (start_from as i64, argc, 1) } else { (argc + start_from as i64, 0, -1) };
                let mut found = None;
                let mut i = start;
                while (step > 0 && i < end) || (step < 0 && i > end) {
                    if i >= 0 && i < argc && args.get(i as usize).eq_ignore_ascii_case(keyword.as_bytes()) {
                        found = Some(i + 1);
                        break;
                    }
                    i += step;
                }
                match found {
                    Some(f) => f,
                    None => continue,
                }
            }
            BeginSearch::Unknown => continue,
        };
        if first >= argc {
            continue;
        }
        let (last, step) = match key_spec.find_keys {
            FindKeys::Range { last_key, step, limit } => {
                let last = if last_key >= 0 {
                    first + last_key as i64
                } else if limit <= 1 {
                    argc + last_key as i64
                } else {
                    first + ((argc - first) / limit as i64) + last_key as i64
                };
                (last, step.max(1) as i64)
            }
            FindKeys::KeyNum { key_num_idx, first_key, step } => {
                let idx = first + key_num_idx as i64;
                if idx >= argc {
                    continue;
                }
                let count =
                    std::str::from_utf8(args.get(idx as usize)).ok().and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
                if count <= 0 {
                    continue;
                }
                let start = first + first_key as i64;
                let step = step.max(1) as i64;
                let last = start.saturating_add((count - 1).saturating_mul(step));
                push_range(&mut out, start, last.min(argc - 1), step, argc);
                continue;
            }
            FindKeys::Unknown => continue,
        };
        if spec_index == 0 {
            out.span = step as usize;
        }
        push_range(&mut out, first, last.min(argc - 1), step, argc);
    }
    out
}

fn push_range(out: &mut KeyPositions, first: i64, last: i64, step: i64, argc: i64) {
    let mut i = first;
    while i <= last && i < argc {
        if i >= 0 {
            out.positions.push(i as usize);
        }
        i += step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::OwnedArgs;

    fn spec(name: &str) -> &'static CommandSpec {
        crate::command::generated::COMMANDS
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no spec for {name}"))
    }

    fn positions(name: &str, args: &[&str]) -> Vec<usize> {
        let owned = OwnedArgs::from_slices(args.iter().map(|a| a.as_bytes()));
        find(spec(name), owned.view()).positions
    }

    #[test]
    fn common_shapes() {
        assert_eq!(positions("get", &["get", "k"]), vec![1]);
        assert_eq!(positions("mset", &["mset", "a", "1", "b", "2"]), vec![1, 3]);
        assert_eq!(positions("del", &["del", "a", "b", "c"]), vec![1, 2, 3]);
        assert_eq!(positions("rename", &["rename", "a", "b"]), vec![1, 2]);
        assert_eq!(positions("bitop", &["bitop", "and", "d", "s1", "s2"]), vec![2, 3, 4]);
    }
}
