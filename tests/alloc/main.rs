//! Peak heap under a memory limit, measured by a counting global allocator.
//!
//! The memory pool only knows what operators reserve; this binary counts every byte the
//! process allocates. Queries that spill (aggregation, join, sort) on the bundled TPC-H data
//! must keep the heap's peak while they run within 1.25x the limit plus a constant (the
//! tables' metadata, Parquet readers, the test harness).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use rask::{SessionConfig, SessionContext};
use rask_tests::repo_root;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwards to the system allocator with the caller's layout.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwards to the system allocator; `ptr`/`layout` come from this allocator.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let d = new_size - layout.size();
                let now = CURRENT.fetch_add(d, Ordering::Relaxed) + d;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `sql` under `limit` and returns (peak heap growth over the baseline, spill files).
fn peak_growth(sql: &str, limit: usize) -> (usize, usize) {
    let spill = tempfile::tempdir().expect("temp dir");
    let config = SessionConfig::new()
        .with_threads(2)
        .with_memory_limit(limit)
        .with_spill_dir(spill.path());
    let ctx = SessionContext::with_config(config);
    let data = repo_root().join("datasets/tpch-sf0.01");
    ctx.register_data_dir(&data.to_string_lossy())
        .expect("register TPC-H");
    let df = ctx.sql(sql).expect("plan");
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    // Count only: the result itself is small.
    let rows: usize = df
        .collect()
        .expect("query")
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert!(rows > 0);
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    (peak, ctx.last_query_stats().spill_count)
}

fn check(what: &str, sql: &str) {
    let limit = 4 << 20;
    // Parquet decoding buffers, row groups being read and per-thread scratch that the pool
    // does not see: a fixed allowance.
    let allowance = 12 << 20;
    let (peak, spills) = peak_growth(sql, limit);
    assert!(
        spills > 0,
        "{what}: expected the query to spill under {limit} bytes"
    );
    let bound = limit + limit / 4 + allowance;
    eprintln!("{what}: peak heap growth {peak} bytes (bound {bound}), {spills} spill files");
    assert!(
        peak <= bound,
        "{what}: heap peaked at {peak} bytes, over 1.25 x {limit} + {allowance}"
    );
}

/// A `COPY` of a result several times the bound streams into files: the heap stays within
/// the same bound as the spilling operators.
fn check_copy() {
    let limit = 4 << 20;
    let allowance = 12 << 20;
    let out = tempfile::tempdir().expect("temp dir");
    let config = SessionConfig::new()
        .with_threads(2)
        .with_memory_limit(limit);
    let ctx = SessionContext::with_config(config);
    let data = repo_root().join("datasets/tpch-sf0.01");
    ctx.register_data_dir(&data.to_string_lossy())
        .expect("register TPC-H");
    // 240,700 rows of lineitem, about 50 MB as Arrow arrays.
    if std::env::var("RASK_ALLOC_DEBUG").is_ok() {
        let q = "SELECT count(*) FROM (SELECT * FROM lineitem UNION ALL SELECT * FROM lineitem \
                 UNION ALL SELECT * FROM lineitem UNION ALL SELECT * FROM lineitem) t";
        let df = ctx.sql(q).expect("plan");
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        df.collect().expect("run");
        eprintln!(
            "scan only: {}",
            PEAK.load(Ordering::Relaxed).saturating_sub(base)
        );
    }
    let sql = format!(
        "COPY (SELECT * FROM lineitem UNION ALL SELECT * FROM lineitem \
         UNION ALL SELECT * FROM lineitem UNION ALL SELECT * FROM lineitem) \
         TO '{}' (FORMAT parquet)",
        out.path().join("big").display()
    );
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    ctx.sql(&sql).expect("copy");
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
    let bound = limit + limit / 4 + allowance;
    eprintln!(
        "copy: peak heap growth {peak} bytes (bound {bound}), pool peak {}",
        ctx.last_query_stats().peak_memory
    );
    assert!(
        peak <= bound,
        "copy: heap peaked at {peak} bytes, over 1.25 x {limit} + {allowance}"
    );
    let rows = ctx
        .read_parquet(&out.path().join("big").to_string_lossy())
        .expect("read back")
        .count()
        .expect("count");
    assert_eq!(rows, 4 * 60_175);
}

fn main() {
    check(
        "aggregate",
        "SELECT count(*), sum(q) FROM (SELECT l_orderkey, l_partkey, sum(l_quantity) q \
         FROM lineitem GROUP BY l_orderkey, l_partkey) t",
    );
    check(
        "join",
        "SELECT count(*), sum(b.l_quantity) FROM lineitem a JOIN lineitem b \
         ON a.l_orderkey = b.l_orderkey AND a.l_linenumber = b.l_linenumber",
    );
    check(
        "sort",
        "SELECT count(*) FROM (SELECT l_comment, l_orderkey FROM lineitem \
         ORDER BY l_comment, l_orderkey) t",
    );
    check(
        "window",
        "SELECT count(*), sum(rn), sum(rs), max(length(c)) FROM (SELECT l_comment || l_shipinstruct AS c, \
         row_number() OVER (ORDER BY l_comment, l_orderkey) rn, \
         sum(l_quantity) OVER (ORDER BY l_comment, l_orderkey) rs FROM lineitem) t",
    );
    check_copy();
    println!("alloc: 5 checks passed");
}
