//! [`EmbeddingVector`]: an embedding as JSON numbers or as base64 `f32`s.

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `embedding` of an [`crate::Embedding`], in the form the server sent.
///
/// With `encoding_format: "float"` the server sends JSON numbers, kept as
/// `f64` exactly as written. With `"base64"` it sends the little-endian bytes
/// of `f32` values in base64: they are decoded straight to `f32` (no JSON
/// number is parsed) and re-encoded byte for byte when serialized. The `oai`
/// client asks for base64 unless the request says otherwise.
///
/// ```
/// use oai_types::EmbeddingVector;
///
/// let v: EmbeddingVector = serde_json::from_str("\"AACAPwAAAMA=\"").unwrap();
/// assert_eq!(v.to_f32(), vec![1.0, -2.0]);
/// let w: EmbeddingVector = serde_json::from_str("[1.0, -2.0]").unwrap();
/// assert_eq!(w.to_f32(), v.to_f32());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum EmbeddingVector {
    /// JSON numbers (`encoding_format: "float"`).
    Float(Vec<f64>),
    /// Decoded from base64 (`encoding_format: "base64"`).
    Base64(Vec<f32>),
}

impl Default for EmbeddingVector {
    fn default() -> Self {
        EmbeddingVector::Float(Vec::new())
    }
}

impl EmbeddingVector {
    /// The number of dimensions.
    pub fn len(&self) -> usize {
        match self {
            EmbeddingVector::Float(v) => v.len(),
            EmbeddingVector::Base64(v) => v.len(),
        }
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as `f32`, borrowed when they were sent as base64.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match self {
            EmbeddingVector::Base64(v) => Some(v),
            EmbeddingVector::Float(_) => None,
        }
    }

    /// The values as `f32` (JSON numbers are rounded to the nearest `f32`).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            EmbeddingVector::Base64(v) => v.clone(),
            EmbeddingVector::Float(v) => v.iter().map(|x| *x as f32).collect(),
        }
    }

    /// The values as `f32`, without a copy when they were sent as base64.
    pub fn into_f32(self) -> Vec<f32> {
        match self {
            EmbeddingVector::Base64(v) => v,
            EmbeddingVector::Float(v) => v.into_iter().map(|x| x as f32).collect(),
        }
    }

    /// The values as `f64` (base64 values widen exactly).
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            EmbeddingVector::Base64(v) => v.iter().map(|x| f64::from(*x)).collect(),
            EmbeddingVector::Float(v) => v.clone(),
        }
    }
}

impl From<Vec<f32>> for EmbeddingVector {
    fn from(v: Vec<f32>) -> Self {
        EmbeddingVector::Base64(v)
    }
}

impl From<Vec<f64>> for EmbeddingVector {
    fn from(v: Vec<f64>) -> Self {
        EmbeddingVector::Float(v)
    }
}

impl Serialize for EmbeddingVector {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EmbeddingVector::Float(v) => v.serialize(s),
            EmbeddingVector::Base64(v) => s.serialize_str(&encode_f32(v)),
        }
    }
}

impl<'de> Deserialize<'de> for EmbeddingVector {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EmbeddingVector;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of numbers or a base64 string of little-endian f32 values")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
                decode_f32(s)
                    .map(EmbeddingVector::Base64)
                    .map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // Cap the pre-allocation: the hint comes from the input.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(8192));
                while let Some(x) = seq.next_element::<f64>()? {
                    out.push(x);
                }
                Ok(EmbeddingVector::Float(out))
            }
        }
        d.deserialize_any(V)
    }
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The value of each base64 character; `INVALID` for the others.
const DECODE: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};
/// Any byte with one of the top two bits set is not a sextet.
const INVALID: u8 = 0xFF;

fn invalid_character(group: &[u8]) -> String {
    let bad = group
        .iter()
        .find(|&&c| DECODE[usize::from(c)] == INVALID)
        .copied()
        .unwrap_or(b'?');
    format!(
        "base64 embedding has an invalid character {:?}",
        char::from(bad)
    )
}

/// Decodes standard base64 (padding optional) into little-endian `f32`s,
/// four characters at a time through a table.
fn decode_f32(s: &str) -> Result<Vec<f32>, String> {
    let text = s.trim_end_matches('=');
    if s.len() - text.len() > 2 {
        return Err("base64 embedding has too much padding".into());
    }
    let bytes = text.as_bytes();
    if bytes.len() % 4 == 1 {
        return Err("base64 embedding has a truncated final group".into());
    }
    let mut raw = Vec::with_capacity(bytes.len() / 4 * 3 + 3);
    let mut groups = bytes.chunks_exact(4);
    for g in &mut groups {
        let (a, b, c, d) = (
            DECODE[usize::from(g[0])],
            DECODE[usize::from(g[1])],
            DECODE[usize::from(g[2])],
            DECODE[usize::from(g[3])],
        );
        if (a | b | c | d) & 0xC0 != 0 {
            return Err(invalid_character(g));
        }
        let n = u32::from(a) << 18 | u32::from(b) << 12 | u32::from(c) << 6 | u32::from(d);
        let [_, x, y, z] = n.to_be_bytes();
        raw.extend_from_slice(&[x, y, z]);
    }
    let tail = groups.remainder();
    if !tail.is_empty() {
        let mut n = 0u32;
        for (i, &ch) in tail.iter().enumerate() {
            let v = DECODE[usize::from(ch)];
            if v == INVALID {
                return Err(invalid_character(tail));
            }
            n |= u32::from(v) << (18 - 6 * i);
        }
        let [_, x, y, _] = n.to_be_bytes();
        raw.push(x);
        if tail.len() == 3 {
            raw.push(y);
        }
    }
    if raw.len() % 4 != 0 {
        return Err(format!(
            "base64 embedding decodes to {} bytes, not a whole number of f32 values",
            raw.len()
        ));
    }
    Ok(raw
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Encodes `f32`s as standard, padded base64 of their little-endian bytes.
fn encode_f32(values: &[f32]) -> String {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut out = String::with_capacity(raw.len().div_ceil(3) * 4);
    for chunk in raw.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl crate::tolerant::Empty for EmbeddingVector {
    fn empty() -> Self {
        Self::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        // 1.0f32 = 00 00 80 3f, -2.0f32 = 00 00 00 c0
        assert_eq!(encode_f32(&[1.0, -2.0]), "AACAPwAAAMA=");
        assert_eq!(decode_f32("AACAPwAAAMA=").unwrap(), vec![1.0, -2.0]);
        assert_eq!(decode_f32("AACAPwAAAMA").unwrap(), vec![1.0, -2.0]);
        assert_eq!(decode_f32("").unwrap(), Vec::<f32>::new());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in ["A", "AAAA", "AACAP!==", "AACAPw===", "AACAPwAAAMA=x", "é"] {
            assert!(decode_f32(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<EmbeddingVector>(&format!("{bad:?}")).is_err());
        }
        assert!(serde_json::from_str::<EmbeddingVector>("{}").is_err());
        assert!(serde_json::from_str::<EmbeddingVector>("[\"x\"]").is_err());
    }

    proptest! {
        #[test]
        fn base64_round_trips(values in proptest::collection::vec(any::<f32>(), 0..64)) {
            let bits: Vec<u32> = values.iter().map(|v| v.to_bits()).collect();
            let back = decode_f32(&encode_f32(&values)).unwrap();
            let back_bits: Vec<u32> = back.iter().map(|v| v.to_bits()).collect();
            prop_assert_eq!(bits, back_bits);
            // Through serde as well, byte for byte.
            let json = serde_json::to_string(&EmbeddingVector::Base64(values.clone())).unwrap();
            let again: EmbeddingVector = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(serde_json::to_string(&again).unwrap(), json);
        }

        #[test]
        fn decoding_never_panics(s in "[A-Za-z0-9+/=!é\\- ]{0,40}") {
            let _ = decode_f32(&s);
        }

        /// A character outside the alphabet anywhere (full group or tail)
        /// is refused.
        #[test]
        fn a_foreign_character_is_always_refused(
            values in proptest::collection::vec(any::<f32>(), 1..16),
            at in any::<prop::sample::Index>(),
            bad in prop::sample::select(vec!['!', '-', '_', ' ', '.', '\u{e9}']),
        ) {
            let mut text: Vec<char> = encode_f32(&values).trim_end_matches('=').chars().collect();
            let i = at.index(text.len());
            text[i] = bad;
            let text: String = text.into_iter().collect();
            prop_assert!(decode_f32(&text).is_err(), "{}", text);
        }
    }
}
