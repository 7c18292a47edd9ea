//! The interactive shell (`rask sql` without a query) and its dot commands.
//!
//! Lines come from rustyline when stdin is a terminal, else straight from stdin (a script
//! piped in), and are handled the same way: they gather into a statement until a line ends
//! with `;`, and a line starting with `.` on an empty input is a dot command. Interactively,
//! errors are printed and the shell goes on; for piped input the first error stops it, as
//! with `-f`.

use std::io::{self, BufRead};
use std::path::PathBuf;

use anyhow::{bail, Result};
use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

use crate::exec::{is_broken_pipe, Executor, Output};
use crate::print_format::format_plain_table;

const PROMPT: &str = "rask> ";
const CONTINUATION_PROMPT: &str = "   ...> ";

const HELP: &str = "\
Statements end with ';' and may span several lines. Ctrl-C clears the input, Ctrl-D exits.

.tables            list the tables
.schema [NAME]     show the columns and types of table NAME (or of every table)
.timer on|off      print each statement's run time, peak memory and spilled bytes
.help              show this help
.quit, .exit       leave the shell
";

/// One line read, or why there is none.
enum Input {
    Line(String),
    /// Ctrl-C.
    Interrupted,
    /// Ctrl-D, or the end of piped input.
    Eof,
}

/// Where lines come from.
enum LineSource {
    /// A terminal, with line editing and history.
    Editor {
        editor: Box<DefaultEditor>,
        history: Option<PathBuf>,
    },
    /// Piped stdin: no prompts, no history.
    Stdin(io::StdinLock<'static>),
}

impl LineSource {
    fn read(&mut self, prompt: &str) -> Result<Input> {
        match self {
            LineSource::Editor { editor, .. } => match editor.readline(prompt) {
                Ok(line) => Ok(Input::Line(line)),
                Err(ReadlineError::Interrupted) => Ok(Input::Interrupted),
                Err(ReadlineError::Eof) => Ok(Input::Eof),
                Err(e) => Err(e.into()),
            },
            LineSource::Stdin(stdin) => {
                let mut line = String::new();
                if stdin.read_line(&mut line)? == 0 {
                    return Ok(Input::Eof);
                }
                Ok(Input::Line(line))
            }
        }
    }

    fn add_history(&mut self, entry: &str) {
        if let LineSource::Editor { editor, .. } = self {
            let _ = editor.add_history_entry(entry.trim());
        }
    }

    fn save_history(&mut self) {
        if let LineSource::Editor {
            editor,
            history: Some(path),
        } = self
        {
            let _ = editor.save_history(path);
        }
    }
}

/// What to do after a dot command.
enum Flow {
    Continue,
    Quit,
}

/// Runs the shell until `.quit`, Ctrl-D or the end of input. With `interactive`, lines are
/// read with rustyline (prompts, history in `~/.rask_history`) and errors do not stop it.
///
/// # Errors
///
/// Output errors; for non-interactive input also the first statement's error.
pub fn run_repl(exec: &Executor, out: &mut Output, interactive: bool) -> Result<()> {
    let mut source = if interactive {
        let mut editor = DefaultEditor::new()?;
        let history =
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".rask_history"));
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        LineSource::Editor {
            editor: Box::new(editor),
            history,
        }
    } else {
        LineSource::Stdin(io::stdin().lock())
    };
    let result = repl_loop(exec, out, &mut source, interactive);
    source.save_history();
    result
}

fn repl_loop(
    exec: &Executor,
    out: &mut Output,
    source: &mut LineSource,
    interactive: bool,
) -> Result<()> {
    let mut timer = false;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            PROMPT
        } else {
            CONTINUATION_PROMPT
        };
        let line = match source.read(prompt)? {
            Input::Line(line) => line,
            Input::Interrupted => {
                buffer.clear();
                continue;
            }
            Input::Eof => break,
        };
        let trimmed = line.trim();
        if buffer.is_empty() {
            if trimmed.is_empty() || trimmed.starts_with("--") {
                continue;
            }
            if trimmed.starts_with('.') {
                source.add_history(trimmed);
                let flow = dot_command(exec, out, trimmed, &mut timer);
                match handle_error(flow, interactive)? {
                    Some(Flow::Quit) => break,
                    Some(Flow::Continue) | None => continue,
                }
            }
        }
        buffer.push_str(line.trim_end_matches(['\n', '\r']));
        buffer.push('\n');
        if trimmed.ends_with(';') {
            let script = std::mem::take(&mut buffer);
            source.add_history(&script);
            handle_error(run(exec, out, &script, timer), interactive)?;
        }
    }
    // Piped input may end without a final ';'.
    if !interactive && !buffer.trim().is_empty() {
        run(exec, out, &buffer, timer)?;
    }
    Ok(())
}

/// Interactively, prints a statement's error and goes on (`Ok(None)`); otherwise, and for a
/// closed stdout, returns it.
fn handle_error<T>(result: Result<T>, interactive: bool) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if interactive && !is_broken_pipe(&e) => {
            eprintln!("Error: {e:#}");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn run(exec: &Executor, out: &mut Output, script: &str, timer: bool) -> Result<()> {
    let result = exec.run_script(script, out, |out, elapsed| {
        if timer {
            let line = exec.timer_line(elapsed);
            exec.info_line(out, &line)?;
        }
        out.writer().flush()?;
        Ok(())
    });
    out.writer().flush()?;
    result
}

fn dot_command(exec: &Executor, out: &mut Output, line: &str, timer: &mut bool) -> Result<Flow> {
    let mut words = line.split_whitespace();
    let command = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    match (command, args.as_slice()) {
        (".quit" | ".exit" | ".q", []) => return Ok(Flow::Quit),
        (".help", _) => out.writer().write_all(HELP.as_bytes())?,
        (".tables", []) => {
            let w = out.writer();
            for name in exec.ctx().table_names() {
                writeln!(w, "{name}")?;
            }
        }
        (".schema", names) => {
            let names: Vec<String> = if names.is_empty() {
                exec.ctx().table_names()
            } else {
                names.iter().map(|n| n.to_string()).collect()
            };
            for name in names {
                let schema = exec.ctx().table_schema(&name)?;
                let rows = schema.fields().iter().map(|f| {
                    vec![
                        f.name().to_string(),
                        f.data_type().to_string(),
                        if f.is_nullable() { "YES" } else { "NO" }.to_string(),
                    ]
                });
                let table = format_plain_table(&["column", "type", "nullable"], rows);
                writeln!(out.writer(), "{name}\n{table}")?;
            }
        }
        (".timer", ["on"]) => *timer = true,
        (".timer", ["off"]) => *timer = false,
        (".timer", _) => bail!("usage: .timer on|off"),
        _ => bail!("unknown command '{line}'; .help lists the commands"),
    }
    out.writer().flush()?;
    Ok(Flow::Continue)
}
