//! `rask datagen h2o-join`: the h2o.ai db-benchmark join tables J1 (x, small, medium, big).
//!
//! The layout is that of db-benchmark's `join-datagen.R` for N rows. There are three key
//! sets, of n = N/1e6, N/1e3 and N keys: distinct integers drawn from 1..=2.5n, split into
//! `x` (90% of n), `l` (10%, only on the left) and `r` (10%, only on the right). Then
//!
//! | table  | rows   | columns                                                        |
//! |--------|--------|----------------------------------------------------------------|
//! | x      | N      | id1, id2 (uniform over x∪l of sets 1, 2), id3 (each key of x∪l of set 3 once), id4..id6 = `id<id1..id3>`, v1 |
//! | small  | N/1e6  | id1 (each key of x∪r of set 1 once), id4, v2                   |
//! | medium | N/1e3  | id1 (uniform over x∪r of set 1), id2 (each of x∪r of set 2 once), id4, id5, v2 |
//! | big    | N      | id1, id2 (uniform over x∪r), id3 (each of x∪r of set 3 once), id4..id6, v2 |
//!
//! id1..id3 are Int64, id4..id6 their strings, v1/v2 floats in [0, 100] with 6 decimals. So a
//! join on id1/id4 matches 90% of the small keys, on id2/id5 90% of medium's, on id3/id6 90%
//! of x's rows once each. "Each key once" and the key sets are affine permutations seeded by
//! `--seed`; the uniform draws come from SplitMix64 seeded per partition. The same seed and
//! partition count give the same files; the values differ from R's, the layout does not.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use arrow::array::{ArrayRef, Float64Builder, Int64Array, RecordBatch, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask_io::FileFormat;

use super::{seeded_part_batches, write_parts, SplitMix64};
use crate::args::H2oJoinArgs;

/// Rows per generated batch.
const BATCH_SIZE: usize = 64 * 1024;

/// A bijection of `0..m`: `i -> (a * i + b) mod m`, `a` coprime to `m`.
#[derive(Debug, Clone, Copy)]
struct Affine {
    m: u64,
    a: u64,
    b: u64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Affine {
    fn new(m: u64, rng: &mut SplitMix64) -> Self {
        let m = m.max(1);
        let mut a = rng.below(m) | 1;
        while gcd(a, m) != 1 {
            a = (a + 2) % m;
        }
        Affine {
            m,
            a,
            b: rng.below(m),
        }
    }

    fn apply(&self, i: u64) -> u64 {
        ((u128::from(self.a) * u128::from(i) + u128::from(self.b)) % u128::from(self.m)) as u64
    }
}

/// One key set of `n` keys: indices `0..nx` are `x`, `nx..n` are `l`, `n..n + nr` are `r`.
#[derive(Debug, Clone, Copy)]
struct KeySet {
    n: u64,
    nx: u64,
    /// Which distinct value of 1..=2.5n each index gets.
    keys: Affine,
}

impl KeySet {
    fn new(n: u64, rng: &mut SplitMix64) -> Self {
        let n = n.max(1);
        let nx = n * 9 / 10;
        // The domain holds x, l and r (r as large as l): at least n + (n - nx) values.
        let m = (n * 5 / 2).max(2 * n - nx);
        KeySet {
            n,
            nx,
            keys: Affine::new(m, rng),
        }
    }

    /// The key of index `i`.
    fn key(&self, i: u64) -> i64 {
        (self.keys.apply(i) + 1) as i64
    }

    /// The `j`-th key of x ∪ r (`j < n`).
    fn right_key(&self, j: u64) -> i64 {
        self.key(if j < self.nx { j } else { j - self.nx + self.n })
    }
}

/// Everything the four tables are generated from.
#[derive(Debug, Clone, Copy)]
struct JoinSpec {
    rows: u64,
    seed: u64,
    sets: [KeySet; 3],
    /// Row order of the "each key once" columns: x.id3, small.id1, medium.id2, big.id3.
    orders: [Affine; 4],
}

impl JoinSpec {
    fn new(rows: u64, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed, u64::MAX);
        let sizes = [rows / 1_000_000, rows / 1_000, rows];
        let sets = sizes.map(|n| KeySet::new(n, &mut rng));
        let orders = [sets[2].n, sets[0].n, sets[1].n, sets[2].n].map(|m| Affine::new(m, &mut rng));
        JoinSpec {
            rows,
            seed,
            sets,
            orders,
        }
    }
}

/// The four tables: name, rows, columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Table {
    X,
    Small,
    Medium,
    Big,
}

impl Table {
    const ALL: [Table; 4] = [Table::X, Table::Small, Table::Medium, Table::Big];

    fn name(self) -> &'static str {
        match self {
            Table::X => "x",
            Table::Small => "small",
            Table::Medium => "medium",
            Table::Big => "big",
        }
    }

    fn rows(self, spec: &JoinSpec) -> u64 {
        match self {
            Table::X | Table::Big => spec.rows,
            Table::Small => spec.sets[0].n,
            Table::Medium => spec.sets[1].n,
        }
    }

    /// How many id columns (id1.., with their strings id4..) the table has.
    fn ids(self) -> usize {
        match self {
            Table::X | Table::Big => 3,
            Table::Small => 1,
            Table::Medium => 2,
        }
    }

    fn schema(self) -> SchemaRef {
        let ids = self.ids();
        let mut fields: Vec<Field> = (1..=ids)
            .map(|i| Field::new(format!("id{i}"), DataType::Int64, false))
            .collect();
        fields.extend((1..=ids).map(|i| Field::new(format!("id{}", i + 3), DataType::Utf8, false)));
        let v = if self == Table::X { "v1" } else { "v2" };
        fields.push(Field::new(v, DataType::Float64, false));
        Arc::new(Schema::new(fields))
    }

    /// Key of id column `c` (0-based) of row `row`.
    fn key(self, spec: &JoinSpec, rng: &mut SplitMix64, c: usize, row: u64) -> i64 {
        let set = &spec.sets[c];
        let once = |order: usize| spec.orders[order].apply(row);
        match (self, c) {
            (Table::X, 2) => set.key(once(0)),
            (Table::X, _) => set.key(rng.below(set.n)),
            (Table::Small, _) => set.right_key(once(1)),
            (Table::Medium, 1) => set.right_key(once(2)),
            (Table::Big, 2) => set.right_key(once(3)),
            (_, _) => set.right_key(rng.below(set.n)),
        }
    }
}

fn generate_batch(
    table: Table,
    spec: &JoinSpec,
    schema: &SchemaRef,
    rng: &mut SplitMix64,
    first_row: u64,
    n: usize,
) -> RecordBatch {
    let ids = table.ids();
    let keys: Vec<Vec<i64>> = (0..ids)
        .map(|c| {
            (0..n as u64)
                .map(|i| table.key(spec, rng, c, first_row + i))
                .collect()
        })
        .collect();
    let mut columns: Vec<ArrayRef> = keys
        .iter()
        .map(|k| Arc::new(Int64Array::from(k.clone())) as ArrayRef)
        .collect();
    let mut buf = String::new();
    for k in &keys {
        let mut b = StringBuilder::with_capacity(n, n * 10);
        for &v in k {
            buf.clear();
            let _ = write!(buf, "id{v}");
            b.append_value(&buf);
        }
        columns.push(Arc::new(b.finish()));
    }
    let mut v = Float64Builder::with_capacity(n);
    for _ in 0..n {
        v.append_value((rng.unit_f64() * 100.0 * 1e6).round() / 1e6);
    }
    columns.push(Arc::new(v.finish()));
    RecordBatch::try_new(Arc::clone(schema), columns)
        .expect("the columns are built to match the table's schema")
}

/// The batches of partition `part` of `parts` of `table`.
fn part_batches(
    table: Table,
    spec: JoinSpec,
    part: usize,
    parts: usize,
) -> impl Iterator<Item = RecordBatch> {
    let schema = table.schema();
    // Each table draws from its own streams.
    let seed = spec.seed ^ (table as u64 + 1).wrapping_mul(0x9E37_79B9);
    seeded_part_batches(
        table.rows(&spec),
        seed,
        part,
        parts,
        BATCH_SIZE,
        move |rng, first, n| generate_batch(table, &spec, &schema, rng, first, n),
    )
}

/// Generates x, small, medium and big into `args.out/<table>`, printing a summary to stderr.
///
/// # Errors
///
/// Errors when a directory or a file cannot be written.
pub fn generate(args: &H2oJoinArgs) -> Result<()> {
    let start = Instant::now();
    let spec = JoinSpec::new(args.rows, args.seed);
    let format = FileFormat::from(args.format);
    let big_parts = args
        .parts
        .unwrap_or(if args.rows >= 1_000_000 { 4 } else { 1 });
    for table in Table::ALL {
        let parts = match table {
            Table::X | Table::Big => big_parts,
            Table::Small | Table::Medium => 1,
        };
        let dir = args.out.join(table.name());
        let rows = write_parts(&dir, parts, format, &table.schema(), |part| {
            part_batches(table, spec, part, parts)
        })?;
        eprintln!("{}: {rows} rows, {parts} file(s)", dir.display());
    }
    eprintln!("h2o join tables in {:.2}s", start.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;

    use super::*;

    fn column(table: Table, spec: JoinSpec, parts: usize, c: usize) -> Vec<i64> {
        (0..parts)
            .flat_map(|p| part_batches(table, spec, p, parts))
            .flat_map(|b| b.column(c).as_primitive::<Int64Type>().values().to_vec())
            .collect()
    }

    #[test]
    fn key_sets_overlap_as_in_db_benchmark() {
        let spec = JoinSpec::new(100_000, 7);
        // x.id3 and big.id3: every key of their side once; 90% shared.
        let x3 = column(Table::X, spec, 3, 2);
        let b3 = column(Table::Big, spec, 2, 2);
        let xs: HashSet<i64> = x3.iter().copied().collect();
        let bs: HashSet<i64> = b3.iter().copied().collect();
        assert_eq!(xs.len(), 100_000);
        assert_eq!(bs.len(), 100_000);
        assert_eq!(xs.intersection(&bs).count(), 90_000);
        assert!(xs.iter().all(|&k| (1..=250_000).contains(&k)));
        // small: n = 1 key set of N/1e6 -> at least one key; medium.id2 each key once.
        let m2 = column(Table::Medium, spec, 1, 1);
        let ms: HashSet<i64> = m2.iter().copied().collect();
        assert_eq!(ms.len(), 100);
        let x2: HashSet<i64> = column(Table::X, spec, 3, 1).into_iter().collect();
        assert_eq!(x2.len(), 100, "x.id2 draws every key of x ∪ l");
        assert_eq!(x2.intersection(&ms).count(), 90);
    }

    #[test]
    fn each_key_once_columns_do_not_depend_on_the_partition_count() {
        let spec = JoinSpec::new(20_000, 3);
        assert_eq!(column(Table::X, spec, 1, 2), column(Table::X, spec, 4, 2));
        assert_eq!(
            column(Table::Big, spec, 1, 2),
            column(Table::Big, spec, 3, 2)
        );
    }
}
