//! Running SQL statements and sending their results to the output.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use rask::SessionContext;

use crate::args::OutputFormat;
use crate::print_format::{print_batches, PrintOptions, StreamFormat};

/// Where results go: stdout, or a file that appears only when [`Output::commit`] succeeds.
pub enum Output {
    /// Buffered stdout.
    Stdout(BufWriter<io::Stdout>),
    /// A device or pipe (`/dev/null`, a FIFO): written in place, never replaced.
    Device(BufWriter<File>),
    /// A temporary file next to `path`, renamed to `path` on commit and removed otherwise.
    File {
        /// The open temporary file.
        writer: BufWriter<File>,
        /// Set once renamed into place.
        committed: bool,
        /// The temporary file's path.
        temp: PathBuf,
        /// The destination.
        path: PathBuf,
    },
}

impl Output {
    /// Results to stdout.
    pub fn stdout() -> Self {
        Output::Stdout(BufWriter::new(io::stdout()))
    }

    /// Results to `path`, written atomically: to a temporary name in the same directory,
    /// renamed on [`Output::commit`].
    ///
    /// # Errors
    ///
    /// Errors when the temporary file cannot be created.
    pub fn file(path: &Path) -> Result<Self> {
        // Something that exists and is not a regular file (/dev/null, a named pipe) is written
        // in place: renaming a temporary file over it would replace the device.
        if let Ok(meta) = std::fs::metadata(path) {
            if !meta.is_file() && !meta.is_dir() {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("cannot open output {}", path.display()))?;
                return Ok(Output::Device(BufWriter::new(file)));
            }
        }
        let file_name = path
            .file_name()
            .with_context(|| format!("--output {} is not a file path", path.display()))?;
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(file_name);
        temp_name.push(format!(".rask-tmp-{}", std::process::id()));
        let temp = path.with_file_name(temp_name);
        let file = File::create(&temp)
            .with_context(|| format!("cannot create output file {}", path.display()))?;
        Ok(Output::File {
            writer: BufWriter::new(file),
            committed: false,
            temp,
            path: path.to_path_buf(),
        })
    }

    /// Whether results go to a terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Output::Stdout(_)) && io::stdout().is_terminal()
    }

    /// The writer for results.
    pub fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::Device(w) => w,
            Output::File { writer, .. } => writer,
        }
    }

    /// Flushes stdout, or flushes the file and renames it to its destination.
    ///
    /// # Errors
    ///
    /// Errors when flushing, syncing or renaming fails.
    pub fn commit(mut self) -> Result<()> {
        match &mut self {
            Output::Stdout(w) => w.flush()?,
            Output::Device(w) => w.flush()?,
            Output::File {
                writer,
                committed,
                temp,
                path,
            } => {
                writer
                    .flush()
                    .and_then(|()| writer.get_ref().sync_all())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                std::fs::rename(&*temp, &*path).with_context(|| {
                    format!("cannot move the output into place at {}", path.display())
                })?;
                *committed = true;
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Not committed: leave no half-written temporary file behind.
        if let Output::File {
            committed: false,
            temp,
            ..
        } = self
        {
            let _ = std::fs::remove_file(temp);
        }
    }
}

/// Runs statements in a session and prints their results.
pub struct Executor {
    ctx: SessionContext,
    options: PrintOptions,
    progress: Option<indicatif::ProgressBar>,
}

/// A progress bar fed by `ctx`'s queries: hidden for the first half second of a query, then
/// morsels done out of those known, with the elapsed time and an ETA, on stderr.
pub fn progress_bar(ctx: &SessionContext) -> indicatif::ProgressBar {
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{wide_bar}] {pos}/{len} morsels, ETA {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    let feed = bar.clone();
    ctx.set_progress_callback(move |p| {
        if p.elapsed < Duration::from_millis(500) || p.total == 0 {
            return;
        }
        if feed.is_hidden() {
            feed.set_draw_target(ProgressDrawTarget::stderr());
        }
        feed.set_length(p.total);
        feed.set_position(p.done);
    });
    bar
}

impl Executor {
    /// An executor over `ctx` printing with `options`.
    pub fn new(ctx: SessionContext, options: PrintOptions) -> Self {
        Executor {
            ctx,
            options,
            progress: None,
        }
    }

    /// The session.
    pub fn ctx(&self) -> &SessionContext {
        &self.ctx
    }

    /// Splits `script` into statements and runs them in order, stopping at the first error.
    /// `on_done` is called after each statement with the time it took.
    ///
    /// # Errors
    ///
    /// The first statement's error, or an output error.
    pub fn run_script(
        &self,
        script: &str,
        out: &mut Output,
        mut on_done: impl FnMut(&mut Output, Duration) -> Result<()>,
    ) -> Result<()> {
        let statements = rask::split_sql_statements(script)?;
        for statement in &statements {
            let elapsed = self.run_statement(statement, out)?;
            on_done(out, elapsed)?;
        }
        Ok(())
    }

    /// Runs one statement and prints its result, unless it returns no columns (DDL such as
    /// `CREATE VIEW` or `COPY`). Returns the time spent running it: printing excluded for
    /// tables and JSON arrays (collected, then printed), included for CSV and NDJSON (written
    /// as the batches arrive).
    ///
    /// # Errors
    ///
    /// The statement's error, or an output error.
    pub fn run_statement(&self, statement: &str, out: &mut Output) -> Result<Duration> {
        rask::reset_cancellation();
        let start = Instant::now();
        let df = self.ctx.sql(statement)?;
        if let Some(format) = StreamFormat::new(df.schema(), self.options.format) {
            // Data formats stream: the result is written as it is produced, never held whole,
            // formatted by the query's workers. The header goes out with the first rows (or
            // at the end), so a query that fails at once writes nothing.
            let mut header = Some(format.header()?);
            let rows = df.stream_map(
                move |b| {
                    format
                        .format(&b)
                        .map_err(|e| rask::Error::Execution(format!("{e:#}")))
                },
                Vec::len,
            );
            for chunk in rows {
                let chunk = chunk?;
                if let Some(h) = header.take() {
                    out.writer().write_all(&h)?;
                }
                out.writer().write_all(&chunk)?;
            }
            if let Some(h) = header.take() {
                out.writer().write_all(&h)?;
            }
            if let Some(bar) = &self.progress {
                bar.finish_and_clear();
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
                bar.reset();
            }
            return Ok(start.elapsed());
        }
        let batches = df.collect();
        if let Some(bar) = &self.progress {
            // Gone before the results print.
            bar.finish_and_clear();
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            bar.reset();
        }
        let batches = batches?;
        let elapsed = start.elapsed();
        let schema = df.schema();
        if !schema.fields().is_empty() {
            print_batches(out.writer(), &schema, &batches, &self.options)?;
        }
        Ok(elapsed)
    }

    /// Shows `bar` (from [`progress_bar`]) while statements run.
    pub fn with_progress(mut self, bar: Option<indicatif::ProgressBar>) -> Self {
        self.progress = bar;
        self
    }

    /// The `.timer` line of the last statement: run time, peak memory and spilling.
    pub fn timer_line(&self, elapsed: Duration) -> String {
        let stats = self.ctx.last_query_stats();
        let mut line = format!(
            "Run Time: {:.3}s, peak memory {}",
            elapsed.as_secs_f64(),
            human_bytes(stats.peak_memory as u64)
        );
        if stats.spill_count > 0 {
            line.push_str(&format!(
                ", spilled {} in {} files",
                human_bytes(stats.spilled_bytes),
                stats.spill_count
            ));
        } else {
            line.push_str(", no spilling");
        }
        line
    }

    /// Writes an informational line (a timing): with the results in table format, where it
    /// reads naturally; on stderr for data formats, so that it never corrupts the data.
    ///
    /// # Errors
    ///
    /// Errors when the output fails.
    pub fn info_line(&self, out: &mut Output, line: &str) -> Result<()> {
        if self.options.format == OutputFormat::Table {
            writeln!(out.writer(), "{line}")?;
        } else {
            eprintln!("{line}");
        }
        Ok(())
    }
}

/// Whether `err` was caused by writing to a closed pipe (`rask sql ... | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// `1.5 GiB`, `320.0 KiB`, `12 B`.
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_file_is_atomic() {
        let dir = std::env::temp_dir().join(format!("rask-cli-out-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("result.csv");

        let mut out = Output::file(&path).unwrap();
        writeln!(out.writer(), "a").unwrap();
        assert!(!path.exists());
        drop(out);
        assert!(!path.exists());
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "temp file left"
        );

        let mut out = Output::file(&path).unwrap();
        writeln!(out.writer(), "a,b").unwrap();
        out.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn broken_pipe_is_found_in_the_chain() {
        let err = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe)).context("x");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("other")));
    }

    #[test]
    fn human_bytes_picks_a_unit() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
