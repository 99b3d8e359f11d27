//! Responses from an independent, spec-driven generator decode into the
//! generated types and serialize back to the same JSON.
//!
//! Not part of plain `cargo test` (`test = false` in Cargo.toml): the documents
//! are made by `tools/conformance` (Python, hypothesis-jsonschema) and
//! `cargo xtask conformance` runs this binary with `OAI_CONFORMANCE_MOCKS`
//! naming their folder (`<folder>/<operationId>/<k>.json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod generated;

use std::fs;
use std::path::PathBuf;

use common::round_trip;

/// Documents (with `cargo xtask conformance`'s fixed seed) that do not round
/// trip, by operation id, with the reason. The test fails when this list is
/// wrong in either direction. (`getEvalRunOutputItem` was here until every
/// struct kept its unknown fields in `extra`: its schema declares
/// `additionalProperties` beside its properties.)
const KNOWN_REFUSALS: &[(&str, &str)] = &[];

#[test]
fn every_generated_response_decodes_and_round_trips() {
    let dir = PathBuf::from(
        std::env::var_os("OAI_CONFORMANCE_MOCKS")
            .expect("set OAI_CONFORMANCE_MOCKS (cargo xtask conformance does)"),
    );
    let mut ops: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    ops.sort();
    let (mut checked, mut untyped) = (0, Vec::new());
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for op_dir in &ops {
        let op = op_dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut docs: Vec<PathBuf> = fs::read_dir(op_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        docs.sort();
        for doc in docs {
            let value: serde_json::Value =
                serde_json::from_slice(&fs::read(&doc).unwrap()).unwrap();
            match generated::check_response(&op, value) {
                None => {
                    untyped.push(op.clone());
                    break;
                }
                Some(Ok(())) => checked += 1,
                Some(Err(e)) => {
                    if KNOWN_REFUSALS.iter().any(|(o, _)| *o == op) {
                        refused.push(op.clone());
                    } else {
                        failures.push(format!("{}: {e}", doc.display()));
                    }
                }
            }
        }
    }
    println!(
        "{} operations, {checked} documents decoded and round-tripped, {} refused as known, {} operations without a typed JSON answer: {untyped:?}",
        ops.len(),
        refused.len(),
        untyped.len()
    );
    assert!(
        ops.len() >= 270,
        "expected the generator's ~277 operations, found {}",
        ops.len()
    );
    for (op, _) in KNOWN_REFUSALS {
        assert!(
            refused.iter().any(|r| r == op),
            "{op} is listed as refused but decoded"
        );
    }
    assert!(
        failures.is_empty(),
        "{} documents failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
