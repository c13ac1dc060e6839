//! [`PairTransposedReads`]: a reduction over both axes of `f(g, g.T, ...)`, with `g`
//! a generator, computes blocks `(i, j)` and `(j, i)` in one task, so each block
//! of `g` is generated once instead of twice.
//!
//! # Why
//!
//! A generator is recomputed by every task that reads it (see `FuseBlockwise`): cheap
//! for `zeros`, but for `random` the generation is most of the work. In
//! `(x + x.T - x.mean(axis=0)).std()` the task for output block `(i, j)` generates
//! `x[i, j]` and `x[j, i]`, and the task for block `(j, i)` generates the same two
//! blocks again. Row `r` of block `(i, j)` reads row `r` of `x[i, j]` and column `r`
//! of `x[j, i]`; column `r` of block `(j, i)` reads exactly those two vectors the
//! other way round. So a task that evaluates block `(i, j)` row by row, and block
//! `(j, i)` column by column (the reduction does not care about the order of its
//! elements), generates each vector once for both blocks. Measured on the seed
//! expression: see `bench/RESULTS.md`.
//!
//! # When
//!
//! The node is an [`Op::FusedReduce`] that reduces over two axes `a < b` with the
//! same chunks (the grid is symmetric in them, so block `(j, i)` seen transposed has
//! the shape of block `(i, j)`), is not an `arg` reduction (those need positions),
//! and has two generator leaves that are the same generator with `a` and `b`
//! swapped. Then one of the tasks `(.., i, .., j, ..)` and `(.., j, .., i, ..)`
//! computes both blocks' partial into one state (the one above the diagonal where
//! `i + j` is even, below it where odd: `lower::Pair::works`, so that bands of rows
//! owned by different ranks get equal work), the other gives the empty partial, and
//! diagonal tasks are unchanged. The partials still combine in the fixed tree of the chunk
//! grid, so results stay bitwise reproducible on any number of threads and ranks
//! (they differ from the unpaired plan in the last bits, as any other order would).

use super::{transform_up, Rule};
use crate::error::Result;
use crate::expr::{Expr, Leaf, Op};

/// See the module docs.
pub struct PairTransposedReads;

impl Rule for PairTransposedReads {
    fn name(&self) -> &'static str {
        "PairTransposedReads"
    }
    fn rewrite(&self, root: &Expr) -> Result<(Expr, usize)> {
        transform_up(root, &mut |e| {
            let Op::FusedReduce {
                program,
                leaves,
                grid,
                op,
                axes,
                split_every,
                pair: None,
            } = e.op()
            else {
                return Ok(None);
            };
            if op.is_arg() {
                return Ok(None);
            }
            let Some(pair) = find_pair(leaves, grid, axes) else {
                return Ok(None);
            };
            Ok(Some(Expr::new(
                Op::FusedReduce {
                    program: program.clone(),
                    leaves: leaves.clone(),
                    grid: grid.clone(),
                    op: *op,
                    axes: axes.clone(),
                    split_every: *split_every,
                    pair: Some(pair),
                },
                e.inputs().to_vec(),
                e.meta().clone(),
            )))
        })
    }
}

/// `map` as read from the frame with output dims `a` and `b` swapped.
pub fn swap_out_dims(map: &[Option<usize>], (a, b): (usize, usize)) -> Vec<Option<usize>> {
    let mut m = map.to_vec();
    m.swap(a, b);
    m
}

fn find_pair(
    leaves: &[Leaf],
    grid: &crate::meta::ChunkGrid,
    axes: &[usize],
) -> Option<(usize, usize)> {
    for (ai, &a) in axes.iter().enumerate() {
        for &b in &axes[ai + 1..] {
            let (a, b) = (a.min(b), a.max(b));
            if grid.dim(a) != grid.dim(b) || grid.dim(a).len() < 2 {
                continue;
            }
            let mirrored = leaves.iter().enumerate().any(|(i, l)| {
                let Leaf::Gen { spec, map } = l else {
                    return false;
                };
                let want = swap_out_dims(map, (a, b));
                want != *map
                    && !spec.is_constant()
                    && leaves[i + 1..].iter().any(|o| {
                        matches!(o, Leaf::Gen { spec: s2, map: m2 } if s2 == spec && *m2 == want)
                    })
            });
            if mirrored {
                return Some((a, b));
            }
        }
    }
    None
}
