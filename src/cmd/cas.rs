//! Compare-and-set without scripts: DELEX and DIGEST (Redis 8.4), the conditions SET's
//! IFEQ/IFNE/IFDEQ/IFDNE options share with DELEX, and tallkv's INCRBYBOUNDED.
//!
//! Each command touches one key on the shard that owns it, so the comparison and the
//! write are one step: no other command runs between them.
//!
//! A digest is the XXH3 64-bit hash of a string's bytes (an integer-encoded string
//! hashes its decimal text) as 16 lowercase hexadecimal digits. Like Redis 8.4, a digest
//! argument must be exactly 16 characters long and is compared case-insensitively.

use super::arg::{int_arg, is_opt};
use crate::command::error::{NOT_INTEGER, OVERFLOW, SYNTAX, WRONG_TYPE};
use crate::command::{CmdError, CmdResult, CommandImpl, Handler, MultiShard};
use crate::protocol::{Args, Reply};
use crate::shard::KeyCtx;
use crate::shard::notify::{GENERIC, STRING};
use crate::types::{StrValue, Value};

/// The compare-and-set family's commands.
pub const COMMANDS: &[CommandImpl] = &[
    CommandImpl { name: "delex", handler: Handler::Keyed { run: delex, multi: MultiShard::Gather } },
    CommandImpl { name: "digest", handler: Handler::Keyed { run: digest, multi: MultiShard::Gather } },
    CommandImpl { name: "incrbybounded", handler: Handler::Keyed { run: incrbybounded, multi: MultiShard::Gather } },
];

/// The length of a digest in hexadecimal digits.
const DIGEST_LEN: usize = 16;

/// `ERR must be exactly 16 hexadecimal characters` (Redis 8.4's text for a bad digest).
const BAD_DIGEST: CmdError = CmdError::from_static("ERR must be exactly 16 hexadecimal characters");

/// A condition on a string's current value (SET's and DELEX's IFEQ/IFNE/IFDEQ/IFDNE).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cond<'a> {
    /// IFEQ: the value is exactly these bytes.
    Eq(&'a [u8]),
    /// IFNE: the value is not these bytes (a missing key passes).
    Ne(&'a [u8]),
    /// IFDEQ: the value's digest is this one (16 characters, any case).
    DigestEq(&'a [u8]),
    /// IFDNE: the value's digest is not this one (a missing key passes).
    DigestNe(&'a [u8]),
}

impl<'a> Cond<'a> {
    /// Whether `opt` names a condition (IFEQ, IFNE, IFDEQ or IFDNE, any case).
    pub fn is_option(opt: &[u8]) -> bool {
        ["ifeq", "ifne", "ifdeq", "ifdne"].iter().any(|name| is_opt(opt, name))
    }

    /// The condition option `opt` with its argument `arg`: `Ok(None)` if `opt` names no
    /// condition, the digest error if a digest argument is not 16 characters long.
    pub fn parse(opt: &[u8], arg: &'a [u8]) -> Result<Option<Cond<'a>>, CmdError> {
        let cond = if is_opt(opt, "ifeq") {
            Cond::Eq(arg)
        } else if is_opt(opt, "ifne") {
            Cond::Ne(arg)
        } else if is_opt(opt, "ifdeq") {
            Cond::DigestEq(arg)
        } else if is_opt(opt, "ifdne") {
            Cond::DigestNe(arg)
        } else {
            return Ok(None);
        };
        if let Cond::DigestEq(d) | Cond::DigestNe(d) = cond
            && d.len() != DIGEST_LEN
        {
            return Err(BAD_DIGEST);
        }
        Ok(Some(cond))
    }

    /// Whether the condition holds for the current value (`None`: no such key).
    pub fn holds(&self, current: Option<&StrValue>) -> bool {
        match (self, current) {
            (Cond::Eq(_) | Cond::DigestEq(_), None) => false,
            (Cond::Ne(_) | Cond::DigestNe(_), None) => true,
            (Cond::Eq(v), Some(s)) => s.with_bytes(|b| b == *v),
            (Cond::Ne(v), Some(s)) => s.with_bytes(|b| b != *v),
            (Cond::DigestEq(d), Some(s)) => digest_hex(s).eq_ignore_ascii_case(d),
            (Cond::DigestNe(d), Some(s)) => !digest_hex(s).eq_ignore_ascii_case(d),
        }
    }
}

/// Whether `cond` holds for the value under `key`, looked up for writing (no hit or miss
/// counted): WRONGTYPE if the key holds another type.
pub fn cond_holds(ctx: &mut KeyCtx<'_>, key: &[u8], cond: &Cond<'_>) -> Result<bool, CmdError> {
    match ctx.write(key) {
        None => Ok(cond.holds(None)),
        Some(entry) => match &entry.value {
            Value::Str(s) => Ok(cond.holds(Some(s))),
            #[allow(unreachable_patterns)]
            _ => Err(WRONG_TYPE),
        },
    }
}

/// The digest of a string: XXH3-64 of its bytes as 16 lowercase hexadecimal digits.
pub fn digest_hex(s: &StrValue) -> [u8; DIGEST_LEN] {
    let hash = s.with_bytes(xxhash_rust::xxh3::xxh3_64);
    let mut out = [0u8; DIGEST_LEN];
    for (i, byte) in out.iter_mut().enumerate() {
        let nibble = ((hash >> (60 - 4 * i)) & 0xf) as u8;
        *byte = if nibble < 10 { b'0' + nibble } else { b'a' + nibble - 10 };
    }
    out
}

/// DIGEST key: the XXH3-64 digest of the string value as 16 hex digits, or nil.
fn digest(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    Ok(match ctx.read_str(args.get(1))? {
        Some(s) => Reply::bulk(&digest_hex(s)),
        None => Reply::Nil,
    })
}

/// DELEX key [IFEQ v|IFNE v|IFDEQ d|IFDNE d]: deletes key (if the condition holds); 1 if deleted, else 0.
fn delex(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    if args.len() != 2 {
        if args.len() != 4 {
            return Err(SYNTAX);
        }
        let cond = Cond::parse(args.get(2), args.get(3))?.ok_or(SYNTAX)?;
        if !cond_holds(ctx, key, &cond)? {
            return Ok(Reply::Int(0));
        }
    }
    let now = ctx.now_ms();
    let Some(entry) = ctx.db().take(key, now) else {
        return Ok(Reply::Int(0));
    };
    crate::util::lazyfree::release(entry.value);
    ctx.notify(GENERIC, "del", key);
    ctx.dirty(1);
    Ok(Reply::Int(1))
}

/// `ERR MIN can't be greater than MAX`.
const MIN_ABOVE_MAX: CmdError = CmdError::from_static("ERR MIN can't be greater than MAX");
/// `ERR increment would take the value below MIN`.
const BELOW_MIN: CmdError = CmdError::from_static("ERR increment would take the value below MIN");
/// `ERR increment would take the value above MAX`.
const ABOVE_MAX: CmdError = CmdError::from_static("ERR increment would take the value above MAX");

/// The bounds of INCRBYBOUNDED from argument 3 on (`MIN min`, `MAX max`, any order, the
/// last of each winning).
fn parse_bounds(args: Args<'_>) -> Result<(i64, i64), CmdError> {
    let (mut min, mut max) = (i64::MIN, i64::MAX);
    let mut j = 3;
    while j < args.len() {
        let opt = args.get(j);
        let Some(value) = args.try_get(j + 1) else {
            return Err(SYNTAX);
        };
        if is_opt(opt, "min") {
            min = int_arg(value)?;
        } else if is_opt(opt, "max") {
            max = int_arg(value)?;
        } else {
            return Err(SYNTAX);
        }
        j += 2;
    }
    if min > max {
        return Err(MIN_ABOVE_MAX);
    }
    Ok((min, max))
}

/// INCRBYBOUNDED key increment [MIN min] [MAX max]: INCRBY that refuses (never clamps) a
/// result outside [min, max], leaving the value unchanged; the new value.
fn incrbybounded(ctx: &mut KeyCtx<'_>, args: Args<'_>) -> CmdResult {
    let key = args.get(1);
    let by = int_arg(args.get(2))?;
    let (min, max) = parse_bounds(args)?;
    let bounded = |current: i64| -> Result<i64, CmdError> {
        let new = current.checked_add(by).ok_or(OVERFLOW)?;
        if new < min {
            Err(BELOW_MIN)
        } else if new > max {
            Err(ABOVE_MAX)
        } else {
            Ok(new)
        }
    };
    let new = if let Some(mut entry) = ctx.write(key) {
        let current = match &entry.value {
            Value::Str(s) => s.as_int().ok_or(NOT_INTEGER)?,
            #[allow(unreachable_patterns)]
            _ => return Err(WRONG_TYPE),
        };
        let new = bounded(current)?;
        entry.value = Value::Str(StrValue::from_int(new));
        new
    } else {
        let new = bounded(0)?;
        ctx.set(key, Value::Str(StrValue::from_int(new)));
        new
    };
    ctx.notify(STRING, "incrby", key);
    ctx.dirty(1);
    Ok(Reply::Int(new))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::OwnedArgs;

    #[test]
    fn digest_matches_xxh3_reference() {
        // The example of Redis's DIGEST documentation.
        assert_eq!(&digest_hex(&StrValue::from_bytes(b"Hello world")), b"b6acb9d84a38ff74");
        // An integer-encoded string hashes its decimal text.
        let text = digest_hex(&StrValue::from_bytes_no_int(b"12345"));
        assert_eq!(digest_hex(&StrValue::from_int(12345)), text);
        // Leading zeros are kept: always 16 digits.
        assert!(digest_hex(&StrValue::from_bytes(b"")).iter().all(u8::is_ascii_hexdigit));
    }

    #[test]
    fn conditions() {
        let v = StrValue::from_bytes(b"token");
        let d = digest_hex(&v);
        let upper = d.to_ascii_uppercase();
        assert!(Cond::Eq(b"token").holds(Some(&v)));
        assert!(!Cond::Eq(b"other").holds(Some(&v)));
        assert!(!Cond::Eq(b"token").holds(None));
        assert!(Cond::Ne(b"other").holds(Some(&v)));
        assert!(Cond::Ne(b"token").holds(None));
        assert!(Cond::DigestEq(&upper).holds(Some(&v)));
        assert!(!Cond::DigestNe(&d).holds(Some(&v)));
        assert!(Cond::DigestNe(&d).holds(None));
        assert_eq!(Cond::parse(b"ifdeq", b"abc"), Err(BAD_DIGEST));
        assert_eq!(Cond::parse(b"IfEq", b"x"), Ok(Some(Cond::Eq(b"x"))));
        assert_eq!(Cond::parse(b"nx", b"x"), Ok(None));
    }

    #[test]
    fn bounds_parsing() {
        let parse = |args: &[&str]| {
            let owned = OwnedArgs::from_slices(args.iter().map(|a| a.as_bytes()));
            parse_bounds(owned.view())
        };
        assert_eq!(parse(&["incrbybounded", "k", "1"]), Ok((i64::MIN, i64::MAX)));
        assert_eq!(parse(&["incrbybounded", "k", "1", "max", "5", "MIN", "-2"]), Ok((-2, 5)));
        assert_eq!(parse(&["incrbybounded", "k", "1", "min", "3", "max", "3"]), Ok((3, 3)));
        assert_eq!(parse(&["incrbybounded", "k", "1", "min", "4", "max", "3"]), Err(MIN_ABOVE_MAX));
        assert_eq!(parse(&["incrbybounded", "k", "1", "min"]), Err(SYNTAX));
        assert_eq!(parse(&["incrbybounded", "k", "1", "min", "x"]), Err(NOT_INTEGER));
        assert_eq!(parse(&["incrbybounded", "k", "1", "foo", "1"]), Err(SYNTAX));
    }
}
