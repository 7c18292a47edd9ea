//! `rask-bench`: times SQL queries in-process over a data directory and prints a table.
//!
//! ```text
//! cargo run --release -p rask-benches -- --data DIR --queries benches/queries/h2o.sql \
//!     [--only h2o_q1,h2o_q2] [--reps 3] [--threads N] [--table NAME=PATH]...
//! ```
//!
//! Beside the SQL, DataFrame-API versions of some queries run under the same name with
//! `_api` appended (today `h2o_q8_api`, the h2o largest-two-per-group query through
//! `row_number().over(..)`), whenever the query file holds the SQL one; `--only` selects them
//! by that name.
//!
//! `--queries` is a directory of `.sql` files (one query each, named after the file) or a file
//! in the peers' format (`-- name: NAME` lines before each statement), so the same file drives `../shared/peers/compare.py` for DuckDB/Polars figures in the same run. Each
//! figure is the median of `--reps` runs after one warm-up (warm page cache). A query that
//! fails prints its error in the table instead of a time.

use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Parser;
use rask::functions::row_number;
use rask::{col, lit, DataFrame, SessionConfig, SessionContext, Window, WindowExt};

/// A DataFrame-API pipeline over the registered tables.
type Pipeline = fn(&SessionContext) -> rask::Result<DataFrame>;

/// A query the bench runs: SQL text or a DataFrame-API pipeline.
enum Query {
    Sql(String),
    Api(Pipeline),
}

/// DataFrame-API versions of named SQL queries: `(sql name, pipeline)`.
const API_QUERIES: [(&str, Pipeline); 1] = [("h2o_q8", h2o_q8_api)];

/// h2o groupby q8: the two largest v3 of each id6, pandas-style
/// (`x[x.v3.notna()]`, then a row number per id6 by v3 descending).
fn h2o_q8_api(ctx: &SessionContext) -> rask::Result<DataFrame> {
    let by_v3 = Window::new().partition_by(["id6"]).order_by_desc(["v3"]);
    ctx.table("x")?
        .filter(col("v3").is_not_null())?
        .filter(row_number().over(by_v3)?.lt_eq(lit(2i64)))?
        .select_columns(&["id6", "v3"])
}

#[derive(Debug, Parser)]
#[command(
    name = "rask-bench",
    about = "Time SQL queries with rask and print a table"
)]
struct Args {
    /// Directory whose files/subdirectories are registered as tables (like `rask sql --data`).
    #[arg(long)]
    data: Option<String>,
    /// Extra tables as NAME=PATH.
    #[arg(long = "table")]
    tables: Vec<String>,
    /// Query file with `-- name: NAME` headers, or a directory of `.sql` files.
    #[arg(long)]
    queries: String,
    /// Comma-separated query names to run (default: all).
    #[arg(long)]
    only: Option<String>,
    /// Timed repetitions per query (after one warm-up).
    #[arg(long, default_value_t = 3)]
    reps: usize,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn load_queries(path: &str) -> Result<Vec<(String, String)>> {
    // A directory: every `*.sql` file is one query named after the file (e.g. the 22 TPC-H
    // queries in tests/expected/tpch/queries, so they live in the repo once).
    if std::path::Path::new(path).is_dir() {
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(path)
            .with_context(|| format!("reading {path}"))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        let mut out = Vec::new();
        for f in files {
            let name = f
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let sql =
                std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
            out.push((name, sql));
        }
        if out.is_empty() {
            bail!("no .sql files in {path}");
        }
        return Ok(out);
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- name:") {
            out.push((name.trim().to_string(), String::new()));
        } else if let Some((_, sql)) = out.last_mut() {
            if line.trim() != "-- ordered" {
                sql.push_str(line);
                sql.push('\n');
            }
        }
    }
    if out.is_empty() {
        bail!("no '-- name:' queries in {path}");
    }
    Ok(out)
}

fn main() -> Result<()> {
    rask::tune_allocator();
    let args = Args::parse();
    let mut config = SessionConfig::default();
    if let Some(t) = args.threads {
        config = config.with_threads(t);
    }
    let threads = config.effective_threads();
    let ctx = SessionContext::with_config(config);
    if let Some(d) = &args.data {
        ctx.register_data_dir(d)?;
    }
    for t in &args.tables {
        let (name, path) = t.split_once('=').context("--table takes NAME=PATH")?;
        ctx.register_path(name, path)?;
    }
    let only: Option<Vec<&str>> = args.only.as_deref().map(|s| s.split(',').collect());
    println!(
        "rask-bench: {threads} threads, median of {} runs after a warm-up",
        args.reps
    );
    println!("| query | rows | median s | min s |");
    println!("|---|---|---|---|");
    let mut total = 0.0;
    let mut queries: Vec<(String, Query)> = Vec::new();
    for (name, sql) in load_queries(&args.queries)? {
        let api = API_QUERIES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f);
        queries.push((name.clone(), Query::Sql(sql)));
        if let Some(f) = api {
            queries.push((format!("{name}_api"), Query::Api(f)));
        }
    }
    for (name, query) in queries {
        if only.as_ref().is_some_and(|o| !o.contains(&name.as_str())) {
            continue;
        }
        let run = || -> rask::Result<(usize, f64)> {
            let start = Instant::now();
            let df = match &query {
                Query::Sql(sql) => ctx.sql(sql.trim().trim_end_matches(';'))?,
                Query::Api(f) => f(&ctx)?,
            };
            let batches = df.collect()?;
            let rows = batches.iter().map(|b| b.num_rows()).sum();
            Ok((rows, start.elapsed().as_secs_f64()))
        };
        match run() {
            Err(e) => println!("| {name} | error: {e} | | |"),
            Ok((rows, _)) => {
                let mut times = Vec::with_capacity(args.reps);
                for _ in 0..args.reps.max(1) {
                    times.push(run()?.1);
                }
                times.sort_by(f64::total_cmp);
                let median = times[times.len() / 2];
                total += median;
                println!("| {name} | {rows} | {median:.3} | {:.3} |", times[0]);
            }
        }
    }
    println!("| total | | {total:.3} | |");
    Ok(())
}
