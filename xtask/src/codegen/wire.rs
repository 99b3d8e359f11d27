//! The requests our builders make, one per operation and body kind, for the
//! independent validator (`cargo xtask conformance`): the builder of the body
//! type gets the required fields (values from the smallest valid sample) and
//! fills in the rest itself (constants), then `build()` validates.

use std::fmt::Write;

use super::builders::builder_name;
use super::emit::HEADER;
use super::facade::{qualified, struct_fields};
use super::model::{Kind, Model, Ty};
use super::ops::{BodyKind, Op};
use super::optests::raw;
use super::samples::Sampler;
use super::validate::unalias;
use crate::Result;

/// Whether values of `t` may be files (a file, a list of them, or a union
/// with a file variant), which the validator leaves to the multipart layer.
fn is_file(model: &Model<'_>, t: &Ty) -> bool {
    match unalias(model, t) {
        Ty::File => true,
        Ty::Vec(i) => is_file(model, &i),
        Ty::Named(n) => match model.types.get(&n).map(|t| &t.kind) {
            Some(Kind::Untagged(vs) | Kind::Tagged { variants: vs, .. }) => {
                vs.iter().any(|v| matches!(v.ty, Ty::File))
            }
            _ => false,
        },
        _ => false,
    }
}

/// `tests/generated/wire.rs` of `oai-builders`: `requests()` lists
/// `(file stem, JSON)` pairs; multipart bodies leave their file fields out,
/// as the validator judges the other fields only.
pub fn generate(model: &Model<'_>, ops: &[Op]) -> Result<String> {
    let sampler = Sampler::new(model.spec());
    let mut out = format!(
        "{HEADER}//! Requests built by the builders, one per operation and body kind.\n#![allow(deprecated, unused_mut, clippy::all)]\n\nuse serde_json::Value;\n\n/// `(file stem, request JSON)` for every operation with a JSON or multipart body.\npub fn requests() -> Vec<(&'static str, Value)> {{\nlet mut out = Vec::new();\n"
    );
    for op in ops {
        for body in &op.bodies {
            let label = match (&body.kind, op.bodies.len()) {
                (BodyKind::Raw(_), _) => continue,
                (BodyKind::Multipart, n) if n > 1 => ".multipart",
                _ => "",
            };
            let Some(wire) = body.schema.as_deref() else {
                continue;
            };
            let Some(fields) = struct_fields(model, wire) else {
                return Err(format!("{}: body {wire} is not a struct", op.id));
            };
            let Some(Ty::Named(name)) = model
                .components
                .get(wire)
                .map(|n| unalias(model, &Ty::Named(n.clone())))
            else {
                return Err(format!("{}: no type for {wire}", op.id));
            };
            let sample = sampler.component(wire);
            let mut args = Vec::new();
            let mut files = Vec::new();
            let mut setters = Vec::new();
            for f in fields {
                if matches!(body.kind, BodyKind::Multipart) && is_file(model, &f.ty) {
                    files.push(f.wire.clone());
                }
                if matches!(f.ty, Ty::Const(_)) {
                    continue;
                }
                let value = sample
                    .map()
                    .iter()
                    .find(|(k, _)| *k == f.wire)
                    .map(|(_, v)| v.to_json());
                let ty = qualified(&f.ty);
                match value {
                    // Optional fields the sample has (one of a set of
                    // alternatives) go through their setters.
                    Some(v) if f.option => setters.push(format!(
                        ".{}(serde_json::from_str::<{ty}>({}).unwrap())",
                        f.name,
                        raw(&v)
                    )),
                    None if f.option => {}
                    Some(v) => args.push(format!(
                        "serde_json::from_str::<{ty}>({}).unwrap()",
                        raw(&v)
                    )),
                    None => return Err(format!("{}: no sample for {}", op.id, f.wire)),
                }
            }
            let stem = format!("{}{label}", op.id);
            let _ = writeln!(
                out,
                "#[cfg(feature = {:?})]\n{{\nlet built = oai_builders::{}::new({}){}.build().unwrap();\nlet mut json = serde_json::to_value(&built).unwrap();",
                op.area,
                builder_name(&name),
                args.join(", "),
                setters.join("")
            );
            for f in &files {
                let _ = writeln!(
                    out,
                    "if let Some(m) = json.as_object_mut() {{ m.remove({f:?}); }}"
                );
            }
            let _ = writeln!(out, "out.push(({stem:?}, json));\n}}");
        }
    }
    out.push_str("out\n}\n");
    Ok(out)
}
