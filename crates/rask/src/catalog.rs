//! Tables a session knows by name: file tables, in-memory tables and views.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use rask_common::{plan_err, Error, Result, ScalarValue};
use rask_exec::MemorySource;
use rask_expr::{LogicalPlan, LogicalPlanBuilder, TableSource};
use rask_io::{CsvOptions, ListingTable, TableFormat};

/// A table stored as CSV or Parquet files (a file, a directory or a glob): one partition per
/// file, scanned by row group or CSV byte range.
///
/// ```
/// use rask::{FileTable, SessionContext};
/// # fn main() -> rask::Result<()> {
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../datasets/tpch-sf0.01/lineitem");
/// let table = FileTable::open(path)?;
/// assert!(rask::TableSource::npartitions(&table) >= 1);
/// let ctx = SessionContext::new();
/// ctx.register_path("lineitem", path)?;
/// assert_eq!(ctx.table("lineitem")?.npartitions(), rask::TableSource::npartitions(&table));
/// # Ok(())
/// # }
/// ```
pub struct FileTable {
    pub(crate) table: ListingTable,
    /// Column statistics read so far (the optimizer asks for them many times).
    min_max: Mutex<HashMap<usize, Option<(ScalarValue, ScalarValue)>>>,
}

impl fmt::Debug for FileTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileTable({} files)", self.table.files().len())
    }
}

impl FileTable {
    /// Opens `path`, choosing the format from the file extensions.
    pub fn open(path: &str) -> Result<Self> {
        Ok(FileTable::new(ListingTable::try_new_infer(path)?))
    }

    /// Opens `path` in `format`.
    pub fn open_as(path: &str, format: TableFormat) -> Result<Self> {
        Ok(FileTable::new(ListingTable::try_new(path, format)?))
    }

    pub(crate) fn new(table: ListingTable) -> Self {
        FileTable {
            table,
            min_max: Mutex::new(HashMap::new()),
        }
    }
}

impl TableSource for FileTable {
    fn schema(&self) -> SchemaRef {
        self.table.schema()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn npartitions(&self) -> usize {
        self.table.npartitions()
    }
    fn num_rows(&self) -> Option<usize> {
        self.table.num_rows()
    }
    fn supports_filter_pruning(&self) -> bool {
        true
    }
    fn column_min_max(&self, column: usize) -> Option<(ScalarValue, ScalarValue)> {
        let mut cache = self.min_max.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(column)
            .or_insert_with(|| self.table.column_min_max(column))
            .clone()
    }
}

/// A table held in memory as partitions of record batches (`CREATE TABLE AS`, `from_batches`).
///
/// ```
/// use std::sync::Arc;
/// use arrow::array::{Int64Array, RecordBatch};
/// use arrow::datatypes::{DataType, Field, Schema};
/// # fn main() -> rask::Result<()> {
/// let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, false)]));
/// let part = |vals: Vec<i64>| {
///     RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vals))])
/// };
/// let ctx = rask::SessionContext::new();
/// let df = ctx.from_batches(schema.clone(), vec![vec![part(vec![1, 2])?], vec![part(vec![3])?]])?;
/// assert_eq!(df.npartitions(), 2);
/// assert_eq!(df.count()?, 3);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MemTable {
    schema: SchemaRef,
    partitions: Vec<Vec<RecordBatch>>,
}

impl MemTable {
    /// A table over `partitions`; every batch must have `schema`'s columns.
    pub fn try_new(schema: SchemaRef, partitions: Vec<Vec<RecordBatch>>) -> Result<Self> {
        for b in partitions.iter().flatten() {
            if b.schema().fields().len() != schema.fields().len() {
                return plan_err!(
                    "a batch has {} columns but the table has {}",
                    b.schema().fields().len(),
                    schema.fields().len()
                );
            }
        }
        Ok(MemTable { schema, partitions })
    }

    /// The partitions.
    pub fn partitions(&self) -> &[Vec<RecordBatch>] {
        &self.partitions
    }

    /// A source reading `projection` of the columns.
    pub(crate) fn source(&self, projection: Option<&[usize]>) -> Result<MemorySource> {
        match projection {
            None => Ok(MemorySource::new(
                Arc::clone(&self.schema),
                self.partitions.clone(),
            )),
            Some(p) => {
                let schema = Arc::new(self.schema.project(p)?);
                let parts = self
                    .partitions
                    .iter()
                    .map(|batches| {
                        batches
                            .iter()
                            .map(|b| Ok(b.project(p)?.with_schema(Arc::clone(&schema))?))
                            .collect::<Result<Vec<_>>>()
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(MemorySource::new(schema, parts))
            }
        }
    }
}

impl TableSource for MemTable {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn npartitions(&self) -> usize {
        self.partitions.len()
    }
    fn num_rows(&self) -> Option<usize> {
        Some(self.partitions.iter().flatten().map(|b| b.num_rows()).sum())
    }
}

/// What a name refers to.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    /// A table.
    Table(Arc<dyn TableSource>),
    /// A view: its plan is inlined where it is used.
    View(Arc<LogicalPlan>),
}

/// The session's tables, by lower-cased name.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    entries: BTreeMap<String, (String, Entry)>,
}

impl Catalog {
    pub(crate) fn register(&mut self, name: &str, entry: Entry) {
        self.entries
            .insert(name.to_lowercase(), (name.to_string(), entry));
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.get(&name.to_lowercase()).map(|(_, e)| e)
    }

    pub(crate) fn remove(&mut self, name: &str) -> bool {
        self.entries.remove(&name.to_lowercase()).is_some()
    }

    pub(crate) fn names(&self) -> Vec<String> {
        self.entries.values().map(|(n, _)| n.clone()).collect()
    }

    /// The plan that reads `name`.
    pub(crate) fn plan(&self, name: &str) -> Result<Option<Arc<LogicalPlan>>> {
        Ok(match self.get(name) {
            Some(Entry::Table(t)) => Some(LogicalPlanBuilder::scan(name, Arc::clone(t))?.build()),
            Some(Entry::View(p)) => Some(Arc::clone(p)),
            None => None,
        })
    }
}

/// Builds CSV options from `read_csv(..., name=value)` arguments.
pub(crate) fn csv_options(named: &[(String, ScalarValue)]) -> Result<CsvOptions> {
    let mut o = CsvOptions::default();
    for (k, v) in named {
        let s = match v {
            ScalarValue::Utf8(Some(s)) => Some(s.clone()),
            _ => None,
        };
        let b = match v {
            ScalarValue::Boolean(Some(b)) => Some(*b),
            ScalarValue::Utf8(Some(s)) => match s.to_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
            ScalarValue::Int64(Some(i)) => Some(*i != 0),
            _ => None,
        };
        let one_byte = |what: &str| -> Result<u8> {
            match s.as_deref().map(str::as_bytes) {
                Some([c]) => Ok(*c),
                Some(b"\\t") => Ok(b'\t'),
                _ => plan_err!("read_csv option {what} must be a single character, got {v}"),
            }
        };
        match k.as_str() {
            "header" => {
                o.has_header = b.ok_or_else(|| {
                    Error::Plan(format!(
                        "read_csv option header must be true or false, got {v}"
                    ))
                })?
            }
            "delim" | "sep" | "delimiter" => o.delimiter = one_byte(k)?,
            "quote" => o.quote = one_byte(k)?,
            "escape" => o.escape = Some(one_byte(k)?),
            "nullstr" | "null" | "null_values" => {
                o.null_values = vec![s.ok_or_else(|| {
                    Error::Plan(format!("read_csv option {k} must be a string, got {v}"))
                })?]
            }
            "compression" => {
                o.compression = match s.as_deref().map(str::to_lowercase).as_deref() {
                    Some("gzip") | Some("gz") => Some(true),
                    Some("none") => Some(false),
                    Some("auto") => None,
                    _ => {
                        return plan_err!(
                            "read_csv compression must be gzip, none or auto, got {v}"
                        )
                    }
                }
            }
            "sample_size" => {
                o.infer_rows = v
                    .as_i64()
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| {
                        Error::Plan(format!(
                            "read_csv sample_size must be a positive integer, got {v}"
                        ))
                    })?
            }
            "auto_detect" => {}
            "types" | "dtypes" | "column_types" => {
                let spec = s.ok_or_else(|| {
                    Error::Plan(format!(
                        "read_csv option {k} takes a string such as 'a BIGINT, b VARCHAR', got {v}"
                    ))
                })?;
                for (name, data_type) in parse_column_types(&spec)? {
                    o.schema_overrides.push((name, data_type));
                }
            }
            other => {
                return plan_err!(
                    "unknown read_csv option '{other}' (known: header, delim/sep, quote, escape, \
                     nullstr, compression, sample_size, types)"
                )
            }
        }
    }
    Ok(o)
}

/// Parses `'a BIGINT, b DECIMAL(15,2)'` into column types (the `types` option of `read_csv`).
pub(crate) fn parse_column_types(spec: &str) -> Result<Vec<(String, arrow::datatypes::DataType)>> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    let mut items = Vec::new();
    for (i, c) in spec.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&spec[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&spec[start..]);
    for item in items.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
        let Some((name, ty)) = item.split_once(char::is_whitespace) else {
            return plan_err!(
                "column type '{item}' must be written as 'name TYPE', e.g. 'id BIGINT'"
            );
        };
        let cast = rask_sql::sql_expr(
            &format!("CAST(NULL AS {ty})"),
            &rask_expr::PlanSchema::empty(),
        )
        .map_err(|e| Error::Plan(format!("bad type '{ty}' for column '{name}': {e}")))?;
        match cast {
            rask_expr::Expr::Cast { data_type, .. } => {
                out.push((name.trim_matches('"').to_string(), data_type))
            }
            _ => return plan_err!("bad type '{ty}' for column '{name}'"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::DataType;

    #[test]
    fn column_types_parse() {
        let t = parse_column_types("a BIGINT, b DECIMAL(15, 2),c varchar").unwrap();
        assert_eq!(
            t,
            vec![
                ("a".to_string(), DataType::Int64),
                ("b".to_string(), DataType::Decimal128(15, 2)),
                ("c".to_string(), DataType::Utf8)
            ]
        );
        assert!(parse_column_types("a").is_err());
        assert!(parse_column_types("a NOTATYPE").is_err());
    }
}
