//! Builders for `oai-builders`: one per struct a request reaches.
//!
//! A builder wraps the value it builds. Its `new` takes the required fields,
//! so none can be forgotten; every field has a setter (taking `impl Into<_>`
//! where a conversion is natural), list fields an appender, and `build`
//! validates against the spec's constraints.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::facade::qualified;
use super::model::{Field, Kind, Model, Ty};
use super::validate::unalias;
use crate::Result;

/// Method names a builder defines itself, which no setter may take.
const RESERVED: &[&str] = &["new", "build", "into_inner", "as_inner"];

/// The name of the builder of `name`.
pub fn builder_name(name: &str) -> String {
    format!("{name}Builder")
}

/// The parameter type and conversion of a value of type `ty`: numbers and
/// booleans are taken as they are (so integer literals infer), the rest
/// through `Into`.
fn param(model: &Model<'_>, ty: &Ty) -> (String, &'static str) {
    let text = qualified(ty);
    match unalias(model, ty) {
        Ty::Bool | Ty::I64 | Ty::U64 | Ty::F64 => (text, ""),
        _ => (format!("impl Into<{text}>"), ".into()"),
    }
}

/// The value stored in the field from the argument `arg`.
fn store(model: &Model<'_>, f: &Field, arg: &str) -> String {
    let (_, conv) = param(model, &f.ty);
    let mut v = format!("{arg}{conv}");
    if f.boxed {
        v = format!("Box::new({v})");
    }
    if f.option {
        v = format!("Some({v})");
    }
    v
}

/// The singular of a list field's name, for its appender.
fn singular(name: &str) -> Option<String> {
    let plain = name.trim_start_matches("r#");
    if let Some(stem) = plain.strip_suffix("ies") {
        return Some(format!("{stem}y"));
    }
    if plain.ends_with("ss") || plain.ends_with("us") {
        return None;
    }
    plain
        .strip_suffix('s')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Whether `f` is filled by the builder without the caller's help.
fn automatic(f: &Field) -> bool {
    f.option || matches!(f.ty, Ty::Const(_))
}

/// The builder of the struct `name`, or `None` when `name` is not a struct.
pub fn builder(model: &Model<'_>, name: &str, validated: bool) -> Result<Option<Vec<String>>> {
    let Some(t) = model.types.get(name) else {
        return Ok(None);
    };
    let Kind::Struct(fields) = &t.kind else {
        return Ok(None);
    };
    let b = builder_name(name);
    if model.types.contains_key(&b) {
        return Err(format!("builder name {b} is also a generated type"));
    }
    let taken: BTreeSet<&str> = fields
        .iter()
        .map(|f| f.name.trim_start_matches("r#"))
        .collect();
    for r in RESERVED {
        if taken.contains(r) {
            return Err(format!("{name}: field `{r}` clashes with a builder method"));
        }
    }
    let required: Vec<&Field> = fields.iter().filter(|f| !automatic(f)).collect();

    let mut out = String::new();
    let mut items = Vec::new();
    let req_list = if required.is_empty() {
        "no required fields".to_owned()
    } else {
        let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.wire)).collect();
        format!("required: {}", names.join(", "))
    };
    let _ = writeln!(
        out,
        "/// Builds a [`{name}`] ({req_list}).\n#[derive(Debug, Clone, PartialEq)]\n#[must_use = \"a builder does nothing until `build` is called\"]\npub struct {b}({name});\n"
    );
    items.push(std::mem::take(&mut out));
    // new
    let mut args = Vec::new();
    let mut inits = Vec::new();
    // The required fields from the arguments; every other field (options,
    // constants, `extra`) from the type's empty value, not spelled out.
    for f in fields.iter().filter(|f| !automatic(f)) {
        let arg = f.name.clone();
        let (p, _) = param(model, &f.ty);
        args.push(format!("{arg}: {p}"));
        inits.push(format!("{}: {}", f.name, store(model, f, &arg)));
    }
    inits.push("..oai_types::tolerant::Empty::empty()".to_owned());
    let _ = writeln!(
        out,
        "impl {b} {{\n/// Starts from the required fields; the others are unset.\npub fn new({}) -> Self {{\nSelf({name} {{ {} }})\n}}\n",
        args.join(", "),
        inits.join(", ")
    );
    for f in fields {
        if matches!(f.ty, Ty::Const(_)) {
            continue;
        }
        let (p, _) = param(model, &f.ty);
        let mut doc = format!("/// Sets `{}`.", f.wire);
        for line in f.doc.iter().skip(1) {
            let _ = write!(doc, "\n/// {}", line.replace('\n', " "));
        }
        if f.doc.iter().any(|l| l == "Deprecated.") {
            doc.push_str("\n#[deprecated]");
        }
        let _ = writeln!(
            out,
            "{doc}\npub fn {}(mut self, value: {p}) -> Self {{\nself.0.{} = {};\nself\n}}\n",
            f.name,
            f.name,
            store(model, f, "value")
        );
        if let Ty::Vec(item) = unalias(model, &f.ty)
            && !f.boxed
            && let Some(one) = singular(&f.name)
            && !taken.contains(one.as_str())
            && !RESERVED.contains(&one.as_str())
            && !matches!(*item, Ty::Const(_))
        {
            let (ip, conv) = param(model, &item);
            let target = if f.option {
                format!("self.0.{}.get_or_insert_with(Vec::new)", f.name)
            } else {
                format!("self.0.{}", f.name)
            };
            let _ = writeln!(
                out,
                "/// Appends one item to `{}`.\npub fn {one}(mut self, item: {ip}) -> Self {{\n{target}.push(item{conv});\nself\n}}\n",
                f.wire
            );
        }
    }
    let check = if validated {
        "crate::Validate::validate(&self.0)?;\n"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "/// The value as built so far, unchecked.\npub fn as_inner(&self) -> &{name} {{\n&self.0\n}}\n\n\
         /// The value as built so far, without validation.\npub fn into_inner(self) -> {name} {{\nself.0\n}}\n\n\
         /// Checks the value against the spec's constraints and returns it.\n///\n/// # Errors\n/// Every violated constraint, each with its field path.\n\
         pub fn build(self) -> Result<{name}, crate::ValidationError> {{\n{check}Ok(self.0)\n}}\n}}\n"
    );
    items.push(std::mem::take(&mut out));
    items.push(format!(
        "impl From<{name}> for {b} {{\nfn from(value: {name}) -> Self {{\nSelf(value)\n}}\n}}\n\n"
    ));
    // What lets a call take the builder itself: the value unchecked (the
    // call checks it once, when it is sent).
    items.push(format!(
        "impl From<{b}> for {name} {{\nfn from(builder: {b}) -> Self {{\nbuilder.0\n}}\n}}\n\n"
    ));
    if required.is_empty() {
        items.push(format!(
            "impl Default for {b} {{\nfn default() -> Self {{\nSelf::new()\n}}\n}}\n\n"
        ));
    }
    Ok(Some(items))
}
