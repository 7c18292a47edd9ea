//! Session configuration.

/// How the executor schedules morsels onto threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheduler {
    /// A rayon pool of `threads` workers pulling morsels (the default).
    #[default]
    Threads,
    /// One worker, morsels in a fixed order: deterministic, for debugging.
    SingleThreaded,
}

impl std::str::FromStr for Scheduler {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "threads" => Ok(Scheduler::Threads),
            "single-threaded" | "single_threaded" | "sync" => Ok(Scheduler::SingleThreaded),
            other => Err(format!(
                "unknown scheduler '{other}': expected 'threads' or 'single-threaded'"
            )),
        }
    }
}

/// Settings of a session, fixed for each query it runs.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Worker threads for the `threads` scheduler (default: available cores).
    pub threads: usize,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// Rows per batch produced by scans and operators.
    pub batch_size: usize,
    /// Run the logical optimizer (off only to test that it changes no answer).
    pub optimize: bool,
    /// Memory limit in bytes for the session's pool (default: 80% of physical memory).
    pub memory_limit: usize,
    /// Split files into at most this many rows per partition when a format allows it
    /// (Parquet row groups); `None` keeps one partition per file.
    pub target_partitions: Option<usize>,
    /// Where operators spill (a per-query directory is made inside); `None`: the system
    /// temporary directory.
    pub spill_dir: Option<std::path::PathBuf>,
    /// Compress spill files with LZ4 (default on: spilling is I/O bound).
    pub spill_compression: bool,
    /// Every spillable operator goes external at once, whatever the limit (tests).
    pub force_spill: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        SessionConfig {
            threads,
            scheduler: Scheduler::Threads,
            batch_size: 8192,
            optimize: true,
            memory_limit: default_memory_limit(),
            target_partitions: None,
            spill_dir: None,
            spill_compression: true,
            force_spill: false,
        }
    }
}

/// 80% of physical memory (from `/proc/meminfo`), or unlimited where that cannot be read.
pub fn default_memory_limit() -> usize {
    physical_memory().map_or(usize::MAX, |m| m / 10 * 8)
}

/// Physical memory in bytes, when the OS tells.
pub fn physical_memory() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}

impl SessionConfig {
    /// The default configuration.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the number of worker threads.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }
    /// Sets the scheduler.
    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = scheduler;
        self
    }
    /// Sets the batch size.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }
    /// Turns the optimizer on or off.
    pub fn with_optimizer(mut self, on: bool) -> Self {
        self.optimize = on;
        self
    }
    /// Sets the memory limit in bytes.
    pub fn with_memory_limit(mut self, bytes: usize) -> Self {
        self.memory_limit = bytes;
        self
    }
    /// Sets the number of partitions in-memory tables are split into.
    pub fn with_target_partitions(mut self, n: usize) -> Self {
        self.target_partitions = Some(n.max(1));
        self
    }
    /// Sets the directory spill files go to.
    pub fn with_spill_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.spill_dir = Some(dir.into());
        self
    }
    /// Turns LZ4 compression of spill files on or off.
    pub fn with_spill_compression(mut self, on: bool) -> Self {
        self.spill_compression = on;
        self
    }
    /// Makes every spillable operator spill at once (to test the external paths).
    pub fn with_force_spill(mut self, on: bool) -> Self {
        self.force_spill = on;
        self
    }
    /// Worker threads the executor actually uses.
    pub fn effective_threads(&self) -> usize {
        match self.scheduler {
            Scheduler::Threads => self.threads.max(1),
            Scheduler::SingleThreaded => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limit_is_below_physical_memory() {
        let limit = SessionConfig::default().memory_limit;
        match physical_memory() {
            Some(m) => assert!(limit < m && limit > m / 2, "{limit} vs {m}"),
            None => assert_eq!(limit, usize::MAX),
        }
    }
}
