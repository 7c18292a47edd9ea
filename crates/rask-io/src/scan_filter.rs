//! Filters evaluated inside a Parquet scan, on each batch as it is decoded.
//!
//! The conjuncts run one after the other, each on the rows the earlier ones kept (cheapest
//! first), so a selective first conjunct spares the rest most of their work. A string column
//! that the file stores dictionary-encoded, and that a conjunct reads alone, is read as a
//! dictionary: the conjunct is evaluated once per distinct value (plus once for NULL) and the
//! answer is looked up by each row's key, so `l_shipmode IN ('AIR', 'AIR REG')` compares seven
//! strings per column chunk instead of every row's, and the strings of the rows dropped are
//! never copied. The scan casts the survivors back to the table's types.

use std::fmt;
use std::sync::Arc;

use arrow::array::{
    new_null_array, Array, ArrayRef, AsArray, BooleanArray, BooleanBufferBuilder, RecordBatch,
};
use arrow::buffer::BooleanBuffer;
use arrow::compute::{concat, filter_record_batch, prep_null_mask_filter};
use arrow::datatypes::{DataType, Int32Type, SchemaRef};
use rask_common::{exec_err, Result};
use rask_exec::physical_expr::PhysicalExpr;

use crate::types::{cast_if_needed, make_batch};

/// One conjunct (or several on the same columns) of a filter, bound to a file's read batches.
#[derive(Clone)]
pub(crate) struct ScanPredicate {
    /// Positions of the conjunct's columns in the batch the reader returns.
    pub columns: Vec<usize>,
    /// The conjunct over `schema`.
    pub expr: PhysicalExpr,
    /// The conjunct's columns in the table's types.
    pub schema: SchemaRef,
    /// Its one column is read as `Dictionary(Int32, Utf8)`: evaluate per distinct value.
    pub dictionary: bool,
    /// The table columns it reads, ascending: the same in every file of a table, where
    /// `columns` may differ.
    pub key: Vec<usize>,
}

impl fmt::Debug for ScanPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanPredicate")
            .field("expr", &self.expr)
            .field("dictionary", &self.dictionary)
            .finish()
    }
}

/// The answer for the distinct values of the last dictionary seen: `(values, kept)`, where
/// `kept[i]` tells whether rows with key `i` are kept (a NULL answer drops), and `kept` has
/// one more entry than `values`, for NULL keys.
pub(crate) type DictionaryCache = Option<(ArrayRef, Vec<bool>)>;

impl ScanPredicate {
    /// Which rows of `batch` (as read) the conjunct keeps; NULL drops.
    fn evaluate(&self, batch: &RecordBatch, cache: &mut DictionaryCache) -> Result<BooleanArray> {
        if self.dictionary {
            if let Some(mask) = self.evaluate_dictionary(batch, cache) {
                return Ok(mask);
            }
        }
        let columns = self
            .columns
            .iter()
            .zip(self.schema.fields())
            .map(|(&c, f)| cast_if_needed(batch.column(c), f.data_type()))
            .collect::<Result<Vec<_>>>()?;
        let input = make_batch(&self.schema, columns, batch.num_rows())?;
        boolean(self.expr.evaluate_to_array(&input)?)
    }

    /// The dictionary path: TRUE for the rows kept, FALSE for the others (where the conjunct
    /// is FALSE or NULL); `None` when the column did not come as a dictionary or the
    /// conjunct fails on some distinct value (the row path then evaluates only the rows that
    /// are there, and reports a failure if one of them fails).
    pub(crate) fn evaluate_dictionary(
        &self,
        batch: &RecordBatch,
        cache: &mut DictionaryCache,
    ) -> Option<BooleanArray> {
        let dict = batch
            .column(*self.columns.first()?)
            .as_dictionary_opt::<Int32Type>()?;
        let values = dict.values();
        if !cache.as_ref().is_some_and(|(v, _)| Arc::ptr_eq(v, values)) {
            let field = self.schema.fields().first()?;
            let with_null = concat(&[
                values.as_ref(),
                new_null_array(values.data_type(), 1).as_ref(),
            ])
            .ok()?;
            let typed = cast_if_needed(&with_null, field.data_type()).ok()?;
            let input = make_batch(&self.schema, vec![typed], values.len() + 1).ok()?;
            let answer = boolean(self.expr.evaluate_to_array(&input).ok()?).ok()?;
            let kept = (0..answer.len())
                .map(|i| answer.is_valid(i) && answer.value(i))
                .collect();
            *cache = Some((Arc::clone(values), kept));
        }
        let (_, kept) = cache.as_ref()?;
        // Each row's answer by its key (the last slot for NULL keys).
        let null_slot = kept.last().copied().unwrap_or(false);
        let keys = dict.keys();
        let k = keys.values();
        let of = |i: usize| kept.get(k[i] as usize).copied().unwrap_or(false);
        let bits = match keys.nulls() {
            None => BooleanBuffer::collect_bool(k.len(), of),
            Some(n) => {
                BooleanBuffer::collect_bool(
                    k.len(),
                    |i| if n.is_valid(i) { of(i) } else { null_slot },
                )
            }
        };
        Some(BooleanArray::new(bits, None))
    }
}

/// `a` as a BooleanArray, or an error naming its type.
fn boolean(a: ArrayRef) -> Result<BooleanArray> {
    match a.data_type() {
        DataType::Boolean => Ok(a.as_boolean().clone()),
        t => exec_err!("filter predicate evaluated to {t}"),
    }
}

/// The rows of `batch` that every one of `predicates` keeps, the conjuncts applied in order,
/// each to the rows the earlier ones kept. `caches` holds one entry per predicate.
pub(crate) fn apply(
    predicates: &[ScanPredicate],
    caches: &mut [DictionaryCache],
    batch: RecordBatch,
) -> Result<RecordBatch> {
    Ok(select(predicates, caches, batch, |_, _, _| {})?.batch)
}

/// [`apply`], also telling which rows of `batch` were kept; `record(i, tested, kept)` after
/// predicate `i` kept `kept` of the `tested` rows the earlier ones had kept.
pub(crate) fn select(
    predicates: &[ScanPredicate],
    caches: &mut [DictionaryCache],
    batch: RecordBatch,
    mut record: impl FnMut(usize, usize, usize),
) -> Result<Selection> {
    let mut selection = Selection::new(batch);
    for (i, (p, cache)) in predicates.iter().zip(caches.iter_mut()).enumerate() {
        let tested = selection.batch.num_rows();
        if tested == 0 {
            break;
        }
        let mask = p.evaluate(&selection.batch, cache)?;
        selection.keep(&mask)?;
        record(i, tested, selection.batch.num_rows());
    }
    Ok(selection)
}

/// Rows of a batch being narrowed by one mask after another, each over the rows the
/// earlier ones kept: the rows kept, and which rows of the first batch they are.
pub(crate) struct Selection {
    /// The rows kept so far.
    pub batch: RecordBatch,
    rows: usize,
    /// Which of the first batch's rows are kept; `None`: all of them.
    mask: Option<BooleanBuffer>,
}

impl Selection {
    /// All the rows of `batch`.
    pub fn new(batch: RecordBatch) -> Self {
        let rows = batch.num_rows();
        Selection {
            batch,
            rows,
            mask: None,
        }
    }

    /// Keeps the rows of [`Selection::batch`] where `mask` (one value per row) is TRUE.
    pub fn keep(&mut self, mask: &BooleanArray) -> Result<()> {
        let n = self.batch.num_rows();
        if mask.len() != n {
            return exec_err!("filter predicate gave {} values for {n} rows", mask.len());
        }
        let mask = if mask.null_count() > 0 {
            prep_null_mask_filter(mask)
        } else {
            mask.clone()
        };
        if mask.true_count() == n {
            return Ok(());
        }
        self.batch = filter_record_batch(&self.batch, &mask)?;
        self.mask = Some(match self.mask.take() {
            None => mask.values().clone(),
            Some(outer) => {
                // The kept rows of `outer` that `mask` keeps too.
                let inner = mask.values();
                let mut bits = BooleanBufferBuilder::new(self.rows);
                bits.append_n(self.rows, false);
                for (j, i) in outer.set_indices().enumerate() {
                    if inner.value(j) {
                        bits.set_bit(i, true);
                    }
                }
                bits.finish()
            }
        });
        Ok(())
    }

    /// Which rows of the first batch are kept (`None`: all), and the rows kept.
    pub fn finish(self) -> (Option<BooleanBuffer>, RecordBatch) {
        (self.mask, self.batch)
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{DictionaryArray, Int32Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use rask_exec::create_physical_expr;
    use rask_expr::{col, lit, Expr, PlanSchema};

    use super::*;

    /// A batch with one dictionary column `s`: keys with NULLs over values that include one
    /// no row uses.
    fn dictionary_batch() -> RecordBatch {
        let values = StringArray::from(vec!["a", "bb", "unused", "ccc"]);
        let keys = Int32Array::from(vec![
            Some(0),
            None,
            Some(1),
            Some(3),
            Some(0),
            None,
            Some(1),
        ]);
        let dict = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values)).expect("dict");
        let field = Field::new("s", dict.data_type().clone(), true);
        RecordBatch::try_new(Arc::new(Schema::new(vec![field])), vec![Arc::new(dict)])
            .expect("batch")
    }

    fn predicate(e: &Expr, dictionary: bool) -> ScanPredicate {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let expr = create_physical_expr(e, &PlanSchema::from_arrow(None, &schema)).expect("bind");
        ScanPredicate {
            columns: vec![0],
            expr,
            schema,
            dictionary,
            key: vec![0],
        }
    }

    #[test]
    fn per_value_answers_equal_row_answers_nulls_included() {
        let batch = dictionary_batch();
        let exprs = [
            col("s").eq(lit("a")),
            col("s").is_null(),
            col("s").is_not_null().and(col("s").not_eq(lit("bb"))),
            col("s").eq(lit("a")).not(),
        ];
        for e in &exprs {
            let mut cache = None;
            let by_value = predicate(e, true)
                .evaluate(&batch, &mut cache)
                .expect("dictionary path");
            assert!(cache.is_some(), "{e}: the dictionary path was not taken");
            // The rows kept (a NULL answer drops the row, as FALSE does).
            let by_row = predicate(e, false)
                .evaluate(&batch, &mut None)
                .expect("row path");
            let by_row = if by_row.null_count() > 0 {
                prep_null_mask_filter(&by_row)
            } else {
                by_row
            };
            assert_eq!(by_value, by_row, "{e}");
            // The cached answer serves the next batch over the same dictionary.
            let again = predicate(e, true)
                .evaluate(&batch, &mut cache)
                .expect("cached");
            assert_eq!(again, by_row, "{e} (cached)");
        }
    }

    #[test]
    fn apply_keeps_rows_every_conjunct_keeps() {
        let batch = dictionary_batch();
        let preds = [
            predicate(&col("s").is_not_null(), true),
            predicate(&col("s").not_eq(lit("a")), true),
        ];
        let mut caches = vec![None, None];
        let out = apply(&preds, &mut caches, batch).expect("apply");
        let s = arrow::compute::cast(out.column(0), &DataType::Utf8).expect("cast");
        let s = s.as_string::<i32>();
        let kept: Vec<&str> = s.iter().map(|v| v.unwrap_or("NULL")).collect();
        assert_eq!(kept, ["bb", "ccc", "bb"]);
    }
}
