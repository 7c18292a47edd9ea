//! DataFrame API tests: the partition model (`from_columns`, `repartition`,
//! `repartition_by_size`, `shuffle`, `map_partitions`, `persist`, `set_index`, `divisions`,
//! `reset_index`), at 1 and several partitions and under both schedulers.
//!
//! Expected values marked "DuckDB" were computed offline with DuckDB 1.x over the bundled
//! `datasets/tpch-sf0.01` Parquet files (the query is in the comment beside them).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use rask::functions::{count_star, sum};
use rask::{
    col, lit, ColumnData, DataFrame, ScalarValue, Scheduler, SessionConfig, SessionContext,
};
use rask_tests::{format_rows, repo_root, Setup};

fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.sort();
    rows
}

/// Sessions under both schedulers.
fn sessions() -> Vec<SessionContext> {
    vec![
        SessionContext::with_config(
            SessionConfig::new()
                .with_threads(4)
                .with_scheduler(Scheduler::Threads)
                .with_batch_size(1000),
        ),
        SessionContext::with_config(
            SessionConfig::new()
                .with_scheduler(Scheduler::SingleThreaded)
                .with_batch_size(1000),
        ),
    ]
}

/// `n` rows: `id` 0..n, `k` = id % 7 as a string (NULL every 11th row), `v` = id * 3.
fn numbers(ctx: &SessionContext, n: i64) -> DataFrame {
    ctx.from_columns(vec![
        ("id", ColumnData::from((0..n).collect::<Vec<_>>())),
        (
            "k",
            ColumnData::from(
                (0..n)
                    .map(|i| (i % 11 != 0).then(|| format!("k{}", i % 7)))
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "v",
            ColumnData::from((0..n).map(|i| i * 3).collect::<Vec<_>>()),
        ),
    ])
    .expect("from_columns")
}

fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect()
}

fn partition_rows(df: &DataFrame) -> Vec<usize> {
    df.collect_partitions()
        .expect("collect_partitions")
        .iter()
        .map(|p| p.iter().map(|b| b.num_rows()).sum())
        .collect()
}

#[test]
fn from_columns_builds_typed_nullable_columns() {
    let ctx = SessionContext::new();
    let df = ctx
        .from_columns(vec![
            ("i", ColumnData::from(vec![Some(1i64), None, Some(3)])),
            ("s", ColumnData::from(vec!["a", "b", "c"])),
            ("f", ColumnData::from(vec![0.5, 1.5, f64::NAN])),
            ("b", ColumnData::from(vec![Some(true), Some(false), None])),
            ("d", ColumnData::dates(vec![Some(0), None, Some(19000)])),
        ])
        .expect("from_columns");
    let schema = df.schema();
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(
        types,
        [
            &DataType::Int64,
            &DataType::Utf8,
            &DataType::Float64,
            &DataType::Boolean,
            &DataType::Date32
        ]
    );
    assert!(schema.fields().iter().all(|f| f.is_nullable()));
    assert_eq!(
        format_rows(&df.collect().expect("collect")),
        vec![
            vec!["1", "a", "0.5", "true", "1970-01-01"],
            vec!["NULL", "b", "1.5", "false", "NULL"],
            vec!["3", "c", "NaN", "NULL", "2022-01-08"],
        ]
    );
    // The SQL path sees the same frame.
    let sum_i = df
        .agg(vec![sum(col("i")).alias("s")])
        .and_then(|d| d.collect())
        .expect("agg");
    assert_eq!(format_rows(&sum_i), vec![vec!["4"]]);

    let err = ctx
        .from_columns(vec![("a", vec![1i64, 2]), ("b", vec![1])])
        .expect_err("lengths differ");
    assert!(err.to_string().contains("'b' has 1 values"), "{err}");
    let err = ctx
        .from_columns(vec![("a", vec![1i64]), ("a", vec![2])])
        .expect_err("duplicate");
    assert!(err.to_string().contains("'a' is given twice"), "{err}");
    let none: Vec<(&str, ColumnData)> = vec![];
    assert!(ctx.from_columns(none).is_err());
}

#[test]
fn repartition_balances_rows_and_keeps_order() {
    for ctx in sessions() {
        for input_parts in [1usize, 3] {
            let df = numbers(&ctx, 1000).repartition(input_parts).expect("input");
            assert_eq!(df.npartitions(), input_parts);
            for n in [1usize, 4, 7] {
                let r = df.repartition(n).expect("repartition");
                assert_eq!(r.npartitions(), n);
                let sizes = partition_rows(&r);
                assert_eq!(sizes.len(), n);
                assert_eq!(sizes.iter().sum::<usize>(), 1000);
                let (lo, hi) = (sizes.iter().min(), sizes.iter().max());
                assert!(hi.zip(lo).is_some_and(|(h, l)| h - l <= 1), "{sizes:?}");
                // Rows in input order, partition after partition.
                let all: Vec<i64> = r
                    .collect_partitions()
                    .expect("parts")
                    .iter()
                    .flat_map(|p| ids(p))
                    .collect();
                assert_eq!(all, (0..1000).collect::<Vec<_>>());
            }
        }
        assert!(numbers(&ctx, 3).repartition(0).is_err());
    }
}

#[test]
fn repartition_by_size_counts_bytes() {
    let ctx = SessionContext::new();
    // 3 BIGINT columns... and a string: measure one partition's bytes first.
    let df = numbers(&ctx, 20_000);
    let one = df.repartition_by_size(usize::MAX).expect("one");
    assert_eq!(one.npartitions(), 1);
    let ints = ctx
        .from_columns(vec![("a", (0..20_000i64).collect::<Vec<_>>())])
        .expect("ints");
    // 20,000 BIGINTs are 160,000 bytes: 10 partitions of at most 16,000 bytes.
    let parts = ints.repartition_by_size(16_000).expect("by size");
    assert_eq!(parts.npartitions(), 10);
    assert_eq!(parts.count().expect("count"), 20_000);
    assert!(df.repartition_by_size(0).is_err());
}

#[test]
fn shuffle_puts_equal_keys_together_and_aggregates_agree() {
    for setup in Setup::all() {
        let ctx = setup.context().expect("context");
        let li = ctx.table("lineitem").expect("lineitem");
        let shuffled = li
            .shuffle(&["l_returnflag", "l_linestatus"])
            .expect("shuffle");
        assert_eq!(shuffled.npartitions(), li.npartitions());
        // Each key pair in one partition.
        let parts = shuffled
            .select_columns(&["l_returnflag", "l_linestatus"])
            .and_then(|d| d.collect_partitions())
            .expect("parts");
        let mut owner = std::collections::HashMap::new();
        for (p, batches) in parts.iter().enumerate() {
            for row in format_rows(batches) {
                assert_eq!(*owner.entry(row).or_insert(p), p, "{setup:?}");
            }
        }
        assert_eq!(owner.len(), 4);
        let agg = shuffled
            .groupby(&["l_returnflag", "l_linestatus"])
            .and_then(|g| {
                g.agg(vec![
                    sum(col("l_quantity")).alias("q"),
                    count_star().alias("n"),
                ])
            })
            .and_then(|d| d.collect())
            .expect("agg");
        // DuckDB: SELECT l_returnflag, l_linestatus, sum(l_quantity), count(*)
        //         FROM lineitem GROUP BY ALL ORDER BY ALL
        assert_eq!(
            sorted(format_rows(&agg)),
            vec![
                vec!["A", "F", "380456", "14876"],
                vec!["N", "F", "8971", "348"],
                vec!["N", "O", "765251", "30049"],
                vec!["R", "F", "381449", "14902"],
            ],
            "{setup:?}"
        );
        // A join of two shuffled inputs.
        let orders = ctx
            .table("orders")
            .and_then(|d| d.repartition_by(&["o_custkey"], 3))
            .expect("orders");
        let customer = ctx
            .table("customer")
            .and_then(|d| d.filter(col("c_mktsegment").eq(lit("BUILDING"))))
            .and_then(|d| d.repartition_by(&["c_custkey"], 5))
            .expect("customer");
        let joined = orders
            .merge_on(&customer, "inner", &["o_custkey"], &["c_custkey"])
            .expect("merge");
        // DuckDB: SELECT count(*) FROM orders o JOIN customer c ON o.o_custkey = c.c_custkey
        //         WHERE c.c_mktsegment = 'BUILDING'
        assert_eq!(joined.count().expect("count"), 3706, "{setup:?}");
    }
}

#[test]
fn shuffle_spills_under_a_small_memory_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ctx = SessionContext::with_config(
        SessionConfig::new()
            .with_threads(2)
            .with_batch_size(1000)
            .with_memory_limit(256 << 10)
            .with_spill_dir(dir.path()),
    );
    let df = numbers(&ctx, 50_000).repartition(4).expect("input");
    let shuffled = df.shuffle(&["k"]).expect("shuffle");
    let got = shuffled
        .groupby(&["k"])
        .and_then(|g| g.agg(vec![sum(col("v")).alias("s"), count_star().alias("n")]))
        .and_then(|d| d.collect())
        .expect("agg");
    assert!(ctx.last_query_stats().spill_count > 0);
    let plain = numbers(&SessionContext::new(), 50_000)
        .groupby(&["k"])
        .and_then(|g| g.agg(vec![sum(col("v")).alias("s"), count_star().alias("n")]))
        .and_then(|d| d.collect())
        .expect("plain");
    assert_eq!(sorted(format_rows(&got)), sorted(format_rows(&plain)));
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "spill files removed after the query"
    );
}

fn counting_schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, true),
        Field::new("doubled", DataType::Int64, true),
    ]))
}

/// `map_partitions` keeping `id` and doubling `v`, counting its calls.
fn doubled(df: &DataFrame, calls: &Arc<AtomicUsize>) -> DataFrame {
    let schema = counting_schema();
    let out = Arc::clone(&schema);
    let calls = Arc::clone(calls);
    df.map_partitions(schema, move |b: RecordBatch| {
        calls.fetch_add(1, Ordering::SeqCst);
        let v = b.column(2).as_primitive::<Int64Type>();
        let d: Int64Array = v.iter().map(|x| x.map(|x| x * 2)).collect();
        Ok(RecordBatch::try_new(
            Arc::clone(&out),
            vec![Arc::clone(b.column(0)), Arc::new(d)],
        )?)
    })
    .expect("map_partitions")
}

#[test]
fn map_partitions_sees_whole_partitions() {
    for ctx in sessions() {
        for parts in [1usize, 4] {
            let df = numbers(&ctx, 1000).repartition(parts).expect("input");
            let calls = Arc::new(AtomicUsize::new(0));
            let m = doubled(&df, &calls);
            assert_eq!(m.npartitions(), parts);
            assert_eq!(m.columns(), vec!["id", "doubled"]);
            let batches = m.collect().expect("collect");
            assert_eq!(
                calls.load(Ordering::SeqCst),
                parts,
                "one call per partition"
            );
            let mut rows = format_rows(&batches);
            rows.sort_by_key(|r| r[0].parse::<i64>().unwrap_or(0));
            let want: Vec<Vec<String>> = (0..1000)
                .map(|i| vec![i.to_string(), (i * 6).to_string()])
                .collect();
            assert_eq!(rows, want);
            // Per partition: the function sees all the rows of a partition at once.
            let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
            let out = Arc::clone(&schema);
            let sizes = df
                .map_partitions(schema, move |b| {
                    Ok(RecordBatch::try_new(
                        Arc::clone(&out),
                        vec![Arc::new(Int64Array::from(vec![b.num_rows() as i64]))],
                    )?)
                })
                .and_then(|d| d.collect())
                .expect("sizes");
            let mut n: Vec<i64> = ids(&sizes);
            n.sort_unstable();
            let mut want = partition_rows(&df)
                .into_iter()
                .map(|x| x as i64)
                .collect::<Vec<_>>();
            want.sort_unstable();
            assert_eq!(n, want);
        }
    }
}

#[test]
fn map_partitions_schema_errors_are_clear() {
    let ctx = SessionContext::new();
    let df = numbers(&ctx, 10);
    // Declares BIGINT, returns VARCHAR.
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
    let bad = df
        .map_partitions(schema, |b: RecordBatch| Ok(b.project(&[1])?))
        .expect("lazy");
    let err = bad.collect().expect_err("wrong type").to_string();
    assert!(
        err.contains("column 'k' of type Utf8") && err.contains("'x' is Int64"),
        "{err}"
    );
    // Declares one column, returns three.
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
    let err = df
        .map_partitions(schema, Ok)
        .and_then(|d| d.collect())
        .expect_err("wrong width")
        .to_string();
    assert!(err.contains("returned 3 columns (id, k, v)"), "{err}");
    // The function's own error surfaces.
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, true)]));
    let err = df
        .map_partitions(schema, |_| Err(rask::Error::Execution("boom".into())))
        .and_then(|d| d.collect())
        .expect_err("function error")
        .to_string();
    assert!(err.contains("boom"), "{err}");
}

#[test]
fn persist_computes_once_and_keeps_partitions() {
    for ctx in sessions() {
        for parts in [1usize, 3] {
            let calls = Arc::new(AtomicUsize::new(0));
            let df = numbers(&ctx, 2000).repartition(parts).expect("input");
            let m = doubled(&df, &calls);
            let p = m.persist().expect("persist");
            assert_eq!(calls.load(Ordering::SeqCst), parts);
            assert_eq!(p.npartitions(), parts);
            let first = p.collect().expect("first");
            let second = p
                .filter(col("doubled").gt(lit(100i64)))
                .and_then(|d| d.count())
                .expect("second");
            assert_eq!(second, 2000 - 17);
            assert_eq!(calls.load(Ordering::SeqCst), parts, "no recomputation");
            let table = p.persisted_table().expect("table");
            assert_eq!(table.scans(), 2);
            assert_eq!(table.spill_files(), 0);
            assert!(table.memory_bytes() > 0);
            // Same rows as the unpersisted frame.
            let again = m.collect().expect("again");
            assert_eq!(sorted(format_rows(&first)), sorted(format_rows(&again)));
            assert_eq!(partition_rows(&p), partition_rows(&m));
        }
    }
}

#[test]
fn persist_spills_under_a_small_memory_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    for scheduler in [Scheduler::Threads, Scheduler::SingleThreaded] {
        let ctx = SessionContext::with_config(
            SessionConfig::new()
                .with_threads(2)
                .with_scheduler(scheduler)
                .with_batch_size(1000)
                .with_memory_limit(100 << 10)
                .with_spill_dir(dir.path()),
        );
        let df = numbers(&ctx, 30_000).repartition(3).expect("input");
        let p = df.persist().expect("persist");
        let table = p.persisted_table().expect("table");
        assert!(table.spill_files() > 0, "past the limit partitions spill");
        assert!(table.memory_bytes() <= 100 << 10);
        assert_eq!(p.npartitions(), 3);
        assert_eq!(partition_rows(&p), vec![10_000, 10_000, 10_000]);
        let want = numbers(&SessionContext::new(), 30_000)
            .collect()
            .expect("plain");
        for _ in 0..2 {
            let got = p.collect().expect("read back");
            // Order is kept too.
            assert_eq!(ids(&got), ids(&want));
            assert_eq!(format_rows(&got), format_rows(&want));
        }
        assert!(
            std::fs::read_dir(dir.path()).expect("dir").count() > 0,
            "the persist directory lives as long as the frame"
        );
        drop(p);
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "the persist directory is removed with the frame"
    );
}

#[test]
fn set_index_sorts_range_partitions_and_filters_skip_partitions() {
    for setup in Setup::all() {
        let ctx = setup.context().expect("context");
        let li = ctx.table("lineitem").expect("lineitem");
        let li = if li.npartitions() < 4 {
            li.repartition(4).expect("repartition")
        } else {
            li
        };
        let indexed = li.set_index("l_orderkey").expect("set_index");
        let n = indexed.npartitions();
        assert!(n >= 2, "{setup:?}: {n}");
        assert_eq!(indexed.index().as_deref(), Some("l_orderkey"));
        let div = indexed.divisions().expect("divisions");
        assert_eq!(div.len(), n + 1);
        let keys: Vec<i64> = div.iter().filter_map(|v| v.as_i64()).collect();
        assert_eq!(keys.len(), n + 1);
        assert!(keys.windows(2).all(|w| w[0] <= w[1]), "{keys:?}");
        assert!(keys[..n].windows(2).all(|w| w[0] < w[1]), "{keys:?}");
        // Each partition is sorted and inside its division.
        let parts = indexed
            .select_columns(&["l_orderkey"])
            .and_then(|d| d.collect_partitions())
            .expect("parts");
        assert_eq!(parts.len(), n);
        for (i, p) in parts.iter().enumerate() {
            let v = ids(p);
            assert!(v.windows(2).all(|w| w[0] <= w[1]), "partition {i} sorted");
            assert_eq!(v.first(), Some(&keys[i]));
            if i + 1 < n {
                assert!(v.last().is_some_and(|l| *l < keys[i + 1]));
            } else {
                assert_eq!(v.last(), Some(&keys[n]));
            }
        }
        // Filters on the index skip partitions.
        let table = indexed.persisted_table().expect("table");
        let before = table.partitions_read();
        let one = indexed
            .filter(col("l_orderkey").eq(lit(33i64)))
            .and_then(|d| {
                d.agg(vec![
                    count_star().alias("n"),
                    sum(col("l_quantity")).alias("q"),
                ])
            })
            .expect("filter");
        // DuckDB: SELECT count(*), sum(l_quantity) FROM lineitem WHERE l_orderkey = 33
        assert_eq!(
            format_rows(&one.collect().expect("one")),
            vec![vec!["4", "109"]]
        );
        // Pruning needs the optimizer, which pushes the filter into the scan.
        if setup.optimize {
            assert_eq!(table.partitions_read() - before, 1, "{setup:?}");
            assert!(table.partitions_skipped() >= n - 1);
        } else {
            assert_eq!(table.partitions_read() - before, n, "{setup:?}");
        }
        let range = indexed
            .filter(col("l_orderkey").between(lit(1000i64), lit(2000i64)))
            .expect("between");
        let plan = range.explain().expect("explain");
        assert!(plan.contains("PersistedScan: partitions="), "{plan}");
        assert_eq!(
            plan.contains(&format!("partitions={n}/{n}")),
            !setup.optimize,
            "{plan}"
        );
        let got = range
            .agg(vec![
                count_star().alias("n"),
                sum(col("l_quantity")).alias("q"),
            ])
            .and_then(|d| d.collect())
            .expect("range");
        // DuckDB: SELECT count(*), sum(l_quantity) FROM lineitem
        //         WHERE l_orderkey BETWEEN 1000 AND 2000
        assert_eq!(format_rows(&got), vec![vec!["999", "24950"]], "{setup:?}");
        // Same rows as the frame before set_index.
        let plain = li.count().expect("count");
        assert_eq!(indexed.count().expect("count"), plain);
        // reset_index: same rows and partitions, no divisions.
        let reset = indexed.reset_index().expect("reset");
        assert_eq!(reset.divisions(), None);
        assert_eq!(reset.index(), None);
        assert_eq!(reset.npartitions(), n);
        assert_eq!(reset.count().expect("count"), plain);
        // Joining two indexed frames on the index stays correct (a hash join).
        let orders = ctx
            .table("orders")
            .and_then(|d| d.set_index("o_orderkey"))
            .expect("orders");
        let joined = indexed
            .merge_on(&orders, "inner", &["l_orderkey"], &["o_orderkey"])
            .and_then(|d| d.count())
            .expect("join");
        assert_eq!(joined, plain);
    }
}

#[test]
fn set_index_with_strings_nulls_and_errors() {
    for ctx in sessions() {
        let df = numbers(&ctx, 500).repartition(3).expect("input");
        let indexed = df.set_index("k").expect("set_index on strings");
        // Seven distinct keys k0..k6 plus NULLs (last).
        let div = indexed.divisions().expect("divisions");
        let names: Vec<String> = div
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        assert_eq!(names.len(), div.len());
        assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
        assert_eq!(names.first().map(String::as_str), Some("k0"));
        assert_eq!(names.last().map(String::as_str), Some("k6"));
        let all = indexed.collect_partitions().expect("parts");
        let last = all.last().expect("last partition");
        let nulls: usize = last.iter().map(|b| b.column(1).null_count()).sum();
        assert_eq!(nulls, 46, "NULL keys go to the last partition"); // ceil(500 / 11)
        let k3 = indexed
            .filter(col("k").eq(lit("k3")))
            .and_then(|d| d.count())
            .expect("k3");
        // ids with id % 7 == 3 and id % 11 != 0 among 0..500
        let want = (0..500).filter(|i| i % 7 == 3 && i % 11 != 0).count();
        assert_eq!(k3, want);
        assert!(indexed
            .persisted_table()
            .is_some_and(|t| t.partitions_skipped() > 0));
        let err = df.set_index("nope").expect_err("unknown").to_string();
        assert!(err.contains("no column 'nope'"), "{err}");
    }
    // Divisions of a small integer index, against the documented quantile rule.
    let ctx = SessionContext::new();
    let df = ctx
        .from_columns(vec![(
            "t",
            ColumnData::from(vec![9i64, 3, 7, 1, 5, 2, 8, 4, 6, 0]),
        )])
        .and_then(|d| d.repartition(3))
        .and_then(|d| d.set_index("t"))
        .expect("set_index");
    let int = |v| ScalarValue::Int64(Some(v));
    assert_eq!(df.divisions(), Some(vec![int(0), int(3), int(6), int(9)]));
}

#[test]
fn reading_persisted_data_through_sql_views() {
    // A persisted frame used as a table in further API calls keeps working under both
    // schedulers and with the optimizer off.
    let root = repo_root();
    for optimize in [true, false] {
        let ctx = SessionContext::with_config(SessionConfig::new().with_optimizer(optimize));
        let nation = ctx
            .read_parquet(&root.join("datasets/tpch-sf0.01/nation").to_string_lossy())
            .and_then(|d| d.persist())
            .expect("persist");
        let by_region = nation
            .groupby(&["n_regionkey"])
            .and_then(|g| g.agg(vec![count_star().alias("n")]))
            .and_then(|d| d.collect())
            .expect("agg");
        assert_eq!(
            sorted(format_rows(&by_region)),
            (0..5)
                .map(|r| vec![r.to_string(), "5".to_string()])
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn read_options_select_filter_and_type_columns() {
    let root = repo_root();
    let dir = root.join("datasets/tpch-sf0.01/orders");
    let ctx = SessionContext::new();
    let df = ctx
        .read_parquet_with(
            &dir.to_string_lossy(),
            rask::ReadOptions::new()
                .columns(["o_orderkey", "o_orderstatus"])
                .filter(col("o_orderkey").lt(lit(100i64)))
                .dtypes([("o_orderkey", DataType::Int32)]),
        )
        .expect("read_parquet_with");
    assert_eq!(df.columns(), vec!["o_orderkey", "o_orderstatus"]);
    assert_eq!(df.schema().field(0).data_type(), &DataType::Int32);
    let got = df
        .groupby(&["o_orderstatus"])
        .and_then(|g| g.agg(vec![count_star().alias("n")]))
        .and_then(|d| d.collect())
        .expect("agg");
    // The same question through SQL over the same files.
    let sql = ctx
        .sql(&format!(
            "SELECT o_orderstatus, count(*) AS n FROM read_parquet('{}') \
             WHERE o_orderkey < 100 GROUP BY o_orderstatus",
            dir.to_string_lossy()
        ))
        .and_then(|d| d.collect())
        .expect("sql");
    assert_eq!(sorted(format_rows(&got)), sorted(format_rows(&sql)));
    let err = ctx
        .read_parquet_with(
            &dir.to_string_lossy(),
            rask::ReadOptions::new().columns(["nope"]),
        )
        .expect_err("unknown column")
        .to_string();
    assert!(err.contains("no column 'nope'"), "{err}");
    let err = ctx
        .read_parquet_with(
            &dir.to_string_lossy(),
            rask::ReadOptions::new().delimiter(b'|'),
        )
        .expect_err("csv option")
        .to_string();
    assert!(err.contains("CSV files only"), "{err}");

    // CSV with a dialect, types and hive directories.
    let tmp = tempfile::tempdir().expect("tempdir");
    for (year, rows) in [(2023, "1|a|1.5\n2|b|\n"), (2024, "3|c|4\n")] {
        let d = tmp.path().join(format!("year={year}"));
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("part.csv"), format!("id|s|x\n{rows}")).expect("write");
    }
    let path = tmp.path().to_string_lossy().to_string();
    let all = ctx
        .read_csv_with(
            &path,
            rask::ReadOptions::new()
                .delimiter(b'|')
                .dtypes([("id", DataType::Int32)]),
        )
        .expect("read_csv_with");
    assert_eq!(all.columns(), vec!["id", "s", "x", "year"]);
    assert_eq!(all.schema().field(0).data_type(), &DataType::Int32);
    let recent = ctx
        .read_csv_with(
            &path,
            rask::ReadOptions::new()
                .delimiter(b'|')
                .filter(col("year").eq(lit(2024i64))),
        )
        .and_then(|d| d.collect())
        .expect("filtered");
    assert_eq!(format_rows(&recent), vec![vec!["3", "c", "4", "2024"]]);
    let no_hive = ctx
        .read_csv_with(
            &path,
            rask::ReadOptions::new()
                .delimiter(b'|')
                .hive_partitioning(false),
        )
        .expect("no hive");
    assert_eq!(no_hive.columns(), vec!["id", "s", "x"]);
    assert_eq!(no_hive.count().expect("count"), 3);
}
