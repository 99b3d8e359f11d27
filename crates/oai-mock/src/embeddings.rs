//! Deterministic embeddings: the same input always gives the same unit vector.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::bodies::tokens;

/// The dimensions of every model unless the request sets `dimensions`.
pub(crate) const DEFAULT_DIMENSIONS: usize = 1536;
/// The largest `dimensions` accepted.
pub(crate) const MAX_DIMENSIONS: usize = 3072;
/// The most inputs in one request.
pub(crate) const MAX_INPUTS: usize = 2048;

/// One input: text or token ids.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Input {
    Text(String),
    Tokens(Vec<u64>),
}

/// Why a request cannot be embedded: the message and the parameter at fault.
pub(crate) type Refusal = (String, &'static str);

/// The inputs of a request's `input`, or why they are not acceptable.
pub(crate) fn inputs(input: Option<&Value>) -> Result<Vec<Input>, Refusal> {
    let bad = |why: &str| Err((format!("'input' {why}"), "input"));
    let inputs = match input {
        None | Some(Value::Null) => return bad("is required"),
        Some(Value::String(s)) => vec![Input::Text(s.clone())],
        Some(Value::Array(items)) if items.is_empty() => return bad("must not be empty"),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => items
            .iter()
            .map(|i| Input::Text(i.as_str().unwrap_or_default().to_owned()))
            .collect(),
        Some(Value::Array(items)) if items.iter().all(Value::is_u64) => {
            vec![Input::Tokens(
                items.iter().filter_map(Value::as_u64).collect(),
            )]
        }
        Some(Value::Array(items)) if items.iter().all(is_token_array) => items
            .iter()
            .map(|i| {
                Input::Tokens(
                    i.as_array()
                        .map(|a| a.iter().filter_map(Value::as_u64).collect())
                        .unwrap_or_default(),
                )
            })
            .collect(),
        Some(_) => {
            return bad(
                "must be a string, an array of strings, an array of token ids or an array of such arrays",
            );
        }
    };
    if inputs.len() > MAX_INPUTS {
        return bad(&format!(
            "has {} items, more than {MAX_INPUTS}",
            inputs.len()
        ));
    }
    let empty = inputs.iter().any(|i| match i {
        Input::Text(t) => t.is_empty(),
        Input::Tokens(t) => t.is_empty(),
    });
    if empty {
        return bad("must not hold an empty string or an empty token array");
    }
    Ok(inputs)
}

fn is_token_array(value: &Value) -> bool {
    value
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_u64))
}

/// The token count of an input.
pub(crate) fn input_tokens(input: &Input) -> u64 {
    match input {
        Input::Text(t) => tokens(t).max(1),
        Input::Tokens(t) => u64::try_from(t.len()).unwrap_or(u64::MAX),
    }
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The unit vector of `input` in `dimensions` dimensions. A smaller
/// `dimensions` gives the normalised prefix of a larger one.
pub(crate) fn vector(input: &Input, dimensions: usize) -> Vec<f32> {
    let seed = match input {
        Input::Text(t) => fnv1a(t.bytes()),
        Input::Tokens(t) => fnv1a(t.iter().flat_map(|x| x.to_le_bytes())),
    };
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut v: Vec<f32> = (0..dimensions).map(|_| rng.f32() * 2.0 - 1.0).collect();
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut v {
            *x /= norm;
        }
    }
    v
}

/// One `embedding` object, as floats or as base64 of little-endian `f32`s.
pub(crate) fn embedding_object(index: usize, vector: &[f32], base64: bool) -> Value {
    let embedding = if base64 {
        let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
        json!(STANDARD.encode(bytes))
    } else {
        json!(vector)
    };
    json!({"object": "embedding", "index": index, "embedding": embedding})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_deterministic_and_nested() {
        let a = vector(&Input::Text("hello".into()), 64);
        assert_eq!(a, vector(&Input::Text("hello".into()), 64));
        assert_ne!(a, vector(&Input::Text("hellp".into()), 64));
        let norm: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
        let small = vector(&Input::Text("hello".into()), 8);
        let ratio = a.first().copied().unwrap_or(0.0) / small.first().copied().unwrap_or(1.0);
        for (x, y) in a.iter().zip(&small) {
            assert!((x / y - ratio).abs() < 1e-3);
        }
    }

    #[test]
    fn input_shapes() {
        assert_eq!(inputs(Some(&json!("a"))).map(|v| v.len()), Ok(1));
        assert_eq!(inputs(Some(&json!(["a", "b"]))).map(|v| v.len()), Ok(2));
        assert_eq!(
            inputs(Some(&json!([1, 2, 3]))),
            Ok(vec![Input::Tokens(vec![1, 2, 3])])
        );
        assert_eq!(inputs(Some(&json!([[1], [2, 3]]))).map(|v| v.len()), Ok(2));
        for bad in [
            json!(null),
            json!([]),
            json!(""),
            json!([1, "a"]),
            json!({"a": 1}),
            json!([[]]),
        ] {
            assert!(inputs(Some(&bad)).is_err(), "{bad}");
        }
        assert!(inputs(None).is_err());
    }
}
