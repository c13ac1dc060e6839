//! Plans as bytes: what rank 0 sends the other ranks when it alone evaluates
//! a script (`chunkwise run`, `shell`, `serve`; DESIGN: "rank 0 evaluates the
//! script and broadcasts each plan").
//!
//! [`encode`] walks the plan once (a node shared by several consumers is sent
//! once) and [`decode`] rebuilds the same DAG. The message is
//!
//! * 8 bytes: the length `n` of the header (u64, little-endian);
//! * `n` bytes: the header, JSON: the nodes in topological order (inputs
//!   before the nodes that read them), each with its operation, its inputs
//!   (indices of earlier nodes), dtype and chunk grid, and the root's index;
//! * the in-memory arrays of `from_array` nodes, one after another, in
//!   [`crate::kernel::wire`]'s chunk encoding (the header says which node reads
//!   which).
//!
//! Sources travel as their [`SourceSpec`] (file, variable, CF decoding): the
//! receiver reopens them through the function it is given (the `io` layer's
//! `open_spec`, usually with a cache), since `expr` may not use `io`.
//!
//! What cannot travel is refused with [`Error::Plan`]: `map_blocks` (a Rust
//! closure), persisted arrays (their chunks live on the ranks that own them;
//! a reference to them is for the interactive session to add), and fused
//! nodes (plans are sent before they are optimised; every rank optimises the
//! same plan the same way).

use super::{ElemOp, Expr, Meta, Op};
use crate::error::{Error, Result};
use crate::kernel::fused::{BinaryOp, UnaryOp};
use crate::kernel::generate::GenSpec;
use crate::kernel::reduce::ReduceOp;
use crate::kernel::source::SourceSpec;
use crate::kernel::wire::{decode_chunk, encode_chunk};
use crate::kernel::ChunkSource;
use crate::meta::{ChunkGrid, DType};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Serialize, Deserialize)]
struct Header {
    nodes: Vec<WireNode>,
    root: usize,
}

#[derive(Serialize, Deserialize)]
struct WireNode {
    op: WireOp,
    inputs: Vec<usize>,
    dtype: DType,
    grid: ChunkGrid,
}

#[derive(Serialize, Deserialize)]
enum WireElem {
    Unary(UnaryOp),
    Binary(BinaryOp),
    Where,
    Cast,
}

#[derive(Serialize, Deserialize)]
enum WireOp {
    /// `blob`: the index of its array among the message's arrays.
    FromArray {
        blob: usize,
        view: Vec<(usize, isize)>,
    },
    Read {
        source: SourceSpec,
        view: Vec<(usize, isize)>,
    },
    Gen(GenSpec),
    Elementwise(WireElem),
    AxisMap {
        src: Vec<Option<usize>>,
    },
    Slice {
        sel: Vec<(usize, usize, isize)>,
    },
    Rechunk,
    Concat {
        axis: usize,
    },
    Reshape,
    Reduce {
        op: ReduceOp,
        axes: Vec<usize>,
        split_every: usize,
    },
    MatMul,
    /// A persisted array, by the id every rank registered it under
    /// ([`crate::session::Session::register_persisted`]).
    Stored {
        id: u64,
    },
}

/// This rank's chunks of a persisted array.
pub type StoredChunks = Vec<Option<Arc<crate::kernel::Chunk>>>;

/// The plan rooted at `root` as one message.
///
/// # Errors
/// [`Error::Plan`] naming the operation if the plan holds something that
/// cannot be sent (see the module docs).
pub fn encode(root: &Expr) -> Result<Vec<u8>> {
    encode_with(root, &|_| None)
}

/// [`encode`], sending persisted arrays by the id `stored_id` gives them
/// (those it gives none are refused).
///
/// # Errors
/// As [`encode`].
pub fn encode_with(
    root: &Expr,
    stored_id: &dyn Fn(&Arc<StoredChunks>) -> Option<u64>,
) -> Result<Vec<u8>> {
    let mut enc = Encoder {
        stored_id,
        nodes: Vec::new(),
        seen: HashMap::new(),
        blobs: Vec::new(),
        nblobs: 0,
    };
    let root = enc.node(root)?;
    let header = serde_json::to_vec(&Header {
        nodes: enc.nodes,
        root,
    })
    .map_err(|e| Error::internal(format!("cannot encode a plan: {e}")))?;
    let mut out = Vec::with_capacity(8 + header.len() + enc.blobs.len());
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(&enc.blobs);
    Ok(out)
}

struct Encoder<'a> {
    stored_id: &'a dyn Fn(&Arc<StoredChunks>) -> Option<u64>,
    nodes: Vec<WireNode>,
    /// Node identity -> index, so a shared node is sent once.
    seen: HashMap<usize, usize>,
    blobs: Vec<u8>,
    nblobs: usize,
}

impl Encoder<'_> {
    fn node(&mut self, e: &Expr) -> Result<usize> {
        if let Some(&i) = self.seen.get(&e.id()) {
            return Ok(i);
        }
        let inputs = e
            .inputs()
            .iter()
            .map(|x| self.node(x))
            .collect::<Result<Vec<_>>>()?;
        let refuse = |what: &str| {
            Err(Error::plan(format!(
                "{what} cannot be sent to other ranks: {}",
                match what {
                    "map_blocks" => "its function is Rust code in this process",
                    "a persisted array" => "its chunks live on the ranks that own them",
                    _ => "plans are sent before they are optimised",
                }
            )))
        };
        let op = match e.op() {
            Op::FromArray { data, view } => {
                encode_chunk(data, &mut self.blobs);
                self.nblobs += 1;
                WireOp::FromArray {
                    blob: self.nblobs - 1,
                    view: view.clone(),
                }
            }
            Op::Read { source, view } => WireOp::Read {
                source: source.spec().ok_or_else(|| {
                    Error::plan(format!(
                        "{} cannot be opened by other ranks (it is not a file chunkwise knows \
                         how to open again)",
                        source.describe()
                    ))
                })?,
                view: view.clone(),
            },
            Op::Gen(g) => WireOp::Gen(g.clone()),
            Op::Elementwise(op) => WireOp::Elementwise(match op {
                ElemOp::Unary(u) => WireElem::Unary(*u),
                ElemOp::Binary(b) => WireElem::Binary(*b),
                ElemOp::Where => WireElem::Where,
                ElemOp::Cast => WireElem::Cast,
            }),
            Op::AxisMap { src } => WireOp::AxisMap { src: src.clone() },
            Op::Slice { sel } => WireOp::Slice { sel: sel.clone() },
            Op::Rechunk => WireOp::Rechunk,
            Op::Concat { axis } => WireOp::Concat { axis: *axis },
            Op::Reshape => WireOp::Reshape,
            Op::Reduce {
                op,
                axes,
                split_every,
            } => WireOp::Reduce {
                op: *op,
                axes: axes.clone(),
                split_every: *split_every,
            },
            Op::MatMul => WireOp::MatMul,
            Op::MapBlocks { .. } => return refuse("map_blocks"),
            Op::Stored { chunks } => match (self.stored_id)(chunks) {
                Some(id) => WireOp::Stored { id },
                None => return refuse("a persisted array"),
            },
            Op::Fused { .. } | Op::FusedReduce { .. } => return refuse("a fused node"),
        };
        self.nodes.push(WireNode {
            op,
            inputs,
            dtype: e.dtype(),
            grid: e.grid().clone(),
        });
        let i = self.nodes.len() - 1;
        self.seen.insert(e.id(), i);
        Ok(i)
    }
}

/// The plan in `msg` (made by [`encode`]), its sources opened with `open`.
///
/// # Errors
/// What `open` returns for a source it cannot open (a file missing on this
/// rank's file system, say), a source whose shape or dtype differs from the
/// sender's, and [`Error::Comm`] for a message that is not a plan.
pub fn decode(
    msg: &[u8],
    open: &mut dyn FnMut(&SourceSpec) -> Result<Arc<dyn ChunkSource>>,
) -> Result<Expr> {
    decode_with(msg, open, &|_| None)
}

/// [`decode`], finding persisted arrays by id with `stored`.
///
/// # Errors
/// As [`decode`], and [`Error::Plan`] for a persisted array this rank does
/// not hold.
pub fn decode_with(
    msg: &[u8],
    open: &mut dyn FnMut(&SourceSpec) -> Result<Arc<dyn ChunkSource>>,
    stored: &dyn Fn(u64) -> Option<Arc<StoredChunks>>,
) -> Result<Expr> {
    let bad = |what: &str| Error::Comm(format!("a received plan is malformed: {what}"));
    let n = msg
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
        .ok_or_else(|| bad("shorter than its header length"))?;
    let header = msg
        .get(8..8usize.saturating_add(n))
        .ok_or_else(|| bad("shorter than its header"))?;
    let header: Header =
        serde_json::from_slice(header).map_err(|e| bad(&format!("header: {e}")))?;
    // The arrays, in order.
    let mut blobs = Vec::new();
    let mut at = 8 + n;
    while at < msg.len() {
        let (c, used) = decode_chunk(&msg[at..])?;
        blobs.push(Arc::new(c));
        at += used;
    }
    let mut built: Vec<Expr> = Vec::with_capacity(header.nodes.len());
    for (i, node) in header.nodes.into_iter().enumerate() {
        let inputs = node
            .inputs
            .iter()
            .map(|&k| {
                built
                    .get(k)
                    .cloned()
                    .ok_or_else(|| bad(&format!("node {i} reads node {k}, not sent before it")))
            })
            .collect::<Result<Vec<_>>>()?;
        let op = match node.op {
            WireOp::FromArray { blob, view } => Op::FromArray {
                data: blobs
                    .get(blob)
                    .cloned()
                    .ok_or_else(|| bad(&format!("node {i} reads array {blob}, not sent")))?,
                view,
            },
            WireOp::Read { source, view } => {
                let s = open(&source)?;
                if s.dtype() != node.dtype || s.shape().len() != view.len() {
                    return Err(Error::Io(format!(
                        "{} is {} of {} dims here but {} of {} dims where the plan was made; \
                         do all ranks see the same file?",
                        s.describe(),
                        s.dtype(),
                        s.shape().len(),
                        node.dtype,
                        view.len()
                    )));
                }
                Op::Read { source: s, view }
            }
            WireOp::Gen(g) => Op::Gen(g.rebuilt()),
            WireOp::Elementwise(e) => Op::Elementwise(match e {
                WireElem::Unary(u) => ElemOp::Unary(u),
                WireElem::Binary(b) => ElemOp::Binary(b),
                WireElem::Where => ElemOp::Where,
                WireElem::Cast => ElemOp::Cast,
            }),
            WireOp::AxisMap { src } => Op::AxisMap { src },
            WireOp::Slice { sel } => Op::Slice { sel },
            WireOp::Rechunk => Op::Rechunk,
            WireOp::Concat { axis } => Op::Concat { axis },
            WireOp::Reshape => Op::Reshape,
            WireOp::Reduce {
                op,
                axes,
                split_every,
            } => Op::Reduce {
                op,
                axes,
                split_every,
            },
            WireOp::MatMul => Op::MatMul,
            WireOp::Stored { id } => Op::Stored {
                chunks: stored(id).ok_or_else(|| {
                    Error::plan(format!(
                        "persisted array {id} is not held on this rank (it was released)"
                    ))
                })?,
            },
        };
        built.push(Expr::new(
            op,
            inputs,
            Meta {
                dtype: node.dtype,
                grid: node.grid,
            },
        ));
    }
    built
        .get(header.root)
        .cloned()
        .ok_or_else(|| bad("its root is not among its nodes"))
}
