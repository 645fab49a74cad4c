//! Each shard's timer ("serverCron"): active expiry bounded in time per tick like
//! Redis's, table shrinking, idle-client timeouts, and watching for shutdown.

use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::shard::Node;

/// Keys sampled per database per round (Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP).
const KEYS_PER_LOOP: usize = 20;
/// Share of each tick active expiry may use, in percent (Redis's slow cycle: 25%).
const CYCLE_PERCENT: u64 = 25;

/// Runs until shutdown is requested.
pub async fn run(node: Rc<Node>) {
    let mut last_tick = Instant::now();
    loop {
        if node.shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let config = node.config();
        let hz = config.hz().clamp(1, 500) as u64;
        let period = Duration::from_millis(1000 / hz);
        // Wake at least every 50 ms so shutdown is noticed quickly.
        glommio::timer::sleep(period.min(Duration::from_millis(50))).await;
        node.state.borrow_mut().sample_rates(crate::util::now_ms());
        node.refuse_parked_if_busy();
        if let Some(journal) = node.journal() {
            // CONFIG SET appendfsync reaches the running writer here.
            journal.set_fsync(config.appendfsync());
        }
        let (dirty, journal_bytes) = {
            let state = node.state.borrow();
            (state.keyspace.dirty, if state.aof.enabled { state.aof.current_size } else { 0 })
        };
        node.shared.save_status.publish_dirty(node.id, dirty);
        node.shared.save_status.publish_journal_bytes(node.id, journal_bytes);
        if node.id == 0 {
            if node.shared.signalled.swap(false, Ordering::SeqCst) {
                crate::server::log::log(
                    crate::server::log::Level::Warning,
                    "Received SIGTERM or SIGINT scheduling shutdown...",
                );
                let node = node.clone();
                glommio::spawn_local(async move {
                    let mode = crate::persist::save::ShutdownSave::Default;
                    if crate::persist::save::save_before_shutdown(&node, mode).await.is_ok() {
                        node.shared.request_shutdown();
                    }
                })
                .detach();
            }
            crate::persist::save::check_save_rules(&node);
            crate::persist::rewrite::check(&node);
        }
        if last_tick.elapsed() < period {
            continue;
        }
        last_tick = Instant::now();
        let effort = config.active_expire_effort().clamp(1, 10) as u64;
        let budget = Duration::from_micros(period.as_micros() as u64 * CYCLE_PERCENT / 100 * (3 + effort) / 4);
        active_expire(&node, budget, KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * (effort as usize - 1));
        crate::shard::notify::publish(&node);
        close_idle_clients(&node, config.timeout());
        glommio::yield_if_needed().await;
    }
}

/// Samples keys with a TTL in every database, removing expired ones, and repeats on a
/// database while more than 10% of its sample had expired, until `budget` is spent.
fn active_expire(node: &Node, budget: Duration, samples: usize) {
    if !node.gate_allows(None) {
        return;
    }
    let started = Instant::now();
    let mut state = node.state.borrow_mut();
    let now = crate::util::now_ms();
    for db in state.keyspace.dbs.iter_mut() {
        let mut rounds = 0u32;
        loop {
            let (sampled, expired) = db.expire_sample(samples, now);
            rounds += 1;
            if sampled == 0 || expired * 10 <= sampled {
                break;
            }
            if rounds.is_multiple_of(16) && started.elapsed() > budget {
                break;
            }
        }
        db.shrink_if_sparse();
        if started.elapsed() > budget {
            break;
        }
    }
}

/// Closes connections idle for more than `timeout` seconds (0 = never).
fn close_idle_clients(node: &Node, timeout: u64) {
    if timeout == 0 {
        return;
    }
    let now = crate::util::now_ms();
    let state = node.state.borrow();
    for handle in state.clients.iter() {
        let idle_ms = now - handle.info.borrow().last_interaction_ms;
        if idle_ms > (timeout as i64) * 1000 {
            handle.kill();
        }
    }
}
