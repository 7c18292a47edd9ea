//! The `rask` binary: SQL one-shot and interactive shell, and benchmark data generators.
//!
//! This crate is private glue over the `rask` library: argument parsing (`args`), running
//! statements (`exec`), formatting results (`print_format`), the shell (`repl`) and
//! `rask datagen` (`datagen`).
//!
//! Every error reaches [`main`] as an `anyhow::Error` and is printed as one `Error: ...` line
//! with exit status 1; a closed stdout (`rask sql ... | head`) ends the program quietly with
//! status 0.

mod args;
mod datagen;
mod exec;
mod print_format;
mod repl;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use rask::{SessionConfig, SessionContext};

use crate::args::{Cli, Command, DatagenCommand, OutputFormat, SpillCompressionArg, SqlArgs};
use crate::exec::{is_broken_pipe, Executor, Output};
use crate::print_format::PrintOptions;

/// Ctrl-C: the first press cancels the running query (it fails, and its spill files are
/// removed as it unwinds); a second press removes every spill directory and exits at once.
fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        if rask::cancel_running_queries() {
            rask::remove_live_spill_dirs();
            std::process::exit(130);
        }
    });
}

fn main() -> ExitCode {
    rask::tune_allocator();
    install_interrupt_handler();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" that print to stdout and succeed.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Sql(args) => run_sql(args),
        Command::Datagen(DatagenCommand::Tpch(args)) => datagen::tpch::generate(&args),
        Command::Datagen(DatagenCommand::H2o(args)) => datagen::h2o::generate(&args),
        Command::Datagen(DatagenCommand::Trips(args)) => datagen::trips::generate(&args),
        Command::Datagen(DatagenCommand::H2oJoin(args)) => datagen::h2o_join::generate(&args),
    }
}

fn run_sql(args: SqlArgs) -> Result<()> {
    let mut config = SessionConfig::new()
        .with_scheduler(args.scheduler.into())
        .with_spill_compression(args.spill_compression == SpillCompressionArg::Lz4);
    if let Some(threads) = args.threads {
        config = config.with_threads(threads);
    }
    if let Some(limit) = args.memory_limit {
        config = config.with_memory_limit(limit);
    }
    if let Some(dir) = &args.spill_dir {
        config = config.with_spill_dir(dir);
    }
    let ctx = SessionContext::with_config(config);
    if let Some(dir) = &args.data {
        ctx.register_data_dir(dir)
            .with_context(|| format!("cannot register the tables of --data {dir}"))?;
    }
    for table in &args.tables {
        ctx.register_path(&table.name, &table.path)
            .with_context(|| format!("cannot register table {} from {}", table.name, table.path))?;
    }

    let script = match (&args.query, &args.file) {
        (Some(query), _) => Some(query.clone()),
        (None, Some(file)) => Some(
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read SQL file {}", file.display()))?,
        ),
        (None, None) => None,
    };

    let progress =
        (!args.no_progress && std::io::stderr().is_terminal()).then(|| exec::progress_bar(&ctx));
    let mut out = match &args.output {
        Some(path) => Output::file(path)?,
        None => Output::stdout(),
    };
    let on_terminal = out.is_terminal();
    let mut options = PrintOptions::new(args.format);
    options.fit_terminal = on_terminal && args.format == OutputFormat::Table;

    match script {
        Some(script) => {
            let exec = Executor::new(ctx, options).with_progress(progress);
            exec.run_script(&script, &mut out, |_, _| Ok(()))?;
        }
        None => {
            let interactive = std::io::stdin().is_terminal();
            options.elide_rows = interactive && on_terminal;
            let exec = Executor::new(ctx, options).with_progress(progress);
            repl::run_repl(&exec, &mut out, interactive)?;
        }
    }
    out.commit()
}
