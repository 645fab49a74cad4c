//! Unit tests of the RDB value codec: payloads captured from Redis 7.0.15 (`DUMP`), hand
//! built ziplists and listpacks for the encodings Redis 7.0 no longer writes, round trips
//! and corrupt input.

use super::*;

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// A DUMP payload around `body` (type byte and value) with a correct footer.
fn payload(body: &[u8], version: u16) -> Vec<u8> {
    let mut out = body.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn bytes_of(v: &str) -> Vec<u8> {
    v.as_bytes().to_vec()
}

fn string(v: &Value) -> Vec<u8> {
    match v {
        Value::Str(s) => s.with_bytes(|b| b.to_vec()),
        other => panic!("not a string: {other:?}"),
    }
}

fn list(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::List(l) => l.iter().map(|e| e.to_vec()).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

fn set(v: &Value) -> Vec<Vec<u8>> {
    match v {
        Value::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            m.sort();
            m
        }
        other => panic!("not a set: {other:?}"),
    }
}

fn zset(v: &Value) -> Vec<(f64, Vec<u8>)> {
    match v {
        Value::ZSet(z) => z.iter().map(|(s, m)| (s, m.to_vec())).collect(),
        other => panic!("not a zset: {other:?}"),
    }
}

fn hash(v: &Value) -> Vec<(Vec<u8>, Vec<u8>)> {
    match v {
        Value::Hash(h) => {
            let mut p: Vec<(Vec<u8>, Vec<u8>)> = h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
            p.sort();
            p
        }
        other => panic!("not a hash: {other:?}"),
    }
}

fn strs(items: &[&str]) -> Vec<Vec<u8>> {
    items.iter().map(|s| bytes_of(s)).collect()
}

fn sorted(items: &[&str]) -> Vec<Vec<u8>> {
    let mut v = strs(items);
    v.sort();
    v
}

/// DUMP payloads from Redis 7.0.15 (list-max-listpack-size 4, zset- and
/// hash-max-listpack-entries 4, quicklist packed threshold 100 bytes).
const REDIS_PAYLOADS: &[(&str, &str)] = &[
    ("s_raw", "000b68656c6c6f20776f726c640a000bfc49b9a6c7a034"),
    ("s_i8", "00c00c0a003c2af8515c04bcd5"),
    ("s_i16", "00c1d2040a00008708a144825ced"),
    ("s_i32", "00c2eb32a4f80a001b1fb03aba81865b"),
    ("s_big", "000e31323334353637383930313233340a00afcb8c7b76a08b6a"),
    ("s_lzf", "00c315412c0a6162636465666768696a61e0ff09e10e0d01696a0a0038ca025adaf54090"),
    (
        "l_small",
        "120202161600000004008161020101ded4028568656c6c6f06ff0216160000000200f270110104f400f2052a0100000009ff0a00be84d24d15ae022d",
    ),
    (
        "l_nodes",
        "1203021717000000040082653003826531038265320382653303ff021717000000040082653403826535038265360382653703ff020f0f00000002008265380382653903ff0a00d5221c8045d1d255",
    ),
    ("l_plain", "1203020a0a0000000100817802ff01c3094096017070e08900017070020a0a0000000100817902ff0a005fd21801eabf3b40"),
    ("set16", "0b100200000004000000fdff010002002c010a009dd58e4aacce47dd"),
    ("set32", "0b1404000000030000006079feff01000000701101000a00529163a03d1f9e25"),
    ("set64", "0bc318200408000000032003a000018001a0080300f2052a200b00000a001ba35e2fa929d333"),
    ("set_str", "0204026262036363630161c0010a00accdef15a6836c54"),
    ("z_small", "111a1a0000000600816302dffd02816102010181620283322e3504ff0a00a68a1ab1a9f2dcc2"),
    ("z_inf", "111f1f000000040086626f74746f6d07842d696e660583746f700483696e6604ff0a000ef60ac66203b38c"),
    (
        "z_skip",
        "05060166000000000000f07f0164000000000000124001630000000000000840016200000000000000400161000000000000f03f01657dc39425ad49b2d40a0062099f655535ac8a",
    ),
    ("h_small", "101b1b00000006008266310382763103826632037b01816e02dff902ff0a00ec14aa8f2a536001"),
    ("h_big", "04050162c0020164c0040161c001016504666976650163c0030a00eafe7f344e91e637"),
    ("h_lzf", "10c3183d103d0000000200856669656c6406ad78797ae02102012eff0a00781a79a347068948"),
];

fn redis_value(name: &str) -> Value {
    let (_, hex) = REDIS_PAYLOADS.iter().find(|(n, _)| *n == name).unwrap();
    parse_dump_payload(&unhex(hex)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn redis_strings() {
    assert_eq!(string(&redis_value("s_raw")), b"hello world");
    assert_eq!(string(&redis_value("s_i8")), b"12");
    assert_eq!(string(&redis_value("s_i16")), b"1234");
    assert_eq!(string(&redis_value("s_i32")), b"-123456789");
    assert_eq!(string(&redis_value("s_big")), b"12345678901234");
    assert_eq!(string(&redis_value("s_lzf")), "abcdefghij".repeat(30).as_bytes());
    assert_eq!(redis_value("s_i16").encoding(), "int");
    assert_eq!(redis_value("s_big").encoding(), "int");
    assert_eq!(redis_value("s_raw").encoding(), "embstr");
    assert_eq!(redis_value("s_lzf").encoding(), "raw");
}

#[test]
fn redis_lists() {
    assert_eq!(list(&redis_value("l_small")), strs(&["a", "1", "-300", "hello", "70000", "5000000000"]));
    let nodes: Vec<String> = (0..10).map(|i| format!("e{i}")).collect();
    assert_eq!(list(&redis_value("l_nodes")), nodes.iter().map(|s| s.clone().into_bytes()).collect::<Vec<_>>());
    let big = "p".repeat(150);
    assert_eq!(list(&redis_value("l_plain")), strs(&["x", &big, "y"]));
}

#[test]
fn redis_sets() {
    let s16 = redis_value("set16");
    assert_eq!(s16.encoding(), "intset");
    assert_eq!(set(&s16), sorted(&["1", "2", "-3", "300"]));
    assert_eq!(set(&redis_value("set32")), sorted(&["1", "70000", "-100000"]));
    let s64 = redis_value("set64");
    assert_eq!(set(&s64), sorted(&["1", "5000000000", "-9223372036854775808"]));
    let s = redis_value("set_str");
    assert_eq!(set(&s), sorted(&["a", "bb", "ccc", "1"]));
    assert_eq!(s.encoding(), "listpack");
}

#[test]
fn redis_zsets() {
    assert_eq!(zset(&redis_value("z_small")), vec![(-3.0, bytes_of("c")), (1.0, bytes_of("a")), (2.5, bytes_of("b"))]);
    assert_eq!(
        zset(&redis_value("z_inf")),
        vec![(f64::NEG_INFINITY, bytes_of("bottom")), (f64::INFINITY, bytes_of("top"))]
    );
    let skip = redis_value("z_skip");
    assert_eq!(
        zset(&skip),
        vec![
            (-1e100, bytes_of("e")),
            (1.0, bytes_of("a")),
            (2.0, bytes_of("b")),
            (3.0, bytes_of("c")),
            (4.5, bytes_of("d")),
            (f64::INFINITY, bytes_of("f")),
        ]
    );
    assert_eq!(skip.encoding(), "listpack", "6 members fit the default listpack limit");
    let limits = LoadLimits { zset: ZSetLimits { max_entries: 4, max_value: 64 }, ..LoadLimits::default() };
    let (_, hex) = REDIS_PAYLOADS.iter().find(|(n, _)| *n == "z_skip").unwrap();
    assert_eq!(parse_dump_payload_with(&unhex(hex), &limits).unwrap().encoding(), "skiplist");
}

#[test]
fn redis_hashes() {
    let pairs = |items: &[(&str, &str)]| {
        let mut v: Vec<(Vec<u8>, Vec<u8>)> = items.iter().map(|(f, v)| (bytes_of(f), bytes_of(v))).collect();
        v.sort();
        v
    };
    assert_eq!(hash(&redis_value("h_small")), pairs(&[("f1", "v1"), ("f2", "123"), ("n", "-7")]));
    assert_eq!(hash(&redis_value("h_big")), pairs(&[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4"), ("e", "five")]));
    assert_eq!(hash(&redis_value("h_lzf")), pairs(&[("field", &"xyz".repeat(15))]));
}

#[test]
fn our_plain_strings_match_redis_bytes() {
    let (_, hex) = REDIS_PAYLOADS[0];
    assert_eq!(dump_payload(&Value::Str(StrValue::from_bytes(b"hello world"))), unhex(hex));
    let (_, hex) = REDIS_PAYLOADS[1];
    assert_eq!(dump_payload(&Value::Str(StrValue::from_bytes(b"12"))), unhex(hex));
    let (_, hex) = REDIS_PAYLOADS[3];
    assert_eq!(dump_payload(&Value::Str(StrValue::from_int(-123_456_789))), unhex(hex));
}

// ---------------------------------------------------------------------------------------
// Hand-built ziplists and listpacks

#[derive(Clone, Copy)]
enum E<'a> {
    S(&'a str),
    I(i64),
}

fn ziplist(elems: &[E<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev_len = 0usize;
    let mut tail = 10;
    for e in elems {
        let start = body.len();
        tail = 10 + start;
        if prev_len < 254 {
            body.push(prev_len as u8);
        } else {
            body.push(0xfe);
            body.extend_from_slice(&(prev_len as u32).to_le_bytes());
        }
        match *e {
            E::S(s) => {
                let n = s.len();
                if n < 64 {
                    body.push(n as u8);
                } else if n < 16384 {
                    body.extend_from_slice(&[0x40 | (n >> 8) as u8, n as u8]);
                } else {
                    body.push(0x80);
                    body.extend_from_slice(&(n as u32).to_be_bytes());
                }
                body.extend_from_slice(s.as_bytes());
            }
            E::I(v) => {
                if (0..=12).contains(&v) {
                    body.push(0xf1 + v as u8);
                } else if let Ok(x) = i8::try_from(v) {
                    body.extend_from_slice(&[0xfe, x as u8]);
                } else if let Ok(x) = i16::try_from(v) {
                    body.push(0xc0);
                    body.extend_from_slice(&x.to_le_bytes());
                } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                    body.push(0xf0);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                } else if let Ok(x) = i32::try_from(v) {
                    body.push(0xd0);
                    body.extend_from_slice(&x.to_le_bytes());
                } else {
                    body.push(0xe0);
                    body.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        prev_len = body.len() - start;
    }
    let mut out = Vec::new();
    out.extend_from_slice(&((body.len() + 11) as u32).to_le_bytes());
    out.extend_from_slice(&(tail as u32).to_le_bytes());
    out.extend_from_slice(&(elems.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

fn listpack(elems: &[E<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in elems {
        let start = body.len();
        match *e {
            E::S(s) => {
                let n = s.len();
                if n < 64 {
                    body.push(0x80 | n as u8);
                } else if n < 4096 {
                    body.extend_from_slice(&[0xe0 | (n >> 8) as u8, n as u8]);
                } else {
                    body.push(0xf0);
                    body.extend_from_slice(&(n as u32).to_le_bytes());
                }
                body.extend_from_slice(s.as_bytes());
            }
            E::I(v) => {
                if (0..=127).contains(&v) {
                    body.push(v as u8);
                } else if (-4096..4096).contains(&v) {
                    body.extend_from_slice(&[0xc0 | ((v >> 8) as u8 & 0x1f), v as u8]);
                } else if let Ok(x) = i16::try_from(v) {
                    body.push(0xf1);
                    body.extend_from_slice(&x.to_le_bytes());
                } else if (-(1 << 23)..(1 << 23)).contains(&v) {
                    body.push(0xf2);
                    body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
                } else if let Ok(x) = i32::try_from(v) {
                    body.push(0xf3);
                    body.extend_from_slice(&x.to_le_bytes());
                } else {
                    body.push(0xf4);
                    body.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
        let l = body.len() - start;
        if l <= 127 {
            body.push(l as u8);
        } else if l < 16383 {
            body.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]);
        } else {
            body.extend_from_slice(&[(l >> 14) as u8, ((l >> 7) & 127) as u8 | 128, (l & 127) as u8 | 128]);
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&((body.len() + 7) as u32).to_le_bytes());
    out.extend_from_slice(&(elems.len() as u16).to_le_bytes());
    out.extend_from_slice(&body);
    out.push(0xff);
    out
}

/// An RDB value: type byte, then `blob` as a plain RDB string.
fn blob_value(ty: u8, blob: &[u8]) -> Vec<u8> {
    let mut out = vec![ty];
    write_length(blob.len() as u64, &mut out);
    out.extend_from_slice(blob);
    out
}

fn decode(body: &[u8]) -> Result<Value, RdbError> {
    parse_dump_payload(&payload(body, RDB_VERSION))
}

const INTS: [i64; 12] = [0, 12, 13, -1, 127, -129, 300, -30000, 1 << 20, -(1 << 22), 1 << 30, -(1 << 40)];

fn int_strs() -> Vec<Vec<u8>> {
    INTS.iter().map(|n| n.to_string().into_bytes()).collect()
}

#[test]
fn ziplist_encodings() {
    let long = "L".repeat(300);
    let huge = "H".repeat(20_000);
    let mut elems: Vec<E<'_>> = INTS.iter().map(|&n| E::I(n)).collect();
    elems.extend([E::S(""), E::S("abc"), E::S(&long), E::S(&huge)]);
    let mut expected = int_strs();
    expected.extend(strs(&["", "abc", &long, &huge]));
    let v = decode(&blob_value(TYPE_LIST_ZIPLIST, &ziplist(&elems))).unwrap();
    assert_eq!(list(&v), expected);

    // Quicklist (version 1) of two ziplists.
    let mut body = vec![TYPE_LIST_QUICKLIST, 2];
    for part in [&elems[..5], &elems[5..]] {
        let zl = ziplist(part);
        write_length(zl.len() as u64, &mut body);
        body.extend_from_slice(&zl);
    }
    assert_eq!(list(&decode(&body).unwrap()), expected);

    let h = decode(&blob_value(TYPE_HASH_ZIPLIST, &ziplist(&[E::S("f"), E::I(-5), E::I(7), E::S("seven")]))).unwrap();
    assert_eq!(hash(&h), vec![(bytes_of("7"), bytes_of("seven")), (bytes_of("f"), bytes_of("-5"))]);

    let z = decode(&blob_value(
        TYPE_ZSET_ZIPLIST,
        &ziplist(&[E::S("a"), E::I(-2), E::S("b"), E::S("1.5"), E::I(10), E::S("inf")]),
    ))
    .unwrap();
    assert_eq!(zset(&z), vec![(-2.0, bytes_of("a")), (1.5, bytes_of("b")), (f64::INFINITY, bytes_of("10"))]);
}

#[test]
fn listpack_encodings() {
    let long = "L".repeat(300);
    let huge = "H".repeat(5000);
    let mut elems: Vec<E<'_>> = INTS.iter().map(|&n| E::I(n)).collect();
    elems.extend([E::I(i64::MIN), E::I(i64::MAX), E::I(4095), E::I(-4096), E::S("x"), E::S(&long), E::S(&huge)]);
    let mut expected = int_strs();
    expected.extend(strs(&[&i64::MIN.to_string(), &i64::MAX.to_string(), "4095", "-4096", "x", &long, &huge]));
    let lp = listpack(&elems);
    // Quicklist 2: a packed node, a plain node, a packed node.
    let mut body = vec![TYPE_LIST_QUICKLIST_2, 3, 2];
    write_length(lp.len() as u64, &mut body);
    body.extend_from_slice(&lp);
    body.push(1);
    write_string(b"plain element", &mut body);
    body.push(2);
    let small = listpack(&[E::S("end")]);
    write_length(small.len() as u64, &mut body);
    body.extend_from_slice(&small);
    let mut all = expected.clone();
    all.push(bytes_of("plain element"));
    all.push(bytes_of("end"));
    assert_eq!(list(&decode(&body).unwrap()), all);

    // SET_LISTPACK (Redis 7.2).
    let s = decode(&blob_value(TYPE_SET_LISTPACK, &listpack(&[E::S("a"), E::I(5), E::S("b")]))).unwrap();
    assert_eq!(set(&s), sorted(&["a", "5", "b"]));
    assert_eq!(s.encoding(), "listpack");
    let dup = decode(&blob_value(TYPE_SET_LISTPACK, &listpack(&[E::S("a"), E::S("a")])));
    assert_eq!(dup.unwrap_err(), RdbError::Invalid("Duplicate set members detected".into()));
}

#[test]
fn zipmap_hash() {
    // zmlen, "f" -> "v", "key2" -> "value2" (with 2 free bytes), end.
    let mut zm = vec![2u8, 1, b'f', 1, 0, b'v', 4];
    zm.extend_from_slice(b"key2");
    zm.extend_from_slice(&[6, 2]);
    zm.extend_from_slice(b"value2xx");
    zm.push(0xff);
    let h = decode(&blob_value(TYPE_HASH_ZIPMAP, &zm)).unwrap();
    assert_eq!(hash(&h), vec![(bytes_of("f"), bytes_of("v")), (bytes_of("key2"), bytes_of("value2"))]);
}

#[test]
fn real_redis6_ziplist_payloads() {
    // From Redis's corrupt-dump tests: a hash ziplist {"a\0": "b\0", "c\0": "d\0"} (valid),
    // and the same with a duplicate field (real CRC, so this also checks ours).
    let good = unhex("0d1b1b00000016000000040000026100040262000402630004026400ff");
    let h = decode(&good).unwrap();
    assert_eq!(hash(&h), vec![(b"a\0".to_vec(), b"b\0".to_vec()), (b"c\0".to_vec(), b"d\0".to_vec())]);
    let dup = unhex("0d1b1b00000016000000040000026100040262000402610004026400ff0900a1983678cc8e932e");
    assert_eq!(parse_dump_payload(&dup).unwrap_err(), RdbError::Invalid("Duplicate hash fields detected".into()));
    // Redis 6 (RDB 9) quicklist whose ziplist header count is wrong: refused.
    let wrong_count = unhex("0e0113130000000e00000003000002610004026200ff09004de20a2f0825df91");
    assert!(parse_dump_payload(&wrong_count).is_err());
}

#[test]
fn text_scores_of_zset_type_3() {
    let mut body = vec![TYPE_ZSET, 3];
    write_string(b"a", &mut body);
    body.extend_from_slice(&[3]);
    body.extend_from_slice(b"1.5");
    write_string(b"b", &mut body);
    body.push(254);
    write_string(b"c", &mut body);
    body.push(255);
    assert_eq!(
        zset(&decode(&body).unwrap()),
        vec![(f64::NEG_INFINITY, bytes_of("c")), (1.5, bytes_of("a")), (f64::INFINITY, bytes_of("b"))]
    );
    let mut nan = vec![TYPE_ZSET, 1];
    write_string(b"a", &mut nan);
    nan.push(253);
    assert_eq!(decode(&nan).unwrap_err(), RdbError::Invalid("Zset with NAN score detected".into()));
}

// ---------------------------------------------------------------------------------------
// Round trips

fn round_trip(v: &Value) -> Value {
    let p = dump_payload(v);
    let back = parse_dump_payload(&p).unwrap();
    assert_eq!(&back, v);
    let mut raw = Vec::new();
    let ty = write_value_opts(v, &mut raw, false);
    let mut input = &raw[..];
    assert_eq!(&read_value(ty, &mut input).unwrap(), v);
    assert!(input.is_empty());
    back
}

#[test]
fn round_trips() {
    for s in ["", "x", "0", "-1", "007", "12345678901", "123456789012", "9223372036854775808", "hello"] {
        round_trip(&Value::Str(StrValue::from_bytes(s.as_bytes())));
    }
    for n in [0, -1, 127, 128, -32769, 1 << 31, i64::MIN, i64::MAX] {
        assert_eq!(round_trip(&Value::Str(StrValue::from_int(n))).encoding(), "int");
    }
    let big = "compressible text ".repeat(10_000);
    let v = Value::Str(StrValue::from_bytes(big.as_bytes()));
    assert!(dump_payload(&v).len() < big.len() / 4, "LZF pays");
    round_trip(&v);
    let noise: Vec<u8> = (0..5000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    round_trip(&Value::Str(StrValue::from_bytes(&noise)));

    let items: Vec<String> = (0..5000).map(|i| if i % 3 == 0 { i.to_string() } else { format!("item-{i}") }).collect();
    let l = round_trip(&Value::List(Box::new(ListValue::from_items(items.iter().map(|s| s.as_bytes())))));
    assert_eq!(l.encoding(), "quicklist");
    let small = round_trip(&Value::List(Box::new(ListValue::from_items([&b"a"[..], b"b"]))));
    assert_eq!(small.encoding(), "listpack");

    let limits = LoadLimits::default();
    for members in [vec!["1", "2", "-3"], vec!["1", "100000"], vec!["1", "-9223372036854775808"], vec!["a", "1"]] {
        let mut s = SetValue::create(members[0].as_bytes(), members.len(), limits.set);
        for m in &members {
            s.add(m.as_bytes(), limits.set);
        }
        let enc = s.encoding();
        assert_eq!(round_trip(&Value::Set(Box::new(s))).encoding(), enc);
    }
    let mut s = SetValue::new_hashtable(0);
    for i in 0..1000 {
        s.add(format!("m{i}").as_bytes(), limits.set);
    }
    assert_eq!(round_trip(&Value::Set(Box::new(s))).encoding(), "hashtable");
    let mut s = SetValue::new_intset();
    for i in 0..600 {
        s.add(i.to_string().as_bytes(), limits.set);
    }
    assert_eq!(round_trip(&Value::Set(Box::new(s))).encoding(), "hashtable");

    let mut z = ZSetValue::new();
    for i in 0..1000 {
        z.insert(f64::from(i % 17) * 0.5 - 3.0, format!("member-{i}").as_bytes(), limits.zset);
    }
    z.insert(f64::INFINITY, b"top", limits.zset);
    z.insert(f64::NEG_INFINITY, b"bottom", limits.zset);
    assert_eq!(round_trip(&Value::ZSet(Box::new(z))).encoding(), "skiplist");
    let mut z = ZSetValue::new();
    z.insert(1.0, b"a", limits.zset);
    assert_eq!(round_trip(&Value::ZSet(Box::new(z))).encoding(), "listpack");

    let mut h = HashValue::new();
    for i in 0..1000 {
        h.set(format!("f{i}").as_bytes(), format!("{}", i * 7).as_bytes(), limits.hash);
    }
    assert_eq!(round_trip(&Value::Hash(Box::new(h))).encoding(), "hashtable");
    let mut h = HashValue::new();
    h.set(b"a", b"1", limits.hash);
    assert_eq!(round_trip(&Value::Hash(Box::new(h))).encoding(), "listpack");
}

#[test]
fn descending_zset_input_loads() {
    // Redis writes skiplists from the highest score down.
    let mut body = vec![TYPE_ZSET_2];
    write_length(300, &mut body);
    for i in (0..300).rev() {
        write_string(format!("m{i:03}").as_bytes(), &mut body);
        body.extend_from_slice(&f64::from(i).to_le_bytes());
    }
    let z = zset(&decode(&body).unwrap());
    assert_eq!(z.len(), 300);
    assert!(z.windows(2).all(|w| w[0].0 < w[1].0));
    assert_eq!(z[0], (0.0, bytes_of("m000")));
}

#[test]
fn lengths() {
    for n in [0u64, 63, 64, 16383, 16384, u64::from(u32::MAX), u64::from(u32::MAX) + 1, u64::MAX] {
        let mut out = Vec::new();
        write_length(n, &mut out);
        let mut input = &out[..];
        assert_eq!(read_length(&mut input).unwrap(), n);
        assert!(input.is_empty());
    }
    let mut out = Vec::new();
    write_string(b"-42", &mut out);
    assert_eq!(out, [0xc0, 0xd6]);
    assert_eq!(read_string(&mut &out[..]).unwrap(), b"-42");
    assert!(read_length(&mut &out[..]).is_err());
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn footer_checks() {
    let v = Value::Str(StrValue::from_bytes(b"abc"));
    let mut p = dump_payload(&v);
    assert!(parse_dump_payload(&p).is_ok());
    let n = p.len();
    p[n - 1] ^= 1;
    assert_eq!(parse_dump_payload(&p).unwrap_err(), RdbError::BadPayload);
    assert_eq!(parse_dump_payload(b"short").unwrap_err(), RdbError::BadPayload);
    let body = [TYPE_STRING, 1, b'x'];
    assert!(parse_dump_payload(&payload(&body, 11)).is_ok(), "RDB 11 (Redis 7.2) payloads are accepted");
    assert_eq!(parse_dump_payload(&payload(&body, 12)).unwrap_err(), RdbError::BadPayload);
}

#[test]
fn bad_data() {
    // Truncated at every length: an error, never a panic.
    for (_, hex) in REDIS_PAYLOADS {
        let p = unhex(hex);
        let body = &p[..p.len() - 10];
        for cut in 0..body.len() {
            let r = parse_dump_payload(&payload(&body[..cut], RDB_VERSION));
            assert!(r.is_err(), "{hex} cut at {cut}");
        }
        // Every single-byte corruption of the body decodes or fails cleanly.
        for i in 0..body.len() {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut b = body.to_vec();
                b[i] ^= flip;
                let _ = parse_dump_payload(&payload(&b, RDB_VERSION));
            }
        }
    }
    assert_eq!(decode(&[TYPE_SET, 0]).unwrap_err(), RdbError::EmptyKey);
    assert_eq!(decode(&[TYPE_LIST, 0]).unwrap_err(), RdbError::EmptyKey);
    assert_eq!(decode(&[8, 0]).unwrap_err(), RdbError::Invalid("unknown RDB value type 8".into()));
    assert_eq!(
        decode(&[TYPE_STREAM_LISTPACKS_2, 0]).unwrap_err(),
        RdbError::Unsupported("stream values are not supported yet".into())
    );
    assert!(matches!(decode(&[TYPE_MODULE_2, 0]).unwrap_err(), RdbError::Unsupported(_)));
    // Set members duplicated.
    let mut body = vec![TYPE_SET, 2];
    write_string(b"a", &mut body);
    write_string(b"a", &mut body);
    assert_eq!(decode(&body).unwrap_err(), RdbError::Invalid("Duplicate set members detected".into()));
    // An LZF string claiming an absurd length.
    let body = [TYPE_STRING, 0xc3, 2, 0x81, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    assert!(decode(&body).is_err());
}
