//! Lowering: an optimised plan becomes a symbolic task graph (`graph`) plus, per
//! layer, the chunk operation its tasks run ([`LayerOp`]). Lowering happens once,
//! at the end, and costs O(nodes + grid extents): no per-task objects.
//!
//! [`Lowered`] is the [`TaskRunner`] the executor calls.

mod ops;

use crate::error::{Error, Result};
use crate::exec::TaskRunner;
use crate::expr::{Expr, Leaf, Op};
use crate::graph::{DimMap, Edge, Graph, Layer, LayerId};
use crate::kernel::generate::GenSpec;
use crate::kernel::reduce::{Partial, ReduceOp};
use crate::kernel::structure::DimSlice;
use crate::kernel::{wire, Chunk};
use crate::meta::{boundaries, ChunkGrid, DType};
use std::collections::HashMap;
use std::sync::Arc;

/// A task's output: a chunk, or the partial state of a reduction.
#[derive(Debug, Clone)]
pub enum Value {
    /// Shared: a stored chunk or one read by several consumers is never copied.
    Chunk(Arc<Chunk>),
    Partial(Partial),
}

impl Value {
    pub fn chunk(c: Chunk) -> Value {
        Value::Chunk(Arc::new(c))
    }

    /// Append the bytes of this value: `0` and a chunk, or `1`, the number of
    /// fields and each field (chunks as in [`crate::kernel::wire`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Chunk(c) => {
                out.push(0);
                wire::encode_chunk(c, out);
            }
            Value::Partial(p) => {
                out.push(1);
                out.push(p.fields.len() as u8);
                for f in &p.fields {
                    wire::encode_chunk(f, out);
                }
            }
        }
    }

    /// A value from the bytes of [`encode`](Self::encode).
    pub fn decode(bytes: &[u8]) -> Result<Value> {
        let bad = || Error::Comm("received a malformed value".to_string());
        match bytes.split_first() {
            Some((0, rest)) => Ok(Value::chunk(wire::decode_chunk(rest)?.0)),
            Some((1, rest)) => {
                let (&n, mut rest) = rest.split_first().ok_or_else(bad)?;
                let mut fields = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let (c, used) = wire::decode_chunk(rest)?;
                    fields.push(c);
                    rest = &rest[used..];
                }
                Ok(Value::Partial(Partial { fields }))
            }
            _ => Err(bad()),
        }
    }
}

/// A leaf of a lowered fused program.
#[derive(Debug, Clone)]
pub enum LoweredLeaf {
    /// Edge `edge`'s single input chunk; output dim `d` reads its dim `map[d]`.
    Input {
        edge: usize,
        map: Vec<Option<usize>>,
    },
    Gen {
        spec: GenSpec,
        map: Vec<Option<usize>>,
    },
}

/// The reduction a fused layer feeds.
#[derive(Debug, Clone)]
pub struct ReduceSpec {
    pub op: ReduceOp,
    pub axes: Vec<usize>,
    /// The reduction's input dtype.
    pub input: DType,
    /// Finalise in this task (the input has one chunk along every reduced axis).
    pub finalize: bool,
}

/// Blocks paired by `PairTransposedReads`: of the two tasks at blocks `i` and
/// `i'` (`i` with `a` and `b` swapped), the one [`Pair::works`] names also
/// computes the other's block; the other gives the empty partial.
#[derive(Debug, Clone)]
pub struct Pair {
    pub axes: (usize, usize),
    /// Per input edge: the edge reading the mirrored block's input.
    pub mirror_edge: Vec<usize>,
}

impl Pair {
    /// Whether the task at block indices `ia` (axis `a`) and `ib` (axis `b`),
    /// `ia != ib`, evaluates the pair: the one above the diagonal when `ia + ib`
    /// is even, the one below it when odd. A checkerboard rather than a
    /// triangle, so that every contiguous band of rows or columns (how ranks
    /// own shards) gets its share of the work: with the upper triangle, rank 0
    /// of 2 evaluated 3/4 of a square grid's pairs.
    pub fn works(ia: usize, ib: usize) -> bool {
        (ia < ib) == ((ia + ib) % 2 == 0)
    }
}

/// What the tasks of one layer compute.
#[derive(Clone)]
pub enum LayerOp {
    FromArray {
        data: Arc<Chunk>,
        view: Vec<(usize, isize)>,
    },
    Read {
        source: Arc<dyn crate::kernel::ChunkSource>,
        view: Vec<(usize, isize)>,
    },
    Stored {
        chunks: Arc<Vec<Option<Arc<Chunk>>>>,
    },
    Fused {
        program: crate::kernel::fused::Program,
        leaves: Vec<LoweredLeaf>,
        reduce: Option<ReduceSpec>,
        pair: Option<Pair>,
    },
    Combine {
        op: ReduceOp,
        input: DType,
        finalize: bool,
    },
    /// Per dim, per output chunk: (input chunk, selection within it).
    Slice {
        tables: Vec<Vec<(usize, DimSlice)>>,
    },
    /// Input and output chunk boundaries per dim.
    Rechunk {
        in_bounds: Vec<Vec<usize>>,
        out_bounds: Vec<Vec<usize>>,
    },
    Concat,
    Reshape,
    MatMul,
    MapBlocks {
        f: crate::expr::BlockFn,
        name: String,
    },
}

/// A lowered plan: the graph, what each layer computes, and the output layer.
pub struct Lowered {
    pub graph: Graph,
    pub ops: Vec<LayerOp>,
    /// Output grid and dtype of every layer (for partial layers: the input's grid).
    pub grids: Vec<ChunkGrid>,
    pub dtypes: Vec<DType>,
    /// Chunk boundaries of every layer's grid, per dim (`[0, c0, c0+c1, ..., n]`).
    pub bounds: Vec<Vec<Vec<usize>>>,
    pub output: LayerId,
}

struct Builder {
    layers: Vec<Layer>,
    ops: Vec<LayerOp>,
    grids: Vec<ChunkGrid>,
    dtypes: Vec<DType>,
    memo: HashMap<usize, LayerId>,
}

/// Lower an optimised plan.
pub fn lower(root: &Expr) -> Result<Lowered> {
    let mut b = Builder {
        layers: vec![],
        ops: vec![],
        grids: vec![],
        dtypes: vec![],
        memo: HashMap::new(),
    };
    let out = b.lower(root)?;
    let graph = Graph::new(b.layers, vec![out])?;
    let bounds = b
        .grids
        .iter()
        .map(|g| (0..g.ndim()).map(|d| g.boundaries(d)).collect())
        .collect();
    Ok(Lowered {
        bounds,
        graph,
        ops: b.ops,
        grids: b.grids,
        dtypes: b.dtypes,
        output: out,
    })
}

impl Builder {
    fn push(
        &mut self,
        name: String,
        grid: ChunkGrid,
        dtype: DType,
        inputs: Vec<Edge>,
        op: LayerOp,
        (chunk_bytes, total): (usize, usize),
    ) -> LayerId {
        let id = LayerId(self.layers.len() as u32);
        self.layers.push(Layer {
            name,
            numblocks: grid.numblocks(),
            inputs,
            chunk_bytes: chunk_bytes as u64,
            total_bytes: total as u64,
            // Persisted chunks are on the ranks that computed them.
            pinned: matches!(op, LayerOp::Stored { .. }),
        });
        self.ops.push(op);
        self.grids.push(grid);
        self.dtypes.push(dtype);
        id
    }

    fn lower(&mut self, e: &Expr) -> Result<LayerId> {
        if let Some(&id) = self.memo.get(&e.id()) {
            return Ok(id);
        }
        let m = e.meta();
        let (cb, tb) = (m.max_chunk_bytes(), m.nbytes());
        let grid = m.grid.clone();
        let nd = m.ndim();
        let id = match e.op() {
            Op::FromArray { data, view } => {
                let op = LayerOp::FromArray {
                    data: data.clone(),
                    view: view.clone(),
                };
                self.push(e.op_name(), grid, m.dtype, vec![], op, (cb, tb))
            }
            Op::Read { source, view } => {
                let op = LayerOp::Read {
                    source: source.clone(),
                    view: view.clone(),
                };
                self.push(e.op_name(), grid, m.dtype, vec![], op, (cb, tb))
            }
            Op::Stored { chunks } => self.push(
                e.op_name(),
                grid,
                m.dtype,
                vec![],
                LayerOp::Stored {
                    chunks: chunks.clone(),
                },
                (cb, tb),
            ),
            Op::Fused { program, leaves } => {
                let (edges, leaves) = self.fused_edges(e, leaves)?;
                let op = LayerOp::Fused {
                    program: program.clone(),
                    leaves,
                    reduce: None,
                    pair: None,
                };
                self.push(e.op_name(), grid, m.dtype, edges, op, (cb, tb))
            }
            Op::FusedReduce {
                program,
                leaves,
                grid: in_grid,
                op,
                axes,
                split_every,
                pair,
            } => {
                let (mut edges, leaves) = self.fused_edges(e, leaves)?;
                let pair = pair.map(|axes| Pair {
                    axes,
                    mirror_edge: mirror_edges(&mut edges, axes),
                });
                let r = Reduction {
                    op: *op,
                    axes,
                    split_every: *split_every,
                    pair,
                };
                self.reduction(e, program, leaves, edges, in_grid, r)?
            }
            Op::Slice { sel } => {
                let input = self.lower(&e.inputs()[0])?;
                // The input's logical grid: a reduction finalized in its partial layer
                // keeps the grid of its own input there (reduced dims of any extent,
                // 0 included), but its chunks have the reduced shape.
                let in_grid = e.inputs()[0].grid().clone();
                let mut dims = Vec::with_capacity(nd);
                let mut tables = Vec::with_capacity(nd);
                for (d, &(start, len, step)) in sel.iter().enumerate() {
                    let t = crate::expr::slice_table(&boundaries(in_grid.dim(d)), start, len, step);
                    let ranges: Arc<[(usize, usize)]> =
                        t.iter().map(|(c, _)| (*c, c + 1)).collect();
                    dims.push(DimMap::Table { out: d, ranges });
                    tables.push(t);
                }
                let edges = vec![Edge { layer: input, dims }];
                self.push(
                    e.op_name(),
                    grid,
                    m.dtype,
                    edges,
                    LayerOp::Slice { tables },
                    (cb, tb),
                )
            }
            Op::Rechunk => {
                let input = self.lower(&e.inputs()[0])?;
                let in_grid = e.inputs()[0].grid().clone(); // as for Slice
                let mut dims = Vec::with_capacity(nd);
                let (mut ib, mut ob) = (vec![], vec![]);
                for d in 0..nd {
                    let (bi, bo) = (boundaries(in_grid.dim(d)), boundaries(m.grid.dim(d)));
                    let ranges: Arc<[(usize, usize)]> = bo
                        .windows(2)
                        .map(|w| overlapping(&bi, w[0], w[1]))
                        .collect();
                    dims.push(DimMap::Table { out: d, ranges });
                    ib.push(bi);
                    ob.push(bo);
                }
                let edges = vec![Edge { layer: input, dims }];
                let op = LayerOp::Rechunk {
                    in_bounds: ib,
                    out_bounds: ob,
                };
                self.push(e.op_name(), grid, m.dtype, edges, op, (cb, tb))
            }
            Op::Concat { axis } => {
                let mut edges = Vec::new();
                let mut start = 0;
                let n_out = m.grid.dim(*axis).len();
                for x in e.inputs() {
                    let l = self.lower(x)?;
                    let nb = if x.shape()[*axis] == 0 {
                        0
                    } else {
                        x.grid().dim(*axis).len()
                    };
                    let ranges: Arc<[(usize, usize)]> = (0..n_out)
                        .map(|i| {
                            if i >= start && i < start + nb {
                                (i - start, i - start + 1)
                            } else {
                                (0, 0)
                            }
                        })
                        .collect();
                    let dims = (0..nd)
                        .map(|d| {
                            if d == *axis {
                                DimMap::Table {
                                    out: d,
                                    ranges: ranges.clone(),
                                }
                            } else {
                                DimMap::Same { out: d }
                            }
                        })
                        .collect();
                    edges.push(Edge { layer: l, dims });
                    start += nb;
                }
                self.push(e.op_name(), grid, m.dtype, edges, LayerOp::Concat, (cb, tb))
            }
            Op::Reshape => {
                let x = &e.inputs()[0];
                let input = self.lower(x)?;
                let groups = crate::expr::reshape_groups(&x.shape(), &m.shape());
                let mut dims = vec![DimMap::Fixed { index: 0 }; x.ndim()];
                for (ins, outs) in groups {
                    if let (Some(&i0), Some(&o0)) = (ins.first(), outs.first()) {
                        dims[i0] = DimMap::Same { out: o0 };
                    }
                }
                let edges = vec![Edge { layer: input, dims }];
                self.push(
                    e.op_name(),
                    grid,
                    m.dtype,
                    edges,
                    LayerOp::Reshape,
                    (cb, tb),
                )
            }
            Op::MatMul => {
                let a = self.lower(&e.inputs()[0])?;
                let b = self.lower(&e.inputs()[1])?;
                let k = e.inputs()[0].grid().dim(1).len();
                let edges = vec![
                    Edge {
                        layer: a,
                        dims: vec![DimMap::Same { out: 0 }, DimMap::All { n: k }],
                    },
                    Edge {
                        layer: b,
                        dims: vec![DimMap::All { n: k }, DimMap::Same { out: 1 }],
                    },
                ];
                self.push(e.op_name(), grid, m.dtype, edges, LayerOp::MatMul, (cb, tb))
            }
            Op::MapBlocks { f, name } => {
                let input = self.lower(&e.inputs()[0])?;
                let dims = (0..nd).map(|d| DimMap::Same { out: d }).collect();
                let edges = vec![Edge { layer: input, dims }];
                let op = LayerOp::MapBlocks {
                    f: f.clone(),
                    name: name.clone(),
                };
                self.push(e.op_name(), grid, m.dtype, edges, op, (cb, tb))
            }
            Op::Gen(_) | Op::Elementwise(_) | Op::AxisMap { .. } | Op::Reduce { .. } => {
                return Err(Error::internal(format!(
                    "{} reached lowering unfused",
                    e.op_name()
                )));
            }
        };
        self.memo.insert(e.id(), id);
        Ok(id)
    }

    /// One edge per input leaf, indexing the input's dims from the output's.
    fn fused_edges(&mut self, e: &Expr, leaves: &[Leaf]) -> Result<(Vec<Edge>, Vec<LoweredLeaf>)> {
        let mut edges = Vec::new();
        let mut out = Vec::new();
        for leaf in leaves {
            match leaf {
                Leaf::Input { input, map } => {
                    let x = &e.inputs()[*input];
                    let l = self.lower(x)?;
                    let nb = x.grid().numblocks();
                    let dims = (0..x.ndim())
                        .map(|k| match map.iter().position(|m| *m == Some(k)) {
                            Some(d) if nb[k] > 1 => DimMap::Same { out: d },
                            _ => DimMap::Fixed { index: 0 },
                        })
                        .collect();
                    edges.push(Edge { layer: l, dims });
                    out.push(LoweredLeaf::Input {
                        edge: edges.len() - 1,
                        map: map.clone(),
                    });
                }
                Leaf::Gen { spec, map } => out.push(LoweredLeaf::Gen {
                    spec: spec.clone(),
                    map: map.clone(),
                }),
            }
        }
        Ok((edges, out))
    }

    fn reduction(
        &mut self,
        e: &Expr,
        program: &crate::kernel::fused::Program,
        leaves: Vec<LoweredLeaf>,
        edges: Vec<Edge>,
        in_grid: &ChunkGrid,
        r: Reduction<'_>,
    ) -> Result<LayerId> {
        let Reduction {
            op,
            axes,
            split_every,
            pair,
        } = r;
        let m = e.meta();
        let in_dtype = program.output_dtype();
        // The partial layer runs over the fused program's grid: the reduced dims of the
        // output grid are 1, the program's are whatever its inputs/generators give.
        let nd = in_grid.ndim();
        let mut nb = in_grid.numblocks();
        let done = |nb: &[usize]| axes.iter().all(|&a| nb[a] == 1);
        let finalize = done(&nb);
        let pbytes = partial_bytes(op, in_dtype, &m.grid);
        let paired = match &pair {
            Some(p) => format!(" (blocks paired over axes {} and {})", p.axes.0, p.axes.1),
            None => String::new(),
        };
        let name = format!("{}-partial{paired}", e.op_name());
        let op_layer = LayerOp::Fused {
            program: program.clone(),
            leaves,
            reduce: Some(ReduceSpec {
                op,
                axes: axes.to_vec(),
                input: in_dtype,
                finalize,
            }),
            pair,
        };
        let (cb, tb) = if finalize {
            (m.max_chunk_bytes(), m.nbytes())
        } else {
            (pbytes, pbytes * in_grid.num_chunks())
        };
        let mut layer = self.push(name, in_grid.clone(), m.dtype, edges, op_layer, (cb, tb));
        // Combine levels: a fixed tree defined by the chunk grid.
        let k = axes.iter().filter(|&&a| nb[a] > 1).count().max(1);
        let factor = ((split_every as f64).powf(1.0 / k as f64).floor() as usize).max(2);
        let mut level = 1;
        while !done(&nb) {
            let dims: Vec<DimMap> = (0..nd)
                .map(|d| {
                    if axes.contains(&d) && nb[d] > 1 {
                        DimMap::Block {
                            out: d,
                            factor,
                            n: nb[d],
                        }
                    } else {
                        DimMap::Same { out: d }
                    }
                })
                .collect();
            for &a in axes {
                nb[a] = nb[a].div_ceil(factor);
            }
            let finalize = done(&nb);
            let grid = ChunkGrid::from_raw(
                (0..nd)
                    .map(|d| {
                        if axes.contains(&d) {
                            vec![1; nb[d]]
                        } else {
                            m.grid.dim(d).to_vec()
                        }
                    })
                    .collect(),
            );
            let (cb, tb) = if finalize {
                (m.max_chunk_bytes(), m.nbytes())
            } else {
                (pbytes, pbytes * grid.num_chunks())
            };
            let name = format!("{}-combine-{level}", op.name());
            let op_layer = LayerOp::Combine {
                op,
                input: in_dtype,
                finalize,
            };
            layer = self.push(
                name,
                grid,
                m.dtype,
                vec![Edge { layer, dims }],
                op_layer,
                (cb, tb),
            );
            level += 1;
        }
        Ok(layer)
    }
}

/// What a fused reduction layer reduces (arguments of `Builder::reduction`).
struct Reduction<'a> {
    op: ReduceOp,
    axes: &'a [usize],
    split_every: usize,
    pair: Option<Pair>,
}

/// For paired blocks: append, per input edge, the edge that reads the input of the
/// mirrored block (consumer dims `a` and `b` swapped); returns their indices.
fn mirror_edges(edges: &mut Vec<Edge>, (a, b): (usize, usize)) -> Vec<usize> {
    let n = edges.len();
    (0..n)
        .map(|i| {
            let dims = edges[i]
                .dims
                .iter()
                .map(|d| match d {
                    DimMap::Same { out } if *out == a => DimMap::Same { out: b },
                    DimMap::Same { out } if *out == b => DimMap::Same { out: a },
                    other => other.clone(),
                })
                .collect();
            edges.push(Edge {
                layer: edges[i].layer,
                dims,
            });
            edges.len() - 1
        })
        .collect()
}

fn partial_bytes(op: ReduceOp, input: DType, out: &ChunkGrid) -> usize {
    op.partial_bytes_per_element(input) * out.max_chunk_elems()
}

/// Input chunks `[lo, hi)` overlapping global `[a, b)`.
fn overlapping(bounds: &[usize], a: usize, b: usize) -> (usize, usize) {
    if a >= b {
        return (0, 0);
    }
    let lo = match bounds.binary_search(&a) {
        Ok(i) => i,
        Err(i) => i - 1,
    };
    let hi = match bounds.binary_search(&b) {
        Ok(i) => i,
        Err(i) => i,
    };
    (lo, hi.max(lo + 1))
}

impl TaskRunner for Lowered {
    type Value = Value;
    fn run(&self, layer: LayerId, chunk: usize, inputs: &[Vec<&Value>]) -> Result<Value> {
        ops::run(self, layer, chunk, inputs)
    }
    fn nbytes(&self, v: &Value) -> usize {
        match v {
            Value::Chunk(c) => c.nbytes(),
            Value::Partial(p) => p.nbytes(),
        }
    }
    fn encode(&self, v: &Value, out: &mut Vec<u8>) {
        v.encode(out)
    }
    fn decode(&self, bytes: &[u8]) -> Result<Value> {
        Value::decode(bytes)
    }
}
