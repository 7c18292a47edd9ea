//! `DataFrame::to_polars` and `SessionContext::from_polars` (cargo feature `polars`).
#![cfg(feature = "polars")]

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BinaryArray, BooleanArray, Date32Array, Decimal128Array, DictionaryArray,
    DurationMillisecondArray, Float32Array, Float64Array, Int16Array, Int32Array, Int64Array,
    Int8Array, LargeStringArray, ListArray, NullArray, RecordBatch, StringArray, StringViewArray,
    Time64NanosecondArray, TimestampMicrosecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Field, Int32Type, Int64Type, Schema, TimeUnit};
use polars_core::df;
use polars_core::prelude::{
    AnyValue, Categories, ChunkAgg, Column, DataType as PlDataType, NamedFrom, Series,
    TimeUnit as PlTimeUnit, TimeZone,
};
use rask::functions::{count_star, sum};
use rask::{col, lit, Error, SessionContext};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn tpch_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/tpch-sf0.01").to_string()
}

/// All result batches of a rask frame as one.
fn collect_one(df: &rask::DataFrame) -> Result<RecordBatch, Box<dyn std::error::Error>> {
    let batches = df.collect()?;
    Ok(concat_batches(&df.schema(), &batches)?)
}

/// One column per type rask hands to Polars, three rows each, the middle one NULL. The rows
/// are split over two partitions so the Polars columns get two chunks.
fn every_type() -> (Arc<Schema>, Vec<ArrayRef>) {
    let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        None,
        Some(vec![Some(3), None]),
    ]);
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "i8",
            Arc::new(Int8Array::from(vec![Some(-8), None, Some(8)])),
        ),
        (
            "i16",
            Arc::new(Int16Array::from(vec![Some(-16), None, Some(16)])),
        ),
        (
            "i32",
            Arc::new(Int32Array::from(vec![Some(-32), None, Some(32)])),
        ),
        (
            "i64",
            Arc::new(Int64Array::from(vec![Some(-64), None, Some(1 << 40)])),
        ),
        (
            "u8",
            Arc::new(UInt8Array::from(vec![Some(8), None, Some(255)])),
        ),
        (
            "u16",
            Arc::new(UInt16Array::from(vec![Some(16), None, Some(65535)])),
        ),
        (
            "u32",
            Arc::new(UInt32Array::from(vec![Some(32), None, Some(u32::MAX)])),
        ),
        (
            "u64",
            Arc::new(UInt64Array::from(vec![Some(64), None, Some(u64::MAX)])),
        ),
        (
            "f32",
            Arc::new(Float32Array::from(vec![Some(0.5), None, Some(-1.25)])),
        ),
        (
            "f64",
            Arc::new(Float64Array::from(vec![Some(2.5), None, Some(1e300)])),
        ),
        (
            "b",
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        ),
        (
            "s",
            Arc::new(StringArray::from(vec![Some("a"), None, Some("ccc")])),
        ),
        (
            "ls",
            Arc::new(LargeStringArray::from(vec![Some("x"), None, Some("")])),
        ),
        (
            "sv",
            Arc::new(StringViewArray::from(vec![
                Some("short"),
                None,
                Some("a string longer than twelve bytes"),
            ])),
        ),
        (
            "bin",
            Arc::new(BinaryArray::from(vec![
                Some(&b"\x00\x01"[..]),
                None,
                Some(b"z"),
            ])),
        ),
        (
            "d",
            Arc::new(Date32Array::from(vec![Some(19000), None, Some(-1)])),
        ),
        (
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(1_700_000_000_000_000),
                None,
                Some(-1),
            ])),
        ),
        (
            "ts_tz",
            Arc::new(
                TimestampNanosecondArray::from(vec![
                    Some(5),
                    None,
                    Some(1_700_000_000_000_000_000),
                ])
                .with_timezone("Europe/Oslo"),
            ),
        ),
        (
            "ts_s",
            Arc::new(TimestampSecondArray::from(vec![Some(60), None, Some(-2)])),
        ),
        (
            "dur",
            Arc::new(DurationMillisecondArray::from(vec![
                Some(1500),
                None,
                Some(-7),
            ])),
        ),
        (
            "t",
            Arc::new(Time64NanosecondArray::from(vec![
                Some(3_600_000_000_000),
                None,
                Some(1),
            ])),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(vec![Some(12345), None, Some(-5)])
                    .with_precision_and_scale(10, 2)
                    .expect("valid decimal"),
            ),
        ),
        ("n", Arc::new(NullArray::new(3))),
        ("list", Arc::new(list)),
    ];
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), true))
            .collect::<Vec<_>>(),
    ));
    (schema, columns.into_iter().map(|(_, a)| a).collect())
}

#[test]
fn round_trip_every_type() -> TestResult {
    let (schema, arrays) = every_type();
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays.clone())?;
    let ctx = SessionContext::new();
    let df = ctx.from_batches(
        Arc::clone(&schema),
        vec![vec![batch.slice(0, 2)], vec![batch.slice(2, 1)]],
    )?;

    let pl = df.to_polars()?;
    assert_eq!(pl.shape(), (3, schema.fields().len()));

    // The Polars types, column by column.
    let oslo = TimeZone::opt_try_new(Some("Europe/Oslo"))?;
    let expected_types = [
        PlDataType::Int8,
        PlDataType::Int16,
        PlDataType::Int32,
        PlDataType::Int64,
        PlDataType::UInt8,
        PlDataType::UInt16,
        PlDataType::UInt32,
        PlDataType::UInt64,
        PlDataType::Float32,
        PlDataType::Float64,
        PlDataType::Boolean,
        PlDataType::String,
        PlDataType::String,
        PlDataType::String,
        PlDataType::Binary,
        PlDataType::Date,
        PlDataType::Datetime(PlTimeUnit::Microseconds, None),
        PlDataType::Datetime(PlTimeUnit::Nanoseconds, oslo.clone()),
        PlDataType::Datetime(PlTimeUnit::Milliseconds, None),
        PlDataType::Duration(PlTimeUnit::Milliseconds),
        PlDataType::Time,
        PlDataType::Decimal(10, 2),
        PlDataType::Null,
        PlDataType::List(Box::new(PlDataType::Int64)),
    ];
    assert_eq!(pl.dtypes(), expected_types);

    // The Polars values of the first and last rows; every middle row is NULL.
    let tz = oslo.as_ref();
    let expected_values: Vec<(&str, AnyValue, AnyValue)> = vec![
        ("i8", AnyValue::Int8(-8), AnyValue::Int8(8)),
        ("i16", AnyValue::Int16(-16), AnyValue::Int16(16)),
        ("i32", AnyValue::Int32(-32), AnyValue::Int32(32)),
        ("i64", AnyValue::Int64(-64), AnyValue::Int64(1 << 40)),
        ("u8", AnyValue::UInt8(8), AnyValue::UInt8(255)),
        ("u16", AnyValue::UInt16(16), AnyValue::UInt16(65535)),
        ("u32", AnyValue::UInt32(32), AnyValue::UInt32(u32::MAX)),
        ("u64", AnyValue::UInt64(64), AnyValue::UInt64(u64::MAX)),
        ("f32", AnyValue::Float32(0.5), AnyValue::Float32(-1.25)),
        ("f64", AnyValue::Float64(2.5), AnyValue::Float64(1e300)),
        ("b", AnyValue::Boolean(true), AnyValue::Boolean(false)),
        ("s", AnyValue::String("a"), AnyValue::String("ccc")),
        ("ls", AnyValue::String("x"), AnyValue::String("")),
        (
            "sv",
            AnyValue::String("short"),
            AnyValue::String("a string longer than twelve bytes"),
        ),
        ("bin", AnyValue::Binary(b"\x00\x01"), AnyValue::Binary(b"z")),
        ("d", AnyValue::Date(19000), AnyValue::Date(-1)),
        (
            "ts",
            AnyValue::Datetime(1_700_000_000_000_000, PlTimeUnit::Microseconds, None),
            AnyValue::Datetime(-1, PlTimeUnit::Microseconds, None),
        ),
        (
            "ts_tz",
            AnyValue::Datetime(5, PlTimeUnit::Nanoseconds, tz),
            AnyValue::Datetime(1_700_000_000_000_000_000, PlTimeUnit::Nanoseconds, tz),
        ),
        (
            "ts_s",
            AnyValue::Datetime(60_000, PlTimeUnit::Milliseconds, None),
            AnyValue::Datetime(-2_000, PlTimeUnit::Milliseconds, None),
        ),
        (
            "dur",
            AnyValue::Duration(1500, PlTimeUnit::Milliseconds),
            AnyValue::Duration(-7, PlTimeUnit::Milliseconds),
        ),
        ("t", AnyValue::Time(3_600_000_000_000), AnyValue::Time(1)),
        (
            "dec",
            AnyValue::Decimal(12345, 10, 2),
            AnyValue::Decimal(-5, 10, 2),
        ),
        ("n", AnyValue::Null, AnyValue::Null),
    ];
    for (name, first, last) in &expected_values {
        let c = pl.column(name)?;
        assert_eq!(&c.get(0)?, first, "column {name} row 0");
        assert!(c.get(1)?.is_null(), "column {name} row 1");
        assert_eq!(&c.get(2)?, last, "column {name} row 2");
        assert_eq!(
            c.null_count(),
            if *name == "n" { 3 } else { 1 },
            "column {name}"
        );
    }
    let list = pl.column("list")?.list()?;
    let first: Vec<Option<i64>> = list
        .get_as_series(0)
        .expect("row 0")
        .i64()?
        .iter()
        .collect();
    assert_eq!(first, vec![Some(1), Some(2)]);
    assert!(list.get_as_series(1).is_none());
    let last: Vec<Option<i64>> = list
        .get_as_series(2)
        .expect("row 2")
        .i64()?
        .iter()
        .collect();
    assert_eq!(last, vec![Some(3), None]);

    // Back to rask: the types Polars keeps them as, and the values as they started.
    let back = ctx.from_polars(&pl)?;
    let out = collect_one(&back)?;
    let expected_back: Vec<DataType> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "s" | "ls" | "sv" => DataType::Utf8View,
            "bin" => DataType::BinaryView,
            "ts_s" => DataType::Timestamp(TimeUnit::Millisecond, None),
            "list" => DataType::LargeList(Arc::new(Field::new("item", DataType::Int64, true))),
            _ => f.data_type().clone(),
        })
        .collect();
    let got: Vec<DataType> = out
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(got, expected_back);
    let names: Vec<String> = out
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let expected_names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, expected_names);
    for (i, original) in arrays.iter().enumerate() {
        let name = schema.field(i).name();
        let same_type = cast(out.column(i), original.data_type())?;
        assert_eq!(&same_type, original, "column {name} after the round trip");
    }
    Ok(())
}

#[test]
fn polars_frame_filter_groupby() -> TestResult {
    let pl = df!(
        "city" => ["Oslo", "Rome", "Oslo", "Rome", "Lima", "Oslo"],
        "temp" => [3i64, 21, 5, 25, 18, 9],
        "rain" => [Some(1.5f64), None, Some(2.5), Some(0.5), None, Some(4.0)],
    )?;
    let ctx = SessionContext::new();
    let df = ctx.from_polars(&pl)?;
    assert_eq!(df.count()?, 6);

    // DataFrame API: temp > 4, per city: sum(temp), sum(rain), count(*).
    let out = df
        .filter(col("temp").gt(lit(4i64)))?
        .groupby(&["city"])?
        .agg(vec![
            sum(col("temp")).alias("temp"),
            sum(col("rain")).alias("rain"),
            count_star().alias("n"),
        ])?
        .sort_values(&["city"], true)?;
    let got = out.to_polars()?;
    let cities: Vec<Option<&str>> = got.column("city")?.str()?.iter().collect();
    assert_eq!(cities, vec![Some("Lima"), Some("Oslo"), Some("Rome")]);
    let temp: Vec<Option<i64>> = got.column("temp")?.i64()?.iter().collect();
    assert_eq!(temp, vec![Some(18), Some(14), Some(46)]);
    let rain: Vec<Option<f64>> = got.column("rain")?.f64()?.iter().collect();
    assert_eq!(rain, vec![None, Some(6.5), Some(0.5)]);
    let n: Vec<Option<i64>> = got.column("n")?.i64()?.iter().collect();
    assert_eq!(n, vec![Some(1), Some(2), Some(2)]);

    // The same question in SQL, over the imported frame registered as a table.
    ctx.register_batches("weather", df.schema(), df.collect_partitions()?)?;
    let sql = ctx.sql(
        "SELECT city, sum(temp) AS temp FROM weather WHERE rain IS NOT NULL \
         GROUP BY city ORDER BY temp DESC",
    )?;
    let out = collect_one(&sql)?;
    let cities = cast(out.column(0), &DataType::Utf8)?;
    let cities: Vec<Option<&str>> = cities
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("utf8")
        .iter()
        .collect();
    // Rows with rain: Oslo 3 + 5 + 9, Rome 25.
    assert_eq!(cities, vec![Some("Rome"), Some("Oslo")]);
    let temps = cast(out.column(1), &DataType::Int64)?;
    assert_eq!(
        &temps,
        &(Arc::new(Int64Array::from(vec![25, 17])) as ArrayRef)
    );
    Ok(())
}

#[test]
fn polars_chunks_become_partitions() -> TestResult {
    // Two aligned chunks: two partitions, values in order.
    let mut a = df!("k" => [1i64, 2], "v" => ["p", "q"])?;
    a.vstack_mut(&df!("k" => [3i64], "v" => ["r"])?)?;
    assert_eq!(a.first_col_n_chunks(), 2);
    let ctx = SessionContext::new();
    let df = ctx.from_polars(&a)?;
    assert_eq!(df.npartitions(), 2);
    let out = collect_one(&df.sort_values(&["k"], true)?)?;
    assert_eq!(
        out.column(0).as_ref(),
        &Int64Array::from(vec![1, 2, 3]) as &dyn Array
    );
    assert_eq!(
        cast(out.column(1), &DataType::Utf8)?.as_ref(),
        &StringArray::from(vec!["p", "q", "r"]) as &dyn Array
    );

    // Chunks that do not line up across columns are rechunked first.
    let mut k = Series::new("k".into(), &[1i64, 2]);
    k.append(&Series::new("k".into(), &[3i64]))?;
    let v = Series::new("v".into(), &[10i32, 20, 30]);
    let b = polars_core::frame::DataFrame::new(3, vec![Column::from(k), Column::from(v)])?;
    let df = ctx.from_polars(&b)?;
    assert_eq!(df.npartitions(), 1);
    let out = collect_one(&df)?;
    assert_eq!(
        out.column(0).as_ref(),
        &Int64Array::from(vec![1, 2, 3]) as &dyn Array
    );
    assert_eq!(
        out.column(1).as_ref(),
        &Int32Array::from(vec![10, 20, 30]) as &dyn Array
    );
    Ok(())
}

#[test]
fn tpch_partitions_to_polars() -> TestResult {
    let ctx = SessionContext::new();
    ctx.register_data_dir(&tpch_dir())?;

    let nation = ctx.table("nation")?.repartition(3)?;
    assert_eq!(nation.npartitions(), 3);
    let pl = nation.to_polars()?;
    assert_eq!(pl.shape(), (25, 4));
    // n_nationkey is 0..=24.
    assert_eq!(pl.column("n_nationkey")?.i64()?.sum(), Some(300));
    let regions = pl.column("n_regionkey")?.i64()?;
    assert_eq!(regions.iter().filter(|r| *r == Some(1)).count(), 5);
    assert_eq!(pl.column("n_name")?.dtype(), &PlDataType::String);

    let orders = ctx.table("orders")?;
    assert!(orders.npartitions() > 1, "the dataset has several files");
    let pl = orders.to_polars()?;
    assert_eq!(pl.height(), 15_000);
    let expected = collect_one(&ctx.sql("SELECT sum(o_orderkey), sum(o_custkey) FROM orders")?)?;
    let expected: Vec<i64> = (0..2)
        .map(|i| {
            cast(expected.column(i), &DataType::Int64).map(|a| {
                a.as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("int64")
                    .value(0)
            })
        })
        .collect::<Result<_, _>>()?;
    assert_eq!(pl.column("o_orderkey")?.i64()?.sum(), Some(expected[0]));
    assert_eq!(pl.column("o_custkey")?.i64()?.sum(), Some(expected[1]));
    Ok(())
}

#[test]
fn int64_buffers_are_shared_not_copied() -> TestResult {
    let values = Int64Array::from_iter_values(0..1000);
    let rask_ptr = values.values().as_ptr();
    let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(values)])?;
    let ctx = SessionContext::new();

    // rask -> polars: the Polars chunk reads the arrow-rs buffer.
    let pl = ctx.from_batches(schema, vec![vec![batch]])?.to_polars()?;
    let x = pl.column("x")?.i64()?;
    assert_eq!(x.sum(), Some(499_500));
    let chunk = x.downcast_iter().next().expect("one chunk");
    assert_eq!(chunk.values().as_ptr(), rask_ptr);

    // polars -> rask: the arrow-rs array reads the Polars buffer.
    let s = Series::new("y".into(), (0..1000i64).collect::<Vec<_>>());
    let pl_ptr = s
        .i64()?
        .downcast_iter()
        .next()
        .expect("one chunk")
        .values()
        .as_ptr();
    let pl = polars_core::frame::DataFrame::new(1000, vec![Column::from(s)])?;
    let out = ctx.from_polars(&pl)?.collect()?;
    let y = out[0]
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .expect("int64");
    assert_eq!(y.values().as_ptr(), pl_ptr);
    Ok(())
}

#[test]
fn string_views_are_shared_not_copied() -> TestResult {
    let long = "a string longer than the twelve bytes a view holds inline";
    let views = StringViewArray::from(vec![Some(long), None, Some("short")]);
    let rask_ptr = views.data_buffers()[0].as_ptr();
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8View, true)]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(views)])?;
    let ctx = SessionContext::new();

    // rask -> polars.
    let pl = ctx.from_batches(schema, vec![vec![batch]])?.to_polars()?;
    let s = pl.column("s")?.str()?;
    let chunk = s.downcast_iter().next().expect("one chunk");
    assert_eq!(chunk.get(0), Some(long));
    assert_eq!(chunk.data_buffers()[0].as_ptr(), rask_ptr);
    let pl_ptr = chunk.data_buffers()[0].as_ptr();

    // polars -> rask, the same buffer back.
    let out = ctx.from_polars(&pl)?.collect()?;
    let back = out[0]
        .column(0)
        .as_any()
        .downcast_ref::<StringViewArray>()
        .expect("views");
    assert_eq!(back.value(0), long);
    assert_eq!(back.data_buffers()[0].as_ptr(), pl_ptr);
    Ok(())
}

#[test]
fn list_of_nulls_from_polars() -> TestResult {
    // Polars types `[[], [None]]` as List(Null).
    let inner = Series::new_null("".into(), 1);
    let empty = Series::new_null("".into(), 0);
    let lists = Series::new("l".into(), &[empty, inner]);
    assert_eq!(lists.dtype(), &PlDataType::List(Box::new(PlDataType::Null)));
    let pl = polars_core::frame::DataFrame::new(2, vec![Column::from(lists)])?;
    let out = collect_one(&SessionContext::new().from_polars(&pl)?)?;
    let l = out
        .column(0)
        .as_any()
        .downcast_ref::<arrow::array::LargeListArray>()
        .expect("list");
    assert_eq!(l.value_length(0), 0);
    assert_eq!(l.value_length(1), 1);
    assert_eq!(l.value(1).data_type(), &DataType::Null);

    // And back: rask's null lists reach Polars as List(Null).
    let again = SessionContext::new()
        .from_batches(out.schema(), vec![vec![out]])?
        .to_polars()?;
    assert_eq!(
        again.dtypes(),
        vec![PlDataType::List(Box::new(PlDataType::Null))]
    );
    let l = again.column("l")?.list()?;
    let lens: Vec<Option<usize>> = (0..2)
        .map(|i| l.get_as_series(i).map(|s| s.len()))
        .collect();
    assert_eq!(lens, vec![Some(0), Some(1)]);
    Ok(())
}

#[test]
fn empty_frames_keep_columns_and_types() -> TestResult {
    let ctx = SessionContext::new();
    ctx.register_data_dir(&tpch_dir())?;
    let none = ctx
        .table("nation")?
        .filter(col("n_nationkey").lt(lit(0i64)))?;
    let pl = none.to_polars()?;
    assert_eq!(pl.shape(), (0, 4));
    assert_eq!(
        pl.dtypes(),
        vec![
            PlDataType::Int64,
            PlDataType::String,
            PlDataType::Int64,
            PlDataType::String
        ]
    );
    let names: Vec<&str> = pl.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(
        names,
        vec!["n_nationkey", "n_name", "n_regionkey", "n_comment"]
    );

    let back = ctx.from_polars(&pl)?;
    assert_eq!(back.count()?, 0);
    assert_eq!(
        back.columns(),
        vec!["n_nationkey", "n_name", "n_regionkey", "n_comment"]
    );
    let types: Vec<DataType> = back
        .schema()
        .fields()
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    assert_eq!(
        types,
        vec![
            DataType::Int64,
            DataType::Utf8View,
            DataType::Int64,
            DataType::Utf8View
        ]
    );
    Ok(())
}

#[test]
fn dictionary_and_categorical_arrive_as_strings() -> TestResult {
    // A rask dictionary column reaches Polars as String.
    let dict: DictionaryArray<Int32Type> = vec![Some("lo"), None, Some("hi"), Some("lo")]
        .into_iter()
        .collect();
    let schema = Arc::new(Schema::new(vec![Field::new(
        "d",
        dict.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(dict)])?;
    let ctx = SessionContext::new();
    let pl = ctx.from_batches(schema, vec![vec![batch]])?.to_polars()?;
    let d: Vec<Option<&str>> = pl.column("d")?.str()?.iter().collect();
    assert_eq!(d, vec![Some("lo"), None, Some("hi"), Some("lo")]);

    // A Polars Categorical column reaches rask as strings.
    let cat = Series::new("c".into(), &[Some("b"), Some("a"), None, Some("b")])
        .cast(&PlDataType::from_categories(Categories::global()))?;
    assert!(cat.dtype().is_categorical());
    let pl = polars_core::frame::DataFrame::new(4, vec![Column::from(cat)])?;
    let out = collect_one(&ctx.from_polars(&pl)?)?;
    assert_eq!(out.schema().field(0).data_type(), &DataType::Utf8View);
    assert_eq!(
        out.column(0).as_ref(),
        &StringViewArray::from(vec![Some("b"), Some("a"), None, Some("b")]) as &dyn Array
    );
    Ok(())
}

#[test]
fn unsupported_types_are_clear_errors() -> TestResult {
    let ctx = SessionContext::new();

    // rask -> polars: an interval column, a negative-scale decimal.
    let df = ctx.sql("SELECT 1 AS a, INTERVAL '1' DAY AS span")?;
    let err = df.to_polars().expect_err("intervals have no Polars type");
    assert!(matches!(err.root(), Error::NotImplemented(_)), "{err}");
    assert!(err.to_string().contains("span"), "{err}");

    let dec = Decimal128Array::from(vec![1]).with_precision_and_scale(5, -2)?;
    let schema = Arc::new(Schema::new(vec![Field::new(
        "neg",
        dec.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(dec)])?;
    let err = ctx
        .from_batches(schema, vec![vec![batch]])?
        .to_polars()
        .expect_err("Polars decimals have no negative scale");
    assert!(matches!(err.root(), Error::NotImplemented(_)), "{err}");
    assert!(err.to_string().contains("neg"), "{err}");

    // polars -> rask: Int128 has no arrow-rs type; a list of it neither.
    let wide = Series::new("wide".into(), &[1i128, 2]);
    let pl = polars_core::frame::DataFrame::new(2, vec![Column::from(wide)])?;
    let err = ctx.from_polars(&pl).expect_err("no Int128 in arrow-rs");
    assert!(matches!(err.root(), Error::NotImplemented(_)), "{err}");
    assert!(
        err.to_string().contains("wide") && err.to_string().contains("i128"),
        "{err}"
    );

    // A frame without columns.
    let err = ctx
        .from_polars(&polars_core::frame::DataFrame::empty())
        .expect_err("no columns");
    assert!(matches!(err.root(), Error::Plan(_)), "{err}");
    Ok(())
}
