//! A sales cube: revenue by customer region and order year, as a pivot table, joined from
//! the TPC-H tables the way a sales analyst would from an orders warehouse.
//!
//! Runs on the bundled TPC-H scale factor 0.01 data (`datasets/tpch-sf0.01`, made by
//! tpchgen; see `datasets/README.md`), or on any TPC-H Parquet directory given as the first
//! argument, such as one made by `rask datagen tpch --sf 1 --out ./tpch-sf1`:
//!
//! ```text
//! cargo run --release -p rask --example sales_cube [TPCH_DIR]
//! ```
//!
//! In dask.dataframe:
//!
//! ```text
//! sales = (lineitem.merge(orders, left_on="l_orderkey", right_on="o_orderkey")
//!          .merge(customer, left_on="o_custkey", right_on="c_custkey") ...)
//! sales = sales.assign(revenue=sales.l_extendedprice * (1 - sales.l_discount),
//!                      year=sales.o_orderdate.dt.year)
//! cube = sales.pivot_table(index="r_name", columns="year", values="revenue", aggfunc="sum")
//! ```
//!
//! [`sql`] is the same cube in SQL; the test `examples_match_sql` checks that both give the
//! same answer (revenue is a DECIMAL, so the sums agree to the cent).

use rask::{col, lit, DataFrame, Result, SessionContext};

/// The bundled TPC-H data.
pub fn default_tpch_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/tpch-sf0.01").to_string()
}

/// Every line item with its revenue, order year, customer nation and region, from the
/// TPC-H tables registered in `ctx` (`lineitem`, `orders`, `customer`, `nation`, `region`).
///
/// # Errors
/// When a table is not registered in `ctx` or lacks a column.
pub fn sales(ctx: &SessionContext) -> Result<DataFrame> {
    let table = |name: &str| ctx.table(name);
    table("lineitem")?
        .merge_on(&table("orders")?, "inner", &["l_orderkey"], &["o_orderkey"])?
        .merge_on(&table("customer")?, "inner", &["o_custkey"], &["c_custkey"])?
        .merge_on(
            &table("nation")?,
            "inner",
            &["c_nationkey"],
            &["n_nationkey"],
        )?
        .merge_on(
            &table("region")?,
            "inner",
            &["n_regionkey"],
            &["r_regionkey"],
        )?
        .assign(
            "revenue",
            col("l_extendedprice").mul(lit(1i64).sub(col("l_discount"))),
        )?
        .assign("year", col("o_orderdate").dt().year())
}

/// Revenue by region (rows) and order year (columns), with the DataFrame API.
///
/// # Errors
/// As [`sales`].
pub fn revenue_cube(ctx: &SessionContext) -> Result<DataFrame> {
    sales(ctx)?.pivot_table(&["r_name"], "year", "revenue", "sum")
}

/// The same cube in SQL over the registered TPC-H tables, one column per year in `years`
/// (a pivot's columns come from the data; the caller asks for the distinct years first).
pub fn sql(years: &[i64]) -> String {
    let columns: Vec<String> = years
        .iter()
        .map(|y| format!("sum(CASE WHEN year = {y} THEN revenue END) AS \"{y}\""))
        .collect();
    format!(
        "SELECT r_name, {}
         FROM (SELECT r_name, extract(year FROM o_orderdate) AS year,
                      l_extendedprice * (1 - l_discount) AS revenue
               FROM lineitem
               JOIN orders ON l_orderkey = o_orderkey
               JOIN customer ON o_custkey = c_custkey
               JOIN nation ON c_nationkey = n_nationkey
               JOIN region ON n_regionkey = r_regionkey) AS s
         GROUP BY r_name
         ORDER BY r_name",
        columns.join(", ")
    )
}

fn main() -> Result<()> {
    let tpch_dir = std::env::args().nth(1).unwrap_or_else(default_tpch_dir);
    let ctx = SessionContext::new();
    // One table per subdirectory: lineitem, orders, customer, ...
    ctx.register_data_dir(&tpch_dir)?;
    println!("Revenue by region and year:\n{}", revenue_cube(&ctx)?);

    // The same sales, another cut: the average discount by ship mode and order priority.
    let discounts =
        sales(&ctx)?.pivot_table(&["l_shipmode"], "o_orderpriority", "l_discount", "mean")?;
    println!("\nAverage discount by ship mode and order priority:\n{discounts}");
    Ok(())
}
