//! rask's SQL front end: SQL text to [`LogicalPlan`]s.
//!
//! The pipeline is
//!
//! * [`split_sql_statements`]: a script into statements (quotes and comments respected);
//! * sqlparser's DuckDB dialect: a statement into an AST (syntax errors name line and column);
//! * the binder (`statement`, `query`, `expr` modules): the AST into [`Statement`]s holding
//!   logical plans, resolving tables through a [`SqlCatalog`] and checking every name and type.
//!
//! Semantics follow DuckDB where SQL leaves a choice (literal types, `NULLS LAST` by default,
//! `GROUP BY ALL`, `SELECT * EXCLUDE`, `FROM 'file.parquet'`).
//!
//! ```
//! # use std::sync::Arc;
//! # use rask_common::{Result, ScalarValue};
//! # use rask_expr::LogicalPlan;
//! use rask_sql::{sql_to_statements, SqlCatalog, Statement};
//!
//! struct NoTables;
//! impl SqlCatalog for NoTables {
//!     fn resolve_table(&self, _: &str) -> Result<Option<Arc<LogicalPlan>>> { Ok(None) }
//!     fn table_function(&self, n: &str, _: &[ScalarValue], _: &[(String, ScalarValue)])
//!         -> Result<Arc<LogicalPlan>> { rask_common::plan_err!("no {n}") }
//!     fn path_table(&self, p: &str) -> Result<Arc<LogicalPlan>> { rask_common::plan_err!("no {p}") }
//!     fn table_names(&self) -> Vec<String> { vec![] }
//! }
//!
//! let stmts = sql_to_statements("SELECT 1 + 2 AS three", &NoTables).unwrap();
//! let Statement::Query(plan) = &stmts[0] else { panic!() };
//! assert_eq!(plan.display_indent(), "Projection: 1 + 2 AS three\n  EmptyRelation: rows=1\n");
//! ```
#![warn(missing_docs)]

use std::sync::Arc;

use rask_common::{Error, Result, ScalarValue};
use rask_expr::{Expr, LogicalPlan, PlanSchema};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

mod expr;
mod query;
mod split;
mod statement;
mod subquery;
pub mod types;
mod window;

#[cfg(test)]
mod join_tests;
#[cfg(test)]
mod tests;

use expr::{bind_expr, parser_error_in, ExprContext};

/// What the SQL binder needs to know about tables. The facade implements it over its
/// registered tables, views and file readers.
pub trait SqlCatalog {
    /// The plan of a registered table or view (case-insensitive name), None when unknown.
    fn resolve_table(&self, name: &str) -> Result<Option<Arc<LogicalPlan>>>;
    /// Table functions in FROM: read_parquet('glob'), read_csv('glob', header=true, delim='|', ...), read_csv_auto.
    /// `args` positional constant args, `named` the name=value args (lower-cased names).
    fn table_function(
        &self,
        name: &str,
        args: &[ScalarValue],
        named: &[(String, ScalarValue)],
    ) -> Result<Arc<LogicalPlan>>;
    /// A quoted path used as a table: FROM 'datasets/x/' or FROM 'a/*.parquet'.
    fn path_table(&self, path: &str) -> Result<Arc<LogicalPlan>>;
    /// Known table names, for "did you mean" hints.
    fn table_names(&self) -> Vec<String>;
}

/// A bound SQL statement.
#[derive(Debug, Clone)]
pub enum Statement {
    /// A query (`SELECT`, `VALUES`, set operations, `WITH`).
    Query(Arc<LogicalPlan>),
    /// `EXPLAIN [ANALYZE] [VERBOSE] query`
    Explain {
        /// `EXPLAIN ANALYZE`: run the query and report metrics.
        analyze: bool,
        /// `EXPLAIN VERBOSE`
        verbose: bool,
        /// The query.
        plan: Arc<LogicalPlan>,
    },
    /// `CREATE [OR REPLACE] VIEW name AS query`
    CreateView {
        /// View name as written.
        name: String,
        /// `OR REPLACE`
        or_replace: bool,
        /// The view's query.
        plan: Arc<LogicalPlan>,
    },
    /// `CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name AS query`
    CreateTableAs {
        /// Table name as written.
        name: String,
        /// `OR REPLACE`
        or_replace: bool,
        /// `IF NOT EXISTS`
        if_not_exists: bool,
        /// The query whose result becomes the table.
        plan: Arc<LogicalPlan>,
    },
    /// `COPY (query) TO 'dir' (FORMAT parquet, HEADER true, DELIMITER ',')`, or `COPY table TO ...`.
    Copy {
        /// The rows to write.
        plan: Arc<LogicalPlan>,
        /// The target path.
        target: String,
        /// Options, names lower-cased, values as written (string quotes removed, `true` for
        /// a bare option such as `HEADER`).
        options: Vec<(String, String)>,
    },
    /// `DROP TABLE | VIEW [IF EXISTS] name`
    Drop {
        /// Name as written.
        name: String,
        /// `IF EXISTS`
        if_exists: bool,
    },
    /// `SHOW TABLES`
    ShowTables,
    /// `DESCRIBE table`
    Describe {
        /// Name as written.
        name: String,
    },
    /// `DESCRIBE query`
    DescribeQuery(Arc<LogicalPlan>),
}

/// Splits a script into statements on top-level ';' (respecting quotes, comments); trailing whitespace-only pieces dropped.
///
/// Pieces holding only whitespace or comments are dropped; each piece is trimmed and has no
/// `;`.
pub fn split_sql_statements(script: &str) -> Result<Vec<String>> {
    Ok(split::split(script).into_iter().map(|p| p.text).collect())
}

/// Parses and binds every statement in `sql`. CREATE VIEW must take effect for later statements, so the caller
/// usually calls this per statement (after split_sql_statements); that's fine.
///
/// Syntax errors are [`Error::Sql`] with the line and column (counted in the whole of `sql`);
/// unknown names and type errors are [`Error::Plan`]; features rask lacks (window functions,
/// subqueries it cannot decorrelate, such as `EXISTS` under `OR`) are
/// [`Error::NotImplemented`].
pub fn sql_to_statements(sql: &str, catalog: &dyn SqlCatalog) -> Result<Vec<Statement>> {
    let pieces = split::split(sql);
    let single = pieces.len() == 1;
    let mut out = Vec::new();
    for piece in pieces {
        // Pad the piece so that parser positions are those of the whole script.
        let text = if single && piece.offset == 0 {
            piece.text
        } else {
            let (line, col) = split::line_col(sql, piece.offset);
            format!(
                "{}{}{}",
                "\n".repeat(line - 1),
                " ".repeat(col - 1),
                piece.text
            )
        };
        if statement::is_copy(&text) {
            out.push(statement::parse_copy(&text, catalog)?);
            continue;
        }
        let parsed = Parser::parse_sql(&DuckDbDialect {}, &text).map_err(parser_error_in(&text))?;
        for stmt in &parsed {
            out.extend(statement::bind_statement(stmt, catalog)?);
        }
    }
    Ok(out)
}

/// Parses a single SQL scalar expression (for DataFrame.query("a > 1 and b == 'x'"), accept `==` as `=`) and binds it against a schema (no aggregates).
pub fn sql_expr(expr: &str, schema: &PlanSchema) -> Result<Expr> {
    let dialect = DuckDbDialect {};
    let mut parser = Parser::new(&dialect)
        .try_with_sql(expr)
        .map_err(parser_error_in(expr))?;
    let ast = parser.parse_expr().map_err(parser_error_in(expr))?;
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(Error::Sql(format!(
            "unexpected {} after the expression{}",
            next.token,
            expr::position(next.span)
        )));
    }
    bind_expr(&ast, &ExprContext::new(schema, "this expression"))
}

/// Computes the window calls (`Expr::WindowFunction`) found anywhere in `exprs`, each bound
/// over `plan`'s schema, in one Window node over `plan`, and rewrites `exprs` to read its
/// columns: the same planning a `SELECT` with window functions gets (identical calls are
/// computed once). Returns `plan` unchanged when there is no window call. The DataFrame API's
/// `select`/`filter` use it for expressions built with `over`.
///
/// # Errors
/// Unknown columns or bad arguments in a window call; nested window calls.
pub fn plan_window_calls(
    plan: Arc<LogicalPlan>,
    exprs: &mut [&mut Expr],
) -> Result<Arc<LogicalPlan>> {
    window::plan_windows(plan, exprs, &query::normalize)
}
