//! Fusion rules: blockwise chains into one program, and that program into the
//! reduction it feeds.

use super::{consumer_counts, transform_up, transform_up_with_original, Rule};
use crate::error::{Error, Result};
use crate::expr::{ElemOp, Expr, Leaf, Op};
use crate::kernel::fused::{Instr, Program};
use std::collections::HashMap;

/// Fuse maximal trees of elementwise operations, transposes/axis maps and
/// generators into [`Op::Fused`] nodes. A node with several consumers is not
/// fused into them (it becomes its own fused node, computed once), except
/// generators and axis maps, which cost nothing to recompute.
///
/// Random generators are inlined too, even when several nodes read them: measured
/// on the seed expression `(x + x.T - x.mean(axis=0)).std()` (20000^2, 2 cores),
/// regenerating `x` in each reader took 2.2 s of CPU and no memory, while
/// materialising it once took 4.4 s of CPU (a third of it page faults) and 3.2 GB.
pub struct FuseBlockwise;

fn fusable(e: &Expr) -> bool {
    matches!(e.op(), Op::Elementwise(_) | Op::AxisMap { .. } | Op::Gen(_))
}

fn inline_always(e: &Expr) -> bool {
    matches!(e.op(), Op::AxisMap { .. } | Op::Gen(_))
}

impl Rule for FuseBlockwise {
    fn name(&self) -> &'static str {
        "FuseBlockwise"
    }
    fn rewrite(&self, root: &Expr) -> Result<(Expr, usize)> {
        let counts = consumer_counts(root);
        // Fusable nodes consumed by something that is not fusable.
        let mut feeds_other = std::collections::HashSet::new();
        let mut stack = vec![root.clone()];
        let mut seen = std::collections::HashSet::new();
        while let Some(e) = stack.pop() {
            if !seen.insert(e.id()) {
                continue;
            }
            for i in e.inputs() {
                if !fusable(&e) {
                    feeds_other.insert(i.id());
                }
                stack.push(i.clone());
            }
        }
        // A fusable node is computed on its own (a fusion root) when it is the plan's
        // root, or when it is not free to recompute and either several nodes or a
        // non-fusable node consume it. Otherwise it is absorbed into its consumers.
        let root_id = root.id();
        let is_root = |e: &Expr| {
            e.id() == root_id
                || (!inline_always(e)
                    && (counts.get(&e.id()).copied().unwrap_or(0) > 1
                        || feeds_other.contains(&e.id())))
        };
        // transform_up visits inputs first: inputs that are roots are already Fused when
        // their consumer is built; absorbed inputs are still raw.
        transform_up_with_original(root, &mut |orig, e| {
            if fusable(e) {
                return if is_root(orig) {
                    Ok(Some(fuse(e)?))
                } else {
                    Ok(None)
                };
            }
            // A non-fusable consumer of a free-to-recompute node (a generator or an
            // axis map) gets its own fused copy of it.
            let mut changed = false;
            let mut inputs = Vec::with_capacity(e.inputs().len());
            for i in e.inputs() {
                if fusable(i) {
                    changed = true;
                    inputs.push(fuse(i)?);
                } else {
                    inputs.push(i.clone());
                }
            }
            Ok(changed.then(|| e.with_inputs(inputs)))
        })
    }
}

/// Build the fused node for the tree under `root`.
fn fuse(root: &Expr) -> Result<Expr> {
    let nd = root.ndim();
    let mut b = Builder {
        program: Program::default(),
        leaves: vec![],
        inputs: vec![],
        memo: HashMap::new(),
    };
    let identity: Vec<Option<usize>> = (0..nd).map(Some).collect();
    b.visit(root, &identity, true)?;
    Ok(Expr::new(
        Op::Fused {
            program: b.program,
            leaves: b.leaves,
        },
        b.inputs,
        root.meta().clone(),
    ))
}

struct Builder {
    program: Program,
    leaves: Vec<Leaf>,
    inputs: Vec<Expr>,
    /// (node id, map) -> register
    memo: HashMap<(usize, Vec<Option<usize>>), usize>,
}

impl Builder {
    /// Emit instructions for `e` seen through `map` (root dim -> dim of `e`).
    fn visit(&mut self, e: &Expr, map: &[Option<usize>], is_root: bool) -> Result<usize> {
        let key = (e.id(), map.to_vec());
        if let Some(&r) = self.memo.get(&key) {
            return Ok(r);
        }
        let descend = is_root || fusable(e) && !matches!(e.op(), Op::Fused { .. });
        let reg = match e.op() {
            Op::Gen(spec) if descend => {
                self.leaves.push(Leaf::Gen {
                    spec: spec.clone(),
                    map: map.to_vec(),
                });
                self.program
                    .push(Instr::Leaf(self.leaves.len() - 1), e.dtype())
            }
            Op::AxisMap { src } if descend => {
                let inner: Vec<Option<usize>> =
                    map.iter().map(|d| d.and_then(|d| src[d])).collect();
                self.visit(&e.inputs()[0], &inner, false)?
            }
            Op::Elementwise(op) if descend => {
                let nd = e.ndim();
                let mut regs = Vec::new();
                for i in e.inputs() {
                    let off = nd - i.ndim();
                    let inner: Vec<Option<usize>> = map
                        .iter()
                        .map(|d| d.and_then(|d| if d >= off { Some(d - off) } else { None }))
                        .collect();
                    regs.push(self.visit(i, &inner, false)?);
                }
                let ins = match (op, regs.as_slice()) {
                    (ElemOp::Unary(u), [a]) => Instr::Unary(*u, *a),
                    (ElemOp::Binary(bop), [a, b]) => Instr::Binary(*bop, *a, *b),
                    (ElemOp::Where, [c, a, b]) => Instr::Where(*c, *a, *b),
                    (ElemOp::Cast, [a]) => Instr::Cast(*a),
                    _ => {
                        return Err(Error::internal(format!(
                            "{op:?} with {} inputs",
                            regs.len()
                        )))
                    }
                };
                self.program.push(ins, e.dtype())
            }
            _ => {
                // A materialised input.
                let idx = match self.inputs.iter().position(|x| x.ptr_eq(e)) {
                    Some(i) => i,
                    None => {
                        self.inputs.push(e.clone());
                        self.inputs.len() - 1
                    }
                };
                self.leaves.push(Leaf::Input {
                    input: idx,
                    map: map.to_vec(),
                });
                self.program
                    .push(Instr::Leaf(self.leaves.len() - 1), e.dtype())
            }
        };
        self.memo.insert(key, reg);
        Ok(reg)
    }
}

/// A reduction computes its per-chunk partial inside the fused program that feeds it
/// (or over its input chunk directly).
pub struct FuseReduce;

impl Rule for FuseReduce {
    fn name(&self) -> &'static str {
        "FuseReduce"
    }
    fn rewrite(&self, root: &Expr) -> Result<(Expr, usize)> {
        let counts = consumer_counts(root);
        transform_up(root, &mut |e| {
            let Op::Reduce {
                op,
                axes,
                split_every,
            } = e.op()
            else {
                return Ok(None);
            };
            let x = &e.inputs()[0];
            let (program, leaves, inputs) = match x.op() {
                Op::Fused { program, leaves } if counts.get(&x.id()).copied().unwrap_or(0) <= 1 => {
                    (program.clone(), leaves.clone(), x.inputs().to_vec())
                }
                _ => {
                    let mut p = Program::default();
                    p.push(Instr::Leaf(0), x.dtype());
                    let map = (0..x.ndim()).map(Some).collect();
                    (p, vec![Leaf::Input { input: 0, map }], vec![x.clone()])
                }
            };
            Ok(Some(Expr::new(
                Op::FusedReduce {
                    program,
                    leaves,
                    grid: x.grid().clone(),
                    op: *op,
                    axes: axes.clone(),
                    split_every: *split_every,
                    pair: None,
                },
                inputs,
                e.meta().clone(),
            )))
        })
    }
}
