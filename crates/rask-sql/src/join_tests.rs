//! Binder tests for joins and subqueries, over the mock catalog plus the TPC-H tables.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field};
use rask_common::{Error, Result};
use rask_expr::LogicalPlan;

use crate::tests::{scan, MockCatalog};
use crate::{sql_to_statements, Statement};

fn money() -> DataType {
    DataType::Decimal128(15, 2)
}

/// The TPC-H tables with the types of the committed parquet files (strings as Utf8).
fn tpch_tables() -> Vec<(String, Arc<LogicalPlan>)> {
    use DataType::{Date32, Int32, Int64, Utf8};
    let t = |name: &str, cols: &[(&str, DataType)]| {
        let fields = cols
            .iter()
            .map(|(n, t)| Field::new(*n, t.clone(), false))
            .collect();
        (name.to_string(), scan(name, fields))
    };
    vec![
        t(
            "part",
            &[
                ("p_partkey", Int64),
                ("p_name", Utf8),
                ("p_mfgr", Utf8),
                ("p_brand", Utf8),
                ("p_type", Utf8),
                ("p_size", Int32),
                ("p_container", Utf8),
                ("p_retailprice", money()),
                ("p_comment", Utf8),
            ],
        ),
        t(
            "supplier",
            &[
                ("s_suppkey", Int64),
                ("s_name", Utf8),
                ("s_address", Utf8),
                ("s_nationkey", Int64),
                ("s_phone", Utf8),
                ("s_acctbal", money()),
                ("s_comment", Utf8),
            ],
        ),
        t(
            "partsupp",
            &[
                ("ps_partkey", Int64),
                ("ps_suppkey", Int64),
                ("ps_availqty", Int32),
                ("ps_supplycost", money()),
                ("ps_comment", Utf8),
            ],
        ),
        t(
            "customer",
            &[
                ("c_custkey", Int64),
                ("c_name", Utf8),
                ("c_address", Utf8),
                ("c_nationkey", Int64),
                ("c_phone", Utf8),
                ("c_acctbal", money()),
                ("c_mktsegment", Utf8),
                ("c_comment", Utf8),
            ],
        ),
        t(
            "orders",
            &[
                ("o_orderkey", Int64),
                ("o_custkey", Int64),
                ("o_orderstatus", Utf8),
                ("o_totalprice", money()),
                ("o_orderdate", Date32),
                ("o_orderpriority", Utf8),
                ("o_clerk", Utf8),
                ("o_shippriority", Int32),
                ("o_comment", Utf8),
            ],
        ),
        t(
            "lineitem",
            &[
                ("l_orderkey", Int64),
                ("l_partkey", Int64),
                ("l_suppkey", Int64),
                ("l_linenumber", Int32),
                ("l_quantity", money()),
                ("l_extendedprice", money()),
                ("l_discount", money()),
                ("l_tax", money()),
                ("l_returnflag", Utf8),
                ("l_linestatus", Utf8),
                ("l_shipdate", Date32),
                ("l_commitdate", Date32),
                ("l_receiptdate", Date32),
                ("l_shipinstruct", Utf8),
                ("l_shipmode", Utf8),
                ("l_comment", Utf8),
            ],
        ),
        t(
            "nation",
            &[
                ("n_nationkey", Int64),
                ("n_name", Utf8),
                ("n_regionkey", Int64),
                ("n_comment", Utf8),
            ],
        ),
        t(
            "region",
            &[
                ("r_regionkey", Int64),
                ("r_name", Utf8),
                ("r_comment", Utf8),
            ],
        ),
    ]
}

/// The mock catalog (`t`, `lineitem` of the other tests replaced by TPC-H's) plus `u`
/// (`a`, `x`) and the TPC-H tables.
fn catalog() -> MockCatalog {
    let mut c = MockCatalog::new();
    c.tables.retain(|(n, _)| n != "lineitem");
    c.tables.push((
        "u".into(),
        scan(
            "u",
            vec![
                Field::new("a", DataType::Int64, true),
                Field::new("x", DataType::Utf8, true),
            ],
        ),
    ));
    c.tables.extend(tpch_tables());
    c
}

fn query(sql: &str) -> Result<Arc<LogicalPlan>> {
    let mut v = sql_to_statements(sql, &catalog())?;
    match v.pop() {
        Some(Statement::Query(p)) => Ok(p),
        other => panic!("not a query: {other:?}"),
    }
}

/// The indented plan.
fn shape(sql: &str) -> String {
    match query(sql) {
        Ok(p) => p.display_indent(),
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn schema_of(sql: &str) -> String {
    match query(sql) {
        Ok(p) => p.schema().to_string(),
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn err(sql: &str) -> Error {
    match query(sql) {
        Ok(p) => panic!("expected an error for {sql}, got\n{}", p.display_indent()),
        Err(e) => e,
    }
}

fn tpch_query(n: usize) -> String {
    let path = format!(
        "{}/../../tests/expected/tpch/queries/q{n:02}.sql",
        env!("CARGO_MANIFEST_DIR")
    );
    match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => panic!("{path}: {e}"),
    }
}

#[test]
fn join_on_splits_keys_and_filter() {
    // `u.a = t.a` is turned around; conditions that are not cross-side equalities stay in
    // the filter.
    assert_eq!(
        shape("SELECT t.a, u.x FROM t JOIN u ON u.a = t.a AND t.b <> u.x AND t.c > 1"),
        "\
Projection: t.a, u.x
  Join: Inner on=[t.a = u.a] filter=t.b <> u.x AND t.c > 1
    TableScan: t
    TableScan: u
"
    );
    // INNER JOIN, and an ON without any equality.
    assert_eq!(
        shape("SELECT t.a FROM t INNER JOIN u ON t.a < u.a"),
        "\
Projection: t.a
  Join: Inner on=[] filter=t.a < u.a
    TableScan: t
    TableScan: u
"
    );
    // Keys of different types are cast to their comparison type.
    assert_eq!(
        shape("SELECT a FROM t JOIN lineitem ON a = l_linenumber"),
        "\
Projection: a
  Join: Inner on=[a = CAST(l_linenumber AS Int64)]
    TableScan: t
    TableScan: lineitem
"
    );
}

#[test]
fn using_and_natural_joins() {
    let inner = "\
Projection: t.a, t.b, t.c, t.d, t.e, u.x
  Projection: t.a, t.b, t.c, t.d, t.e, u.x
    Join: Inner on=[t.a = u.a]
      TableScan: t
      TableScan: u
";
    assert_eq!(shape("SELECT * FROM t JOIN u USING (a)"), inner);
    assert_eq!(shape("SELECT * FROM t NATURAL JOIN u"), inner);
    // The USING column is unambiguous afterwards.
    assert_eq!(
        shape("SELECT a, x FROM t LEFT JOIN u USING (a)"),
        "\
Projection: a, x
  Projection: t.a, t.b, t.c, t.d, t.e, u.x
    Join: Left on=[t.a = u.a]
      TableScan: t
      TableScan: u
"
    );
    // FULL (and RIGHT) joins merge the two copies.
    assert_eq!(
        shape("SELECT * FROM t FULL OUTER JOIN u USING (a)"),
        "\
Projection: a, t.b, t.c, t.d, t.e, u.x
  Projection: coalesce(t.a, u.a) AS a, t.b, t.c, t.d, t.e, u.x
    Join: Full on=[t.a = u.a]
      TableScan: t
      TableScan: u
"
    );
    assert_eq!(
        schema_of("SELECT * FROM t RIGHT JOIN u USING (a)"),
        "a:Int64, t.b:Utf8, t.c:Float64, t.d:Date32, t.e:Decimal128(12, 2), u.x:Utf8"
    );
    // Two USING columns; a NATURAL JOIN without common columns is a cross join.
    assert_eq!(
        shape(
            "SELECT n1.n_name FROM nation AS n1 JOIN nation AS n2 USING (n_nationkey, n_regionkey)"
        ),
        "\
Projection: n1.n_name
  Projection: n1.n_nationkey, n1.n_name, n1.n_regionkey, n1.n_comment, n2.n_name, n2.n_comment
    Join: Inner on=[n1.n_nationkey = n2.n_nationkey, n1.n_regionkey = n2.n_regionkey]
      SubqueryAlias: n1
        TableScan: nation
      SubqueryAlias: n2
        TableScan: nation
"
    );
    assert_eq!(
        shape("SELECT r_name FROM region NATURAL JOIN nation"),
        "\
Projection: r_name
  CrossJoin: Inner
    TableScan: region
    TableScan: nation
"
    );
}

#[test]
fn outer_cross_semi_and_anti_joins() {
    for (sql, line) in [
        (
            "SELECT * FROM t LEFT JOIN u ON t.a = u.a",
            "Join: Left on=[t.a = u.a]",
        ),
        (
            "SELECT * FROM t LEFT OUTER JOIN u ON t.a = u.a",
            "Join: Left on=[t.a = u.a]",
        ),
        (
            "SELECT * FROM t RIGHT JOIN u ON t.a = u.a",
            "Join: Right on=[t.a = u.a]",
        ),
        (
            "SELECT * FROM t RIGHT OUTER JOIN u ON t.a = u.a",
            "Join: Right on=[t.a = u.a]",
        ),
        (
            "SELECT * FROM t FULL JOIN u ON t.a = u.a",
            "Join: Full on=[t.a = u.a]",
        ),
        (
            "SELECT * FROM t FULL OUTER JOIN u ON t.a = u.a",
            "Join: Full on=[t.a = u.a]",
        ),
        ("SELECT * FROM t CROSS JOIN u", "CrossJoin: Inner"),
        ("SELECT * FROM t, u", "CrossJoin: Inner"),
        (
            "SELECT * FROM t SEMI JOIN u ON t.a = u.a",
            "Join: LeftSemi on=[t.a = u.a]",
        ),
        (
            "SELECT * FROM t ANTI JOIN u USING (a)",
            "Join: LeftAnti on=[t.a = u.a]",
        ),
    ] {
        let p = shape(sql);
        assert!(p.contains(line), "{sql}:\n{p}");
    }
    // Outer joins make the other side nullable; semi and anti joins keep the left columns.
    let q = query("SELECT * FROM lineitem LEFT JOIN orders ON l_orderkey = o_orderkey").unwrap();
    let s = q.schema();
    assert!(!s.field(0).is_nullable());
    assert!(s.field(s.len() - 1).is_nullable());
    assert_eq!(
        schema_of("SELECT * FROM t SEMI JOIN u ON t.a = u.a"),
        "t.a:Int64, t.b:Utf8, t.c:Float64, t.d:Date32, t.e:Decimal128(12, 2)"
    );
    // Comma lists keep WHERE as a Filter above the key-less join.
    assert_eq!(
        shape("SELECT o_orderkey FROM orders, lineitem WHERE o_orderkey = l_orderkey"),
        "\
Projection: o_orderkey
  Filter: o_orderkey = l_orderkey
    CrossJoin: Inner
      TableScan: orders
      TableScan: lineitem
"
    );
}

#[test]
fn chained_joins_of_aliases_ctes_subqueries_and_table_functions() {
    assert_eq!(
        shape("SELECT x.a, y.b FROM t AS x JOIN t AS y ON x.a = y.a JOIN u ON u.a = y.a"),
        "\
Projection: x.a, y.b
  Join: Inner on=[y.a = u.a]
    Join: Inner on=[x.a = y.a]
      SubqueryAlias: x
        TableScan: t
      SubqueryAlias: y
        TableScan: t
    TableScan: u
"
    );
    assert_eq!(
        shape(
            "WITH w AS (SELECT a, count(*) AS n FROM u GROUP BY a)
             SELECT t.b, w.n FROM t LEFT JOIN w ON t.a = w.a
             JOIN (SELECT 1 AS one) AS s ON true"
        ),
        "\
Projection: t.b, w.n
  Join: Inner on=[] filter=true
    Join: Left on=[t.a = w.a]
      TableScan: t
      SubqueryAlias: w
        Projection: u.a, count(*) AS n
          Aggregate: groupBy=[a], aggr=[count(*)]
            TableScan: u
    SubqueryAlias: s
      Projection: 1 AS one
        EmptyRelation: rows=1
"
    );
    assert_eq!(
        shape("SELECT r.b FROM read_parquet('f.parquet') AS r JOIN u ON r.a = u.a"),
        "\
Projection: r.b
  Join: Inner on=[r.a = u.a]
    SubqueryAlias: r
      TableScan: read_parquet(f.parquet; )
    TableScan: u
"
    );
    // Parenthesised joins, aliased with column names.
    assert_eq!(
        schema_of("SELECT * FROM (t JOIN u ON t.a = u.a) AS j(a1, b, c, d, e, a2, x)"),
        "j.a1:Int64, j.b:Utf8, j.c:Float64, j.d:Date32, j.e:Decimal128(12, 2), j.a2:Int64, j.x:Utf8"
    );
    assert_eq!(
        shape("SELECT t.a FROM t JOIN (u JOIN orders ON u.a = o_orderkey) ON t.a = u.a"),
        "\
Projection: t.a
  Join: Inner on=[t.a = u.a]
    TableScan: t
    Join: Inner on=[u.a = o_orderkey]
      TableScan: u
      TableScan: orders
"
    );
}

#[test]
fn join_errors() {
    let e = err("SELECT a FROM t JOIN u ON t.a = u.a");
    assert!(matches!(e, Error::Plan(_)), "{e}");
    assert!(
        e.to_string().contains(
            "column reference 'a' at line 1, column 8 is ambiguous: it could be t.a or u.a"
        ),
        "{e}"
    );
    for (sql, needle) in [
        (
            "SELECT * FROM t, t",
            "table name 't' appears more than once",
        ),
        (
            "SELECT * FROM t JOIN t ON true",
            "table name 't' appears more than once",
        ),
        (
            "SELECT * FROM t LEFT JOIN u",
            "needs an ON or USING condition",
        ),
        (
            "SELECT * FROM t JOIN u USING (zz)",
            "USING column 'zz' is not a column of the left side",
        ),
        (
            "SELECT * FROM t JOIN u USING (b)",
            "USING column 'b' is not a column of the right side",
        ),
        (
            "SELECT * FROM (t JOIN u ON t.a = u.a) AS j",
            "the join aliased 'j' has two columns named 'a'",
        ),
        (
            "SELECT * FROM t JOIN u ON t.a = zz",
            "column 'zz' not found",
        ),
        ("SELECT * FROM t JOIN u ON t.d = u.a", "not comparable"),
    ] {
        let e = err(sql);
        assert!(matches!(e, Error::Plan(_)), "{sql}: {e}");
        assert!(e.to_string().contains(needle), "{sql}: {e}");
    }
}

#[test]
fn exists_subqueries() {
    // Correlated (TPC-H Q4): the equality becomes the key, the local condition stays inside.
    assert_eq!(
        shape(
            "SELECT o_orderpriority FROM orders WHERE o_orderdate >= DATE '1993-07-01'
             AND EXISTS (SELECT * FROM lineitem WHERE l_orderkey = o_orderkey
                         AND l_commitdate < l_receiptdate)"
        ),
        "\
Projection: o_orderpriority
  Join: LeftSemi on=[orders.o_orderkey = __sq_1.__k0]
    Filter: o_orderdate >= DATE '1993-07-01'
      TableScan: orders
    SubqueryAlias: __sq_1
      Projection: l_orderkey AS __k0
        Filter: l_commitdate < l_receiptdate
          TableScan: lineitem
"
    );
    // NOT EXISTS with a non-equality correlation (TPC-H Q21): a residual join filter over
    // an inner column the subquery outputs; a correlation without inner columns.
    assert_eq!(
        shape(
            "SELECT a FROM t WHERE NOT EXISTS (SELECT * FROM u WHERE u.a = t.a AND u.x > t.b)
             AND EXISTS (SELECT * FROM u WHERE t.c > 1)"
        ),
        "\
Projection: a
  Join: LeftSemi on=[] filter=t.c > 1
    Join: LeftAnti on=[t.a = __sq_1.__k0] filter=__sq_1.__r0 > t.b
      TableScan: t
      SubqueryAlias: __sq_1
        Projection: u.a AS __k0, u.x AS __r0
          TableScan: u
    SubqueryAlias: __sq_2
      Projection: 1 AS __one
        TableScan: u
"
    );
    // Uncorrelated: one row is enough. NOT (EXISTS ...) is NOT EXISTS.
    assert_eq!(
        shape("SELECT a FROM t WHERE NOT (EXISTS (SELECT a FROM u WHERE x = 'k'))"),
        "\
Projection: a
  CrossJoin: LeftAnti
    TableScan: t
    SubqueryAlias: __sq_1
      Limit: skip=0, fetch=1
        Projection: a
          Filter: x = 'k'
            TableScan: u
"
    );
}

#[test]
fn in_subqueries() {
    assert_eq!(
        shape("SELECT a FROM t WHERE a IN (SELECT a FROM u) AND b NOT IN (SELECT x FROM u)"),
        "\
Projection: a
  Join: LeftAntiNullAware on=[b = __sq_2.__v]
    Join: LeftSemi on=[a = __sq_1.__v]
      TableScan: t
      SubqueryAlias: __sq_1
        Projection: a AS __v
          TableScan: u
    SubqueryAlias: __sq_2
      Projection: x AS __v
        TableScan: u
"
    );
    // Correlated IN: the value key plus the correlation keys.
    assert_eq!(
        shape("SELECT a FROM t WHERE a IN (SELECT a FROM u WHERE u.x = t.b)"),
        "\
Projection: a
  Join: LeftSemi on=[a = __sq_1.__v, t.b = __sq_1.__k0]
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: a AS __v, u.x AS __k0
        TableScan: u
"
    );
    // A grouped subquery (TPC-H Q18) and a key of another type.
    assert_eq!(
        shape(
            "SELECT o_orderkey FROM orders WHERE o_shippriority IN
             (SELECT l_orderkey FROM lineitem GROUP BY l_orderkey HAVING sum(l_quantity) > 300)"
        ),
        "\
Projection: o_orderkey
  Join: LeftSemi on=[CAST(o_shippriority AS Int64) = __sq_1.__v]
    TableScan: orders
    SubqueryAlias: __sq_1
      Projection: lineitem.l_orderkey AS __v
        Filter: sum(l_quantity) > 300
          Aggregate: groupBy=[l_orderkey], aggr=[sum(l_quantity)]
            TableScan: lineitem
"
    );
}

#[test]
fn scalar_subqueries() {
    // Uncorrelated: an aggregate has exactly one row (inner cross join), anything else may
    // have none (left cross join, NULL then). Unaliased, the column is named after the SQL.
    assert_eq!(
        shape("SELECT a, (SELECT max(a) FROM u) AS m, (SELECT x FROM u LIMIT 1) FROM t"),
        "\
Projection: a, __sq_1.__v AS m, __sq_2.__v AS (SELECT x FROM u LIMIT 1)
  CrossJoin: Left
    CrossJoin: Inner
      TableScan: t
      SubqueryAlias: __sq_1
        Projection: max(a) AS __v
          Aggregate: groupBy=[], aggr=[max(a)]
            TableScan: u
    SubqueryAlias: __sq_2
      Projection: u.x AS __v
        Limit: skip=0, fetch=1
          Projection: x
            TableScan: u
"
    );
    // Correlated aggregate in WHERE (TPC-H Q17): grouped by the inner key, left joined, and
    // the condition reading it in a Filter above the join. The outer keys are pushed into the
    // subquery: it aggregates only the rows whose key an outer row may have (a semi join
    // with `part` under its own filter, which holds every outer key).
    assert_eq!(
        shape(
            "SELECT sum(l_extendedprice) FROM lineitem, part
             WHERE p_partkey = l_partkey AND p_brand = 'Brand#23'
             AND l_quantity < (SELECT 0.2 * avg(l_quantity) FROM lineitem WHERE l_partkey = p_partkey)"
        ),
        "\
Projection: sum(l_extendedprice)
  Aggregate: groupBy=[], aggr=[sum(l_extendedprice)]
    Filter: l_quantity < __sq_1.__v
      Join: Left on=[part.p_partkey = __sq_1.__k0]
        Filter: p_partkey = l_partkey AND p_brand = 'Brand#23'
          CrossJoin: Inner
            TableScan: lineitem
            TableScan: part
        SubqueryAlias: __sq_1
          Projection: 0.2 * avg(l_quantity) AS __v, lineitem.l_partkey AS __k0
            Aggregate: groupBy=[l_partkey], aggr=[avg(l_quantity)]
              Join: LeftSemi on=[l_partkey = __sq_1_keys.__k0]
                TableScan: lineitem
                SubqueryAlias: __sq_1_keys
                  Projection: part.p_partkey AS __k0
                    Filter: p_brand = 'Brand#23'
                      TableScan: part
"
    );
    // count gives 0 for outer rows without a group; other expressions that are not NULL over
    // no rows are evaluated over no rows.
    assert_eq!(
        shape("SELECT a, (SELECT count(*) FROM u WHERE u.a = t.a) AS n FROM t"),
        "\
Projection: a, coalesce(__sq_1.__v, 0) AS n
  Join: Left on=[t.a = __sq_1.__k0]
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: count(*) AS __v, u.a AS __k0
        Aggregate: groupBy=[u.a], aggr=[count(*)]
          TableScan: u
"
    );
    assert!(shape(
        "SELECT a, (SELECT coalesce(sum(u.a), 0) + count(*) FROM u WHERE u.a = t.a) FROM t"
    )
    .starts_with(
        "Projection: a, CASE WHEN __sq_1.__k0 IS NULL THEN coalesce(CAST(NULL AS Int64), 0) + 0 ELSE __sq_1.__v END"
    ));
    // HAVING and ORDER BY: joined above the Aggregate (TPC-H Q11).
    assert_eq!(
        shape(
            "SELECT b, sum(a) FROM t GROUP BY b HAVING sum(a) > (SELECT avg(a) FROM u)
             ORDER BY (SELECT max(a) FROM u)"
        ),
        "\
Projection: t.b, sum(a)
  Sort: __sort_key_0 ASC NULLS LAST
    Projection: t.b, sum(a), __sq_2.__v AS __sort_key_0
      Filter: sum(a) > __sq_1.__v
        CrossJoin: Inner
          CrossJoin: Inner
            Aggregate: groupBy=[b], aggr=[sum(a)]
              TableScan: t
            SubqueryAlias: __sq_1
              Projection: avg(a) AS __v
                Aggregate: groupBy=[], aggr=[avg(a)]
                  TableScan: u
          SubqueryAlias: __sq_2
            Projection: max(a) AS __v
              Aggregate: groupBy=[], aggr=[max(a)]
                TableScan: u
"
    );
    // Correlated on a grouping key of an aggregate query: the key reads the Aggregate.
    assert_eq!(
        shape("SELECT b, (SELECT count(*) FROM u WHERE u.x = t.b) AS n FROM t GROUP BY b"),
        "\
Projection: t.b, coalesce(__sq_1.__v, 0) AS n
  Join: Left on=[t.b = __sq_1.__k0]
    Aggregate: groupBy=[b], aggr=[]
      TableScan: t
    SubqueryAlias: __sq_1
      Projection: count(*) AS __v, u.x AS __k0
        Aggregate: groupBy=[u.x], aggr=[count(*)]
          TableScan: u
"
    );
    // A correlated non-aggregate subquery: left joined on its keys.
    assert_eq!(
        shape("SELECT a, (SELECT x FROM u WHERE u.a = t.a) AS x FROM t"),
        "\
Projection: a, __sq_1.__v AS x
  Join: Left on=[t.a = __sq_1.__k0]
    TableScan: t
    SubqueryAlias: __sq_1
      Projection: x AS __v, u.a AS __k0
        TableScan: u
"
    );
}

#[test]
fn subquery_errors() {
    for (sql, needle) in [
        ("SELECT a FROM t WHERE a = 1 OR EXISTS (SELECT 1 FROM u WHERE u.a > t.a)", "may only correlate through equalities"),
        ("SELECT a FROM t WHERE NOT (a IN (SELECT a FROM u WHERE u.x < t.b))", "may only correlate through equalities"),
        ("SELECT a FROM t WHERE a = (SELECT max(a) FROM u WHERE u.a > t.a)", "'u.a > t.a' is not supported yet"),
        ("SELECT a FROM t WHERE EXISTS (SELECT count(*) FROM u WHERE u.a = t.a)", "with aggregates is not supported yet"),
        ("SELECT a FROM t WHERE a = (SELECT max(t.b) FROM u WHERE u.a = t.a)", "only in WHERE"),
        ("SELECT a FROM t WHERE a = (SELECT u.a FROM u WHERE u.a = t.a LIMIT 1)", "ORDER BY / LIMIT in a correlated"),
        ("SELECT a FROM t WHERE a IN (SELECT a FROM u WHERE u.x = t.b GROUP BY a)", "GROUP BY / HAVING in a correlated"),
        (
            "SELECT a FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.a = t.a AND EXISTS (SELECT 1 FROM lineitem WHERE l_orderkey = t.a))",
            "two or more levels out",
        ),
        ("SELECT * FROM t JOIN u ON t.a = (SELECT 1)", "subqueries are not supported in ON"),
    ] {
        let e = err(sql);
        assert!(matches!(e, Error::NotImplemented(_)), "{sql}: {e}");
        assert!(e.to_string().contains(needle), "{sql}: {e}");
    }
    for (sql, needle) in [
        (
            "SELECT a FROM t WHERE a IN (SELECT a, x FROM u)",
            "must return one column",
        ),
        (
            "SELECT (SELECT a, x FROM u) FROM t",
            "must return one column",
        ),
        (
            "SELECT a FROM t WHERE a IN (SELECT zz FROM u)",
            "column 'zz' not found",
        ),
        (
            "SELECT a FROM t WHERE a = (SELECT max(zz) FROM u WHERE u.a = t.a)",
            "column 'zz' not found",
        ),
    ] {
        let e = err(sql);
        assert!(matches!(e, Error::Plan(_)), "{sql}: {e}");
        assert!(e.to_string().contains(needle), "{sql}: {e}");
    }
}

/// All 22 TPC-H queries bind; the decorrelated ones have the expected joins.
#[test]
fn tpch_queries_bind() {
    let expect: &[(usize, &[&str])] = &[
        (2, &["Join: Left on=[part.p_partkey = __sq_1.__k0]", "Filter: ps_supplycost = __sq_1.__v"]),
        (4, &["Join: LeftSemi on=[orders.o_orderkey = __sq_1.__k0]"]),
        (11, &["Filter: sum(ps_supplycost * ps_availqty) > __sq_1.__v", "CrossJoin: Inner"]),
        (13, &["Join: Left on=[c_custkey = o_custkey] filter=o_comment NOT LIKE '%special%requests%'"]),
        (15, &["Filter: total_revenue = __sq_1.__v"]),
        (16, &["Join: LeftAntiNullAware on=[ps_suppkey = __sq_1.__v]"]),
        (17, &["Join: Left on=[part.p_partkey = __sq_1.__k0]"]),
        (18, &["Join: LeftSemi on=[o_orderkey = __sq_1.__v]"]),
        (
            20,
            &[
                "Join: LeftSemi on=[s_suppkey = __sq_1.__v]",
                "Join: LeftSemi on=[ps_partkey = __sq_2.__v]",
                "Join: Left on=[partsupp.ps_partkey = __sq_3.__k0, partsupp.ps_suppkey = __sq_3.__k1]",
            ],
        ),
        (
            21,
            &[
                "Join: LeftAnti on=[l1.l_orderkey = __sq_2.__k0] filter=__sq_2.__r0 <> l1.l_suppkey",
                "Join: LeftSemi on=[l1.l_orderkey = __sq_1.__k0] filter=__sq_1.__r0 <> l1.l_suppkey",
            ],
        ),
        (22, &["Join: LeftAnti on=[customer.c_custkey = __sq_2.__k0]", "Filter: c_acctbal > __sq_1.__v"]),
    ];
    for n in 1..=22 {
        let sql = tpch_query(n);
        let p = match query(&sql) {
            Ok(p) => p.display_indent(),
            Err(e) => panic!("Q{n}: {e}"),
        };
        for (_, lines) in expect.iter().filter(|(q, _)| *q == n) {
            for l in *lines {
                assert!(p.contains(l), "Q{n} lacks '{l}':\n{p}");
            }
        }
    }
    // Q17 in full.
    assert_eq!(
        shape(&tpch_query(17)),
        "\
Projection: sum(l_extendedprice) / 7.0 AS avg_yearly
  Aggregate: groupBy=[], aggr=[sum(l_extendedprice)]
    Filter: l_quantity < __sq_1.__v
      Join: Left on=[part.p_partkey = __sq_1.__k0]
        Filter: p_partkey = l_partkey AND p_brand = 'Brand#23' AND p_container = 'MED BOX'
          CrossJoin: Inner
            TableScan: lineitem
            TableScan: part
        SubqueryAlias: __sq_1
          Projection: 0.2 * avg(l_quantity) AS __v, lineitem.l_partkey AS __k0
            Aggregate: groupBy=[l_partkey], aggr=[avg(l_quantity)]
              Join: LeftSemi on=[l_partkey = __sq_1_keys.__k0]
                TableScan: lineitem
                SubqueryAlias: __sq_1_keys
                  Projection: part.p_partkey AS __k0
                    Filter: p_brand = 'Brand#23' AND p_container = 'MED BOX'
                      TableScan: part
"
    );
}

#[test]
fn predicate_subqueries_in_expressions_are_marks() {
    // EXISTS under OR: a Left join against the distinct correlation keys with a TRUE mark.
    assert_eq!(
        shape("SELECT a FROM t WHERE a = 1 OR EXISTS (SELECT 1 FROM u WHERE u.x = t.b)"),
        "\
Projection: a
  Filter: a = 1 OR __sq_2.__m IS NOT NULL
    Join: Left on=[t.b = __sq_2.__k0]
      TableScan: t
      SubqueryAlias: __sq_2
        Projection: __sq_1.__k0 AS __k0, true AS __m
          Aggregate: groupBy=[__sq_1.__k0], aggr=[]
            SubqueryAlias: __sq_1
              Projection: u.x AS __k0
                TableScan: u
"
    );
    // NOT IN in the select list: the mark, and the subquery's row and non-NULL counts.
    assert_eq!(
        shape("SELECT a NOT IN (SELECT x FROM u) AS m FROM t"),
        "\
Projection: NOT CASE WHEN __sq_2.__m IS NOT NULL THEN true WHEN coalesce(__sq_3.__n, 0) = 0 THEN false \
WHEN a IS NULL OR coalesce(__sq_3.__n, 0) > coalesce(__sq_3.__nn, 0) THEN NULL ELSE false END AS m
  CrossJoin: Inner
    Join: Left on=[a = CAST(__sq_2.__v AS Int64)]
      TableScan: t
      SubqueryAlias: __sq_2
        Projection: __sq_1.__v AS __v, true AS __m
          Aggregate: groupBy=[__sq_1.__v], aggr=[]
            SubqueryAlias: __sq_1
              Projection: x AS __v
                TableScan: u
    SubqueryAlias: __sq_3
      Projection: __n AS __n, __nn AS __nn
        Aggregate: groupBy=[], aggr=[count(*) AS __n, count(__sq_1.__v) AS __nn]
          SubqueryAlias: __sq_1
            Projection: x AS __v
              TableScan: u
"
    );
}
