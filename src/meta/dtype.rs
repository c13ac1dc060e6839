//! Element types and NumPy's promotion rules.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The element type of an array.
///
/// Promotion follows NumPy 2 (NEP 50): `i32 + i64 -> i64`, `i32 + f32 -> f64`,
/// `i64 + f32 -> f64`, `f32 + f64 -> f64`, `bool` promotes to anything; a Python-style
/// scalar operand is "weak" and takes the array's type (see [`DType::promote_scalar`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum DType {
    Bool,
    I32,
    I64,
    F32,
    F64,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool => 1,
            DType::I32 | DType::F32 => 4,
            DType::I64 | DType::F64 => 8,
        }
    }
    /// NumPy's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }
    /// Parse NumPy's names (`"float64"`, `"f8"`, `"int32"`, `"bool"`, ...).
    pub fn parse(s: &str) -> Option<DType> {
        Some(match s {
            "bool" | "?" | "b1" => DType::Bool,
            "int32" | "i4" | "i32" => DType::I32,
            "int64" | "i8" | "i64" | "int" => DType::I64,
            "float32" | "f4" | "f32" => DType::F32,
            "float64" | "f8" | "f64" | "float" => DType::F64,
            _ => return None,
        })
    }
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
    pub fn is_int(self) -> bool {
        matches!(self, DType::I32 | DType::I64)
    }
    /// The result type of a binary operation between two arrays.
    pub fn promote(a: DType, b: DType) -> DType {
        use DType::*;
        if a == b {
            return a;
        }
        match (a, b) {
            (Bool, x) | (x, Bool) => x,
            (I32, I64) | (I64, I32) => I64,
            (F32, F64) | (F64, F32) => F64,
            (I32 | I64, F32) | (F32, I32 | I64) => F64,
            (I32 | I64, F64) | (F64, I32 | I64) => F64,
            _ => F64,
        }
    }
    /// The result type of an array of type `self` combined with a scalar.
    /// A float scalar with an integer/bool array gives `f64`; otherwise the array's
    /// type wins (NEP 50 "weak" scalars).
    pub fn promote_scalar(self, scalar_is_float: bool) -> DType {
        match (self, scalar_is_float) {
            (DType::Bool | DType::I32 | DType::I64, true) => DType::F64,
            (DType::Bool, false) => DType::I64,
            (d, _) => d,
        }
    }
    /// The type of a floating-point result (`mean`, `sqrt`, true division).
    pub fn to_float(self) -> DType {
        match self {
            DType::F32 => DType::F32,
            _ => DType::F64,
        }
    }
    /// The type of `sum`: integers and bools accumulate in `int64`.
    pub fn sum_type(self) -> DType {
        match self {
            DType::Bool | DType::I32 | DType::I64 => DType::I64,
            d => d,
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn promotion_matches_numpy() {
        use DType::*;
        // Values taken from numpy.result_type on NumPy 2.
        assert_eq!(DType::promote(I32, F32), F64);
        assert_eq!(DType::promote(I64, F32), F64);
        assert_eq!(DType::promote(F32, F64), F64);
        assert_eq!(DType::promote(Bool, I32), I32);
        assert_eq!(DType::promote(I32, I64), I64);
        assert_eq!(F32.promote_scalar(true), F32);
        assert_eq!(I32.promote_scalar(true), F64);
        assert_eq!(I32.promote_scalar(false), I32);
    }
}
