//! Elementwise operations with NumPy broadcasting and type promotion.

use super::{Array, Scalar};
use crate::error::{Error, Result};
use crate::expr::{self, ElemOp, Expr};
use crate::kernel::fused::{BinaryOp, UnaryOp};
use crate::meta::DType;

/// Something that can stand on either side of an elementwise operation.
pub enum Operand {
    Array(Result<Expr>),
    Scalar(Scalar),
}

impl From<&Array> for Operand {
    fn from(a: &Array) -> Self {
        Operand::Array(a.expr().cloned())
    }
}
impl From<Array> for Operand {
    fn from(a: Array) -> Self {
        Operand::Array(a.inner)
    }
}
macro_rules! scalar_operand {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand {
            fn from(v: $t) -> Self {
                Operand::Scalar(Scalar::from(v))
            }
        }
    )*};
}
scalar_operand!(f64, f32, i64, i32, bool);
impl From<Scalar> for Operand {
    fn from(s: Scalar) -> Self {
        Operand::Scalar(s)
    }
}

/// The common dtype of operands: arrays promote with each other; scalars are
/// "weak" (NEP 50) unless every operand is a scalar.
fn common_dtype(ops: &[&Operand]) -> Result<DType> {
    let mut arr: Option<DType> = None;
    for o in ops {
        if let Operand::Array(r) = o {
            let d = r.as_ref().map_err(|e| e.clone())?.dtype();
            arr = Some(arr.map_or(d, |a| DType::promote(a, d)));
        }
    }
    let mut d = match arr {
        Some(d) => d,
        None => ops
            .iter()
            .filter_map(|o| {
                if let Operand::Scalar(s) = o {
                    Some(s.dtype())
                } else {
                    None
                }
            })
            .reduce(DType::promote)
            .unwrap_or(DType::F64),
    };
    for o in ops {
        if let Operand::Scalar(s) = o {
            d = match s {
                Scalar::Float(_) => d.promote_scalar(true),
                Scalar::Int(_) => d.promote_scalar(false),
                Scalar::Bool(_) => d,
            };
        }
    }
    Ok(d)
}

fn as_expr(o: &Operand, dtype: DType) -> Result<Expr> {
    match o {
        Operand::Array(r) => Ok(expr::cast(r.as_ref().map_err(|e| e.clone())?, dtype)),
        Operand::Scalar(s) => Ok(expr::scalar(s.as_f64(), dtype)),
    }
}

/// `op(a, b)` with promotion, casting and broadcasting.
pub(crate) fn binary(op: BinaryOp, a: &Operand, b: &Operand) -> Result<Expr> {
    let mut d = common_dtype(&[a, b])?;
    match op {
        BinaryOp::Div => d = d.to_float(),
        BinaryOp::And | BinaryOp::Or => d = DType::Bool,
        _ => {}
    }
    op.output_dtype(d).map_err(Error::plan)?;
    let out = op.output_dtype(d).map_err(Error::plan)?;
    expr::elementwise(ElemOp::Binary(op), &[as_expr(a, d)?, as_expr(b, d)?], out)
}

/// `op(x)`; float functions cast integer input to float64 first.
pub(crate) fn unary(op: UnaryOp, x: &Array) -> Result<Expr> {
    let e = x.expr()?;
    let d = if op.needs_float() {
        e.dtype().to_float()
    } else {
        e.dtype()
    };
    let out = op
        .output_dtype(d)
        .map_err(|m| Error::plan(format!("{m} (array of shape {:?})", e.shape())))?;
    expr::elementwise(ElemOp::Unary(op), &[expr::cast(e, d)], out)
}

/// `where(cond, a, b)`: elements of `a` where `cond` is true, else of `b`.
pub fn where_(cond: &Array, a: impl Into<Operand>, b: impl Into<Operand>) -> Array {
    let (a, b) = (a.into(), b.into());
    Array::from_result((|| {
        let c = expr::cast(cond.expr()?, DType::Bool);
        let d = common_dtype(&[&a, &b])?;
        expr::elementwise(ElemOp::Where, &[c, as_expr(&a, d)?, as_expr(&b, d)?], d)
    })())
}

/// Elementwise maximum, propagating NaN (NumPy's `maximum`).
pub fn maximum(a: impl Into<Operand>, b: impl Into<Operand>) -> Array {
    Array::from_result(binary(BinaryOp::Maximum, &a.into(), &b.into()))
}

/// Elementwise minimum, propagating NaN (NumPy's `minimum`).
pub fn minimum(a: impl Into<Operand>, b: impl Into<Operand>) -> Array {
    Array::from_result(binary(BinaryOp::Minimum, &a.into(), &b.into()))
}

macro_rules! named_binary {
    ($($name:ident => $op:ident, $doc:literal;)*) => {
        impl Array {
            $(
                #[doc = $doc]
                pub fn $name(&self, other: impl Into<Operand>) -> Result<Array> {
                    binary(BinaryOp::$op, &Operand::from(self), &other.into()).map(Array::from_expr)
                }
            )*
        }
    };
}
named_binary! {
    add => Add, "`self + other`";
    sub => Sub, "`self - other`";
    mul => Mul, "`self * other`";
    div => Div, "`self / other` (true division: integers give float64)";
    pow => Pow, "`self ** other`";
    equal => Eq, "`self == other`, elementwise";
    not_equal => Ne, "`self != other`, elementwise";
    less => Lt, "`self < other`, elementwise";
    less_equal => Le, "`self <= other`, elementwise";
    greater => Gt, "`self > other`, elementwise";
    greater_equal => Ge, "`self >= other`, elementwise";
    logical_and => And, "`self & other` on truth values";
    logical_or => Or, "`self | other` on truth values";
}

macro_rules! named_unary {
    ($($name:ident => $op:ident, $doc:literal;)*) => {
        impl Array {
            $(
                #[doc = $doc]
                pub fn $name(&self) -> Array {
                    Array::from_result(unary(UnaryOp::$op, self))
                }
            )*
        }
    };
}
named_unary! {
    neg => Neg, "`-self`";
    abs => Abs, "`abs(self)`";
    sqrt => Sqrt, "Square root (integers become float64).";
    exp => Exp, "`e ** self`";
    log => Log, "Natural logarithm.";
    sin => Sin, "Sine.";
    cos => Cos, "Cosine.";
    isnan => IsNan, "Is each element NaN? (never, for integers and bools)";
    invert => Not, "`~self` (logical not for bools, bitwise for integers)";
}

impl Array {
    /// Replace NaN with `value` (xarray's `fillna`); integer arrays are unchanged.
    pub fn fillna(&self, value: impl Into<Scalar>) -> Array {
        if !self.dtype().is_float() {
            return self.clone();
        }
        where_(&self.isnan(), Operand::Scalar(value.into()), self)
    }
    /// Limit values to `[lo, hi]` (NumPy's `clip`); NaN stays NaN.
    pub fn clip(&self, lo: impl Into<Scalar>, hi: impl Into<Scalar>) -> Array {
        minimum(
            maximum(self, Operand::Scalar(lo.into())),
            Operand::Scalar(hi.into()),
        )
    }
}

macro_rules! operator {
    ($tr:ident, $method:ident, $op:ident) => {
        impl<R: Into<Operand>> std::ops::$tr<R> for &Array {
            type Output = Array;
            fn $method(self, rhs: R) -> Array {
                Array::from_result(binary(BinaryOp::$op, &Operand::from(self), &rhs.into()))
            }
        }
        impl<R: Into<Operand>> std::ops::$tr<R> for Array {
            type Output = Array;
            fn $method(self, rhs: R) -> Array {
                Array::from_result(binary(BinaryOp::$op, &Operand::from(&self), &rhs.into()))
            }
        }
        impl std::ops::$tr<&Array> for f64 {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                Array::from_result(binary(
                    BinaryOp::$op,
                    &Operand::from(self),
                    &Operand::from(rhs),
                ))
            }
        }
        impl std::ops::$tr<&Array> for i64 {
            type Output = Array;
            fn $method(self, rhs: &Array) -> Array {
                Array::from_result(binary(
                    BinaryOp::$op,
                    &Operand::from(self),
                    &Operand::from(rhs),
                ))
            }
        }
    };
}
operator!(Add, add, Add);
operator!(Sub, sub, Sub);
operator!(Mul, mul, Mul);
operator!(Div, div, Div);

impl std::ops::Neg for &Array {
    type Output = Array;
    fn neg(self) -> Array {
        Array::neg(self)
    }
}
impl std::ops::Neg for Array {
    type Output = Array;
    fn neg(self) -> Array {
        Array::neg(&self)
    }
}
impl std::ops::Not for &Array {
    type Output = Array;
    fn not(self) -> Array {
        self.invert()
    }
}
