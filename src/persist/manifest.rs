//! The journal manifest: `<dir>/<appenddirname>/<appendfilename>.manifest`, a small
//! versioned text file naming every file the journal consists of, in load order.
//!
//! ```text
//! tallkv-journal-manifest 1
//! generation 4
//! base 0 appendonly.aof.1.0of4.base
//! journal 0 appendonly.aof.1.0of4.jrnl
//! journal 1 appendonly.aof.1.1of4.jrnl
//! ...
//! generation 2
//! journal 0 appendonly.aof.2.0of2.jrnl
//! ```
//! A generation is a shard count and, per shard, an optional base snapshot followed by
//! journal files. A restart with another `--threads` starts a new generation on top of
//! the old ones (whose records are replayed shard by shard and redistributed by slot), so
//! nothing is rewritten at startup. The file is replaced atomically: written to a temp
//! file, fsynced, renamed over the old one, and the directory fsynced.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The first line's tag.
const TAG: &str = "tallkv-journal-manifest";
/// The manifest format version.
pub const VERSION: u32 = 1;

/// One file of a shard's journal.
#[derive(Debug, Clone, PartialEq)]
pub enum ShardFile {
    /// A snapshot of the shard (helper B's per-shard format), loaded first.
    Base(String),
    /// A journal file, replayed in order.
    Journal(String),
}

/// One shard count's files.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Generation {
    /// Per shard, its files in load order.
    pub shards: Vec<Vec<ShardFile>>,
}

impl Generation {
    /// The shard count.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }
}

/// The whole manifest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Manifest {
    /// Oldest first.
    pub generations: Vec<Generation>,
}

/// Where the journal lives: the directory (relative to `dir`) and the manifest's path.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `<appenddirname>`.
    pub dir: PathBuf,
    /// `<appendfilename>`, the prefix of every file.
    pub prefix: String,
}

impl Paths {
    /// The paths for the configuration's `appenddirname` and `appendfilename`.
    pub fn new(appenddirname: &str, appendfilename: &str) -> Paths {
        Paths { dir: PathBuf::from(appenddirname), prefix: appendfilename.to_string() }
    }

    /// The manifest file.
    pub fn manifest(&self) -> PathBuf {
        self.dir.join(format!("{}.manifest", self.prefix))
    }

    /// A file of the journal directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The journal file name of shard `shard` of `shards` in generation number `generation`.
    pub fn journal_name(&self, generation: usize, shard: usize, shards: usize) -> String {
        format!("{}.{generation}.{shard}of{shards}.jrnl", self.prefix)
    }
}

impl Manifest {
    /// Parses the manifest text; errors name the line.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
        match lines.next() {
            Some((_, first)) => {
                let mut words = first.split_whitespace();
                if words.next() != Some(TAG) {
                    return Err("not a tallkv journal manifest".into());
                }
                let version: u32 = words.next().and_then(|v| v.parse().ok()).ok_or("missing manifest version")?;
                if version != VERSION {
                    return Err(format!("unsupported manifest version {version}"));
                }
            }
            None => return Err("empty manifest".into()),
        }
        let mut manifest = Manifest::default();
        for (n, line) in lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            let bad = || format!("bad manifest line {}: {line}", n + 1);
            match words.as_slice() {
                ["generation", count] => {
                    let count: usize = count.parse().map_err(|_| bad())?;
                    if count == 0 || count > u16::MAX as usize {
                        return Err(bad());
                    }
                    manifest.generations.push(Generation { shards: vec![Vec::new(); count] });
                }
                [kind @ ("base" | "journal"), shard, name] => {
                    let shard: usize = shard.parse().map_err(|_| bad())?;
                    if name.contains('/') {
                        return Err(bad());
                    }
                    let generation = manifest.generations.last_mut().ok_or_else(bad)?;
                    let files = generation.shards.get_mut(shard).ok_or_else(bad)?;
                    files.push(if *kind == "base" {
                        ShardFile::Base(name.to_string())
                    } else {
                        ShardFile::Journal(name.to_string())
                    });
                }
                _ => return Err(bad()),
            }
        }
        Ok(manifest)
    }

    /// The manifest as text.
    pub fn render(&self) -> String {
        let mut out = format!("# tallkv journal manifest: written by tallkv, do not edit\n{TAG} {VERSION}\n");
        for generation in &self.generations {
            out.push_str(&format!("generation {}\n", generation.shard_count()));
            for (shard, files) in generation.shards.iter().enumerate() {
                for file in files {
                    match file {
                        ShardFile::Base(name) => out.push_str(&format!("base {shard} {name}\n")),
                        ShardFile::Journal(name) => out.push_str(&format!("journal {shard} {name}\n")),
                    }
                }
            }
        }
        out
    }

    /// Reads the manifest at `path`: `Ok(None)` if there is none.
    pub fn read(path: &Path) -> Result<Option<Manifest>, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => Manifest::parse(&text).map(Some).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("Can't read the journal manifest {}: {e}", path.display())),
        }
    }

    /// Writes the manifest to `path` crash-safely (temp file, fsync, rename, directory fsync).
    pub fn write(&self, path: &Path) -> Result<(), String> {
        write_atomically(path, self.render().as_bytes())
    }

    /// The number the next generation gets (1 + the generations so far).
    pub fn next_generation_number(&self) -> usize {
        self.generations.len() + 1
    }
}

/// Replaces `path` with `bytes`: temp file, fsync, rename, directory fsync.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let temp = dir.join(format!(
        "temp-{}-{}",
        std::process::id(),
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    ));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        format!("Can't write {}: {e}", path.display())
    })
}

/// fsyncs directory `dir` (after creating or renaming files in it).
pub fn sync_dir(dir: &Path) -> Result<(), String> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| format!("Can't fsync {}: {e}", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_round_trips() {
        let mut m = Manifest::default();
        m.generations.push(Generation {
            shards: vec![
                vec![ShardFile::Journal("a.1.0of2.jrnl".into())],
                vec![ShardFile::Journal("a.1.1of2.jrnl".into())],
            ],
        });
        m.generations.push(Generation { shards: vec![vec![ShardFile::Journal("a.2.0of1.jrnl".into())]] });
        assert_eq!(Manifest::parse(&m.render()), Ok(m));
        assert!(Manifest::parse("tallkv-journal-manifest 2\n").is_err());
        assert!(Manifest::parse("tallkv-journal-manifest 1\njournal 0 x\n").is_err());
        assert!(Manifest::parse("tallkv-journal-manifest 1\ngeneration 1\njournal 0 ../x\n").is_err());
    }
}
