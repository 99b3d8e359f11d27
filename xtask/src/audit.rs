//! `cargo xtask audit`: cargo-audit against the advisory database snapshot,
//! offline, on every lockfile of the project. Any finding fails, warnings
//! (unmaintained, unsound, yanked) included.

use std::path::PathBuf;

use crate::{Result, cargo, check_workspaces, exec, project_root, tools};

pub fn run() -> Result {
    tools::ensure(&tools::CARGO_AUDIT)?;
    let db = advisory_db()?;
    check_workspaces("cargo audit", |manifest| {
        let lockfile = project_root().join(manifest).with_file_name("Cargo.lock");
        exec(
            cargo(["audit", "--no-fetch", "--deny", "warnings", "--db"])
                .arg(&db)
                .arg("--file")
                .arg(lockfile),
        )
    })
}

/// The advisory database: `$OAI_ADVISORY_DB`, else `../shared/advisory-db`
/// beside the workspace root.
pub fn advisory_db() -> Result<PathBuf> {
    let path = match std::env::var_os("OAI_ADVISORY_DB") {
        Some(p) => project_root().join(p),
        None => project_root().join("../shared/advisory-db"),
    };
    if path.join("crates").is_dir() {
        path.canonicalize()
            .map_err(|e| format!("cannot resolve {}: {e}", path.display()))
    } else {
        Err(format!(
            "no advisory database at {} (expected a `crates/` directory); \
             check out rustsec/advisory-db and set OAI_ADVISORY_DB",
            path.display()
        ))
    }
}
