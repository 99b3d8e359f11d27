//! Webhook signatures and events. Deliveries are signed here with `hmac` and
//! `sha2` directly (not with `WebhookVerifier::sign`), so the verifier is
//! checked against an independent signer. The spec is read at test time from
//! `$OAI_OPENAPI_SPEC`, else `../shared/openapi/openapi.yaml` beside the workspace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, HeaderValue};
use oai_webhooks::{ReplayGuard, WebhookError, WebhookEvent, WebhookVerifier};
use proptest::prelude::*;
use serde_json::{Value, json};
use sha2::Sha256;
use yaml_rust2::{Yaml, YamlLoader};

/// The key behind `SECRET`.
const KEY: &[u8] = b"a test key of 32 bytes, exactly!";
/// "Now" for every test: the spec examples' `created_at`.
const NOW: u64 = 1_719_168_000;

fn secret() -> String {
    format!("whsec_{}", STANDARD.encode(KEY))
}

/// The independent signer: `v1,` + base64(HMAC-SHA256(key, "{id}.{ts}.{body}")).
fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    let mut content = Vec::new();
    content.extend_from_slice(id.as_bytes());
    content.push(b'.');
    content.extend_from_slice(timestamp.as_bytes());
    content.push(b'.');
    content.extend_from_slice(body);
    mac.update(&content);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds)
}

fn verifier() -> WebhookVerifier {
    WebhookVerifier::new(secret())
        .unwrap()
        .with_clock(|| at(NOW))
}

fn headers(id: &str, timestamp: &str, signature: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("webhook-id", HeaderValue::from_str(id).unwrap());
    h.insert(
        "webhook-timestamp",
        HeaderValue::from_str(timestamp).unwrap(),
    );
    h.insert(
        "webhook-signature",
        HeaderValue::from_str(signature).unwrap(),
    );
    h
}

/// Headers of a delivery signed with `KEY` at `timestamp`.
fn signed(id: &str, timestamp: u64, body: &[u8]) -> HeaderMap {
    let ts = timestamp.to_string();
    headers(id, &ts, &sign(KEY, id, &ts, body))
}

const BODY: &[u8] = br#"{"id":"evt_abc123","type":"response.completed","created_at":1719168000,"data":{"id":"resp_abc123"}}"#;

#[test]
fn valid_delivery_verifies_and_decodes() {
    let v = verifier();
    let h = signed("wh_1", NOW, BODY);
    v.verify(&h, BODY).unwrap();
    match v.verify_event(&h, BODY).unwrap() {
        WebhookEvent::ResponseCompleted(e) => {
            assert_eq!(e.id, "evt_abc123");
            assert_eq!(e.data.id, "resp_abc123");
            assert_eq!(e.created_at, 1_719_168_000);
        }
        other => panic!("expected response.completed, got {other:?}"),
    }
}

#[test]
fn lookup_function_works_like_header_map() {
    let v = verifier();
    let ts = NOW.to_string();
    let sig = sign(KEY, "wh_1", &ts, BODY);
    // Mixed-case names, as a framework might hand them over.
    let pairs = [
        ("Webhook-Id", "wh_1"),
        ("WEBHOOK-TIMESTAMP", ts.as_str()),
        ("Webhook-Signature", sig.as_str()),
        ("Content-Type", "application/json"),
    ];
    let lookup = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    };
    v.verify_with(lookup, BODY).unwrap();
    let event = v.verify_event_with(lookup, BODY).unwrap();
    assert_eq!(event.tag(), Some("response.completed"));
    assert_eq!(event.id(), Some("evt_abc123"));
    assert_eq!(event.created_at(), Some(1_719_168_000));

    let bad = [("webhook-id", "wh_1"), ("webhook-timestamp", ts.as_str())];
    let lookup = |name: &str| bad.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    assert!(matches!(
        v.verify_with(lookup, BODY),
        Err(WebhookError::MissingHeader {
            name: "webhook-signature"
        })
    ));
}

#[test]
fn sign_agrees_with_the_independent_signer() {
    let v = verifier();
    for (id, ts, body) in [
        ("wh_1", 1_719_168_000_i64, BODY),
        (
            "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
            1_674_087_231,
            b"".as_slice(),
        ),
        ("x", 0, b"\xff\x00 not utf-8".as_slice()),
    ] {
        assert_eq!(v.sign(id, ts, body), sign(KEY, id, &ts.to_string(), body));
    }
}

#[test]
fn wrong_secret_is_rejected() {
    let other = format!(
        "whsec_{}",
        STANDARD.encode(b"another key entirely, 32 bytes!!")
    );
    let v = WebhookVerifier::new(other).unwrap().with_clock(|| at(NOW));
    assert!(matches!(
        v.verify(&signed("wh_1", NOW, BODY), BODY),
        Err(WebhookError::NoMatchingSignature)
    ));
}

#[test]
fn tampered_body_is_rejected() {
    let v = verifier();
    let h = signed("wh_1", NOW, BODY);
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("resp_abc123", "resp_abc124");
    assert!(matches!(
        v.verify(&h, tampered.as_bytes()),
        Err(WebhookError::NoMatchingSignature)
    ));
    // Re-serialized JSON (same meaning, other bytes) does not keep the signature.
    let reserialized =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(BODY).unwrap()).unwrap();
    assert!(matches!(
        v.verify(&h, &reserialized),
        Err(WebhookError::NoMatchingSignature)
    ));
    // A trailing newline is a change too.
    let mut newline = BODY.to_vec();
    newline.push(b'\n');
    assert!(v.verify(&h, &newline).is_err());
}

#[test]
fn tampered_id_or_timestamp_is_rejected() {
    let v = verifier();
    let ts = NOW.to_string();
    let sig = sign(KEY, "wh_1", &ts, BODY);
    assert!(matches!(
        v.verify(&headers("wh_2", &ts, &sig), BODY),
        Err(WebhookError::NoMatchingSignature)
    ));
    // Still inside the tolerance, but not what was signed.
    let later = (NOW + 1).to_string();
    assert!(matches!(
        v.verify(&headers("wh_1", &later, &sig), BODY),
        Err(WebhookError::NoMatchingSignature)
    ));
    // The same number written differently is not what was signed either.
    let padded = format!("0{ts}");
    assert!(matches!(
        v.verify(&headers("wh_1", &padded, &sig), BODY),
        Err(WebhookError::NoMatchingSignature)
    ));
}

#[test]
fn timestamps_outside_the_tolerance_are_rejected_both_ways() {
    let v = verifier();
    // The edges pass.
    v.verify(&signed("wh_1", NOW - 300, BODY), BODY).unwrap();
    v.verify(&signed("wh_1", NOW + 300, BODY), BODY).unwrap();
    match v.verify(&signed("wh_1", NOW - 301, BODY), BODY) {
        Err(WebhookError::TimestampTooOld { age, tolerance }) => {
            assert_eq!(age, Duration::from_secs(301));
            assert_eq!(tolerance, Duration::from_secs(300));
        }
        other => panic!("expected too old, got {other:?}"),
    }
    match v.verify(&signed("wh_1", NOW + 3600, BODY), BODY) {
        Err(WebhookError::TimestampTooNew { ahead, tolerance }) => {
            assert_eq!(ahead, Duration::from_secs(3600));
            assert_eq!(tolerance, Duration::from_secs(300));
        }
        other => panic!("expected too new, got {other:?}"),
    }
    // A very old delivery (timestamp 0) and one far in the future.
    assert!(matches!(
        v.verify(&signed("wh_1", 0, BODY), BODY),
        Err(WebhookError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        v.verify(&signed("wh_1", i64::MAX as u64, BODY), BODY),
        Err(WebhookError::TimestampTooNew { .. })
    ));
}

#[test]
fn tolerance_is_configurable() {
    let v = verifier().with_tolerance(Duration::from_secs(10));
    assert_eq!(v.tolerance(), Duration::from_secs(10));
    v.verify(&signed("wh_1", NOW - 10, BODY), BODY).unwrap();
    let err = v.verify(&signed("wh_1", NOW - 11, BODY), BODY).unwrap_err();
    assert!(matches!(err, WebhookError::TimestampTooOld { .. }));
    assert_eq!(
        err.to_string(),
        "webhook timestamp is 11 s old, more than the tolerance of 10 s"
    );
    let err = v.verify(&signed("wh_1", NOW + 11, BODY), BODY).unwrap_err();
    assert_eq!(
        err.to_string(),
        "webhook timestamp is 11 s in the future, more than the tolerance of 10 s"
    );
}

#[test]
fn replays_pass_without_a_guard_as_in_the_official_sdks() {
    let v = verifier();
    let h = signed("wh_1", NOW, BODY);
    v.verify(&h, BODY).unwrap();
    v.verify(&h, BODY).unwrap();
    assert!(v.replay_guard().is_none());
}

#[test]
fn replay_guard_rejects_a_second_delivery_of_an_id() {
    let v = verifier().with_replay_guard(ReplayGuard::new(100));
    let h = signed("wh_1", NOW, BODY);
    v.verify_event(&h, BODY).unwrap();
    let err = v.verify_event(&h, BODY).unwrap_err();
    assert!(err.is_replay());
    assert!(matches!(&err, WebhookError::Replayed { id } if id == "wh_1"));
    // A retry re-signed with a new timestamp but the same id is a duplicate too.
    assert!(
        v.verify(&signed("wh_1", NOW + 5, BODY), BODY)
            .unwrap_err()
            .is_replay()
    );
    // Other ids pass.
    v.verify(&signed("wh_2", NOW, BODY), BODY).unwrap();
    assert_eq!(v.replay_guard().unwrap().len(), 2);

    // Forgetting an id lets its retry through.
    assert!(v.replay_guard().unwrap().forget("wh_1"));
    assert!(!v.replay_guard().unwrap().forget("wh_1"));
    v.verify(&h, BODY).unwrap();
}

#[test]
fn replay_guard_records_only_accepted_deliveries() {
    let v = verifier().with_replay_guard(ReplayGuard::new(100));
    let guard = v.replay_guard().unwrap();
    // A bad signature, a stale timestamp, a body that is not an event: nothing recorded.
    let ts = NOW.to_string();
    assert!(
        v.verify(
            &headers("wh_1", &ts, &sign(b"wrong", "wh_1", &ts, BODY)),
            BODY
        )
        .is_err()
    );
    assert!(v.verify(&signed("wh_1", NOW - 1000, BODY), BODY).is_err());
    let not_event = b"[1, 2, 3]";
    assert!(matches!(
        v.verify_event(&signed("wh_1", NOW, not_event), not_event),
        Err(WebhookError::InvalidBody(_))
    ));
    assert!(guard.is_empty());
    v.verify(&signed("wh_1", NOW, BODY), BODY).unwrap();
    assert_eq!(guard.len(), 1);
}

#[test]
fn replay_guard_forgets_ids_once_their_window_has_passed() {
    let now = Arc::new(AtomicU64::new(NOW));
    let clock = Arc::clone(&now);
    let guard = Arc::new(ReplayGuard::new(2));
    let v = WebhookVerifier::new(secret())
        .unwrap()
        .with_clock(move || at(clock.load(Ordering::SeqCst)))
        .with_replay_guard(Arc::clone(&guard));

    v.verify(&signed("wh_1", NOW, BODY), BODY).unwrap();
    v.verify(&signed("wh_2", NOW + 100, BODY), BODY).unwrap();
    // Full: a third id inside the window is refused, not let through.
    let err = v.verify(&signed("wh_3", NOW, BODY), BODY).unwrap_err();
    assert!(matches!(err, WebhookError::ReplayGuardFull { capacity: 2 }));
    assert_eq!(guard.len(), 2);

    // 301 s later, wh_1's timestamp no longer passes: its place is free again,
    // and a replay of it is refused by the timestamp check instead.
    now.store(NOW + 301, Ordering::SeqCst);
    assert!(matches!(
        v.verify(&signed("wh_1", NOW, BODY), BODY),
        Err(WebhookError::TimestampTooOld { .. })
    ));
    v.verify(&signed("wh_3", NOW + 301, BODY), BODY).unwrap();
    assert_eq!(guard.len(), 2);
    // wh_2 is still inside its window.
    assert!(
        v.verify(&signed("wh_2", NOW + 100, BODY), BODY)
            .unwrap_err()
            .is_replay()
    );
}

#[test]
fn one_guard_can_be_shared_between_verifiers() {
    let guard = Arc::new(ReplayGuard::default());
    assert_eq!(guard.capacity(), 10_000);
    let a = verifier().with_replay_guard(Arc::clone(&guard));
    let b = verifier().with_replay_guard(Arc::clone(&guard));
    let h = signed("wh_1", NOW, BODY);
    a.verify(&h, BODY).unwrap();
    assert!(b.verify(&h, BODY).unwrap_err().is_replay());
    // Clones share it too.
    assert!(a.clone().verify(&h, BODY).unwrap_err().is_replay());
}

#[test]
fn missing_headers_are_named() {
    let v = verifier();
    let full = signed("wh_1", NOW, BODY);
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut h = full.clone();
        h.remove(name);
        match v.verify(&h, BODY) {
            Err(e @ WebhookError::MissingHeader { name: got }) => {
                assert_eq!(got, name);
                assert_eq!(e.to_string(), format!("webhook header `{name}` is missing"));
            }
            other => panic!("expected {name} missing, got {other:?}"),
        }
    }
}

#[test]
fn malformed_timestamps_are_rejected() {
    let v = verifier();
    let now = NOW.to_string();
    for bad in [
        "abc",
        "-5",
        "+1719168000",
        "1719168000.0",
        "1_719_168_000",
        "1719168000 ",
        "99999999999999999999",
        "0x10",
    ] {
        // Signed as is, so only the format is wrong.
        let sig = sign(KEY, "wh_1", bad, BODY);
        let lookup = |name: &str| match name {
            "webhook-id" => Some("wh_1"),
            "webhook-timestamp" => Some(bad),
            "webhook-signature" => Some(sig.as_str()),
            _ => None,
        };
        assert!(
            matches!(
                v.verify_with(lookup, BODY),
                Err(WebhookError::InvalidTimestamp)
            ),
            "{bad:?}"
        );
    }
    // The real one, for contrast.
    let sig = sign(KEY, "wh_1", &now, BODY);
    v.verify(&headers("wh_1", &now, &sig), BODY).unwrap();
}

#[test]
fn malformed_signature_headers_are_rejected() {
    let v = verifier();
    let ts = NOW.to_string();
    let good = sign(KEY, "wh_1", &ts, BODY);
    let good_b64 = good.strip_prefix("v1,").unwrap();
    let cases: &[(&str, String)] = &[
        // No `v1,` entry at all.
        ("bare base64", good_b64.to_owned()),
        ("other version only", format!("v2,{good_b64}")),
        ("upper-case version", format!("V1,{good_b64}")),
        ("v1 without comma", format!("v1{good_b64}")),
        // A `v1` entry that cannot be a signature.
        ("bad base64", "v1,not*base64!".to_owned()),
        ("short", format!("v1,{}", STANDARD.encode([7u8; 16]))),
        ("long", format!("v1,{}", STANDARD.encode([7u8; 33]))),
        ("empty v1", "v1,".to_owned()),
        ("unpadded", format!("v1,{}", good_b64.trim_end_matches('='))),
    ];
    for (what, sig) in cases {
        match v.verify(&headers("wh_1", &ts, sig), BODY) {
            Err(WebhookError::MalformedHeader { name, .. }) => {
                assert_eq!(name, "webhook-signature", "{what}")
            }
            other => panic!("{what}: expected malformed signature header, got {other:?}"),
        }
    }
}

#[test]
fn other_malformed_headers_are_rejected() {
    let v = verifier();
    let mut h = signed("wh_1", NOW, BODY);
    // Sent twice: ambiguous, refused.
    h.append("webhook-signature", HeaderValue::from_static("v1,AAAA"));
    assert!(matches!(
        v.verify(&h, BODY),
        Err(WebhookError::MalformedHeader {
            name: "webhook-signature",
            reason: "sent more than once"
        })
    ));
    // Not visible ASCII.
    let mut h = signed("wh_1", NOW, BODY);
    h.insert("webhook-id", HeaderValue::from_bytes(b"wh_\xe9").unwrap());
    assert!(matches!(
        v.verify(&h, BODY),
        Err(WebhookError::MalformedHeader {
            name: "webhook-id",
            ..
        })
    ));
    // Empty.
    let h = headers("", &NOW.to_string(), &sign(KEY, "", &NOW.to_string(), BODY));
    assert!(matches!(
        v.verify(&h, BODY),
        Err(WebhookError::MalformedHeader {
            name: "webhook-id",
            reason: "empty"
        })
    ));
}

#[test]
fn any_matching_signature_among_several_passes() {
    let v = verifier();
    let ts = NOW.to_string();
    let good = sign(KEY, "wh_1", &ts, BODY);
    let rotated_out = sign(b"the previous key", "wh_1", &ts, BODY);
    for header in [
        format!("{rotated_out} {good}"),
        format!("{good} {rotated_out}"),
        format!("v2,whatever {good}"),
        format!("v1a,xyz  {rotated_out}\t{good}"),
        // A malformed v1 entry does not spoil a matching one.
        format!("v1,@@@ {good}"),
    ] {
        v.verify(&headers("wh_1", &ts, &header), BODY)
            .unwrap_or_else(|e| panic!("{header}: {e}"));
    }
    // Several entries, none matching.
    let other = sign(b"yet another key", "wh_1", &ts, BODY);
    assert!(matches!(
        v.verify(
            &headers("wh_1", &ts, &format!("{rotated_out} {other}")),
            BODY
        ),
        Err(WebhookError::NoMatchingSignature)
    ));
}

#[test]
fn unknown_event_types_are_kept_whole() {
    let v = verifier();
    let body = br#"{"id":"evt_9","type":"video.completed","created_at":1719168000,"data":{"id":"video_1","extra":[1,2]}}"#;
    let event = v.verify_event(&signed("wh_1", NOW, body), body).unwrap();
    assert_eq!(event.tag(), Some("video.completed"));
    assert_eq!(event.id(), Some("evt_9"));
    assert_eq!(event.created_at(), Some(1_719_168_000));
    let raw: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event.as_unknown(), Some(&raw));
    assert_eq!(serde_json::to_value(&event).unwrap(), raw);
}

#[test]
fn bodies_that_are_not_events_are_errors() {
    // Tolerant decoding (a signed body comes from the API): an object without
    // `type` is kept whole, a known type without `data` reads it as empty.
    let untyped = WebhookEvent::from_json(br#"{"id":"evt_1"}"#).unwrap();
    assert_eq!(untyped.as_unknown(), Some(&json!({"id": "evt_1"})));
    let thin =
        WebhookEvent::from_json(br#"{"id":"evt_1","type":"batch.completed","created_at":1}"#)
            .unwrap();
    assert_eq!(thin.id(), Some("evt_1"));
    for (body, fragment) in [
        (&b"not json"[..], "expected"),
        (&b"[1]"[..], "expected an object"),
        (br#"{"type":7}"#, "must be a string"),
        // A known type whose fields do not fit: `data` is not an object.
        (
            br#"{"id":"evt_1","type":"batch.completed","created_at":1,"data":7}"#,
            "batch.completed",
        ),
    ] {
        let err = WebhookEvent::from_json(body).unwrap_err();
        assert!(matches!(err, WebhookError::InvalidBody(_)));
        let message = err.to_string();
        assert!(message.starts_with("webhook body is not a valid event: "));
        assert!(message.contains(fragment), "{message}");
        assert!(std::error::Error::source(&err).is_some());
    }
}

// ---- the spec's events ------------------------------------------------------

fn spec_path() -> PathBuf {
    match std::env::var_os("OAI_OPENAPI_SPEC") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/openapi/openapi.yaml")
        }
    }
}

/// Event examples that are not JSON as written, by event type, with the reason.
/// The test fails when this list is wrong in either direction.
const EXAMPLES_NOT_JSON: &[(&str, &str)] = &[
    (
        "live.call.incoming",
        "a trailing comma after the last `sip_headers` item",
    ),
    (
        "realtime.call.incoming",
        "a trailing comma after the last `sip_headers` item",
    ),
];

/// Removes commas that directly precede `]` or `}` (outside strings).
fn without_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            escaped = !escaped && c == '\\';
            if c == '"' && !escaped {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ']' || c == '}' {
            let trimmed = out.trim_end().len();
            if out[..trimmed].ends_with(',') {
                out.truncate(trimmed - 1);
            }
        }
        out.push(c);
    }
    out
}

/// (event type, example body) of every `Webhook*` schema the spec's
/// `webhooks:` section refers to.
fn spec_events() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(spec_path())
        .unwrap_or_else(|e| panic!("reading {}: {e}", spec_path().display()));
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let doc = &docs[0];
    let schemas = &doc["components"]["schemas"];
    let mut out = Vec::new();
    for (_, hook) in doc["webhooks"].as_hash().expect("a `webhooks:` section") {
        let reference =
            hook["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                .as_str()
                .unwrap();
        let name = reference.rsplit('/').next().unwrap();
        let schema = &schemas[name];
        assert!(!schema.is_badvalue(), "{name} is not in components");
        let tag = schema["properties"]["type"]["enum"][0].as_str().unwrap();
        let example = match &schema["x-oaiMeta"]["example"] {
            Yaml::String(s) => s.clone(),
            other => panic!("{name} has no example: {other:?}"),
        };
        out.push((tag.to_owned(), example));
    }
    out
}

#[test]
fn every_spec_event_example_verifies_and_decodes_to_its_variant() {
    let events = spec_events();
    assert_eq!(events.len(), 16, "the spec's webhook events changed");
    let v = verifier();
    let mut not_json = BTreeSet::new();
    let mut tags = BTreeSet::new();
    for (i, (tag, example)) in events.iter().enumerate() {
        let body = match serde_json::from_str::<Value>(example) {
            Ok(_) => example.clone(),
            Err(_) => {
                not_json.insert(tag.as_str());
                without_trailing_commas(example)
            }
        };
        let id = format!("wh_{i}");
        let event = v
            .verify_event(&signed(&id, NOW, body.as_bytes()), body.as_bytes())
            .unwrap_or_else(|e| panic!("{tag}: {e}"));
        assert_eq!(event.tag(), Some(tag.as_str()));
        assert!(event.as_unknown().is_none(), "{tag} decoded as Unknown");
        assert_eq!(event.id(), Some("evt_abc123"), "{tag}");
        assert_eq!(event.created_at(), Some(1_719_168_000), "{tag}");
        // Serializes back to the same JSON.
        let raw: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), raw, "{tag}");
        tags.insert(tag.clone());
    }
    let listed: BTreeSet<&str> = EXAMPLES_NOT_JSON.iter().map(|(t, _)| *t).collect();
    assert_eq!(not_json, listed, "EXAMPLES_NOT_JSON is out of date");
    assert_eq!(tags.len(), events.len(), "two webhooks share a type");
}

#[test]
fn types_the_spec_does_not_list_are_unknown() {
    let spec: BTreeSet<String> = spec_events().into_iter().map(|(t, _)| t).collect();
    for tag in [
        "batch.created",
        "response.created",
        "eval.run.canceled2",
        "BATCH.FAILED",
        "",
    ] {
        assert!(!spec.contains(tag));
        let body = json!({"type": tag, "id": "e", "created_at": 0, "data": {"id": "x"}});
        let event: WebhookEvent = serde_json::from_value(body.clone()).unwrap();
        assert_eq!(event.as_unknown(), Some(&body), "{tag}");
    }
}

// ---- secrets ------------------------------------------------------------------

#[test]
fn malformed_secrets_are_errors_at_construction() {
    for (secret, fragment) in [
        ("", "is empty"),
        ("whsec_", "empty"),
        ("whsec_!!!notbase64", "not valid base64"),
        ("whsec_abcde", "not valid base64"),
        // Non-zero bits after the last byte: not canonical base64.
        ("whsec_abd", "not valid base64"),
        ("whsec_dGVzdA== ", "whitespace"),
        ("whsec_dGVz\ndA==", "whitespace"),
        ("secret\u{7}", "control"),
    ] {
        let err = WebhookVerifier::new(secret).unwrap_err();
        assert!(matches!(err, WebhookError::InvalidSecret(_)), "{secret:?}");
        let message = err.to_string();
        assert!(message.contains(fragment), "{secret:?}: {message}");
        assert!(message.contains("webhook secret"), "{message}");
        if secret.len() > 6 {
            let tail = &secret[6..];
            assert!(
                !message.contains(tail.trim()),
                "{message} repeats the secret"
            );
        }
    }
    // Padding is optional.
    WebhookVerifier::new("whsec_dGVzdA").unwrap();
    WebhookVerifier::new("whsec_dGVzdA==").unwrap();
}

#[test]
fn a_secret_without_prefix_is_used_as_raw_bytes() {
    let raw = "plain-shared-secret";
    let v = WebhookVerifier::new(raw).unwrap().with_clock(|| at(NOW));
    let ts = NOW.to_string();
    let h = headers("wh_1", &ts, &sign(raw.as_bytes(), "wh_1", &ts, BODY));
    v.verify(&h, BODY).unwrap();
    // ...and a `whsec_` secret is decoded, not used as text.
    let ts_sig = sign(secret().as_bytes(), "wh_1", &ts, BODY);
    assert!(
        verifier()
            .verify(&headers("wh_1", &ts, &ts_sig), BODY)
            .is_err()
    );
}

#[test]
fn from_env_reads_openai_webhook_secret() {
    let s = secret();
    let v =
        WebhookVerifier::from_env_with(|name| (name == "OPENAI_WEBHOOK_SECRET").then(|| s.clone()))
            .unwrap()
            .with_clock(|| at(NOW));
    v.verify(&signed("wh_1", NOW, BODY), BODY).unwrap();

    let err = WebhookVerifier::from_env_with(|_| None).unwrap_err();
    assert!(matches!(err, WebhookError::InvalidSecret(_)));
    assert!(
        err.to_string().contains("OPENAI_WEBHOOK_SECRET is missing"),
        "{err}"
    );

    let err = WebhookVerifier::from_env_with(|_| Some("whsec_%%%%".into())).unwrap_err();
    assert!(matches!(err, WebhookError::InvalidSecret(_)));
    let message = err.to_string();
    assert!(message.contains("OPENAI_WEBHOOK_SECRET"), "{message}");
    assert!(message.contains("not valid base64"), "{message}");
    assert!(!message.contains("%%%%"), "{message}");
}

#[test]
fn the_secret_never_appears_in_debug_or_errors() {
    let s = secret();
    let encoded = s.strip_prefix("whsec_").unwrap();
    let v = verifier().with_replay_guard(ReplayGuard::new(4));
    let debug = format!("{v:?}");
    assert!(debug.contains("[REDACTED]"), "{debug}");
    assert!(debug.contains("tolerance"), "{debug}");
    let ts = NOW.to_string();
    let mut messages = vec![debug];
    let errors = [
        v.verify(&headers("wh_1", &ts, "v1,AAAA"), BODY)
            .unwrap_err(),
        v.verify(&headers("wh_1", &ts, &sign(b"k", "wh_1", &ts, BODY)), BODY)
            .unwrap_err(),
        v.verify(&signed("wh_1", 1, BODY), BODY).unwrap_err(),
        v.verify(&signed("wh_1", NOW + 999, BODY), BODY)
            .unwrap_err(),
        v.verify_event(&signed("wh_1", NOW, b"[]"), b"[]")
            .unwrap_err(),
        {
            v.verify(&signed("wh_1", NOW, BODY), BODY).unwrap();
            v.verify(&signed("wh_1", NOW, BODY), BODY).unwrap_err()
        },
    ];
    for e in &errors {
        messages.push(e.to_string());
        messages.push(format!("{e:?}"));
    }
    for m in &messages {
        assert!(!m.contains(encoded), "{m}");
        assert!(!m.contains(std::str::from_utf8(KEY).unwrap()), "{m}");
    }
}

#[test]
fn verifier_is_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<WebhookVerifier>();
    fn check_error<T: std::error::Error + Send + Sync + 'static>() {}
    check_error::<WebhookError>();
}

// ---- properties ---------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any delivery signed with the key, with a timestamp inside the
    /// tolerance, verifies.
    #[test]
    fn signed_deliveries_verify(
        id in "[!-~]{1,40}",
        offset in -300i64..=300,
        body in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let v = verifier();
        let ts = (NOW as i64 + offset).to_string();
        let sig = sign(KEY, &id, &ts, &body);
        prop_assert!(v.verify(&headers(&id, &ts, &sig), &body).is_ok());
    }

    /// Changing any one byte of the body, the id or the timestamp of a
    /// verified delivery makes it fail.
    #[test]
    fn any_single_byte_change_is_rejected(
        field in 0usize..3,
        position in any::<prop::sample::Index>(),
        replacement in any::<u8>(),
        body in proptest::collection::vec(any::<u8>(), 1..200),
    ) {
        let v = verifier();
        let id = "wh_68a1b2c3d4e5f6".to_owned();
        let ts = NOW.to_string();
        let sig = sign(KEY, &id, &ts, &body);
        prop_assert!(v.verify(&headers(&id, &ts, &sig), &body).is_ok());

        let (mut id_b, mut ts_b, mut body_b) = (id.into_bytes(), ts.into_bytes(), body);
        let target = match field {
            0 => &mut body_b,
            1 => &mut id_b,
            _ => &mut ts_b,
        };
        let i = position.index(target.len());
        prop_assume!(target[i] != replacement);
        target[i] = replacement;

        // Header bytes that HTTP cannot carry cannot be sent at all.
        let id_v = HeaderValue::from_bytes(&id_b);
        let ts_v = HeaderValue::from_bytes(&ts_b);
        prop_assume!(id_v.is_ok() && ts_v.is_ok());
        let mut h = HeaderMap::new();
        h.insert("webhook-id", id_v.unwrap());
        h.insert("webhook-timestamp", ts_v.unwrap());
        h.insert("webhook-signature", HeaderValue::from_str(&sig).unwrap());
        let result = v.verify(&h, &body_b);
        prop_assert!(result.is_err(), "accepted a changed delivery");
        let err = result.unwrap_err();
        prop_assert!(matches!(
            err,
            WebhookError::NoMatchingSignature
                | WebhookError::InvalidTimestamp
                | WebhookError::TimestampTooOld { .. }
                | WebhookError::TimestampTooNew { .. }
                | WebhookError::MalformedHeader { .. }
        ), "{err:?}");
    }
}
