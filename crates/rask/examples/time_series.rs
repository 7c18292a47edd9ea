//! A time series: hourly taxi revenue and rides with `resample`, smoothed by a 24-hour
//! rolling mean with `rolling`, and the busiest hour of each day.
//!
//! Runs on the bundled `datasets/trips` (see `trip_summary.rs`), or on any directory of the
//! same shape given as the first argument:
//!
//! ```text
//! cargo run --release -p rask --example time_series [TRIPS_DIR]
//! ```
//!
//! In dask.dataframe (pandas semantics: a 24-row window needs 24 values):
//!
//! ```text
//! hourly = trips.assign(rides=1).resample("1h", on="pickup_at")[["fare_amount", "rides"]].sum()
//! hourly["revenue_24h"] = hourly.fare_amount.rolling(24).mean()
//! ```
//!
//! [`SQL`] is the same series in SQL; the test `examples_match_sql` checks that both give the
//! same answer. Like SQL's `GROUP BY`, and unlike pandas, `resample` emits no row for an hour
//! without trips, so the 24-row window spans 24 hours with trips.

use rask::functions::row_number;
use rask::{col, lit, DataFrame, Result, SessionContext, Window, WindowExt};

/// The bundled trips.
pub fn default_trips_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/trips").to_string()
}

/// One row per hour with trips: `pickup_at` (the hour), `revenue` (sum of fares), `rides`,
/// and `revenue_24h`, the mean hourly revenue of the last 24 such hours (NULL for the first
/// 23), in time order.
///
/// # Errors
/// When `trips` lacks a column or reading it fails.
pub fn hourly(trips: &DataFrame) -> Result<DataFrame> {
    trips
        .select(vec![
            col("pickup_at"),
            col("fare_amount").alias("revenue"),
            lit(1i64).alias("rides"),
        ])?
        .resample("1h", "pickup_at")?
        .sum()?
        .assign("revenue_24h", col("revenue"))?
        .rolling(24, "pickup_at")?
        .columns(&["revenue_24h"])
        .mean()
}

/// The same series in SQL, over a table named `trips`.
pub const SQL: &str = "
SELECT pickup_at, revenue, rides,
       CASE WHEN count(revenue) OVER w24 >= 24 THEN avg(revenue) OVER w24 END AS revenue_24h
FROM (SELECT date_trunc('hour', pickup_at) AS pickup_at,
             sum(fare_amount) AS revenue,
             sum(1) AS rides
      FROM trips
      GROUP BY 1) AS hourly
WINDOW w24 AS (ORDER BY pickup_at ROWS BETWEEN 23 PRECEDING AND CURRENT ROW)
ORDER BY pickup_at";

fn main() -> Result<()> {
    let trips_dir = std::env::args().nth(1).unwrap_or_else(default_trips_dir);
    let ctx = SessionContext::new();
    let hourly = hourly(&ctx.read_parquet(&trips_dir)?)?.persist()?;
    println!("Hourly revenue with its 24-hour rolling mean:\n{hourly}");

    // The busiest hour of each day: number the hours of a day by rides, keep the first.
    let by_rides = Window::new()
        .partition_by(["day"])
        .order_by_desc(["rides"])
        .order_by(["pickup_at"]);
    let busiest = hourly
        .assign("day", col("pickup_at").dt().floor("1d")?)?
        .assign("rank", row_number().over(by_rides)?)?
        .query("rank = 1")?
        .select_columns(&["day", "pickup_at", "rides", "revenue"])?
        .sort_values(&["day"], true)?;
    println!("\nThe busiest hour of each day:\n{busiest}");
    Ok(())
}
