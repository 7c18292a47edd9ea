//! Runs every `tests/slt/*.slt` file under each [`Setup`]: files as they are, 1 partition
//! single-threaded, 4 partitions on 4 threads, 4 partitions single-threaded without the
//! optimizer, force-spill; and 4 partitions on 4 threads under a 3 MB memory limit. Expected
//! results come from DuckDB (`tests/tools/fill_slt.py`).

use std::path::PathBuf;

use rask::SessionContext;
use rask_tests::{format_rows, repo_root, Setup};
use sqllogictest::{DBOutput, DefaultColumnType};

struct RaskDb {
    ctx: SessionContext,
}

#[derive(Debug)]
struct DbError(String);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DbError {}

impl sqllogictest::DB for RaskDb {
    type Error = DbError;
    type ColumnType = DefaultColumnType;

    fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, DbError> {
        // A panic is a bug even where an error is expected: report it as a failure.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let df = self.ctx.sql(sql)?;
            let batches = df.collect()?;
            Ok::<_, rask::Error>((df.schema(), batches))
        }));
        let (schema, batches) = match outcome {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(DbError(e.to_string())),
            Err(_) => return Err(DbError(format!("PANIC while running: {sql}"))),
        };
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                t if t.is_integer() => DefaultColumnType::Integer,
                t if t.is_floating() || matches!(t, arrow::datatypes::DataType::Decimal128(..)) => {
                    DefaultColumnType::FloatingPoint
                }
                _ => DefaultColumnType::Text,
            })
            .collect();
        Ok(DBOutput::Rows {
            types,
            rows: format_rows(&batches),
        })
    }

    fn engine_name(&self) -> &str {
        "rask"
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "slt"));
    files.sort();
    files
}

/// Runs every file under `setup`, spilling (if it does) under `Setup::spill_dir(tag)`.
fn run_all(setup: Setup, tag: &str) {
    // Relative paths in the .slt files are relative to the repository root.
    let root = repo_root();
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files under tests/slt");
    let mut failures = Vec::new();
    for file in &files {
        let ctx = match std::env::set_current_dir(&root)
            .map_err(|e| rask::Error::Plan(e.to_string()))
            .and_then(|()| setup.context_in(&Setup::spill_dir(tag)))
        {
            Ok(c) => c,
            Err(e) => panic!("cannot set up {setup:?}: {e}"),
        };
        let mut runner = sqllogictest::Runner::new(move || {
            let ctx = ctx.clone();
            async move { Ok(RaskDb { ctx }) }
        });
        runner.add_label("rask");
        if !setup.optimize {
            runner.add_label("optimizer-off");
        }
        if setup.force_spill {
            runner.add_label("force-spill");
        }
        // Run record by record so that one failure does not hide the rest of the file.
        let records = match sqllogictest::parse_file::<DefaultColumnType>(file) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{}: cannot parse: {e}", file.display()));
                continue;
            }
        };
        for record in records {
            if matches!(record, sqllogictest::Record::Halt { .. }) {
                break;
            }
            if let Err(e) = runner.run(record) {
                failures.push(format!("{}: {e}", file.display()));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} .slt records failed (in {} files) under {setup:?}:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn slt_files_as_stored() {
    run_all(Setup::all()[0], "slt");
}

#[test]
fn slt_one_partition_single_threaded() {
    run_all(Setup::all()[1], "slt");
}

#[test]
fn slt_four_partitions_threads() {
    run_all(Setup::all()[2], "slt");
}

#[test]
fn slt_four_partitions_optimizer_off() {
    run_all(Setup::all()[3], "slt");
}

#[test]
fn slt_force_spill() {
    let setup = Setup::all()[4];
    assert!(setup.force_spill);
    run_all(setup, "slt");
    // Every query removed its spill directory.
    let dir = Setup::spill_dir("slt");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    let _ = std::fs::remove_dir(&dir);
    assert!(left.is_empty(), "spill files left behind: {left:?}");
}

/// Every query under a 3 MB limit (real pressure, not force-spill): the tables of the
/// bundled data (lineitem alone takes several MB in memory) make sorts, aggregations, joins and
/// windows spill, and operators that share the pool must still get a batch through.
#[test]
fn slt_under_a_small_memory_limit() {
    let mut setup = Setup::all()[2];
    setup.memory_limit = Some(3 << 20);
    run_all(setup, "slt-limit");
}
