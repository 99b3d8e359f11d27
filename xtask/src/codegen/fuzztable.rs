//! The `responses` fuzz target's table and seeds: every distinct type an
//! operation answers with (JSON bodies and stream events), each with a fixed
//! 16-bit selector, and a few seed inputs per type from the spec.
//!
//! An input of the target is two selector bytes (big-endian) and a body; the
//! type checked is the first one whose selector is at least the input's
//! (wrapping to the first). A type's selector comes from a hash of its name, so
//! it stays put when the spec adds or removes other types, and committed seeds
//! and regressions keep pointing at the type they were written for.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::emit::HEADER;
use super::model::{Model, Ty};
use super::ops::Op;
use super::samples::Sampler;
use super::spec::{Node, ref_name};
use super::validate::unalias;
use crate::Result;

/// Spec examples longer than this (once whitespace is removed) are not seeds:
/// a seed corpus of small files keeps every fuzzing run fast.
const MAX_EXAMPLE_BYTES: usize = 4096;

/// One type of the table.
struct Entry {
    selector: u16,
    /// Rust name, in `oai_types`.
    name: String,
    /// Component (wire name) it was found under first.
    wire: String,
    /// Whether operations stream it as events.
    stream: bool,
}

/// FNV-1a of `name`, folded to 16 bits.
fn hash16(name: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    ((h >> 16) ^ (h & 0xffff)) as u16
}

/// The Rust type that fuzzing component `wire` checks: the end of its alias
/// chain, so that twins (`Beta*` aliases) are checked once. `None` when the
/// answer is raw JSON (`serde_json::Value`), which has nothing to check.
fn canonical(model: &Model<'_>, wire: &str) -> Result<Option<String>> {
    let name = model
        .components
        .get(wire)
        .ok_or_else(|| format!("no type for schema {wire}"))?;
    Ok(match unalias(model, &Ty::Named(name.clone())) {
        Ty::Named(n) => Some(n),
        Ty::Value => None,
        _ => Some(name.clone()),
    })
}

fn entries(model: &Model<'_>, ops: &[Op]) -> Result<Vec<Entry>> {
    let mut found: BTreeMap<String, (String, bool)> = BTreeMap::new();
    for op in ops {
        let answers = [(&op.answer.json, false), (&op.answer.stream, true)];
        for (wire, stream) in answers {
            let Some(wire) = wire else { continue };
            let Some(name) = canonical(model, wire)? else {
                continue;
            };
            let slot = found.entry(name).or_insert_with(|| (wire.clone(), stream));
            slot.1 |= stream;
        }
    }
    // Selectors in name order, so a clash is settled the same way every time.
    let mut taken = BTreeMap::new();
    let mut out = Vec::new();
    for (name, (wire, stream)) in found {
        let mut selector = hash16(&name);
        while taken.contains_key(&selector) {
            selector = selector.wrapping_add(1);
        }
        taken.insert(selector, ());
        out.push(Entry {
            selector,
            name,
            wire,
            stream,
        });
    }
    out.sort_by_key(|e| e.selector);
    Ok(out)
}

/// `src/generated/fuzz_table.rs` of `oai-types`, and how many types it holds.
pub fn table(model: &Model<'_>, ops: &[Op]) -> Result<(String, usize)> {
    let entries = entries(model, ops)?;
    let mut out = format!(
        "{HEADER}//! Every type an operation answers with, JSON body or stream event, by\n\
         //! selector (sorted), for the `responses` fuzz target.\n\n\
         use crate::fuzzing::{{Entry, check}};\n\n\
         pub(crate) const TYPES: &[Entry] = &[\n"
    );
    for e in &entries {
        let _ = writeln!(
            out,
            "Entry {{ selector: {:#06x}, name: {:?}, stream: {}, check: check::<crate::{}> }},",
            e.selector, e.name, e.stream, e.name
        );
    }
    out.push_str("];\n");
    Ok((out, entries.len()))
}

/// The seed inputs of `fuzz/corpus/responses/`: `(file name, bytes)`.
///
/// Per type: the first response example of an operation that answers with it,
/// else the example of its schema (`<Type>-example`) and the smallest valid value (`<Type>-sample`).
/// A streamed union also gets one seed per event it lists
/// (`<Type>-<event>-example` when the event schema has an example, else
/// `<Type>-<event>-sample`).
pub fn seeds(model: &Model<'_>, ops: &[Op]) -> Result<Vec<(String, Vec<u8>)>> {
    let spec = model.spec();
    let schemas = spec.at("components").at("schemas");
    let sampler = Sampler::new(spec);
    let examples = op_examples(spec);
    let mut out = Vec::new();
    let mut add = |name: String, selector: u16, body: &str| {
        let mut bytes = selector.to_be_bytes().to_vec();
        bytes.extend_from_slice(body.as_bytes());
        out.push((name, bytes));
    };
    for e in entries(model, ops)? {
        // Any component that is (or aliases) this type may carry the example.
        let example = ops
            .iter()
            .filter(|op| answers_with(model, op, &e.name))
            .find_map(|op| examples.get(op.id.as_str()).cloned())
            .or_else(|| schema_example(schemas.at(&e.wire)));
        if let Some(ex) = example {
            add(format!("{}-example", e.name), e.selector, &ex);
        }
        add(
            format!("{}-sample", e.name),
            e.selector,
            &sampler.component(&e.wire).to_json(),
        );
        if !e.stream {
            continue;
        }
        let schema = schemas.at(&e.wire);
        let members = schema
            .at("oneOf")
            .seq()
            .iter()
            .chain(schema.at("anyOf").seq());
        for m in members {
            let Some(event) = m.at("$ref").str().and_then(ref_name) else {
                continue;
            };
            let tag = event_tag(schemas.at(event)).unwrap_or(event);
            let file = |kind: &str| format!("{}-{}-{kind}", e.name, file_safe(tag));
            match schema_example(schemas.at(event)) {
                Some(ex) => add(file("example"), e.selector, &ex),
                None => add(
                    file("sample"),
                    e.selector,
                    &sampler.component(event).to_json(),
                ),
            }
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    Ok(out)
}

/// Whether `op`'s JSON answer is (an alias of) type `name`.
fn answers_with(model: &Model<'_>, op: &Op, name: &str) -> bool {
    op.answer
        .json
        .as_ref()
        .and_then(|w| canonical(model, w).ok().flatten())
        .is_some_and(|n| n == name)
}

/// Operation id -> its first JSON response example, without whitespace.
fn op_examples(spec: &Node) -> BTreeMap<&str, String> {
    let mut out = BTreeMap::new();
    for (_, item) in spec.at("paths").map() {
        for (_, op) in item.map() {
            let Some(id) = op.at("operationId").str() else {
                continue;
            };
            let examples = op.at("x-oaiMeta").at("examples");
            let list: Vec<&Node> = match examples {
                Node::Seq(s) => s.iter().collect(),
                Node::Map(_) => vec![examples],
                _ => continue,
            };
            let first = list
                .iter()
                .filter_map(|ex| ex.at("response").str())
                .filter_map(json_text)
                .next();
            if let Some(text) = first {
                out.insert(id, text);
            }
        }
    }
    out
}

/// The `x-oaiMeta.example` of a schema, without whitespace.
fn schema_example(schema: &Node) -> Option<String> {
    schema
        .at("x-oaiMeta")
        .at("example")
        .str()
        .and_then(json_text)
}

/// The constant `type` of an event schema.
fn event_tag(schema: &Node) -> Option<&str> {
    let t = schema.at("properties").at("type");
    t.at("const").str().or_else(|| match t.at("enum").seq() {
        [one] => one.str(),
        _ => None,
    })
}

fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `text` without the whitespace between JSON tokens, if it looks like one
/// JSON object or array and is small enough to be a seed.
fn json_text(text: &str) -> Option<String> {
    let text = text.trim();
    if !(text.starts_with('{') || text.starts_with('[')) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    (out.len() <= MAX_EXAMPLE_BYTES).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_whitespace_outside_strings_only() {
        assert_eq!(
            json_text("  {\n  \"a b\": [1, 2],\n  \"c\": \"x\\\" y\"\n}\n").as_deref(),
            Some("{\"a b\":[1,2],\"c\":\"x\\\" y\"}")
        );
        assert_eq!(json_text("event: x\ndata: {}"), None);
        assert_eq!(json_text(&format!("[{}]", "1,".repeat(3000))), None);
    }

    #[test]
    fn selectors_are_stable() {
        // Committed seeds and regressions depend on these values.
        assert_eq!(hash16(""), 0x1cd9);
        assert_eq!(hash16("Batch"), 0x8965);
    }
}
