//! Writing results: streamed `COPY ... TO` / `to_parquet` / `to_csv`, hive `partition_on`,
//! order kept in single files, nothing left behind on failure.

use std::path::Path;

use rask::{CsvOptions, SessionConfig, SessionContext};
use rask_tests::{format_rows, Setup};

fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.sort();
    rows
}

/// Every file under `dir` (relative paths, sorted), hidden ones included.
fn files(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).expect("prefix");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut out);
    }
    out.sort();
    out
}

#[test]
fn partition_on_writes_hive_directories_that_read_back() {
    let query = "SELECT l_orderkey, l_linenumber, l_returnflag, l_linestatus, l_quantity \
                 FROM lineitem WHERE l_orderkey < 3000";
    for (i, setup) in Setup::all().into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = setup.context().expect("context");
        let df = ctx.sql(query).expect("sql");
        let want = sorted(format_rows(&df.collect().expect("collect")));
        let out = dir.path().join("hive");
        let target = out.to_string_lossy().into_owned();
        let rows = df
            .to_parquet(&target)
            .partition_on(["l_returnflag", "l_linestatus"])
            .write()
            .expect("write");
        assert_eq!(rows, want.len(), "setup {i}");
        let names = files(&out);
        assert!(!names.is_empty());
        for n in &names {
            assert!(n.starts_with("l_returnflag="), "setup {i}: {n}");
            assert!(n.contains("/l_linestatus="), "setup {i}: {n}");
            assert!(n.contains("/part-") && n.ends_with(".parquet"), "{n}");
        }
        // TPC-H has exactly these (returnflag, linestatus) pairs.
        let mut dirs: Vec<&str> = names
            .iter()
            .filter_map(|n| n.rsplit_once('/'))
            .map(|d| d.0)
            .collect();
        dirs.dedup();
        assert_eq!(
            dirs,
            [
                "l_returnflag=A/l_linestatus=F",
                "l_returnflag=N/l_linestatus=F",
                "l_returnflag=N/l_linestatus=O",
                "l_returnflag=R/l_linestatus=F"
            ],
            "setup {i}"
        );
        ctx.register_parquet("back", &target).expect("register");
        let back = ctx
            .sql(
                "SELECT l_orderkey, l_linenumber, l_returnflag, l_linestatus, l_quantity \
                 FROM back",
            )
            .expect("sql");
        assert_eq!(
            sorted(format_rows(&back.collect().expect("collect"))),
            want,
            "setup {i}"
        );
        // The partition columns are not stored in the files.
        let pruned = ctx
            .sql("SELECT count(*) FROM back WHERE l_returnflag = 'R'")
            .expect("sql");
        let direct = ctx
            .sql(&format!(
                "SELECT count(*) FROM ({query}) WHERE l_returnflag = 'R'"
            ))
            .expect("sql");
        assert_eq!(
            format_rows(&pruned.collect().expect("collect")),
            format_rows(&direct.collect().expect("collect"))
        );
    }
}

#[test]
fn partition_by_in_copy_with_nulls_and_odd_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = SessionContext::new();
    let out = dir.path().join("h");
    let sql = format!(
        "COPY (SELECT * FROM (VALUES ('a/b', 1), (NULL, 2), ('a/b', 3), ('x y', 4)) t(k, v)) \
         TO '{}' (FORMAT csv, PARTITION_BY (k))",
        out.display()
    );
    let res = ctx.sql(&sql).expect("copy");
    assert_eq!(format_rows(&res.collect().expect("collect")), [["4"]]);
    assert_eq!(
        files(&out),
        [
            "k=__HIVE_DEFAULT_PARTITION__/part-00000.csv",
            "k=a%2Fb/part-00000.csv",
            "k=x%20y/part-00000.csv"
        ]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("k=a%2Fb/part-00000.csv")).expect("read"),
        "v\n1\n3\n"
    );
    let back = ctx
        .read_csv(&out.to_string_lossy(), CsvOptions::default())
        .expect("read")
        .sort_values(&["v"], true)
        .expect("sort");
    assert_eq!(
        format_rows(&back.collect().expect("collect")),
        [["1", "a/b"], ["2", "NULL"], ["3", "a/b"], ["4", "x y"]]
    );
    // Unknown columns and partitioning a single file are clear errors.
    let err = ctx
        .sql(&format!(
            "COPY (SELECT 1 AS a, 2 AS b) TO '{}' (PARTITION_BY (zz))",
            dir.path().join("e").display()
        ))
        .expect_err("unknown column");
    assert!(err.to_string().contains("zz"), "{err}");
    let err = ctx
        .sql(&format!(
            "COPY (SELECT 1 AS a, 2 AS b) TO '{}' (PARTITION_BY (a))",
            dir.path().join("e.parquet").display()
        ))
        .expect_err("single file");
    assert!(err.to_string().contains("names a file"), "{err}");
    assert!(!dir.path().join("e").exists() && !dir.path().join("e.parquet").exists());
}

#[test]
fn a_sorted_result_stays_sorted_in_one_file() {
    let query =
        "SELECT o_orderkey, o_totalprice FROM orders ORDER BY o_totalprice DESC, o_orderkey";
    for (i, setup) in Setup::all().into_iter().enumerate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ctx = setup.context().expect("context");
        let want = format_rows(&ctx.sql(query).expect("sql").collect().expect("collect"));
        let file = dir.path().join("sorted.parquet");
        ctx.sql(&format!("COPY ({query}) TO '{}'", file.display()))
            .expect("copy")
            .collect()
            .expect("collect");
        // Read back with one thread, in file order.
        let one = SessionContext::with_config(SessionConfig::new().with_threads(1));
        let back = one
            .read_parquet(&file.to_string_lossy())
            .expect("read")
            .collect()
            .expect("collect");
        assert_eq!(format_rows(&back), want, "setup {i}");
        assert_eq!(files(dir.path()), ["sorted.parquet"]);
    }
}

#[test]
fn streaming_write_stays_within_a_small_limit() {
    // lineitem at scale 0.01 is about 10 MB in memory; a 3 MB pool cannot hold it, so the
    // write only succeeds if it streams.
    let dir = tempfile::tempdir().expect("tempdir");
    let spill = tempfile::tempdir().expect("tempdir");
    let limit = 3 << 20;
    let setup = &Setup::all()[2];
    let ctx = setup.context_in(spill.path()).expect("context");
    let ctx_limited = SessionContext::with_config(
        SessionConfig::new()
            .with_threads(2)
            .with_memory_limit(limit)
            .with_spill_dir(spill.path()),
    );
    let root = rask_tests::repo_root();
    ctx_limited
        .register_parquet(
            "lineitem",
            &root.join("datasets/tpch-sf0.01/lineitem").to_string_lossy(),
        )
        .expect("register");
    let out = dir.path().join("li");
    let rows = ctx_limited
        .sql("SELECT * FROM lineitem")
        .expect("sql")
        .to_parquet(&out.to_string_lossy())
        .write()
        .expect("write under the limit");
    assert_eq!(rows, 60_175);
    let stats = ctx_limited.last_query_stats();
    assert!(
        stats.peak_memory <= limit,
        "peak {} over the limit {limit}",
        stats.peak_memory
    );
    let back = ctx.read_parquet(&out.to_string_lossy()).expect("read");
    let want = ctx.sql("SELECT * FROM lineitem").expect("sql");
    assert_eq!(
        sorted(format_rows(&back.collect().expect("collect"))),
        sorted(format_rows(&want.collect().expect("collect")))
    );
}

#[test]
fn a_failed_write_leaves_nothing_and_overwrite_replaces() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = Setup::all()[2].context().expect("context");
    let out = dir.path().join("o");
    let target = out.to_string_lossy().into_owned();
    // The cast fails on some row after other rows were written.
    let failing = "SELECT o_orderkey, CAST(CASE WHEN o_orderkey > 50000 THEN 'x' ELSE '1' END AS INTEGER) AS v \
                   FROM orders";
    let err = ctx
        .sql(&format!("COPY ({failing}) TO '{target}' (FORMAT parquet)"))
        .expect_err("cast error");
    assert!(err.to_string().contains("'x'"), "{err}");
    assert!(files(&out).is_empty(), "{:?}", files(&out));
    // A complete write, then a refused one, then an overwrite.
    let small = ctx.sql("SELECT * FROM nation").expect("sql");
    assert_eq!(small.to_csv(&target).write().expect("write"), 25);
    let first = files(&out);
    assert!(small.to_csv(&target).write().is_err());
    assert_eq!(files(&out), first);
    let fewer = ctx
        .sql("SELECT * FROM nation WHERE n_nationkey < 5")
        .expect("sql");
    assert_eq!(
        fewer
            .to_csv(&target)
            .overwrite(true)
            .write()
            .expect("overwrite"),
        5
    );
    let back = ctx
        .read_csv(&target, CsvOptions::default())
        .expect("read")
        .count()
        .expect("count");
    assert_eq!(back, 5);
    assert!(files(&out).iter().all(|f| f.starts_with("part-")));
}
