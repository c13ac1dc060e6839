//! Printing a plan as an indented tree.

use super::Expr;
use std::fmt::Write;

/// The plan under `e`, one node per line, inputs indented.
pub fn tree(e: &Expr) -> String {
    let mut s = String::new();
    walk(e, 0, &mut s);
    s
}

fn walk(e: &Expr, depth: usize, s: &mut String) {
    let m = e.meta();
    let _ = writeln!(
        s,
        "{:indent$}{} {} shape={:?} chunks={:?}",
        "",
        e.op_name(),
        m.dtype,
        m.shape(),
        m.grid.numblocks(),
        indent = depth * 2
    );
    for i in e.inputs() {
        walk(i, depth + 1, s);
    }
}
