//! The configuration shared by all threads: CONFIG SET on any thread is
//! seen by every thread.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use super::Config;

/// State behind a [`SharedConfig`].
#[derive(Debug)]
struct Inner {
    /// The current configuration; replaced whole on every update.
    current: RwLock<Arc<Config>>,
    /// Bumped after every successful update.
    version: AtomicU64,
}

/// A configuration shared between threads (cheap to clone: an `Arc`).
///
/// Readers take an immutable [`snapshot`](SharedConfig::snapshot); a hot
/// path can poll [`version`](SharedConfig::version) (one atomic load) and
/// re-take the snapshot only when it changed, which [`ConfigReader`] does.
/// Writers go through [`update`](SharedConfig::update), which applies a
/// change to a copy and publishes it atomically, so readers never see a
/// half-applied CONFIG SET.
#[derive(Debug, Clone)]
pub struct SharedConfig {
    inner: Arc<Inner>,
}

impl SharedConfig {
    /// Shares `config`, at version 0.
    pub fn new(config: Config) -> Self {
        SharedConfig { inner: Arc::new(Inner { current: RwLock::new(Arc::new(config)), version: AtomicU64::new(0) }) }
    }

    /// The number of successful updates so far. When it is unchanged since
    /// a snapshot was taken, that snapshot is still current.
    pub fn version(&self) -> u64 {
        self.inner.version.load(Ordering::Acquire)
    }

    /// The current configuration.
    pub fn snapshot(&self) -> Arc<Config> {
        self.snapshot_with_version().1
    }

    /// The current version and configuration, read consistently.
    pub fn snapshot_with_version(&self) -> (u64, Arc<Config>) {
        // The lock only guards a pointer swap, so a poisoned lock (a panic
        // in an update closure) still holds a consistent configuration.
        let guard = self.inner.current.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        (self.version(), Arc::clone(&guard))
    }

    /// Applies `change` to a copy of the configuration; if it succeeds,
    /// publishes the copy and bumps the version, otherwise leaves the
    /// configuration untouched and returns the error. Updates are
    /// serialized. Typical use: `shared.update(|c| c.set(&pairs))`.
    pub fn update(&self, change: impl FnOnce(&mut Config) -> Result<(), String>) -> Result<(), String> {
        let mut guard = self.inner.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut next = Config::clone(&guard);
        change(&mut next)?;
        *guard = Arc::new(next);
        self.inner.version.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// A per-thread cached reader of this configuration.
    pub fn reader(&self) -> ConfigReader {
        ConfigReader::new(self.clone())
    }
}

/// A per-thread cache of a [`SharedConfig`]: [`get`](ConfigReader::get)
/// costs one atomic load unless the configuration changed.
#[derive(Debug, Clone)]
pub struct ConfigReader {
    shared: SharedConfig,
    version: u64,
    config: Arc<Config>,
}

impl ConfigReader {
    /// A reader of `shared`, starting with its current snapshot.
    pub fn new(shared: SharedConfig) -> Self {
        let (version, config) = shared.snapshot_with_version();
        ConfigReader { shared, version, config }
    }

    /// The current configuration, refreshed if an update happened.
    pub fn get(&mut self) -> &Arc<Config> {
        if self.shared.version() != self.version {
            let (version, config) = self.shared.snapshot_with_version();
            self.version = version;
            self.config = config;
        }
        &self.config
    }

    /// The shared configuration this reader follows (to update it).
    pub fn shared(&self) -> &SharedConfig {
        &self.shared
    }
}
