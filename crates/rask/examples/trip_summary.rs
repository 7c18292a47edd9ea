//! A taxi-style trip summary: which zones are busiest, how far and how long their trips are,
//! what a fare costs and how well drivers are tipped, in and out of rush hour.
//!
//! Runs on the bundled `datasets/trips` (20,000 synthetic trips of January 2024, made by
//! `rask datagen trips --rows 20000 --parts 2 --out datasets/trips`), or on any directory of
//! the same shape given as the first argument:
//!
//! ```text
//! cargo run --release -p rask --example trip_summary [TRIPS_DIR]
//! ```
//!
//! The dask.dataframe version reads almost the same:
//!
//! ```text
//! trips = dd.read_parquet(path)
//! valid = trips.query("trip_distance > 0 and fare_amount > 0")
//! valid = valid.assign(minutes=(valid.dropoff_at - valid.pickup_at).dt.total_seconds() / 60,
//!                      hour=valid.pickup_at.dt.hour)
//! valid["period"] = valid.hour.between(7, 9) | valid.hour.between(16, 19)  # then map to labels
//! out = valid.groupby(["pickup_zone", "period"]).agg(...)
//! ```
//!
//! [`SQL`] is the same question in SQL; the test `examples_match_sql` checks that both give
//! the same answer.

use rask::functions::{count_star, mean, median, sum};
use rask::{col, lit, DataFrame, Result, SessionContext, SortExpr};

/// The bundled trips.
pub fn default_trips_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/trips").to_string()
}

/// The summary with the DataFrame API: one row per pickup zone and period (`rush` for
/// pickups at 7-9h and 16-19h, else `off-peak`), busiest first.
///
/// # Errors
/// When `trips` lacks a column or reading it fails.
pub fn summary(trips: &DataFrame) -> Result<DataFrame> {
    let micros = arrow::datatypes::DataType::Int64;
    let hour = col("pickup_at").dt().hour();
    let rush = hour
        .clone()
        .between(lit(7i64), lit(9i64))
        .or(hour.between(lit(16i64), lit(19i64)));
    trips
        // Zero-mile trips and refunds are not rides.
        .query("trip_distance > 0 AND fare_amount > 0")?
        .assign(
            "minutes",
            col("dropoff_at")
                .cast(micros.clone())
                .sub(col("pickup_at").cast(micros))
                .div(lit(60_000_000.0)),
        )?
        .assign("period", lit("rush").where_(rush, lit("off-peak")))?
        .groupby(&["pickup_zone", "period"])?
        .agg(vec![
            count_star().alias("trips"),
            mean(col("trip_distance")).alias("avg_miles"),
            mean(col("minutes")).alias("avg_minutes"),
            median(col("fare_amount")).alias("median_fare"),
            sum(col("tip_amount")).alias("tips"),
            sum(col("fare_amount")).alias("fares"),
        ])?
        .assign("tip_rate", col("tips").div(col("fares")))?
        .assign(
            "mph",
            col("avg_miles").div(col("avg_minutes").div(lit(60.0))),
        )?
        .drop(&["tips", "fares"])?
        .sort(vec![
            SortExpr::new(col("trips"), false),
            SortExpr::new(col("pickup_zone"), true),
            SortExpr::new(col("period"), true),
        ])
}

/// The same summary in SQL, over a table named `trips`.
pub const SQL: &str = "
SELECT pickup_zone, period,
       count(*) AS trips,
       avg(trip_distance) AS avg_miles,
       avg(minutes) AS avg_minutes,
       median(fare_amount) AS median_fare,
       sum(tip_amount) / sum(fare_amount) AS tip_rate,
       avg(trip_distance) / (avg(minutes) / 60) AS mph
FROM (
    SELECT *,
           (CAST(dropoff_at AS BIGINT) - CAST(pickup_at AS BIGINT)) / 60000000.0 AS minutes,
           CASE WHEN extract(hour FROM pickup_at) BETWEEN 7 AND 9
                  OR extract(hour FROM pickup_at) BETWEEN 16 AND 19
                THEN 'rush' ELSE 'off-peak' END AS period
    FROM trips
    WHERE trip_distance > 0 AND fare_amount > 0
) AS t
GROUP BY pickup_zone, period
ORDER BY trips DESC, pickup_zone, period";

fn main() -> Result<()> {
    let trips_dir = std::env::args().nth(1).unwrap_or_else(default_trips_dir);
    let ctx = SessionContext::new();
    let trips = ctx.read_parquet(&trips_dir)?;
    println!(
        "Trips by pickup zone and period, busiest first:\n{}",
        summary(&trips)?
    );
    println!(
        "\nPayment types:\n{}",
        trips.value_counts(&["payment_type"])?
    );
    println!(
        "\nThe five longest trips:\n{}",
        trips.nlargest(5, &["trip_distance"])?.select_columns(&[
            "trip_id",
            "pickup_zone",
            "dropoff_zone",
            "trip_distance",
            "fare_amount"
        ])?
    );
    Ok(())
}
