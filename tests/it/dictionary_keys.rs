//! String group keys read as dictionaries: a grouping or DISTINCT directly above a Parquet
//! scan reads the string columns it groups by bare (and reads nowhere else) as
//! `Dictionary(Int32, Utf8)` when every file stores them dictionary-encoded, and interns each
//! distinct string once per column chunk. Every query gives the same answer as over in-memory
//! tables (no dictionaries), with the optimizer on and off, at 1 and 4 threads, with and
//! without forced spilling, and when one file stores the keys plainly (no dictionary path).

use arrow::array::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use rask::{ColumnData, SessionConfig, SessionContext};
use rask_tests::format_rows;

const PARTS: usize = 4;
const PER_PART: usize = 2500;

/// `k` (7 values and NULLs), `k2` (30 values), `g` (int), `v`.
fn part(p: usize) -> Vec<(&'static str, ColumnData)> {
    let ids: Vec<usize> = (p * PER_PART..(p + 1) * PER_PART).collect();
    let k: Vec<Option<String>> = ids
        .iter()
        .map(|&i| (i % 9 != 0).then(|| ["a", "", "bb", "Ccc", "dd", "é", "ee"][i % 7].into()))
        .collect();
    let k2: Vec<String> = ids.iter().map(|&i| format!("s{}", (i * 11) % 30)).collect();
    let g: Vec<i64> = ids.iter().map(|&i| (i % 5) as i64).collect();
    let v: Vec<i64> = ids.iter().map(|&i| ((i * 31) % 1000) as i64).collect();
    vec![
        ("k", ColumnData::from(k)),
        ("k2", ColumnData::from(k2)),
        ("g", ColumnData::from(g)),
        ("v", ColumnData::from(v)),
    ]
}

/// `batches` as a Parquet file without dictionaries, row groups of 1000 rows.
fn write_plain(path: &std::path::Path, batches: &[RecordBatch]) {
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(1000))
        .build();
    let file = std::fs::File::create(path).expect("create");
    let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).expect("writer");
    for b in batches {
        w.write(b).expect("write");
    }
    w.close().expect("close");
}

/// The parts as Parquet files under `dir/name`; `plain_last`: the last file's strings are
/// stored plainly.
fn write(dir: &std::path::Path, name: &str, plain_last: bool) -> String {
    let ctx = SessionContext::new();
    let out = dir.join(name);
    std::fs::create_dir_all(&out).expect("mkdir");
    for p in 0..PARTS {
        let path = out.join(format!("part-{p}.parquet"));
        let df = ctx.from_columns(part(p)).expect("part");
        if plain_last && p == PARTS - 1 {
            write_plain(&path, &df.collect().expect("collect"));
        } else {
            df.to_parquet(&path.to_string_lossy())
                .write()
                .expect("write");
        }
    }
    out.to_string_lossy().into_owned()
}

/// (name, context): Parquet with dictionaries, Parquet with one plain file, and memory
/// tables, each with the optimizer on and off, at 1 and 4 threads, forced spilling or not.
fn contexts(dict: &str, mixed: &str) -> Vec<(String, SessionContext)> {
    let mut out = Vec::new();
    for optimize in [true, false] {
        for threads in [1, 4] {
            for force_spill in [false, true] {
                for table in ["dict", "mixed", "memory"] {
                    let config = SessionConfig::default()
                        .with_optimizer(optimize)
                        .with_threads(threads)
                        .with_force_spill(force_spill)
                        .with_batch_size(700);
                    let ctx = SessionContext::with_config(config);
                    match table {
                        "dict" => ctx.register_parquet("f", dict).expect("register"),
                        "mixed" => ctx.register_parquet("f", mixed).expect("register"),
                        _ => {
                            let batches = ctx
                                .read_parquet(dict)
                                .and_then(|d| d.collect())
                                .expect("read");
                            let schema = batches[0].schema();
                            let parts = batches.chunks(3).map(|c| c.to_vec()).collect();
                            ctx.register_batches("f", schema, parts).expect("register");
                        }
                    }
                    let name = format!(
                        "optimize={optimize} threads={threads} force_spill={force_spill} {table}"
                    );
                    out.push((name, ctx));
                }
            }
        }
    }
    out
}

/// The rows of `sql`, sorted (groupings come in any order).
fn run(ctx: &SessionContext, sql: &str) -> Vec<String> {
    let batches = ctx
        .sql(sql)
        .and_then(|df| df.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut rows: Vec<String> = format_rows(&batches).iter().map(|r| r.join("|")).collect();
    rows.sort();
    rows
}

const QUERIES: &[&str] = &[
    "SELECT k, count(*), sum(v) FROM f GROUP BY k",
    "SELECT k, k2, sum(v), min(v) FROM f GROUP BY k, k2",
    "SELECT k2, g, k, count(*) FROM f GROUP BY k2, g, k HAVING count(*) > 40",
    // the key read by an aggregate too: not a dictionary
    "SELECT k, count(DISTINCT k2), max(k) FROM f GROUP BY k",
    "SELECT k, min(k2), max(k2) FROM f WHERE v < 20 GROUP BY k",
    // filters in the scan on the key itself and on another key
    "SELECT k, sum(v) FROM f WHERE k2 IN ('s3', 's4') GROUP BY k",
    "SELECT k, sum(v) FROM f WHERE k LIKE '%e%' OR k = '' GROUP BY k",
    "SELECT k, k2, count(*) FROM f WHERE k <> 'a' AND v > 10 GROUP BY k, k2",
    // not a bare column
    "SELECT upper(k), count(*) FROM f GROUP BY upper(k)",
    // through a projection (common subexpressions) and a filter above the scan
    "SELECT k, sum(v * 2), sum(v * 2 + 1) FROM f WHERE v % 3 = 1 GROUP BY k",
    "SELECT k, k3, count(*) FROM (SELECT k, k AS k3, v FROM f) t GROUP BY k, k3",
    "SELECT kk, sum(w) FROM (SELECT k AS kk, v + g AS w FROM f WHERE g <> 1) t GROUP BY kk",
    "SELECT DISTINCT k2, k FROM f",
    "SELECT DISTINCT k FROM f WHERE g = 2",
    "SELECT count(*) FROM (SELECT DISTINCT k, k2 FROM f)",
];

#[test]
fn answers_match_without_dictionaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dict = write(dir.path(), "dict", false);
    let mixed = write(dir.path(), "mixed", true);
    let ctxs = contexts(&dict, &mixed);
    let reference = ctxs
        .iter()
        .find(|(n, _)| n.ends_with("memory") && n.contains("threads=1"))
        .map(|(_, c)| c)
        .expect("memory context");
    for sql in QUERIES {
        let expected = run(reference, sql);
        assert!(!expected.is_empty(), "{sql}");
        for (name, ctx) in &ctxs {
            assert_eq!(run(ctx, sql), expected, "{name}: {sql}");
        }
    }
}

#[test]
fn explain_names_the_dictionary_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dict = write(dir.path(), "dict", false);
    let mixed = write(dir.path(), "mixed", true);
    let ctx = SessionContext::new();
    ctx.register_parquet("f", &dict).expect("register");
    ctx.register_parquet("m", &mixed).expect("register");
    let explain = |sql: &str| {
        ctx.sql(sql)
            .and_then(|d| d.explain())
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    let plan = explain("SELECT k, k2, sum(v) FROM f GROUP BY k, k2");
    assert!(plan.contains("dictionary: \"k, k2\""), "{plan}");
    let plan = explain("SELECT k, max(k2) FROM f GROUP BY k, k2");
    assert!(plan.contains("dictionary: \"k\""), "{plan}");
    let plan = explain("SELECT k, sum(v * 2), sum(v * 2 + 1) FROM f GROUP BY k");
    assert!(plan.contains("ProjectionExec"), "{plan}");
    assert!(plan.contains("dictionary: \"k\""), "{plan}");
    // Read elsewhere, or one file without dictionaries: plain strings.
    let plan = explain("SELECT k, max(k) FROM f GROUP BY k");
    assert!(!plan.contains("dictionary:"), "{plan}");
    let plan = explain("SELECT k, sum(v) FROM m GROUP BY k");
    assert!(!plan.contains("dictionary:"), "{plan}");
}
