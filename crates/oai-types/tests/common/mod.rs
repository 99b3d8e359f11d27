//! Shared by the test binaries that check JSON against the generated types.

use serde_json::Value;

/// Decodes `value` as a `T` and checks that it serializes back to the same
/// JSON (`null` and absent count as equal, as do `1.0` and `1`).
pub fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(
    value: Value,
) -> Result<(), String> {
    let typed: T =
        serde_json::from_value(value.clone()).map_err(|e| format!("deserialize: {e}"))?;
    let back = serde_json::to_value(&typed).map_err(|e| format!("serialize: {e}"))?;
    let (a, b) = (normalize(back), normalize(value));
    if a == b {
        Ok(())
    } else {
        Err(format!("round trip differs:\n  got  {a}\n  want {b}"))
    }
}

fn normalize(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(normalize).collect()),
        // 1.0 and 1 are the same number on the wire
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        other => other,
    }
}
