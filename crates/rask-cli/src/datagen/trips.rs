//! `rask datagen trips`: a taxi-style trip table for examples and tests.
//!
//! Synthetic trips in the shape of the NYC TLC trip records, one month (January 2024) of
//! pickups. Each value is drawn from a seeded SplitMix64 generator (per partition), so the
//! same seed and partition count give the same files:
//!
//! | column          | type           | values                                                   |
//! |-----------------|----------------|----------------------------------------------------------|
//! | trip_id         | Int64          | 1 ..= N, unique                                          |
//! | vendor          | Utf8           | `CMT` (45%), `VTS` (50%), `DDS` (5%)                     |
//! | pickup_at       | Timestamp(us)  | 2024-01-01 .. 2024-02-01, busier at 8-9h and 17-19h      |
//! | dropoff_at      | Timestamp(us)  | pickup_at + the trip's duration                          |
//! | pickup_zone     | Utf8           | one of 12 zones, weighted (Midtown most, airports least) |
//! | dropoff_zone    | Utf8           | as pickup_zone                                           |
//! | passenger_count | Int64          | 1 ..= 6 (mostly 1), NULL in 2% of rows                   |
//! | trip_distance   | Float64        | miles, 2 decimals; longer to and from airports; 1% 0.0   |
//! | payment_type    | Utf8           | `card` (70%), `cash` (27%), `dispute` (3%)               |
//! | fare_amount     | Float64        | 3.00 + 2.50/mile + 0.50/minute; a third of disputes < 0  |
//! | tip_amount      | Float64        | card: 10-30% of the fare; otherwise 0.0                  |
//!
//! Trip durations follow distance over an hour-dependent speed (slower in rush hours), so
//! `dropoff_at - pickup_at` and the fare carry real signal for the examples to find.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use arrow::array::{
    ArrayRef, Float64Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rask_io::FileFormat;

use super::{seeded_part_batches, write_parts, SplitMix64};
use crate::args::TripsArgs;

/// Rows per generated batch.
const BATCH_SIZE: usize = 64 * 1024;

/// 2024-01-01T00:00:00Z in microseconds since the epoch.
const START_US: i64 = 1_704_067_200_000_000;
/// Days of pickups.
const DAYS: u64 = 31;
const MINUTE_US: i64 = 60_000_000;

/// Zones and their weights (the two airports last).
const ZONES: [(&str, u32); 12] = [
    ("Midtown", 20),
    ("Upper East Side", 14),
    ("Upper West Side", 11),
    ("Chelsea", 9),
    ("Financial District", 8),
    ("East Village", 8),
    ("Harlem", 6),
    ("Williamsburg", 6),
    ("Astoria", 5),
    ("Long Island City", 5),
    ("JFK Airport", 4),
    ("LaGuardia Airport", 4),
];

/// Relative pickup counts per hour of the day.
const HOUR_WEIGHTS: [u32; 24] = [
    3, 2, 1, 1, 1, 2, 4, 7, 10, 10, 8, 7, 7, 7, 7, 8, 9, 11, 12, 10, 8, 7, 6, 5,
];

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TripsSpec {
    /// Rows.
    pub rows: u64,
    /// Seed of the random generator.
    pub seed: u64,
}

/// The schema of the trip table.
pub fn schema() -> SchemaRef {
    let ts = |name| {
        Field::new(
            name,
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        )
    };
    Arc::new(Schema::new(vec![
        Field::new("trip_id", DataType::Int64, false),
        Field::new("vendor", DataType::Utf8, false),
        ts("pickup_at"),
        ts("dropoff_at"),
        Field::new("pickup_zone", DataType::Utf8, false),
        Field::new("dropoff_zone", DataType::Utf8, false),
        Field::new("passenger_count", DataType::Int64, true),
        Field::new("trip_distance", DataType::Float64, false),
        Field::new("payment_type", DataType::Utf8, false),
        Field::new("fare_amount", DataType::Float64, false),
        Field::new("tip_amount", DataType::Float64, false),
    ]))
}

/// The batches of partition `part` (0-based) of `parts`.
pub fn part_batches(
    spec: TripsSpec,
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
        move |rng, first, n| generate_batch(rng, &schema, first, n),
    )
}

/// Index into `weights` drawn with probability proportional to the weight.
fn weighted(rng: &mut SplitMix64, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u32 = weights.clone().sum();
    let mut x = rng.below(u64::from(total)) as u32;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Rows `first_id ..` of one batch.
fn generate_batch(
    rng: &mut SplitMix64,
    schema: &SchemaRef,
    first_row: u64,
    n: usize,
) -> RecordBatch {
    let mut trip_id = Int64Builder::with_capacity(n);
    let mut vendor = StringBuilder::with_capacity(n, n * 3);
    let mut pickup_at = TimestampMicrosecondBuilder::with_capacity(n);
    let mut dropoff_at = TimestampMicrosecondBuilder::with_capacity(n);
    let mut pickup_zone = StringBuilder::with_capacity(n, n * 12);
    let mut dropoff_zone = StringBuilder::with_capacity(n, n * 12);
    let mut passengers = Int64Builder::with_capacity(n);
    let mut distance = Float64Builder::with_capacity(n);
    let mut payment = StringBuilder::with_capacity(n, n * 4);
    let mut fare = Float64Builder::with_capacity(n);
    let mut tip = Float64Builder::with_capacity(n);
    let zone_weights = ZONES.iter().map(|z| z.1);
    for i in 0..n {
        trip_id.append_value((first_row + i as u64 + 1) as i64);
        vendor.append_value(["CMT", "VTS", "DDS"][weighted(rng, [45, 50, 5].into_iter())]);

        let day = rng.below(DAYS) as i64;
        let hour = weighted(rng, HOUR_WEIGHTS.into_iter()) as i64;
        let second_of_hour = rng.below(3600) as i64;
        let pickup = START_US + ((day * 24 + hour) * 3600 + second_of_hour) * 1_000_000;

        let from = weighted(rng, zone_weights.clone());
        let to = weighted(rng, zone_weights.clone());
        let airport = from >= 10 || to >= 10;
        // Exponential distances: -mean * ln(U).
        let u = 1.0 - rng.unit_f64();
        let miles = if airport {
            8.0 - 6.0 * u.ln()
        } else {
            0.3 - 2.2 * u.ln()
        };
        let miles = if rng.below(100) == 0 {
            0.0
        } else {
            round2(miles.min(60.0))
        };
        let rush = matches!(hour, 7..=9 | 16..=19);
        let mph = if rush { 9.0 } else { 14.0 };
        let minutes = 2.0 + miles / mph * 60.0 + rng.unit_f64() * 4.0;
        let dropoff = pickup + (minutes * MINUTE_US as f64) as i64;

        pickup_at.append_value(pickup);
        dropoff_at.append_value(dropoff);
        pickup_zone.append_value(ZONES[from].0);
        dropoff_zone.append_value(ZONES[to].0);
        if rng.below(50) == 0 {
            passengers.append_null();
        } else {
            let p = weighted(rng, [70, 15, 6, 4, 3, 2].into_iter()) as i64 + 1;
            passengers.append_value(p);
        }
        distance.append_value(miles);

        let kind = weighted(rng, [70, 27, 3].into_iter());
        payment.append_value(["card", "cash", "dispute"][kind]);
        let amount = round2(3.0 + 2.5 * miles + 0.5 * minutes);
        let refund = kind == 2 && rng.below(3) == 0;
        fare.append_value(if refund { -amount } else { amount });
        let tip_share = if kind == 0 {
            0.1 + 0.2 * rng.unit_f64()
        } else {
            0.0
        };
        tip.append_value(round2(amount * tip_share));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(trip_id.finish()),
        Arc::new(vendor.finish()),
        Arc::new(pickup_at.finish()),
        Arc::new(dropoff_at.finish()),
        Arc::new(pickup_zone.finish()),
        Arc::new(dropoff_zone.finish()),
        Arc::new(passengers.finish()),
        Arc::new(distance.finish()),
        Arc::new(payment.finish()),
        Arc::new(fare.finish()),
        Arc::new(tip.finish()),
    ];
    RecordBatch::try_new(Arc::clone(schema), columns)
        .expect("the columns are built to match the trips schema")
}

/// Generates the trips into `args.out`, printing a summary line to stderr.
///
/// # Errors
///
/// Errors when the directory or a file cannot be written.
pub fn generate(args: &TripsArgs) -> Result<()> {
    let start = Instant::now();
    let spec = TripsSpec {
        rows: args.rows,
        seed: args.seed,
    };
    let format = FileFormat::from(args.format);
    let rows = write_parts(&args.out, args.parts, format, &schema(), |part| {
        part_batches(spec, part, args.parts, BATCH_SIZE)
    })?;
    eprintln!(
        "trips: {} rows, {} file{}, {:.2}s",
        rows,
        args.parts,
        if args.parts == 1 { "" } else { "s" },
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};

    use super::*;

    fn generate_all(rows: u64, parts: usize, seed: u64) -> Vec<RecordBatch> {
        let spec = TripsSpec { rows, seed };
        (0..parts)
            .flat_map(|p| part_batches(spec, p, parts, 700))
            .collect()
    }

    fn f64s(batches: &[RecordBatch], column: usize) -> Vec<f64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(column)
                    .as_primitive::<Float64Type>()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[test]
    fn shapes_and_ranges() {
        let batches = generate_all(5_000, 3, 1);
        assert_eq!(batches[0].schema(), schema());
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(rows, 5_000);
        let ids: Vec<i64> = batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect();
        assert_eq!(ids, (1..=5_000).collect::<Vec<i64>>());
        let end_us = START_US + DAYS as i64 * 86_400_000_000;
        for b in &batches {
            let p = b.column(2).as_primitive::<TimestampMicrosecondType>();
            let d = b.column(3).as_primitive::<TimestampMicrosecondType>();
            for i in 0..b.num_rows() {
                assert!((START_US..end_us).contains(&p.value(i)));
                // At least two minutes, at most a few hours.
                let minutes = (d.value(i) - p.value(i)) / MINUTE_US;
                assert!((2..600).contains(&minutes), "{minutes}");
            }
        }
        let zones: HashSet<&str> = batches
            .iter()
            .flat_map(|b| b.column(4).as_string::<i32>().iter().flatten())
            .collect();
        assert_eq!(zones.len(), ZONES.len());
        let nulls: usize = batches.iter().map(|b| b.column(6).null_count()).sum();
        assert!((40..170).contains(&nulls), "{nulls} NULL passenger counts");
        let miles = f64s(&batches, 7);
        assert!(miles.iter().all(|m| (0.0..=60.0).contains(m)));
        let zero = miles.iter().filter(|m| **m == 0.0).count();
        assert!((20..90).contains(&zero), "{zero} zero distances");
        let fares = f64s(&batches, 9);
        let refunds = fares.iter().filter(|f| **f < 0.0).count();
        assert!((20..90).contains(&refunds), "{refunds} refunds");
        let tips = f64s(&batches, 10);
        assert!(tips
            .iter()
            .zip(&fares)
            .all(|(t, f)| *t >= 0.0 && *t <= f.abs()));
    }

    #[test]
    fn seeded() {
        assert_eq!(generate_all(2_000, 2, 5), generate_all(2_000, 2, 5));
        assert_ne!(generate_all(2_000, 2, 5), generate_all(2_000, 2, 6));
    }
}
