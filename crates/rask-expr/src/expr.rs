//! Logical expressions.

use std::fmt;

use arrow::datatypes::DataType;
use rask_common::ScalarValue;

/// A column reference, optionally qualified by a table name or alias.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Column {
    /// The table or alias qualifying the name, if written.
    pub relation: Option<String>,
    /// The column name.
    pub name: String,
}

impl Column {
    /// An unqualified column.
    pub fn new(name: impl Into<String>) -> Self {
        Column {
            relation: None,
            name: name.into(),
        }
    }
    /// A qualified column `relation.name`.
    pub fn qualified(relation: impl Into<String>, name: impl Into<String>) -> Self {
        Column {
            relation: Some(relation.into()),
            name: name.into(),
        }
    }
    /// The name as written: `t.a` or `a`.
    pub fn flat_name(&self) -> String {
        match &self.relation {
            Some(r) => format!("{r}.{}", self.name),
            None => self.name.clone(),
        }
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.flat_name())
    }
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `=`
    Eq,
    /// `<>`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Multiply,
    /// `/`
    Divide,
    /// `%`
    Modulo,
    /// `AND` (three-valued)
    And,
    /// `OR` (three-valued)
    Or,
    /// `||` string concatenation
    StringConcat,
    /// `IS DISTINCT FROM`
    IsDistinctFrom,
    /// `IS NOT DISTINCT FROM`
    IsNotDistinctFrom,
}

impl Operator {
    /// Binding strength, higher binds tighter (SQL's usual order).
    pub fn precedence(&self) -> u8 {
        match self {
            Operator::Or => 5,
            Operator::And => 10,
            Operator::IsDistinctFrom | Operator::IsNotDistinctFrom => 15,
            Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq => 20,
            Operator::StringConcat => 25,
            Operator::Plus | Operator::Minus => 30,
            Operator::Multiply | Operator::Divide | Operator::Modulo => 40,
        }
    }

    /// True for `= <> < <= > >=` and the DISTINCT FROM forms.
    pub fn is_comparison(&self) -> bool {
        matches!(
            self,
            Operator::Eq
                | Operator::NotEq
                | Operator::Lt
                | Operator::LtEq
                | Operator::Gt
                | Operator::GtEq
                | Operator::IsDistinctFrom
                | Operator::IsNotDistinctFrom
        )
    }
    /// True for `+ - * / %`.
    pub fn is_arithmetic(&self) -> bool {
        matches!(
            self,
            Operator::Plus
                | Operator::Minus
                | Operator::Multiply
                | Operator::Divide
                | Operator::Modulo
        )
    }
    /// The comparison with its operands swapped (`a < b` ⇔ `b > a`).
    pub fn swap(&self) -> Option<Operator> {
        Some(match self {
            Operator::Eq => Operator::Eq,
            Operator::NotEq => Operator::NotEq,
            Operator::Lt => Operator::Gt,
            Operator::LtEq => Operator::GtEq,
            Operator::Gt => Operator::Lt,
            Operator::GtEq => Operator::LtEq,
            Operator::IsDistinctFrom => Operator::IsDistinctFrom,
            Operator::IsNotDistinctFrom => Operator::IsNotDistinctFrom,
            _ => return None,
        })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Operator::Eq => "=",
            Operator::NotEq => "<>",
            Operator::Lt => "<",
            Operator::LtEq => "<=",
            Operator::Gt => ">",
            Operator::GtEq => ">=",
            Operator::Plus => "+",
            Operator::Minus => "-",
            Operator::Multiply => "*",
            Operator::Divide => "/",
            Operator::Modulo => "%",
            Operator::And => "AND",
            Operator::Or => "OR",
            Operator::StringConcat => "||",
            Operator::IsDistinctFrom => "IS DISTINCT FROM",
            Operator::IsNotDistinctFrom => "IS NOT DISTINCT FROM",
        };
        write!(f, "{s}")
    }
}

/// Scalar (row-wise) functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum ScalarFunc {
    Lower,
    Upper,
    Length,
    Substring,
    Trim,
    LTrim,
    RTrim,
    Concat,
    StartsWith,
    EndsWith,
    Contains,
    Replace,
    SplitPart,
    Coalesce,
    NullIf,
    Abs,
    Round,
    Floor,
    Ceil,
    Power,
    Sqrt,
    Ln,
    Exp,
    Log10,
    DatePart,
    DateTrunc,
    RegexpMatch,
    Greatest,
    Least,
    // accessors branch: functions behind `Expr::str()` / `Expr::dt()` (see `accessors.rs`).
    /// `regexp_extract(s, pattern[, group[, options]])`: DuckDB's, `''` when nothing matches.
    RegexpExtract,
    /// `regexp_replace(s, pattern, replacement[, options])`: DuckDB's, the first match only
    /// unless the options hold `g`.
    RegexpReplace,
    /// `strftime(ts, format)`: a DATE or TIMESTAMP as VARCHAR with a chrono format string.
    Strftime,
    /// `time_bucket(width, ts[, origin | offset])`: DuckDB's, the start of the width-sized
    /// bucket holding `ts`.
    TimeBucket,
    /// `str_extract(s, pattern[, group])` (rask): pandas' `str.extract`, NULL when nothing
    /// matches or the group took no part in the match.
    StrExtract,
    /// `str_split_get(s, separator, i)` (rask): pandas' `str.split(sep).str[i]`, 0-based,
    /// negative from the end, NULL when there is no such piece.
    StrSplitGet,
    /// `str_slice(s[, start[, stop]])` (rask): Python's `s[start:stop]` on characters, NULL
    /// bounds meaning "open".
    StrSlice,
    // transform branch
    /// `hash(a, b, ...)`: a 64-bit hash of the arguments' values (UBIGINT), the same on every
    /// worker and run (the engine hash, mixed once more).
    Hash,
}

impl ScalarFunc {
    /// Looks a function up by its SQL name.
    pub fn from_name(name: &str) -> Option<ScalarFunc> {
        use ScalarFunc::*;
        Some(match name {
            "lower" | "lcase" => Lower,
            "upper" | "ucase" => Upper,
            "length" | "char_length" | "character_length" | "len" | "strlen" => Length,
            "substring" | "substr" => Substring,
            "trim" | "btrim" => Trim,
            "ltrim" => LTrim,
            "rtrim" => RTrim,
            "concat" => Concat,
            "starts_with" | "prefix" => StartsWith,
            "ends_with" | "suffix" => EndsWith,
            "contains" => Contains,
            "replace" => Replace,
            "split_part" => SplitPart,
            "coalesce" | "ifnull" => Coalesce,
            "nullif" => NullIf,
            "abs" => Abs,
            "round" => Round,
            "floor" => Floor,
            "ceil" | "ceiling" => Ceil,
            "power" | "pow" => Power,
            "sqrt" => Sqrt,
            "ln" => Ln,
            "exp" => Exp,
            "log10" | "log" => Log10,
            "date_part" | "datepart" => DatePart,
            "date_trunc" | "datetrunc" => DateTrunc,
            "regexp_matches" | "regexp_like" => RegexpMatch,
            "greatest" => Greatest,
            "least" => Least,
            // accessors branch
            "regexp_extract" => RegexpExtract,
            "regexp_replace" => RegexpReplace,
            "strftime" => Strftime,
            "time_bucket" => TimeBucket,
            "str_extract" => StrExtract,
            "str_split_get" => StrSplitGet,
            "str_slice" => StrSlice,
            // transform branch
            "hash" => Hash,
            _ => return None,
        })
    }

    /// The SQL name used when printing.
    pub fn name(&self) -> &'static str {
        use ScalarFunc::*;
        match self {
            Lower => "lower",
            Upper => "upper",
            Length => "length",
            Substring => "substring",
            Trim => "trim",
            LTrim => "ltrim",
            RTrim => "rtrim",
            Concat => "concat",
            StartsWith => "starts_with",
            EndsWith => "ends_with",
            Contains => "contains",
            Replace => "replace",
            SplitPart => "split_part",
            Coalesce => "coalesce",
            NullIf => "nullif",
            Abs => "abs",
            Round => "round",
            Floor => "floor",
            Ceil => "ceil",
            Power => "power",
            Sqrt => "sqrt",
            Ln => "ln",
            Exp => "exp",
            Log10 => "log10",
            DatePart => "date_part",
            DateTrunc => "date_trunc",
            RegexpMatch => "regexp_matches",
            Greatest => "greatest",
            Least => "least",
            // accessors branch
            RegexpExtract => "regexp_extract",
            RegexpReplace => "regexp_replace",
            Strftime => "strftime",
            TimeBucket => "time_bucket",
            StrExtract => "str_extract",
            StrSplitGet => "str_split_get",
            StrSlice => "str_slice",
            // transform branch
            Hash => "hash",
        }
    }
}

/// Aggregate functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum AggFunc {
    Count,
    /// `count(*)`: counts rows, takes no argument.
    CountStar,
    Sum,
    Avg,
    Min,
    Max,
    StddevSamp,
    StddevPop,
    VarSamp,
    VarPop,
    Median,
    Corr,
    First,
    Last,
    StringAgg,
    /// Any value of the group (used when a grouped key determines the column).
    AnyValue,
    // transform branch
    /// `quantile_cont(x, q)`: the exact `q`-quantile (a literal in [0, 1]) with linear
    /// interpolation between the closest ranks (pandas' default, DuckDB's `quantile_cont`).
    Quantile,
    /// `covar_samp(y, x)`: sample covariance of the pairs where both are non-NULL.
    CovarSamp,
    /// `covar_pop(y, x)`: population covariance of the pairs where both are non-NULL.
    CovarPop,
}

impl AggFunc {
    /// Looks an aggregate up by its SQL name.
    pub fn from_name(name: &str) -> Option<AggFunc> {
        use AggFunc::*;
        Some(match name {
            "count" => Count,
            "sum" => Sum,
            "avg" | "mean" => Avg,
            "min" => Min,
            "max" => Max,
            "stddev" | "stddev_samp" | "std" => StddevSamp,
            "stddev_pop" => StddevPop,
            "variance" | "var_samp" | "var" => VarSamp,
            "var_pop" => VarPop,
            "median" => Median,
            "corr" => Corr,
            "first" | "first_value" | "arbitrary" => First,
            "last" | "last_value" => Last,
            "string_agg" | "listagg" | "group_concat" => StringAgg,
            "any_value" => AnyValue,
            // transform branch
            "quantile_cont" | "quantile" => Quantile,
            "covar_samp" => CovarSamp,
            "covar_pop" => CovarPop,
            _ => return None,
        })
    }

    /// Whether the window operator computes this aggregate over a frame (`sum(x) OVER (..)`).
    pub fn runs_over_window(&self) -> bool {
        use AggFunc::*;
        matches!(
            self,
            Count | CountStar | Sum | Avg | Min | Max | VarSamp | VarPop | StddevSamp | StddevPop
        )
    }

    /// The SQL name used when printing.
    pub fn name(&self) -> &'static str {
        use AggFunc::*;
        match self {
            Count | CountStar => "count",
            Sum => "sum",
            Avg => "avg",
            Min => "min",
            Max => "max",
            StddevSamp => "stddev_samp",
            StddevPop => "stddev_pop",
            VarSamp => "var_samp",
            VarPop => "var_pop",
            Median => "median",
            Corr => "corr",
            First => "first",
            Last => "last",
            StringAgg => "string_agg",
            AnyValue => "any_value",
            // transform branch
            Quantile => "quantile_cont",
            CovarSamp => "covar_samp",
            CovarPop => "covar_pop",
        }
    }
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortExpr {
    /// The key.
    pub expr: Expr,
    /// Ascending (the default) or descending.
    pub asc: bool,
    /// NULLs before non-NULLs. SQL's default: last when ascending, first when descending.
    pub nulls_first: bool,
}

impl SortExpr {
    /// A key with SQL's default NULL placement.
    pub fn new(expr: Expr, asc: bool) -> Self {
        SortExpr {
            expr,
            asc,
            nulls_first: !asc,
        }
    }
}

/// Functions computed over a window of rows (`f(...) OVER (...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowFunc {
    /// `row_number()`: 1, 2, 3, ... in window order.
    RowNumber,
    /// `rank()`: the row number of the first peer (ties share a rank, then a gap).
    Rank,
    /// `dense_rank()`: the number of peer groups so far (no gaps).
    DenseRank,
    /// `percent_rank()`: `(rank - 1) / (rows - 1)`, 0 for a one-row partition.
    PercentRank,
    /// `cume_dist()`: rows up to the last peer / rows.
    CumeDist,
    /// `ntile(n)`: the bucket 1..n, sizes differing by at most one.
    Ntile,
    /// `lag(x [, offset [, default]])`
    Lag,
    /// `lead(x [, offset [, default]])`
    Lead,
    /// `first_value(x)` of the frame.
    FirstValue,
    /// `last_value(x)` of the frame.
    LastValue,
    /// `nth_value(x, n)` of the frame (1-based).
    NthValue,
    /// An aggregate over the frame (`sum(x) OVER (...)`).
    Aggregate(AggFunc),
}

impl WindowFunc {
    /// Looks a window-only function up by its SQL name (aggregates are looked up with
    /// [`AggFunc::from_name`]).
    pub fn from_name(name: &str) -> Option<WindowFunc> {
        use WindowFunc::*;
        Some(match name {
            "row_number" => RowNumber,
            "rank" => Rank,
            "dense_rank" => DenseRank,
            "percent_rank" => PercentRank,
            "cume_dist" => CumeDist,
            "ntile" => Ntile,
            "lag" => Lag,
            "lead" => Lead,
            "first_value" | "first" => FirstValue,
            "last_value" | "last" => LastValue,
            "nth_value" => NthValue,
            _ => return None,
        })
    }

    /// The SQL name used when printing.
    pub fn name(&self) -> &'static str {
        use WindowFunc::*;
        match self {
            RowNumber => "row_number",
            Rank => "rank",
            DenseRank => "dense_rank",
            PercentRank => "percent_rank",
            CumeDist => "cume_dist",
            Ntile => "ntile",
            Lag => "lag",
            Lead => "lead",
            FirstValue => "first_value",
            LastValue => "last_value",
            NthValue => "nth_value",
            Aggregate(f) => f.name(),
        }
    }

    /// Whether the function ignores the frame (ranking functions, `lag`, `lead`).
    pub fn ignores_frame(&self) -> bool {
        !matches!(
            self,
            WindowFunc::FirstValue
                | WindowFunc::LastValue
                | WindowFunc::NthValue
                | WindowFunc::Aggregate(_)
        )
    }
}

/// How a window frame's bounds are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowFrameUnits {
    /// Physical rows.
    Rows,
    /// Values of the (single) ORDER BY key; `CURRENT ROW` means the current row's peers.
    Range,
}

/// One end of a window frame.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowFrameBound {
    /// The partition's first row.
    UnboundedPreceding,
    /// `n PRECEDING`: rows (ROWS) or an ORDER BY distance (RANGE), a non-negative constant.
    Preceding(ScalarValue),
    /// The current row (ROWS) or its first/last peer (RANGE).
    CurrentRow,
    /// `n FOLLOWING`
    Following(ScalarValue),
    /// The partition's last row.
    UnboundedFollowing,
}

impl fmt::Display for WindowFrameBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowFrameBound::UnboundedPreceding => write!(f, "UNBOUNDED PRECEDING"),
            WindowFrameBound::Preceding(n) => write!(f, "{n} PRECEDING"),
            WindowFrameBound::CurrentRow => write!(f, "CURRENT ROW"),
            WindowFrameBound::Following(n) => write!(f, "{n} FOLLOWING"),
            WindowFrameBound::UnboundedFollowing => write!(f, "UNBOUNDED FOLLOWING"),
        }
    }
}

/// `ROWS|RANGE BETWEEN start AND end`
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFrame {
    /// ROWS or RANGE.
    pub units: WindowFrameUnits,
    /// First row of the frame.
    pub start: WindowFrameBound,
    /// Last row of the frame.
    pub end: WindowFrameBound,
}

impl Default for WindowFrame {
    /// SQL's default, `RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW`: with ORDER BY the
    /// rows up to the current row's last peer, without it the whole partition (every row is
    /// a peer).
    fn default() -> Self {
        WindowFrame {
            units: WindowFrameUnits::Range,
            start: WindowFrameBound::UnboundedPreceding,
            end: WindowFrameBound::CurrentRow,
        }
    }
}

impl fmt::Display for WindowFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = match self.units {
            WindowFrameUnits::Rows => "ROWS",
            WindowFrameUnits::Range => "RANGE",
        };
        write!(f, "{units} BETWEEN {} AND {}", self.start, self.end)
    }
}

/// A window function call: `func(args) OVER (PARTITION BY .. ORDER BY .. frame)`; only valid
/// in a Window node.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowFunction {
    /// The function.
    pub func: WindowFunc,
    /// Arguments (`count(*)` has none).
    pub args: Vec<Expr>,
    /// `PARTITION BY` keys.
    pub partition_by: Vec<Expr>,
    /// `ORDER BY` keys inside `OVER`.
    pub order_by: Vec<SortExpr>,
    /// The frame (ignored by ranking functions, `lag` and `lead`).
    pub frame: WindowFrame,
}

impl WindowFunction {
    /// Whether two calls share PARTITION BY and ORDER BY, so one sort serves both.
    pub fn same_window(&self, other: &WindowFunction) -> bool {
        self.partition_by == other.partition_by && self.order_by == other.order_by
    }
}

impl fmt::Display for WindowFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.func.name())?;
        if self.func == WindowFunc::Aggregate(AggFunc::CountStar) {
            write!(f, "*")?;
        } else {
            fmt_list(f, &self.args)?;
        }
        write!(f, ") OVER (")?;
        let mut sep = "";
        if !self.partition_by.is_empty() {
            write!(f, "PARTITION BY ")?;
            fmt_list(f, &self.partition_by)?;
            sep = " ";
        }
        if !self.order_by.is_empty() {
            write!(f, "{sep}ORDER BY ")?;
            for (i, k) in self.order_by.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "{}", k.expr)?;
                if !k.asc {
                    write!(f, " DESC")?;
                }
                if k.nulls_first {
                    write!(f, " NULLS FIRST")?;
                }
            }
            sep = " ";
        }
        if !self.func.ignores_frame() && self.frame != WindowFrame::default() {
            write!(f, "{sep}{}", self.frame)?;
        }
        write!(f, ")")
    }
}

/// A logical expression. Types are inferred against a plan's schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column of the input.
    Column(Column),
    /// A constant.
    Literal(ScalarValue),
    /// `expr AS name`
    Alias(Box<Expr>, String),
    /// `left op right`
    BinaryExpr {
        /// Left operand.
        left: Box<Expr>,
        /// Operator.
        op: Operator,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `NOT expr`
    Not(Box<Expr>),
    /// `-expr`
    Negative(Box<Expr>),
    /// `expr IS NULL`
    IsNull(Box<Expr>),
    /// `expr IS NOT NULL`
    IsNotNull(Box<Expr>),
    /// `expr [NOT] BETWEEN low AND high`
    Between {
        /// Tested value.
        expr: Box<Expr>,
        /// NOT BETWEEN.
        negated: bool,
        /// Lower bound (inclusive).
        low: Box<Expr>,
        /// Upper bound (inclusive).
        high: Box<Expr>,
    },
    /// `expr [NOT] IN (list)`
    InList {
        /// Tested value.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// NOT IN.
        negated: bool,
    },
    /// `expr [NOT] LIKE|ILIKE pattern`
    Like {
        /// NOT LIKE.
        negated: bool,
        /// Tested value.
        expr: Box<Expr>,
        /// Pattern with `%` and `_`.
        pattern: Box<Expr>,
        /// ILIKE.
        case_insensitive: bool,
    },
    /// `CASE [operand] WHEN .. THEN .. ELSE .. END`
    Case {
        /// `CASE x WHEN ...` form.
        operand: Option<Box<Expr>>,
        /// WHEN / THEN pairs.
        when_then: Vec<(Expr, Expr)>,
        /// ELSE branch (NULL when absent).
        else_expr: Option<Box<Expr>>,
    },
    /// `CAST(expr AS type)`; `TRY_CAST` when `safe` (NULL instead of an error).
    Cast {
        /// Value.
        expr: Box<Expr>,
        /// Target type.
        data_type: DataType,
        /// TRY_CAST.
        safe: bool,
    },
    /// A scalar function call.
    ScalarFunction {
        /// Function.
        func: ScalarFunc,
        /// Arguments.
        args: Vec<Expr>,
    },
    /// An aggregate call; only valid in an Aggregate node.
    AggregateFunction {
        /// Function.
        func: AggFunc,
        /// Arguments (empty for `count(*)`).
        args: Vec<Expr>,
        /// `DISTINCT` inside the call.
        distinct: bool,
        /// `FILTER (WHERE ...)`.
        filter: Option<Box<Expr>>,
    },
    /// A window function call; only valid in a Window node.
    WindowFunction(Box<WindowFunction>),
    /// `*` in a select list (expanded by the planner).
    Wildcard {
        /// `t.*`
        qualifier: Option<String>,
    },
}

/// A column expression: `col("a")` or `col("t.a")`.
pub fn col(name: &str) -> Expr {
    match name.split_once('.') {
        Some((rel, n)) if !rel.is_empty() && !n.is_empty() => {
            Expr::Column(Column::qualified(rel, n))
        }
        _ => Expr::Column(Column::new(name)),
    }
}

/// A literal expression.
pub fn lit(value: impl Literal) -> Expr {
    Expr::Literal(value.lit())
}

/// Values that can be written as literals.
pub trait Literal {
    /// The scalar.
    fn lit(self) -> ScalarValue;
}

impl Literal for i64 {
    fn lit(self) -> ScalarValue {
        ScalarValue::Int64(Some(self))
    }
}
impl Literal for i32 {
    fn lit(self) -> ScalarValue {
        ScalarValue::Int64(Some(self as i64))
    }
}
impl Literal for f64 {
    fn lit(self) -> ScalarValue {
        ScalarValue::Float64(Some(self))
    }
}
impl Literal for bool {
    fn lit(self) -> ScalarValue {
        ScalarValue::Boolean(Some(self))
    }
}
impl Literal for &str {
    fn lit(self) -> ScalarValue {
        ScalarValue::Utf8(Some(self.to_string()))
    }
}
impl Literal for String {
    fn lit(self) -> ScalarValue {
        ScalarValue::Utf8(Some(self))
    }
}
impl Literal for ScalarValue {
    fn lit(self) -> ScalarValue {
        self
    }
}

macro_rules! binary_helpers {
    ($($name:ident => $op:ident),* $(,)?) => {
        $(
            #[doc = concat!("`self ", stringify!($op), " other`")]
            pub fn $name(self, other: Expr) -> Expr {
                Expr::BinaryExpr { left: Box::new(self), op: Operator::$op, right: Box::new(other) }
            }
        )*
    };
}

#[allow(clippy::should_implement_trait)] // `col("a").add(lit(1))` reads like SQL
impl Expr {
    binary_helpers!(
        eq => Eq, not_eq => NotEq, lt => Lt, lt_eq => LtEq, gt => Gt, gt_eq => GtEq,
        and => And, or => Or, add => Plus, sub => Minus, mul => Multiply, div => Divide,
        modulo => Modulo,
    );

    /// `self AS name`
    pub fn alias(self, name: impl Into<String>) -> Expr {
        match self {
            Expr::Alias(inner, _) => Expr::Alias(inner, name.into()),
            e => Expr::Alias(Box::new(e), name.into()),
        }
    }
    /// `NOT self`
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Expr {
        Expr::Not(Box::new(self))
    }
    /// `self IS NULL`
    pub fn is_null(self) -> Expr {
        Expr::IsNull(Box::new(self))
    }
    /// `self IS NOT NULL`
    pub fn is_not_null(self) -> Expr {
        Expr::IsNotNull(Box::new(self))
    }
    /// `self BETWEEN low AND high`
    pub fn between(self, low: Expr, high: Expr) -> Expr {
        Expr::Between {
            expr: Box::new(self),
            negated: false,
            low: Box::new(low),
            high: Box::new(high),
        }
    }
    /// `self IN (list)`
    pub fn isin(self, list: Vec<Expr>) -> Expr {
        Expr::InList {
            expr: Box::new(self),
            list,
            negated: false,
        }
    }
    /// `self LIKE pattern`
    pub fn like(self, pattern: Expr) -> Expr {
        Expr::Like {
            negated: false,
            expr: Box::new(self),
            pattern: Box::new(pattern),
            case_insensitive: false,
        }
    }
    /// `CAST(self AS data_type)`
    pub fn cast(self, data_type: DataType) -> Expr {
        Expr::Cast {
            expr: Box::new(self),
            data_type,
            safe: false,
        }
    }

    /// The column name this expression gets in an output schema.
    pub fn output_name(&self) -> String {
        match self {
            Expr::Alias(_, name) => name.clone(),
            Expr::Column(c) => c.name.clone(),
            other => other.to_string(),
        }
    }

    /// The expression without a top-level alias.
    pub fn unalias(&self) -> &Expr {
        match self {
            Expr::Alias(e, _) => e.unalias(),
            e => e,
        }
    }

    /// The direct children.
    pub fn children(&self) -> Vec<&Expr> {
        match self {
            Expr::Column(_) | Expr::Literal(_) | Expr::Wildcard { .. } => vec![],
            Expr::Alias(e, _)
            | Expr::Not(e)
            | Expr::Negative(e)
            | Expr::IsNull(e)
            | Expr::IsNotNull(e)
            | Expr::Cast { expr: e, .. } => vec![e],
            Expr::BinaryExpr { left, right, .. } => vec![left, right],
            Expr::Between {
                expr, low, high, ..
            } => vec![expr, low, high],
            Expr::InList { expr, list, .. } => {
                let mut v = vec![expr.as_ref()];
                v.extend(list.iter());
                v
            }
            Expr::Like { expr, pattern, .. } => vec![expr, pattern],
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => {
                let mut v: Vec<&Expr> = Vec::new();
                if let Some(o) = operand {
                    v.push(o);
                }
                for (w, t) in when_then {
                    v.push(w);
                    v.push(t);
                }
                if let Some(e) = else_expr {
                    v.push(e);
                }
                v
            }
            Expr::ScalarFunction { args, .. } => args.iter().collect(),
            Expr::AggregateFunction { args, filter, .. } => {
                let mut v: Vec<&Expr> = args.iter().collect();
                if let Some(f) = filter {
                    v.push(f);
                }
                v
            }
            Expr::WindowFunction(w) => w
                .args
                .iter()
                .chain(&w.partition_by)
                .chain(w.order_by.iter().map(|k| &k.expr))
                .collect(),
        }
    }

    /// Rebuilds this expression bottom-up, applying `f` to every node after its children.
    pub fn transform_up<F>(self, f: &mut F) -> rask_common::Result<Expr>
    where
        F: FnMut(Expr) -> rask_common::Result<Expr>,
    {
        let e = self.map_children(&mut |c| c.transform_up(f))?;
        f(e)
    }

    /// Rebuilds this expression top-down: `f` sees a node first; when it returns
    /// `(expr, false)` the children of the returned expression are not visited.
    pub fn transform_down<F>(self, f: &mut F) -> rask_common::Result<Expr>
    where
        F: FnMut(Expr) -> rask_common::Result<(Expr, bool)>,
    {
        let (e, recurse) = f(self)?;
        if recurse {
            e.map_children(&mut |c| c.transform_down(f))
        } else {
            Ok(e)
        }
    }

    /// Applies `f` to each direct child, rebuilding the node.
    pub fn map_children<F>(self, f: &mut F) -> rask_common::Result<Expr>
    where
        F: FnMut(Expr) -> rask_common::Result<Expr>,
    {
        let bx =
            |e: Box<Expr>, f: &mut F| -> rask_common::Result<Box<Expr>> { Ok(Box::new(f(*e)?)) };
        Ok(match self {
            e @ (Expr::Column(_) | Expr::Literal(_) | Expr::Wildcard { .. }) => e,
            Expr::Alias(e, n) => Expr::Alias(bx(e, f)?, n),
            Expr::Not(e) => Expr::Not(bx(e, f)?),
            Expr::Negative(e) => Expr::Negative(bx(e, f)?),
            Expr::IsNull(e) => Expr::IsNull(bx(e, f)?),
            Expr::IsNotNull(e) => Expr::IsNotNull(bx(e, f)?),
            Expr::Cast {
                expr,
                data_type,
                safe,
            } => Expr::Cast {
                expr: bx(expr, f)?,
                data_type,
                safe,
            },
            Expr::BinaryExpr { left, op, right } => Expr::BinaryExpr {
                left: bx(left, f)?,
                op,
                right: bx(right, f)?,
            },
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => Expr::Between {
                expr: bx(expr, f)?,
                negated,
                low: bx(low, f)?,
                high: bx(high, f)?,
            },
            Expr::InList {
                expr,
                list,
                negated,
            } => Expr::InList {
                expr: bx(expr, f)?,
                list: list
                    .into_iter()
                    .map(&mut *f)
                    .collect::<rask_common::Result<_>>()?,
                negated,
            },
            Expr::Like {
                negated,
                expr,
                pattern,
                case_insensitive,
            } => Expr::Like {
                negated,
                expr: bx(expr, f)?,
                pattern: bx(pattern, f)?,
                case_insensitive,
            },
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => Expr::Case {
                operand: operand.map(|o| bx(o, f)).transpose()?,
                when_then: when_then
                    .into_iter()
                    .map(|(w, t)| Ok((f(w)?, f(t)?)))
                    .collect::<rask_common::Result<_>>()?,
                else_expr: else_expr.map(|e| bx(e, f)).transpose()?,
            },
            Expr::ScalarFunction { func, args } => Expr::ScalarFunction {
                func,
                args: args
                    .into_iter()
                    .map(&mut *f)
                    .collect::<rask_common::Result<_>>()?,
            },
            Expr::AggregateFunction {
                func,
                args,
                distinct,
                filter,
            } => Expr::AggregateFunction {
                func,
                args: args
                    .into_iter()
                    .map(&mut *f)
                    .collect::<rask_common::Result<_>>()?,
                distinct,
                filter: filter.map(|e| bx(e, f)).transpose()?,
            },
            Expr::WindowFunction(w) => {
                let WindowFunction {
                    func,
                    args,
                    partition_by,
                    order_by,
                    frame,
                } = *w;
                Expr::WindowFunction(Box::new(WindowFunction {
                    func,
                    args: args
                        .into_iter()
                        .map(&mut *f)
                        .collect::<rask_common::Result<_>>()?,
                    partition_by: partition_by
                        .into_iter()
                        .map(&mut *f)
                        .collect::<rask_common::Result<_>>()?,
                    order_by: order_by
                        .into_iter()
                        .map(|k| {
                            Ok(SortExpr {
                                expr: f(k.expr)?,
                                asc: k.asc,
                                nulls_first: k.nulls_first,
                            })
                        })
                        .collect::<rask_common::Result<_>>()?,
                    frame,
                }))
            }
        })
    }

    /// Visits every node (pre-order).
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        for c in self.children() {
            c.walk(f);
        }
    }

    /// Every column referenced.
    pub fn columns(&self) -> Vec<Column> {
        let mut out = Vec::new();
        self.walk(&mut |e| {
            if let Expr::Column(c) = e {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
        });
        out
    }

    /// True if an aggregate call occurs anywhere inside.
    pub fn contains_aggregate(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if matches!(e, Expr::AggregateFunction { .. }) {
                found = true;
            }
        });
        found
    }

    /// True if a window function call occurs anywhere inside.
    pub fn contains_window(&self) -> bool {
        let mut found = false;
        self.walk(&mut |e| {
            if matches!(e, Expr::WindowFunction(_)) {
                found = true;
            }
        });
        found
    }

    /// True if the expression has no column, aggregate or window call, so it can be
    /// evaluated once.
    pub fn is_constant(&self) -> bool {
        let mut constant = true;
        self.walk(&mut |e| {
            if matches!(
                e,
                Expr::Column(_)
                    | Expr::AggregateFunction { .. }
                    | Expr::WindowFunction(_)
                    | Expr::Wildcard { .. }
            ) {
                constant = false;
            }
        });
        constant
    }
}

/// Splits `a AND b AND c` into its conjuncts.
pub fn split_conjunction(expr: &Expr) -> Vec<&Expr> {
    match expr {
        Expr::BinaryExpr {
            left,
            op: Operator::And,
            right,
        } => {
            let mut v = split_conjunction(left);
            v.extend(split_conjunction(right));
            v
        }
        Expr::Alias(e, _) => split_conjunction(e),
        e => vec![e],
    }
}

/// Joins predicates with AND; `None` for an empty list.
pub fn conjunction(exprs: impl IntoIterator<Item = Expr>) -> Option<Expr> {
    exprs.into_iter().reduce(|a, b| a.and(b))
}

fn fmt_list(f: &mut fmt::Formatter<'_>, list: &[Expr]) -> fmt::Result {
    for (i, e) in list.iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) => write!(f, "{c}"),
            Expr::Literal(v) => write!(f, "{v}"),
            Expr::Alias(e, n) => write!(f, "{e} AS {n}"),
            Expr::BinaryExpr { left, op, right } => {
                // Parenthesise operands that bind looser than `op`, so that the text (also
                // the column name of an unaliased expression) reads back as the same tree.
                let prec = op.precedence();
                let wrap = |e: &Expr, right_side: bool| match e {
                    Expr::BinaryExpr { op: inner, .. } => {
                        inner.precedence() < prec || (right_side && inner.precedence() == prec)
                    }
                    _ => false,
                };
                if wrap(left, false) {
                    write!(f, "({left})")?;
                } else {
                    write!(f, "{left}")?;
                }
                write!(f, " {op} ")?;
                if wrap(right, true) {
                    write!(f, "({right})")
                } else {
                    write!(f, "{right}")
                }
            }
            Expr::Not(e) => write!(f, "NOT {e}"),
            Expr::Negative(e) => write!(f, "(- {e})"),
            Expr::IsNull(e) => write!(f, "{e} IS NULL"),
            Expr::IsNotNull(e) => write!(f, "{e} IS NOT NULL"),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{expr} {not}BETWEEN {low} AND {high}")
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let not = if *negated { "NOT " } else { "" };
                write!(f, "{expr} {not}IN (")?;
                fmt_list(f, list)?;
                write!(f, ")")
            }
            Expr::Like {
                negated,
                expr,
                pattern,
                case_insensitive,
            } => {
                let not = if *negated { "NOT " } else { "" };
                let op = if *case_insensitive { "ILIKE" } else { "LIKE" };
                write!(f, "{expr} {not}{op} {pattern}")
            }
            Expr::Case {
                operand,
                when_then,
                else_expr,
            } => {
                write!(f, "CASE")?;
                if let Some(o) = operand {
                    write!(f, " {o}")?;
                }
                for (w, t) in when_then {
                    write!(f, " WHEN {w} THEN {t}")?;
                }
                if let Some(e) = else_expr {
                    write!(f, " ELSE {e}")?;
                }
                write!(f, " END")
            }
            Expr::Cast {
                expr,
                data_type,
                safe,
            } => {
                let name = if *safe { "TRY_CAST" } else { "CAST" };
                write!(f, "{name}({expr} AS {data_type})")
            }
            Expr::ScalarFunction { func, args } => {
                write!(f, "{}(", func.name())?;
                fmt_list(f, args)?;
                write!(f, ")")
            }
            Expr::AggregateFunction {
                func,
                args,
                distinct,
                filter,
            } => {
                write!(f, "{}(", func.name())?;
                if *distinct {
                    write!(f, "DISTINCT ")?;
                }
                if *func == AggFunc::CountStar {
                    write!(f, "*")?;
                } else {
                    fmt_list(f, args)?;
                }
                write!(f, ")")?;
                if let Some(flt) = filter {
                    write!(f, " FILTER (WHERE {flt})")?;
                }
                Ok(())
            }
            Expr::WindowFunction(w) => write!(f, "{w}"),
            Expr::Wildcard { qualifier } => match qualifier {
                Some(q) => write!(f, "{q}.*"),
                None => write!(f, "*"),
            },
        }
    }
}
