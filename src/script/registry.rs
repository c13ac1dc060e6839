//! Registering functions with the Rhai engine together with how to call them,
//! so that a call that matches nothing can say what was expected, and
//! `help("name")` can list it.

use rhai::{Engine, RhaiNativeFunc};
use std::collections::BTreeMap;

/// How each function and property is called, by name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Usages {
    by_name: BTreeMap<String, Vec<&'static str>>,
    /// Properties by type name.
    props: BTreeMap<&'static str, Vec<String>>,
}

impl Usages {
    /// The ways `name` can be called.
    pub(crate) fn of(&self, name: &str) -> &[&'static str] {
        self.by_name.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The properties of type `ty`.
    pub(crate) fn props(&self, ty: &str) -> &[String] {
        self.props.get(ty).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every name with a usage.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    fn add(&mut self, name: &str, usage: &'static str) {
        let v = self.by_name.entry(name.to_string()).or_default();
        if !usage.is_empty() && !v.contains(&usage) {
            v.push(usage);
        }
    }
}

/// The engine being bound, and the usages recorded so far.
pub(crate) struct Binder<'a> {
    pub(crate) engine: &'a mut Engine,
    pub(crate) usages: &'a mut Usages,
}

impl Binder<'_> {
    /// Register `f` as `name`; `usage` shows how to call it (`""`: as the
    /// previous registration of `name` said).
    pub(crate) fn func<
        A: 'static,
        const N: usize,
        const X: bool,
        R: Clone + 'static,
        const F: bool,
    >(
        &mut self,
        name: &str,
        usage: &'static str,
        f: impl RhaiNativeFunc<A, N, X, R, F> + 'static,
    ) -> &mut Self {
        self.usages.add(name, usage);
        self.engine.register_fn(name, f);
        self
    }

    /// Register a read-only property `name` of type `T` (named `ty` in
    /// scripts): Rhai calls a property getter `get$name`.
    pub(crate) fn prop<A: 'static, const X: bool, R: Clone + 'static, const F: bool>(
        &mut self,
        ty: &'static str,
        name: &str,
        f: impl RhaiNativeFunc<A, 1, X, R, F> + 'static,
    ) -> &mut Self {
        let props = self.usages.props.entry(ty).or_default();
        if !props.iter().any(|p| p == name) {
            props.push(name.to_string());
        }
        self.engine.register_fn(format!("get${name}"), f);
        self
    }
}
