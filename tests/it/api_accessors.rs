//! DataFrame API tests: the `.str()` and `.dt()` accessors and pandas' element-wise methods
//! (`fillna`, `clip`, `round`, `isna`, `notna`, `where_`, `mask`, `between`, `isin`), each on
//! a small table with NULLs in 1 and 3 partitions, against values computed offline with pandas
//! 3.1 (object dtype, so that a missing value stays missing) or DuckDB 1.x where named.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, DictionaryArray, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray, TimestampSecondArray,
};
use arrow::datatypes::{DataType, Field, Int32Type, Schema, TimeUnit};
use rask::{col, lit, DataFrame, Expr, SessionContext};
use rask_tests::{format_rows, split_into};

/// A frame of `columns` plus an `id` (the row number) in `parts` partitions.
fn frame(ctx: &SessionContext, columns: Vec<(&str, ArrayRef)>, parts: usize) -> DataFrame {
    let rows = columns.first().map_or(0, |(_, a)| a.len());
    let mut fields = vec![Field::new("id", DataType::Int64, false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(0..rows as i64))];
    for (name, a) in columns {
        fields.push(Field::new(name, a.data_type().clone(), true));
        arrays.push(a);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays).expect("batch");
    let partitions = split_into(&schema, &[batch], parts).expect("split");
    assert_eq!(partitions.len(), parts);
    ctx.from_batches(schema, partitions).expect("frame")
}

/// Each expression's values in `id` order, formatted as the SQL tests format them.
fn evaluate(df: &DataFrame, exprs: &[(&str, Expr)]) -> Vec<(String, Vec<String>)> {
    let mut select = vec![col("id")];
    select.extend(exprs.iter().map(|(n, e)| e.clone().alias(*n)));
    let batches = df
        .select(select)
        .and_then(|d| d.sort_values(&["id"], true))
        .and_then(|d| d.collect())
        .unwrap_or_else(|e| panic!("query failed: {e}"));
    let rows = format_rows(&batches);
    exprs
        .iter()
        .enumerate()
        .map(|(i, (n, _))| {
            (
                n.to_string(),
                rows.iter().map(|r| r[i + 1].clone()).collect(),
            )
        })
        .collect()
}

/// Runs `exprs` over `columns` in 1 and 3 partitions and compares with `expected`.
fn check(columns: Vec<(&str, ArrayRef)>, exprs: &[(&str, Expr)], expected: &[(&str, &[&str])]) {
    assert_eq!(
        exprs.len(),
        expected.len(),
        "one expectation per expression"
    );
    for parts in [1, 3] {
        let ctx = SessionContext::new();
        let df = frame(&ctx, columns.clone(), parts);
        let got = evaluate(&df, exprs);
        for ((name, values), (want_name, want)) in got.iter().zip(expected) {
            assert_eq!(name, want_name);
            assert_eq!(values, want, "{name} in {parts} partitions");
        }
    }
}

fn strings() -> ArrayRef {
    Arc::new(StringArray::from(vec![
        Some("  Apple pie "),
        Some("banana,split"),
        None,
        Some("Cherry-42"),
        Some("date"),
        Some("ÉCLAIR 7"),
        Some("a,b,,c"),
        Some(""),
        Some("\tx y\n"),
    ]))
}

fn str_exprs() -> Vec<(&'static str, Expr)> {
    let s = || col("s").str();
    vec![
        ("lower", s().lower()),
        ("upper", s().upper()),
        ("len", s().len()),
        ("contains", s().contains(",")),
        ("contains_regex", s().contains_regex("[0-9]")),
        ("startswith", s().startswith("ba")),
        ("endswith", s().endswith("e")),
        ("replace", s().replace(",", ";")),
        (
            "replace_regex",
            s().replace_regex("([a-z])([a-z])", r"\2\1"),
        ),
        ("strip", s().strip(None)),
        ("lstrip", s().lstrip(None)),
        ("rstrip", s().rstrip(None)),
        ("strip_chars", s().strip(Some(" ae"))),
        ("split1", s().split(",", 1)),
        ("split_last", s().split(",", -1)),
        ("slice", s().slice(Some(1), Some(-2))),
        ("slice_neg", s().slice(Some(-3), None)),
        ("match", s().match_("[a-z]+")),
        ("extract", s().extract(r"([A-Za-z]+)[- ]?(\d+)?", 2)),
        ("extract0", s().extract("([aeiou]{1}[a-z])", 1)),
    ]
}

/// pandas 3.1, `s = pd.Series(S, dtype=object)`: `s.str.lower()`, `s.str.upper()`,
/// `s.str.len()`, `s.str.contains(",", regex=False)`, `s.str.contains("[0-9]")`,
/// `s.str.startswith("ba")`, `s.str.endswith("e")`, `s.str.replace(",", ";")`,
/// `s.str.replace("([a-z])([a-z])", r"\2\1", regex=True)`, `s.str.strip()`, `.lstrip()`,
/// `.rstrip()`, `s.str.strip(" ae")`, `s.str.split(",").str[1]`, `.str[-1]`,
/// `s.str.slice(1, -2)`, `s.str.slice(-3)`, `s.str.match("[a-z]+")`,
/// `s.str.extract(r"([A-Za-z]+)[- ]?(\d+)?")[1]`, `s.str.extract("([aeiou]{1}[a-z])",
/// expand=False)`.
const STR_EXPECTED: &[(&str, &[&str])] = &[
    (
        "lower",
        &[
            "  apple pie ",
            "banana,split",
            "NULL",
            "cherry-42",
            "date",
            "éclair 7",
            "a,b,,c",
            "(empty)",
            "\tx y\n",
        ],
    ),
    (
        "upper",
        &[
            "  APPLE PIE ",
            "BANANA,SPLIT",
            "NULL",
            "CHERRY-42",
            "DATE",
            "ÉCLAIR 7",
            "A,B,,C",
            "(empty)",
            "\tX Y\n",
        ],
    ),
    ("len", &["12", "12", "NULL", "9", "4", "8", "6", "0", "5"]),
    (
        "contains",
        &[
            "false", "true", "NULL", "false", "false", "false", "true", "false", "false",
        ],
    ),
    (
        "contains_regex",
        &[
            "false", "false", "NULL", "true", "false", "true", "false", "false", "false",
        ],
    ),
    (
        "startswith",
        &[
            "false", "true", "NULL", "false", "false", "false", "false", "false", "false",
        ],
    ),
    (
        "endswith",
        &[
            "false", "false", "NULL", "false", "true", "false", "false", "false", "false",
        ],
    ),
    (
        "replace",
        &[
            "  Apple pie ",
            "banana;split",
            "NULL",
            "Cherry-42",
            "date",
            "ÉCLAIR 7",
            "a;b;;c",
            "(empty)",
            "\tx y\n",
        ],
    ),
    (
        "replace_regex",
        &[
            "  Appel ipe ",
            "abanan,psilt",
            "NULL",
            "Cehrry-42",
            "adet",
            "ÉCLAIR 7",
            "a,b,,c",
            "(empty)",
            "\tx y\n",
        ],
    ),
    (
        "strip",
        &[
            "Apple pie",
            "banana,split",
            "NULL",
            "Cherry-42",
            "date",
            "ÉCLAIR 7",
            "a,b,,c",
            "(empty)",
            "x y",
        ],
    ),
    (
        "lstrip",
        &[
            "Apple pie ",
            "banana,split",
            "NULL",
            "Cherry-42",
            "date",
            "ÉCLAIR 7",
            "a,b,,c",
            "(empty)",
            "x y\n",
        ],
    ),
    (
        "rstrip",
        &[
            "  Apple pie",
            "banana,split",
            "NULL",
            "Cherry-42",
            "date",
            "ÉCLAIR 7",
            "a,b,,c",
            "(empty)",
            "\tx y",
        ],
    ),
    (
        "strip_chars",
        &[
            "Apple pi",
            "banana,split",
            "NULL",
            "Cherry-42",
            "dat",
            "ÉCLAIR 7",
            ",b,,c",
            "(empty)",
            "\tx y\n",
        ],
    ),
    (
        "split1",
        &[
            "NULL", "split", "NULL", "NULL", "NULL", "NULL", "b", "NULL", "NULL",
        ],
    ),
    (
        "split_last",
        &[
            "  Apple pie ",
            "split",
            "NULL",
            "Cherry-42",
            "date",
            "ÉCLAIR 7",
            "c",
            "(empty)",
            "\tx y\n",
        ],
    ),
    (
        "slice",
        &[
            " Apple pi",
            "anana,spl",
            "NULL",
            "herry-",
            "a",
            "CLAIR",
            ",b,",
            "(empty)",
            "x ",
        ],
    ),
    (
        "slice_neg",
        &[
            "ie ", "lit", "NULL", "-42", "ate", "R 7", ",,c", "(empty)", " y\n",
        ],
    ),
    (
        "match",
        &[
            "false", "true", "NULL", "false", "true", "false", "true", "false", "false",
        ],
    ),
    (
        "extract",
        &[
            "NULL", "NULL", "NULL", "42", "NULL", "7", "NULL", "NULL", "NULL",
        ],
    ),
    (
        "extract0",
        &[
            "ie", "an", "NULL", "er", "at", "NULL", "NULL", "NULL", "NULL",
        ],
    ),
];

#[test]
fn str_accessor_matches_pandas() {
    check(vec![("s", strings())], &str_exprs(), STR_EXPECTED);
}

#[test]
fn str_accessor_on_a_dictionary_column() {
    // The same values dictionary-encoded (a pandas categorical): the same answers.
    let values = StringArray::from(vec![
        Some("  Apple pie "),
        Some("banana,split"),
        None,
        Some("Cherry-42"),
        Some("date"),
        Some("ÉCLAIR 7"),
        Some("a,b,,c"),
        Some(""),
        Some("\tx y\n"),
    ]);
    let dict: DictionaryArray<Int32Type> = values.iter().collect();
    assert!(matches!(dict.data_type(), DataType::Dictionary(_, _)));
    check(vec![("s", Arc::new(dict))], &str_exprs(), STR_EXPECTED);
}

#[test]
fn dictionary_comparisons_filters_and_sql() {
    let dict: DictionaryArray<Int32Type> =
        vec![Some("red"), Some("blue"), None, Some("red"), Some("green")]
            .into_iter()
            .collect();
    let c = || col("c");
    let exprs = vec![
        ("eq", c().eq(lit("red"))),
        ("isin", c().isin(vec![lit("blue"), lit("green")])),
        ("upper", c().str().upper()),
        ("fillna", c().fillna(lit("none"))),
    ];
    // DuckDB, over c VARCHAR: c = 'red', c IN ('blue', 'green'), upper(c), coalesce(c, 'none').
    let expected: &[(&str, &[&str])] = &[
        ("eq", &["true", "false", "NULL", "true", "false"]),
        ("isin", &["false", "true", "NULL", "false", "true"]),
        ("upper", &["RED", "BLUE", "NULL", "RED", "GREEN"]),
        ("fillna", &["red", "blue", "none", "red", "green"]),
    ];
    check(vec![("c", Arc::new(dict.clone()))], &exprs, expected);
    for parts in [1, 3] {
        let ctx = SessionContext::new();
        let df = frame(&ctx, vec![("c", Arc::new(dict.clone()))], parts);
        let n = df
            .filter(c().str().startswith("r"))
            .and_then(|d| d.count())
            .expect("filter");
        assert_eq!(n, 2);
        let schema = df.schema();
        let batches = df.collect_partitions().expect("partitions");
        ctx.register_batches("t", schema, batches)
            .expect("register");
        let rows = ctx
            .sql(
                "SELECT id, upper(c), regexp_replace(c, 'e', 'E', 'g') FROM t \
                 WHERE c <> 'blue' ORDER BY id",
            )
            .and_then(|d| d.collect())
            .expect("sql");
        // DuckDB over the VARCHAR values.
        assert_eq!(
            format_rows(&rows),
            vec![
                vec!["0", "RED", "rEd"],
                vec!["3", "RED", "rEd"],
                vec!["4", "GREEN", "grEEn"]
            ]
        );
    }
}

fn micros(s: &str) -> i64 {
    let text = StringArray::from(vec![s]);
    let t = arrow::compute::cast(&text, &DataType::Timestamp(TimeUnit::Microsecond, None))
        .unwrap_or_else(|e| panic!("bad timestamp {s}: {e}"));
    t.as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
        .value(0)
}

fn timestamps() -> TimestampMicrosecondArray {
    TimestampMicrosecondArray::from(vec![
        Some(micros("2024-03-10 13:44:05.123456")),
        Some(micros("1969-12-31 23:59:59")),
        None,
        Some(micros("2024-02-29 00:00:00")),
        Some(micros("2023-12-31 23:15:30")),
        Some(micros("2000-01-03 07:07:07")),
    ])
}

fn dt_exprs() -> Result<Vec<(&'static str, Expr)>, rask::Error> {
    let t = || col("ts").dt();
    Ok(vec![
        ("year", t().year()),
        ("month", t().month()),
        ("day", t().day()),
        ("hour", t().hour()),
        ("minute", t().minute()),
        ("second", t().second()),
        ("weekday", t().weekday()),
        ("dayofyear", t().dayofyear()),
        ("quarter", t().quarter()),
        ("floor_1h", t().floor("1h")?),
        ("floor_15min", t().floor("15min")?),
        ("floor_1d", t().floor("1D")?),
        ("floor_30s", t().floor("30s")?),
        ("strftime", t().strftime("%Y-%m-%d %H:%M:%S.%f")),
        ("strftime2", t().strftime("%a %b %j %I%p")),
        ("trunc_month", t().trunc("month")),
        ("trunc_week", t().trunc("week")),
        ("trunc_hour", t().trunc("hour")),
        ("trunc_year", t().trunc("year")),
        ("trunc_quarter", t().trunc("quarter")),
    ])
}

/// pandas 3.1 on `ts = pd.Series(pd.to_datetime(T, format="ISO8601"))`: `ts.dt.year` ...
/// `ts.dt.quarter`, `ts.dt.floor("1h" | "15min" | "1D" | "30s")`,
/// `ts.dt.strftime("%Y-%m-%d %H:%M:%S.%f")`, `ts.dt.strftime("%a %b %j %I%p")`; the `trunc_*`
/// rows from DuckDB's `date_trunc('month' | 'week' | 'hour' | 'year' | 'quarter', ts)`.
const DT_EXPECTED: &[(&str, &[&str])] = &[
    ("year", &["2024", "1969", "NULL", "2024", "2023", "2000"]),
    ("month", &["3", "12", "NULL", "2", "12", "1"]),
    ("day", &["10", "31", "NULL", "29", "31", "3"]),
    ("hour", &["13", "23", "NULL", "0", "23", "7"]),
    ("minute", &["44", "59", "NULL", "0", "15", "7"]),
    ("second", &["5", "59", "NULL", "0", "30", "7"]),
    ("weekday", &["6", "2", "NULL", "3", "6", "0"]),
    ("dayofyear", &["70", "365", "NULL", "60", "365", "3"]),
    ("quarter", &["1", "4", "NULL", "1", "4", "1"]),
    (
        "floor_1h",
        &[
            "2024-03-10 13:00:00",
            "1969-12-31 23:00:00",
            "NULL",
            "2024-02-29 00:00:00",
            "2023-12-31 23:00:00",
            "2000-01-03 07:00:00",
        ],
    ),
    (
        "floor_15min",
        &[
            "2024-03-10 13:30:00",
            "1969-12-31 23:45:00",
            "NULL",
            "2024-02-29 00:00:00",
            "2023-12-31 23:15:00",
            "2000-01-03 07:00:00",
        ],
    ),
    (
        "floor_1d",
        &[
            "2024-03-10 00:00:00",
            "1969-12-31 00:00:00",
            "NULL",
            "2024-02-29 00:00:00",
            "2023-12-31 00:00:00",
            "2000-01-03 00:00:00",
        ],
    ),
    (
        "floor_30s",
        &[
            "2024-03-10 13:44:00",
            "1969-12-31 23:59:30",
            "NULL",
            "2024-02-29 00:00:00",
            "2023-12-31 23:15:30",
            "2000-01-03 07:07:00",
        ],
    ),
    (
        "strftime",
        &[
            "2024-03-10 13:44:05.123456",
            "1969-12-31 23:59:59.000000",
            "NULL",
            "2024-02-29 00:00:00.000000",
            "2023-12-31 23:15:30.000000",
            "2000-01-03 07:07:07.000000",
        ],
    ),
    (
        "strftime2",
        &[
            "Sun Mar 070 01PM",
            "Wed Dec 365 11PM",
            "NULL",
            "Thu Feb 060 12AM",
            "Sun Dec 365 11PM",
            "Mon Jan 003 07AM",
        ],
    ),
    (
        "trunc_month",
        &[
            "2024-03-01 00:00:00",
            "1969-12-01 00:00:00",
            "NULL",
            "2024-02-01 00:00:00",
            "2023-12-01 00:00:00",
            "2000-01-01 00:00:00",
        ],
    ),
    (
        "trunc_week",
        &[
            "2024-03-04 00:00:00",
            "1969-12-29 00:00:00",
            "NULL",
            "2024-02-26 00:00:00",
            "2023-12-25 00:00:00",
            "2000-01-03 00:00:00",
        ],
    ),
    (
        "trunc_hour",
        &[
            "2024-03-10 13:00:00",
            "1969-12-31 23:00:00",
            "NULL",
            "2024-02-29 00:00:00",
            "2023-12-31 23:00:00",
            "2000-01-03 07:00:00",
        ],
    ),
    (
        "trunc_year",
        &[
            "2024-01-01 00:00:00",
            "1969-01-01 00:00:00",
            "NULL",
            "2024-01-01 00:00:00",
            "2023-01-01 00:00:00",
            "2000-01-01 00:00:00",
        ],
    ),
    (
        "trunc_quarter",
        &[
            "2024-01-01 00:00:00",
            "1969-10-01 00:00:00",
            "NULL",
            "2024-01-01 00:00:00",
            "2023-10-01 00:00:00",
            "2000-01-01 00:00:00",
        ],
    ),
];

#[test]
fn dt_accessor_matches_pandas() {
    let exprs = dt_exprs().expect("exprs");
    check(vec![("ts", Arc::new(timestamps()))], &exprs, DT_EXPECTED);
}

#[test]
fn dt_accessor_on_other_time_units() {
    // The same instants in seconds (the fraction of the first row dropped): the fields agree.
    let secs = TimestampSecondArray::from(
        timestamps()
            .iter()
            .map(|v| v.map(|v| v.div_euclid(1_000_000)))
            .collect::<Vec<_>>(),
    );
    let t = || col("ts").dt();
    let exprs = vec![
        ("hour", t().hour()),
        ("weekday", t().weekday()),
        ("floor_15min", t().floor("15min").expect("freq")),
    ];
    let expected: &[(&str, &[&str])] = &[DT_EXPECTED[3], DT_EXPECTED[6], DT_EXPECTED[10]];
    check(vec![("ts", Arc::new(secs))], &exprs, expected);
}

#[test]
fn dt_accessor_reads_time_zones_in_local_time() {
    let z = TimestampMicrosecondArray::from(vec![
        Some(micros("2024-03-10 06:30:00")),
        Some(micros("2024-03-10 07:30:00")),
        Some(micros("2024-11-03 05:30:00")),
        Some(micros("2024-11-03 06:30:00")),
        None,
        Some(micros("2024-07-01 03:59:59")),
    ])
    .with_timezone("America/New_York");
    let t = || col("ts").dt();
    let exprs = vec![
        ("tz_year", t().year()),
        ("tz_day", t().day()),
        ("tz_hour", t().hour()),
        ("tz_weekday", t().weekday()),
        ("tz_floor_1h", t().floor("1h").expect("freq")),
        ("tz_floor_1d", t().floor("1D").expect("freq")),
        ("tz_strftime", t().strftime("%Y-%m-%d %H:%M %z")),
    ];
    // pandas 3.1: z = pd.Series(pd.to_datetime(Z, utc=True)).dt.tz_convert("America/New_York");
    // z.dt.year, .day, .hour, .weekday; z.dt.floor("1h" | "1D", ambiguous=True,
    // nonexistent="shift_forward").dt.tz_localize(None) (rask's results carry no zone);
    // z.dt.strftime("%Y-%m-%d %H:%M %z"). Across both DST changes of 2024.
    let expected: &[(&str, &[&str])] = &[
        ("tz_year", &["2024", "2024", "2024", "2024", "NULL", "2024"]),
        ("tz_day", &["10", "10", "3", "3", "NULL", "30"]),
        ("tz_hour", &["1", "3", "1", "1", "NULL", "23"]),
        ("tz_weekday", &["6", "6", "6", "6", "NULL", "6"]),
        (
            "tz_floor_1h",
            &[
                "2024-03-10 01:00:00",
                "2024-03-10 03:00:00",
                "2024-11-03 01:00:00",
                "2024-11-03 01:00:00",
                "NULL",
                "2024-06-30 23:00:00",
            ],
        ),
        (
            "tz_floor_1d",
            &[
                "2024-03-10 00:00:00",
                "2024-03-10 00:00:00",
                "2024-11-03 00:00:00",
                "2024-11-03 00:00:00",
                "NULL",
                "2024-06-30 00:00:00",
            ],
        ),
        (
            "tz_strftime",
            &[
                "2024-03-10 01:30 -0500",
                "2024-03-10 03:30 -0400",
                "2024-11-03 01:30 -0400",
                "2024-11-03 01:30 -0500",
                "NULL",
                "2024-06-30 23:59 -0400",
            ],
        ),
    ];
    check(vec![("ts", Arc::new(z))], &exprs, expected);
}

#[test]
fn dt_accessor_on_dates() {
    let d = Date32Array::from(vec![Some(19792), None, Some(-165)]);
    let t = || col("d").dt();
    let exprs = vec![
        ("date_year", t().year()),
        ("date_month", t().month()),
        ("date_day", t().day()),
        ("date_weekday", t().weekday()),
        ("date_dayofyear", t().dayofyear()),
        ("date_quarter", t().quarter()),
        ("date_hour", t().hour()),
        ("date_strftime", t().strftime("%d/%m/%Y %H:%M")),
        ("date_floor", t().floor("1d").expect("freq")),
    ];
    // pandas 3.1 on pd.to_datetime(["2024-03-10", None, "1969-07-20"]); date_floor is the DATE
    // itself (DuckDB: time_bucket(INTERVAL 1 DAY, d, TIMESTAMP '1970-01-01') of a DATE is a
    // DATE).
    let expected: &[(&str, &[&str])] = &[
        ("date_year", &["2024", "NULL", "1969"]),
        ("date_month", &["3", "NULL", "7"]),
        ("date_day", &["10", "NULL", "20"]),
        ("date_weekday", &["6", "NULL", "6"]),
        ("date_dayofyear", &["70", "NULL", "201"]),
        ("date_quarter", &["1", "NULL", "3"]),
        ("date_hour", &["0", "NULL", "0"]),
        (
            "date_strftime",
            &["10/03/2024 00:00", "NULL", "20/07/1969 00:00"],
        ),
        ("date_floor", &["2024-03-10", "NULL", "1969-07-20"]),
    ];
    check(vec![("d", Arc::new(d))], &exprs, expected);
}

#[test]
fn elementwise_methods_match_pandas_and_duckdb() {
    let x: ArrayRef = Arc::new(Float64Array::from(vec![
        Some(1.5),
        None,
        Some(-3.25),
        Some(10.0),
        Some(2.675),
    ]));
    let c = || col("x");
    let exprs = vec![
        ("fillna", c().fillna(lit(0.0))),
        ("clip", c().clip(Some(lit(0.0)), Some(lit(5.0)))),
        ("clip_lower", c().clip(Some(lit(2.0)), None)),
        ("isna", c().isna()),
        ("notna", c().notna()),
        ("where", c().where_(c().gt(lit(2.0)), lit(-1.0))),
        ("mask", c().mask(c().gt(lit(2.0)), lit(-1.0))),
        ("round1", c().round(1)),
        ("round0", c().round(0)),
        ("between", c().between(lit(0.0), lit(5.0))),
        ("isin", c().isin(vec![lit(1.5), lit(10.0)])),
    ];
    // pandas 3.1 on x = pd.Series([1.5, None, -3.25, 10.0, 2.675]): x.fillna(0),
    // x.clip(0, 5), x.clip(lower=2), x.isna(), x.notna(), x.where(x > 2, -1),
    // x.mask(x > 2, -1). DuckDB: round(x, 1), round(x, 0) (half away from zero: pandas would
    // give -3.2 for -3.25), x BETWEEN 0 AND 5, x IN (1.5, 10.0) (NULL for a NULL x, where
    // pandas says False).
    let expected: &[(&str, &[&str])] = &[
        ("fillna", &["1.5", "0", "-3.25", "10", "2.675"]),
        ("clip", &["1.5", "NULL", "0", "5", "2.675"]),
        ("clip_lower", &["2", "NULL", "2", "10", "2.675"]),
        ("isna", &["false", "true", "false", "false", "false"]),
        ("notna", &["true", "false", "true", "true", "true"]),
        ("where", &["-1", "-1", "-1", "10", "2.675"]),
        ("mask", &["1.5", "NULL", "-3.25", "-1", "-1"]),
        ("round1", &["1.5", "NULL", "-3.3", "10", "2.7"]),
        ("round0", &["2", "NULL", "-3", "10", "3"]),
        ("between", &["true", "NULL", "false", "false", "true"]),
        ("isin", &["true", "NULL", "false", "true", "false"]),
    ];
    check(vec![("x", x)], &exprs, expected);
}

#[test]
fn accessor_errors_are_clear() {
    let ctx = SessionContext::new();
    let df = frame(&ctx, vec![("s", strings())], 3);
    let run = |e: Expr| {
        df.select(vec![e])
            .and_then(|d| d.collect())
            .map(|_| ())
            .expect_err("should fail")
            .to_string()
    };
    let e = run(col("s").str().contains_regex("(unclosed"));
    assert!(e.contains("invalid regular expression '(unclosed'"), "{e}");
    let e = run(col("s").str().extract("(a)", 3));
    assert!(e.contains("group 3 does not exist in pattern '(a)'"), "{e}");
    let e = run(col("s").str().replace_regex("a", r"\5"));
    assert!(e.contains(r"refers to group \5"), "{e}");
    let e = run(col("s").str().split("", 0));
    assert!(e.contains("empty separator"), "{e}");
    let e = col("s")
        .dt()
        .floor("1M")
        .expect_err("months are not fixed")
        .to_string();
    assert!(e.contains("unsupported frequency '1M'"), "{e}");
    // A string column is not a date.
    let e = df
        .select(vec![col("id").dt().strftime("%Y")])
        .map(|_| ())
        .expect_err("not a date")
        .to_string();
    assert!(
        e.contains("strftime() needs a DATE or TIMESTAMP, got Int64"),
        "{e}"
    );
    let ts = frame(&ctx, vec![("ts", Arc::new(timestamps()))], 1);
    let e = ts
        .select(vec![col("ts").dt().strftime("%H %Z")])
        .and_then(|d| d.collect())
        .map(|_| ())
        .expect_err("no zone")
        .to_string();
    assert!(e.contains("needs a TIMESTAMP with a time zone"), "{e}");
    let e = ts
        .select(vec![col("ts").dt().trunc("fortnight")])
        .and_then(|d| d.collect())
        .map(|_| ())
        .expect_err("unknown unit")
        .to_string();
    assert!(e.contains("unknown date part 'fortnight'"), "{e}");
}

#[test]
fn timestamp_type_is_kept_for_floor() {
    let ctx = SessionContext::new();
    let df = frame(&ctx, vec![("ts", Arc::new(timestamps()))], 1);
    let out = df
        .select(vec![col("ts").dt().floor("1h").expect("freq").alias("f")])
        .expect("select");
    assert_eq!(
        out.schema().field(0).data_type(),
        &DataType::Timestamp(TimeUnit::Microsecond, None)
    );
}
