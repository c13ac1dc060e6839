//! xarray-like text summaries of labelled arrays (`print`, `Debug`): dims,
//! coordinates, dtype, chunks and attributes; no values are computed.

use super::dataarray::DataArray;
use super::Attrs;
use std::fmt::Write;

/// At most this many labels of a coordinate are shown (first and last).
const SHOWN: usize = 3;

pub(crate) fn data_array(da: &DataArray) -> String {
    let mut s = String::new();
    let sizes: Vec<String> = da
        .sizes()
        .iter()
        .map(|(d, n)| format!("{d}: {n}"))
        .collect();
    let _ = writeln!(
        s,
        "<chunkwise.DataArray {}({})>",
        da.name().map(|n| format!("'{n}' ")).unwrap_or_default(),
        sizes.join(", ")
    );
    let chunks: Vec<String> = da
        .data()
        .chunks()
        .iter()
        .map(|c| match c.first() {
            Some(&f) if c.iter().all(|&x| x == f) || c.len() == 1 => f.to_string(),
            _ => format!("{c:?}"),
        })
        .collect();
    let _ = writeln!(
        s,
        "chunked array<dtype={}, chunksize=({})>",
        da.dtype(),
        chunks.join(", ")
    );
    coords(&mut s, da);
    attrs(&mut s, da.attrs());
    s
}

fn coords(s: &mut String, da: &DataArray) {
    if da.coords().0.is_empty() {
        return;
    }
    let _ = writeln!(s, "Coordinates:");
    for (name, c) in da.coords().iter() {
        let star = if c.dims.len() == 1 && c.dims[0] == name {
            "*"
        } else {
            " "
        };
        let n = c.values.len();
        let mut shown: Vec<String> = (0..n.min(SHOWN)).map(|i| c.values.label(i)).collect();
        if n > 2 * SHOWN {
            shown.push("...".into());
            shown.extend((n - SHOWN..n).map(|i| c.values.label(i)));
        } else {
            shown.extend((SHOWN.min(n)..n).map(|i| c.values.label(i)));
        }
        let _ = writeln!(
            s,
            "  {star} {name:<8} ({}) {}",
            c.dims.join(", "),
            shown.join(" ")
        );
    }
}

pub(crate) fn attrs(s: &mut String, attrs: &Attrs) {
    if attrs.is_empty() {
        return;
    }
    let _ = writeln!(s, "Attributes:");
    for a in attrs.iter() {
        let _ = writeln!(s, "    {}: {}", a.name, a.value);
    }
}
