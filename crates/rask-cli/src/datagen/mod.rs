//! `rask datagen`: benchmark data sets written as partitioned Parquet or CSV files.
//!
//! Each generator produces one partition per file, in parallel (one scoped thread per
//! partition), and writes it with rask-io's [`PartitionWriter`], which writes under a
//! temporary name and renames: an interrupted run leaves no truncated file with a final name.

pub mod h2o;
pub mod tpch;

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
