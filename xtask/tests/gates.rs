//! Both advisory gates refuse a planted snapshot that is empty or old, before
//! they run (or install) cargo-audit or cargo-deny.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh directory under the system's temporary folder, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("oai-xtask-gates-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("crates")).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `cargo xtask <gate>` on the snapshot at `db`, which must fail; returns
/// its standard error.
fn gate_fails(gate: &str, db: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg(gate)
        .env("OAI_ADVISORY_DB", db)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{gate} passed: {stderr}");
    // Refused before any tool runs: nothing was installed, fetched or checked.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("$ "), "{gate} ran a command: {stdout}");
    stderr
}

#[test]
fn an_empty_snapshot_fails_both_gates() {
    let dir = TempDir::new("empty");
    for gate in ["audit", "deny"] {
        let err = gate_fails(gate, &dir.0);
        assert!(err.contains(" 0 advisories under crates/"), "{gate}: {err}");
    }
}

#[test]
fn an_old_snapshot_fails_both_gates() {
    let dir = TempDir::new("old");
    for i in 0..800 {
        let krate = format!("crate-{}", i % 41);
        let year = 2017 + i % 3;
        let date = format!("{year}-{:02}-{:02}", 1 + i % 12, 1 + i % 28);
        let id = format!("RUSTSEC-{year}-{i:04}");
        let folder = dir.0.join("crates").join(&krate);
        fs::create_dir_all(&folder).unwrap();
        fs::write(
            folder.join(format!("{id}.md")),
            format!(
                "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{krate}\"\n\
                 date = \"{date}\"\n\n[versions]\npatched = []\n```\n\n# Planted\n"
            ),
        )
        .unwrap();
    }
    for gate in ["audit", "deny"] {
        let err = gate_fails(gate, &dir.0);
        assert!(
            err.contains("newest advisory is dated 2019-12-28"),
            "{gate}: {err}"
        );
    }
}
