//! The layers of the code stay apart (like dask's `test_imports.py`):
//!
//! * `src/graph/` and `src/exec/` are array-agnostic: they never name
//!   `ndarray`, `kernel::`, `Chunk`, `array::`, `expr::` or `DataArray`.
//! * Only `src/comm/` talks to MPI: no other file mentions `mpi::`,
//!   `use mpi` or `extern crate mpi`.
//!
//! Names are matched as whole identifiers (`Chunk` matches `Chunk` and
//! `kernel::Chunk`, not `ChunkGrid`; `mpi::` does not match `MpiComm::`), in
//! code and comments alike. A failure lists every offending file and line.

use std::fs;
use std::path::{Path, PathBuf};

/// Names `src/graph/` and `src/exec/` must not mention.
const ARRAY_NAMES: &[&str] = &[
    "ndarray",
    "kernel::",
    "Chunk",
    "array::",
    "expr::",
    "DataArray",
];

/// Names no file outside `src/comm/` may mention.
const MPI_NAMES: &[&str] = &["mpi::", "use mpi", "extern crate mpi"];

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `line` mentions `name` as a whole identifier (or path prefix).
fn mentions(line: &str, name: &str) -> bool {
    let ends_in_ident = name.chars().last().is_some_and(is_ident);
    line.match_indices(name).any(|(at, _)| {
        let before_ok = !line[..at].chars().next_back().is_some_and(is_ident);
        let after_ok =
            !ends_in_ident || !line[at + name.len()..].chars().next().is_some_and(is_ident);
        before_ok && after_ok
    })
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            fs::read_dir(&d).unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", d.display()))
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The path of `file` relative to the crate root, with `/` separators.
fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Whether `rel` is the module `module` (`src/module.rs` or under
/// `src/module/`).
fn in_module(rel: &str, module: &str) -> bool {
    rel == format!("src/{module}.rs") || rel.starts_with(&format!("src/{module}/"))
}

/// `file:line: mentions `name` (why): the line` for every violation.
fn violations(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for file in rust_files(&root.join("src")) {
        let rel = relative(root, &file);
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"));
        let array_free = in_module(&rel, "graph") || in_module(&rel, "exec");
        let mpi_free = !in_module(&rel, "comm");
        for (i, line) in text.lines().enumerate() {
            if array_free {
                for name in ARRAY_NAMES.iter().filter(|n| mentions(line, n)) {
                    found.push(format!(
                        "{rel}:{}: mentions `{name}` (graph/exec must not name arrays): {}",
                        i + 1,
                        line.trim()
                    ));
                }
            }
            if mpi_free {
                for name in MPI_NAMES.iter().filter(|n| mentions(line, n)) {
                    found.push(format!(
                        "{rel}:{}: mentions `{name}` (only src/comm/ may use MPI): {}",
                        i + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    found
}

#[test]
fn graph_and_exec_never_name_arrays_and_only_comm_names_mpi() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let found = violations(root);
    assert!(
        found.is_empty(),
        "layering violations (see DESIGN.md, \"Layers of the code\"):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_tree_being_checked_has_the_expected_modules() {
    // Guard against a check that passes because it looked at nothing.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<String> = rust_files(&root.join("src"))
        .iter()
        .map(|f| relative(root, f))
        .collect();
    for module in ["comm", "graph", "exec"] {
        assert!(
            files.iter().any(|f| in_module(f, module)),
            "no file of module {module} found under src/: {files:?}"
        );
    }
}

#[test]
fn matcher_finds_whole_names_only() {
    assert!(mentions("use ndarray::Array2;", "ndarray"));
    assert!(mentions("fn f(c: &Chunk) {}", "Chunk"));
    assert!(mentions("crate::kernel::Chunk", "Chunk"));
    assert!(mentions("use crate::kernel::fused;", "kernel::"));
    assert!(mentions("crate::array::Array", "array::"));
    assert!(mentions("x: DataArray,", "DataArray"));
    assert!(!mentions("grid: ChunkGrid, idx: ChunkIndex", "Chunk"));
    assert!(!mentions("use ndarray::Array2;", "array::"));
    assert!(!mentions("fn chunk_count()", "Chunk"));

    assert!(mentions("use mpi::traits::*;", "mpi::"));
    assert!(mentions("use mpi::traits::*;", "use mpi"));
    assert!(mentions(
        "let w = ::mpi::topology::SimpleCommunicator::world();",
        "mpi::"
    ));
    assert!(mentions("extern crate mpi;", "extern crate mpi"));
    assert!(!mentions("let c = MpiComm::init()?;", "mpi::"));
    assert!(!mentions("use chunkwise::comm::MpiComm;", "mpi::"));
    assert!(!mentions("hdf5 with feature mpio", "use mpi"));
    assert!(!mentions("use mpio;", "use mpi"));
}

#[test]
fn a_violation_names_file_and_line() {
    let dir = std::env::temp_dir().join(format!("chunkwise-layering-{}", std::process::id()));
    let graph = dir.join("src/graph");
    fs::create_dir_all(&graph).unwrap();
    fs::write(
        graph.join("plan.rs"),
        "// fine\nuse crate::kernel::Chunk;\n",
    )
    .unwrap();
    fs::write(
        dir.join("src/main.rs"),
        "fn main() {}\nuse mpi::traits::*;\n",
    )
    .unwrap();
    let found = violations(&dir);
    let _ = fs::remove_dir_all(&dir);
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("src/graph/plan.rs:2: mentions `Chunk`")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("src/graph/plan.rs:2: mentions `kernel::`")),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|v| v.starts_with("src/main.rs:2: mentions `mpi::`")),
        "{found:?}"
    );
}
