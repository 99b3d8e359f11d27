//! `cargo xtask conformance`: our types against an independent reading of the
//! spec (`tools/conformance`, Python: jsonschema and hypothesis-jsonschema,
//! pinned, installed from PyPI into `target/conformance-venv` on first use).
//!
//! 1. The requests our builders make, written by the `wire_requests` test of
//!    `oai-builders`, are validated by the independent validator.
//! 2. Responses drawn by the independent generator decode into our types and
//!    serialize back to the same JSON (the `conformance_mocks` test of
//!    `oai-types`).
//! 3. The spec's own response and request examples against our types.
//!
//! Steps 2 and 3 build the types with `--cfg oai_strict` (in their own target
//! directory): they decode exactly what the schema says, so these checks see
//! the generated types as the schema reads, not as tolerant decoding widens
//! them.

use std::path::Path;
use std::process::Command;

use crate::{Result, cargo, exec, project_root, target_dir};

/// Documents per operation, and the seed: fixed so the known refusals listed
/// by the decoding test stay the same from run to run.
const PER_OP: &str = "3";
const SEED: &str = "1";

fn python(args: &[&str], spec: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into()));
    cmd.arg("tools/conformance/conformance.py")
        .arg("--spec")
        .arg(spec)
        .args(args)
        .current_dir(project_root());
    cmd
}

/// `cargo` building with strict decoding, in `target/strict`.
pub(crate) fn strict_cargo<const N: usize>(args: [&str; N]) -> Command {
    let mut cmd = cargo(args);
    cmd.env("RUSTFLAGS", "--cfg oai_strict")
        .env("CARGO_TARGET_DIR", target_dir().join("strict"));
    cmd
}

pub fn run(spec: &Path) -> Result {
    let out = target_dir().join("conformance");
    let requests = out.join("requests");
    let mocks = out.join("mocks");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    if requests.exists() {
        std::fs::remove_dir_all(&requests)
            .map_err(|e| format!("cannot clear {}: {e}", requests.display()))?;
    }
    std::fs::create_dir_all(&requests)
        .map_err(|e| format!("cannot create {}: {e}", requests.display()))?;

    // 1. Requests built by our builders, judged by the independent validator.
    exec(
        cargo(["test", "-p", "oai-builders", "--test", "wire_requests"])
            .env("OAI_CONFORMANCE_REQUESTS", &requests),
    )?;
    let requests_text = requests.to_string_lossy().into_owned();
    exec(&mut python(&["validate-requests", &requests_text], spec))?;

    // 2. Responses drawn by the independent generator, decoded by our types.
    let mocks_text = mocks.to_string_lossy().into_owned();
    exec(&mut python(
        &[
            "mock-responses",
            &mocks_text,
            "--per-op",
            PER_OP,
            "--seed",
            SEED,
        ],
        spec,
    ))?;
    exec(
        strict_cargo([
            "test",
            "-p",
            "oai-types",
            "--test",
            "conformance_mocks",
            "--",
            "--nocapture",
        ])
        .env("OAI_CONFORMANCE_MOCKS", &mocks),
    )?;

    // 3. The spec's examples, strictly.
    exec(&mut strict_cargo([
        "test",
        "-p",
        "oai-types",
        "--test",
        "spec_examples",
    ]))?;
    exec(&mut strict_cargo([
        "test",
        "-p",
        "oai-builders",
        "--test",
        "spec_request_examples",
    ]))
}
