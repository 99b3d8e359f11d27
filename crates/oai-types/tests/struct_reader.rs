//! The generated structs' own `Deserialize` (one visitor per struct, written
//! by the generator) on inputs a hostile or sloppy server sends: keys written
//! with escapes, a field given twice, unknown keys, the wrong JSON kind, and
//! the same bytes through `serde_json::Value` (the path unions take).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oai_types::CompletionUsage;
use serde_json::{Value, json};

fn read(text: &str) -> Result<CompletionUsage, String> {
    let direct = serde_json::from_str::<CompletionUsage>(text).map_err(|e| e.to_string());
    // The same through a `Value`, by reference and by value: same outcome.
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        let by_ref = CompletionUsage::deserialize_from(&value);
        let by_val = serde_json::from_value::<CompletionUsage>(value).map_err(|e| e.to_string());
        assert_eq!(direct.is_ok(), by_ref.is_ok(), "{text}");
        assert_eq!(direct.is_ok(), by_val.is_ok(), "{text}");
        if let (Ok(a), Ok(b), Ok(c)) = (&direct, &by_ref, &by_val) {
            assert_eq!((a, a), (b, c), "{text}");
        }
    }
    direct
}

trait FromRef: Sized {
    fn deserialize_from(value: &Value) -> Result<Self, String>;
}

impl FromRef for CompletionUsage {
    fn deserialize_from(value: &Value) -> Result<Self, String> {
        serde::Deserialize::deserialize(value).map_err(|e: serde_json::Error| e.to_string())
    }
}

#[test]
fn escaped_keys_are_the_keys_they_spell() {
    // `\u0070rompt_tokens` is `prompt_tokens`; an escaped unknown key is kept
    // under its real name.
    let usage =
        read(r#"{"\u0070rompt_tokens":3,"completion_tokens":4,"total_tokens":7,"c\u006fst":0.5}"#)
            .unwrap();
    assert_eq!(usage.prompt_tokens, 3);
    assert_eq!(usage.extra.get("cost"), Some(&json!(0.5)));
    assert_eq!(usage.extra.len(), 1);
}

#[test]
fn a_field_given_twice_is_refused_even_when_one_spelling_is_escaped() {
    for text in [
        r#"{"prompt_tokens":1,"prompt_tokens":2,"completion_tokens":0,"total_tokens":0}"#,
        r#"{"prompt_tokens":1,"\u0070rompt_tokens":2,"completion_tokens":0,"total_tokens":0}"#,
    ] {
        // Straight from the bytes (a `Value` keeps only the last of two
        // equal keys, so through one there is nothing left to refuse).
        let err = serde_json::from_str::<CompletionUsage>(text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate field `prompt_tokens`"), "{err}");
    }
}

#[test]
fn unknown_keys_are_kept_and_written_back() {
    let text = json!({
        "prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3,
        "cost": 0.0012, "prompt_cache_hit_tokens": 1, "nested": {"a": [1, null]}
    });
    let usage = read(&text.to_string()).unwrap();
    assert_eq!(usage.extra.len(), 3);
    assert_eq!(serde_json::to_value(&usage).unwrap(), text);
}

#[test]
fn only_an_object_is_a_struct() {
    for text in ["[1,2,3]", "\"usage\"", "7", "true"] {
        let err = read(text).unwrap_err();
        assert!(err.contains("a `CompletionUsage` object"), "{text}: {err}");
    }
    // `null` where a struct is expected is the caller's field rule, not the
    // struct's: on its own it is refused too.
    assert!(read("null").is_err());
}

#[test]
fn a_wrong_kind_inside_is_an_error_naming_the_field_type() {
    let err =
        read(r#"{"prompt_tokens":"many","completion_tokens":0,"total_tokens":0}"#).unwrap_err();
    // Tolerant reading says "integer"; `--cfg oai_strict` is serde's own
    // `i64` reader.
    assert!(
        err.contains("integer") || err.contains("expected i64"),
        "{err}"
    );
}

#[test]
fn written_back_in_declaration_order_absent_options_left_out_unknown_keys_last() {
    // The shape of DeepSeek's usage (its cache counters are not in the
    // schema), keys in the schema's order: the text comes back byte for byte.
    let text = r#"{"completion_tokens":2,"prompt_tokens":1,"total_tokens":3,"prompt_tokens_details":{"cached_tokens":0},"prompt_cache_hit_tokens":0,"prompt_cache_miss_tokens":1}"#;
    let usage = read(text).unwrap();
    assert!(usage.completion_tokens_details.is_none());
    assert_eq!(serde_json::to_string(&usage).unwrap(), text);
}
