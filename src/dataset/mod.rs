//! Labelled arrays with xarray's data model and names: `DataArray` and
//! `Dataset` (named dims, coordinates, attributes), over chunked arrays.
//!
//! Under construction (issue 4); `time` holds the CF calendars.

pub mod time;
