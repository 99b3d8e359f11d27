//! The property the `responses` fuzz target checks, shared with the corpus
//! replay test (`tests/fuzz_corpus.rs`). Behind the `fuzzing` feature, which
//! turns on every area; not part of the stable API.
//!
//! An input is two selector bytes (big-endian) and a body. The selector picks
//! one of [`types`]: the first whose selector is at least the input's, wrapping
//! to the first. The body must either fail to deserialize into that type, or
//! serialize, deserialize again from its own JSON into an equal value and
//! serialize to the same bytes. Anything else panics, so that the fuzzer
//! reports the input.

use core::any::type_name;
use core::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::generated::fuzz_table::TYPES;

/// One response type of the table.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The selector (the first two input bytes, big-endian) that picks
    /// exactly this type. It comes from a hash of the name, so it does not
    /// change when other types come and go.
    pub selector: u16,
    /// The type's name in this crate.
    pub name: &'static str,
    /// Whether operations stream this type as events.
    pub stream: bool,
    /// The property check on a body; returns whether the body deserialized.
    pub check: fn(&[u8]) -> bool,
}

/// Every type an operation answers with (JSON bodies and stream events),
/// sorted by selector.
pub fn types() -> &'static [Entry] {
    TYPES
}

/// The type that `selector` picks.
pub fn entry(selector: u16) -> Option<&'static Entry> {
    let i = TYPES.partition_point(|e| e.selector < selector);
    TYPES.get(i).or(TYPES.first())
}

/// The `responses` fuzz target: checks the body (`data` after two selector
/// bytes) against the type the selector picks. Returns whether the body
/// deserialized; an input shorter than two bytes checks nothing.
///
/// # Panics
///
/// When the round trip property of [`check`] fails.
pub fn responses(data: &[u8]) -> bool {
    let [a, b, body @ ..] = data else {
        return false;
    };
    entry(u16::from_be_bytes([*a, *b])).is_some_and(|e| (e.check)(body))
}

/// Deserializes `body` as `T`; when that succeeds, the value must serialize,
/// its JSON must deserialize into an equal value, and that value must
/// serialize to the same JSON. Returns whether `body` deserialized.
///
/// # Panics
///
/// When the property fails, with the type and both JSON texts in the message.
pub fn check<T>(body: &[u8]) -> bool
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let Ok(first) = serde_json::from_slice::<T>(body) else {
        return false;
    };
    let ty = type_name::<T>();
    let json = match serde_json::to_vec(&first) {
        Ok(j) => j,
        Err(e) => panic!("{ty}: a deserialized value does not serialize: {e}\n{first:?}"),
    };
    let text = String::from_utf8_lossy(&json);
    let second = match serde_json::from_slice::<T>(&json) {
        Ok(v) => v,
        Err(e) => panic!("{ty}: its own JSON does not deserialize: {e}\n{text}"),
    };
    let again = match serde_json::to_vec(&second) {
        Ok(j) => j,
        Err(e) => panic!("{ty}: a re-read value does not serialize: {e}\n{second:?}"),
    };
    assert!(
        json == again,
        "{ty}: JSON changes on a second round trip\nfirst:  {text}\nsecond: {}",
        String::from_utf8_lossy(&again)
    );
    assert!(
        first == second,
        "{ty}: the same JSON gives a different value\nJSON: {text}\nfirst:  {first:?}\nsecond: {second:?}"
    );
    true
}
