//! The fields that carry a live credential, and the checks that keep the
//! list true.
//!
//! Every field listed in `secret_fields` of `xtask/knowledge.yaml` is generated as
//! `oai_types::SecretValue` (a string inside a list or a map: each one)
//! instead of `String`, so that `Debug` of a whole answer or request never
//! prints the credential. Generation fails when a listed pair no longer
//! names a property of the document, or when the generated field is not a
//! secret text after all, so the list cannot silently drift from the spec.
//! `oai-types/tests/generated/secrets.rs` is written from the same list: a
//! sample JSON value per entry with the credential in place, decoded and
//! printed by `oai-types/tests/secrets.rs`.

use std::fmt::Write;

use super::emit::{HEADER, ty_text};
use super::model::{Kind, Model, Ty};
use super::samples::Sampler;
use super::spec::{Node, ref_name};
use super::validate::unalias;
use crate::Result;

/// The hand-written type of `oai-types` that the listed fields get.
pub const SECRET_TYPE: &str = "SecretValue";

/// The schemas of each entry's properties in the document, one per path
/// segment. Fails, naming every such entry, when a schema or a property is
/// missing or an entry is listed twice.
pub fn locate<'a>(spec: &'a Node, list: &[(&str, &str, &str)]) -> Result<Vec<Vec<&'a Node>>> {
    let schemas = spec.at("components").at("schemas");
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, (schema, path, _)) in list.iter().enumerate() {
        if list[..i].iter().any(|(s, p, _)| s == schema && p == path) {
            bad.push(format!("{schema}.{path} is listed twice"));
            continue;
        }
        let Some(mut cur) = schemas.get(schema) else {
            bad.push(format!(
                "{schema}.{path}: the document has no schema `{schema}`"
            ));
            continue;
        };
        let mut chain = Vec::new();
        for seg in path.split('.') {
            match property(schemas, cur, seg, 0) {
                Some(p) => {
                    chain.push(p);
                    cur = p;
                }
                None => {
                    bad.push(format!("{schema}.{path}: no property `{seg}` there"));
                    break;
                }
            }
        }
        out.push(chain);
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(stale(&bad))
    }
}

fn stale(bad: &[String]) -> String {
    format!(
        "`secret_fields` (xtask/knowledge.yaml) no longer matches the document:\n  {}",
        bad.join("\n  ")
    )
}

/// The schema of property `name` of the object schema `s`: its own
/// properties, then those of its `allOf`, `anyOf` and `oneOf` members,
/// references followed.
fn property<'a>(schemas: &'a Node, s: &'a Node, name: &str, depth: usize) -> Option<&'a Node> {
    if depth > 16 {
        return None;
    }
    let s = match s.at("$ref").str().and_then(ref_name) {
        Some(r) => schemas.get(r)?,
        None => s,
    };
    if let Some(p) = s.at("properties").get(name) {
        return Some(p);
    }
    ["allOf", "anyOf", "oneOf"]
        .iter()
        .flat_map(|k| s.at(k).seq())
        .find_map(|m| property(schemas, m, name, depth + 1))
}

/// The type a listed field gets: each string in it becomes the secret type.
pub fn secret_ty(ty: Ty) -> Ty {
    match ty {
        Ty::String => Ty::Extern(SECRET_TYPE),
        Ty::Vec(i) => Ty::Vec(Box::new(secret_ty(*i))),
        Ty::Map(i) => Ty::Map(Box::new(secret_ty(*i))),
        other => other,
    }
}

/// The generated type of each entry's field, checked to be the secret type
/// (or a list or map of it). Fails, naming every entry that is not.
pub fn check(model: &Model<'_>, list: &[(&str, &str, &str)]) -> Result<Vec<Ty>> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (schema, path, _) in list {
        match field_ty(model, schema, path) {
            Some(ty) if is_secret(model, &ty) => out.push(ty),
            Some(ty) => bad.push(format!(
                "{schema}.{path} is generated as `{}`, which is not a secret text",
                ty_text(&unalias(model, &ty))
            )),
            None => bad.push(format!(
                "{schema}.{path} is not a field of a generated struct"
            )),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(stale(&bad))
    }
}

/// The type of the field at `path` in the struct that component `schema` is.
fn field_ty(model: &Model<'_>, schema: &str, path: &str) -> Option<Ty> {
    let mut ty = Ty::Named(model.components.get(schema)?.clone());
    for seg in path.split('.') {
        let Ty::Named(n) = unalias(model, &ty) else {
            return None;
        };
        let Kind::Struct(fields) = &model.types.get(&n)?.kind else {
            return None;
        };
        ty = fields.iter().find(|f| f.wire == seg)?.ty.clone();
    }
    Some(ty)
}

fn is_secret(model: &Model<'_>, ty: &Ty) -> bool {
    match unalias(model, ty) {
        Ty::Extern(n) => n == SECRET_TYPE,
        Ty::Vec(i) | Ty::Map(i) => is_secret(model, &i),
        _ => false,
    }
}

/// The text standing for the credential in the samples of the test table.
const PLACEHOLDER: &str = "@secret@";
/// The key of the entry a map of secrets gets in a sample.
const MAP_KEY: &str = "x-secret";

/// `oai-types/tests/generated/secrets.rs`: for each entry, a sample JSON
/// value of its schema with [`PLACEHOLDER`] where the credential goes, the
/// JSON pointer of that place, and a decoder into the generated type.
pub fn test_table(
    model: &Model<'_>,
    list: &[(&str, &str, &str)],
    located: &[Vec<&Node>],
    tys: &[Ty],
) -> Result<String> {
    let sampler = Sampler::new(model.spec());
    let mut out = format!(
        "{HEADER}//! Every field of `secret_fields` (xtask/knowledge.yaml), with a\n\
         //! sample value that holds a credential there.\n\n\
         /// The text that stands for the credential in [`Case::sample`].\n\
         pub const PLACEHOLDER: &str = {PLACEHOLDER:?};\n\n\
         /// One listed field.\n\
         pub struct Case {{\n\
         /// The component schema.\n pub schema: &'static str,\n\
         /// The field's property path in it.\n pub path: &'static str,\n\
         /// A JSON value of the schema with [`PLACEHOLDER`] where the credential goes.\n pub sample: &'static str,\n\
         /// The JSON pointer of the credential in the sample.\n pub pointer: &'static str,\n\
         /// Decodes JSON text as the schema's type: its `Debug` text and the value written back.\n\
         pub decode: fn(&str) -> Result<(String, serde_json::Value), String>,\n}}\n\n\
         fn decode<T: serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug>(json: &str) -> Result<(String, serde_json::Value), String> {{\n\
         let v: T = serde_json::from_str(json).map_err(|e| e.to_string())?;\n\
         let back = serde_json::to_value(&v).map_err(|e| e.to_string())?;\n\
         Ok((format!(\"{{v:?}}\"), back))\n}}\n\n\
         /// One case per listed field, in the list's order.\n\
         pub fn cases() -> Vec<Case> {{\nvec![\n"
    );
    for (((schema, path, _), chain), ty) in list.iter().zip(located).zip(tys) {
        let rust = model
            .components
            .get(*schema)
            .ok_or_else(|| format!("no type for schema {schema}"))?;
        let mut sample = sampler.component(schema);
        let segs: Vec<&str> = path.split('.').collect();
        let (leaf, tail) = leaf(model, ty);
        put(&sampler, &mut sample, &segs, chain, leaf)
            .map_err(|e| format!("secret_fields: sample of {schema}.{path}: {e}"))?;
        let pointer = format!("/{}{tail}", segs.join("/"));
        let _ = writeln!(
            out,
            "Case {{ schema: {schema:?}, path: {path:?}, sample: {:?}, pointer: {pointer:?}, decode: decode::<oai_types::{rust}> }},",
            sample.to_json()
        );
    }
    out.push_str("]\n}\n");
    Ok(out)
}

/// The sample value of a field of type `ty` holding one credential, and the
/// pointer suffix from the field to the credential.
fn leaf(model: &Model<'_>, ty: &Ty) -> (Node, String) {
    match unalias(model, ty) {
        Ty::Vec(i) => {
            let (v, tail) = leaf(model, &i);
            (Node::Seq(vec![v]), format!("/0{tail}"))
        }
        Ty::Map(i) => {
            let (v, tail) = leaf(model, &i);
            (
                Node::Map(vec![(MAP_KEY.to_owned(), v)]),
                format!("/{MAP_KEY}{tail}"),
            )
        }
        _ => (Node::Str(PLACEHOLDER.to_owned()), String::new()),
    }
}

/// Sets `value` at `segs` in the object `at`, sampling the objects on the way
/// that the sample left out.
fn put<'a>(
    sampler: &Sampler<'a>,
    at: &mut Node,
    segs: &[&str],
    chain: &[&'a Node],
    value: Node,
) -> Result {
    let (Some((seg, rest)), Some((schema, deeper))) = (segs.split_first(), chain.split_first())
    else {
        return Err("empty path".into());
    };
    let Node::Map(entries) = at else {
        return Err(format!("no object where `{seg}` goes"));
    };
    if rest.is_empty() {
        match entries.iter_mut().find(|(k, _)| k == seg) {
            Some(slot) => slot.1 = value,
            None => entries.push(((*seg).to_owned(), value)),
        }
        return Ok(());
    }
    let i = match entries.iter().position(|(k, _)| k == seg) {
        Some(i) => i,
        None => {
            entries.push(((*seg).to_owned(), sampler.sample(schema, 0)));
            entries.len() - 1
        }
    };
    put(sampler, &mut entries[i].1, rest, deeper, value)
}

#[cfg(test)]
mod tests {
    use super::super::model::{Model, Ty};
    use super::super::spec::parse;
    use super::{SECRET_TYPE, check, locate};

    const SPEC: &str = "
components:
  schemas:
    Key:
      type: object
      required: [value, session]
      properties:
        value: {type: string}
        count: {type: integer}
        headers:
          anyOf:
            - {type: object, additionalProperties: {type: string}}
            - {type: 'null'}
        session:
          type: object
          required: [secret]
          properties:
            secret: {type: string}
            name: {type: string}
    Plain:
      type: object
      properties:
        value: {type: string}
";

    /// Builds the model of `SPEC` with `list` marked, then checks it.
    fn run(list: &[(&str, &str, &str)]) -> Result<Vec<Ty>, String> {
        let spec = parse(SPEC)?;
        let located = locate(&spec, list)?;
        let mut m = Model::new(&spec);
        m.secret_nodes = located.iter().filter_map(|c| c.last().copied()).collect();
        m.build();
        check(&m, list)
    }

    #[test]
    fn listed_strings_become_secrets_and_others_stay() {
        let list = [
            ("Key", "value", ""),
            ("Key", "headers", ""),
            ("Key", "session.secret", ""),
        ];
        let tys = match run(&list) {
            Ok(t) => t,
            Err(e) => panic!("{e}"),
        };
        let secret = Ty::Extern(SECRET_TYPE);
        assert_eq!(
            tys,
            vec![
                secret.clone(),
                Ty::Map(Box::new(secret.clone())),
                secret.clone()
            ]
        );
        // `Plain.value` and `Key.session.name` are unlisted: plain strings.
        let spec = parse(SPEC).unwrap_or_else(|e| panic!("{e}"));
        let located = locate(&spec, &list).unwrap_or_else(|e| panic!("{e}"));
        let mut m = Model::new(&spec);
        m.secret_nodes = located.iter().filter_map(|c| c.last().copied()).collect();
        m.build();
        assert_eq!(super::field_ty(&m, "Plain", "value"), Some(Ty::String));
        assert_eq!(super::field_ty(&m, "Key", "session.name"), Some(Ty::String));
        assert_eq!(super::field_ty(&m, "Key", "count"), Some(Ty::I64));
    }

    #[test]
    fn a_pair_the_document_lacks_fails_generation() {
        for list in [
            [("Gone", "value", "")],
            [("Key", "nope", "")],
            [("Key", "session.nope", "")],
        ] {
            let err = run(&list).err().unwrap_or_default();
            assert!(err.contains("secret_fields"), "{list:?}: {err}");
        }
        let twice = [("Key", "value", ""), ("Key", "value", "")];
        assert!(run(&twice).is_err_and(|e| e.contains("listed twice")));
    }

    #[test]
    fn a_field_that_is_not_text_fails_generation() {
        let err = run(&[("Key", "count", "")]).err().unwrap_or_default();
        assert!(err.contains("Key.count") && err.contains("i64"), "{err}");
        let err = run(&[("Key", "session", "")]).err().unwrap_or_default();
        assert!(err.contains("Key.session"), "{err}");
    }
}
