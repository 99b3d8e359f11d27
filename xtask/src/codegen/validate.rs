//! `Validate` implementations for `oai-builders`, from the spec's constraints.
//!
//! Every request body and parameter set gets an implementation; the types
//! they reach get one when something in them can be checked (a constraint,
//! or a type below that has one). Enum values are not checked: a value the
//! API added later is sent as the caller wrote it (`Unknown(..)`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::areas;
use super::builders;
use super::emit::{HEADER, file_of};
use super::model::{Checks, Kind, Model, Ty};
use super::ops::Op;
use crate::Result;

/// What the validator enforces, for the coverage report.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub roots: usize,
    pub impls: usize,
    pub constraints: usize,
    pub builders: usize,
}

pub struct Output {
    pub files: Vec<(String, String)>,
    pub stats: Stats,
}

/// Follows type aliases to the type they name.
pub fn unalias(model: &Model<'_>, ty: &Ty) -> Ty {
    let mut cur = ty.clone();
    for _ in 0..32 {
        match &cur {
            Ty::Named(n) => match model.types.get(n).map(|t| &t.kind) {
                Some(Kind::Alias(t)) => cur = t.clone(),
                _ => break,
            },
            _ => break,
        }
    }
    cur
}

/// The Rust names of the request types of `ops`.
pub fn request_roots(model: &Model<'_>, ops: &[Op]) -> BTreeSet<String> {
    let mut roots = BTreeSet::new();
    for op in ops {
        let wires = op
            .bodies
            .iter()
            .filter_map(|b| b.schema.as_ref())
            .chain(op.params_schema.as_ref());
        for w in wires {
            if let Some(n) = model.components.get(w)
                && let Ty::Named(n) = unalias(model, &Ty::Named(n.clone()))
            {
                roots.insert(n);
            }
        }
    }
    roots
}

fn named_in(ty: &Ty, out: &mut Vec<String>) {
    match ty {
        Ty::Named(n) => out.push(n.clone()),
        Ty::Vec(i) | Ty::Map(i) => named_in(i, out),
        _ => {}
    }
}

fn children(model: &Model<'_>, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    match model.types.get(name).map(|t| &t.kind) {
        Some(Kind::Struct(fs)) => fs.iter().for_each(|f| named_in(&f.ty, &mut out)),
        Some(Kind::Tagged { variants, .. } | Kind::Untagged(variants)) => {
            variants.iter().for_each(|v| named_in(&v.ty, &mut out));
        }
        Some(Kind::Alias(t)) => named_in(t, &mut out),
        _ => {}
    }
    out
}

struct Gen<'m, 'a> {
    model: &'m Model<'a>,
    needs: BTreeSet<String>,
    patterns: BTreeMap<String, usize>,
    constraints: usize,
}

impl Gen<'_, '_> {
    fn ty_needs(&self, ty: &Ty, checks: &Checks) -> bool {
        if !checks.is_empty() {
            return true;
        }
        match unalias(self.model, ty) {
            Ty::Named(n) => self.needs.contains(&n),
            Ty::Vec(i) | Ty::Map(i) => self.ty_needs(&i, &Checks::default()),
            _ => false,
        }
    }

    fn type_needs(&self, name: &str) -> bool {
        let Some(t) = self.model.types.get(name) else {
            return false;
        };
        match &t.kind {
            Kind::Struct(fs) => {
                t.alternatives.is_some() || fs.iter().any(|f| self.ty_needs(&f.ty, &f.checks))
            }
            // Any value is sent, a known one or an `Unknown(..)` the caller
            // wrote: the API adds values before this crate knows them.
            Kind::Enum(_) => false,
            Kind::Tagged { variants, .. } | Kind::Untagged(variants) => {
                variants.iter().any(|v| self.ty_needs(&v.ty, &v.checks))
            }
            Kind::Alias(_) => false,
        }
    }

    fn pattern(&mut self, source: &str) -> String {
        let n = self.patterns.len();
        let i = *self.patterns.entry(source.to_owned()).or_insert(n);
        format!("PATTERN_{i}")
    }

    fn bound(v: Option<(f64, bool)>) -> String {
        match v {
            None => "v::Bound::None".into(),
            Some((b, false)) => format!("v::Bound::Inclusive({b:?})"),
            Some((b, true)) => format!("v::Bound::Exclusive({b:?})"),
        }
    }

    fn opt(v: Option<u64>) -> String {
        match v {
            Some(n) => format!("Some({n})"),
            None => "None".into(),
        }
    }

    /// Statements checking the value `expr` (an expression of type `&T`) at
    /// the path `at` (an expression of type `&Path`).
    fn value(&mut self, expr: &str, ty: &Ty, c: &Checks, at: &str, depth: usize) -> String {
        let mut s = String::new();
        let ty = unalias(self.model, ty);
        // A credential is checked as the text it holds.
        let secret;
        let expr = match &ty {
            Ty::Extern(n) if *n == super::secrets::SECRET_TYPE => {
                secret = format!("{}.expose_secret()", expr.strip_prefix('&').unwrap_or(expr));
                secret.as_str()
            }
            _ => expr,
        };
        match &ty {
            Ty::String | Ty::Extern(super::secrets::SECRET_TYPE) => {
                if c.min_len.is_some() || c.max_len.is_some() {
                    self.constraints +=
                        usize::from(c.min_len.is_some()) + usize::from(c.max_len.is_some());
                    let _ = writeln!(
                        s,
                        "v::str_len({expr}, {}, {}, {at}, out);",
                        Self::opt(c.min_len),
                        Self::opt(c.max_len)
                    );
                }
                if let Some(p) = &c.pattern {
                    self.constraints += 1;
                    let name = self.pattern(p);
                    let _ = writeln!(s, "v::pattern({expr}, &{name}, {at}, out);");
                }
            }
            Ty::I64 | Ty::U64 | Ty::F64 if c.min.is_some() || c.max.is_some() => {
                self.constraints += usize::from(c.min.is_some()) + usize::from(c.max.is_some());
                let (func, val) = match ty {
                    Ty::F64 => ("number", format!("*{expr}")),
                    _ => ("integer", format!("i128::from(*{expr})")),
                };
                let _ = writeln!(
                    s,
                    "v::{func}({val}, {}, {}, {at}, out);",
                    Self::bound(c.min),
                    Self::bound(c.max)
                );
            }
            Ty::Vec(inner) => {
                if c.min_items.is_some() || c.max_items.is_some() {
                    self.constraints +=
                        usize::from(c.min_items.is_some()) + usize::from(c.max_items.is_some());
                    let _ = writeln!(
                        s,
                        "v::items(({expr}).len(), {}, {}, {at}, out);",
                        Self::opt(c.min_items),
                        Self::opt(c.max_items)
                    );
                }
                let ic = c.items.as_deref().cloned().unwrap_or_default();
                if self.ty_needs(inner, &ic) {
                    let (x, a) = (format!("x{depth}"), format!("at{depth}"));
                    let body = self.value(&x, inner, &ic, &format!("&{a}"), depth + 1);
                    let _ = writeln!(
                        s,
                        "if v::enter({at}, out) {{ for (i, {x}) in ({expr}).iter().enumerate() {{ let {a} = {at}.index(i);\n{body}}} }}"
                    );
                }
            }
            Ty::Map(inner) => {
                if c.min_props.is_some() || c.max_props.is_some() {
                    self.constraints +=
                        usize::from(c.min_props.is_some()) + usize::from(c.max_props.is_some());
                    let _ = writeln!(
                        s,
                        "v::entries(({expr}).len(), {}, {}, {at}, out);",
                        Self::opt(c.min_props),
                        Self::opt(c.max_props)
                    );
                }
                if let Some(n) = c.key_max_len {
                    self.constraints += 1;
                    let _ = writeln!(
                        s,
                        "for k in ({expr}).keys() {{ v::str_len(k, None, Some({n}), &{at}.key(k), out); }}"
                    );
                }
                let vc = c.values.as_deref().cloned().unwrap_or_default();
                if self.ty_needs(inner, &vc) {
                    let (x, a) = (format!("x{depth}"), format!("at{depth}"));
                    let body = self.value(&x, inner, &vc, &format!("&{a}"), depth + 1);
                    let _ = writeln!(
                        s,
                        "if v::enter({at}, out) {{ for (k, {x}) in ({expr}).iter() {{ let {a} = {at}.key(k);\n{body}}} }}"
                    );
                }
            }
            Ty::Named(n) if self.needs.contains(n) => {
                let _ = writeln!(s, "Validate::check({expr}, {at}, out);");
            }
            _ => {}
        }
        s
    }

    fn impl_for(&mut self, name: &str) -> String {
        let model = self.model;
        let Some(t) = model.types.get(name) else {
            return String::new();
        };
        let mut body = String::new();
        match &t.kind {
            Kind::Struct(fields) => {
                for f in fields {
                    if !self.ty_needs(&f.ty, &f.checks) {
                        continue;
                    }
                    let wire = &f.wire;
                    if f.option {
                        let code = self.value("x", &f.ty, &f.checks, "&at", 0);
                        let _ = writeln!(
                            body,
                            "if let Some(x) = &self.{} {{ let at = at.field({wire:?});\n{code}}}",
                            f.name
                        );
                    } else {
                        let code =
                            self.value(&format!("&self.{}", f.name), &f.ty, &f.checks, "&at", 0);
                        let _ = writeln!(body, "{{ let at = at.field({wire:?});\n{code}}}");
                    }
                }
                if let Some((exclusive, sets)) = &t.alternatives {
                    self.constraints += 1;
                    let mut present = Vec::new();
                    let mut names = Vec::new();
                    for set in sets {
                        let mut all = Vec::new();
                        for wire in set {
                            match fields.iter().find(|f| f.wire == *wire) {
                                Some(f) if f.option => {
                                    all.push(format!("self.{}.is_some()", f.name))
                                }
                                Some(_) => all.push("true".to_owned()),
                                None => all.push("false".to_owned()),
                            }
                        }
                        present.push(all.join(" && "));
                        names.push(format!("{:?}", set.join(" + ")));
                    }
                    let _ = writeln!(
                        body,
                        "v::alternatives(&[{}], &[{}], {exclusive}, at, out);",
                        present.join(", "),
                        names.join(", ")
                    );
                }
                if !body.is_empty() {
                    body = format!("if !v::enter(at, out) {{ return; }}\n{body}");
                }
            }
            Kind::Tagged { variants, .. } | Kind::Untagged(variants) => {
                let mut arms = String::new();
                for v in variants {
                    if !self.ty_needs(&v.ty, &v.checks) {
                        continue;
                    }
                    let code = self.value("x", &v.ty, &v.checks, "at", 0);
                    let _ = writeln!(arms, "Self::{}(x) => {{\n{code}}}", v.name);
                }
                if !arms.is_empty() {
                    let _ = writeln!(body, "match self {{\n{arms}_ => {{}}\n}}");
                }
            }
            _ => {}
        }
        let params = if body.is_empty() {
            "_at: &Path<'_>, _out: &mut Violations"
        } else {
            "at: &Path<'_>, out: &mut Violations"
        };
        format!("impl Validate for {name} {{\nfn check(&self, {params}) {{\n{body}}}\n}}\n\n")
    }
}

/// Parses the simple regular expressions the spec uses into pieces.
fn compile_pattern(source: &str) -> Result<String> {
    let err = |why: &str| format!("pattern {source:?}: {why} (extend compile_pattern)");
    let body = source
        .strip_prefix('^')
        .and_then(|s| s.strip_suffix('$'))
        .ok_or_else(|| err("not anchored at both ends"))?;
    let chars: Vec<char> = body.chars().collect();
    let mut i = 0;
    let mut pieces = Vec::new();
    let escaped = |c: char| -> Result<char> {
        if c.is_ascii_alphanumeric() {
            Err(err("escape classes like \\d are not supported"))
        } else {
            Ok(c)
        }
    };
    while i < chars.len() {
        let mut set: Vec<(char, char)> = Vec::new();
        match chars[i] {
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    return Err(err("negated classes are not supported"));
                }
                let mut items = Vec::new();
                while i < chars.len() && chars[i] != ']' {
                    let c = if chars[i] == '\\' {
                        i += 1;
                        escaped(*chars.get(i).ok_or_else(|| err("dangling escape"))?)?
                    } else {
                        chars[i]
                    };
                    items.push(c);
                    i += 1;
                }
                if i >= chars.len() {
                    return Err(err("unclosed class"));
                }
                i += 1;
                let mut k = 0;
                while k < items.len() {
                    if k + 2 < items.len() && items[k + 1] == '-' {
                        set.push((items[k], items[k + 2]));
                        k += 3;
                    } else {
                        set.push((items[k], items[k]));
                        k += 1;
                    }
                }
            }
            '\\' => {
                i += 1;
                let c = escaped(*chars.get(i).ok_or_else(|| err("dangling escape"))?)?;
                set.push((c, c));
                i += 1;
            }
            '(' | ')' | '|' | '.' | '*' | '+' | '?' | '{' => {
                return Err(err("groups, alternation and wildcards are not supported"));
            }
            c => {
                set.push((c, c));
                i += 1;
            }
        }
        let (min, max) = match chars.get(i) {
            Some('+') => {
                i += 1;
                (1u64, None)
            }
            Some('*') => {
                i += 1;
                (0, None)
            }
            Some('?') => {
                i += 1;
                (0, Some(1))
            }
            Some('{') => {
                let end = chars[i..]
                    .iter()
                    .position(|c| *c == '}')
                    .ok_or_else(|| err("unclosed repetition"))?;
                let inner: String = chars[i + 1..i + end].iter().collect();
                i += end + 1;
                let parse = |t: &str| t.trim().parse::<u64>().map_err(|_| err("bad repetition"));
                match inner.split_once(',') {
                    None => {
                        let n = parse(&inner)?;
                        (n, Some(n))
                    }
                    Some((a, "")) => (parse(a)?, None),
                    Some((a, b)) => (parse(a)?, Some(parse(b)?)),
                }
            }
            _ => (1, Some(1)),
        };
        let set_text: Vec<String> = set.iter().map(|(a, b)| format!("({a:?}, {b:?})")).collect();
        pieces.push(format!(
            "v::Piece {{ set: &[{}], min: {min}, max: {} }}",
            set_text.join(", "),
            max.map_or("u32::MAX".to_owned(), |m| m.to_string())
        ));
    }
    Ok(pieces.join(", "))
}

pub fn generate(model: &Model<'_>, ops: &[Op]) -> Result<Output> {
    let roots = request_roots(model, ops);
    // Every type reachable from a request.
    let mut reach: BTreeSet<String> = BTreeSet::new();
    let mut stack: Vec<String> = roots.iter().cloned().collect();
    while let Some(n) = stack.pop() {
        if reach.insert(n.clone()) {
            stack.extend(children(model, &n));
        }
    }
    let mut g = Gen {
        model,
        needs: BTreeSet::new(),
        patterns: BTreeMap::new(),
        constraints: 0,
    };
    loop {
        let add: Vec<String> = reach
            .iter()
            .filter(|n| !g.needs.contains(*n) && g.type_needs(n))
            .cloned()
            .collect();
        if add.is_empty() {
            break;
        }
        g.needs.extend(add);
    }
    let mut by_file: BTreeMap<String, String> = BTreeMap::new();
    let prelude = "#![allow(unused_imports, unused_variables, clippy::all)]\nuse oai_types::*;\n\nuse super::patterns::*;\nuse crate::validate::{self as v, Path, Validate, Violations};\n\n";
    let mut stats = Stats {
        roots: roots.len(),
        ..Stats::default()
    };
    // Per area module, the builders of the shared types it uses.
    let mut shared_of: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for name in &reach {
        let Some(t) = model.types.get(name) else {
            continue;
        };
        if matches!(t.kind, Kind::Alias(_)) {
            continue;
        }
        let validated = roots.contains(name) || g.needs.contains(name);
        let mut code = String::new();
        if validated {
            stats.impls += 1;
            code = g.impl_for(name);
        }
        let (file, cfg) = file_of(t);
        let mut items = vec![code];
        if let Some(b) = builders::builder(model, name, validated)? {
            stats.builders += 1;
            items.extend(b);
            if file == "shared" {
                for area in &t.areas {
                    shared_of
                        .entry(areas::module(area))
                        .or_default()
                        .push(builders::builder_name(name));
                }
            }
        }
        let text = by_file
            .entry(file)
            .or_insert_with(|| format!("{HEADER}{prelude}"));
        for item in items.iter().filter(|i| !i.is_empty()) {
            if let Some(cfg) = &cfg {
                text.push_str(cfg);
                text.push('\n');
            }
            text.push_str(item);
        }
    }
    stats.constraints = g.constraints;
    for (module, names) in &shared_of {
        if let Some(text) = by_file.get_mut(module) {
            let _ = writeln!(
                text,
                "\n/// The builders of the types this area shares with others.\npub use super::shared::{{{}}};",
                names.join(", ")
            );
        }
    }

    let mut patterns = format!(
        "{HEADER}//! The patterns of the spec, compiled by the generator.\n#![allow(dead_code)]\n\nuse crate::validate as v;\n\n"
    );
    let mut sorted: Vec<(&String, &usize)> = g.patterns.iter().collect();
    sorted.sort_by_key(|(_, i)| **i);
    for (src, i) in sorted {
        let pieces = compile_pattern(src)?;
        let _ = writeln!(
            patterns,
            "/// `{src}`\npub const PATTERN_{i}: v::Pattern = v::Pattern {{ source: {src:?}, pieces: &[{pieces}] }};"
        );
    }
    let mut m = format!(
        "{HEADER}#![allow(deprecated)]\n\npub(crate) mod patterns;\nmod common;\npub use common::*;\nmod shared;\n#[allow(unused_imports)]\npub use shared::*;\n"
    );
    for area in areas::AREAS {
        let module = areas::module(area);
        if by_file.contains_key(&module) {
            let _ = writeln!(
                m,
                "/// The builders of the `{area}` area (feature `{area}`): of its own types, and of those it shares with other areas. Every one is also at the crate root.\n#[cfg(feature = {area:?})]\npub mod {module};\n#[cfg(feature = {area:?})]\npub use {module}::*;"
            );
        }
    }
    by_file
        .entry("shared".into())
        .or_insert_with(|| format!("{HEADER}{prelude}"));
    by_file
        .entry("common".into())
        .or_insert_with(|| format!("{HEADER}{prelude}"));
    let mut files: Vec<(String, String)> = by_file
        .into_iter()
        .map(|(k, v)| (format!("{k}.rs"), v))
        .collect();
    files.push(("patterns.rs".into(), patterns));
    files.push(("mod.rs".into(), m));
    Ok(Output { files, stats })
}
