//! What the generated operations share: path segments, parameter and form
//! encoding, validation before I/O.

use oai_builders::validate::Path;
use oai_builders::{Validate, ValidationError};
use oai_transport::{MultipartForm, Part, RequestBuilder};

use crate::{Error, Result};
use oai_types::{FileSource, InputFile};
use serde::Serialize;
use serde_json::Value;

/// A path parameter as one percent-encoded segment. An empty value, or one
/// that would be read as `.` or `..`, can never change which endpoint is called.
pub(crate) fn segment(name: &'static str, value: &str) -> Result<String> {
    if value.is_empty() {
        return Err(ValidationError::single(&Path::root().field(name), "must not be empty").into());
    }
    if value == "." || value == ".." {
        // URL parsers read `%2E%2E` as `..` and drop a segment, so these can
        // never be sent safely, encoded or not; no resource id is a dot.
        return Err(ValidationError::single(
            &Path::root().field(name),
            "must not be `.` or `..` (no URL can carry it as a path segment)",
        )
        .into());
    }
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':' | b'@') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// Checks `value` against the spec's constraints; an invalid request never
/// reaches the network.
pub(crate) fn check<T: Validate + ?Sized>(value: &T) -> Result<()> {
    Ok(value.validate()?)
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(_) | Value::Object(_) => Some(v.to_string()),
    }
}

/// Flattens a value the way the official SDKs encode query strings and forms:
/// arrays as `name[]`, objects as `name[key]`, `null` left out.
fn flatten(name: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null => {}
        Value::Array(items) => {
            let key = if name.ends_with("[]") {
                name.to_owned()
            } else {
                format!("{name}[]")
            };
            for item in items {
                match item {
                    Value::Array(_) | Value::Object(_) => {
                        out.push((key.clone(), item.to_string()));
                    }
                    other => {
                        if let Some(t) = scalar_text(other) {
                            out.push((key.clone(), t));
                        }
                    }
                }
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                flatten(&format!("{name}[{k}]"), v, out);
            }
        }
        other => {
            if let Some(t) = scalar_text(other) {
                out.push((name.to_owned(), t));
            }
        }
    }
}

fn pairs<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<Vec<(String, String)>> {
    let v = serde_json::to_value(value).map_err(|e| {
        Error::invalid_input_from(format!("parameter `{name}` could not be encoded"), e)
    })?;
    let mut out = Vec::new();
    flatten(name, &v, &mut out);
    Ok(out)
}

/// Adds a query parameter (nothing for `None`).
pub(crate) fn query<T: Serialize + ?Sized>(
    mut rb: RequestBuilder,
    name: &str,
    value: &T,
) -> Result<RequestBuilder> {
    for (k, v) in pairs(name, value)? {
        rb = rb.query(k, v);
    }
    Ok(rb)
}

/// Adds a header whose list value is comma-separated (nothing for `None`).
pub(crate) fn header<T: Serialize + ?Sized>(
    rb: RequestBuilder,
    name: &str,
    value: &T,
) -> Result<RequestBuilder> {
    let values: Vec<String> = pairs(name, value)?.into_iter().map(|(_, v)| v).collect();
    if values.is_empty() {
        Ok(rb)
    } else {
        Ok(rb.header(name, &values.join(",")))
    }
}

/// Adds the text fields of a value to a form.
pub(crate) fn form<T: Serialize + ?Sized>(
    mut form: MultipartForm,
    name: &str,
    value: &T,
) -> Result<MultipartForm> {
    for (k, v) in pairs(name, value)? {
        form = form.text(k, v);
    }
    Ok(form)
}

/// Adds a file to a form.
pub(crate) fn file(form: MultipartForm, name: &str, file: &InputFile) -> MultipartForm {
    let part = match file.source() {
        FileSource::Path(p) => Part::file(name, p).file_name(file.file_name()),
        // Shares the bytes: no copy per request, nor per retry.
        FileSource::Bytes(b) => {
            Part::bytes(name, bytes::Bytes::from_owner(b.clone()), file.file_name())
        }
        _ => Part::bytes(name, Vec::new(), file.file_name()),
    };
    let part = match file.mime() {
        Some(m) => part.mime(m),
        None => part,
    };
    form.part(part)
}

/// Adds a list of files to a form, each as `name[]`.
pub(crate) fn files(mut form: MultipartForm, name: &str, list: &[InputFile]) -> MultipartForm {
    let key = format!("{name}[]");
    for f in list {
        form = file(form, &key, f);
    }
    form
}

/// Asks for base64 embeddings unless the request chose a format: they decode
/// to `f32` without parsing JSON numbers, and travel in about a quarter of the
/// bytes. [`oai_types::EmbeddingVector`] reads both forms.
#[cfg(feature = "embeddings")]
pub(crate) fn embeddings_base64_by_default(
    mut request: oai_types::CreateEmbeddingRequest,
) -> oai_types::CreateEmbeddingRequest {
    if request.encoding_format.is_none() {
        request.encoding_format = Some(oai_types::CreateEmbeddingRequestEncodingFormat::Base64);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cannot_change_the_endpoint() {
        assert_eq!(segment("id", "file-abc_1.2").unwrap(), "file-abc_1.2");
        assert_eq!(segment("id", "a/b?c#d").unwrap(), "a%2Fb%3Fc%23d");
        assert!(segment("id", "..").unwrap_err().is_invalid_input());
        assert!(segment("id", ".").unwrap_err().is_invalid_input());
        assert_eq!(segment("id", "...").unwrap(), "...");
        assert_eq!(segment("id", "a b%").unwrap(), "a%20b%25");
        assert_eq!(segment("id", "ft:gpt-4o:org").unwrap(), "ft:gpt-4o:org");
        assert!(segment("id", "").unwrap_err().is_invalid_input());
    }

    #[test]
    fn flattening_follows_the_sdks() {
        let v = serde_json::json!({"gt": 1, "lte": 2});
        let mut out = Vec::new();
        flatten("effective_at", &v, &mut out);
        assert_eq!(
            out,
            [
                ("effective_at[gt]".to_owned(), "1".to_owned()),
                ("effective_at[lte]".to_owned(), "2".to_owned())
            ]
        );
        let mut out = Vec::new();
        flatten("include", &serde_json::json!(["a", "b"]), &mut out);
        assert_eq!(out[1], ("include[]".to_owned(), "b".to_owned()));
        let mut out = Vec::new();
        flatten("ids[]", &serde_json::json!(["a"]), &mut out);
        assert_eq!(out[0].0, "ids[]");
        let mut out = Vec::new();
        flatten("after", &Value::Null, &mut out);
        assert!(out.is_empty());
    }
}
