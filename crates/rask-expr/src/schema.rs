//! Plan schemas: Arrow fields with the table qualifier each came from.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use rask_common::{plan_err, Result};

use crate::expr::Column;

/// A plan's output schema: fields plus the relation (table or alias) each belongs to, so that
/// `t.a` and `u.a` can both exist after a join.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSchema {
    fields: Vec<(Option<String>, FieldRef)>,
    arrow: SchemaRef,
}

/// Shared plan schema.
pub type PlanSchemaRef = Arc<PlanSchema>;

impl PlanSchema {
    /// A schema from qualified fields.
    pub fn new(fields: Vec<(Option<String>, FieldRef)>) -> Self {
        let arrow = Arc::new(Schema::new(
            fields
                .iter()
                .map(|(_, f)| Arc::clone(f))
                .collect::<Vec<_>>(),
        ));
        PlanSchema { fields, arrow }
    }

    /// A schema whose every field belongs to `qualifier`.
    pub fn from_arrow(qualifier: Option<&str>, schema: &Schema) -> Self {
        Self::new(
            schema
                .fields()
                .iter()
                .map(|f| (qualifier.map(str::to_string), Arc::clone(f)))
                .collect(),
        )
    }

    /// The empty schema.
    pub fn empty() -> Self {
        Self::new(vec![])
    }

    /// The plain Arrow schema (qualifiers dropped).
    pub fn arrow_schema(&self) -> SchemaRef {
        Arc::clone(&self.arrow)
    }

    /// The qualified fields.
    pub fn fields(&self) -> &[(Option<String>, FieldRef)] {
        &self.fields
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// True when there are no columns.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The field at `i`.
    pub fn field(&self, i: usize) -> &Field {
        &self.fields[i].1
    }

    /// The column at `i` as a qualified [`Column`].
    pub fn column(&self, i: usize) -> Column {
        Column {
            relation: self.fields[i].0.clone(),
            name: self.fields[i].1.name().clone(),
        }
    }

    /// Every column as a qualified [`Column`].
    pub fn columns(&self) -> Vec<Column> {
        (0..self.len()).map(|i| self.column(i)).collect()
    }

    /// Finds a column: an unqualified name matches any relation, but must be unique.
    pub fn index_of_column(&self, col: &Column) -> Result<usize> {
        match self.maybe_index_of_column(col)? {
            Some(i) => Ok(i),
            None => {
                let mut candidates: Vec<String> = self
                    .fields
                    .iter()
                    .map(|(q, f)| match q {
                        Some(q) => format!("{q}.{}", f.name()),
                        None => f.name().clone(),
                    })
                    .collect();
                candidates.truncate(30);
                let hint = suggest(
                    &col.name,
                    self.fields.iter().map(|(_, f)| f.name().as_str()),
                );
                let hint = hint
                    .map(|h| format!(" Did you mean '{h}'?"))
                    .unwrap_or_default();
                plan_err!(
                    "column '{}' not found.{hint} Available columns: {}",
                    col.flat_name(),
                    candidates.join(", ")
                )
            }
        }
    }

    /// Like [`Self::index_of_column`], but `Ok(None)` when the column is absent.
    pub fn maybe_index_of_column(&self, col: &Column) -> Result<Option<usize>> {
        let matches =
            |name: &str, wanted: &str| name == wanted || name.eq_ignore_ascii_case(wanted);
        let mut found: Vec<usize> = self
            .fields
            .iter()
            .enumerate()
            .filter(|(_, (q, f))| {
                f.name() == &col.name
                    && match (&col.relation, q) {
                        (Some(r), Some(q)) => r == q,
                        (Some(_), None) => false,
                        (None, _) => true,
                    }
            })
            .map(|(i, _)| i)
            .collect();
        if found.is_empty() {
            // Case-insensitive fallback, as SQL users expect.
            found = self
                .fields
                .iter()
                .enumerate()
                .filter(|(_, (q, f))| {
                    matches(f.name(), &col.name)
                        && match (&col.relation, q) {
                            (Some(r), Some(q)) => r.eq_ignore_ascii_case(q),
                            (Some(_), None) => false,
                            (None, _) => true,
                        }
                })
                .map(|(i, _)| i)
                .collect();
        }
        match found.len() {
            0 => Ok(None),
            1 => Ok(Some(found[0])),
            _ => plan_err!(
                "column reference '{}' is ambiguous: qualify it with a table name",
                col.flat_name()
            ),
        }
    }

    /// The data type of a column.
    pub fn data_type_of(&self, col: &Column) -> Result<&DataType> {
        let i = self.index_of_column(col)?;
        Ok(self.fields[i].1.data_type())
    }

    /// The same fields, all re-qualified as `alias`.
    pub fn with_qualifier(&self, alias: &str) -> PlanSchema {
        PlanSchema::new(
            self.fields
                .iter()
                .map(|(_, f)| (Some(alias.to_string()), Arc::clone(f)))
                .collect(),
        )
    }

    /// Both schemas' fields, left then right.
    pub fn join(&self, other: &PlanSchema) -> PlanSchema {
        let mut fields = self.fields.clone();
        fields.extend(other.fields.iter().cloned());
        PlanSchema::new(fields)
    }
}

impl fmt::Display for PlanSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (q, field)) in self.fields.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            if let Some(q) = q {
                write!(f, "{q}.")?;
            }
            write!(f, "{}:{}", field.name(), field.data_type())?;
        }
        Ok(())
    }
}

/// The closest candidate by edit distance, when it is close enough to be a likely typo.
pub fn suggest<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let wanted_l = wanted.to_lowercase();
    candidates
        .map(|c| (levenshtein(&wanted_l, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c.to_string())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
