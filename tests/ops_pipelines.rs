//! Property test of whole plans: a random pipeline of operations (slices,
//! transposes, rechunks, elementwise ops with broadcasting, reductions with
//! keepdims, new axes, casts, persist, concatenate, reshape) applied lazily to a
//! chunked array and eagerly to its `ndarray` twin must give the same values,
//! bit for bit. The start is integer data (in memory, or an `arange` generator) or
//! a random generator; on random floats only the operations that are exact
//! whatever the chunking run (no sums, casts or matmul). This exercises the
//! optimizer's rewrites (slices pushed into sources, rechunks pushed through
//! transposes into generators, fusion) in combinations no hand-written case lists.

mod common;

use chunkwise::prelude::*;
use common::Rng;
use common::*;
use ndarray::{ArrayD, Axis, Ix2, IxDyn};
use proptest::prelude::*;

/// A lazy array and its eager twin (integers are exact in f64 at these sizes).
struct Pair {
    lazy: Array,
    eager: ArrayD<f64>,
    /// Integer data: every operation applies. Random floats: only exact ones.
    ints: bool,
}

/// Random chunks covering `n` (`[0]` when empty).
fn random_dim(r: &mut Rng, n: usize) -> Vec<usize> {
    if n == 0 {
        return vec![0];
    }
    let mut out = vec![];
    let mut left = n;
    while left > 0 {
        let c = r.int(1, left as i64 + 1) as usize;
        let c = if r.unit() < 0.5 { c.min(3) } else { c };
        out.push(c);
        left -= c;
    }
    out
}

fn random_grid(r: &mut Rng, shape: &[usize]) -> Vec<Vec<usize>> {
    shape.iter().map(|&n| random_dim(r, n)).collect()
}

/// The starting array: in-memory integers, an integer generator (arange reshaped)
/// or a random generator, randomly chunked.
fn base(seed: u64, shape: &[usize]) -> Pair {
    let mut r = Rng::new(seed);
    let n: usize = shape.iter().product();
    let ints: ArrayD<i64> =
        ArrayD::from_shape_vec(IxDyn(shape), (0..n as i64).map(|v| v - 7).collect()).unwrap();
    let grid = random_grid(&mut r, shape);
    match r.int(0, 4) {
        0 => Pair {
            lazy: arr(&ints, grid.into()),
            eager: ints.mapv(|v| v as f64),
            ints: true,
        },
        1 => {
            let flat = arange(-7, n as i64 - 7, 1, r.int(1, 6) as usize).unwrap();
            let s: Vec<isize> = shape.iter().map(|&d| d as isize).collect();
            let lazy = flat.reshape(&s).unwrap().rechunk(grid).unwrap();
            Pair {
                lazy,
                eager: ints.mapv(|v| v as f64),
                ints: true,
            }
        }
        k => {
            let seed = r.next_u64();
            let lazy = if k == 2 {
                random::random(shape, grid, seed).unwrap()
            } else {
                random::normal(1.0, 2.0, shape, grid, seed).unwrap()
            };
            let eager = eval::<f64>(&lazy);
            Pair {
                lazy,
                eager,
                ints: false,
            }
        }
    }
}

/// One random index for `shape`: a slice or an integer per axis, maybe a new axis.
fn random_index(r: &mut Rng, shape: &[usize]) -> Vec<Idx> {
    let mut idx: Vec<Idx> = shape
        .iter()
        .map(|&n| {
            let b = n as i64 + 2;
            if n > 0 && r.unit() < 0.2 {
                Idx::Int(r.int(-(n as i64), n as i64) as isize)
            } else {
                let opt = |r: &mut Rng| (r.unit() < 0.7).then(|| r.int(-b, b + 1) as isize);
                let (start, stop) = (opt(r), opt(r));
                let step = [1, 1, 2, 3, -1, -2][r.int(0, 6) as usize];
                Idx::slice(start, stop, step)
            }
        })
        .collect();
    if shape.len() < 4 && r.unit() < 0.2 {
        let at = r.int(0, idx.len() as i64 + 1) as usize;
        idx.insert(at, Idx::NewAxis);
    }
    idx
}

/// Apply operation `kind` (parameters drawn from `seed`) to both twins. Returns
/// `None` when the operation does not apply (then nothing changes).
fn step(p: &Pair, kind: u8, seed: u64) -> Option<Pair> {
    let mut r = Rng::new(seed);
    let shape = p.eager.shape().to_vec();
    let nd = shape.len();
    let (x, e, ints) = (&p.lazy, &p.eager, p.ints);
    let pair = |lazy: Array, eager: ArrayD<f64>| Some(Pair { lazy, eager, ints });
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match kind {
        0 => {
            let idx = random_index(&mut r, &shape);
            let lazy = x.slice(&idx).unwrap();
            if lazy.ndim() == 0 {
                return None; // keep at least one dimension
            }
            pair(lazy, np_index(e, &idx))
        }
        1 => {
            let mut perm: Vec<usize> = (0..nd).collect();
            for i in (1..nd).rev() {
                perm.swap(i, r.int(0, i as i64 + 1) as usize);
            }
            let eager = e.view().permuted_axes(IxDyn(&perm)).to_owned();
            pair(x.transpose(&perm).unwrap(), eager)
        }
        2 => pair(x.rechunk(random_grid(&mut r, &shape)).unwrap(), e.clone()),
        3 => {
            let k = r.int(-3, 4);
            pair(&(x * 3) - k, e.mapv(|v| v * 3.0 - k as f64))
        }
        4 => {
            // x - x[::-1] (along the first axis): slices on both sides of an op.
            let rev = x.slice(&[Idx::slice(None, None, -1)]).unwrap();
            let erev = np_index(e, &[Idx::slice(None, None, -1)]);
            pair(x - &rev, zip_bc(e, &erev, |a, b| a - b))
        }
        5 if ints => {
            // Broadcast against a keepdims reduction.
            let ax = r.int(0, nd as i64) as isize;
            let s = x.sum(Some(ax), true).unwrap();
            let es = reduce_ref(e, Some(&[ax][..]), true, sum);
            pair(x + &s, zip_bc(e, &es, |a, b| a + b))
        }
        6 if nd < 4 && e.len() < 2000 => {
            let ax = r.int(0, nd as i64 + 1) as usize;
            pair(
                x.expand_dims(ax as isize).unwrap(),
                e.clone().insert_axis(Axis(ax)),
            )
        }
        7 if shape.contains(&1) && nd > 1 => {
            let d = shape.iter().position(|&n| n == 1).unwrap();
            pair(
                x.squeeze(Some(&[d as isize])).unwrap(),
                e.index_axis(Axis(d), 0).to_owned(),
            )
        }
        8 if ints => pair(x.astype(DType::I32).astype(DType::I64), e.clone()),
        9 => pair(x.persist().unwrap(), e.clone()),
        10 if shape.iter().all(|&n| n <= 8) => {
            let ax = r.int(0, nd as i64) as usize;
            let other = (x * 2).rechunk(random_grid(&mut r, &shape)).unwrap();
            let eo = e.mapv(|v| v * 2.0);
            let eager = ndarray::concatenate(Axis(ax), &[e.view(), eo.view()]).unwrap();
            pair(concatenate(&[x, &other], ax as isize).unwrap(), eager)
        }
        11 if !e.is_empty() => {
            // Flatten, then back to the shape with its dims reversed.
            let back: Vec<isize> = shape.iter().rev().map(|&n| n as isize).collect();
            let lazy = x.reshape(&[-1]).unwrap().reshape(&back).unwrap();
            let ushape: Vec<usize> = shape.iter().rev().copied().collect();
            let flat: Vec<f64> = e.iter().copied().collect();
            pair(lazy, ArrayD::from_shape_vec(IxDyn(&ushape), flat).unwrap())
        }
        12 => pair(
            where_(&x.greater(0).unwrap(), x, x.neg()),
            e.mapv(|v| if v > 0.0 { v } else { -v }),
        ),
        13 if nd > 1 && ints => {
            let ax = r.int(-(nd as i64), nd as i64) as isize;
            pair(
                x.sum(Some(ax), false).unwrap(),
                reduce_ref(e, Some(&[ax][..]), false, sum),
            )
        }
        14 => {
            let ax = r.int(0, nd as i64) as usize;
            if shape[ax] == 0 {
                return None;
            }
            let m = x.max(Some(ax as isize), true).unwrap();
            let em = reduce_ref(e, Some(&[ax as isize][..]), true, max);
            pair(&m - x, zip_bc(&em, e, |a, b| a - b))
        }
        15 if nd == 2 && ints => {
            // Clipped first, so that repeated products stay small.
            let c = x.clip(-5, 5);
            let ec = e
                .mapv(|v| v.clamp(-5.0, 5.0))
                .into_dimensionality::<Ix2>()
                .unwrap();
            pair(c.matmul(&c.t()).unwrap(), ec.dot(&ec.t()).into_dyn())
        }
        16 if nd < 4 && e.len() < 2000 => {
            let ax = r.int(0, nd as i64 + 1) as usize;
            let y = x.neg().rechunk(random_grid(&mut r, &shape)).unwrap();
            let ey = e.mapv(|v| -v);
            let eager = ndarray::stack(Axis(ax), &[e.view(), ey.view()]).unwrap();
            pair(stack(&[x, &y], ax as isize).unwrap(), eager)
        }
        _ => None,
    }
}

thread_local! {
    /// One shuffling session for all cases (of this test thread).
    static SHUFFLED: std::rc::Rc<chunkwise::session::Session> = std::rc::Rc::new(session(3, Some(2024)));
}

fn shuffled() -> std::rc::Rc<chunkwise::session::Session> {
    SHUFFLED.with(|s| s.clone())
}

proptest! {
    // PIPELINE_CASES=20000 for a longer hunt.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PIPELINE_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(200)
    ))]

    #[test]
    fn random_pipelines_match_eager(
        shape in proptest::collection::vec(0usize..=6, 1..=3),
        base_seed in any::<u64>(),
        ops in proptest::collection::vec((0u8..17, any::<u64>()), 1..=8),
    ) {
        let mut p = base(base_seed, &shape);
        let mut trail = vec![format!("base {shape:?} chunks {:?}", p.lazy.chunks())];
        for (kind, seed) in ops {
            if let Some(next) = step(&p, kind, seed) {
                p = next;
                trail.push(format!("op {kind} -> {:?} chunks {:?}", p.eager.shape(), p.lazy.chunks()));
            }
        }
        let what = trail.join("\n");
        let dtype = if p.ints { DType::I64 } else { DType::F64 };
        prop_assert_eq!(p.lazy.dtype(), dtype, "{}", what);
        let got = p.lazy.compute().unwrap_or_else(|e| panic!("{what}\n{e}"));
        prop_assert_eq!(got.dtype(), dtype, "{}", what);
        // Integers compare as values (their eager twin may hold -0.0), floats bitwise.
        let check = |got: &ArrayD<f64>, what: &str| {
            if p.ints {
                assert_exact(got, &p.eager, what)
            } else {
                assert_bits_equal(got, &p.eager, what)
            }
        };
        check(&got.to_f64(), &what);
        // A shuffled task order on three threads gives the same.
        check(&p.lazy.compute_with(&shuffled()).unwrap().to_f64(), &format!("shuffled\n{what}"));
        if p.ints {
            // The same plan reduced gives the eager sum.
            let total = eval::<i64>(&p.lazy.sum(None, false).unwrap());
            prop_assert_eq!(total[[]] as f64, p.eager.sum(), "{}", what);
        }
    }
}
