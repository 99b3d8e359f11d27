//! Every field that carries a credential (the generator's `SECRET_FIELDS`)
//! hides it from `Debug` and keeps it unchanged on the wire.
//!
//! The cases come from `generated/secrets.rs`, written from the same list as
//! the types: one sample value per field with a credential in place.

#[path = "generated/secrets.rs"]
mod table;

use proptest::prelude::*;

/// Whether `text` shows `secret` or any 8-byte piece of it.
fn shows(text: &str, secret: &str) -> bool {
    let b = secret.as_bytes();
    text.contains(secret)
        || (b.len() >= 8
            && b.windows(8)
                .any(|w| text.as_bytes().windows(8).any(|t| t == w)))
}

/// The sample of `case` with `secret` in place (written as a JSON string).
fn answer(case: &table::Case, secret: &str) -> String {
    let quoted = serde_json::to_string(secret).unwrap_or_default();
    let placeholder = serde_json::to_string(table::PLACEHOLDER).unwrap_or_default();
    case.sample.replace(&placeholder, &quoted)
}

fn check(case: &table::Case, secret: &str) -> Result<(), TestCaseError> {
    let (schema, path) = (case.schema, case.path);
    let json = answer(case, secret);
    prop_assert!(
        json.contains(secret),
        "{schema}.{path}: no place for the secret"
    );
    let (debug, back) = (case.decode)(&json)
        .map_err(|e| TestCaseError::fail(format!("{schema}.{path}: does not decode: {e}")))?;
    prop_assert!(
        !shows(&debug, secret),
        "{schema}.{path}: Debug shows the secret: {debug}"
    );
    prop_assert!(debug.contains("[REDACTED]"), "{schema}.{path}: {debug}");
    // The credential is written back as the same plain JSON string.
    prop_assert_eq!(
        back.pointer(case.pointer).and_then(|v| v.as_str()),
        Some(secret),
        "{}.{}",
        schema,
        path
    );
    Ok(())
}

#[test]
fn every_listed_field_hides_a_fixed_secret() {
    let cases = table::cases();
    assert!(cases.len() >= 10, "only {} cases", cases.len());
    for case in &cases {
        if let Err(e) = check(case, "sk-admin-4f9Qz7LmN2xR8tYw") {
            panic!("{e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_listed_field_hides_any_secret(
        secret in "(sk-|ek_|sess-)?[A-Za-z0-9_~+/=.-]{16,80}",
    ) {
        for case in &table::cases() {
            check(case, &secret)?;
        }
    }
}

/// The check sees a credential in a plain field: the same sample with the
/// secret also put in a field that is not listed shows it.
#[test]
fn the_check_sees_a_secret_in_a_plain_field() {
    let secret = "sk-admin-4f9Qz7LmN2xR8tYw";
    let cases = table::cases();
    let Some(case) = cases
        .iter()
        .find(|c| c.schema == "AdminApiKeyCreateResponse")
    else {
        panic!("AdminApiKeyCreateResponse is not in the table");
    };
    let mut json: serde_json::Value = match serde_json::from_str(&answer(case, secret)) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    json["redacted_value"] = secret.into();
    let (debug, _) = match (case.decode)(&json.to_string()) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    assert!(shows(&debug, secret), "{debug}");
}
