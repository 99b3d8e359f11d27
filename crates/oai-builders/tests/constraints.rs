//! Each kind of constraint the generated `Validate` impls enforce, checked on
//! real request types (built from JSON the way a caller's request would be),
//! plus property tests: values inside a bound pass, values outside fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use oai_builders::Validate;
use oai_builders::types::{
    CreateChatCompletionRequest, CreateFineTuningJobRequest, CreateResponse,
    CreateVectorStoreFileBatchRequest, ServiceTier,
};
use oai_builders::validate::{MAX_DEPTH, Path, Violations};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// `base` with the fields of `extra` set (replaced when present).
fn with(mut base: Value, extra: Value) -> Value {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        b.extend(e);
    }
    base
}

fn read<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("the JSON has the request's shape")
}

/// A chat request with one user message and the fields of `extra`.
fn chat(extra: Value) -> CreateChatCompletionRequest {
    read(with(
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        extra,
    ))
}

/// A fine-tuning job with the fields of `extra`.
fn fine_tune(extra: Value) -> CreateFineTuningJobRequest {
    read(with(
        json!({"model": "gpt-4o-mini", "training_file": "file-abc123"}),
        extra,
    ))
}

/// A fine-tuning job using DPO with this `beta`.
fn dpo_beta(beta: f64) -> CreateFineTuningJobRequest {
    fine_tune(json!({"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": beta}}}}))
}

/// A vector store file batch with `n` file ids.
fn file_batch(n: usize) -> CreateVectorStoreFileBatchRequest {
    read(json!({"file_ids": vec!["file-abc123"; n]}))
}

/// Every violation, rendered `path: message`, in the order found.
fn violations<T: Validate>(value: &T) -> Vec<String> {
    match value.validate() {
        Ok(()) => Vec::new(),
        Err(e) => e.violations().iter().map(ToString::to_string).collect(),
    }
}

fn ok<T: Validate>(value: &T) -> bool {
    value.validate().is_ok()
}

#[test]
fn required_fields_are_enforced_by_the_types() {
    // Built in Rust, a required field cannot be left out. Read from JSON, it
    // is refused when strict (`--cfg oai_strict`); tolerant decoding reads it
    // as empty, and validation refuses what the API would.
    let read = serde_json::from_value::<CreateChatCompletionRequest>(json!({"model": "gpt-4o"}));
    if cfg!(oai_strict) {
        let err = read.unwrap_err();
        assert!(
            err.to_string().contains("missing field `messages`"),
            "{err}"
        );
    } else {
        let req = read.unwrap();
        assert!(req.messages.is_empty());
        assert_eq!(violations(&req), ["messages: must not be empty"]);
    }
    // A minimum of 0 on an integer makes it unsigned: a negative never gets in.
    let err = serde_json::from_value::<CreateChatCompletionRequest>(with(
        json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}),
        json!({"top_logprobs": -1}),
    ))
    .unwrap_err();
    assert!(err.to_string().contains("invalid value"), "{err}");
    assert_eq!(violations(&chat(json!({}))), Vec::<String>::new());
}

#[test]
fn inclusive_bounds() {
    assert!(ok(&chat(json!({"top_logprobs": 0}))));
    assert!(ok(&chat(json!({"top_logprobs": 20}))));
    assert_eq!(
        violations(&chat(json!({"top_logprobs": 21}))),
        ["top_logprobs: must be at most 20 (is 21)"]
    );
    assert!(ok(&chat(json!({"temperature": 0.0}))));
    assert!(ok(&chat(json!({"temperature": 2.0}))));
    assert_eq!(
        violations(&chat(json!({"temperature": 2.5}))),
        ["temperature: must be at most 2 (is 2.5)"]
    );
    assert_eq!(
        violations(&chat(json!({"temperature": -0.5}))),
        ["temperature: must be at least 0 (is -0.5)"]
    );
    assert!(ok(&chat(json!({"frequency_penalty": -2.0}))));
    assert!(ok(&chat(json!({"presence_penalty": 2.0}))));
    assert_eq!(
        violations(&chat(json!({"frequency_penalty": -2.01}))),
        ["frequency_penalty: must be at least -2 (is -2.01)"]
    );
    assert_eq!(
        violations(&chat(json!({"n": 0}))),
        ["n: must be at least 1 (is 0)"]
    );
}

#[test]
fn exclusive_bounds() {
    // DPO beta: 0 < beta <= 2.
    assert_eq!(
        violations(&dpo_beta(0.0)),
        ["method.dpo.hyperparameters.beta: must be greater than 0 (is 0)"]
    );
    assert!(ok(&dpo_beta(f64::MIN_POSITIVE)));
    assert!(ok(&dpo_beta(2.0)));
    assert_eq!(
        violations(&dpo_beta(2.5)),
        ["method.dpo.hyperparameters.beta: must be at most 2 (is 2.5)"]
    );
    // The deprecated top-level hyperparameters: learning_rate_multiplier > 0,
    // or the string "auto" (the other branch of its union, unbounded).
    let lr = |v: Value| fine_tune(json!({"hyperparameters": {"learning_rate_multiplier": v}}));
    assert_eq!(
        violations(&lr(json!(0.0))),
        ["hyperparameters.learning_rate_multiplier: must be greater than 0 (is 0)"]
    );
    assert!(ok(&lr(json!(0.1))));
    assert!(ok(&lr(json!("auto"))));
}

#[test]
fn integer_bounds_are_exact() {
    // 2^31 - 1 is the largest seed; one more is refused although both are
    // the same distance from the bound's f64.
    assert!(ok(&fine_tune(json!({"seed": 2_147_483_647_i64}))));
    assert_eq!(
        violations(&fine_tune(json!({"seed": 2_147_483_648_i64}))),
        ["seed: must be at most 2147483647 (is 2147483648)"]
    );
    let negative = with(
        json!({"model": "gpt-4o-mini", "training_file": "file-abc123"}),
        json!({"seed": -1}),
    );
    assert!(serde_json::from_value::<CreateFineTuningJobRequest>(negative).is_err());
    // The full i64 range of the chat seed is accepted at both ends.
    assert!(ok(&chat(json!({"seed": i64::MIN}))));
    assert!(ok(&chat(json!({"seed": i64::MAX}))));
}

#[test]
fn string_lengths_count_characters() {
    assert_eq!(
        violations(&fine_tune(json!({"suffix": ""}))),
        ["suffix: must not be empty"]
    );
    assert!(ok(&fine_tune(json!({"suffix": "a"}))));
    assert!(ok(&fine_tune(json!({"suffix": "x".repeat(64)}))));
    // 64 characters of two bytes each: 128 bytes, still within the bound.
    assert!(ok(&fine_tune(json!({"suffix": "é".repeat(64)}))));
    assert_eq!(
        violations(&fine_tune(json!({"suffix": "é".repeat(65)}))),
        ["suffix: must have at most 64 characters (has 65)"]
    );
    assert_eq!(
        violations(&chat(json!({"safety_identifier": "u".repeat(65)}))),
        ["safety_identifier: must have at most 64 characters (has 65)"]
    );
}

#[test]
fn item_counts() {
    assert_eq!(
        violations(&chat(json!({"messages": []}))),
        ["messages: must not be empty"]
    );
    assert_eq!(violations(&file_batch(0)), ["file_ids: must not be empty"]);
    assert!(ok(&file_batch(1)));
    assert!(ok(&file_batch(2000)));
    assert_eq!(
        violations(&file_batch(2001)),
        ["file_ids: must have at most 2000 items (has 2001)"]
    );
}

#[test]
fn entry_counts_and_key_lengths() {
    let attrs = |n: usize, key_len: usize| -> CreateVectorStoreFileBatchRequest {
        let map: serde_json::Map<String, Value> = (0..n)
            .map(|i| (format!("{i:0>key_len$}"), json!("v")))
            .collect();
        read(json!({"file_ids": ["file-abc123"], "attributes": map}))
    };
    assert!(ok(&attrs(16, 2)));
    assert_eq!(
        violations(&attrs(17, 2)),
        ["attributes: must have at most 16 entries (has 17)"]
    );
    assert!(ok(&attrs(1, 64)));
    let long = "0".repeat(65);
    assert_eq!(
        violations(&attrs(1, 65)),
        [format!(
            "attributes[{long:?}]: must have at most 64 characters (has 65)"
        )]
    );
}

#[test]
fn patterns() {
    let mcp = |tunnel: &str| -> CreateResponse {
        read(json!({
            "model": "gpt-4.1",
            "input": "hi",
            "tools": [{"type": "mcp", "server_label": "docs", "tunnel_id": tunnel}],
        }))
    };
    assert!(ok(&mcp(&format!("tunnel_{}", "a1".repeat(16)))));
    for bad in [
        format!("tunnel_{}", "a1".repeat(15)),
        format!("tunnel_{}", "A1".repeat(16)),
        format!("tunnel_{}x", "a1".repeat(16)),
        format!("Tunnel_{}", "a1".repeat(16)),
        String::new(),
    ] {
        assert_eq!(
            violations(&mcp(&bad)),
            ["tools[0].tunnel_id: must match the pattern ^tunnel_[a-z0-9]{32}$"],
            "{bad:?}"
        );
    }
}

#[test]
fn enum_values_the_api_adds_later_are_sent() {
    // A value this crate does not know (written as `Unknown(..)`, or read
    // from a string) is kept and passes validation: the API adds values
    // (a new `service_tier`, `reasoning_effort`) before a release of ours.
    let req = chat(json!({"service_tier": "ultra"}));
    assert_eq!(req.service_tier.as_ref().map(|t| t.as_str()), Some("ultra"));
    assert!(ok(&req));
    let wire = serde_json::to_value(&req).unwrap();
    assert_eq!(wire["service_tier"], "ultra");
    for known in ServiceTier::VALUES {
        assert!(ok(&chat(json!({"service_tier": known}))), "{known}");
    }
    // An open enum (the model: known names or any string) takes new values.
    assert!(ok(&chat(json!({"model": "gpt-from-the-future"}))));
}

#[test]
fn nested_paths_render() {
    let req = chat(json!({"messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
        {"role": "user", "content": []},
    ]}));
    assert_eq!(violations(&req), ["messages[2].content: must not be empty"]);
    let err = req.validate().unwrap_err();
    assert_eq!(err.violations()[0].path, "messages[2].content");
    assert_eq!(err.violations()[0].message, "must not be empty");
}

#[test]
fn every_violation_is_listed_at_once() {
    let req = chat(json!({
        "messages": [{"role": "user", "content": []}],
        "top_logprobs": 30,
        "temperature": 3.0,
        "service_tier": "ultra",
        "safety_identifier": "u".repeat(100),
    }));
    let found = violations(&req);
    assert_eq!(found.len(), 4, "{found:#?}");
    for expected in [
        "messages[0].content: must not be empty",
        "top_logprobs: must be at most 20 (is 30)",
        "temperature: must be at most 2 (is 3)",
        "safety_identifier: must have at most 64 characters (has 100)",
    ] {
        assert!(
            found.iter().any(|f| f == expected),
            "{expected}: {found:#?}"
        );
    }
    // The error's one line lists them all.
    let line = req.validate().unwrap_err().to_string();
    assert!(line.starts_with("invalid request: "), "{line}");
    assert_eq!(line.matches("; ").count(), 3, "{line}");
}

#[test]
fn nan_and_infinities_are_refused() {
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut req = chat(json!({}));
        req.temperature = Some(bad);
        assert_eq!(
            violations(&req),
            [format!("temperature: must be a finite number (is {bad})")]
        );
        let mut job = dpo_beta(1.0);
        let hyper = job
            .method
            .as_mut()
            .and_then(|m| m.dpo.as_mut())
            .and_then(|d| d.hyperparameters.as_mut())
            .unwrap();
        hyper.beta = Some(bad.into());
        assert_eq!(
            violations(&job),
            [format!(
                "method.dpo.hyperparameters.beta: must be a finite number (is {bad})"
            )]
        );
    }
}

/// Calls `f` with a path `depth` fields below the root.
fn at_depth(depth: usize, parent: &Path<'_>, f: &mut dyn FnMut(&Path<'_>)) {
    if depth == 0 {
        f(parent);
    } else {
        at_depth(depth - 1, &parent.field("n"), f);
    }
}

#[test]
fn depth_is_capped() {
    // A request that is full of violations...
    let req = chat(json!({"messages": [], "top_logprobs": 99}));
    assert_eq!(violations(&req).len(), 2);
    // ...met below the cap is walked as usual...
    at_depth(MAX_DEPTH - 1, &Path::root(), &mut |at| {
        let mut out = Violations::new();
        req.check(at, &mut out);
        assert_eq!(out.len(), 2);
    });
    // ...and past the cap is reported once, at its own path, without being walked.
    at_depth(MAX_DEPTH + 1, &Path::root(), &mut |at| {
        let mut out = Violations::new();
        req.check(at, &mut out);
        let found: Vec<_> = out.iter().collect();
        assert_eq!(found.len(), 1, "{found:#?}");
        assert_eq!(
            found[0].message,
            format!("nested deeper than {MAX_DEPTH} levels")
        );
        assert_eq!(found[0].path.matches('n').count(), MAX_DEPTH + 1);
    });
}

proptest! {
    #[test]
    fn top_logprobs_in_0_to_20_pass(v in 0u64..=20) {
        let req = chat(json!({"top_logprobs": v}));
        prop_assert!(ok(&req), "{:?}", violations(&req));
    }

    #[test]
    fn top_logprobs_above_20_fail(v in 21u64..) {
        prop_assert_eq!(
            violations(&chat(json!({"top_logprobs": v}))),
            vec![format!("top_logprobs: must be at most 20 (is {v})")]
        );
    }

    #[test]
    fn temperature_in_0_to_2_passes(v in 0.0f64..=2.0) {
        let req = chat(json!({"temperature": v}));
        prop_assert!(ok(&req), "{:?}", violations(&req));
    }

    #[test]
    fn temperature_outside_0_to_2_fails(
        v in prop_oneof![-1e300f64..0.0, (2.0f64..1e300).prop_filter("above 2", |v| *v > 2.0)]
    ) {
        prop_assert_eq!(violations(&chat(json!({"temperature": v}))).len(), 1);
    }

    #[test]
    fn penalties_in_range_pass(f in -2.0f64..=2.0, p in -2.0f64..=2.0) {
        let req = chat(json!({"frequency_penalty": f, "presence_penalty": p}));
        prop_assert!(ok(&req), "{:?}", violations(&req));
    }

    #[test]
    fn penalties_out_of_range_fail(excess in f64::EPSILON..1e6, below in any::<bool>()) {
        let v = if below { -2.0 - excess } else { 2.0 + excess };
        // 2 + excess may round to 2 for the smallest excess: skip those.
        prop_assume!(v.abs() > 2.0);
        let found = violations(&chat(json!({"frequency_penalty": v, "presence_penalty": v})));
        prop_assert_eq!(found.len(), 2, "{:?}", found);
    }

    #[test]
    fn dpo_beta_is_exclusive_at_0(v in -1e6f64..=2.0) {
        prop_assert_eq!(ok(&dpo_beta(v)), v > 0.0);
    }

    #[test]
    fn suffix_lengths(s in "\\PC{0,100}") {
        let n = s.chars().count();
        prop_assert_eq!(ok(&fine_tune(json!({"suffix": s}))), (1..=64).contains(&n));
    }

    #[test]
    fn message_counts(n in 0usize..8) {
        let messages = vec![json!({"role": "user", "content": "hi"}); n];
        prop_assert_eq!(ok(&chat(json!({"messages": messages}))), n >= 1);
    }

    #[test]
    fn file_id_counts(n in prop_oneof![0usize..=3, 1995usize..=2005]) {
        prop_assert_eq!(ok(&file_batch(n)), (1..=2000).contains(&n));
    }
}
