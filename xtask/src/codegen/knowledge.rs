//! What the generator knows that the OpenAPI document does not say, read
//! from `xtask/knowledge.yaml` (compiled in): one data file with named
//! fields, so a fact is added or checked without reading generator code.

use std::sync::OnceLock;

use super::spec::{Node, parse};
use crate::Result;

/// The file's text.
const TEXT: &str = include_str!("../../knowledge.yaml");

/// Every section of the file.
#[derive(Debug, Default)]
pub struct Knowledge {
    pub operation_names: Vec<OperationName>,
    pub terminal_events: Vec<TerminalEvents>,
    pub streamed_like: Vec<StreamedLike>,
    pub binary_answers: Vec<BinaryAnswer>,
    pub body_defaults: Vec<BodyDefault>,
    pub type_names: Vec<TypeName>,
    pub extern_fields: Vec<ExternField>,
    pub tolerated_omissions: Vec<ToleratedOmission>,
    pub secret_fields: Vec<SecretField>,
    pub short_names: Vec<ShortName>,
    pub unlisted_fields: Vec<UnlistedField>,
}

/// A field servers send on objects whose schema leaves it out: the objects
/// whose `type` constant starts with `type_prefix` and ends with
/// `type_suffix` get an optional string field `property`.
#[derive(Debug)]
pub struct UnlistedField {
    pub property: String,
    pub type_prefix: String,
    pub type_suffix: String,
    /// Where the fact comes from (shown in the field's documentation).
    pub why: String,
}

/// A short name in an area's facade module (`oai::chat::Chat`).
#[derive(Debug)]
pub struct ShortName {
    pub area: String,
    pub name: String,
    /// The crate that defines it: `oai_types` or `oai_builders`.
    pub krate: String,
    pub target: String,
}

/// A method name the path does not give.
#[derive(Debug)]
pub struct OperationName {
    pub operation: String,
    /// Empty: the resource derived from the path.
    pub resource: Vec<String>,
    pub method: String,
}

/// The events after which an operation's stream is complete.
#[derive(Debug)]
pub struct TerminalEvents {
    pub operation: String,
    pub events: Vec<String>,
}

/// An operation that streams the events of another.
#[derive(Debug)]
pub struct StreamedLike {
    pub operation: String,
    pub like: String,
}

/// An operation whose answer is a file's bytes the document does not give.
#[derive(Debug)]
pub struct BinaryAnswer {
    pub operation: String,
    pub media_type: String,
}

/// A body field the facade fills in when the caller leaves it out.
#[derive(Debug)]
pub struct BodyDefault {
    pub operation: String,
    pub field: String,
    /// Its value, as JSON text.
    pub json: String,
    /// The `support` function that sets it.
    pub setter: String,
}

/// A chosen name for an inline schema.
#[derive(Debug)]
pub struct TypeName {
    pub derived: String,
    pub chosen: String,
}

/// A field whose type is written by hand.
#[derive(Debug)]
pub struct ExternField {
    pub schema: String,
    pub property: String,
    pub rust_type: String,
}

/// A required answer field some servers leave out.
#[derive(Debug)]
pub struct ToleratedOmission {
    pub schema: String,
    pub property: String,
    pub server: String,
}

/// A field that carries a live credential.
#[derive(Debug)]
pub struct SecretField {
    pub schema: String,
    pub path: String,
    pub what: String,
}

/// The knowledge, read on first use. The file is compiled in, and the test
/// below reads it, so a malformed file fails the build's tests, not a user.
pub fn get() -> &'static Knowledge {
    static KNOWLEDGE: OnceLock<Knowledge> = OnceLock::new();
    KNOWLEDGE.get_or_init(|| match read(TEXT) {
        Ok(k) => k,
        Err(e) => panic!("xtask/knowledge.yaml: {e}"),
    })
}

fn text(entry: &Node, section: &str, field: &str) -> Result<String> {
    entry
        .at(field)
        .str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{section}: an entry has no text `{field}`"))
}

fn texts(entry: &Node, section: &str, field: &str) -> Result<Vec<String>> {
    entry
        .at(field)
        .seq()
        .iter()
        .map(|n| {
            n.str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{section}: `{field}` holds something not a text"))
        })
        .collect()
}

/// Each entry of `section`, read by `f`.
fn section<T>(doc: &Node, name: &str, f: impl Fn(&Node) -> Result<T>) -> Result<Vec<T>> {
    doc.at(name).seq().iter().map(f).collect()
}

/// Reads the file's text.
pub fn read(source: &str) -> Result<Knowledge> {
    let doc = parse(source)?;
    let known = [
        "operation_names",
        "terminal_events",
        "streamed_like",
        "binary_answers",
        "body_defaults",
        "type_names",
        "extern_fields",
        "tolerated_omissions",
        "secret_fields",
        "short_names",
        "unlisted_fields",
    ];
    for (key, _) in doc.map() {
        if !known.contains(&key.as_str()) {
            return Err(format!("unknown section `{key}`"));
        }
    }
    Ok(Knowledge {
        operation_names: section(&doc, "operation_names", |e| {
            Ok(OperationName {
                operation: text(e, "operation_names", "operation")?,
                resource: texts(e, "operation_names", "resource")?,
                method: text(e, "operation_names", "method")?,
            })
        })?,
        terminal_events: section(&doc, "terminal_events", |e| {
            Ok(TerminalEvents {
                operation: text(e, "terminal_events", "operation")?,
                events: texts(e, "terminal_events", "events")?,
            })
        })?,
        streamed_like: section(&doc, "streamed_like", |e| {
            Ok(StreamedLike {
                operation: text(e, "streamed_like", "operation")?,
                like: text(e, "streamed_like", "like")?,
            })
        })?,
        binary_answers: section(&doc, "binary_answers", |e| {
            Ok(BinaryAnswer {
                operation: text(e, "binary_answers", "operation")?,
                media_type: text(e, "binary_answers", "media_type")?,
            })
        })?,
        body_defaults: section(&doc, "body_defaults", |e| {
            Ok(BodyDefault {
                operation: text(e, "body_defaults", "operation")?,
                field: text(e, "body_defaults", "field")?,
                json: text(e, "body_defaults", "json")?,
                setter: text(e, "body_defaults", "setter")?,
            })
        })?,
        type_names: section(&doc, "type_names", |e| {
            Ok(TypeName {
                derived: text(e, "type_names", "derived")?,
                chosen: text(e, "type_names", "chosen")?,
            })
        })?,
        extern_fields: section(&doc, "extern_fields", |e| {
            Ok(ExternField {
                schema: text(e, "extern_fields", "schema")?,
                property: text(e, "extern_fields", "property")?,
                rust_type: text(e, "extern_fields", "rust_type")?,
            })
        })?,
        tolerated_omissions: section(&doc, "tolerated_omissions", |e| {
            Ok(ToleratedOmission {
                schema: text(e, "tolerated_omissions", "schema")?,
                property: text(e, "tolerated_omissions", "property")?,
                server: text(e, "tolerated_omissions", "server")?,
            })
        })?,
        secret_fields: section(&doc, "secret_fields", |e| {
            Ok(SecretField {
                schema: text(e, "secret_fields", "schema")?,
                path: text(e, "secret_fields", "path")?,
                what: text(e, "secret_fields", "what")?,
            })
        })?,
        unlisted_fields: section(&doc, "unlisted_fields", |e| {
            Ok(UnlistedField {
                property: text(e, "unlisted_fields", "property")?,
                type_prefix: text(e, "unlisted_fields", "type_prefix")?,
                type_suffix: text(e, "unlisted_fields", "type_suffix")?,
                why: text(e, "unlisted_fields", "why")?,
            })
        })?,
        short_names: section(&doc, "short_names", |e| {
            Ok(ShortName {
                area: text(e, "short_names", "area")?,
                name: text(e, "short_names", "name")?,
                krate: text(e, "short_names", "crate")?,
                target: text(e, "short_names", "for")?,
            })
        })?,
    })
}

/// The secret fields as `(schema, path, what)`, the form the checks take.
pub fn secret_fields() -> Vec<(&'static str, &'static str, &'static str)> {
    get()
        .secret_fields
        .iter()
        .map(|s| (s.schema.as_str(), s.path.as_str(), s.what.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_reads_and_every_section_has_entries() {
        let k = read(TEXT).unwrap_or_else(|e| panic!("{e}"));
        assert!(!k.operation_names.is_empty());
        assert!(!k.terminal_events.is_empty());
        assert!(!k.streamed_like.is_empty());
        assert!(!k.binary_answers.is_empty());
        assert!(!k.body_defaults.is_empty());
        assert!(!k.type_names.is_empty());
        assert!(!k.extern_fields.is_empty());
        assert!(!k.tolerated_omissions.is_empty());
        assert!(!k.secret_fields.is_empty());
        assert!(!k.short_names.is_empty());
    }

    #[test]
    fn a_missing_field_or_an_unknown_section_is_an_error() {
        let missing = read("type_names:\n  - {derived: A}\n")
            .err()
            .unwrap_or_default();
        assert!(missing.contains("chosen"), "{missing}");
        let unknown = read("type_name:\n  - {derived: A, chosen: B}\n")
            .err()
            .unwrap_or_default();
        assert!(unknown.contains("unknown section"), "{unknown}");
    }
}
