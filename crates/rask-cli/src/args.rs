//! Command-line arguments: the clap derive structs (whose doc comments are the `--help` text)
//! and the small value parsers they use.
//!
//! The structs hold flags as the user wrote them; `main.rs` turns them into a
//! [`rask::SessionConfig`] and the printing options, so that every check of a value happens
//! here, at parse time, with a message that names the flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// rask: a partitioned dataframe query engine.
///
/// Runs SQL over CSV and Parquet files (single files, directories of partitions or globs),
/// one-shot or in an interactive shell, and generates TPC-H and h2o benchmark data.
///
/// Examples:
///
///   rask sql --data ./tpch "SELECT count(*) FROM lineitem"
///
///   rask sql --table t=data/*.parquet --format csv -f report.sql --output report.csv
///
///   rask datagen tpch --sf 0.1 --out ./tpch
#[derive(Debug, Parser)]
#[command(name = "rask", version, about, long_about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `rask`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run SQL over CSV and Parquet files: one-shot with QUERY or -f, else an interactive shell.
    Sql(SqlArgs),
    /// Generate benchmark data sets (TPC-H, h2o groupby) as Parquet or CSV partitions.
    #[command(subcommand)]
    Datagen(DatagenCommand),
}

/// Run SQL over CSV and Parquet files.
///
/// Tables come from --data (every file or subdirectory of a directory becomes a table named
/// after it, extension dropped) and --table NAME=PATH (a file, a directory of partitions or a
/// glob such as 'data/*.parquet'; the format follows the file extension). More tables can be
/// created with CREATE VIEW and CREATE TABLE ... AS, and results written with COPY.
///
/// With QUERY or -f FILE, the statements (separated by ';') run in order and the result of
/// every query is printed; the first error stops the script and rask exits with status 1.
///
/// Without either, rask starts an interactive shell when stdin is a terminal: statements end
/// with ';', Ctrl-C clears the input, Ctrl-D exits, and dot commands (.tables, .schema,
/// .timer, .help) inspect the session. When stdin is not a terminal, its lines are read as a
/// script in the same way, without prompts, and the first error stops it.
///
/// Examples:
///
///   rask sql --data ./tpch "SELECT l_returnflag, count(*) FROM lineitem GROUP BY 1"
///
///   rask sql --table trips='trips/*.parquet' --format ndjson "SELECT * FROM trips LIMIT 5"
///
///   rask sql --data ./tpch --memory-limit 60% -f q1.sql
#[derive(Debug, Args)]
#[command(long_about, verbatim_doc_comment)]
pub struct SqlArgs {
    /// Register a table: NAME=PATH, where PATH is a CSV or Parquet file, a directory of
    /// partition files or a glob. May be repeated.
    #[arg(long = "table", value_name = "NAME=PATH", value_parser = parse_table_arg)]
    pub tables: Vec<TableArg>,

    /// Register every file and subdirectory of DIR as a table named after it (extension
    /// dropped), e.g. DIR/lineitem/ as `lineitem` and DIR/nation.csv as `nation`.
    #[arg(long, value_name = "DIR")]
    pub data: Option<String>,

    /// Read the SQL script to run from FILE instead of QUERY.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "FILE",
        conflicts_with = "query"
    )]
    pub file: Option<PathBuf>,

    /// How results are printed: an aligned `table` with a row-count footer, `csv` (header
    /// line, RFC 4180 quoting, NULL as an empty field), `json` (one array of objects per
    /// query) or `ndjson` (one object per line).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,

    /// Write the results to PATH instead of stdout. The file appears only once every
    /// statement has succeeded (it is written under a temporary name and renamed).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,

    /// Worker threads for the `threads` scheduler [default: the number of CPU cores].
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,

    /// How work is scheduled: `threads` (a pool of --threads workers) or
    /// `single-threaded` (one worker, deterministic order; for debugging).
    #[arg(long, value_enum, default_value_t = SchedulerArg::Threads)]
    pub scheduler: SchedulerArg,

    /// Memory the query may use before operators spill to disk or fail: bytes with an
    /// optional unit (`500MB`, `1.5GiB`, `2g`, ...) or a percentage of physical memory
    /// (`60%`). KB/MB/GB/TB are powers of 1000; KiB/MiB/GiB/TiB and the bare letters
    /// k/m/g/t are powers of 1024 [default: 80% of physical memory]. Sorts, aggregations
    /// and joins that outgrow it spill to --spill-dir.
    #[arg(long, value_name = "SIZE", value_parser = parse_memory_limit_arg)]
    pub memory_limit: Option<usize>,

    /// Never show the progress bar (it appears on stderr, when stderr is a terminal, for
    /// queries running longer than half a second).
    #[arg(long)]
    pub no_progress: bool,

    /// Directory for spill files (a per-query directory is made inside and removed when
    /// the query ends) [default: the system temporary directory].
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,

    /// How spill files are compressed: `lz4` (smaller files, more CPU time) or `none`
    /// (faster where the disk has room and speed to spare).
    #[arg(long, value_enum, value_name = "CODEC", default_value_t = SpillCompressionArg::Lz4)]
    pub spill_compression: SpillCompressionArg,

    /// The SQL to run: one statement or several separated by ';'.
    #[arg(value_name = "QUERY")]
    pub query: Option<String>,
}

/// One `--table NAME=PATH` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableArg {
    /// The table name.
    pub name: String,
    /// The file, directory or glob.
    pub path: String,
}

/// The output formats of `rask sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// An aligned table with a row-count footer.
    Table,
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON array of objects per query.
    Json,
    /// Newline-delimited JSON: one object per row.
    Ndjson,
}

/// Spill file compression, as spelled on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SpillCompressionArg {
    /// LZ4 frames (Arrow IPC compression).
    Lz4,
    /// Uncompressed Arrow IPC.
    None,
}

/// The schedulers, as spelled on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchedulerArg {
    /// A pool of worker threads pulling morsels.
    Threads,
    /// One worker, morsels in a fixed order.
    SingleThreaded,
}

impl From<SchedulerArg> for rask::Scheduler {
    fn from(s: SchedulerArg) -> Self {
        match s {
            SchedulerArg::Threads => rask::Scheduler::Threads,
            SchedulerArg::SingleThreaded => rask::Scheduler::SingleThreaded,
        }
    }
}

/// Generate benchmark data sets.
#[derive(Debug, Subcommand)]
pub enum DatagenCommand {
    /// Generate the 8 TPC-H tables with tpchgen (identical to the reference dbgen) as
    /// OUT/<table>/part-NNNNN.<format>.
    Tpch(TpchArgs),
    /// Generate the h2o.ai db-benchmark groupby table (G1) as OUT/part-NNNNN.<format>.
    H2o(H2oArgs),
    /// Generate a taxi-style trip table (one month of synthetic trips) as
    /// OUT/part-NNNNN.<format>.
    Trips(TripsArgs),
    /// Generate the h2o.ai db-benchmark join tables (J1: x, small, medium, big) as
    /// OUT/<table>/part-NNNNN.<format>.
    H2oJoin(H2oJoinArgs),
}

/// File formats the generators write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    /// Apache Parquet.
    Parquet,
    /// CSV with a header line.
    Csv,
}

impl From<DataFormat> for rask_io::FileFormat {
    fn from(f: DataFormat) -> Self {
        match f {
            DataFormat::Parquet => rask_io::FileFormat::Parquet,
            DataFormat::Csv => rask_io::FileFormat::Csv,
        }
    }
}

/// Generate the TPC-H tables.
///
/// Writes lineitem, orders, customer, part, partsupp, supplier, nation and region, each to
/// OUT/<table>/part-00000.<format> ... (nation and region always as one file). Scale factor 1
/// is about 1 GB of CSV and 6 million lineitem rows. Partitions are generated in parallel;
/// old part-* files in the table directories are removed first.
///
/// Example: rask datagen tpch --sf 0.1 --out ./tpch-sf0.1 --parts 4
#[derive(Debug, Args)]
#[command(long_about, verbatim_doc_comment)]
pub struct TpchArgs {
    /// Scale factor: 1 is about 1 GB of data (6 million lineitem rows), 0.01 about 10 MB.
    #[arg(long, value_name = "SF", value_parser = parse_scale_factor)]
    pub sf: f64,

    /// Output directory; created if missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// File format.
    #[arg(long, value_enum, default_value_t = DataFormat::Parquet)]
    pub format: DataFormat,

    /// Files (partitions) per table; nation and region always get one.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_parts)]
    pub parts: usize,
}

/// Generate the h2o.ai db-benchmark groupby table G1.
///
/// Columns, for N rows and K groups: id1, id2 strings 'id001'..'idK' (K values); id3 strings
/// 'id0000000001'.. (N/K values); id4, id5 integers 1..K; id6 integers 1..N/K; v1 integers
/// 1..5; v2 integers 1..15; v3 floats in [0, 100] with 6 decimals. All drawn uniformly and
/// independently from a seeded generator, so a seed always gives the same data (the values
/// differ from db-benchmark's R and numpy generators, the distributions do not).
///
/// Example: rask datagen h2o --rows 1e7 --groups 100 --out ./G1_1e7_1e2_0_0
#[derive(Debug, Args)]
#[command(long_about, verbatim_doc_comment)]
pub struct H2oArgs {
    /// Number of rows N, e.g. 1e7 or 10000000.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub rows: u64,

    /// Number of groups K of id1, id2, id4 and id5 (id3 and id6 have N/K), e.g. 100 or 1e2.
    #[arg(long, value_name = "K", default_value = "100", value_parser = parse_count)]
    pub groups: u64,

    /// Percentage (0-100) of NULLs in each id and v column.
    #[arg(long, value_name = "PERCENT", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub nas: u8,

    /// Output directory; created if missing. Old part-* files in it are removed first.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// File format.
    #[arg(long, value_enum, default_value_t = DataFormat::Parquet)]
    pub format: DataFormat,

    /// Number of files [default: 4 when N >= 1e6, else 1].
    #[arg(long, value_name = "N", value_parser = parse_parts)]
    pub parts: Option<usize>,

    /// Seed of the random generator.
    #[arg(long, default_value_t = 108)]
    pub seed: u64,
}

/// Generate the h2o.ai db-benchmark join tables.
///
/// Writes OUT/x (N rows: id1, id2, id3 integers, id4, id5, id6 their strings 'id<n>', v1),
/// OUT/small (N/1e6 rows: id1, id4, v2), OUT/medium (N/1e3 rows: id1, id2, id4, id5, v2) and
/// OUT/big (N rows: id1..id6, v2), laid out as db-benchmark's join-datagen.R: 90% of each
/// key set is on both sides, 10% only left, 10% only right; id3 and each right table's last
/// key hold every key of their side once. Seeded: a seed always gives the same data.
///
/// Example: rask datagen h2o-join --rows 1e7 --out ./J1_1e7
#[derive(Debug, Args)]
#[command(long_about, verbatim_doc_comment)]
pub struct H2oJoinArgs {
    /// Number of rows N of x and big, e.g. 1e7.
    #[arg(long, value_name = "N", value_parser = parse_count)]
    pub rows: u64,

    /// Output directory; created if missing. Old part-* files in its table folders are
    /// removed first.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// File format.
    #[arg(long, value_enum, default_value_t = DataFormat::Parquet)]
    pub format: DataFormat,

    /// Files of x and big [default: 4 when N >= 1e6, else 1]; small and medium get one.
    #[arg(long, value_name = "N", value_parser = parse_parts)]
    pub parts: Option<usize>,

    /// Seed of the random generator.
    #[arg(long, default_value_t = 108)]
    pub seed: u64,
}

/// Generate a taxi-style trip table.
///
/// Columns: trip_id (1..N), vendor, pickup_at and dropoff_at (timestamps in January 2024,
/// busier in rush hours), pickup_zone and dropoff_zone (12 weighted zones, two airports),
/// passenger_count (2% NULL), trip_distance (miles), payment_type (card, cash, dispute),
/// fare_amount (negative for some disputes) and tip_amount. All drawn from a seeded
/// generator: a seed and a number of parts always give the same files. The bundled
/// datasets/trips is `--rows 20000 --parts 2`.
///
/// Example: rask datagen trips --rows 1e6 --out ./trips --parts 4
#[derive(Debug, Args)]
#[command(long_about, verbatim_doc_comment)]
pub struct TripsArgs {
    /// Number of rows, e.g. 20000 or 1e6.
    #[arg(long, value_name = "N", default_value = "20000", value_parser = parse_count)]
    pub rows: u64,

    /// Output directory; created if missing. Old part-* files in it are removed first.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// File format.
    #[arg(long, value_enum, default_value_t = DataFormat::Parquet)]
    pub format: DataFormat,

    /// Number of files.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = parse_parts)]
    pub parts: usize,

    /// Seed of the random generator.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
}

/// Parses `NAME=PATH`.
fn parse_table_arg(s: &str) -> Result<TableArg, String> {
    match s.split_once('=') {
        Some((name, path)) if !name.trim().is_empty() && !path.is_empty() => Ok(TableArg {
            name: name.trim().to_string(),
            path: path.to_string(),
        }),
        _ => Err(format!("expected NAME=PATH, got '{s}'")),
    }
}

fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!("expected a number of threads >= 1, got '{s}'")),
    }
}

fn parse_parts(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=100_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a number of parts between 1 and 100000, got '{s}'"
        )),
    }
}

fn parse_scale_factor(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(sf) if sf.is_finite() && sf > 0.0 && sf <= 100_000.0 => Ok(sf),
        _ => Err(format!(
            "expected a scale factor > 0 such as 0.1 or 10, got '{s}'"
        )),
    }
}

/// Parses a positive count written as an integer (`10000000`, `10_000_000`) or in
/// scientific notation (`1e7`, `2.5e6`).
pub fn parse_count(s: &str) -> Result<u64, String> {
    let err = || format!("expected a positive whole number such as 10000000 or 1e7, got '{s}'");
    let cleaned = s.trim().replace('_', "");
    if let Ok(n) = cleaned.parse::<u64>() {
        return if n > 0 { Ok(n) } else { Err(err()) };
    }
    let x: f64 = cleaned.parse().map_err(|_| err())?;
    // 2^53: every whole number up to here is exact in an f64.
    if x.is_finite() && x >= 1.0 && x.fract() == 0.0 && x <= 9_007_199_254_740_992.0 {
        Ok(x as u64)
    } else {
        Err(err())
    }
}

fn parse_memory_limit_arg(s: &str) -> Result<usize, String> {
    parse_memory_limit(s, physical_memory)
}

/// Parses a memory size: bytes with an optional unit, or a percentage of the physical memory
/// that `total` reports (called only for percentages).
///
/// Units are case-insensitive: `B`; `KB`, `MB`, `GB`, `TB` (powers of 1000); `KiB`, `MiB`,
/// `GiB`, `TiB` and the bare `K`, `M`, `G`, `T` (powers of 1024, as in `-m 10g`).
pub fn parse_memory_limit(
    s: &str,
    total: impl FnOnce() -> Result<u64, String>,
) -> Result<usize, String> {
    let text = s.trim();
    let err = || {
        format!(
            "invalid memory size '{s}': expected a number of bytes with an optional unit \
             (500MB, 1.5GiB, 2g) or a percentage of physical memory (60%)"
        )
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| err())?;
    if !value.is_finite() || value <= 0.0 {
        return Err(err());
    }
    let bytes = match unit.trim().to_ascii_lowercase().as_str() {
        "%" => {
            if value > 100.0 {
                return Err(format!(
                    "invalid memory size '{s}': a percentage must be at most 100%"
                ));
            }
            total()? as f64 * value / 100.0
        }
        "" | "b" => value,
        "kb" => value * 1e3,
        "mb" => value * 1e6,
        "gb" => value * 1e9,
        "tb" => value * 1e12,
        "k" | "kib" => value * 1024.0,
        "m" | "mib" => value * 1024f64.powi(2),
        "g" | "gib" => value * 1024f64.powi(3),
        "t" | "tib" => value * 1024f64.powi(4),
        _ => return Err(err()),
    };
    if bytes < 1.0 {
        return Err(format!("invalid memory size '{s}': less than one byte"));
    }
    if bytes >= usize::MAX as f64 {
        return Err(format!("invalid memory size '{s}': too large"));
    }
    Ok(bytes as usize)
}

/// Total physical memory in bytes, from `MemTotal` in `/proc/meminfo`.
fn physical_memory() -> Result<u64, String> {
    let meminfo = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| format!("cannot read /proc/meminfo to compute a percentage of memory: {e}"))?;
    meminfo_total(&meminfo)
        .ok_or_else(|| "cannot find MemTotal in /proc/meminfo; give the size in bytes".to_string())
}

/// Extracts `MemTotal:  16315284 kB` from the text of `/proc/meminfo`, in bytes.
fn meminfo_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | Some("KB") | Some("kb") => n.checked_mul(1024),
        None => Some(n),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<usize, String> {
        parse_memory_limit(s, || Ok(1000 * 1024))
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse("1048576"), Ok(1_048_576));
        assert_eq!(parse("100b"), Ok(100));
        assert_eq!(parse("1GB"), Ok(1_000_000_000));
        assert_eq!(parse("1gb"), Ok(1_000_000_000));
        assert_eq!(parse("500MiB"), Ok(500 * 1024 * 1024));
        assert_eq!(parse("500 MiB"), Ok(500 * 1024 * 1024));
        assert_eq!(parse("2g"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse("2G"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(parse("1.5GiB"), Ok(1536 * 1024 * 1024));
        assert_eq!(parse("64k"), Ok(64 * 1024));
        assert_eq!(parse("3KB"), Ok(3000));
        assert_eq!(parse("60%"), Ok(600 * 1024));
        assert_eq!(parse("100%"), Ok(1000 * 1024));
        assert_eq!(parse(" 1TiB "), Ok(1 << 40));
    }

    #[test]
    fn bad_memory_sizes() {
        for bad in [
            "", "GB", "-1GB", "0", "0%", "1.2.3GB", "12XB", "101%", "1e3", "abc", "0.1",
        ] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
        let err = parse_memory_limit("50%", || Err("no meminfo".into())).unwrap_err();
        assert_eq!(err, "no meminfo");
    }

    #[test]
    fn meminfo() {
        let text = "MemTotal:       16315284 kB\nMemFree:         1234 kB\n";
        assert_eq!(meminfo_total(text), Some(16_315_284 * 1024));
        assert_eq!(meminfo_total("MemFree: 1 kB"), None);
        assert!(physical_memory().is_ok_and(|n| n > 0));
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("1e7"), Ok(10_000_000));
        assert_eq!(parse_count("10000000"), Ok(10_000_000));
        assert_eq!(parse_count("10_000"), Ok(10_000));
        assert_eq!(parse_count("2.5e3"), Ok(2500));
        assert_eq!(parse_count("1E2"), Ok(100));
        for bad in ["0", "-5", "1.5", "1e-3", "inf", "NaN", "x", ""] {
            assert!(parse_count(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn table_args() {
        assert_eq!(
            parse_table_arg("t=data/x=1/*.parquet"),
            Ok(TableArg {
                name: "t".into(),
                path: "data/x=1/*.parquet".into()
            })
        );
        assert!(parse_table_arg("t").is_err());
        assert!(parse_table_arg("=x.csv").is_err());
        assert!(parse_table_arg("t=").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
