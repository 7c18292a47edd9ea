//! rask's file layer: listing CSV and Parquet tables, scanning them as morsels, and writing
//! partitions atomically.
//!
//! A [`ListingTable`] is a file, a directory or a glob resolved once to an ordered list of files;
//! each file is one partition (DESIGN.md §2). [`ListingTable::scan`] turns it into a
//! [`DataSource`](rask_exec::DataSource) whose morsels are Parquet row groups or line-aligned CSV
//! byte ranges, pruned by the filters it is given (row-group statistics, hive partition values).
//! [`PartitionWriter`] writes one output partition (CSV, or Parquet compressed as
//! [`ParquetCompression`] says) under a hidden temporary name and renames it into place when
//! finished; a writer dropped unfinished removes its temporary file.
//!
//! ```no_run
//! use rask_io::{ListingTable, TableFormat};
//! # fn main() -> rask_common::Result<()> {
//! let table = ListingTable::try_new("data/lineitem/*.parquet", TableFormat::Parquet)?;
//! let source = table.scan(Some(&[0, 4]), &[], None, 8192)?;
//! println!("{} partitions, {} morsels", table.npartitions(), source.morsels()?.len());
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod csv;
mod listing;
mod parquet;
mod parquet_pages;
mod prune;
mod scan_filter;
mod types;
mod write;
mod write_sink;

pub use crate::csv::CsvOptions;
pub use crate::listing::{ListingTable, TableFormat};
pub use crate::prune::{stats_may_match, ColumnStats};
pub use crate::write::{
    part_file_name, ClosedFile, FileFormat, ParquetCompression, PartitionWriter,
};
pub use crate::write_sink::{WriteOptions, WriteSink, HIVE_NULL};

#[cfg(test)]
pub(crate) mod test_util {
    //! Helpers for this crate's tests.
    use std::path::Path;
    use std::sync::Arc;

    use arrow::array::RecordBatch;
    use arrow::util::pretty::pretty_format_batches;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    use rask_exec::DataSource;

    /// Writes `batches` to a Parquet file with row groups of at most `rg_rows` rows.
    pub fn write_parquet(path: &Path, batches: &[RecordBatch], rg_rows: usize) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let file = std::fs::File::create(path).unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(rg_rows))
            .build();
        let mut w = ArrowWriter::try_new(file, batches[0].schema(), Some(props)).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.close().unwrap();
    }

    /// Writes `text` to `path`, creating directories.
    pub fn write_text(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// Reads every morsel of `source` in order.
    pub fn collect(source: &Arc<dyn DataSource>) -> rask_common::Result<Vec<RecordBatch>> {
        let mut out = Vec::new();
        for m in source.morsels()? {
            for b in m.open()? {
                let b = b?;
                assert_eq!(b.schema(), source.schema());
                out.push(b);
            }
        }
        Ok(out)
    }

    /// Total rows of `batches`.
    pub fn rows(batches: &[RecordBatch]) -> usize {
        batches.iter().map(|b| b.num_rows()).sum()
    }

    /// The batches as a pretty table.
    pub fn pretty(batches: &[RecordBatch]) -> String {
        pretty_format_batches(batches).unwrap().to_string()
    }
}
