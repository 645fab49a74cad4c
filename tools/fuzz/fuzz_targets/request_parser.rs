//! Feeds arbitrary bytes to the request parser, whole and in chunks, and checks that it never
//! panics, that every span lies inside its buffer, and that the way the bytes are split into
//! reads changes nothing but where a "too big" error triggers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tallkv::protocol::{Limits, Parsed, RequestParser};

#[derive(Debug, PartialEq)]
enum Event {
    Request(Vec<Vec<u8>>),
    Error(String),
}

/// Parses `data` delivered in reads of the given sizes (cycled), moving the unconsumed tail to
/// the front of the buffer as a connection does.
fn run(data: &[u8], sizes: &[usize], limits: &Limits) -> (Vec<Event>, usize) {
    let mut parser = RequestParser::new();
    let (mut spans, mut scratch) = (Vec::new(), Vec::new());
    let mut buf = Vec::new();
    let mut events = Vec::new();
    let mut fed = 0;
    let mut i = 0;
    while fed < data.len() {
        let n = sizes[i % sizes.len()].clamp(1, data.len() - fed);
        i += 1;
        buf.extend_from_slice(&data[fed..fed + n]);
        fed += n;
        loop {
            match parser.parse(&buf, limits, &mut spans, &mut scratch) {
                Parsed::Request { consumed } => {
                    assert!(consumed > 0 && consumed <= buf.len());
                    let base: &[u8] = if parser.args_in_scratch() { &scratch } else { &buf };
                    events.push(Event::Request(spans.iter().map(|r| base[r.clone()].to_vec()).collect()));
                    buf.drain(..consumed);
                }
                Parsed::Incomplete => {
                    if let Some(wanted) = parser.bytes_wanted() {
                        assert!(wanted <= limits.max_bulk_len + 2);
                    }
                    break;
                }
                Parsed::Error(text) => {
                    events.push(Event::Error(text));
                    return (events, 0);
                }
            }
        }
    }
    (events, buf.len())
}

fuzz_target!(|input: &[u8]| {
    let Some((&knobs, data)) = input.split_first() else { return };
    // Small limits so that the fuzzer reaches them.
    let limits = Limits { max_bulk_len: 300, max_inline_len: 200, max_multibulk_len: 40 };
    let sizes = [usize::from(knobs & 0x0f) + 1, usize::from(knobs >> 4) + 1];
    let whole = run(data, &[usize::MAX], &limits);
    let chunked = run(data, &sizes, &limits);
    let too_big = |events: &[Event]| events.iter().any(|e| matches!(e, Event::Error(t) if t.contains("too big")));
    if !too_big(&whole.0) && !too_big(&chunked.0) {
        assert_eq!(whole, chunked);
    }
});
