//! Runtime filters (a hash join's build keys filtering its probe side's scan, and skipping
//! Parquet row groups): every query gives the same answer with the optimizer on (runtime
//! filters traced through filters, projections, inner and outer joins' probe and build sides,
//! and from a build key to the probe key it equals) as with it off (no runtime filters), at 1
//! and 4 threads, over Parquet files whose key ranges differ (so that pruning happens) and
//! over in-memory tables. A few answers are also checked against plain Rust counts.

use rask::{ColumnData, SessionConfig, SessionContext};
use rask_tests::format_rows;

const PARTS: usize = 8;
const PER_PART: usize = 1500;

/// Fact rows: `id`, `k` (ascending across files; every 17th NULL), `k32` (Int32, k mod 500),
/// `s` (a string key, 40 values), `v`.
fn fact_part(p: usize) -> Vec<(&'static str, ColumnData)> {
    let ids: Vec<i64> = (0..PER_PART).map(|i| (p * PER_PART + i) as i64).collect();
    let k: Vec<Option<i64>> = ids
        .iter()
        .map(|&i| (i % 17 != 0).then_some(i / 3))
        .collect();
    let k32: Vec<i32> = ids.iter().map(|&i| (i % 500) as i32).collect();
    let s: Vec<String> = ids.iter().map(|&i| format!("s{}", (i * 7) % 40)).collect();
    let v: Vec<i64> = ids.iter().map(|&i| (i * 31) % 1000).collect();
    vec![
        ("id", ColumnData::from(ids)),
        ("k", ColumnData::from(k)),
        ("k32", ColumnData::from(k32)),
        ("s", ColumnData::from(s)),
        ("v", ColumnData::from(v)),
    ]
}

/// Dimension rows over `k` in 0..4000: `flag` picks subsets (1: every 7th key, 2: keys 100..110,
/// 3: keys spread over every file, 4: a few keys near the end); `dk` NULL for some keys.
fn dim() -> Vec<(&'static str, ColumnData)> {
    let k: Vec<i64> = (0..4000).collect();
    let flag: Vec<i64> = k
        .iter()
        .map(|&k| match k {
            100..110 => 2,
            3990..3995 => 4,
            k if k % 7 == 0 => 1,
            k if k % 401 == 5 => 3,
            _ => 0,
        })
        .collect();
    let dk: Vec<Option<i64>> = k.iter().map(|&k| (k % 5 != 0).then_some(k)).collect();
    vec![
        ("k", ColumnData::from(k)),
        ("flag", ColumnData::from(flag)),
        ("dk", ColumnData::from(dk)),
    ]
}

fn write(dir: &std::path::Path) -> (String, String) {
    let ctx = SessionContext::new();
    let f = dir.join("f");
    std::fs::create_dir_all(&f).expect("mkdir");
    for p in 0..PARTS {
        let path = f.join(format!("part-{p}.parquet"));
        ctx.from_columns(fact_part(p))
            .expect("fact")
            .to_parquet(&path.to_string_lossy())
            .write()
            .expect("write fact");
    }
    let d = dir.join("d.parquet").to_string_lossy().into_owned();
    ctx.from_columns(dim())
        .expect("dim")
        .to_parquet(&d)
        .write()
        .expect("write dim");
    (f.to_string_lossy().into_owned(), d)
}

/// Every configuration: optimizer on and off, 1 and 4 threads, Parquet and memory tables.
fn contexts(fact: &str, dim_path: &str) -> Vec<(String, SessionContext)> {
    let mut out = Vec::new();
    for optimize in [true, false] {
        for threads in [1, 4] {
            for parquet in [true, false] {
                let config = SessionConfig::default()
                    .with_optimizer(optimize)
                    .with_threads(threads)
                    .with_batch_size(700);
                let ctx = SessionContext::with_config(config);
                if parquet {
                    ctx.register_parquet("f", fact).expect("register f");
                    ctx.register_parquet("d", dim_path).expect("register d");
                } else {
                    for (name, path) in [("f", fact), ("d", dim_path)] {
                        let batches = ctx
                            .read_parquet(path)
                            .and_then(|d| d.collect())
                            .expect("read");
                        let schema = batches[0].schema();
                        let parts = batches.chunks(2).map(|c| c.to_vec()).collect();
                        ctx.register_batches(name, schema, parts).expect("register");
                    }
                }
                let name = format!("optimize={optimize} threads={threads} parquet={parquet}");
                out.push((name, ctx));
            }
        }
    }
    out
}

fn run(ctx: &SessionContext, sql: &str) -> String {
    let batches = ctx
        .sql(sql)
        .and_then(|df| df.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    format_rows(&batches)
        .iter()
        .map(|r| r.join("|"))
        .collect::<Vec<_>>()
        .join("\n")
}

const QUERIES: &[&str] = &[
    // inner join, few keys (value list), dense keys (bitmap)
    "SELECT count(*), sum(f.v) FROM f JOIN d ON f.k = d.k WHERE d.flag = 2",
    "SELECT count(*), sum(f.v) FROM f JOIN d ON f.k = d.k WHERE d.flag = 1",
    // no build row: nothing is read
    "SELECT count(*) FROM f JOIN d ON f.k = d.k WHERE d.flag = 9",
    // semi and anti joins (NULL keys on both sides)
    "SELECT count(*) FROM f WHERE k IN (SELECT dk FROM d WHERE flag IN (1, 3))",
    "SELECT count(*) FROM f WHERE EXISTS (SELECT 1 FROM d WHERE d.k = f.k AND d.flag = 4)",
    "SELECT count(*) FROM f WHERE k NOT IN (SELECT dk FROM d WHERE flag = 2)",
    "SELECT count(*) FROM f WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.dk = f.k AND d.flag = 2)",
    // a cast key (Int32 probe column, Int64 build key)
    "SELECT count(*), sum(f.v) FROM f JOIN d ON f.k32 = d.k WHERE d.flag = 3",
    // a string key
    "SELECT count(*) FROM f JOIN (SELECT DISTINCT 's' || CAST(k AS VARCHAR) AS s FROM d \
     WHERE flag = 2) x ON f.s = x.s",
    // through a left join in the probe pipeline, and through its build side
    "SELECT count(*), count(e.k) FROM f LEFT JOIN d e ON f.k32 = e.dk JOIN d ON f.k = d.k \
     WHERE d.flag = 1",
    "SELECT count(*), count(e.flag) FROM f JOIN (SELECT * FROM d WHERE flag = 2) x \
     ON f.k = x.k LEFT JOIN d e ON x.k = e.dk",
    // outer joins above must keep their unmatched rows
    "SELECT count(*), count(f.id) FROM f RIGHT JOIN d ON f.k = d.k WHERE d.flag IN (2, 4)",
    "SELECT count(*), count(f.id), count(x.k) FROM f FULL JOIN \
     (SELECT * FROM d WHERE flag = 2) x ON f.k = x.k",
    "SELECT count(*), count(x.k) FROM f LEFT JOIN (SELECT * FROM d WHERE flag = 2) x \
     ON f.k = x.k",
    // a semi join above an inner join: its filter reaches the probe key the build key equals
    // (TPC-H Q18's shape), and the build side
    "SELECT d.flag, count(*), sum(f.v) FROM f JOIN d ON f.k = d.k \
     WHERE d.k IN (SELECT k FROM d WHERE flag = 4) GROUP BY d.flag",
    "SELECT count(*) FROM f JOIN d ON f.k = d.k JOIN d d2 ON d.dk = d2.k \
     WHERE d2.flag = 2",
    // filters read in stages: a runtime filter's column first, then conjuncts on a string
    // and an integer column for the rows it kept, then the other columns for those rows
    "SELECT count(*), sum(f.v), sum(f.id) FROM f JOIN d ON f.k32 = d.k \
     WHERE d.flag = 1 AND f.s IN ('s3', 's10', 's21') AND f.v < 700",
    "SELECT f.id, f.v, f.s, f.k FROM f JOIN d ON f.k32 = d.k WHERE d.flag = 2 AND f.v > 100 \
     ORDER BY f.id",
    // two runtime filters on two columns, and one on a column with NULLs beside a conjunct
    "SELECT count(*), sum(f.id) FROM f JOIN d ON f.k32 = d.k JOIN d d2 ON f.v = d2.k \
     WHERE d.flag IN (1, 3) AND d2.flag = 1",
    "SELECT count(*), sum(f.v) FROM f JOIN d ON f.k = d.k WHERE d.flag = 1 AND f.v % 3 = 0",
    // a residual condition and a projection in between
    "SELECT count(*) FROM (SELECT k + 0 AS kk, k, v FROM f) g JOIN d \
     ON g.k = d.k AND g.v > d.flag * 100 WHERE d.flag = 1",
];

#[test]
fn answers_match_without_runtime_filters() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fact, dim_path) = write(dir.path());
    let ctxs = contexts(&fact, &dim_path);
    for sql in QUERIES {
        let expected = run(&ctxs.last().expect("contexts").1, sql);
        for (name, ctx) in &ctxs {
            assert_eq!(run(ctx, sql), expected, "{name}: {sql}");
        }
    }
}

#[test]
fn answers_match_plain_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fact, dim_path) = write(dir.path());
    let ctx = &contexts(&fact, &dim_path)[0].1;
    // f.k = id / 3 except NULL for every 17th id: keys 100..110 and 3990..3995.
    let ids = 0..(PARTS * PER_PART) as i64;
    let matching =
        |keys: &dyn Fn(i64) -> bool| ids.clone().filter(|i| i % 17 != 0 && keys(i / 3)).count();
    let flag2 = matching(&|k| (100..110).contains(&k));
    let flag4 = matching(&|k| (3990..3995).contains(&k));
    assert_eq!(
        run(
            ctx,
            "SELECT count(*) FROM f JOIN d ON f.k = d.k WHERE d.flag = 2"
        ),
        format!("{flag2}")
    );
    assert_eq!(
        run(
            ctx,
            "SELECT count(*) FROM f WHERE EXISTS (SELECT 1 FROM d WHERE d.k = f.k AND d.flag = 4)"
        ),
        format!("{flag4}")
    );
}

#[test]
fn explain_shows_runtime_filters_only_with_the_optimizer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (fact, dim_path) = write(dir.path());
    let sql = "EXPLAIN SELECT count(*) FROM f JOIN d ON f.k = d.k WHERE d.flag = 2";
    for (name, ctx) in contexts(&fact, &dim_path) {
        let plan = run(&ctx, sql);
        let optimized = name.starts_with("optimize=true");
        assert_eq!(
            plan.contains("RuntimeFilterExec: k"),
            optimized,
            "{name}:\n{plan}"
        );
    }
}
