//! `rask datagen`: benchmark data sets written as partitioned Parquet or CSV files.
//!
//! Each generator produces one partition per file, in parallel (one scoped thread per
//! partition), and writes it with rask-io's [`PartitionWriter`], which writes under a
//! temporary name and renames: an interrupted run leaves no truncated file with a final name.

pub mod h2o;
pub mod h2o_join;
pub mod tpch;
pub mod trips;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context, Result};
use rask_io::{CsvOptions, FileFormat, PartitionWriter};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;

/// Creates `dir` and removes the `part-*.parquet` / `part-*.csv` files a previous run left
/// in it, so that a run with fewer parts leaves no stale partitions behind.
fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create directory {}", dir.display()))?;
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let is_part =
            name.starts_with("part-") && (name.ends_with(".parquet") || name.ends_with(".csv"));
        if is_part && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("cannot remove old file {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Writes `batches` (all of `schema`) to the file `path`; returns the number of rows.
fn write_file(
    path: &Path,
    schema: SchemaRef,
    format: FileFormat,
    batches: impl Iterator<Item = Result<RecordBatch>>,
) -> Result<u64> {
    let mut writer = PartitionWriter::try_new(path, schema, format, &CsvOptions::default())
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut rows = 0;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer
            .write(&batch)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    writer
        .finish()
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(rows)
}

/// Runs `f(part)` for every part in `0..parts` on up to one thread per core and returns the
/// results in part order, or the first error (the remaining parts are then skipped).
fn run_parts<T: Send>(parts: usize, f: impl Fn(usize) -> Result<T> + Sync) -> Result<Vec<T>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(parts)
        .max(1);
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || -> Result<Vec<(usize, T)>> {
        let mut done = Vec::new();
        loop {
            let part = next.fetch_add(1, Ordering::Relaxed);
            if part >= parts || failed.load(Ordering::Relaxed) {
                return Ok(done);
            }
            match f(part) {
                Ok(value) => done.push((part, value)),
                Err(e) => {
                    failed.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
    };
    let per_worker: Vec<Result<Vec<(usize, T)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers).map(|_| scope.spawn(work)).collect();
        handles
            .into_iter()
            .map(|h| match h.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    let mut results = Vec::with_capacity(parts);
    for done in per_worker {
        results.extend(done?);
    }
    results.sort_by_key(|(part, _)| *part);
    Ok(results.into_iter().map(|(_, value)| value).collect())
}

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast and good enough for benchmark data.
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

    /// A generator for `stream` (a partition) of `seed`.
    pub(crate) fn new(seed: u64, stream: u64) -> Self {
        let state = mix(seed ^ mix(stream.wrapping_add(1).wrapping_mul(Self::GAMMA)));
        SplitMix64 { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(Self::GAMMA);
        mix(self.state)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; the bias is below 2^-40 for our n).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in [0, 1), 53 random bits.
    pub(crate) fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Whether the next value is NULL; draws nothing when there are no NULLs.
    pub(crate) fn is_null(&mut self, threshold: f64) -> bool {
        threshold > 0.0 && self.unit_f64() < threshold
    }
}

/// The SplitMix64 output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The rows `start..end` of partition `part` of `parts`: the partitions split N as evenly
/// as possible, the first ones one row longer.
pub(crate) fn part_range(rows: u64, part: usize, parts: usize) -> (u64, u64) {
    let (part, parts) = (part as u64, parts as u64);
    let base = rows / parts;
    let extra = rows % parts;
    let start = part * base + part.min(extra);
    let len = base + u64::from(part < extra);
    (start, start + len)
}

/// The batches of partition `part` (0-based) of `parts` of a seeded table of `rows` rows:
/// `generate(rng, first_row, n)` makes the `n` rows from 0-based row `first_row` on, drawing
/// from the partition's own generator, so a partition's rows do not depend on the others.
pub(crate) fn seeded_part_batches(
    rows: u64,
    seed: u64,
    part: usize,
    parts: usize,
    batch_size: usize,
    mut generate: impl FnMut(&mut SplitMix64, u64, usize) -> RecordBatch,
) -> impl Iterator<Item = RecordBatch> {
    let (start, end) = part_range(rows, part, parts);
    let mut rng = SplitMix64::new(seed, part as u64);
    let batch_size = batch_size.max(1) as u64;
    let mut next = start;
    std::iter::from_fn(move || {
        if next >= end {
            return None;
        }
        let n = (end - next).min(batch_size);
        let batch = generate(&mut rng, next, n as usize);
        next += n;
        Some(batch)
    })
}

/// Writes partitions `0..parts` as `dir/part-NNNNN.<format>` in parallel, partition `p`
/// holding the batches `batches(p)`; returns the number of rows written.
fn write_parts<I>(
    dir: &Path,
    parts: usize,
    format: FileFormat,
    schema: &SchemaRef,
    batches: impl Fn(usize) -> I + Sync,
) -> Result<u64>
where
    I: Iterator<Item = RecordBatch>,
{
    prepare_dir(dir)?;
    let rows = run_parts(parts, |part| {
        let path = dir.join(rask_io::part_file_name(part, format));
        write_file(
            &path,
            std::sync::Arc::clone(schema),
            format,
            batches(part).map(Ok),
        )
    })?;
    Ok(rows.iter().sum())
}
