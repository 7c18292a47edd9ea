//! Oracle tests: every join type, both operators and both build sides, against a naive
//! nested loop over Rust values, on seeded random tables with NULL and duplicate keys.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::array_value_to_string;
use rask_common::{Error, SessionConfig};
use rask_expr::{JoinType, Operator};

use super::*;
use crate::executor::{Executor, PhysicalPlan};
use crate::source::MemorySource;

const ALL_TYPES: [JoinType; 9] = [
    JoinType::Inner,
    JoinType::Left,
    JoinType::Right,
    JoinType::Full,
    JoinType::LeftSemi,
    JoinType::LeftAnti,
    JoinType::LeftAntiNullAware,
    JoinType::RightSemi,
    JoinType::RightAnti,
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Clone, Debug)]
struct Row {
    k1: Option<i64>,
    k2: Option<String>,
    v: Option<i64>,
    f: Option<f64>,
}

impl Row {
    fn fmt(&self) -> String {
        let o = |x: Option<String>| x.unwrap_or_else(|| "NULL".into());
        format!(
            "{}|{}|{}|{}",
            o(self.k1.map(|x| x.to_string())),
            o(self.k2.clone()),
            o(self.v.map(|x| x.to_string())),
            o(self.f.map(|x| if x == 0.0 {
                "0".into()
            } else {
                format!("{x:?}")
            })),
        )
    }
}

const NULL_ROW: &str = "NULL|NULL|NULL|NULL";

/// `n` random rows; keys from a small domain (so duplicates are common), ~15% NULL keys.
/// `scale` spreads integer keys apart (a sparse domain); `neg_zero` writes 0.0 as -0.0.
fn gen_rows(rng: &mut Rng, n: usize, domain: u64, scale: i64, neg_zero: bool) -> Vec<Row> {
    let strs = ["a", "b", "", "dd", "a long string value"];
    (0..n)
        .map(|_| {
            let k = rng.below(domain) as i64;
            let k1 = (rng.below(100) >= 15).then_some(k * scale);
            let k2 = (rng.below(100) >= 15).then(|| strs[rng.below(3) as usize].to_string());
            let v = (rng.below(100) >= 10).then(|| rng.below(10) as i64);
            let f = (rng.below(100) >= 10).then(|| {
                let x = rng.below(4) as f64;
                if x == 0.0 && neg_zero {
                    -0.0
                } else {
                    x
                }
            });
            Row { k1, k2, v, f }
        })
        .collect()
}

fn schema(prefix: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(format!("{prefix}_k1"), DataType::Int64, true),
        Field::new(format!("{prefix}_k2"), DataType::Utf8, true),
        Field::new(format!("{prefix}_v"), DataType::Int64, true),
        Field::new(format!("{prefix}_f"), DataType::Float64, true),
    ]))
}

/// The rows as a source of `parts` partitions of batches of `batch_size` rows.
fn source(rows: &[Row], schema: &SchemaRef, batch_size: usize, parts: usize) -> PhysicalPlan {
    let batches: Vec<RecordBatch> = rows
        .chunks(batch_size.max(1))
        .map(|c| {
            let cols: Vec<ArrayRef> = vec![
                Arc::new(Int64Array::from_iter(c.iter().map(|r| r.k1))),
                Arc::new(StringArray::from_iter(c.iter().map(|r| r.k2.clone()))),
                Arc::new(Int64Array::from_iter(c.iter().map(|r| r.v))),
                Arc::new(Float64Array::from_iter(c.iter().map(|r| r.f))),
            ];
            RecordBatch::try_new(Arc::clone(schema), cols).unwrap()
        })
        .collect();
    let per = batches.len().div_ceil(parts.max(1)).max(1);
    let partitions: Vec<Vec<RecordBatch>> = batches.chunks(per).map(|c| c.to_vec()).collect();
    PhysicalPlan::Source(Arc::new(MemorySource::new(Arc::clone(schema), partitions)))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Keys {
    None,
    Int,
    IntStr,
    Str,
    Float,
}

impl Keys {
    fn columns(self) -> Vec<usize> {
        match self {
            Keys::None => vec![],
            Keys::Int => vec![0],
            Keys::IntStr => vec![0, 1],
            Keys::Str => vec![1],
            Keys::Float => vec![3],
        }
    }
}

/// SQL `=` on key `c` of two rows: None when either side is NULL.
fn key_eq(c: usize, l: &Row, r: &Row) -> Option<bool> {
    match c {
        0 => Some(l.k1? == r.k1?),
        1 => Some(l.k2.as_ref()? == r.k2.as_ref()?),
        3 => Some(l.f? == r.f?),
        _ => unreachable!(),
    }
}

/// The residual `l.v < r.v`.
fn filter_true(l: &Row, r: &Row) -> bool {
    matches!((l.v, r.v), (Some(a), Some(b)) if a < b)
}

fn reference(jt: JoinType, keys: Keys, filter: bool, left: &[Row], right: &[Row]) -> Vec<String> {
    let cols = keys.columns();
    let matches = |l: &Row, r: &Row| {
        cols.iter().all(|c| key_eq(*c, l, r) == Some(true)) && (!filter || filter_true(l, r))
    };
    // NOT IN: a right row (passing the filter) blocks a left row unless a key compares FALSE.
    let blocks = |l: &Row, r: &Row| {
        cols.iter().all(|c| key_eq(*c, l, r) != Some(false)) && (!filter || filter_true(l, r))
    };
    let mut out = Vec::new();
    let pair = |l: &str, r: &str| format!("{l}|{r}");
    match jt {
        JoinType::Inner | JoinType::Left | JoinType::Right | JoinType::Full => {
            for l in left {
                let mut any = false;
                for r in right {
                    if matches(l, r) {
                        any = true;
                        out.push(pair(&l.fmt(), &r.fmt()));
                    }
                }
                if !any && matches!(jt, JoinType::Left | JoinType::Full) {
                    out.push(pair(&l.fmt(), NULL_ROW));
                }
            }
            if matches!(jt, JoinType::Right | JoinType::Full) {
                for r in right {
                    if !left.iter().any(|l| matches(l, r)) {
                        out.push(pair(NULL_ROW, &r.fmt()));
                    }
                }
            }
        }
        JoinType::LeftSemi | JoinType::LeftAnti => {
            for l in left {
                if right.iter().any(|r| matches(l, r)) == (jt == JoinType::LeftSemi) {
                    out.push(l.fmt());
                }
            }
        }
        JoinType::LeftAntiNullAware => {
            for l in left {
                if !right.iter().any(|r| blocks(l, r)) {
                    out.push(l.fmt());
                }
            }
        }
        JoinType::RightSemi | JoinType::RightAnti => {
            for r in right {
                if left.iter().any(|l| matches(l, r)) == (jt == JoinType::RightSemi) {
                    out.push(r.fmt());
                }
            }
        }
    }
    out.sort();
    out
}

fn format_batches(batches: &[RecordBatch]) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let cells: Vec<String> = b
                .columns()
                .iter()
                .map(|c| {
                    if c.is_null(i) {
                        "NULL".to_string()
                    } else {
                        let s = array_value_to_string(c, i).unwrap();
                        if s == "-0" || s == "-0.0" || s == "0.0" {
                            "0".to_string()
                        } else {
                            s
                        }
                    }
                })
                .collect();
            out.push(cells.join("|"));
        }
    }
    out.sort();
    out
}

fn output_schema(jt: JoinType, ls: &SchemaRef, rs: &SchemaRef) -> SchemaRef {
    let mut fields: Vec<Field> = Vec::new();
    if jt.keeps_left() {
        fields.extend(ls.fields().iter().map(|f| f.as_ref().clone()));
    }
    if jt.keeps_right() {
        fields.extend(rs.fields().iter().map(|f| f.as_ref().clone()));
    }
    Arc::new(Schema::new(fields))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Algo {
    Hash,
    NestedLoop,
}

fn spec(
    jt: JoinType,
    keys: Keys,
    filter: bool,
    build_side: JoinSide,
    ls: &SchemaRef,
    rs: &SchemaRef,
) -> JoinSpec {
    let on = keys
        .columns()
        .into_iter()
        .map(|c| (PhysicalExpr::Column(c), PhysicalExpr::Column(c)))
        .collect();
    let filter = filter.then(|| JoinFilter {
        expr: PhysicalExpr::Binary {
            left: Box::new(PhysicalExpr::Column(0)),
            op: Operator::Lt,
            right: Box::new(PhysicalExpr::Column(1)),
        },
        columns: vec![(JoinSide::Left, 2), (JoinSide::Right, 2)],
        schema: Arc::new(Schema::new(vec![
            Field::new("l_v", DataType::Int64, true),
            Field::new("r_v", DataType::Int64, true),
        ])),
    });
    JoinSpec {
        join_type: jt,
        left_schema: Arc::clone(ls),
        right_schema: Arc::clone(rs),
        on,
        filter,
        schema: output_schema(jt, ls, rs),
        build_side,
        display: String::new(),
        runtime_filters: vec![],
    }
}

#[allow(clippy::too_many_arguments)]
fn run_join(
    algo: Algo,
    jt: JoinType,
    keys: Keys,
    filter: bool,
    build_side: JoinSide,
    left: &[Row],
    right: &[Row],
    threads: usize,
    batch_size: usize,
) -> Result<Vec<String>> {
    run_join_with(
        algo, jt, keys, filter, build_side, left, right, threads, batch_size, false,
    )
}

/// [`run_join`], optionally with every spillable operator going external (a grace join).
#[allow(clippy::too_many_arguments)]
fn run_join_with(
    algo: Algo,
    jt: JoinType,
    keys: Keys,
    filter: bool,
    build_side: JoinSide,
    left: &[Row],
    right: &[Row],
    threads: usize,
    batch_size: usize,
    force_spill: bool,
) -> Result<Vec<String>> {
    let ctx = TaskContext::new(
        SessionConfig::new()
            .with_threads(threads)
            .with_force_spill(force_spill),
    );
    run_join_in(
        algo, jt, keys, filter, build_side, left, right, batch_size, ctx,
    )
}

/// [`run_join`] in `ctx`.
#[allow(clippy::too_many_arguments)]
fn run_join_in(
    algo: Algo,
    jt: JoinType,
    keys: Keys,
    filter: bool,
    build_side: JoinSide,
    left: &[Row],
    right: &[Row],
    batch_size: usize,
    ctx: TaskContext,
) -> Result<Vec<String>> {
    let (ls, rs) = (schema("l"), schema("r"));
    let spec = spec(jt, keys, filter, build_side, &ls, &rs);
    let join: Arc<dyn JoinExec> = match algo {
        Algo::Hash => Arc::new(HashJoinExec::try_new(spec)?),
        Algo::NestedLoop => Arc::new(NestedLoopJoinExec::try_new(spec)?),
    };
    let lp = source(left, &ls, batch_size, 3);
    let rp = source(right, &rs, batch_size, 2);
    let (build, probe) = match build_side {
        JoinSide::Right => (rp, lp),
        JoinSide::Left => (lp, rp),
    };
    let plan = PhysicalPlan::Join {
        build: Box::new(build),
        probe: Box::new(probe),
        join,
    };
    assert_eq!(
        plan.schema().fields().len(),
        output_schema(jt, &ls, &rs).fields().len()
    );
    let batches = Executor::new(ctx).collect(&plan)?;
    Ok(format_batches(&batches))
}

/// Whether the combination is valid for the operator.
fn supported(algo: Algo, jt: JoinType, keys: Keys, filter: bool, build: JoinSide) -> bool {
    if jt == JoinType::LeftAntiNullAware {
        if build == JoinSide::Left {
            return false;
        }
        if algo == Algo::Hash && (keys.columns().len() != 1 || filter) {
            return false;
        }
    }
    !(algo == Algo::Hash && keys == Keys::None)
}

#[allow(clippy::too_many_arguments)]
fn check(
    rng_seed: u64,
    nl: usize,
    nr: usize,
    domain: u64,
    scale: i64,
    threads: &[usize],
    batch_sizes: &[usize],
    key_sets: &[Keys],
) {
    let mut rng = Rng(rng_seed);
    let left = gen_rows(&mut rng, nl, domain, scale, true);
    let right = gen_rows(&mut rng, nr, domain, scale, false);
    for &keys in key_sets {
        for filter in [false, true] {
            for jt in ALL_TYPES {
                let want = reference(jt, keys, filter, &left, &right);
                for algo in [Algo::Hash, Algo::NestedLoop] {
                    for build in [JoinSide::Right, JoinSide::Left] {
                        if !supported(algo, jt, keys, filter, build) {
                            continue;
                        }
                        for &t in threads {
                            for (i, &bs) in batch_sizes.iter().enumerate() {
                                // The grace (spilled) join once per thread count.
                                for force in [false, i == 0] {
                                    let got = run_join_with(
                                        algo, jt, keys, filter, build, &left, &right, t, bs, force,
                                    )
                                    .unwrap_or_else(|e| panic!("{e}"));
                                    assert_eq!(
                                        got, want,
                                        "seed {rng_seed} {jt} keys {keys:?} filter {filter} \
                                         {algo:?} build {build:?} threads {t} batch {bs} \
                                         force_spill {force} ({nl}x{nr} rows)"
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

const KEY_SETS: [Keys; 5] = [Keys::None, Keys::Int, Keys::IntStr, Keys::Str, Keys::Float];

#[test]
fn oracle_small_tables() {
    for seed in 1..6u64 {
        let mut rng = Rng(seed * 7919);
        let nl = rng.below(30) as usize;
        let nr = rng.below(30) as usize;
        check(seed, nl, nr, 6, 1, &[1, 4], &[1, 7, 64], &KEY_SETS);
    }
}

#[test]
fn grace_join_under_a_small_limit_matches() {
    use crate::join::grace::GRACE_PARTITIONS;
    let mut rng = Rng(99);
    let left = gen_rows(&mut rng, 20_000, 10_000, 1, true);
    let right = gen_rows(&mut rng, 20_000, 10_000, 1, false);
    // 700 KB left: the build side does not fit, its partitions do; 45 KB (one thread):
    // partitions are split again.
    for (jt, leave, threads) in [
        (JoinType::Inner, 700_000, 3),
        (JoinType::Full, 700_000, 3),
        (JoinType::LeftAnti, 700_000, 3),
        (JoinType::RightSemi, 700_000, 3),
        (JoinType::Inner, 45_000, 1),
        (JoinType::Full, 45_000, 1),
    ] {
        for filter in [false, true] {
            let want = reference(jt, Keys::IntStr, filter, &left, &right);
            let (got, files) = run_with_thief(
                Algo::Hash,
                JoinSide::Right,
                jt,
                Keys::IntStr,
                filter,
                &left,
                &right,
                threads,
                leave,
            );
            assert_eq!(got, want, "{jt} filter {filter} leave {leave}");
            assert!(files > 0, "{jt}: spilled");
            if leave < 300_000 {
                // Build and probe files of the first split, then those of re-splits.
                assert!(
                    files > 2 * GRACE_PARTITIONS,
                    "{jt}: partitions re-split ({files})"
                );
            }
        }
    }
}

/// A join building `build` under a 4 MiB limit of which a thief holds all but `leave`
/// bytes: its rows and the number of spill files written (the spill directory is empty
/// afterwards).
#[allow(clippy::too_many_arguments)]
fn run_with_thief(
    algo: Algo,
    build: JoinSide,
    jt: JoinType,
    keys: Keys,
    filter: bool,
    left: &[Row],
    right: &[Row],
    threads: usize,
    leave: usize,
) -> (Vec<String>, usize) {
    let root = tempfile::tempdir().unwrap();
    let config = SessionConfig::new()
        .with_threads(threads)
        .with_memory_limit(4 << 20)
        .with_spill_dir(root.path());
    let ctx = TaskContext::new(config);
    let mut thief = ctx.pool.reservation("thief");
    thief.try_grow((4 << 20) - leave).unwrap();
    let got = run_join_in(algo, jt, keys, filter, build, left, right, 256, ctx.clone()).unwrap();
    let files = ctx.spill.metrics().spill_count();
    drop((thief, ctx));
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    (got, files)
}

#[test]
fn block_nested_loop_join_under_a_small_limit_matches() {
    // Neither build side fits in what the thief leaves: both inputs are spilled and the
    // build side is joined in blocks (about 7 KB, a batch or two each), every join type and
    // build side.
    let mut rng = Rng(5);
    let left = gen_rows(&mut rng, 600, 100, 1, true);
    let right = gen_rows(&mut rng, 500, 100, 1, false);
    for jt in ALL_TYPES {
        for build in [JoinSide::Right, JoinSide::Left] {
            for (keys, filter) in [(Keys::None, true), (Keys::Int, true), (Keys::Str, false)] {
                if !supported(Algo::NestedLoop, jt, keys, filter, build) {
                    continue;
                }
                let want = reference(jt, keys, filter, &left, &right);
                let threads = if build == JoinSide::Right { 3 } else { 1 };
                let (got, files) = run_with_thief(
                    Algo::NestedLoop,
                    build,
                    jt,
                    keys,
                    filter,
                    &left,
                    &right,
                    threads,
                    30_000,
                );
                let what = format!("{jt} build {build:?} keys {keys:?} filter {filter}");
                assert_eq!(got, want, "{what}");
                assert!(files > 0, "{what}: spilled");
            }
        }
    }
}

#[test]
fn grace_null_aware_anti_join_matches() {
    // `NOT IN` whose build side does not fit: NULL keys on the probe side are dropped (the
    // build side has rows), a NULL key on the build side empties the answer, and an empty
    // build side keeps every row.
    let mut rng = Rng(17);
    let left = gen_rows(&mut rng, 20_000, 10_000, 1, true);
    let all = gen_rows(&mut rng, 20_000, 10_000, 1, false);
    let no_nulls: Vec<Row> = all.iter().filter(|r| r.k1.is_some()).cloned().collect();
    let one_null: Vec<Row> = no_nulls
        .iter()
        .cloned()
        .chain([all[all.iter().position(|r| r.k1.is_none()).unwrap()].clone()])
        .collect();
    for (right, leave, threads, rows) in [
        (&no_nulls, 300_000, 3, true),
        (&no_nulls, 45_000, 1, true),
        (&one_null, 300_000, 2, false),
    ] {
        let want = reference(JoinType::LeftAntiNullAware, Keys::Int, false, &left, right);
        assert_eq!(!want.is_empty(), rows);
        let (got, files) = run_with_thief(
            Algo::Hash,
            JoinSide::Right,
            JoinType::LeftAntiNullAware,
            Keys::Int,
            false,
            &left,
            right,
            threads,
            leave,
        );
        assert_eq!(got, want, "leave {leave} threads {threads}");
        assert!(files > 0, "spilled");
    }
    // Force-spilled with an empty build side: every row, NULL keys included.
    let got = run_join_with(
        Algo::Hash,
        JoinType::LeftAntiNullAware,
        Keys::Int,
        false,
        JoinSide::Right,
        &left,
        &[],
        2,
        256,
        true,
    )
    .unwrap();
    assert_eq!(got.len(), left.len());
}

#[test]
fn oracle_empty_sides() {
    for (nl, nr) in [(0, 0), (0, 12), (12, 0)] {
        check(42, nl, nr, 4, 1, &[1, 4], &[5], &KEY_SETS);
    }
}

#[test]
fn oracle_sparse_integer_keys() {
    // Keys a million apart: the integer hash table instead of the direct index.
    check(
        7,
        40,
        40,
        10,
        1_000_003,
        &[1, 4],
        &[3, 64],
        &[Keys::Int, Keys::IntStr],
    );
}

#[test]
fn oracle_negative_and_wide_keys() {
    check(11, 50, 50, 10, -(1 << 40), &[2], &[16], &[Keys::Int]);
}

#[test]
fn long_chains_cross_chunk_boundaries() {
    // One key value on both sides: 400 x 400 = 160,000 candidate pairs per probe, more than
    // one chunk.
    let mut rng = Rng(99);
    let left = gen_rows(&mut rng, 400, 1, 1, false);
    let right = gen_rows(&mut rng, 400, 1, 1, false);
    for jt in [
        JoinType::Inner,
        JoinType::Full,
        JoinType::LeftSemi,
        JoinType::RightAnti,
    ] {
        for filter in [false, true] {
            let want = reference(jt, Keys::Int, filter, &left, &right);
            for algo in [Algo::Hash, Algo::NestedLoop] {
                let got = run_join(
                    algo,
                    jt,
                    Keys::Int,
                    filter,
                    JoinSide::Right,
                    &left,
                    &right,
                    4,
                    400,
                )
                .unwrap();
                assert_eq!(got, want, "{jt} {algo:?} filter {filter}");
            }
        }
    }
}

#[test]
fn null_aware_anti_join_semantics() {
    let row = |k: Option<i64>| Row {
        k1: k,
        k2: None,
        v: None,
        f: None,
    };
    let left = vec![row(Some(1)), row(Some(2)), row(None)];
    let run = |right: &[Row]| {
        run_join(
            Algo::Hash,
            JoinType::LeftAntiNullAware,
            Keys::Int,
            false,
            JoinSide::Right,
            &left,
            right,
            1,
            8,
        )
        .unwrap()
    };
    // Empty subquery: every row, NULL key included.
    assert_eq!(run(&[]).len(), 3);
    // A NULL in the subquery: no row.
    assert_eq!(run(&[row(Some(5)), row(None)]).len(), 0);
    // Otherwise: non-NULL keys without a match.
    assert_eq!(run(&[row(Some(1))]), vec!["2|NULL|NULL|NULL".to_string()]);
}

#[test]
fn build_side_memory_is_reserved() {
    let mut rng = Rng(5);
    let left = gen_rows(&mut rng, 100, 10, 1, false);
    let right = gen_rows(&mut rng, 2000, 10, 1, false);
    let (ls, rs) = (schema("l"), schema("r"));
    let spec = spec(JoinType::Inner, Keys::Int, false, JoinSide::Right, &ls, &rs);
    let plan = PhysicalPlan::Join {
        build: Box::new(source(&right, &rs, 64, 2)),
        probe: Box::new(source(&left, &ls, 64, 2)),
        join: Arc::new(HashJoinExec::try_new(spec).unwrap()),
    };
    let ctx = TaskContext::new(SessionConfig::new().with_memory_limit(4_000)); // one key's rows of the build side do not fit
    let err = Executor::new(ctx).collect(&plan).unwrap_err();
    assert!(matches!(err, Error::ResourcesExhausted(_)), "{err}");
}

#[test]
fn explain_shows_both_inputs() {
    let (ls, rs) = (schema("l"), schema("r"));
    let mut s = spec(JoinType::Left, Keys::Int, true, JoinSide::Right, &ls, &rs);
    s.display = "on=[l_k1 = r_k1] filter=l_v < r_v".into();
    let plan = PhysicalPlan::Join {
        build: Box::new(source(&[], &rs, 4, 1)),
        probe: Box::new(source(&[], &ls, 4, 1)),
        join: Arc::new(HashJoinExec::try_new(s).unwrap()),
    };
    let text = plan.display_indent();
    assert!(
        text.starts_with(
            "HashJoinExec: Left on=[l_k1 = r_k1] filter=l_v < r_v build=right\n  build:\n"
        ),
        "{text}"
    );
    assert!(text.contains("  probe:\n"), "{text}");
}

#[test]
fn hash_join_rejects_invalid_specs() {
    let (ls, rs) = (schema("l"), schema("r"));
    assert!(HashJoinExec::try_new(spec(
        JoinType::Inner,
        Keys::None,
        false,
        JoinSide::Right,
        &ls,
        &rs
    ))
    .is_err());
    assert!(HashJoinExec::try_new(spec(
        JoinType::LeftAntiNullAware,
        Keys::IntStr,
        false,
        JoinSide::Right,
        &ls,
        &rs
    ))
    .is_err());
    assert!(NestedLoopJoinExec::try_new(spec(
        JoinType::LeftAntiNullAware,
        Keys::Int,
        false,
        JoinSide::Left,
        &ls,
        &rs
    ))
    .is_err());
}

/// Rough timing of the probe paths: `cargo test -p rask-exec --release join_throughput --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn join_throughput() {
    let build_rows = 1_500_000i64;
    let probe_rows = 6_000_000i64;
    let mk = |n: i64, f: &dyn Fn(i64) -> i64, name: &str| {
        let schema = Arc::new(Schema::new(vec![
            Field::new(format!("{name}_k"), DataType::Int64, false),
            Field::new(format!("{name}_s"), DataType::Utf8, false),
        ]));
        let batches: Vec<RecordBatch> = (0..n)
            .step_by(8192)
            .map(|s| {
                let e = (s + 8192).min(n);
                let keys: Vec<i64> = (s..e).map(f).collect();
                let strs: Vec<String> = keys.iter().map(|k| format!("key#{k:010}")).collect();
                RecordBatch::try_new(
                    Arc::clone(&schema),
                    vec![
                        Arc::new(Int64Array::from(keys)),
                        Arc::new(StringArray::from(strs)),
                    ],
                )
                .unwrap()
            })
            .collect();
        let parts: Vec<Vec<RecordBatch>> = batches.chunks(16).map(|c| c.to_vec()).collect();
        (schema, parts)
    };
    let (bs, bparts) = mk(build_rows, &|i| i * 4 + 1, "b");
    let (ps, pparts) = mk(probe_rows, &|i| (i * 7919) % (build_rows * 4), "p");
    for (label, key, sparse) in [
        ("dense int", 0, false),
        ("sparse int", 0, true),
        ("string", 1, false),
    ] {
        let (bparts, pparts) = if sparse {
            let scale = |parts: &Vec<Vec<RecordBatch>>| -> Vec<Vec<RecordBatch>> {
                parts
                    .iter()
                    .map(|p| {
                        p.iter()
                            .map(|b| {
                                let k = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                                let k: Int64Array =
                                    k.iter().map(|v| v.map(|v| v * 1_000_003)).collect();
                                RecordBatch::try_new(
                                    b.schema(),
                                    vec![Arc::new(k), Arc::clone(b.column(1))],
                                )
                                .unwrap()
                            })
                            .collect()
                    })
                    .collect()
            };
            (scale(&bparts), scale(&pparts))
        } else {
            (bparts.clone(), pparts.clone())
        };
        let spec = JoinSpec {
            join_type: JoinType::Inner,
            left_schema: Arc::clone(&ps),
            right_schema: Arc::clone(&bs),
            on: vec![(PhysicalExpr::Column(key), PhysicalExpr::Column(key))],
            filter: None,
            schema: output_schema(JoinType::Inner, &ps, &bs),
            build_side: JoinSide::Right,
            display: String::new(),
            runtime_filters: vec![],
        };
        let plan = PhysicalPlan::Join {
            build: Box::new(PhysicalPlan::Source(Arc::new(MemorySource::new(
                Arc::clone(&bs),
                bparts,
            )))),
            probe: Box::new(PhysicalPlan::Source(Arc::new(MemorySource::new(
                Arc::clone(&ps),
                pparts,
            )))),
            join: Arc::new(HashJoinExec::try_new(spec).unwrap()),
        };
        let ctx = TaskContext::new(SessionConfig::new().with_memory_limit(usize::MAX / 2));
        if let PhysicalPlan::Join { build, join, .. } = &plan {
            let only_build = PhysicalPlan::Join {
                build: build.clone(),
                probe: Box::new(PhysicalPlan::Source(Arc::new(MemorySource::new(
                    Arc::clone(&ps),
                    vec![],
                )))),
                join: Arc::clone(join),
            };
            let start = std::time::Instant::now();
            Executor::new(ctx.clone()).collect(&only_build).unwrap();
            println!("{label}: build alone {:?}", start.elapsed());
        }
        let start = std::time::Instant::now();
        let out = Executor::new(ctx).collect(&plan).unwrap();
        let rows: usize = out.iter().map(|b| b.num_rows()).sum();
        println!("{label}: {rows} rows in {:?}", start.elapsed());
    }
}

#[test]
fn cross_join_of_inputs_without_columns() {
    // `SELECT count(*) FROM a, b` once projections are pruned: batches with rows, no columns.
    let empty = Arc::new(Schema::empty());
    let batch = |n: usize| {
        RecordBatch::try_new_with_options(
            Arc::clone(&empty),
            vec![],
            &arrow::array::RecordBatchOptions::new().with_row_count(Some(n)),
        )
        .unwrap()
    };
    let src = |sizes: &[usize]| {
        PhysicalPlan::Source(Arc::new(MemorySource::new(
            Arc::clone(&empty),
            vec![sizes.iter().map(|n| batch(*n)).collect()],
        )))
    };
    for jt in [JoinType::Inner, JoinType::Full, JoinType::LeftSemi] {
        let spec = JoinSpec {
            join_type: jt,
            left_schema: Arc::clone(&empty),
            right_schema: Arc::clone(&empty),
            on: vec![],
            filter: None,
            schema: Arc::clone(&empty),
            build_side: JoinSide::Right,
            display: String::new(),
            runtime_filters: vec![],
        };
        let plan = PhysicalPlan::Join {
            build: Box::new(src(&[2, 3])),
            probe: Box::new(src(&[4, 1])),
            join: Arc::new(NestedLoopJoinExec::try_new(spec).unwrap()),
        };
        let out = Executor::new(TaskContext::new(SessionConfig::new()))
            .collect(&plan)
            .unwrap();
        let rows: usize = out.iter().map(|b| b.num_rows()).sum();
        let want = if jt == JoinType::LeftSemi { 5 } else { 25 };
        assert_eq!(rows, want, "{jt}");
    }
}
