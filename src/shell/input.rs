//! The shell's input: whole commands, from a terminal (line editing and
//! history) or from a pipe (lines grouped the same way).
//!
//! On a terminal, [`Reader`] uses rustyline: the prompt is `cw> `, Enter on
//! an unfinished command (see [`is_complete`](super::is_complete)) adds a line
//! instead of running it, Ctrl-C drops what was typed ([`Input::Interrupted`]),
//! Ctrl-D ends. History lives in `~/.chunkwise/history` (created readable by
//! you only); failing to read or save it is a warning, not an error.
//!
//! On a pipe (`chunkwise shell -n 4 < commands.rhai`), lines are grouped into
//! the same commands. Blank and comment-only lines are skipped; a blank line
//! does not end an unfinished command. A line that can only continue the one
//! before (`.mean("time")`, `else { … }`, `&& b`, see
//! [`continues`](super::complete::continues)) is joined to it, so scripts
//! written for `chunkwise run` read the same way.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Config, Editor, Helper};

use super::complete::{continues, ends_with_semicolon, is_blank, is_complete};
use crate::{Error, Result};

/// The prompt for a new command.
pub const PROMPT: &str = "cw> ";

/// One thing the user gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A whole command (one or more lines, without the final newline).
    Command(String),
    /// Ctrl-C at the prompt: what was typed is dropped; prompt again.
    Interrupted,
}

/// Whole commands from the terminal or a pipe; see the [module docs](self).
///
/// ```no_run
/// use chunkwise::shell::{Input, Reader};
/// let mut reader = Reader::new(None)?;
/// while let Some(input) = reader.next() {
///     match input? {
///         Input::Command(code) => println!("would run {code:?}"),
///         Input::Interrupted => continue,
///     }
/// }
/// # Ok::<(), chunkwise::Error>(())
/// ```
pub struct Reader {
    source: Source,
}

enum Source {
    Terminal(Box<Terminal>),
    Lines(Lines),
}

struct Terminal {
    editor: Editor<Continuation, DefaultHistory>,
    history: Option<PathBuf>,
    /// A save failed already (warned once).
    history_broken: bool,
}

struct Lines {
    input: Box<dyn BufRead>,
    /// A line read ahead (to see whether it continues the command).
    ahead: Option<String>,
    done: bool,
}

impl Reader {
    /// Read standard input: with line editing if it is a terminal, else line
    /// by line. `history` is the history file for a terminal (`None`: no
    /// history kept); its directory is created (readable by you only).
    pub fn new(history: Option<PathBuf>) -> Result<Reader> {
        if std::io::stdin().is_terminal() {
            Reader::terminal(history)
        } else {
            Ok(Reader::from_bufread(BufReader::new(std::io::stdin())))
        }
    }

    /// Commands from any reader, grouped as piped input is (for tests, and
    /// for reading a file).
    pub fn from_bufread(input: impl BufRead + 'static) -> Reader {
        Reader {
            source: Source::Lines(Lines {
                input: Box::new(input),
                ahead: None,
                done: false,
            }),
        }
    }

    fn terminal(history: Option<PathBuf>) -> Result<Reader> {
        let config = Config::builder()
            .auto_add_history(false)
            .history_ignore_space(true)
            .max_history_size(10_000)
            .and_then(|b| b.history_ignore_dups(true))
            .map_err(|e| Error::Io(format!("could not set up line editing: {e}")))?
            .build();
        let mut editor: Editor<Continuation, DefaultHistory> = Editor::with_config(config)
            .map_err(|e| Error::Io(format!("could not set up line editing: {e}")))?;
        editor.set_helper(Some(Continuation));
        let mut history_broken = false;
        if let Some(path) = &history {
            if let Err(e) = prepare_history(path) {
                warn(&format!(
                    "history is not kept: cannot create {}: {e}",
                    path.display()
                ));
                history_broken = true;
            } else if let Err(e) = editor.load_history(path) {
                // An empty file (just created) is not an error worth a word.
                if std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
                    warn(&format!("could not read history {}: {e}", path.display()));
                }
            }
        }
        Ok(Reader {
            source: Source::Terminal(Box::new(Terminal {
                editor,
                history,
                history_broken,
            })),
        })
    }

    /// Whether commands come from a terminal (a person types them).
    pub fn interactive(&self) -> bool {
        matches!(self.source, Source::Terminal(_))
    }

    /// The next command; `None` at the end of input (Ctrl-D, end of file).
    #[allow(clippy::should_implement_trait)] // an Iterator would hide the Result's meaning
    pub fn next(&mut self) -> Option<Result<Input>> {
        match &mut self.source {
            Source::Terminal(t) => t.next(),
            Source::Lines(l) => l.next().map(|r| r.map(Input::Command)),
        }
    }
}

impl Terminal {
    fn next(&mut self) -> Option<Result<Input>> {
        loop {
            match self.editor.readline(PROMPT) {
                Ok(text) => {
                    if is_blank(&text) {
                        continue;
                    }
                    self.remember(&text);
                    return Some(Ok(Input::Command(text)));
                }
                Err(ReadlineError::Interrupted) => return Some(Ok(Input::Interrupted)),
                Err(ReadlineError::Eof) => return None,
                Err(e) => return Some(Err(Error::Io(format!("could not read the terminal: {e}")))),
            }
        }
    }

    /// Add `text` to the history and append it to the file at once (another
    /// shell's commands are kept too; a killed shell loses nothing).
    fn remember(&mut self, text: &str) {
        // Only a duplicate or a line starting with a space is not added.
        let _ = self.editor.add_history_entry(text);
        if self.history_broken {
            return;
        }
        if let Some(path) = &self.history {
            if let Err(e) = self.editor.append_history(path) {
                warn(&format!(
                    "could not save history to {}: {e} (the shell goes on without it)",
                    path.display()
                ));
                self.history_broken = true;
            }
        }
    }
}

impl Lines {
    fn line(&mut self) -> Option<Result<String>> {
        if let Some(l) = self.ahead.take() {
            return Some(Ok(l));
        }
        if self.done {
            return None;
        }
        let mut line = String::new();
        match self.input.read_line(&mut line) {
            Ok(0) => {
                self.done = true;
                None
            }
            Ok(_) => {
                if line.ends_with('\n') {
                    line.pop();
                    if line.ends_with('\r') {
                        line.pop();
                    }
                }
                Some(Ok(line))
            }
            Err(e) => {
                self.done = true;
                Some(Err(Error::Io(format!(
                    "could not read standard input: {e}"
                ))))
            }
        }
    }

    fn next(&mut self) -> Option<Result<String>> {
        let mut command = String::new();
        loop {
            let line = match self.line() {
                Some(Ok(l)) => l,
                Some(Err(e)) => return Some(Err(e)),
                // The end of input ends an unfinished command too: the server
                // says what is missing.
                None => return (!is_blank(&command)).then_some(Ok(command)),
            };
            if command.is_empty() && is_blank(&line) {
                continue;
            }
            if !command.is_empty() {
                command.push('\n');
            }
            command.push_str(&line);
            if !is_complete(&command) {
                continue;
            }
            if is_blank(&command) {
                // A comment over several lines.
                command.clear();
                continue;
            }
            // Complete: unless the next line can only continue it. A final
            // `;` says it is whole, so it runs without waiting for the next
            // line (a program that writes a command and waits for the answer).
            if ends_with_semicolon(&command) {
                return Some(Ok(command));
            }
            match self.line() {
                Some(Ok(next)) => {
                    let joins = continues(&next) && !ends_with_semicolon(&command);
                    self.ahead = Some(next);
                    if joins {
                        continue;
                    }
                }
                Some(Err(e)) => return Some(Err(e)),
                None => {}
            }
            return Some(Ok(command));
        }
    }
}

/// rustyline's helper: Enter on an unfinished command adds a line.
struct Continuation;

impl Validator for Continuation {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Completer for Continuation {
    type Candidate = String;
}

impl Hinter for Continuation {
    type Hint = String;
}

impl Highlighter for Continuation {}

impl Helper for Continuation {}

/// The history file's default place, `~/.chunkwise/history` (`None` without
/// a home directory).
pub fn default_history() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".chunkwise").join("history"))
}

/// Create the history file's directory (0700) and the file (0600) if missing.
fn prepare_history(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

fn warn(msg: &str) {
    eprintln!("chunkwise shell: warning: {msg}");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(text: &str) -> Vec<String> {
        let mut r = Reader::from_bufread(std::io::Cursor::new(text.to_string()));
        assert!(!r.interactive());
        let mut out = Vec::new();
        while let Some(i) = r.next() {
            match i.unwrap() {
                Input::Command(c) => out.push(c),
                Input::Interrupted => panic!("a pipe is never interrupted"),
            }
        }
        out
    }

    #[test]
    fn one_command_per_complete_line() {
        assert_eq!(
            commands("let x = 1;\nx + 1\nprint(x)\n"),
            ["let x = 1;", "x + 1", "print(x)"]
        );
    }

    #[test]
    fn open_brackets_gather_lines_and_blank_lines_do_not_end_them() {
        let text = "let m = ds.air.mean(\n\n  \"time\"\n)\nfn f(x) {\n  x * 2\n}\nf(2)\n";
        assert_eq!(
            commands(text),
            [
                "let m = ds.air.mean(\n\n  \"time\"\n)",
                "fn f(x) {\n  x * 2\n}",
                "f(2)"
            ]
        );
    }

    #[test]
    fn blank_and_comment_lines_between_commands_are_skipped() {
        assert_eq!(
            commands("\n// setup\n\nlet a = 1;\n   \n/* more\n   text */\na\n"),
            ["let a = 1;", "a"]
        );
    }

    #[test]
    fn a_method_chain_and_else_on_the_next_line_join() {
        let text = "let m = ds.air\n    .groupby(\"time.season\")\n    .mean(\"time\")\nif a { 1 }\nelse { 2 }\nlet x = 1;\n.y\n";
        assert_eq!(
            commands(text),
            [
                "let m = ds.air\n    .groupby(\"time.season\")\n    .mean(\"time\")",
                "if a { 1 }\nelse { 2 }",
                "let x = 1;",
                ".y"
            ]
        );
    }

    #[test]
    fn a_trailing_operator_continues_and_strings_hide_brackets() {
        assert_eq!(
            commands("let s = a +\n  b;\nprint(\"(\")\nprint(`x\n(`)\n"),
            ["let s = a +\n  b;", "print(\"(\")", "print(`x\n(`)"]
        );
    }

    #[test]
    fn the_end_of_input_ends_an_unfinished_command() {
        assert_eq!(commands("let x = 1;\nf(1,\n"), ["let x = 1;", "f(1,"]);
        assert_eq!(commands("x\r\ny"), ["x", "y"]);
        assert!(commands("").is_empty());
        assert!(commands("\n\n// nothing\n").is_empty());
    }

    #[test]
    fn the_history_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("cw-history-test-{}", std::process::id()));
        let path = dir.join("sub").join("history");
        prepare_history(&path).unwrap();
        let file = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let parent = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((file, parent), (0o600, 0o700));
    }
}
