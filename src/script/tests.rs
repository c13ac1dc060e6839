//! Scripts evaluated in this process (one rank): the language's bindings
//! against the library's own results and the fixtures' known labels.

use super::{run, Mode, Script, ScriptError, SetValue};
use crate::session::{Config, Session};
use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// Output shared with the test.
#[derive(Clone, Default)]
struct Out(Rc<RefCell<Vec<u8>>>);

impl Write for Out {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn session() -> Rc<Session> {
    Rc::new(
        Session::new(Config {
            threads: 1,
            ..Config::default()
        })
        .expect("a one-rank session"),
    )
}

fn eval_in(mode: Mode, text: &str, vars: &[(String, SetValue)]) -> Result<String, ScriptError> {
    let out = Out::default();
    let script = Script::new("test.rhai", text);
    run(&script, vars, mode, session(), Box::new(out.clone()))?;
    let bytes = out.0.borrow().clone();
    Ok(String::from_utf8(bytes).expect("utf-8 output"))
}

fn eval(text: &str) -> String {
    eval_in(Mode::Run, text, &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn fixture(p: &str) -> String {
    format!("{}/tests/fixtures/data/{p}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_missing_property_falls_back_to_the_string_indexer() {
    let path = fixture("nc/air_small.nc");
    let out = eval(&format!(
        "let ds = open_dataset(\"{path}\");\n\
         print(ds.air.dims);\n\
         print(ds[\"air\"].dims == ds.air.dims);\n\
         print(ds.air.lat.len());\n\
         print(ds.data_vars);"
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"["time", "lat", "lon"]"#, "{out}");
    assert_eq!(lines[1], "true", "{out}");
    assert_eq!(lines[3], r#"["air", "rh"]"#, "{out}");
}

#[test]
fn values_match_the_library() {
    let out = eval(
        "let x = random([60, 40], [25, 15], 7);\n\
         print((x + 1.5).mean(0).sum().item());\n\
         print(x.std().item());",
    );
    let x = crate::array::random::random(&[60, 40], [25, 15], 7).unwrap();
    let a = (&x + 1.5)
        .mean(Some(0), false)
        .unwrap()
        .sum(None, false)
        .unwrap()
        .compute()
        .unwrap()
        .to_f64()[[]];
    let b = x.std(None, 0, false).unwrap().compute().unwrap().to_f64()[[]];
    assert_eq!(out, format!("{a:?}\n{b:?}\n"));
}

#[test]
fn selections_take_maps_with_xarray_keywords() {
    let path = fixture("nc/air_small.nc");
    let out = eval(&format!(
        "let a = open_dataset(\"{path}\").air;\n\
         print(a.sel(#{{lat: 52.4, method: \"nearest\"}}).dims);\n\
         print(a.isel(#{{time: 0, lon: 0..2}}).shape);\n\
         print(a.isel(#{{lon: slice((), (), 2)}}).sizes);"
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], r#"["time", "lon"]"#, "{out}");
    assert_eq!(lines[1].split(", ").count(), 2, "{out}");
    assert!(lines[1].ends_with(", 2]"), "{out}");
}

#[test]
fn errors_carry_the_line_and_column_and_the_crate_message() {
    let e = eval_in(
        Mode::Run,
        "let x = zeros([4, 4], 2);\n\nlet y = x.mean(5);\n",
        &[],
    )
    .unwrap_err();
    assert_eq!((e.line(), e.column()), (Some(3), Some(11)), "{e}");
    assert!(e.message().starts_with("plan error: "), "{e}");
    let shown = e.to_string();
    assert!(shown.starts_with("test.rhai:3:11: plan error:"), "{shown}");
    assert!(shown.contains("3 | let y = x.mean(5);"), "{shown}");
    let e = eval_in(
        Mode::Run,
        "let x = zeros([2]);\nx.transpose(1, 2, 3, 4);",
        &[],
    )
    .unwrap_err();
    assert!(e.message().contains("expected:"), "{e}");
    assert!(e.message().contains("x.transpose(axes?)"), "{e}");
}

#[test]
fn set_variables_are_defined() {
    let vars = vec![
        ("n".to_string(), SetValue::Int(41)),
        ("name".to_string(), SetValue::Str("air".into())),
    ];
    let out = eval_in(Mode::Run, "print(n + 1); print(name + \"!\");", &vars).unwrap();
    assert_eq!(out, "42\nair!\n");
}

#[test]
fn explain_prints_plans_and_computes_nothing() {
    let out = eval_in(
        Mode::Explain,
        "let x = ones([100, 100], 50);\n\
         print(\"hidden\");\n\
         let m = (x + x.t()).mean().compute();\n\
         print(m.item());",
        &[],
    )
    .unwrap();
    assert!(
        out.starts_with("[1] line 3: compute chunkwise.Array<"),
        "{out}"
    );
    assert!(out.contains("plan: "), "{out}");
    assert!(out.contains("projected peak memory per rank"), "{out}");
    assert!(!out.contains("hidden") && !out.contains("nan"), "{out}");
}
