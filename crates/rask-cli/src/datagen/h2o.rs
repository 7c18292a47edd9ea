//! `rask datagen h2o`: the h2o.ai db-benchmark groupby table G1.
//!
//! The distributions are those of db-benchmark's `groupby-datagen.R`, for N rows and K
//! groups, every value drawn uniformly and independently:
//!
//! | column   | type    | values                                  |
//! |----------|---------|-----------------------------------------|
//! | id1, id2 | Utf8    | `id001` ..= `idK` (`id%03d`)            |
//! | id3      | Utf8    | `id0000000001` ..= (`id%010d` of 1..=N/K) |
//! | id4, id5 | Int64   | 1 ..= K                                 |
//! | id6      | Int64   | 1 ..= N/K                               |
//! | v1       | Int64   | 1 ..= 5                                 |
//! | v2       | Int64   | 1 ..= 15                                |
//! | v3       | Float64 | [0, 100], rounded to 6 decimals         |
//!
//! With `--nas P`, each value of every column is NULL with probability P%.
//!
//! The generator is SplitMix64, seeded per partition from the seed and the partition
//! number: the same seed and partition count give the same files. The values differ from
//! the R and numpy generators; only their distributions match.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use arrow::array::{ArrayRef, Float64Builder, Int64Builder, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask_io::FileFormat;

use super::{seeded_part_batches, write_parts, SplitMix64};
use crate::args::H2oArgs;

/// Rows per generated batch.
const BATCH_SIZE: usize = 64 * 1024;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H2oSpec {
    /// Rows N.
    pub rows: u64,
    /// Groups K.
    pub groups: u64,
    /// Percentage of NULLs, 0..=100.
    pub nas: u8,
    /// Seed of the random generator.
    pub seed: u64,
}

impl H2oSpec {
    /// The cardinality of id3 and id6: N/K, at least 1.
    fn small_groups(&self) -> u64 {
        (self.rows / self.groups.max(1)).max(1)
    }

    /// The db-benchmark name of the data set, e.g. `G1_1e7_1e2_0_0`.
    pub fn name(&self) -> String {
        fn short(x: u64) -> String {
            let digits = x.to_string();
            match digits.strip_prefix('1') {
                Some(zeros) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => {
                    format!("1e{}", zeros.len())
                }
                _ => digits,
            }
        }
        format!(
            "G1_{}_{}_{}_0",
            short(self.rows),
            short(self.groups),
            self.nas
        )
    }
}

/// The schema of G1.
pub fn schema() -> SchemaRef {
    let string = |name| Field::new(name, DataType::Utf8, true);
    let int = |name| Field::new(name, DataType::Int64, true);
    Arc::new(Schema::new(vec![
        string("id1"),
        string("id2"),
        string("id3"),
        int("id4"),
        int("id5"),
        int("id6"),
        int("v1"),
        int("v2"),
        Field::new("v3", DataType::Float64, true),
    ]))
}

/// The batches of partition `part` (0-based) of `parts`.
pub fn part_batches(
    spec: H2oSpec,
    part: usize,
    parts: usize,
    batch_size: usize,
) -> impl Iterator<Item = RecordBatch> {
    let schema = schema();
    seeded_part_batches(
        spec.rows,
        spec.seed,
        part,
        parts,
        batch_size,
        move |rng, _, n| generate_batch(&spec, rng, &schema, n),
    )
}

fn generate_batch(
    spec: &H2oSpec,
    rng: &mut SplitMix64,
    schema: &SchemaRef,
    n: usize,
) -> RecordBatch {
    let k = spec.groups.max(1);
    let nk = spec.small_groups();
    let null_threshold = f64::from(spec.nas) / 100.0;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(id_strings(rng, n, k, 3, null_threshold)),
        Arc::new(id_strings(rng, n, k, 3, null_threshold)),
        Arc::new(id_strings(rng, n, nk, 10, null_threshold)),
        Arc::new(ints(rng, n, k, null_threshold)),
        Arc::new(ints(rng, n, k, null_threshold)),
        Arc::new(ints(rng, n, nk, null_threshold)),
        Arc::new(ints(rng, n, 5, null_threshold)),
        Arc::new(ints(rng, n, 15, null_threshold)),
        Arc::new(floats(rng, n, null_threshold)),
    ];
    RecordBatch::try_new(Arc::clone(schema), columns)
        .expect("the columns are built to match the G1 schema")
}

/// `id` followed by a uniform integer in 1..=card, zero-padded to `width` digits.
fn id_strings(
    rng: &mut SplitMix64,
    n: usize,
    card: u64,
    width: usize,
    null_threshold: f64,
) -> arrow::array::StringArray {
    let mut builder = StringBuilder::with_capacity(n, n * (width + 2));
    let mut buf = String::with_capacity(width + 2);
    for _ in 0..n {
        if rng.is_null(null_threshold) {
            builder.append_null();
        } else {
            buf.clear();
            let _ = write!(buf, "id{:0width$}", rng.below(card) + 1);
            builder.append_value(&buf);
        }
    }
    builder.finish()
}

/// Uniform integers in 1..=card.
fn ints(
    rng: &mut SplitMix64,
    n: usize,
    card: u64,
    null_threshold: f64,
) -> arrow::array::Int64Array {
    let mut builder = Int64Builder::with_capacity(n);
    for _ in 0..n {
        if rng.is_null(null_threshold) {
            builder.append_null();
        } else {
            // card <= u64 rows, which fits an i64 for any N we can generate.
            builder.append_value((rng.below(card) + 1) as i64);
        }
    }
    builder.finish()
}

/// Uniform floats in [0, 100), rounded to 6 decimals (so 100.0 itself can appear).
fn floats(rng: &mut SplitMix64, n: usize, null_threshold: f64) -> arrow::array::Float64Array {
    let mut builder = Float64Builder::with_capacity(n);
    for _ in 0..n {
        if rng.is_null(null_threshold) {
            builder.append_null();
        } else {
            let v = rng.unit_f64() * 100.0;
            builder.append_value((v * 1e6).round() / 1e6);
        }
    }
    builder.finish()
}

/// Generates G1 into `args.out`, printing a summary line to stderr.
///
/// # Errors
///
/// Errors when the directory or a file cannot be written.
pub fn generate(args: &H2oArgs) -> Result<()> {
    let start = Instant::now();
    let spec = H2oSpec {
        rows: args.rows,
        groups: args.groups,
        nas: args.nas,
        seed: args.seed,
    };
    let parts = args
        .parts
        .unwrap_or(if args.rows >= 1_000_000 { 4 } else { 1 });
    let format = FileFormat::from(args.format);
    let schema = schema();
    let rows = write_parts(&args.out, parts, format, &schema, |part| {
        part_batches(spec, part, parts, BATCH_SIZE)
    })?;
    eprintln!(
        "{}: {} rows, {} file{}, {:.2}s",
        spec.name(),
        rows,
        parts,
        if parts == 1 { "" } else { "s" },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use crate::datagen::part_range;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int64Type};

    use super::*;

    fn spec(rows: u64, groups: u64, nas: u8) -> H2oSpec {
        H2oSpec {
            rows,
            groups,
            nas,
            seed: 108,
        }
    }

    fn generate_all(spec: H2oSpec, parts: usize) -> Vec<RecordBatch> {
        (0..parts)
            .flat_map(|p| part_batches(spec, p, parts, 1000))
            .collect()
    }

    fn strings(batches: &[RecordBatch], column: usize) -> HashSet<String> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(column)
                    .as_string::<i32>()
                    .iter()
                    .flatten()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn ints(batches: &[RecordBatch], column: usize) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(column)
                    .as_primitive::<Int64Type>()
                    .iter()
                    .flatten()
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn row_counts_and_partitions() {
        for parts in [1, 3, 7] {
            let batches = generate_all(spec(10_001, 10, 0), parts);
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            assert_eq!(rows, 10_001, "{parts} parts");
            assert!(batches.iter().all(|b| b.num_rows() <= 1000));
        }
        assert_eq!(part_range(10, 0, 3), (0, 4));
        assert_eq!(part_range(10, 1, 3), (4, 7));
        assert_eq!(part_range(10, 2, 3), (7, 10));
        assert_eq!(part_range(2, 3, 4), (2, 2));
    }

    #[test]
    fn values_and_cardinalities() {
        let (n, k) = (20_000, 10);
        let batches = generate_all(spec(n, k, 0), 2);
        assert_eq!(batches[0].schema(), schema());
        assert!(batches
            .iter()
            .all(|b| b.columns().iter().all(|c| c.null_count() == 0)));

        let id1 = strings(&batches, 0);
        let expected: HashSet<String> = (1..=k).map(|i| format!("id{i:03}")).collect();
        assert_eq!(id1, expected);
        assert_eq!(strings(&batches, 1), expected);

        let id3 = strings(&batches, 2);
        assert!(id3.iter().all(|s| s.len() == 12 && s.starts_with("id")));
        // 20 000 draws from 2 000 values: all but a handful appear.
        assert!(id3.len() > 1_950 && id3.len() <= 2_000, "{}", id3.len());
        assert!(id3.contains("id0000000001") && id3.contains("id0000002000"));

        for (column, max, distinct) in [(3, 10, 10), (4, 10, 10), (6, 5, 5), (7, 15, 15)] {
            let values = ints(&batches, column);
            assert_eq!(values.len(), n as usize);
            assert!(
                values.iter().all(|v| (1..=max).contains(v)),
                "column {column}"
            );
            let seen: HashSet<_> = values.iter().collect();
            assert_eq!(seen.len(), distinct, "column {column}");
        }
        let id6 = ints(&batches, 5);
        assert!(id6.iter().all(|v| (1..=2_000).contains(v)));

        let v3: Vec<f64> = batches
            .iter()
            .flat_map(|b| b.column(8).as_primitive::<Float64Type>().values().to_vec())
            .collect();
        assert!(v3.iter().all(|v| (0.0..=100.0).contains(v)));
        assert!(v3
            .iter()
            .all(|v| ((v * 1e6).round() - v * 1e6).abs() < 1e-6));
        let mean = v3.iter().sum::<f64>() / v3.len() as f64;
        assert!((mean - 50.0).abs() < 1.0, "mean {mean}");
    }

    #[test]
    fn nulls() {
        let batches = generate_all(spec(20_000, 10, 10), 1);
        for column in 0..9 {
            let nulls: usize = batches.iter().map(|b| b.column(column).null_count()).sum();
            // 10% of 20 000 = 2 000, give or take a few standard deviations (~42).
            assert!((1_800..2_200).contains(&nulls), "column {column}: {nulls}");
        }
    }

    #[test]
    fn seeded() {
        let a = generate_all(spec(3_000, 10, 5), 2);
        let b = generate_all(spec(3_000, 10, 5), 2);
        assert_eq!(a, b);
        let c = generate_all(
            H2oSpec {
                seed: 7,
                ..spec(3_000, 10, 5)
            },
            2,
        );
        assert_ne!(a, c);
    }

    #[test]
    fn names() {
        assert_eq!(spec(10_000_000, 100, 0).name(), "G1_1e7_1e2_0_0");
        assert_eq!(spec(12_345, 10, 5).name(), "G1_12345_1e1_5_0");
        assert_eq!(spec(1, 1, 0).name(), "G1_1_1_0_0");
    }
}
