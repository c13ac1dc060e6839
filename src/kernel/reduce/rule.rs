//! How min/max-like reductions (and their arg variants) pick between a candidate and
//! the current value, NaN included.

use crate::kernel::Element;
use crate::meta::DType;

/// How a min/max-like reduction picks between a candidate and the current value.
pub(super) trait Rule {
    const SKIP_NAN: bool;
    /// The state before any element.
    fn init<T: Element>() -> T;
    /// Whether candidate `x` replaces the current value `s`.
    fn take<T: Element>(x: T, s: T) -> bool;
}

/// `min`/`argmin`: NaN wins (NumPy propagates it).
pub(super) struct MinProp;
/// `max`/`argmax`.
pub(super) struct MaxProp;
/// `nanmin`/`nanargmin`: NaN is skipped; the state is NaN until a number is seen.
pub(super) struct MinSkip;
/// `nanmax`/`nanargmax`.
pub(super) struct MaxSkip;

fn top<T: Element>() -> T {
    match T::DTYPE {
        DType::Bool => T::from_bool(true),
        DType::I32 => T::from_i64(i64::from(i32::MAX)),
        DType::I64 => T::from_i64(i64::MAX),
        DType::F32 | DType::F64 => T::from_f64(f64::INFINITY),
    }
}

fn bottom<T: Element>() -> T {
    match T::DTYPE {
        DType::Bool => T::from_bool(false),
        DType::I32 => T::from_i64(i64::from(i32::MIN)),
        DType::I64 => T::from_i64(i64::MIN),
        DType::F32 | DType::F64 => T::from_f64(f64::NEG_INFINITY),
    }
}

impl Rule for MinProp {
    const SKIP_NAN: bool = false;
    fn init<T: Element>() -> T {
        top()
    }
    #[inline(always)]
    fn take<T: Element>(x: T, s: T) -> bool {
        x < s || x.is_nan()
    }
}

impl Rule for MaxProp {
    const SKIP_NAN: bool = false;
    fn init<T: Element>() -> T {
        bottom()
    }
    #[inline(always)]
    fn take<T: Element>(x: T, s: T) -> bool {
        x > s || x.is_nan()
    }
}

impl Rule for MinSkip {
    const SKIP_NAN: bool = true;
    fn init<T: Element>() -> T {
        if T::DTYPE.is_float() {
            T::from_f64(f64::NAN)
        } else {
            top()
        }
    }
    #[inline(always)]
    fn take<T: Element>(x: T, s: T) -> bool {
        x < s || s.is_nan()
    }
}

impl Rule for MaxSkip {
    const SKIP_NAN: bool = true;
    fn init<T: Element>() -> T {
        if T::DTYPE.is_float() {
            T::from_f64(f64::NAN)
        } else {
            bottom()
        }
    }
    #[inline(always)]
    fn take<T: Element>(x: T, s: T) -> bool {
        x > s || s.is_nan()
    }
}

/// Run `$body` with `$R` bound to the [`Rule`] of a min/max/arg op.
macro_rules! with_rule {
    ($op:expr, $R:ident => $body:expr) => {
        match $op {
            $crate::kernel::reduce::ReduceOp::Min | $crate::kernel::reduce::ReduceOp::ArgMin => {
                type $R = $crate::kernel::reduce::rule::MinProp;
                $body
            }
            $crate::kernel::reduce::ReduceOp::Max | $crate::kernel::reduce::ReduceOp::ArgMax => {
                type $R = $crate::kernel::reduce::rule::MaxProp;
                $body
            }
            $crate::kernel::reduce::ReduceOp::NanMin
            | $crate::kernel::reduce::ReduceOp::NanArgMin => {
                type $R = $crate::kernel::reduce::rule::MinSkip;
                $body
            }
            _ => {
                type $R = $crate::kernel::reduce::rule::MaxSkip;
                $body
            }
        }
    };
}
pub(super) use with_rule;

/// Whether candidate (`x` at index `i`) replaces the current best (`s` at `j >= 0`):
/// strictly better, or equal (both NaN counts as equal) at a lower index.
#[inline(always)]
pub(super) fn arg_take<T: Element, R: Rule>(x: T, i: i64, s: T, j: i64) -> bool {
    if x.is_nan() && s.is_nan() {
        return i < j;
    }
    R::take(x, s) || (x == s && i < j)
}
