//! Integration tests of rask-exec's operators and executor through the public API.
//!
//! Every test builds small data with a fixed-seed LCG, runs a physical plan under several
//! scheduler set-ups and compares the output with a naive reference computed here.

use std::cmp::Ordering as CmpOrdering;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, SchemaRef};
use rask_common::{Error, Result, ScalarValue, Scheduler, SessionConfig};
use rask_exec::filter::FilterExec;
use rask_exec::limit::LimitExec;
use rask_exec::projection::ProjectionExec;
use rask_exec::sort::{PhysicalSortExpr, SortExec};
use rask_exec::{
    BatchIter, DataSource, Executor, MemoryPool, MemorySource, Morsel, MorselRef, PhysicalExpr,
    PhysicalPlan, StreamOperator, TaskContext,
};
use rask_expr::Operator;

// ---------------------------------------------------------------------------------------------
// Data generation
// ---------------------------------------------------------------------------------------------

/// A fixed-seed linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn new(seed: u64) -> Self {
        Lcg(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `pct` percent.
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }
}

/// One row of the test table `(k1, k2, s, id)`.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    k1: Option<i64>,
    k2: Option<i32>,
    s: Option<String>,
    /// The row's position in the whole input (unique, never NULL).
    id: i64,
}

const K1: usize = 0;
const K2: usize = 1;
const S: usize = 2;
const ID: usize = 3;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k1", DataType::Int64, true),
        Field::new("k2", DataType::Int32, true),
        Field::new("s", DataType::Utf8, true),
        Field::new("id", DataType::Int64, false),
    ]))
}

fn batch_of(rows: &[Row]) -> RecordBatch {
    let k1: Int64Array = rows.iter().map(|r| r.k1).collect();
    let k2: Int32Array = rows.iter().map(|r| r.k2).collect();
    let s: StringArray = rows.iter().map(|r| r.s.as_deref()).collect();
    let id: Int64Array = rows.iter().map(|r| Some(r.id)).collect();
    let cols: Vec<ArrayRef> = vec![Arc::new(k1), Arc::new(k2), Arc::new(s), Arc::new(id)];
    RecordBatch::try_new(schema(), cols).expect("valid batch")
}

/// Shape of generated data.
#[derive(Clone, Copy)]
struct Shape {
    partitions: usize,
    /// Batches per partition are `1..=max_batches`.
    max_batches: usize,
    /// Rows per batch are `0..=max_rows` (the first batch of a partition has at least one).
    max_rows: usize,
    /// Distinct values of `k1` (few values give many ties).
    k1_values: u64,
    /// Percent of NULLs in each nullable column.
    null_pct: u64,
}

impl Shape {
    fn small() -> Self {
        Shape {
            partitions: 5,
            max_batches: 9,
            max_rows: 13,
            k1_values: 6,
            null_pct: 15,
        }
    }
}

/// Partitions of batches with ids `0..n` in partition/batch order.
fn gen_partitions(seed: u64, shape: Shape) -> Vec<Vec<RecordBatch>> {
    let mut rng = Lcg::new(seed);
    let words = ["a", "b", "c", "dd", "e", "ff"];
    let mut id = 0;
    let mut parts = Vec::new();
    for _ in 0..shape.partitions {
        let nb = 1 + rng.below(shape.max_batches as u64) as usize;
        let mut batches = Vec::new();
        for b in 0..nb {
            let mut nr = rng.below(shape.max_rows as u64 + 1) as usize;
            if b == 0 {
                nr = nr.max(1);
            }
            let rows: Vec<Row> = (0..nr)
                .map(|_| {
                    let k1 =
                        (!rng.chance(shape.null_pct)).then(|| rng.below(shape.k1_values) as i64);
                    let k2 = (!rng.chance(shape.null_pct)).then(|| rng.below(7) as i32 - 3);
                    let s = (!rng.chance(shape.null_pct))
                        .then(|| words[rng.below(words.len() as u64) as usize].to_string());
                    let r = Row { k1, k2, s, id };
                    id += 1;
                    r
                })
                .collect();
            batches.push(batch_of(&rows));
        }
        parts.push(batches);
    }
    parts
}

/// `n` rows in one partition of `batch_rows`-row batches (slices of one big batch).
fn gen_rows(seed: u64, n: usize, batch_rows: usize, k1_values: u64) -> Vec<Vec<RecordBatch>> {
    let mut rng = Lcg::new(seed);
    let words = ["x", "y", "z"];
    let rows: Vec<Row> = (0..n as i64)
        .map(|id| Row {
            k1: (!rng.chance(10)).then(|| rng.below(k1_values) as i64),
            k2: (!rng.chance(10)).then(|| rng.below(7) as i32 - 3),
            s: (!rng.chance(10)).then(|| words[rng.below(3) as usize].to_string()),
            id,
        })
        .collect();
    let big = batch_of(&rows);
    let mut out = Vec::new();
    let mut off = 0;
    while off < n {
        let len = batch_rows.min(n - off);
        out.push(big.slice(off, len));
        off += len;
    }
    vec![out]
}

fn rows_of(batches: &[RecordBatch]) -> Vec<Row> {
    let mut out = Vec::new();
    for b in batches {
        assert_eq!(
            b.schema().fields().len(),
            4,
            "unexpected schema {:?}",
            b.schema()
        );
        let k1 = b.column(K1).as_primitive::<Int64Type>();
        let k2 = b.column(K2).as_primitive::<Int32Type>();
        let s = b.column(S).as_string::<i32>();
        let id = b.column(ID).as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            out.push(Row {
                k1: k1.is_valid(i).then(|| k1.value(i)),
                k2: k2.is_valid(i).then(|| k2.value(i)),
                s: s.is_valid(i).then(|| s.value(i).to_string()),
                id: id.value(i),
            });
        }
    }
    out
}

fn all_rows(parts: &[Vec<RecordBatch>]) -> Vec<Row> {
    parts.iter().flat_map(|p| rows_of(p)).collect()
}

fn ids(rows: &[Row]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

fn num_rows(batches: &[RecordBatch]) -> usize {
    batches.iter().map(|b| b.num_rows()).sum()
}

// ---------------------------------------------------------------------------------------------
// Plans and set-ups
// ---------------------------------------------------------------------------------------------

/// The scheduler set-ups every result must agree across.
fn setups() -> Vec<(&'static str, SessionConfig)> {
    vec![
        ("threads=1", SessionConfig::new().with_threads(1)),
        ("threads=4", SessionConfig::new().with_threads(4)),
        (
            "single-threaded",
            SessionConfig::new()
                .with_threads(4)
                .with_scheduler(Scheduler::SingleThreaded),
        ),
        (
            "threads=4,batch=3",
            SessionConfig::new().with_threads(4).with_batch_size(3),
        ),
        // Every spillable operator goes external at once.
        (
            "threads=4,force-spill",
            SessionConfig::new().with_threads(4).with_force_spill(true),
        ),
        (
            "single-threaded,batch=3,force-spill",
            SessionConfig::new()
                .with_scheduler(Scheduler::SingleThreaded)
                .with_batch_size(3)
                .with_force_spill(true),
        ),
    ]
}

fn single_threaded() -> SessionConfig {
    SessionConfig::new().with_scheduler(Scheduler::SingleThreaded)
}

/// Set-ups whose answers are deterministic: single-threaded, in memory and external.
fn deterministic_setups() -> Vec<SessionConfig> {
    vec![
        single_threaded(),
        single_threaded().with_force_spill(true),
        single_threaded().with_force_spill(true).with_batch_size(7),
    ]
}

fn source(parts: Vec<Vec<RecordBatch>>) -> PhysicalPlan {
    PhysicalPlan::Source(Arc::new(MemorySource::new(schema(), parts)))
}

fn stream(input: PhysicalPlan, op: impl StreamOperator + 'static) -> PhysicalPlan {
    PhysicalPlan::Stream {
        input: Box::new(input),
        op: Arc::new(op),
    }
}

fn sink(input: PhysicalPlan, s: impl rask_exec::Sink + 'static) -> PhysicalPlan {
    PhysicalPlan::Sink {
        input: Box::new(input),
        sink: Arc::new(s),
    }
}

fn collect(cfg: &SessionConfig, plan: &PhysicalPlan) -> Result<Vec<RecordBatch>> {
    Executor::new(TaskContext::new(cfg.clone())).collect(plan)
}

fn col(i: usize) -> PhysicalExpr {
    PhysicalExpr::Column(i)
}

fn lit_i64(v: i64) -> PhysicalExpr {
    PhysicalExpr::Literal(ScalarValue::Int64(Some(v)))
}

fn binary(l: PhysicalExpr, op: Operator, r: PhysicalExpr) -> PhysicalExpr {
    PhysicalExpr::Binary {
        left: Box::new(l),
        op,
        right: Box::new(r),
    }
}

fn opts(descending: bool, nulls_first: bool) -> SortOptions {
    SortOptions {
        descending,
        nulls_first,
    }
}

fn key(i: usize, o: SortOptions) -> PhysicalSortExpr {
    PhysicalSortExpr {
        expr: col(i),
        options: o,
    }
}

// ---------------------------------------------------------------------------------------------
// Reference implementations
// ---------------------------------------------------------------------------------------------

/// SQL ordering of two nullable values: NULL placement does not flip with DESC.
fn cmp_opt<T: Ord>(a: &Option<T>, b: &Option<T>, o: SortOptions) -> CmpOrdering {
    match (a, b) {
        (None, None) => CmpOrdering::Equal,
        (None, Some(_)) => {
            if o.nulls_first {
                CmpOrdering::Less
            } else {
                CmpOrdering::Greater
            }
        }
        (Some(_), None) => {
            if o.nulls_first {
                CmpOrdering::Greater
            } else {
                CmpOrdering::Less
            }
        }
        (Some(x), Some(y)) => {
            let c = x.cmp(y);
            if o.descending {
                c.reverse()
            } else {
                c
            }
        }
    }
}

fn cmp_col(a: &Row, b: &Row, c: usize, o: SortOptions) -> CmpOrdering {
    match c {
        K1 => cmp_opt(&a.k1, &b.k1, o),
        K2 => cmp_opt(&a.k2, &b.k2, o),
        S => cmp_opt(&a.s, &b.s, o),
        ID => cmp_opt(&Some(a.id), &Some(b.id), o),
        _ => unreachable!(),
    }
}

fn cmp_keys(a: &Row, b: &Row, keys: &[(usize, SortOptions)]) -> CmpOrdering {
    keys.iter()
        .map(|&(c, o)| cmp_col(a, b, c, o))
        .find(|c| c.is_ne())
        .unwrap_or(CmpOrdering::Equal)
}

/// A stable sort of `rows` by `keys`, truncated to `fetch`.
fn reference_sort(rows: &[Row], keys: &[(usize, SortOptions)], fetch: Option<usize>) -> Vec<Row> {
    let mut v = rows.to_vec();
    v.sort_by(|a, b| cmp_keys(a, b, keys));
    if let Some(f) = fetch {
        v.truncate(f);
    }
    v
}

fn sort_plan(
    parts: Vec<Vec<RecordBatch>>,
    keys: &[(usize, SortOptions)],
    fetch: Option<usize>,
) -> PhysicalPlan {
    let keys = keys.iter().map(|&(c, o)| key(c, o)).collect();
    sink(source(parts), SortExec::new(keys, fetch, schema()))
}

/// Checks that `got` is ordered like `expected` on the keys (ties may be in any order) and
/// that every output row is an input row, each at most once.
fn assert_sorted_like(
    what: &str,
    got: &[Row],
    expected: &[Row],
    input: &[Row],
    keys: &[(usize, SortOptions)],
) {
    assert_eq!(got.len(), expected.len(), "{what}: row count");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert_eq!(
            cmp_keys(g, e, keys),
            CmpOrdering::Equal,
            "{what}: key at output row {i}: got {g:?}, expected keys of {e:?}"
        );
    }
    let mut seen = vec![false; input.len()];
    for g in got {
        let i = usize::try_from(g.id).expect("id");
        assert!(!seen[i], "{what}: row {} emitted twice", g.id);
        seen[i] = true;
        assert_eq!(g, &input[i], "{what}: row {} altered", g.id);
    }
}

// ---------------------------------------------------------------------------------------------
// SortExec
// ---------------------------------------------------------------------------------------------

const ALL_OPTIONS: [SortOptions; 4] = [
    SortOptions {
        descending: false,
        nulls_first: false,
    },
    SortOptions {
        descending: false,
        nulls_first: true,
    },
    SortOptions {
        descending: true,
        nulls_first: false,
    },
    SortOptions {
        descending: true,
        nulls_first: true,
    },
];

#[test]
fn sort_single_key_every_direction_and_null_placement() {
    for (seed, c) in [(1, K1), (2, K2), (3, S)] {
        let parts = gen_partitions(seed, Shape::small());
        let input = all_rows(&parts);
        for o in ALL_OPTIONS {
            let keys = [(c, o)];
            let expected = reference_sort(&input, &keys, None);
            for (name, cfg) in setups() {
                let out = collect(&cfg, &sort_plan(parts.clone(), &keys, None)).unwrap();
                let what = format!("column {c} {o:?} {name}");
                assert_sorted_like(&what, &rows_of(&out), &expected, &input, &keys);
            }
        }
    }
}

#[test]
fn sort_multi_key_mixed_directions() {
    let parts = gen_partitions(11, Shape::small());
    let input = all_rows(&parts);
    let key_sets: Vec<Vec<(usize, SortOptions)>> = vec![
        vec![(K1, opts(false, false)), (K2, opts(true, true))],
        vec![(S, opts(true, false)), (K1, opts(false, true))],
        vec![
            (K2, opts(false, true)),
            (S, opts(false, false)),
            (K1, opts(true, true)),
        ],
        // A total order: output is fully determined under every scheduler.
        vec![(K1, opts(true, false)), (ID, opts(true, false))],
    ];
    for keys in &key_sets {
        let expected = reference_sort(&input, keys, None);
        for (name, cfg) in setups() {
            let out = collect(&cfg, &sort_plan(parts.clone(), keys, None)).unwrap();
            let what = format!("keys {keys:?} {name}");
            assert_sorted_like(&what, &rows_of(&out), &expected, &input, keys);
        }
    }
    // With `id` as the last key the order is total, so rows must match exactly.
    let keys = &key_sets[3];
    let expected = reference_sort(&input, keys, None);
    for (name, cfg) in setups() {
        let out = collect(&cfg, &sort_plan(parts.clone(), keys, None)).unwrap();
        assert_eq!(rows_of(&out), expected, "{name}");
    }
}

#[test]
fn sort_by_an_expression_key() {
    // ORDER BY -k1 ASC NULLS LAST == ORDER BY k1 DESC NULLS LAST on the key values.
    let parts = gen_partitions(5, Shape::small());
    let input = all_rows(&parts);
    let neg = PhysicalSortExpr {
        expr: PhysicalExpr::Negative(Box::new(col(K1))),
        options: opts(false, false),
    };
    let plan = sink(
        source(parts),
        SortExec::new(vec![neg, key(ID, opts(false, false))], None, schema()),
    );
    let keys = [(K1, opts(true, false)), (ID, opts(false, false))];
    let expected = reference_sort(&input, &keys, None);
    for (name, cfg) in setups() {
        assert_eq!(rows_of(&collect(&cfg, &plan).unwrap()), expected, "{name}");
    }
}

#[test]
fn sort_output_batches_respect_batch_size() {
    let parts = gen_partitions(8, Shape::small());
    let n = all_rows(&parts).len();
    for bs in [1, 3, 64, 100_000] {
        let cfg = SessionConfig::new().with_threads(4).with_batch_size(bs);
        let out = collect(
            &cfg,
            &sort_plan(parts.clone(), &[(K1, opts(false, true))], None),
        )
        .unwrap();
        assert_eq!(num_rows(&out), n);
        assert!(out.iter().all(|b| b.num_rows() <= bs && b.num_rows() > 0));
        assert_eq!(out.len(), n.div_ceil(bs), "batch size {bs}");
        assert!(out.iter().all(|b| b.schema() == schema()));
    }
}

#[test]
fn sort_of_empty_input_is_empty() {
    let empty = vec![vec![batch_of(&[])], vec![]];
    for (name, cfg) in setups() {
        for fetch in [None, Some(0), Some(3)] {
            let plan = sort_plan(empty.clone(), &[(K1, opts(false, false))], fetch);
            let out = collect(&cfg, &plan).unwrap();
            assert_eq!(num_rows(&out), 0, "{name} {fetch:?}");
        }
        let plan = sort_plan(vec![], &[(K1, opts(false, false))], None);
        assert_eq!(
            num_rows(&collect(&cfg, &plan).unwrap()),
            0,
            "{name}, no partitions"
        );
    }
}

#[test]
fn sort_top_k_fetch_smaller_and_larger_than_input() {
    // 10_000 rows make every worker cross the Top-K compaction threshold (2 * max(fetch, 1024)).
    let n = 10_000;
    let parts = gen_rows(21, n, 97, 50);
    let input = all_rows(&parts);
    assert_eq!(input.len(), n);
    let key_sets: Vec<Vec<(usize, SortOptions)>> = vec![
        vec![(K1, opts(false, true))],
        vec![(K1, opts(true, false))],
        vec![(K1, opts(true, true)), (K2, opts(false, false))],
        vec![
            (S, opts(false, true)),
            (K2, opts(true, true)),
            (K1, opts(false, false)),
        ],
    ];
    for keys in &key_sets {
        for fetch in [0, 1, 7, 100, 1024, 3000, n - 1, n, n + 1, 5 * n] {
            let expected = reference_sort(&input, keys, Some(fetch));
            for (name, cfg) in setups() {
                let out = collect(&cfg, &sort_plan(parts.clone(), keys, Some(fetch))).unwrap();
                let what = format!("keys {keys:?} fetch {fetch} {name}");
                assert_sorted_like(&what, &rows_of(&out), &expected, &input, keys);
            }
        }
    }
}

#[test]
fn sort_top_k_with_total_order_is_exact() {
    let n = 6_000;
    let parts = gen_rows(22, n, 50, 20);
    let input = all_rows(&parts);
    let keys = [(K2, opts(true, true)), (ID, opts(false, false))];
    for fetch in [1, 10, 2_500, n, n + 10] {
        let expected = reference_sort(&input, &keys, Some(fetch));
        for (name, cfg) in setups() {
            let out = collect(&cfg, &sort_plan(parts.clone(), &keys, Some(fetch))).unwrap();
            assert_eq!(rows_of(&out), expected, "fetch {fetch} {name}");
        }
    }
}

#[test]
fn sort_multi_key_ties_keep_input_order_single_threaded() {
    // Only 3 distinct (k1, k2) pairs among hundreds of rows: lots of ties.
    let parts = gen_partitions(
        31,
        Shape {
            partitions: 4,
            max_batches: 8,
            max_rows: 30,
            k1_values: 3,
            null_pct: 20,
        },
    );
    let input = all_rows(&parts);
    let keys = [(K1, opts(false, true)), (S, opts(true, false))];
    let expected = reference_sort(&input, &keys, None);
    for cfg in deterministic_setups() {
        let out = collect(&cfg, &sort_plan(parts.clone(), &keys, None)).unwrap();
        assert_eq!(ids(&rows_of(&out)), ids(&expected), "{cfg:?}");
    }
}

#[test]
fn sort_single_key_ties_keep_input_order_single_threaded() {
    let parts = gen_partitions(
        32,
        Shape {
            partitions: 4,
            max_batches: 8,
            max_rows: 30,
            k1_values: 3,
            null_pct: 20,
        },
    );
    let input = all_rows(&parts);
    for o in ALL_OPTIONS {
        let keys = [(K1, o)];
        let expected = reference_sort(&input, &keys, None);
        for cfg in deterministic_setups() {
            let out = collect(&cfg, &sort_plan(parts.clone(), &keys, None)).unwrap();
            assert_eq!(ids(&rows_of(&out)), ids(&expected), "{o:?} {cfg:?}");
        }
    }
}

#[test]
fn sort_multi_key_top_k_ties_keep_input_order_single_threaded() {
    let n = 5_000;
    let parts = gen_rows(33, n, 64, 3);
    let input = all_rows(&parts);
    let keys = [(K1, opts(false, true)), (K2, opts(false, true))];
    for fetch in [5, 50, 700, 2_500] {
        let expected = reference_sort(&input, &keys, Some(fetch));
        for cfg in deterministic_setups() {
            let out = collect(&cfg, &sort_plan(parts.clone(), &keys, Some(fetch))).unwrap();
            assert_eq!(ids(&rows_of(&out)), ids(&expected), "fetch {fetch} {cfg:?}");
        }
    }
}

#[test]
fn sort_top_k_huge_fetch_returns_everything() {
    let parts = gen_rows(34, 3_000, 100, 10);
    let input = all_rows(&parts);
    let keys = [(K1, opts(false, false)), (ID, opts(false, false))];
    let expected = reference_sort(&input, &keys, None);
    let out = collect(
        &single_threaded(),
        &sort_plan(parts, &keys, Some(usize::MAX)),
    )
    .unwrap();
    assert_eq!(rows_of(&out), expected);
}

/// Runs `plan` with `cfg` on a pool of `limit` bytes of which a "memory thief" holds `stolen`;
/// returns the output and the number of spill files written. The spill directory is checked
/// to be gone afterwards.
fn collect_spilling(
    cfg: &SessionConfig,
    plan: &PhysicalPlan,
    limit: usize,
    stolen: usize,
) -> Result<(Vec<RecordBatch>, usize)> {
    let root = tempfile::tempdir().expect("temp dir");
    let cfg = cfg
        .clone()
        .with_memory_limit(limit)
        .with_spill_dir(root.path());
    let ctx = TaskContext::new(cfg);
    let mut thief = ctx.pool.reservation("thief");
    thief.try_grow(stolen)?;
    let out = Executor::new(ctx.clone()).collect(plan);
    let spills = ctx.spill.metrics().spill_count();
    drop(ctx);
    let left = std::fs::read_dir(root.path()).map_or(0, |d| d.count());
    assert_eq!(left, 0, "the spill directory is removed");
    out.map(|o| (o, spills))
}

#[test]
fn sort_spills_under_a_small_limit_with_the_same_answer() {
    let parts = gen_rows(35, 20_000, 500, 50);
    let input = all_rows(&parts);
    let keys = [(K1, opts(false, true)), (S, opts(true, false))];
    for fetch in [None, Some(15_000)] {
        let expected = reference_sort(&input, &keys, fetch);
        for cfg in [single_threaded(), SessionConfig::new().with_threads(4)] {
            // 300 KB of 4 MB left by the thief: the sort must go external.
            let (out, spills) = collect_spilling(
                &cfg,
                &sort_plan(parts.clone(), &keys, fetch),
                4 << 20,
                3_900_000,
            )
            .unwrap();
            assert!(spills > 1, "the sort spilled ({spills} files)");
            assert_sorted_like("spilled sort", &rows_of(&out), &expected, &input, &keys);
            if cfg.effective_threads() == 1 {
                assert_eq!(ids(&rows_of(&out)), ids(&expected), "stable when spilled");
            }
        }
    }
}

#[test]
fn sort_that_cannot_hold_one_batch_fails_clearly() {
    let parts = gen_rows(36, 2_000, 1_000, 50);
    let keys = [(K1, opts(false, true))];
    let err = collect_spilling(&single_threaded(), &sort_plan(parts, &keys, None), 1_000, 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Resources exhausted") && err.contains("SortExec"),
        "{err}"
    );
}

#[test]
fn sort_describe_names_keys_and_fetch() {
    let s = SortExec::new(
        vec![key(K1, opts(true, false)), key(S, opts(false, true))],
        Some(5),
        schema(),
    );
    let d = rask_exec::Sink::describe(&s);
    assert!(d.contains("TopK(fetch=5)"), "{d}");
    assert!(d.contains("DESC NULLS LAST"), "{d}");
    assert!(d.contains("ASC NULLS FIRST"), "{d}");
}

// ---------------------------------------------------------------------------------------------
// LimitExec
// ---------------------------------------------------------------------------------------------

fn limit_plan(input: PhysicalPlan, skip: usize, fetch: Option<usize>) -> PhysicalPlan {
    sink(input, LimitExec::new(skip, fetch, schema()))
}

#[test]
fn limit_skip_and_fetch_across_many_morsels_and_partitions() {
    let parts = gen_partitions(
        41,
        Shape {
            partitions: 7,
            max_batches: 11,
            max_rows: 9,
            k1_values: 5,
            null_pct: 10,
        },
    );
    let input = all_rows(&parts);
    let n = input.len();
    assert!(n > 60, "enough rows for the test: {n}");
    let skips = [0, 1, 3, 17, n / 2, n - 1, n, n + 5];
    let fetches = [
        None,
        Some(0),
        Some(1),
        Some(5),
        Some(23),
        Some(n - 1),
        Some(n),
        Some(n + 10),
    ];
    for skip in skips {
        for fetch in fetches {
            let start = skip.min(n);
            let end = fetch.map_or(n, |f| (start + f).min(n));
            let expected = &input[start..end];
            for (name, cfg) in setups() {
                let plan = limit_plan(source(parts.clone()), skip, fetch);
                let out = collect(&cfg, &plan).unwrap();
                assert_eq!(
                    rows_of(&out),
                    expected,
                    "skip {skip} fetch {fetch:?} {name}"
                );
            }
        }
    }
}

#[test]
fn limit_fetch_zero_is_empty() {
    let parts = gen_partitions(42, Shape::small());
    for (name, cfg) in setups() {
        for skip in [0, 4] {
            let out = collect(&cfg, &limit_plan(source(parts.clone()), skip, Some(0))).unwrap();
            assert_eq!(num_rows(&out), 0, "{name} skip {skip}");
        }
    }
}

/// Counts the batches it lets through.
#[derive(Debug)]
struct CountingOp {
    batches: Arc<AtomicUsize>,
}

impl StreamOperator for CountingOp {
    fn execute(&self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        self.batches.fetch_add(1, Ordering::Relaxed);
        Ok(Some(batch))
    }
    fn describe(&self) -> String {
        "CountingOp".into()
    }
}

/// 400 one-batch partitions of 10 rows each, ids `0..4000`.
fn many_small_partitions() -> Vec<Vec<RecordBatch>> {
    let rows: Vec<Row> = (0..4000)
        .map(|i| Row {
            k1: Some(i % 7),
            k2: None,
            s: None,
            id: i,
        })
        .collect();
    rows.chunks(10).map(|c| vec![batch_of(c)]).collect()
}

#[test]
fn limit_stops_pulling_morsels_once_it_has_enough() {
    let parts = many_small_partitions();
    let total_batches = parts.len();
    for (name, cfg) in setups() {
        for (skip, fetch) in [(0, 5), (3, 10), (15, 1)] {
            let counter = Arc::new(AtomicUsize::new(0));
            let plan = limit_plan(
                stream(
                    source(parts.clone()),
                    CountingOp {
                        batches: Arc::clone(&counter),
                    },
                ),
                skip,
                Some(fetch),
            );
            let out = collect(&cfg, &plan).unwrap();
            let got = ids(&rows_of(&out));
            let expected: Vec<i64> = (skip as i64..(skip + fetch) as i64).collect();
            assert_eq!(got, expected, "{name}");
            let pulled = counter.load(Ordering::Relaxed);
            if cfg.effective_threads() == 1 {
                // One worker: it stops right after the item that reached skip + fetch rows.
                assert_eq!(pulled, (skip + fetch).div_ceil(10), "{name} skip {skip}");
            } else {
                assert!(
                    pulled < total_batches / 2,
                    "{name}: pulled {pulled} of {total_batches} batches"
                );
            }
        }
    }
}

#[test]
fn limit_without_fetch_does_not_stop_early() {
    let parts = many_small_partitions();
    for (name, cfg) in setups() {
        let counter = Arc::new(AtomicUsize::new(0));
        let plan = limit_plan(
            stream(
                source(parts.clone()),
                CountingOp {
                    batches: Arc::clone(&counter),
                },
            ),
            3995,
            None,
        );
        let out = collect(&cfg, &plan).unwrap();
        assert_eq!(
            ids(&rows_of(&out)),
            (3995..4000).collect::<Vec<i64>>(),
            "{name}"
        );
        assert_eq!(counter.load(Ordering::Relaxed), parts.len(), "{name}");
    }
}

#[test]
fn limit_after_a_filter_that_drops_rows() {
    // k1 = 3 keeps every 7th row; the limit counts kept rows only.
    let parts = many_small_partitions();
    let pred = binary(col(K1), Operator::Eq, lit_i64(3));
    let expected: Vec<i64> = (0..4000).filter(|i| i % 7 == 3).skip(4).take(30).collect();
    for (name, cfg) in setups() {
        let plan = limit_plan(
            stream(
                source(parts.clone()),
                FilterExec::new(pred.clone(), "k1 = 3".into()),
            ),
            4,
            Some(30),
        );
        assert_eq!(
            ids(&rows_of(&collect(&cfg, &plan).unwrap())),
            expected,
            "{name}"
        );
    }
}

#[test]
fn limit_plan_can_run_twice() {
    let parts = gen_partitions(43, Shape::small());
    let input = all_rows(&parts);
    let plan = limit_plan(source(parts), 2, Some(9));
    for (name, cfg) in setups() {
        let ex = Executor::new(TaskContext::new(cfg));
        for run in 0..3 {
            let out = ex.collect(&plan).unwrap();
            assert_eq!(rows_of(&out), input[2..11], "{name} run {run}");
        }
    }
}

#[test]
fn order_by_then_limit_offset() {
    let parts = gen_partitions(44, Shape::small());
    let input = all_rows(&parts);
    let keys = [(S, opts(true, true)), (ID, opts(false, false))];
    let expected = reference_sort(&input, &keys, None);
    for (name, cfg) in setups() {
        for (skip, fetch) in [(0, Some(10)), (5, Some(7)), (12, None), (0, Some(0))] {
            let sorted = sort_plan(parts.clone(), &keys, fetch.map(|f| f + skip));
            let plan = limit_plan(sorted, skip, fetch);
            let end = fetch.map_or(expected.len(), |f| (skip + f).min(expected.len()));
            assert_eq!(
                rows_of(&collect(&cfg, &plan).unwrap()),
                expected[skip..end],
                "{name} skip {skip} fetch {fetch:?}"
            );
        }
    }
}

#[test]
fn limit_huge_fetch_with_offset() {
    let parts = gen_partitions(45, Shape::small());
    let input = all_rows(&parts);
    let out = collect(
        &single_threaded(),
        &limit_plan(source(parts), 3, Some(usize::MAX)),
    )
    .unwrap();
    assert_eq!(rows_of(&out), input[3..]);
}

// ---------------------------------------------------------------------------------------------
// FilterExec
// ---------------------------------------------------------------------------------------------

fn filter_plan(parts: Vec<Vec<RecordBatch>>, pred: PhysicalExpr) -> PhysicalPlan {
    stream(
        source(parts),
        FilterExec::new(pred, "test predicate".into()),
    )
}

/// The reference of a filter predicate: whether it is TRUE for a row.
type RowPredicate = Box<dyn Fn(&Row) -> bool>;

#[test]
fn filter_drops_null_and_false_rows() {
    let parts = gen_partitions(51, Shape::small());
    let input = all_rows(&parts);
    assert!(
        input.iter().any(|r| r.k1.is_none()),
        "test data has NULL keys"
    );
    let gt = binary(col(K1), Operator::Gt, lit_i64(2));
    let not_gt = PhysicalExpr::Not(Box::new(gt.clone()));
    let is_null = PhysicalExpr::IsNull(Box::new(col(K1)), false);
    // k1 > 2 AND k2 < 1: NULL when either side is NULL (unless the other is FALSE).
    let and = binary(
        gt.clone(),
        Operator::And,
        binary(
            col(K2),
            Operator::Lt,
            PhysicalExpr::Literal(ScalarValue::Int32(Some(1))),
        ),
    );
    let cases: Vec<(&str, PhysicalExpr, RowPredicate)> = vec![
        ("k1 > 2", gt, Box::new(|r| r.k1.is_some_and(|v| v > 2))),
        (
            "NOT k1 > 2",
            not_gt,
            Box::new(|r| r.k1.is_some_and(|v| v <= 2)),
        ),
        ("k1 IS NULL", is_null, Box::new(|r| r.k1.is_none())),
        (
            "k1 > 2 AND k2 < 1",
            and,
            Box::new(|r| r.k1.is_some_and(|v| v > 2) && r.k2.is_some_and(|v| v < 1)),
        ),
    ];
    for (what, pred, reference) in &cases {
        let expected: Vec<Row> = input.iter().filter(|r| reference(r)).cloned().collect();
        for (name, cfg) in setups() {
            let out = collect(&cfg, &filter_plan(parts.clone(), pred.clone())).unwrap();
            assert_eq!(rows_of(&out), expected, "{what} {name}");
        }
    }
}

#[test]
fn filter_all_kept_or_none_kept() {
    let parts = gen_partitions(52, Shape::small());
    let input = all_rows(&parts);
    let keep_all: Vec<PhysicalExpr> = vec![
        PhysicalExpr::Literal(ScalarValue::Boolean(Some(true))),
        binary(col(ID), Operator::GtEq, lit_i64(0)),
    ];
    let keep_none: Vec<PhysicalExpr> = vec![
        PhysicalExpr::Literal(ScalarValue::Boolean(Some(false))),
        PhysicalExpr::Literal(ScalarValue::Boolean(None)),
        PhysicalExpr::Literal(ScalarValue::Null),
        binary(col(ID), Operator::Lt, lit_i64(0)),
        // NULL for every row.
        binary(
            col(K1),
            Operator::Gt,
            PhysicalExpr::Literal(ScalarValue::Int64(None)),
        ),
    ];
    for (name, cfg) in setups() {
        for p in &keep_all {
            let out = collect(&cfg, &filter_plan(parts.clone(), p.clone())).unwrap();
            assert_eq!(rows_of(&out), input, "{p:?} {name}");
        }
        for p in &keep_none {
            let out = collect(&cfg, &filter_plan(parts.clone(), p.clone())).unwrap();
            assert_eq!(num_rows(&out), 0, "{p:?} {name}");
        }
    }
}

#[test]
fn filter_execute_directly() {
    let rows: Vec<Row> = (0..6)
        .map(|i| Row {
            k1: (i % 3 != 0).then_some(i),
            k2: Some(i as i32),
            s: None,
            id: i,
        })
        .collect();
    let batch = batch_of(&rows);
    let f = FilterExec::new(binary(col(K1), Operator::Gt, lit_i64(1)), "k1 > 1".into());
    let out = f.execute(batch.clone()).unwrap().unwrap();
    assert_eq!(ids(&rows_of(&[out])), vec![2, 4, 5]);
    let none = FilterExec::new(binary(col(K1), Operator::Gt, lit_i64(100)), "x".into());
    assert!(none.execute(batch.clone()).unwrap().is_none());
    let all = FilterExec::new(binary(col(ID), Operator::Lt, lit_i64(100)), "y".into());
    assert_eq!(all.execute(batch.clone()).unwrap().unwrap(), batch);
    assert_eq!(f.describe(), "FilterExec: k1 > 1");
}

#[test]
fn filter_with_a_non_boolean_predicate_is_an_error() {
    let parts = gen_partitions(53, Shape::small());
    for (name, cfg) in setups() {
        let err = collect(&cfg, &filter_plan(parts.clone(), col(K1))).unwrap_err();
        assert!(
            matches!(err.root(), Error::Execution(m) if m.contains("Int64")),
            "{name}: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// ProjectionExec
// ---------------------------------------------------------------------------------------------

#[test]
fn projection_computes_columns_and_casts_to_the_schema() {
    let parts = gen_partitions(61, Shape::small());
    let input = all_rows(&parts);
    let out_schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("k1_plus_10", DataType::Int64, true),
        // Int32 column widened by the projection's cast.
        Field::new("k2_wide", DataType::Int64, true),
        Field::new("tag", DataType::Utf8, false),
    ]));
    let exprs = vec![
        col(ID),
        binary(col(K1), Operator::Plus, lit_i64(10)),
        col(K2),
        PhysicalExpr::Literal(ScalarValue::Utf8(Some("t".into()))),
    ];
    let proj = ProjectionExec::new(
        exprs,
        Arc::clone(&out_schema),
        "id, k1 + 10, k2, 't'".into(),
    );
    let plan = stream(source(parts), proj);
    assert_eq!(plan.schema(), out_schema);
    for (name, cfg) in setups() {
        let out = collect(&cfg, &plan).unwrap();
        assert_eq!(num_rows(&out), input.len(), "{name}");
        let mut got = Vec::new();
        for b in &out {
            assert_eq!(b.schema(), out_schema);
            let id = b.column(0).as_primitive::<Int64Type>();
            let k1 = b.column(1).as_primitive::<Int64Type>();
            let k2 = b.column(2).as_primitive::<Int64Type>();
            let tag = b.column(3).as_string::<i32>();
            for i in 0..b.num_rows() {
                got.push((
                    id.value(i),
                    k1.is_valid(i).then(|| k1.value(i)),
                    k2.is_valid(i).then(|| k2.value(i)),
                    tag.value(i).to_string(),
                ));
            }
        }
        let expected: Vec<_> = input
            .iter()
            .map(|r| {
                (
                    r.id,
                    r.k1.map(|v| v + 10),
                    r.k2.map(i64::from),
                    "t".to_string(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn projection_to_no_columns_keeps_row_counts() {
    let parts = gen_partitions(62, Shape::small());
    let n = all_rows(&parts).len();
    let empty = Arc::new(Schema::empty());
    let plan = stream(
        source(parts),
        ProjectionExec::new(vec![], Arc::clone(&empty), String::new()),
    );
    for (name, cfg) in setups() {
        let out = collect(&cfg, &plan).unwrap();
        assert!(out.iter().all(|b| b.num_columns() == 0), "{name}");
        assert_eq!(num_rows(&out), n, "{name}");
    }
}

#[test]
fn filter_then_projection_then_filter_keeps_order() {
    let parts = gen_partitions(63, Shape::small());
    let input = all_rows(&parts);
    // Reorder the columns (s, k1, k2, id) and filter on both sides of the projection.
    let reordered = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("k2", DataType::Int32, true),
        Field::new("k1", DataType::Int64, true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let back = ProjectionExec::new(
        vec![col(2), col(1), col(3), col(0)],
        schema(),
        "back".into(),
    );
    let plan = stream(
        stream(
            stream(
                filter_plan(
                    parts,
                    ne_zero(binary(col(ID), Operator::Modulo, lit_i64(3))),
                ),
                ProjectionExec::new(
                    vec![col(ID), col(K2), col(K1), col(S)],
                    reordered,
                    "reorder".into(),
                ),
            ),
            // k1 (now column 2) IS NOT NULL
            FilterExec::new(
                PhysicalExpr::IsNull(Box::new(col(2)), true),
                "k1 IS NOT NULL".into(),
            ),
        ),
        back,
    );
    let expected: Vec<Row> = input
        .iter()
        .filter(|r| r.id % 3 != 0 && r.k1.is_some())
        .cloned()
        .collect();
    for (name, cfg) in setups() {
        assert_eq!(rows_of(&collect(&cfg, &plan).unwrap()), expected, "{name}");
    }
}

fn ne_zero(e: PhysicalExpr) -> PhysicalExpr {
    binary(e, Operator::NotEq, lit_i64(0))
}

// ---------------------------------------------------------------------------------------------
// Executor
// ---------------------------------------------------------------------------------------------

#[test]
fn collect_keeps_partition_and_batch_order() {
    let parts = gen_partitions(
        71,
        Shape {
            partitions: 12,
            max_batches: 10,
            max_rows: 8,
            k1_values: 4,
            null_pct: 5,
        },
    );
    let input = all_rows(&parts);
    for (name, cfg) in setups() {
        for _ in 0..3 {
            let out = collect(&cfg, &source(parts.clone())).unwrap();
            assert_eq!(rows_of(&out), input, "{name}");
        }
    }
}

#[test]
fn collect_partitions_keeps_partitions_in_order() {
    let parts = gen_partitions(
        72,
        Shape {
            partitions: 9,
            max_batches: 10,
            max_rows: 8,
            k1_values: 4,
            null_pct: 5,
        },
    );
    for (name, cfg) in setups() {
        let ex = Executor::new(TaskContext::new(cfg));
        let out = ex.collect_partitions(&source(parts.clone())).unwrap();
        assert_eq!(out.len(), parts.len(), "{name}");
        for (i, (got, exp)) in out.iter().zip(&parts).enumerate() {
            assert_eq!(rows_of(got), rows_of(exp), "{name} partition {i}");
        }
        // Through a streaming operator too.
        let counted = stream(
            source(parts.clone()),
            CountingOp {
                batches: Arc::new(AtomicUsize::new(0)),
            },
        );
        let out = ex.collect_partitions(&counted).unwrap();
        let got: Vec<Vec<Row>> = out.iter().map(|p| rows_of(p)).collect();
        let exp: Vec<Vec<Row>> = parts.iter().map(|p| rows_of(p)).collect();
        assert_eq!(got, exp, "{name}");
    }
}

#[test]
fn union_of_sources_concatenates_in_order() {
    let a = gen_partitions(73, Shape::small());
    let b = gen_partitions(74, Shape::small());
    let c = gen_partitions(75, Shape::small());
    let mut expected = all_rows(&a);
    expected.extend(all_rows(&b));
    expected.extend(all_rows(&c));
    let plan = PhysicalPlan::Union {
        inputs: vec![
            source(a),
            // A union input may be a pipeline of its own.
            stream(
                source(b),
                CountingOp {
                    batches: Arc::new(AtomicUsize::new(0)),
                },
            ),
            source(c),
        ],
        schema: schema(),
    };
    for (name, cfg) in setups() {
        assert_eq!(rows_of(&collect(&cfg, &plan).unwrap()), expected, "{name}");
    }
    // A filter above the union applies to every input.
    let filtered = stream(
        plan,
        FilterExec::new(binary(col(K1), Operator::Eq, lit_i64(1)), "k1 = 1".into()),
    );
    let exp: Vec<Row> = expected
        .iter()
        .filter(|r| r.k1 == Some(1))
        .cloned()
        .collect();
    for (name, cfg) in setups() {
        assert_eq!(rows_of(&collect(&cfg, &filtered).unwrap()), exp, "{name}");
    }
}

#[test]
fn collect_partitions_of_a_union_keeps_each_inputs_partitions() {
    let a = gen_partitions(
        76,
        Shape {
            partitions: 1,
            ..Shape::small()
        },
    );
    let b = gen_partitions(
        77,
        Shape {
            partitions: 1,
            ..Shape::small()
        },
    );
    let plan = PhysicalPlan::Union {
        inputs: vec![source(a.clone()), source(b.clone())],
        schema: schema(),
    };
    let out = Executor::new(TaskContext::new(single_threaded()))
        .collect_partitions(&plan)
        .unwrap();
    let got: Vec<Vec<Row>> = out.iter().map(|p| rows_of(p)).collect();
    assert_eq!(got, vec![all_rows(&a), all_rows(&b)]);
}

#[test]
fn sink_output_feeds_a_second_pipeline() {
    let parts = gen_partitions(78, Shape::small());
    let input = all_rows(&parts);
    let keys = [(K2, opts(false, true)), (ID, opts(true, false))];
    // Sort, then filter and project the sorted rows, then sort again the other way and limit.
    let sorted = sort_plan(parts, &keys, None);
    let filtered = stream(
        sorted,
        FilterExec::new(
            PhysicalExpr::IsNull(Box::new(col(S)), true),
            "s IS NOT NULL".into(),
        ),
    );
    let projected = stream(
        filtered,
        ProjectionExec::new(
            vec![col(K1), col(K2), col(S), col(ID)],
            schema(),
            "all".into(),
        ),
    );
    let expected_mid: Vec<Row> = reference_sort(&input, &keys, None)
        .into_iter()
        .filter(|r| r.s.is_some())
        .collect();
    let keys2 = [(K1, opts(true, true)), (ID, opts(false, false))];
    let resorted = sink(
        projected.clone(),
        SortExec::new(
            keys2.iter().map(|&(c, o)| key(c, o)).collect(),
            None,
            schema(),
        ),
    );
    let limited = limit_plan(resorted, 3, Some(20));
    let expected_top: Vec<Row> = reference_sort(&expected_mid, &keys2, None)
        .into_iter()
        .skip(3)
        .take(20)
        .collect();
    for (name, cfg) in setups() {
        assert_eq!(
            rows_of(&collect(&cfg, &projected).unwrap()),
            expected_mid,
            "{name}"
        );
        assert_eq!(
            rows_of(&collect(&cfg, &limited).unwrap()),
            expected_top,
            "{name}"
        );
    }
}

#[test]
fn every_scheduler_gives_the_same_result() {
    let parts = gen_partitions(
        79,
        Shape {
            partitions: 16,
            max_batches: 12,
            max_rows: 40,
            k1_values: 9,
            null_pct: 12,
        },
    );
    let pred = binary(
        col(K2),
        Operator::GtEq,
        PhysicalExpr::Literal(ScalarValue::Int32(Some(-1))),
    );
    let plan = limit_plan(
        sink(
            stream(source(parts), FilterExec::new(pred, "k2 >= -1".into())),
            SortExec::new(
                vec![
                    key(S, opts(false, true)),
                    key(K1, opts(true, false)),
                    key(ID, opts(false, false)),
                ],
                Some(120),
                schema(),
            ),
        ),
        10,
        Some(100),
    );
    let baseline = rows_of(&collect(&SessionConfig::new().with_threads(1), &plan).unwrap());
    assert_eq!(baseline.len(), 100);
    for (name, cfg) in setups() {
        for _ in 0..3 {
            assert_eq!(rows_of(&collect(&cfg, &plan).unwrap()), baseline, "{name}");
        }
    }
}

#[test]
fn more_threads_than_morsels_and_empty_sources() {
    let parts = gen_partitions(
        80,
        Shape {
            partitions: 1,
            max_batches: 1,
            max_rows: 5,
            k1_values: 3,
            null_pct: 0,
        },
    );
    let input = all_rows(&parts);
    let cfg = SessionConfig::new().with_threads(64);
    assert_eq!(rows_of(&collect(&cfg, &source(parts)).unwrap()), input);
    for (name, cfg) in setups() {
        assert!(collect(&cfg, &source(vec![])).unwrap().is_empty(), "{name}");
        let ex = Executor::new(TaskContext::new(cfg));
        assert!(
            ex.collect_partitions(&source(vec![])).unwrap().is_empty(),
            "{name}"
        );
    }
}

/// Fails on the batch whose first row has id `fail_at`, counting the batches it saw.
#[derive(Debug)]
struct FailingOp {
    fail_at: i64,
    seen: Arc<AtomicUsize>,
}

impl StreamOperator for FailingOp {
    fn execute(&self, batch: RecordBatch) -> Result<Option<RecordBatch>> {
        self.seen.fetch_add(1, Ordering::Relaxed);
        let id = batch.column(ID).as_primitive::<Int64Type>();
        if id.values().contains(&self.fail_at) {
            return Err(Error::Execution(format!("boom at id {}", self.fail_at)));
        }
        Ok(Some(batch))
    }
    fn describe(&self) -> String {
        "FailingOp".into()
    }
}

#[test]
fn an_error_in_one_worker_fails_the_run() {
    let parts = many_small_partitions();
    for (name, cfg) in setups() {
        for fail_at in [0, 1234, 3999] {
            let seen = Arc::new(AtomicUsize::new(0));
            let op = FailingOp {
                fail_at,
                seen: Arc::clone(&seen),
            };
            let plan = stream(source(parts.clone()), op);
            let err = collect(&cfg, &plan).unwrap_err();
            assert!(
                matches!(err.root(), Error::Execution(m) if m == &format!("boom at id {fail_at}")),
                "{name}: {err}"
            );
            let seen = seen.load(Ordering::Relaxed);
            if cfg.effective_threads() == 1 {
                // In order, and nothing after the failing batch.
                assert_eq!(seen as i64, fail_at / 10 + 1, "{name}");
            } else {
                assert!(seen <= parts.len(), "{name}");
            }
        }
    }
}

#[test]
fn an_error_below_a_sink_stops_the_plan() {
    let parts = many_small_partitions();
    for (name, cfg) in setups() {
        let above = Arc::new(AtomicUsize::new(0));
        let failing = stream(
            source(parts.clone()),
            FailingOp {
                fail_at: 2000,
                seen: Arc::new(AtomicUsize::new(0)),
            },
        );
        let plan = stream(
            sort_plan_over(failing, &[(K1, opts(false, false))]),
            CountingOp {
                batches: Arc::clone(&above),
            },
        );
        let err = collect(&cfg, &plan).unwrap_err();
        assert!(err.to_string().contains("boom at id 2000"), "{name}: {err}");
        assert_eq!(
            above.load(Ordering::Relaxed),
            0,
            "{name}: the pipeline above ran"
        );
        // And into a LimitExec (a sink with a stop flag).
        let failing = stream(
            source(parts.clone()),
            FailingOp {
                fail_at: 5,
                seen: Arc::new(AtomicUsize::new(0)),
            },
        );
        let err = collect(&cfg, &limit_plan(failing, 0, Some(1_000))).unwrap_err();
        assert!(err.to_string().contains("boom at id 5"), "{name}: {err}");
    }
}

fn sort_plan_over(input: PhysicalPlan, keys: &[(usize, SortOptions)]) -> PhysicalPlan {
    let keys = keys.iter().map(|&(c, o)| key(c, o)).collect();
    sink(input, SortExec::new(keys, None, schema()))
}

/// A source whose morsel number `bad` fails to open and whose morsel `bad_batch` fails mid-way.
#[derive(Debug)]
struct FlakySource {
    inner: MemorySource,
    bad_open: Option<usize>,
    bad_batch: Option<usize>,
}

#[derive(Debug)]
struct FlakyMorsel {
    inner: MorselRef,
    fail_open: bool,
    fail_second_batch: bool,
}

impl Morsel for FlakyMorsel {
    fn open(&self) -> Result<BatchIter> {
        if self.fail_open {
            return Err(Error::Execution("cannot open morsel".into()));
        }
        let it = self.inner.open()?;
        if self.fail_second_batch {
            let mut n = 0;
            Ok(Box::new(it.map(move |b| {
                n += 1;
                if n == 2 {
                    Err(Error::Execution("corrupt batch".into()))
                } else {
                    b
                }
            })))
        } else {
            Ok(it)
        }
    }
    fn partition(&self) -> usize {
        self.inner.partition()
    }
}

impl DataSource for FlakySource {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }
    fn morsels(&self) -> Result<Vec<MorselRef>> {
        Ok(self
            .inner
            .morsels()?
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                Arc::new(FlakyMorsel {
                    inner: m,
                    fail_open: self.bad_open == Some(i),
                    fail_second_batch: self.bad_batch == Some(i),
                }) as MorselRef
            })
            .collect())
    }
}

#[test]
fn source_errors_come_back_as_err() {
    // Partitions of 8 batches: 2 morsels each.
    let rows: Vec<Row> = (0..2000)
        .map(|i| Row {
            k1: Some(i % 5),
            k2: None,
            s: None,
            id: i,
        })
        .collect();
    let parts: Vec<Vec<RecordBatch>> = rows
        .chunks(80)
        .map(|p| p.chunks(10).map(batch_of).collect())
        .collect();
    for (name, cfg) in setups() {
        for (bad_open, bad_batch, msg) in [
            (Some(7), None, "cannot open morsel"),
            (None, Some(13), "corrupt batch"),
        ] {
            let src = FlakySource {
                inner: MemorySource::new(schema(), parts.clone()),
                bad_open,
                bad_batch,
            };
            let plan = PhysicalPlan::Source(Arc::new(src));
            let err = collect(&cfg, &plan).unwrap_err();
            assert!(err.to_string().contains(msg), "{name}: {err}");
            let sorted = sort_plan_over(plan, &[(ID, opts(true, false))]);
            let err = collect(&cfg, &sorted).unwrap_err();
            assert!(err.to_string().contains(msg), "{name}: {err}");
        }
    }
}

#[test]
fn display_indent_shows_the_tree() {
    let plan = limit_plan(
        sort_plan_over(
            filter_plan(vec![], binary(col(K1), Operator::Gt, lit_i64(1))),
            &[(K1, opts(false, true))],
        ),
        1,
        Some(2),
    );
    let text = plan.display_indent();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "LimitExec: skip=1 fetch=2");
    assert!(lines[1].starts_with("  SortExec: ["), "{text}");
    assert_eq!(lines[2], "    FilterExec: test predicate");
    assert!(lines[3].starts_with("      MemorySource"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// Memory pool
// ---------------------------------------------------------------------------------------------

#[test]
fn reservation_over_the_limit_names_the_consumer() {
    let pool = MemoryPool::new(1_000);
    let mut a = pool.reservation("HashJoin[build]");
    a.try_grow(700).unwrap();
    let mut b = pool.reservation("SortExec");
    let err = b.try_grow(301).unwrap_err();
    match &err {
        Error::ResourcesExhausted(m) => {
            assert!(m.contains("SortExec"), "{m}");
            assert!(m.contains("301"), "{m}");
            assert!(m.contains("1000"), "{m}");
        }
        other => panic!("expected ResourcesExhausted, got {other:?}"),
    }
    // A refused grow leaves everything as it was.
    assert_eq!(b.size(), 0);
    assert_eq!(pool.used(), 700);
    b.try_grow(300).unwrap();
    assert_eq!(pool.used(), 1_000);
    // Resizing down and up again.
    a.try_resize(200).unwrap();
    assert_eq!(pool.used(), 500);
    assert!(a.try_resize(800).is_err());
    assert_eq!(a.size(), 200);
    a.try_resize(700).unwrap();
    // Shrinking more than held only returns what is held.
    b.shrink(10_000);
    assert_eq!(b.size(), 0);
    assert_eq!(pool.used(), 700);
    drop(a);
    assert_eq!(pool.used(), 0);
    assert_eq!(pool.peak(), 1_000);
    assert_eq!(pool.limit(), 1_000);
}

#[test]
fn pool_never_exceeds_its_limit_under_contention() {
    let pool = MemoryPool::new(10_000);
    std::thread::scope(|s| {
        for t in 0..8u64 {
            let pool = Arc::clone(&pool);
            s.spawn(move || {
                let mut rng = Lcg::new(t);
                let mut r = pool.reservation(&format!("worker{t}"));
                for _ in 0..5_000 {
                    let n = rng.below(900) as usize;
                    if rng.chance(50) {
                        let _ = r.try_grow(n);
                    } else {
                        r.shrink(n);
                    }
                    assert!(pool.used() <= pool.limit());
                }
            });
        }
    });
    assert_eq!(pool.used(), 0);
    assert!(pool.peak() <= 10_000);
}

#[test]
fn sort_over_the_memory_limit_is_resources_exhausted() {
    let parts = gen_rows(91, 5_000, 100, 10);
    for (name, cfg) in setups() {
        let ctx = TaskContext::new(cfg.with_memory_limit(4_096));
        let pool = Arc::clone(&ctx.pool);
        let err = Executor::new(ctx)
            .collect(&sort_plan(parts.clone(), &[(K1, opts(false, false))], None))
            .unwrap_err();
        match err.root() {
            Error::ResourcesExhausted(m) => assert!(m.contains("SortExec"), "{name}: {m}"),
            other => panic!("{name}: expected ResourcesExhausted, got {other:?}"),
        }
        assert_eq!(
            pool.used(),
            0,
            "{name}: reservations released after the failure"
        );
    }
}

#[test]
fn sort_within_the_memory_limit_releases_its_reservations() {
    let parts = gen_rows(92, 5_000, 100, 10);
    let input = all_rows(&parts);
    let keys = [(K1, opts(false, false)), (ID, opts(false, false))];
    let expected = reference_sort(&input, &keys, None);
    for (name, cfg) in setups() {
        let ctx = TaskContext::new(cfg);
        let pool = Arc::clone(&ctx.pool);
        let out = Executor::new(ctx)
            .collect(&sort_plan(parts.clone(), &keys, None))
            .unwrap();
        assert_eq!(rows_of(&out), expected, "{name}");
        assert_eq!(pool.used(), 0, "{name}");
        assert!(pool.peak() > 0, "{name}: the sort reserved nothing");
    }
}
