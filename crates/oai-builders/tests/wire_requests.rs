//! Every request body type can be built from its required fields alone: the
//! builder fills in the constants and `build()` accepts the result. With
//! `OAI_CONFORMANCE_REQUESTS` set (as `cargo xtask conformance` does), the
//! requests are also written there as `<operationId>[.label].json` for the
//! independent validator of `tools/conformance`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "generated/wire.rs"]
mod wire;

use std::collections::BTreeSet;

#[test]
fn every_request_body_builds_from_its_required_fields() {
    let requests = wire::requests();
    let stems: BTreeSet<&str> = requests.iter().map(|(s, _)| *s).collect();
    assert_eq!(stems.len(), requests.len(), "file names are unique");
    // 118 of the 288 operations take a JSON or multipart body.
    assert!(requests.len() >= 110, "only {} requests", requests.len());
    for (stem, json) in &requests {
        assert!(json.is_object(), "{stem}: a request body is a JSON object");
    }
    if let Some(dir) = std::env::var_os("OAI_CONFORMANCE_REQUESTS") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (stem, json) in &requests {
            let text = serde_json::to_string_pretty(json).unwrap();
            std::fs::write(dir.join(format!("{stem}.json")), text).unwrap();
        }
        println!("{} requests written to {}", requests.len(), dir.display());
    }
}
