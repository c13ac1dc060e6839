//! Micro-benchmarks of the chunk kernels on one 1000x1000 `f64` chunk (8 MB): the
//! fused elementwise evaluator, partial reductions, structural kernels and the
//! random generator. Each benchmark is named after what it measures; results are
//! kept in `bench/RESULTS.md`.
//!
//! `cargo bench --bench kernels` (a few minutes on 2 cores).

use chunkwise::kernel::fused::{eval, BinaryOp, Instr, LeafData, Program, Sink, UnaryOp};
use chunkwise::kernel::generate::{Distribution, GenKind, GenSpec};
use chunkwise::kernel::reduce::{partial, ReduceAcc, ReduceOp};
use chunkwise::kernel::structure::{assemble, slice, transpose, DimSlice, Piece};
use chunkwise::kernel::ChunkView;
use chunkwise::prelude::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

const N: usize = 1000;

/// A 1000x1000 chunk of uniform values (from the crate's own generator).
fn chunk() -> Chunk {
    random::random(&[N, N], [N, N], 0)
        .and_then(|x| x.compute())
        .expect("a random 1000x1000 chunk")
}

macro_rules! group {
    ($c:expr, $name:literal) => {{
        let mut g = $c.benchmark_group($name);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2))
            .throughput(Throughput::Bytes((N * N * 8) as u64));
        g
    }};
}

/// `sqrt((x + 1) * x)` as a fused program over one leaf.
fn sqrt_program() -> Program {
    let mut p = Program::default();
    let x = p.push(Instr::Leaf(0), DType::F64);
    let one = p.push(Instr::Leaf(1), DType::F64);
    let a = p.push(Instr::Binary(BinaryOp::Add, x, one), DType::F64);
    let m = p.push(Instr::Binary(BinaryOp::Mul, a, x), DType::F64);
    p.push(Instr::Unary(UnaryOp::Sqrt, m), DType::F64);
    p
}

/// The seed expression's fused body: `x + x.T - m` (leaves: x, x viewed transposed,
/// the column means broadcast along rows).
fn seed_program() -> Program {
    let mut p = Program::default();
    let x = p.push(Instr::Leaf(0), DType::F64);
    let xt = p.push(Instr::Leaf(1), DType::F64);
    let m = p.push(Instr::Leaf(2), DType::F64);
    let s = p.push(Instr::Binary(BinaryOp::Add, x, xt), DType::F64);
    p.push(Instr::Binary(BinaryOp::Sub, s, m), DType::F64);
    p
}

fn fused(c: &mut Criterion) {
    let x = chunk();
    let one = GenSpec::new(GenKind::Full(1.0), DType::F64, &[N, N]);
    let means = Chunk::from(ndarray::Array2::<f64>::from_elem((1, N), 0.5).into_dyn());
    let sqrt_p = sqrt_program();
    let seed_p = seed_program();
    let shape = [N, N];
    let mut g = group!(c, "fused");

    g.bench_function("sqrt_mul_add_store", |b| {
        b.iter(|| {
            let leaves = [
                LeafData::Chunk(ChunkView::map(&x, &[Some(0), Some(1)], &shape).unwrap()),
                LeafData::Gen {
                    spec: &one,
                    origin: vec![0, 0],
                    out_dim: vec![Some(0), Some(1)],
                },
            ];
            black_box(eval(&sqrt_p, &leaves, &shape, Sink::Store).unwrap())
        })
    });
    // x + x.T - mean(x, axis=0), x.T read through a permuted view (strided rows).
    let seed_leaves = || {
        [
            LeafData::Chunk(ChunkView::map(&x, &[Some(0), Some(1)], &shape).unwrap()),
            LeafData::Chunk(ChunkView::map(&x, &[Some(1), Some(0)], &shape).unwrap()),
            LeafData::Chunk(ChunkView::map(&means, &[Some(0), Some(1)], &shape).unwrap()),
        ]
    };
    g.bench_function("seed_body_store", |b| {
        b.iter(|| black_box(eval(&seed_p, &seed_leaves(), &shape, Sink::Store).unwrap()))
    });
    g.bench_function("seed_body_into_var", |b| {
        b.iter(|| {
            let acc = ReduceAcc::new(ReduceOp::Var { ddof: 0 }, DType::F64, &shape, &[0, 1], None)
                .unwrap();
            black_box(eval(&seed_p, &seed_leaves(), &shape, Sink::Reduce(Box::new(acc))).unwrap())
        })
    });
    g.finish();

    // The same `sqrt((x + 1) * x)` through the public API (plan, lower, execute).
    let xa = from_ndarray(x.typed::<f64>().unwrap(), [N, N]).unwrap();
    let y = ((&xa + 1.0) * &xa).sqrt();
    let mut g = group!(c, "api");
    g.bench_function("sqrt_mul_add_compute", |b| {
        b.iter(|| black_box(y.compute().unwrap()))
    });
    g.finish();
}

fn reductions(c: &mut Criterion) {
    let x = chunk();
    let mut g = group!(c, "reduce_partial");
    let ops = [
        ("sum", ReduceOp::Sum),
        ("mean", ReduceOp::Mean),
        ("var", ReduceOp::Var { ddof: 0 }),
    ];
    let axes: [(&str, &[usize]); 3] = [("axis0", &[0]), ("axis1", &[1]), ("all", &[0, 1])];
    for (oname, op) in ops {
        for (aname, ax) in axes {
            g.bench_function(format!("{oname}_{aname}"), |b| {
                b.iter(|| black_box(partial(op, &x, ax, None).unwrap()))
            });
        }
    }
    g.finish();
}

fn structure(c: &mut Criterion) {
    let x = chunk();
    let mut g = group!(c, "structure");
    g.bench_function("transpose", |b| {
        b.iter(|| black_box(transpose(&x, &[1, 0]).unwrap()))
    });
    let half = [
        DimSlice {
            start: 0,
            len: N,
            step: 1,
        },
        DimSlice {
            start: 1,
            len: N / 2,
            step: 2,
        },
    ];
    g.bench_function("slice_step2_cols", |b| {
        b.iter(|| black_box(slice(&x, &half).unwrap()))
    });
    let rev = [
        DimSlice {
            start: N - 1,
            len: N,
            step: -1,
        },
        DimSlice {
            start: 0,
            len: N,
            step: 1,
        },
    ];
    g.bench_function("slice_reverse_rows", |b| {
        b.iter(|| black_box(slice(&x, &rev).unwrap()))
    });
    // Four 500x500 quadrants of four chunks into one 1000x1000 chunk (a rechunk step).
    let pieces: Vec<Piece<'_>> = (0..4)
        .map(|q| Piece {
            src: &x,
            src_start: vec![(q / 2) * N / 2, (q % 2) * N / 2],
            dst_start: vec![(q % 2) * N / 2, (q / 2) * N / 2],
            extent: vec![N / 2, N / 2],
        })
        .collect();
    g.bench_function("assemble_4_quadrants", |b| {
        b.iter(|| black_box(assemble(DType::F64, &[N, N], &pieces).unwrap()))
    });
    g.finish();
}

fn generators(c: &mut Criterion) {
    let mut g = group!(c, "random");
    let spec = GenSpec::new(
        GenKind::Random {
            seed: 0,
            dist: Distribution::Uniform {
                low: 0.0,
                high: 1.0,
            },
            chunks: vec![vec![N], vec![N]],
        },
        DType::F64,
        &[N, N],
    );
    let mut p = Program::default();
    p.push(Instr::Leaf(0), DType::F64);
    g.bench_function("uniform_eval", |b| {
        b.iter(|| {
            let leaves = [LeafData::Gen {
                spec: &spec,
                origin: vec![0, 0],
                out_dim: vec![Some(0), Some(1)],
            }];
            black_box(eval(&p, &leaves, &[N, N], Sink::Store).unwrap())
        })
    });
    let u = random::random(&[N, N], [N, N], 7).unwrap();
    g.bench_function("uniform_compute", |b| {
        b.iter(|| black_box(u.compute().unwrap()))
    });
    let z = random::normal(0.0, 1.0, &[N, N], [N, N], 7).unwrap();
    g.bench_function("normal_compute", |b| {
        b.iter(|| black_box(z.compute().unwrap()))
    });
    g.finish();
}

criterion_group!(kernels, fused, reductions, structure, generators);
criterion_main!(kernels);
