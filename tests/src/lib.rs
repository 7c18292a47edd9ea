//! Shared helpers of rask's integration tests: session set-up over the bundled data in 1 or 4
//! partitions, and value formatting shared with `tests/tools/fill_slt.py`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use rask::{Result, Scheduler, SessionConfig, SessionContext};

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Removes the empty `rask-test-spill-PID-TAG` directories in `tmp` whose process has ended
/// (where `/proc` tells which processes run).
fn remove_stale_spill_dirs(tmp: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(rest) = name
            .to_str()
            .and_then(|n| n.strip_prefix("rask-test-spill-"))
        else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            // Fails, harmlessly, on a directory that is not empty.
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

/// The TPC-H tables bundled in `datasets/tpch-sf0.01`.
pub const TPCH_TABLES: [&str; 8] = [
    "lineitem", "orders", "customer", "part", "partsupp", "supplier", "nation", "region",
];

/// How a test session lays its tables out and runs.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    /// `None`: the files as they are (one partition per file); `Some(n)`: loaded into memory
    /// and cut into `n` partitions.
    pub partitions: Option<usize>,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// Worker threads.
    pub threads: usize,
    /// Run the optimizer.
    pub optimize: bool,
    /// Every spillable operator goes external at once (spill files under
    /// [`Setup::spill_dir`]).
    pub force_spill: bool,
    /// The memory limit in bytes (`None`: the default, 80% of physical memory).
    pub memory_limit: Option<usize>,
}

impl Setup {
    /// The configurations every SQL test runs under.
    pub fn all() -> Vec<Setup> {
        vec![
            Setup {
                partitions: None,
                scheduler: Scheduler::Threads,
                threads: 4,
                optimize: true,
                force_spill: false,
                memory_limit: None,
            },
            Setup {
                partitions: Some(1),
                scheduler: Scheduler::SingleThreaded,
                threads: 1,
                optimize: true,
                force_spill: false,
                memory_limit: None,
            },
            Setup {
                partitions: Some(4),
                scheduler: Scheduler::Threads,
                threads: 4,
                optimize: true,
                force_spill: false,
                memory_limit: None,
            },
            Setup {
                partitions: Some(4),
                scheduler: Scheduler::SingleThreaded,
                threads: 1,
                optimize: false,
                force_spill: false,
                memory_limit: None,
            },
            Setup {
                partitions: Some(4),
                scheduler: Scheduler::Threads,
                threads: 4,
                optimize: true,
                force_spill: true,
                memory_limit: None,
            },
        ]
    }

    /// Where force-spill set-ups put their spill files by default: one directory per test
    /// process and `tag`, so that a test can check that every query removed its own.
    ///
    /// Nothing runs when a test process ends, so the first call in each process removes the
    /// directories that earlier, finished test processes left (empty ones only: a directory
    /// still holding files is kept and shows that a query did not clean up).
    pub fn spill_dir(tag: &str) -> PathBuf {
        static SWEPT: std::sync::Once = std::sync::Once::new();
        let tmp = std::env::temp_dir();
        SWEPT.call_once(|| remove_stale_spill_dirs(&tmp));
        tmp.join(format!("rask-test-spill-{}-{tag}", std::process::id()))
    }

    /// A session with the TPC-H tables and every entry of `tests/data` registered.
    ///
    /// # Errors
    /// When a table cannot be opened.
    pub fn context(&self) -> Result<SessionContext> {
        self.context_in(&Self::spill_dir("default"))
    }

    /// [`Setup::context`] with spill files (if any) under `spill_dir`.
    ///
    /// # Errors
    /// When a table cannot be opened.
    pub fn context_in(&self, spill_dir: &Path) -> Result<SessionContext> {
        let config = SessionConfig::default()
            .with_threads(self.threads)
            .with_scheduler(self.scheduler)
            .with_optimizer(self.optimize)
            .with_batch_size(1024)
            .with_force_spill(self.force_spill);
        let config = match self.memory_limit {
            Some(limit) => config.with_memory_limit(limit),
            None => config,
        };
        let config = if self.force_spill || self.memory_limit.is_some() {
            config.with_spill_dir(spill_dir)
        } else {
            config
        };
        let ctx = SessionContext::with_config(config);
        let root = repo_root();
        for t in TPCH_TABLES {
            let path = root.join("datasets/tpch-sf0.01").join(t);
            self.register(&ctx, t, &path.to_string_lossy())?;
        }
        let data = root.join("tests/data");
        if let Ok(entries) = std::fs::read_dir(&data) {
            let mut paths: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
            for p in paths {
                let Some(file) = p.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let name = file.split('.').next().unwrap_or(file).to_string();
                let known = p.is_dir() || file.ends_with(".csv") || file.ends_with(".parquet");
                if known && !file.starts_with('.') {
                    self.register(&ctx, &name, &p.to_string_lossy())?;
                }
            }
        }
        Ok(ctx)
    }

    /// Registers the file, directory or glob `path` as table `name` in `ctx`, laid out as
    /// this set-up says (the files as they are, or loaded into memory and cut into
    /// partitions).
    ///
    /// # Errors
    /// When `path` cannot be read.
    pub fn register(&self, ctx: &SessionContext, name: &str, path: &str) -> Result<()> {
        match self.partitions {
            None => ctx.register_path(name, path),
            Some(n) => {
                let scratch = SessionContext::new();
                scratch.register_path("t", path)?;
                let df = scratch.table("t")?;
                let schema = df.schema();
                let batches = df.collect()?;
                ctx.register_batches(name, Arc::clone(&schema), split_into(&schema, &batches, n)?)
            }
        }
    }
}

/// Cuts `batches` into `n` partitions of about equal row counts (in order).
///
/// # Errors
/// Never in practice (concatenation of batches of one schema).
pub fn split_into(
    schema: &Arc<Schema>,
    batches: &[RecordBatch],
    n: usize,
) -> Result<Vec<Vec<RecordBatch>>> {
    let all = arrow::compute::concat_batches(schema, batches)?;
    let rows = all.num_rows();
    let n = n.max(1);
    let per = rows.div_ceil(n).max(1);
    let mut parts = Vec::with_capacity(n);
    for i in 0..n {
        let start = (i * per).min(rows);
        let len = per.min(rows - start);
        // Several batches per partition, so that morsels split partitions too.
        let mut part = Vec::new();
        let mut off = 0;
        while off < len {
            let l = 700.min(len - off);
            part.push(all.slice(start + off, l));
            off += l;
        }
        parts.push(part);
    }
    Ok(parts)
}

/// Formats one value the way `tests/tools/fill_slt.py` does: NULL, `(empty)`, integers,
/// other numbers rounded to 4 decimals with trailing zeros trimmed, dates `YYYY-MM-DD`.
pub fn format_value(array: &ArrayRef, row: usize) -> String {
    if array.is_null(row) || array.data_type() == &DataType::Null {
        return "NULL".to_string();
    }
    match array.data_type() {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let v = match array.data_type() {
                DataType::Float32 => f64::from(
                    array
                        .as_primitive::<arrow::datatypes::Float32Type>()
                        .value(row),
                ),
                DataType::Float64 => array
                    .as_primitive::<arrow::datatypes::Float64Type>()
                    .value(row),
                _ => f64::NAN,
            };
            if v.is_nan() {
                "NaN".into()
            } else if v.is_infinite() {
                if v > 0.0 {
                    "inf".into()
                } else {
                    "-inf".into()
                }
            } else {
                trim_number(format!("{v:.4}"))
            }
        }
        DataType::Decimal128(_, s) => {
            let v = array
                .as_primitive::<arrow::datatypes::Decimal128Type>()
                .value(row);
            trim_number(decimal_round4(v, *s))
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let s = display(array, row);
            if s.is_empty() {
                "(empty)".into()
            } else {
                s
            }
        }
        DataType::Boolean => display(array, row),
        DataType::Timestamp(_, _) => {
            let s = display(array, row).replace('T', " ");
            match s.split_once('.') {
                Some((head, frac)) if frac.trim_end_matches('0').is_empty() => head.to_string(),
                Some((head, frac)) => {
                    let f = frac.trim_end_matches('0');
                    let f = if f.len() <= 3 {
                        format!("{f:0<3}")
                    } else {
                        format!("{f:0<6}")
                    };
                    format!("{head}.{f}")
                }
                None => s,
            }
        }
        _ => display(array, row),
    }
}

fn display(array: &ArrayRef, row: usize) -> String {
    ArrayFormatter::try_new(array.as_ref(), &FormatOptions::default())
        .map(|f| f.value(row).to_string())
        .unwrap_or_else(|e| format!("<{e}>"))
}

fn trim_number(s: String) -> String {
    let mut s = s;
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if s == "-0" || s.is_empty() || s == "-" {
        s = "0".into();
    }
    s
}

/// A decimal `v * 10^-scale` rounded to 4 places (ties away from zero), as text.
fn decimal_round4(v: i128, scale: i8) -> String {
    let scale = i32::from(scale);
    let (v, scale) = if scale > 4 {
        let div = 10i128.pow((scale - 4) as u32);
        let q = v / div;
        let r = v % div;
        let q = if r.abs() * 2 >= div {
            q + v.signum()
        } else {
            q
        };
        (q, 4)
    } else {
        (v, scale)
    };
    if scale <= 0 {
        return (v * 10i128.pow((-scale) as u32)).to_string();
    }
    let neg = v < 0;
    let digits = v.unsigned_abs().to_string();
    let s = scale as usize;
    let padded = format!("{digits:0>width$}", width = s + 1);
    let (int, frac) = padded.split_at(padded.len() - s);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

/// All rows of `batches` as formatted values.
pub fn format_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            rows.push(b.columns().iter().map(|c| format_value(c, r)).collect());
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_rounding_matches_the_filler() {
        assert_eq!(trim_number(decimal_round4(123_456_789, 6)), "123.4568");
        assert_eq!(trim_number(decimal_round4(-5, 1)), "-0.5");
        assert_eq!(trim_number(decimal_round4(250, 2)), "2.5");
        assert_eq!(trim_number(decimal_round4(-4, 5)), "0");
        assert_eq!(trim_number(decimal_round4(12, 0)), "12");
    }
}
