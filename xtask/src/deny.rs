//! `cargo xtask deny`: cargo-deny, offline, with the rules in `deny.toml`, on the
//! workspace and on the fuzz crate.
//!
//! cargo-deny reads advisory databases only from git repositories under its
//! `db-path`, in a folder named after the database URL. This command builds that
//! repository under `target/advisory-dbs/` from the snapshot (see
//! [`crate::audit::advisory_db`]) and points `deny.toml`'s `db-path` at it
//! through `OAI_DENY_DB_PATH`.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::{
    Result, audit, capture, cargo, check_workspaces, exec, project_root, target_dir, tools,
};

/// The folder cargo-deny expects for the default database URL,
/// `https://github.com/rustsec/advisory-db`.
const DB_DIR: &str = "advisory-db-3157b0e258782691";

/// cargo-deny refuses a database older than 90 days (`maximum-db-staleness`);
/// a repository built longer ago than this is rebuilt.
const REBUILD_AFTER: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// Holds the fingerprint of the snapshot the repository was built from.
const STAMP: &str = "oai-snapshot-fingerprint";

pub fn run() -> Result {
    tools::ensure(&tools::CARGO_DENY)?;
    let db_root = target_dir().join("advisory-dbs");
    prepare_db(&audit::advisory_db()?, &db_root.join(DB_DIR))?;
    let config = project_root().join("deny.toml");
    check_workspaces("cargo deny", |manifest| {
        // One `deny.toml` serves both graphs, and each lacks a licence only
        // the other one needs.
        let unused = match manifest {
            "Cargo.toml" => "license-exception-not-encountered",
            _ => "license-not-encountered",
        };
        exec(
            cargo(["deny", "--offline", "--manifest-path", manifest, "--config"])
                .arg(&config)
                // A crate that cannot be checked for yanking is a warning by
                // default; here it fails, so the check is never skipped quietly.
                .args([
                    "check",
                    "--show-stats",
                    "--deny",
                    "index-failure",
                    "--allow",
                    unused,
                ])
                .env("OAI_DENY_DB_PATH", &db_root),
        )
    })
}

/// Makes `repo` a git repository holding the files of `snapshot`, unless it
/// already holds this snapshot and was committed recently.
fn prepare_db(snapshot: &Path, repo: &Path) -> Result {
    let fingerprint = format!("{:016x}", fingerprint(snapshot)?);
    let stamp = repo.join(".git").join(STAMP);
    if fs::read_to_string(&stamp).is_ok_and(|s| s == fingerprint) && committed_recently(repo) {
        println!("advisory database: reusing {}", repo.display());
        return Ok(());
    }
    println!(
        "advisory database: copying {} to {}",
        snapshot.display(),
        repo.display()
    );
    if repo.exists() {
        fs::remove_dir_all(repo).map_err(|e| format!("cannot remove {}: {e}", repo.display()))?;
    }
    for file in snapshot_files(snapshot)? {
        let to = repo.join(&file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::copy(snapshot.join(&file), &to)
            .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    }
    let git = |args: &[&str]| {
        let mut cmd = std::process::Command::new("git");
        cmd.arg("-C")
            .arg(repo)
            .args(["-c", "commit.gpgsign=false"])
            .args(args);
        // A fixed identity, so the commit works with no git configuration.
        for (k, v) in [
            ("GIT_AUTHOR_NAME", "oai xtask"),
            ("GIT_AUTHOR_EMAIL", "xtask@oai.invalid"),
            ("GIT_COMMITTER_NAME", "oai xtask"),
            ("GIT_COMMITTER_EMAIL", "xtask@oai.invalid"),
        ] {
            cmd.env(k, v);
        }
        capture(&mut cmd).map(drop)
    };
    git(&["init", "--quiet"])?;
    git(&["add", "--all"])?;
    git(&[
        "commit",
        "--quiet",
        "--no-verify",
        "--message",
        "advisory database snapshot",
    ])?;
    fs::write(&stamp, fingerprint).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

fn committed_recently(repo: &Path) -> bool {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C")
        .arg(repo)
        .args(["show", "--no-patch", "--format=%ct", "HEAD"]);
    let Some(secs) = capture(&mut cmd)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
    else {
        return false;
    };
    let committed = SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    SystemTime::now()
        .duration_since(committed)
        .is_ok_and(|age| age < REBUILD_AFTER)
}

/// The files of the snapshot, relative to it, sorted; a `.git` folder (when the
/// snapshot is a checkout) is left out.
fn snapshot_files(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(dir) = dirs.pop() {
        let abs = root.join(&dir);
        let entries =
            fs::read_dir(&abs).map_err(|e| format!("cannot read {}: {e}", abs.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", abs.display()))?;
            let rel = dir.join(entry.file_name());
            let kind = entry
                .file_type()
                .map_err(|e| format!("cannot stat {}: {e}", rel.display()))?;
            if kind.is_dir() {
                if entry.file_name() != ".git" {
                    dirs.push(rel);
                }
            } else {
                files.push(rel);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// A hash of every path and byte of the snapshot. `DefaultHasher` is stable
/// within one Rust release, which is all a cache key needs.
fn fingerprint(root: &Path) -> Result<u64> {
    let mut hasher = DefaultHasher::new();
    for file in snapshot_files(root)? {
        let bytes = fs::read(root.join(&file))
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write_u8(0);
        hasher.write_usize(bytes.len());
        hasher.write(&bytes);
    }
    Ok(hasher.finish())
}
