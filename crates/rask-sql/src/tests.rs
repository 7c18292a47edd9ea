//! Binder tests over a mock catalog.

use std::any::Any;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use rask_common::{plan_err, Error, Result, ScalarValue};
use rask_expr::{LogicalPlan, LogicalPlanBuilder, TableSource};

use crate::{sql_to_statements, SqlCatalog, Statement};

#[derive(Debug)]
pub(crate) struct MemTable(pub(crate) SchemaRef);

impl TableSource for MemTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.0)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn npartitions(&self) -> usize {
        1
    }
}

pub(crate) struct MockCatalog {
    pub(crate) tables: Vec<(String, Arc<LogicalPlan>)>,
}

pub(crate) fn scan(name: &str, fields: Vec<Field>) -> Arc<LogicalPlan> {
    let src: Arc<dyn TableSource> = Arc::new(MemTable(Arc::new(Schema::new(fields))));
    LogicalPlanBuilder::scan(name, src).unwrap().build()
}

fn t_fields() -> Vec<Field> {
    vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Utf8, true),
        Field::new("c", DataType::Float64, true),
        Field::new("d", DataType::Date32, true),
        Field::new("e", DataType::Decimal128(12, 2), true),
    ]
}

impl MockCatalog {
    pub(crate) fn new() -> Self {
        MockCatalog {
            tables: vec![
                ("t".into(), scan("t", t_fields())),
                (
                    "lineitem".into(),
                    scan(
                        "lineitem",
                        vec![
                            Field::new("l_orderkey", DataType::Int64, false),
                            Field::new("l_quantity", DataType::Decimal128(15, 2), false),
                            Field::new("l_extendedprice", DataType::Decimal128(15, 2), false),
                            Field::new("l_discount", DataType::Decimal128(15, 2), false),
                            Field::new("l_tax", DataType::Decimal128(15, 2), false),
                            Field::new("l_returnflag", DataType::Utf8, false),
                            Field::new("l_linestatus", DataType::Utf8, false),
                            Field::new("l_shipdate", DataType::Date32, false),
                        ],
                    ),
                ),
            ],
        }
    }
}

impl SqlCatalog for MockCatalog {
    fn resolve_table(&self, name: &str) -> Result<Option<Arc<LogicalPlan>>> {
        Ok(self
            .tables
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, p)| Arc::clone(p)))
    }
    fn table_function(
        &self,
        name: &str,
        args: &[ScalarValue],
        named: &[(String, ScalarValue)],
    ) -> Result<Arc<LogicalPlan>> {
        match name {
            "read_csv" | "read_parquet" | "read_csv_auto" => {
                let path = args.first().and_then(|a| a.as_str()).unwrap_or("?");
                let opts: Vec<String> = named.iter().map(|(k, v)| format!("{k}={v}")).collect();
                Ok(scan(
                    &format!("{name}({path}; {})", opts.join(",")),
                    t_fields(),
                ))
            }
            _ => plan_err!("unknown table function {name}"),
        }
    }
    fn path_table(&self, path: &str) -> Result<Arc<LogicalPlan>> {
        Ok(scan(path, t_fields()))
    }
    fn table_names(&self) -> Vec<String> {
        self.tables.iter().map(|(n, _)| n.clone()).collect()
    }
}

fn stmt(sql: &str) -> Result<Statement> {
    let mut v = sql_to_statements(sql, &MockCatalog::new())?;
    assert_eq!(v.len(), 1, "{sql}");
    Ok(v.remove(0))
}

fn query(sql: &str) -> Result<Arc<LogicalPlan>> {
    match stmt(sql)? {
        Statement::Query(p) => Ok(p),
        other => panic!("not a query: {other:?}"),
    }
}

/// The indented plan followed by `schema: ...`.
fn plan(sql: &str) -> String {
    match query(sql) {
        Ok(p) => format!("{}schema: {}", p.display_indent(), p.schema()),
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn err(sql: &str) -> Error {
    match query(sql) {
        Ok(p) => panic!("expected an error for {sql}, got\n{}", p.display_indent()),
        Err(e) => e,
    }
}

fn schema_of(sql: &str) -> String {
    query(sql).unwrap().schema().to_string()
}

#[test]
fn simple_select_where() {
    assert_eq!(
        plan("SELECT a, b AS x FROM t WHERE a > 1 AND b <> 'z'"),
        "Projection: a, b AS x\n  Filter: a > 1 AND b <> 'z'\n    TableScan: t\nschema: t.a:Int64, x:Utf8"
    );
    // Qualified names, case-insensitive names, the canonical spelling is used.
    assert_eq!(
        plan("select T.A from T where t.B = 'x'"),
        "Projection: t.a\n  Filter: t.b = 'x'\n    TableScan: t\nschema: t.a:Int64"
    );
}

#[test]
fn tpch_q1_shape() {
    let sql = "SELECT l_returnflag, l_linestatus, sum(l_quantity) AS sum_qty,
            sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price,
            avg(l_quantity) AS avg_qty, count(*) AS count_order
        FROM lineitem
        WHERE l_shipdate <= DATE '1998-12-01' - INTERVAL '90' DAY
        GROUP BY l_returnflag, l_linestatus
        ORDER BY l_returnflag, l_linestatus";
    let p = plan(sql);
    let expected = "\
Sort: lineitem.l_returnflag ASC NULLS LAST, lineitem.l_linestatus ASC NULLS LAST
  Projection: lineitem.l_returnflag, lineitem.l_linestatus, sum(l_quantity) AS sum_qty, sum(l_extendedprice * (1 - l_discount)) AS sum_disc_price, avg(l_quantity) AS avg_qty, count(*) AS count_order
    Aggregate: groupBy=[l_returnflag, l_linestatus], aggr=[sum(l_quantity), sum(l_extendedprice * (1 - l_discount)), avg(l_quantity), count(*)]
      Filter: l_shipdate <= DATE '1998-12-01' - INTERVAL '90 days'
        TableScan: lineitem
schema: lineitem.l_returnflag:Utf8, lineitem.l_linestatus:Utf8, sum_qty:Decimal128(38, 2), sum_disc_price:Decimal128(38, 4), avg_qty:Float64, count_order:Int64";
    assert_eq!(p, expected);
}

#[test]
fn aggregates_in_having_and_order_by() {
    assert_eq!(
        plan(
            "SELECT a + 1, count(*) FROM t GROUP BY a + 1 HAVING count(*) > 2 ORDER BY sum(c) DESC"
        ),
        "\
Projection: a + 1, count(*)
  Sort: __sort_key_0 DESC NULLS LAST
    Projection: a + 1, count(*), sum(c) AS __sort_key_0
      Filter: count(*) > 2
        Aggregate: groupBy=[a + 1], aggr=[count(*), sum(c)]
          TableScan: t
schema: a + 1:Int64, count(*):Int64"
    );
    // The same aggregate written twice is computed once; `t.a` and `a` are the same column.
    assert_eq!(
        plan("SELECT sum(a), sum(t.a) + 1 AS s1 FROM t HAVING sum(a) > 0"),
        "\
Projection: sum(a), sum(a) + 1 AS s1
  Filter: sum(a) > 0
    Aggregate: groupBy=[], aggr=[sum(a)]
      TableScan: t
schema: sum(a):Int64, s1:Int64"
    );
    assert_eq!(
        plan("SELECT count(DISTINCT a), count(*) FILTER (WHERE a > 1), string_agg(b, '|') FROM t"),
        "\
Projection: count(DISTINCT a), count(*) FILTER (WHERE a > 1), string_agg(b, '|')
  Aggregate: groupBy=[], aggr=[count(DISTINCT a), count(*) FILTER (WHERE a > 1), string_agg(b, '|')]
    TableScan: t
schema: count(DISTINCT a):Int64, count(*) FILTER (WHERE a > 1):Int64, string_agg(b, '|'):Utf8"
    );
    // HAVING without GROUP BY aggregates the whole input.
    assert_eq!(
        plan("SELECT count(*) AS n FROM t HAVING count(*) > 0"),
        "Projection: count(*) AS n\n  Filter: count(*) > 0\n    Aggregate: groupBy=[], aggr=[count(*)]\n      TableScan: t\nschema: n:Int64"
    );
}

#[test]
fn group_by_forms() {
    let expected = "Projection: t.b, count(*)\n  Aggregate: groupBy=[b], aggr=[count(*)]\n    TableScan: t\nschema: t.b:Utf8, count(*):Int64";
    assert_eq!(plan("SELECT b, count(*) FROM t GROUP BY b"), expected);
    assert_eq!(plan("SELECT b, count(*) FROM t GROUP BY 1"), expected);
    assert_eq!(plan("SELECT b, count(*) FROM t GROUP BY ALL"), expected);
    assert!(plan("SELECT b, count(*) FROM t GROUP BY t.b, b")
        .contains("groupBy=[t.b], aggr=[count(*)]"));
    // A select-list alias as a grouping key, and ORDER BY an output name / position.
    assert_eq!(
        plan("SELECT upper(b) AS k, sum(a) FROM t GROUP BY k ORDER BY k, 2 DESC"),
        "\
Sort: k ASC NULLS LAST, sum(a) DESC NULLS LAST
  Projection: upper(b) AS k, sum(a)
    Aggregate: groupBy=[upper(b)], aggr=[sum(a)]
      TableScan: t
schema: k:Utf8, sum(a):Int64"
    );
    // An expression over a grouping key.
    assert_eq!(
        schema_of("SELECT b || 'x' AS bx, max(c) FROM t GROUP BY b"),
        "bx:Utf8, max(c):Float64"
    );
}

#[test]
fn order_by_hidden_columns() {
    assert_eq!(
        plan("SELECT b AS x FROM t ORDER BY a DESC NULLS FIRST, x"),
        "\
Projection: x
  Sort: __sort_key_0 DESC NULLS FIRST, x ASC NULLS LAST
    Projection: b AS x, a AS __sort_key_0
      TableScan: t
schema: x:Utf8"
    );
    assert_eq!(
        plan("SELECT b FROM t GROUP BY b ORDER BY count(*) DESC LIMIT 3"),
        "\
Limit: skip=0, fetch=3
  Projection: t.b
    Sort: __sort_key_0 DESC NULLS LAST
      Projection: t.b, count(*) AS __sort_key_0
        Aggregate: groupBy=[b], aggr=[count(*)]
          TableScan: t
schema: t.b:Utf8"
    );
    // An ORDER BY expression equal to a select item reuses it.
    assert_eq!(
        plan("SELECT a + 1 AS y FROM t ORDER BY a + 1"),
        "Sort: y ASC NULLS LAST\n  Projection: a + 1 AS y\n    TableScan: t\nschema: y:Int64"
    );
    assert_eq!(
        plan("SELECT a, b FROM t ORDER BY ALL DESC"),
        "Sort: t.a DESC NULLS LAST, t.b DESC NULLS LAST\n  Projection: a, b\n    TableScan: t\nschema: t.a:Int64, t.b:Utf8"
    );
}

#[test]
fn duplicate_output_names() {
    assert_eq!(
        plan("SELECT a, a, b AS a FROM t"),
        "Projection: a, a, b AS a\n  TableScan: t\nschema: t.a:Int64, t.a:Int64, a:Utf8"
    );
    assert_eq!(
        plan("SELECT a, a FROM t ORDER BY 2 DESC"),
        "\
Projection: __out_0 AS a, __out_1 AS a
  Sort: __out_1 DESC NULLS LAST
    Projection: a AS __out_0, a AS __out_1
      TableScan: t
schema: a:Int64, a:Int64"
    );
}

#[test]
fn distinct_limit_offset() {
    assert_eq!(
        plan("SELECT DISTINCT b FROM t ORDER BY b DESC LIMIT 10 OFFSET 5"),
        "\
Limit: skip=5, fetch=10
  Sort: t.b DESC NULLS LAST
    Distinct
      Projection: b
        TableScan: t
schema: t.b:Utf8"
    );
    assert_eq!(
        plan("SELECT a FROM t OFFSET 2"),
        "Limit: skip=2, fetch=None\n  Projection: a\n    TableScan: t\nschema: t.a:Int64"
    );
    assert_eq!(
        plan("SELECT a FROM t LIMIT NULL"),
        "Projection: a\n  TableScan: t\nschema: t.a:Int64"
    );
}

#[test]
fn ctes_and_derived_tables() {
    assert_eq!(
        plan("WITH u AS (SELECT a, b FROM t), v(x) AS (SELECT a FROM u) SELECT * FROM v"),
        "\
Projection: v.x
  SubqueryAlias: v
    Projection: u.a AS x
      Projection: a
        SubqueryAlias: u
          Projection: a, b
            TableScan: t
schema: v.x:Int64"
    );
    // A CTE shadows a catalog table.
    assert_eq!(
        schema_of("WITH t AS (SELECT 1 AS one) SELECT * FROM t"),
        "t.one:Int64"
    );
    assert_eq!(
        plan("SELECT s.y FROM (SELECT a AS y FROM t) AS s WHERE y > 0"),
        "\
Projection: s.y
  Filter: y > 0
    SubqueryAlias: s
      Projection: a AS y
        TableScan: t
schema: s.y:Int64"
    );
    // A derived table without alias.
    assert_eq!(schema_of("SELECT * FROM (SELECT a FROM t)"), "t.a:Int64");
}

#[test]
fn wildcards_and_aliases() {
    assert_eq!(
        plan("SELECT * EXCLUDE (c, d) FROM t AS s"),
        "Projection: s.a, s.b, s.e\n  SubqueryAlias: s\n    TableScan: t\nschema: s.a:Int64, s.b:Utf8, s.e:Decimal128(12, 2)"
    );
    assert_eq!(
        schema_of("SELECT s.* FROM t s(x, y)"),
        "s.x:Int64, s.y:Utf8, s.c:Float64, s.d:Date32, s.e:Decimal128(12, 2)"
    );
    assert_eq!(
        schema_of("FROM t"),
        "t.a:Int64, t.b:Utf8, t.c:Float64, t.d:Date32, t.e:Decimal128(12, 2)"
    );
    assert_eq!(schema_of("SELECT a AS z FROM t WHERE z > 3"), "z:Int64");
}

#[test]
fn set_operations() {
    assert_eq!(
        plan("SELECT a FROM t UNION ALL SELECT a FROM t UNION ALL SELECT c FROM t"),
        "\
Union
  Projection: CAST(t.a AS Float64) AS a
    Projection: a
      TableScan: t
  Projection: CAST(t.a AS Float64) AS a
    Projection: a
      TableScan: t
  Projection: c
    TableScan: t
schema: a:Float64"
    );
    assert_eq!(
        plan("SELECT a, b FROM t UNION SELECT a, b FROM t ORDER BY 2 LIMIT 1"),
        "\
Limit: skip=0, fetch=1
  Sort: b ASC NULLS LAST
    Distinct
      Union
        Projection: a, b
          TableScan: t
        Projection: a, b
          TableScan: t
schema: a:Int64, b:Utf8"
    );
    assert_eq!(
        plan("SELECT a, b FROM t INTERSECT SELECT a, b FROM t"),
        "\
Projection: __c0 AS a, __c1 AS b
  Filter: min(__side) = 1 AND max(__side) = 2
    Aggregate: groupBy=[__c0, __c1], aggr=[min(__side), max(__side)]
      Union
        Projection: t.a AS __c0, t.b AS __c1, 1 AS __side
          Projection: a, b
            TableScan: t
        Projection: t.a AS __c0, t.b AS __c1, 2 AS __side
          Projection: a, b
            TableScan: t
schema: a:Int64, b:Utf8"
    );
    let except = plan("SELECT a FROM t EXCEPT SELECT a FROM t");
    assert!(except.contains("Filter: max(__side) = 1"), "{except}");
    assert!(matches!(
        err("SELECT a FROM t INTERSECT ALL SELECT a FROM t"),
        Error::NotImplemented(_)
    ));
    assert!(matches!(
        err("SELECT a FROM t UNION SELECT a, b FROM t"),
        Error::Plan(_)
    ));
}

#[test]
fn values_and_no_from() {
    assert_eq!(
        plan("SELECT * FROM (VALUES (1, 'a'), (2, NULL)) v(x, y)"),
        "\
Projection: v.x, v.y
  SubqueryAlias: v
    Projection: column1 AS x, column2 AS y
      Values: 2 rows
schema: v.x:Int64, v.y:Utf8"
    );
    let p = query("VALUES (1, 2.5), (2.25, 3)").unwrap();
    let LogicalPlan::Values(v) = p.as_ref() else {
        panic!("{}", p.display_indent())
    };
    // Every cell has its column's type.
    assert_eq!(
        v.schema.to_string(),
        "column1:Decimal128(22, 2), column2:Decimal128(21, 1)"
    );
    assert_eq!(v.rows[0][1].to_string(), "2.5");
    assert_eq!(
        v.rows[0][0],
        rask_expr::Expr::Literal(ScalarValue::Decimal128(Some(100), 22, 2))
    );
    assert_eq!(
        plan("SELECT 1 + 2 AS three"),
        "Projection: 1 + 2 AS three\n  EmptyRelation: rows=1\nschema: three:Int64"
    );
}

#[test]
fn literals() {
    assert_eq!(
        schema_of("SELECT 1, 0.06, 1e3, 'x', true, NULL, -5, -1.5, DATE '2020-01-01', TIMESTAMP '2020-01-01 10:00:00', INTERVAL '3' MONTH, INTERVAL '90 days'"),
        "1:Int64, 0.06:Decimal128(3, 2), 1000:Float64, 'x':Utf8, true:Boolean, NULL:Null, -5:Int64, -1.5:Decimal128(2, 1), DATE '2020-01-01':Date32, TIMESTAMP '2020-01-01T10:00:00':Timestamp(µs), INTERVAL '3 mons':Interval(MonthDayNano), INTERVAL '90 days':Interval(MonthDayNano)"
    );
    assert!(matches!(err("SELECT DATE '1998-13-45'"), Error::Plan(_)));
    assert!(matches!(err("SELECT INTERVAL '3 parsecs'"), Error::Plan(_)));
}

#[test]
fn expressions() {
    assert_eq!(
        plan("SELECT CAST(a AS VARCHAR), TRY_CAST(b AS INTEGER), c::DECIMAL(10,2), EXTRACT(YEAR FROM d), SUBSTRING(b FROM 2 FOR 3), TRIM(LEADING 'x' FROM b), upper(B), year(d) FROM t"),
        "\
Projection: CAST(a AS Utf8), TRY_CAST(b AS Int32), CAST(c AS Decimal128(10, 2)), date_part('year', d), substring(b, 2, 3), ltrim(b, 'x'), upper(b), date_part('year', d)
  TableScan: t
schema: CAST(a AS Utf8):Utf8, TRY_CAST(b AS Int32):Int32, CAST(c AS Decimal128(10, 2)):Decimal128(10, 2), date_part('year', d):Int64, substring(b, 2, 3):Utf8, ltrim(b, 'x'):Utf8, upper(b):Utf8, date_part('year', d):Int64"
    );
    assert_eq!(
        plan("SELECT CASE WHEN a > 1 THEN 'x' ELSE 'y' END AS c1, CASE a WHEN 1 THEN 2 END AS c2, a IN (1, 2) AS c3, a NOT BETWEEN 1 AND 2 AS c4, b LIKE 'a%' AS c5, b NOT ILIKE 'x' AS c6, b || 'y' AS c7, a % 2 AS c8, a IS NOT NULL AS c9, NOT (a > 1) AS c10, a IS DISTINCT FROM 3 AS c11, (a > 1) IS TRUE AS c12 FROM t"),
        "\
Projection: CASE WHEN a > 1 THEN 'x' ELSE 'y' END AS c1, CASE a WHEN 1 THEN 2 END AS c2, a IN (1, 2) AS c3, a NOT BETWEEN 1 AND 2 AS c4, b LIKE 'a%' AS c5, b NOT ILIKE 'x' AS c6, b || 'y' AS c7, a % 2 AS c8, a IS NOT NULL AS c9, NOT a > 1 AS c10, a IS DISTINCT FROM 3 AS c11, a > 1 IS NOT DISTINCT FROM true AS c12
  TableScan: t
schema: c1:Utf8, c2:Int64, c3:Boolean, c4:Boolean, c5:Boolean, c6:Boolean, c7:Utf8, c8:Int64, c9:Boolean, c10:Boolean, c11:Boolean, c12:Boolean"
    );
    // A date compared with a string, date arithmetic, `CAST('..' AS DATE)` folded.
    assert_eq!(
        plan("SELECT a FROM t WHERE d >= CAST('1994-01-01' AS DATE) AND d < DATE '1994-01-01' + INTERVAL '1' YEAR"),
        "Projection: a\n  Filter: d >= DATE '1994-01-01' AND d < DATE '1994-01-01' + INTERVAL '12 mons'\n    TableScan: t\nschema: t.a:Int64"
    );
    assert_eq!(
        schema_of("SELECT coalesce(a, 0) AS x, round(c, 2) AS y, if(a > 1, 'p', 'q') AS z, mod(a, 3) AS m FROM t"),
        "x:Int64, y:Float64, z:Utf8, m:Int64"
    );
}

#[test]
fn table_functions_and_paths() {
    assert_eq!(
        plan("SELECT a FROM read_csv('x/*.csv', header=true, delim='|') r"),
        "Projection: a\n  SubqueryAlias: r\n    TableScan: read_csv(x/*.csv; header=true,delim='|')\nschema: r.a:Int64"
    );
    assert_eq!(
        plan("SELECT z FROM READ_PARQUET('p') AS q(z)"),
        "Projection: z\n  SubqueryAlias: q\n    Projection: read_parquet(p; ).a AS z, read_parquet(p; ).b, read_parquet(p; ).c, read_parquet(p; ).d, read_parquet(p; ).e\n      TableScan: read_parquet(p; )\nschema: q.z:Int64"
    );
    assert_eq!(
        plan("SELECT a FROM 'data/*.parquet'"),
        "Projection: a\n  TableScan: data/*.parquet\nschema: data/*.parquet.a:Int64"
    );
    assert!(matches!(
        err("SELECT * FROM read_json('x')"),
        Error::Plan(_)
    ));
    assert!(matches!(err("SELECT * FROM read_csv(a)"), Error::Plan(_)));
}

// -------------------------------------------------------------------- statements

#[test]
fn statements() {
    let cat = MockCatalog::new();
    let s = sql_to_statements(
        "EXPLAIN SELECT a FROM t; EXPLAIN ANALYZE SELECT 1; CREATE OR REPLACE VIEW v AS SELECT a FROM t;
         CREATE TABLE IF NOT EXISTS x AS SELECT b FROM t; DROP VIEW IF EXISTS v, w; DROP TABLE x;
         SHOW TABLES; DESCRIBE t; DESCRIBE SELECT a FROM t; CREATE VIEW v2(k) AS SELECT a FROM t",
        &cat,
    )
    .unwrap();
    let kinds: Vec<String> = s
        .iter()
        .map(|s| match s {
            Statement::Query(_) => "query".to_string(),
            Statement::Explain {
                analyze, verbose, ..
            } => format!("explain {analyze} {verbose}"),
            Statement::CreateView {
                name,
                or_replace,
                plan,
            } => format!("view {name} {or_replace} {}", plan.schema()),
            Statement::CreateTableAs {
                name,
                or_replace,
                if_not_exists,
                ..
            } => format!("ctas {name} {or_replace} {if_not_exists}"),
            Statement::Copy { .. } => "copy".to_string(),
            Statement::Drop { name, if_exists } => format!("drop {name} {if_exists}"),
            Statement::ShowTables => "show".to_string(),
            Statement::Describe { name } => format!("describe {name}"),
            Statement::DescribeQuery(p) => format!("describe query {}", p.schema()),
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "explain false false",
            "explain true false",
            "view v true t.a:Int64",
            "ctas x false true",
            "drop v true",
            "drop w true",
            "drop x false",
            "show",
            "describe t",
            "describe query t.a:Int64",
            "view v2 false k:Int64",
        ]
    );
    assert!(matches!(
        sql_to_statements("CREATE TABLE z (a INT)", &cat),
        Err(Error::NotImplemented(_))
    ));
    assert!(matches!(
        sql_to_statements("INSERT INTO t VALUES (1)", &cat),
        Err(Error::NotImplemented(_))
    ));
    assert!(sql_to_statements(" ; -- nothing\n", &cat)
        .unwrap()
        .is_empty());
}

#[test]
fn copy_statements() {
    let cat = MockCatalog::new();
    let s = sql_to_statements(
        "COPY (SELECT a FROM t WHERE a > 1) TO 'out/dir' (FORMAT parquet, HEADER true, DELIMITER ',', COMPRESSION 'zstd', PARTITION_BY (a, b), OVERWRITE_OR_IGNORE)",
        &cat,
    )
    .unwrap();
    let [Statement::Copy {
        plan,
        target,
        options,
    }] = s.as_slice()
    else {
        panic!("{s:?}")
    };
    assert_eq!(target, "out/dir");
    assert_eq!(plan.schema().to_string(), "t.a:Int64");
    let opts: Vec<(&str, &str)> = options
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        opts,
        vec![
            ("format", "parquet"),
            ("header", "true"),
            ("delimiter", ","),
            ("compression", "zstd"),
            ("partition_by", "(a,b)"),
            ("overwrite_or_ignore", "true"),
        ]
    );
    let s = sql_to_statements(
        "-- c\ncopy t TO 'x.csv' WITH (HEADER, DELIMITER '|');",
        &cat,
    )
    .unwrap();
    let [Statement::Copy { plan, options, .. }] = s.as_slice() else {
        panic!("{s:?}")
    };
    assert_eq!(plan.schema().len(), 5);
    assert_eq!(options[1], ("delimiter".to_string(), "|".to_string()));
    let s = sql_to_statements("COPY t TO 'x.parquet'", &cat).unwrap();
    assert!(matches!(&s[0], Statement::Copy { options, .. } if options.is_empty()));
    assert!(matches!(
        sql_to_statements("COPY nope TO 'x'", &cat),
        Err(Error::Plan(_))
    ));
    assert!(matches!(
        sql_to_statements("COPY t TO 'x' (FORMAT", &cat),
        Err(Error::Sql(_))
    ));
    assert!(matches!(
        sql_to_statements("COPY t FROM 'x'", &cat),
        Err(Error::NotImplemented(_))
    ));
}

#[test]
fn split_and_positions_in_scripts() {
    assert_eq!(
        crate::split_sql_statements("SELECT 1; SELECT ';'; -- done\n").unwrap(),
        vec!["SELECT 1", "SELECT ';'"]
    );
    // Errors in the second statement of a script name its line in the script.
    let e = sql_to_statements("SELECT 1;\n  SELECT nope FROM t", &MockCatalog::new()).unwrap_err();
    assert!(e.to_string().contains("at line 2, column 10"), "{e}");
    let e = sql_to_statements("SELECT 1;\nSELECT FROM WHERE", &MockCatalog::new()).unwrap_err();
    assert!(matches!(e, Error::Sql(_)), "{e}");
    assert!(e.to_string().contains("Line: 2"), "{e}");
}

#[test]
fn sql_expr_binds_against_a_schema() {
    let schema = query("SELECT * FROM t").unwrap().schema().as_ref().clone();
    let e = crate::sql_expr("a > 1 and b == 'x'", &schema).unwrap();
    assert_eq!(e.to_string(), "a > 1 AND b = 'x'");
    assert_eq!(e.get_type(&schema).unwrap(), DataType::Boolean);
    let e = crate::sql_expr("c * 2 + e", &schema).unwrap();
    assert_eq!(e.to_string(), "c * 2 + e");
    assert!(matches!(
        crate::sql_expr("a >", &schema),
        Err(Error::Sql(_))
    ));
    assert!(matches!(
        crate::sql_expr("a > 1 b", &schema),
        Err(Error::Sql(_))
    ));
    assert!(matches!(
        crate::sql_expr("sum(a) > 1", &schema),
        Err(Error::Plan(_))
    ));
    let e = crate::sql_expr("aa > 1", &schema).unwrap_err();
    assert!(e.to_string().contains("Did you mean 'a'?"), "{e}");
}

// -------------------------------------------------------------------- errors

#[test]
fn unknown_names_have_positions_and_hints() {
    let e = err("SELECT l_quantty FROM lineitem");
    let msg = e.to_string();
    assert!(matches!(e, Error::Plan(_)), "{msg}");
    assert!(
        msg.contains("column 'l_quantty' not found at line 1, column 8"),
        "{msg}"
    );
    assert!(msg.contains("Did you mean 'l_quantity'?"), "{msg}");

    let msg = err("SELECT a\nFROM t WHERE t.zz = 1").to_string();
    assert!(
        msg.contains("column 't.zz' not found at line 2, column 14"),
        "{msg}"
    );

    let msg = err("SELECT * FROM lineitems").to_string();
    assert!(
        msg.contains("table 'lineitems' not found at line 1, column 15"),
        "{msg}"
    );
    assert!(msg.contains("Did you mean 'lineitem'?"), "{msg}");

    let msg = err("SELECT sume(a) FROM t").to_string();
    assert!(msg.contains("unknown function 'sume'"), "{msg}");
    assert!(msg.contains("Did you mean 'sum'?"), "{msg}");
}

#[test]
fn grouping_errors() {
    let msg = err("SELECT a, count(*) FROM t GROUP BY b").to_string();
    assert!(
        msg.contains(
            "column a must appear in the GROUP BY clause or be used in an aggregate function"
        ),
        "{msg}"
    );
    let msg = err("SELECT a, sum(c) FROM t").to_string();
    assert!(
        msg.contains("column a must appear in the GROUP BY clause"),
        "{msg}"
    );
    assert!(matches!(
        err("SELECT a FROM t WHERE sum(a) > 1"),
        Error::Plan(_)
    ));
    assert!(matches!(err("SELECT sum(max(a)) FROM t"), Error::Plan(_)));
    assert!(matches!(
        err("SELECT count(*) FROM t GROUP BY 2"),
        Error::Plan(_)
    ));
    assert!(matches!(err("SELECT a FROM t ORDER BY 3"), Error::Plan(_)));
    let msg = err("SELECT DISTINCT b FROM t ORDER BY a").to_string();
    assert!(msg.contains("SELECT DISTINCT"), "{msg}");
    assert!(matches!(err("SELECT a FROM t LIMIT -1"), Error::Plan(_)));
    assert!(matches!(err("SELECT a FROM t LIMIT 'x'"), Error::Plan(_)));
    assert!(matches!(err("SELECT a FROM t WHERE b"), Error::Plan(_)));
    assert!(matches!(err("SELECT d * 2 FROM t"), Error::Plan(_)));
    assert!(matches!(err("SELECT *"), Error::Plan(_)));
    assert!(matches!(err("SELECT s.* FROM t"), Error::Plan(_)));
    assert!(matches!(
        err("SELECT * EXCLUDE (zz) FROM t"),
        Error::Plan(_)
    ));
}

#[test]
fn unsupported_features_are_not_implemented_errors() {
    for (sql, needle) in [
        (
            "SELECT * FROM t AS x JOIN t AS y ON x.a = y.a OR x.a IN (SELECT a FROM t)",
            "IN (subquery) under OR or NOT, or in ON",
        ),
        (
            "SELECT * FROM t AS x JOIN t AS y ON x.a = y.a AND EXISTS (SELECT 1)",
            "EXISTS under OR or NOT, or in ON",
        ),
        (
            "SELECT * FROM t AS x JOIN t AS y ON x.a = (SELECT max(a) FROM t)",
            "subqueries are not supported in ON",
        ),
        (
            "SELECT median(a) OVER (ORDER BY a) FROM t",
            "median() is not supported as a window function yet",
        ),
        (
            "SELECT sum(DISTINCT a) OVER () FROM t",
            "DISTINCT in window functions",
        ),
        (
            "SELECT sum(a) OVER (ORDER BY a GROUPS 1 PRECEDING) FROM t",
            "GROUPS window frames",
        ),
        (
            "WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r",
            "WITH RECURSIVE",
        ),
        ("SELECT b FROM t GROUP BY ROLLUP (b)", "not supported"),
    ] {
        let e = err(sql);
        assert!(matches!(e, Error::NotImplemented(_)), "{sql}: {e}");
        assert!(e.to_string().contains(needle), "{sql}: {e}");
    }
}

#[test]
fn syntax_errors_keep_positions() {
    for sql in [
        "SELECT FROM WHERE",
        "SELEC 1",
        "SELECT a FROM t WHERE (a > 1",
        "SELECT 'unterminated",
    ] {
        let e = err(sql);
        assert!(matches!(e, Error::Sql(_)), "{sql}: {e}");
        assert!(e.to_string().contains("Line: 1, Column"), "{sql}: {e}");
    }
}

#[test]
fn window_plan_shape() {
    // One Window node after the WHERE, before the projection; the same call twice is
    // computed once; QUALIFY is a Filter right above the Window.
    assert_eq!(
        plan(
            "SELECT a, row_number() OVER (PARTITION BY b ORDER BY c DESC) AS rn, \
             row_number() OVER (PARTITION BY b ORDER BY c DESC) + 1 FROM t WHERE a > 0 \
             QUALIFY rn <= 2 ORDER BY a"
        ),
        "\
Sort: t.a ASC NULLS LAST
  Projection: a, row_number() OVER (PARTITION BY b ORDER BY c DESC) AS rn, row_number() OVER (PARTITION BY b ORDER BY c DESC) + 1
    Filter: row_number() OVER (PARTITION BY b ORDER BY c DESC) <= 2
      Window: row_number() OVER (PARTITION BY b ORDER BY c DESC)
        Filter: a > 0
          TableScan: t
schema: t.a:Int64, rn:Int64, row_number() OVER (PARTITION BY b ORDER BY c DESC) + 1:Int64"
    );
    // Windows read the aggregate's output; a window only in ORDER BY is a hidden column.
    assert_eq!(
        plan("SELECT b, sum(a) FROM t GROUP BY b ORDER BY rank() OVER (ORDER BY sum(a) DESC)"),
        "\
Projection: t.b, sum(a)
  Sort: __sort_key_0 ASC NULLS LAST
    Projection: t.b, sum(a), rank() OVER (ORDER BY sum(a) DESC) AS __sort_key_0
      Window: rank() OVER (ORDER BY sum(a) DESC)
        Aggregate: groupBy=[b], aggr=[sum(a)]
          TableScan: t
schema: t.b:Utf8, sum(a):Int64"
    );
    // Named windows, frames, types.
    assert_eq!(
        schema_of(
            "SELECT sum(e) OVER w, avg(a) OVER (w ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING), \
             lag(d, 1, DATE '2000-01-01') OVER w, ntile(4) OVER w, cume_dist() OVER w, \
             count(*) OVER () FROM t WINDOW w AS (ORDER BY a)"
        ),
        "sum(e) OVER (ORDER BY a):Decimal128(38, 2), \
avg(a) OVER (ORDER BY a ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING):Float64, \
lag(d, 1, DATE '2000-01-01') OVER (ORDER BY a):Date32, ntile(4) OVER (ORDER BY a):Int64, \
cume_dist() OVER (ORDER BY a):Float64, count(*) OVER ():Int64"
    );
}

#[test]
fn window_errors() {
    for (sql, needle) in [
        (
            "SELECT a FROM t WHERE row_number() OVER () > 1",
            "window functions are not allowed in WHERE",
        ),
        (
            "SELECT row_number() OVER () AS rn FROM t WHERE rn > 1",
            "window functions are not allowed in WHERE",
        ),
        (
            "SELECT count(*) FROM t GROUP BY rank() OVER (ORDER BY a)",
            "window functions are not allowed in GROUP BY",
        ),
        (
            "SELECT b FROM t GROUP BY b HAVING rank() OVER (ORDER BY b) > 1",
            "window functions are not allowed in HAVING",
        ),
        (
            "SELECT sum(rank() OVER (ORDER BY a)) FROM t",
            "window functions are not allowed in the arguments of an aggregate",
        ),
        (
            "SELECT sum(rank() OVER (ORDER BY a)) OVER () FROM t",
            "window functions cannot be nested",
        ),
        (
            "SELECT rank() OVER (ORDER BY row_number() OVER ()) FROM t",
            "window functions cannot be nested",
        ),
        ("SELECT rank(a) OVER () FROM t", "rank() takes 0 arguments"),
        ("SELECT nth_value(a) OVER () FROM t", "nth_value() takes 2"),
        (
            "SELECT lag(a, 1, DATE '2000-01-01') OVER () FROM t",
            "the default of lag() must have the argument's type",
        ),
        ("SELECT ntile(b) OVER () FROM t", "must be an integer"),
        ("SELECT upper(b) OVER () FROM t", "upper() is not a window"),
        ("SELECT sum(a) OVER w FROM t", "window 'w' is not defined"),
        (
            "SELECT sum(a) OVER (w PARTITION BY b) FROM t WINDOW w AS (ORDER BY a)",
            "cannot override the PARTITION BY",
        ),
        (
            "SELECT sum(a) OVER (w ORDER BY b) FROM t WINDOW w AS (ORDER BY a)",
            "cannot override the ORDER BY",
        ),
        (
            "SELECT sum(a) OVER (ROWS BETWEEN a PRECEDING AND CURRENT ROW) FROM t",
            "must be a constant",
        ),
        (
            "SELECT sum(a) OVER (ORDER BY a ROWS BETWEEN 1.5 PRECEDING AND CURRENT ROW) FROM t",
            "must be a non-negative integer",
        ),
        (
            "SELECT sum(a) OVER (RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM t",
            "needs exactly one ORDER BY key",
        ),
        (
            "SELECT sum(a) OVER (ROWS BETWEEN UNBOUNDED FOLLOWING AND CURRENT ROW) FROM t",
            "cannot start at UNBOUNDED FOLLOWING",
        ),
        (
            "SELECT sum(a) OVER (ROWS BETWEEN CURRENT ROW AND UNBOUNDED PRECEDING) FROM t",
            "cannot end at UNBOUNDED PRECEDING",
        ),
        (
            "SELECT b, sum(a) OVER () FROM t GROUP BY b",
            "column a must appear in the GROUP BY clause",
        ),
        (
            "SELECT b, rank() OVER (ORDER BY b) FROM t GROUP BY 2",
            "GROUP BY position 2 refers to a window function",
        ),
    ] {
        let e = err(sql);
        assert!(e.to_string().contains(needle), "{sql}: {e}");
    }
}
