//! Binding statements: queries, EXPLAIN/DESCRIBE, CREATE VIEW / TABLE AS, DROP, SHOW TABLES and
//! COPY (parsed here, since DuckDB's COPY options go beyond sqlparser's PostgreSQL grammar).

use rask_common::{not_impl_err, plan_err, Error, Result};
use sqlparser::ast::{self, DescribeAlias, ObjectType};
use sqlparser::dialect::DuckDbDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

use crate::expr::{object_name, parser_error_in, position};
use crate::query::{rename_columns, QueryPlanner};
use crate::split::strip_leading_comments;
use crate::{SqlCatalog, Statement};

/// Binds one parsed statement (DROP of several names gives several statements).
pub(crate) fn bind_statement(
    stmt: &ast::Statement,
    catalog: &dyn SqlCatalog,
) -> Result<Vec<Statement>> {
    let planner = QueryPlanner::new(catalog);
    let no_ctes = Vec::new();
    Ok(vec![match stmt {
        ast::Statement::Query(q) => Statement::Query(planner.query(q, &no_ctes)?),
        ast::Statement::Explain {
            describe_alias,
            analyze,
            verbose,
            statement,
            ..
        } => {
            let ast::Statement::Query(q) = statement.as_ref() else {
                return not_impl_err!("{describe_alias} of '{statement}' is not supported");
            };
            let plan = planner.query(q, &no_ctes)?;
            match describe_alias {
                DescribeAlias::Describe | DescribeAlias::Desc => Statement::DescribeQuery(plan),
                DescribeAlias::Explain => Statement::Explain {
                    analyze: *analyze,
                    verbose: *verbose,
                    plan,
                },
            }
        }
        ast::Statement::ExplainTable { table_name, .. } => Statement::Describe {
            name: object_name(table_name),
        },
        ast::Statement::CreateView(cv) => {
            let plan = planner.query(&cv.query, &no_ctes)?;
            let columns: Vec<ast::TableAliasColumnDef> = cv
                .columns
                .iter()
                .map(|c| ast::TableAliasColumnDef::from_name(c.name.value.clone()))
                .collect();
            Statement::CreateView {
                name: object_name(&cv.name),
                or_replace: cv.or_replace,
                plan: rename_columns(plan, &columns)?,
            }
        }
        ast::Statement::CreateTable(ct) => match &ct.query {
            Some(q) => {
                if !ct.columns.is_empty() {
                    return not_impl_err!("CREATE TABLE with both columns and AS SELECT is not supported");
                }
                Statement::CreateTableAs {
                    name: object_name(&ct.name),
                    or_replace: ct.or_replace,
                    if_not_exists: ct.if_not_exists,
                    plan: planner.query(q, &no_ctes)?,
                }
            }
            None => {
                return not_impl_err!(
                    "CREATE TABLE with column definitions is not supported; use CREATE TABLE {} AS SELECT ...",
                    ct.name
                )
            }
        },
        ast::Statement::Drop {
            object_type,
            if_exists,
            names,
            ..
        } => {
            if !matches!(object_type, ObjectType::Table | ObjectType::View) {
                return not_impl_err!("DROP {object_type} is not supported");
            }
            return Ok(names
                .iter()
                .map(|n| Statement::Drop {
                    name: object_name(n),
                    if_exists: *if_exists,
                })
                .collect());
        }
        ast::Statement::ShowTables { .. } => Statement::ShowTables,
        other => {
            let text = other.to_string();
            let short: String = text.chars().take(60).collect();
            return not_impl_err!("statement '{short}' is not supported");
        }
    }])
}

/// True when the statement text starts with the COPY keyword.
pub(crate) fn is_copy(sql: &str) -> bool {
    let t = strip_leading_comments(sql);
    t.len() >= 4
        && t[..4].eq_ignore_ascii_case("copy")
        && !t[4..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
}

/// `COPY (query) TO 'target' [WITH] (OPTION value, ...)` or `COPY table TO ...`. Option names
/// are lower-cased; a value-less option reads `true`; string values lose their quotes.
pub(crate) fn parse_copy(sql: &str, catalog: &dyn SqlCatalog) -> Result<Statement> {
    let dialect = DuckDbDialect {};
    let parser_error = parser_error_in(sql);
    let mut p = Parser::new(&dialect)
        .try_with_sql(sql)
        .map_err(&parser_error)?;
    p.expect_keyword(Keyword::COPY).map_err(&parser_error)?;
    let planner = QueryPlanner::new(catalog);
    let plan = if p.consume_token(&Token::LParen) {
        let q = p.parse_query().map_err(&parser_error)?;
        p.expect_token(&Token::RParen).map_err(&parser_error)?;
        planner.query(&q, &Vec::new())?
    } else {
        let name = p.parse_object_name(false).map_err(&parser_error)?;
        if p.peek_token().token == Token::LParen {
            return not_impl_err!("COPY with a column list is not supported yet");
        }
        let select = format!("SELECT * FROM {name}");
        let q = Parser::new(&dialect)
            .try_with_sql(&select)
            .and_then(|mut p| p.parse_query())
            .map_err(&parser_error)?;
        planner.query(&q, &Vec::new())?
    };
    if p.parse_keyword(Keyword::FROM) {
        return not_impl_err!("COPY ... FROM is not supported; use read_csv or read_parquet");
    }
    p.expect_keyword(Keyword::TO).map_err(&parser_error)?;
    let target = p.parse_literal_string().map_err(&parser_error)?;
    let _ = p.parse_keyword(Keyword::WITH);
    let mut options = Vec::new();
    if p.consume_token(&Token::LParen) {
        loop {
            if p.consume_token(&Token::RParen) {
                break;
            }
            let tok = p.next_token();
            let name = match &tok.token {
                Token::Word(w) => w.value.to_lowercase(),
                Token::SingleQuotedString(s) => s.to_lowercase(),
                other => {
                    return Err(Error::Sql(format!(
                        "expected a COPY option name, found {other}{}",
                        position(tok.span)
                    )))
                }
            };
            let mut parts: Vec<Token> = Vec::new();
            let mut depth = 0usize;
            loop {
                let next = p.peek_token();
                match &next.token {
                    Token::Comma if depth == 0 => {
                        p.next_token();
                        break;
                    }
                    Token::RParen if depth == 0 => break,
                    Token::EOF => {
                        return Err(Error::Sql(format!(
                            "unterminated COPY option list{}",
                            position(next.span)
                        )))
                    }
                    Token::LParen => depth += 1,
                    Token::RParen => depth -= 1,
                    _ => {}
                }
                parts.push(p.next_token().token);
            }
            if matches!(parts.first(), Some(Token::Eq)) {
                parts.remove(0);
            }
            options.push((name, render_tokens(&parts)));
        }
    }
    let _ = p.consume_token(&Token::SemiColon);
    let rest = p.peek_token();
    if rest.token != Token::EOF {
        return Err(Error::Sql(format!(
            "unexpected {} after COPY{}",
            rest.token,
            position(rest.span)
        )));
    }
    if target.is_empty() {
        return plan_err!("COPY needs a target path");
    }
    Ok(Statement::Copy {
        plan,
        target,
        options,
    })
}

fn render_tokens(parts: &[Token]) -> String {
    if parts.is_empty() {
        return "true".to_string();
    }
    let word = |t: &Token| {
        matches!(
            t,
            Token::Word(_) | Token::Number(_, _) | Token::SingleQuotedString(_)
        )
    };
    let mut out = String::new();
    for (i, t) in parts.iter().enumerate() {
        if i > 0 && word(t) && word(&parts[i - 1]) {
            out.push(' ');
        }
        match t {
            Token::SingleQuotedString(s) => out.push_str(s),
            Token::Word(w) => out.push_str(&w.value),
            Token::Number(n, _) => out.push_str(n),
            other => out.push_str(&other.to_string()),
        }
    }
    out
}
