//! Freeing large values off the shard threads, as Redis's lazy free does.
//!
//! Dropping a collection of a million elements walks a million allocations: tens of
//! milliseconds during which the shard would answer nobody. A value whose freeing effort
//! (its element count) passes [`THRESHOLD`] — DEL, UNLINK, an overwrite, a FLUSHDB — is
//! handed instead to one background thread that drops it, and the shard goes on at once.
//! The keyspace's memory accounting already forgot the value when it was removed; only
//! the process's RSS lags until the background thread is done.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};

use crate::types::Value;

/// Values with more elements than this are freed in the background (Redis's `LAZYFREE_THRESHOLD`).
pub const THRESHOLD: usize = 64;

/// Something to drop on the background thread.
type Garbage = Box<dyn Send>;

static FREER: OnceLock<Option<Sender<Garbage>>> = OnceLock::new();
static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

/// The background thread's queue, started on first use (`None` if it could not start).
fn freer() -> Option<&'static Sender<Garbage>> {
    FREER
        .get_or_init(|| {
            let (sender, receiver) = channel::<Garbage>();
            let spawned = std::thread::Builder::new().name("tallkv-lazyfree".into()).spawn(move || {
                for garbage in receiver {
                    drop(garbage);
                    PENDING.fetch_sub(1, Ordering::Relaxed);
                    FREED.fetch_add(1, Ordering::Relaxed);
                }
            });
            spawned.ok().map(|_| sender)
        })
        .as_ref()
}

/// Drops `value` here if it is small, or on the background thread if it is large.
pub fn release(value: Value) {
    if value.free_effort() > THRESHOLD {
        release_in_background(Box::new(value));
    }
}

/// Drops `garbage` on the background thread (here if that thread is unavailable).
pub fn release_in_background(garbage: Garbage) {
    match freer() {
        Some(sender) => {
            PENDING.fetch_add(1, Ordering::Relaxed);
            if let Err(returned) = sender.send(garbage) {
                PENDING.fetch_sub(1, Ordering::Relaxed);
                drop(returned);
            }
        }
        None => drop(garbage),
    }
}

/// Objects queued and not freed yet (INFO `lazyfree_pending_objects`).
pub fn pending() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

/// Objects freed in the background since start (INFO `lazyfreed_objects`).
pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::ListValue;

    #[test]
    fn large_values_are_freed_in_the_background() {
        let mut list = ListValue::new();
        for i in 0..1000u32 {
            list.push_back(&i.to_be_bytes());
        }
        let before = freed();
        release(Value::List(Box::new(list)));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while freed() == before {
            assert!(std::time::Instant::now() < deadline, "never freed");
            std::thread::yield_now();
        }
        // Small values are dropped in place and never counted.
        let freed_now = freed();
        release(Value::List(Box::new(ListValue::new())));
        assert_eq!(freed(), freed_now);
    }
}
