//! Registers and arithmetic: [`Reg`] holds one tile of values of one dtype, and the
//! unary, binary, `where` and cast loops compute one register from others, with
//! NumPy's semantics per element type ([`Arith`]).
//!
//! The loops are compiled twice, for baseline x86-64 and for AVX2, and the CPU's
//! version is chosen at run time (`multiversion`): the same arithmetic, in
//! 4-wide rather than 2-wide vectors. No FMA: results stay bitwise the same on
//! every machine.

use super::{BinaryOp, UnaryOp, TILE};
use crate::kernel::Element;
use crate::meta::DType;
use crate::with_dtype;

/// Register storage for one tile.
pub(super) enum Reg {
    Bool(Vec<bool>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl Reg {
    /// A register for tiles of up to `len` elements (at most [`TILE`]).
    pub(super) fn new(d: DType, len: usize) -> Reg {
        with_dtype!(d, T => T::reg(vec![T::default(); len.min(TILE)]))
    }
}

pub(super) trait RegElem: Element {
    fn reg(v: Vec<Self>) -> Reg;
    fn get(r: &Reg) -> &[Self];
    fn get_mut(r: &mut Reg) -> &mut [Self];
}
macro_rules! reg_elem {
    ($t:ty, $v:ident) => {
        impl RegElem for $t {
            fn reg(v: Vec<Self>) -> Reg {
                Reg::$v(v)
            }
            #[inline(always)]
            fn get(r: &Reg) -> &[Self] {
                match r {
                    Reg::$v(x) => x,
                    _ => &[],
                }
            }
            #[inline(always)]
            fn get_mut(r: &mut Reg) -> &mut [Self] {
                match r {
                    Reg::$v(x) => x,
                    _ => &mut [],
                }
            }
        }
    };
}
reg_elem!(bool, Bool);
reg_elem!(i32, I32);
reg_elem!(i64, I64);
reg_elem!(f32, F32);
reg_elem!(f64, F64);

/// Element arithmetic for the fused kernels.
trait Arith: RegElem {
    fn add(a: Self, b: Self) -> Self;
    fn sub(a: Self, b: Self) -> Self;
    fn mul(a: Self, b: Self) -> Self;
    fn div(a: Self, b: Self) -> Self;
    fn pow(a: Self, b: Self) -> Self;
    fn neg(a: Self) -> Self;
    fn abs(a: Self) -> Self;
    fn maximum(a: Self, b: Self) -> Self;
    fn minimum(a: Self, b: Self) -> Self;
    fn float_fn(op: UnaryOp, a: Self) -> Self;
    fn not(a: Self) -> Self;
}
macro_rules! arith_int {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(a: Self, b: Self) -> Self {
                a.wrapping_add(b)
            }
            #[inline(always)]
            fn sub(a: Self, b: Self) -> Self {
                a.wrapping_sub(b)
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self {
                a.wrapping_mul(b)
            }
            #[inline(always)]
            fn div(a: Self, b: Self) -> Self {
                if b == 0 {
                    0
                } else {
                    a.wrapping_div(b)
                }
            }
            #[inline(always)]
            fn pow(a: Self, b: Self) -> Self {
                if b < 0 {
                    match a {
                        1 => 1,
                        -1 => {
                            if b % 2 == 0 {
                                1
                            } else {
                                -1
                            }
                        }
                        _ => 0,
                    }
                } else {
                    a.wrapping_pow(b as u32)
                }
            }
            #[inline(always)]
            fn neg(a: Self) -> Self {
                a.wrapping_neg()
            }
            #[inline(always)]
            fn abs(a: Self) -> Self {
                a.wrapping_abs()
            }
            #[inline(always)]
            fn maximum(a: Self, b: Self) -> Self {
                a.max(b)
            }
            #[inline(always)]
            fn minimum(a: Self, b: Self) -> Self {
                a.min(b)
            }
            #[inline(always)]
            fn float_fn(_: UnaryOp, a: Self) -> Self {
                a
            }
            #[inline(always)]
            fn not(a: Self) -> Self {
                !a
            }
        }
    };
}
arith_int!(i32);
arith_int!(i64);
macro_rules! arith_float {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(a: Self, b: Self) -> Self {
                a + b
            }
            #[inline(always)]
            fn sub(a: Self, b: Self) -> Self {
                a - b
            }
            #[inline(always)]
            fn mul(a: Self, b: Self) -> Self {
                a * b
            }
            #[inline(always)]
            fn div(a: Self, b: Self) -> Self {
                a / b
            }
            #[inline(always)]
            fn pow(a: Self, b: Self) -> Self {
                a.powf(b)
            }
            #[inline(always)]
            fn neg(a: Self) -> Self {
                -a
            }
            #[inline(always)]
            fn abs(a: Self) -> Self {
                a.abs()
            }
            #[inline(always)]
            fn maximum(a: Self, b: Self) -> Self {
                if a.is_nan() || b.is_nan() {
                    <$t>::NAN
                } else {
                    a.max(b)
                }
            }
            #[inline(always)]
            fn minimum(a: Self, b: Self) -> Self {
                if a.is_nan() || b.is_nan() {
                    <$t>::NAN
                } else {
                    a.min(b)
                }
            }
            #[inline(always)]
            fn float_fn(op: UnaryOp, a: Self) -> Self {
                match op {
                    UnaryOp::Sqrt => a.sqrt(),
                    UnaryOp::Exp => a.exp(),
                    UnaryOp::Log => a.ln(),
                    UnaryOp::Sin => a.sin(),
                    UnaryOp::Cos => a.cos(),
                    _ => a,
                }
            }
            #[inline(always)]
            fn not(a: Self) -> Self {
                a
            }
        }
    };
}
arith_float!(f32);
arith_float!(f64);
impl Arith for bool {
    fn add(a: Self, b: Self) -> Self {
        a | b
    }
    fn sub(a: Self, b: Self) -> Self {
        a ^ b
    }
    fn mul(a: Self, b: Self) -> Self {
        a & b
    }
    fn div(a: Self, _: Self) -> Self {
        a
    }
    fn pow(a: Self, _: Self) -> Self {
        a
    }
    fn neg(a: Self) -> Self {
        a
    }
    fn abs(a: Self) -> Self {
        a
    }
    fn maximum(a: Self, b: Self) -> Self {
        a | b
    }
    fn minimum(a: Self, b: Self) -> Self {
        a & b
    }
    fn float_fn(_: UnaryOp, a: Self) -> Self {
        a
    }
    fn not(a: Self) -> Self {
        !a
    }
}

macro_rules! with_reg_types {
    ($r:expr, $T:ident => $body:expr) => {
        match $r {
            Reg::Bool(_) => {
                type $T = bool;
                $body
            }
            Reg::I32(_) => {
                type $T = i32;
                $body
            }
            Reg::I64(_) => {
                type $T = i64;
                $body
            }
            Reg::F32(_) => {
                type $T = f32;
                $body
            }
            Reg::F64(_) => {
                type $T = f64;
                $body
            }
        }
    };
}

#[multiversion::multiversion(targets("x86_64+avx2"))]
pub(super) fn unary(op: UnaryOp, a: &Reg, dst: &mut Reg, len: usize) {
    with_reg_types!(a, T => {
        let x = &<T as RegElem>::get(a)[..len];
        if op == UnaryOp::IsNan {
            let o = &mut bool::get_mut(dst)[..len];
            o.iter_mut().zip(x).for_each(|(o, &v)| *o = v.is_nan());
            return;
        }
        let o = &mut <T as RegElem>::get_mut(dst)[..len];
        match op {
            UnaryOp::Neg => o.iter_mut().zip(x).for_each(|(o, &v)| *o = <T as Arith>::neg(v)),
            UnaryOp::Abs => o.iter_mut().zip(x).for_each(|(o, &v)| *o = <T as Arith>::abs(v)),
            UnaryOp::Not => o.iter_mut().zip(x).for_each(|(o, &v)| *o = <T as Arith>::not(v)),
            _ => o.iter_mut().zip(x).for_each(|(o, &v)| *o = <T as Arith>::float_fn(op, v)),
        }
    })
}

#[multiversion::multiversion(targets("x86_64+avx2"))]
pub(super) fn binary(op: BinaryOp, a: &Reg, b: &Reg, dst: &mut Reg, len: usize) {
    with_reg_types!(a, T => {
        let x = &<T as RegElem>::get(a)[..len];
        let y = &<T as RegElem>::get(b)[..len];
        macro_rules! arith { ($f:expr) => {{
            let o = &mut <T as RegElem>::get_mut(dst)[..len];
            for i in 0..len { o[i] = $f(x[i], y[i]); }
        }}; }
        macro_rules! cmp { ($f:expr) => {{
            let o = &mut bool::get_mut(dst)[..len];
            for i in 0..len { o[i] = $f(&x[i], &y[i]); }
        }}; }
        match op {
            BinaryOp::Add => arith!(<T as Arith>::add),
            BinaryOp::Sub => arith!(<T as Arith>::sub),
            BinaryOp::Mul => arith!(<T as Arith>::mul),
            BinaryOp::Div => arith!(<T as Arith>::div),
            BinaryOp::Pow => arith!(<T as Arith>::pow),
            BinaryOp::Maximum => arith!(<T as Arith>::maximum),
            BinaryOp::Minimum => arith!(<T as Arith>::minimum),
            BinaryOp::Eq => cmp!(PartialEq::eq),
            BinaryOp::Ne => cmp!(PartialEq::ne),
            BinaryOp::Lt => cmp!(PartialOrd::lt),
            BinaryOp::Le => cmp!(PartialOrd::le),
            BinaryOp::Gt => cmp!(PartialOrd::gt),
            BinaryOp::Ge => cmp!(PartialOrd::ge),
            BinaryOp::And => cmp!(|p: &T, q: &T| p.is_true() && q.is_true()),
            BinaryOp::Or => cmp!(|p: &T, q: &T| p.is_true() || q.is_true()),
        }
    })
}

#[multiversion::multiversion(targets("x86_64+avx2"))]
pub(super) fn select(c: &Reg, a: &Reg, b: &Reg, dst: &mut Reg, len: usize) {
    let cond = &bool::get(c)[..len];
    with_reg_types!(a, T => {
        let x = &<T as RegElem>::get(a)[..len];
        let y = &<T as RegElem>::get(b)[..len];
        let o = &mut <T as RegElem>::get_mut(dst)[..len];
        for i in 0..len { o[i] = if cond[i] { x[i] } else { y[i] }; }
    })
}

#[multiversion::multiversion(targets("x86_64+avx2"))]
pub(super) fn cast(a: &Reg, dst: &mut Reg, len: usize) {
    with_reg_types!(a, S => {
        let x = &<S as RegElem>::get(a)[..len];
        with_reg_types!(&*dst, T => {
            let o = &mut <T as RegElem>::get_mut(dst)[..len];
            for i in 0..len { o[i] = crate::kernel::cast_scalar::<S, T>(x[i]); }
        })
    })
}
