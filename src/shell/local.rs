//! The shell inside the job: `chunkwise shell` with neither `-n` nor
//! `--connect` (a one-rank session in this process, the laptop case), and
//! `mpirun -n N chunkwise shell < commands` (rank 0 reads the commands on
//! its standard input, which `mpirun` forwards to it, and the other ranks
//! follow). Line editing needs a terminal on rank 0, which `mpirun` does not
//! give; for an interactive prompt over several ranks, `chunkwise shell -n N`
//! runs the client on the terminal instead.

use super::input::{Input, Reader};
use super::ShellArgs;
use crate::script::{self, Interpreter, Mode, ScriptError};
use crate::session::Session;
use std::io::Write;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Read commands from standard input on rank 0 and evaluate each in one
/// interpreter, showing printed output and each command's value. On a
/// terminal, errors are shown and the prompt comes back, and Ctrl-C stops
/// the running command on every rank; on a pipe, the first error ends the
/// shell with that error (as `python < file` does).
///
/// # Collective
/// Call on every rank.
///
/// # Errors
/// The first failing command's, when commands come from a pipe.
pub fn run(session: Rc<Session>, args: &ShellArgs) -> std::result::Result<(), ScriptError> {
    if session.comm().rank() != 0 {
        return script::follow(&session);
    }
    let mut it = Interpreter::new(session, Mode::Run, Box::new(std::io::stdout()));
    if let Some(code) = &args.command {
        let shown = it.eval("-c", code).and_then(|v| it.show(v));
        if let Ok(Some(text)) = &shown {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}").and_then(|()| out.flush());
        }
        return it.finish(shown.map(|_| ()));
    }
    let mut reader = match Reader::new(args.history_path()) {
        Ok(r) => r,
        Err(e) => return it.finish(Err(ScriptError::new("", e.to_string()))),
    };
    let cancel = Arc::new(AtomicBool::new(false));
    // Ctrl-C at the prompt is the line editor's; while a command runs it
    // lands in the process-wide flag, which a thread copies to this session's.
    if let Some(flag) = reader.interactive().then(super::catch_interrupts).flatten() {
        let to = cancel.clone();
        std::thread::spawn(move || loop {
            if flag.swap(false, Ordering::SeqCst) {
                to.store(true, Ordering::SeqCst);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        });
        it.set_cancel(cancel.clone());
    }
    let mut n = 0;
    let result = loop {
        let code = match reader.next() {
            None => break Ok(()),
            Some(Ok(Input::Interrupted)) => continue,
            Some(Ok(Input::Command(c))) => c,
            Some(Err(e)) => break Err(ScriptError::new("", e.to_string())),
        };
        if matches!(code.trim(), "exit" | "quit" | "exit()" | "quit()") {
            break Ok(());
        }
        n += 1;
        cancel.store(false, Ordering::SeqCst);
        // Errors name the command by its number: `<stdin>[3]:2:5` is line 2
        // of the third command.
        let name = if reader.interactive() {
            format!("[{n}]")
        } else {
            format!("<stdin>[{n}]")
        };
        let shown = it.eval(&name, &code).and_then(|v| it.show(v));
        match shown {
            Ok(Some(text)) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}").and_then(|()| out.flush());
            }
            Ok(None) => {}
            Err(e) if reader.interactive() => {
                let _ = writeln!(std::io::stderr().lock(), "{e}");
            }
            Err(e) => break Err(e),
        }
    };
    it.finish(result)
}
