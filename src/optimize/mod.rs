//! Rewrite rules over the logical plan, each a named rule (DataFusion's
//! `OptimizerRule`). After every rule the root's dtype, shape and chunk grid are
//! checked unchanged: a rule may change how a result is computed, never what.
//!
//! Rules, in order:
//! * [`PushRechunkIntoGenerator`]: a rechunked generator is a generator with other chunks.
//! * [`PushSliceIntoSource`]: slices move below elementwise operations and
//!   transposes into generators and in-memory sources, so only the selected
//!   elements are ever produced.
//! * [`FuseBlockwise`]: maximal trees of elementwise operations, transposes and
//!   generators become one fused program (one task per chunk, one pass).
//! * [`FuseReduce`]: a fused program feeding a reduction computes the per-chunk
//!   partial in the same pass.
//! * [`PairTransposedReads`]: a reduction over both axes of `f(g, g.T)` computes
//!   blocks `(i, j)` and `(j, i)` in one task, generating `g` once for both.
//!
//! (Culling of unused chunks happens on the task graph: see `graph::cull`.)

mod fuse;
mod pair;
mod push;

use crate::error::{Error, Result};
use crate::expr::Expr;
use std::collections::HashMap;

pub use fuse::{FuseBlockwise, FuseReduce};
pub use pair::{swap_out_dims, PairTransposedReads};
pub use push::{PushRechunkIntoGenerator, PushSliceIntoSource};

/// A named rewrite of a plan.
pub trait Rule {
    fn name(&self) -> &'static str;
    /// Rewrite the plan; returns the new root and how many nodes were rewritten.
    fn rewrite(&self, root: &Expr) -> Result<(Expr, usize)>;
}

/// The plan after optimisation, with what each rule did.
pub struct Optimized {
    pub expr: Expr,
    pub applied: Vec<(&'static str, usize)>,
}

/// The default rules in order.
pub fn default_rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(PushRechunkIntoGenerator),
        Box::new(PushSliceIntoSource),
        Box::new(FuseBlockwise),
        Box::new(FuseReduce),
        Box::new(PairTransposedReads),
    ]
}

/// Run `rules` on `root`, checking after each that the result is unchanged.
pub fn optimize(root: &Expr, rules: &[Box<dyn Rule>]) -> Result<Optimized> {
    let mut e = root.clone();
    let mut applied = Vec::new();
    for r in rules {
        let (next, n) = r.rewrite(&e)?;
        if next.meta() != e.meta() {
            return Err(Error::internal(format!(
                "optimizer rule {} changed the result's metadata: {:?} {:?} -> {:?} {:?}",
                r.name(),
                e.dtype(),
                e.grid(),
                next.dtype(),
                next.grid()
            )));
        }
        applied.push((r.name(), n));
        e = next;
    }
    Ok(Optimized { expr: e, applied })
}

/// How many consumers each node has in the DAG under `root` (the root counts one).
pub(crate) fn consumer_counts(root: &Expr) -> HashMap<usize, usize> {
    let mut counts = HashMap::new();
    let mut stack = vec![root.clone()];
    counts.insert(root.id(), 1);
    let mut seen = std::collections::HashSet::new();
    while let Some(e) = stack.pop() {
        if !seen.insert(e.id()) {
            continue;
        }
        for i in e.inputs() {
            *counts.entry(i.id()).or_insert(0) += 1;
            stack.push(i.clone());
        }
    }
    counts
}

/// Rebuild the DAG bottom-up with `f` applied to each node after its inputs,
/// sharing preserved. `f` returns `Some(new)` to replace the node.
pub(crate) fn transform_up(
    root: &Expr,
    f: &mut dyn FnMut(&Expr) -> Result<Option<Expr>>,
) -> Result<(Expr, usize)> {
    transform_up_with_original(root, &mut |_, e| f(e))
}

/// [`transform_up`], also passing the node as it was before its inputs were rewritten.
pub(crate) fn transform_up_with_original(
    root: &Expr,
    f: &mut dyn FnMut(&Expr, &Expr) -> Result<Option<Expr>>,
) -> Result<(Expr, usize)> {
    fn go(
        e: &Expr,
        f: &mut dyn FnMut(&Expr, &Expr) -> Result<Option<Expr>>,
        memo: &mut HashMap<usize, Expr>,
        n: &mut usize,
    ) -> Result<Expr> {
        if let Some(done) = memo.get(&e.id()) {
            return Ok(done.clone());
        }
        let mut changed = false;
        let mut inputs = Vec::with_capacity(e.inputs().len());
        for i in e.inputs() {
            let ni = go(i, f, memo, n)?;
            changed |= !ni.ptr_eq(i);
            inputs.push(ni);
        }
        let base = if changed {
            e.with_inputs(inputs)
        } else {
            e.clone()
        };
        let out = match f(e, &base)? {
            Some(new) => {
                *n += 1;
                new
            }
            None => base,
        };
        memo.insert(e.id(), out.clone());
        Ok(out)
    }
    let mut memo = HashMap::new();
    let mut n = 0;
    let e = go(root, f, &mut memo, &mut n)?;
    Ok((e, n))
}
