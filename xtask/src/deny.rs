//! `cargo xtask deny`: cargo-deny, offline, with the rules in `deny.toml`, on the
//! workspace and on the fuzz crate.
//!
//! cargo-deny reads advisory databases only from git repositories under its
//! `db-path`, in a folder named after the database URL. This command checks the
//! snapshot ([`crate::audit::checked_db`]), builds that repository under
//! `target/advisory-dbs/` from it and points `deny.toml`'s `db-path` at it
//! through `OAI_DENY_DB_PATH`.
//!
//! Offline, cargo-deny judges the age of a database by the later of its HEAD
//! commit's date and the modification time of `.git/HEAD` (or by
//! `.git/FETCH_HEAD` when there is one). A repository committed today would
//! always look fresh, so the commit and `.git/HEAD` carry the snapshot's own
//! date (its newest advisory's, at midnight UTC) and there is no `FETCH_HEAD`:
//! `maximum-db-staleness` then measures the age of the data.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::audit::Snapshot;
use crate::{
    Result, audit, capture, cargo, check_workspaces, exec, project_root, target_dir, tools,
};

/// The folder cargo-deny expects for the default database URL,
/// `https://github.com/rustsec/advisory-db`.
const DB_DIR: &str = "advisory-db-3157b0e258782691";

/// Holds the fingerprint of the snapshot the repository was built from.
const STAMP: &str = "oai-snapshot-fingerprint";

pub fn run() -> Result {
    let snapshot = audit::checked_db()?;
    tools::ensure(&tools::CARGO_DENY)?;
    let db_root = target_dir().join("advisory-dbs");
    prepare_db(&snapshot, &db_root.join(DB_DIR))?;
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

/// Makes `repo` a git repository holding the files of `snapshot`, committed
/// at the snapshot's date, unless it already is one.
fn prepare_db(snapshot: &Snapshot, repo: &Path) -> Result {
    let fingerprint = format!("{:016x}", fingerprint(&snapshot.path)?);
    // Midnight UTC of the newest advisory's day.
    let date = format!("{}T00:00:00+00:00", snapshot.newest);
    let secs = u64::try_from(snapshot.newest_day)
        .map_err(|_| format!("{} is before 1970", snapshot.newest))?
        * 86_400;
    let stamp = repo.join(".git").join(STAMP);
    if fs::read_to_string(&stamp).is_ok_and(|s| s == fingerprint)
        && commit_time(repo).is_ok_and(|t| t == secs)
        && !repo.join(".git").join("FETCH_HEAD").exists()
    {
        println!("advisory database: reusing {}", repo.display());
        return set_head_time(repo, secs);
    }
    println!(
        "advisory database: copying {} to {}",
        snapshot.path.display(),
        repo.display()
    );
    if repo.exists() {
        fs::remove_dir_all(repo).map_err(|e| format!("cannot remove {}: {e}", repo.display()))?;
    }
    for file in snapshot_files(&snapshot.path)? {
        let to = repo.join(&file);
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        fs::copy(snapshot.path.join(&file), &to)
            .map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    }
    let git = |args: &[&str]| {
        let mut cmd = git(repo);
        // A fixed identity, so the commit works with no git configuration, and
        // the snapshot's date instead of the clock's.
        for (k, v) in [
            ("GIT_AUTHOR_NAME", "oai xtask"),
            ("GIT_AUTHOR_EMAIL", "xtask@oai.invalid"),
            ("GIT_COMMITTER_NAME", "oai xtask"),
            ("GIT_COMMITTER_EMAIL", "xtask@oai.invalid"),
            ("GIT_AUTHOR_DATE", &date),
            ("GIT_COMMITTER_DATE", &date),
        ] {
            cmd.env(k, v);
        }
        capture(cmd.args(args)).map(drop)
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
    let committed = commit_time(repo)?;
    if committed != secs {
        return Err(format!(
            "{}: the commit is dated {committed} s after 1970, not {secs} ({date})",
            repo.display()
        ));
    }
    fs::write(&stamp, fingerprint).map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    set_head_time(repo, secs)
}

/// `git -C repo`, unsigned, with no system or user configuration.
fn git(repo: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.arg("-C")
        .arg(repo)
        .args(["-c", "commit.gpgsign=false"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    cmd
}

/// The committer date of HEAD, in seconds since 1970.
fn commit_time(repo: &Path) -> Result<u64> {
    let out = capture(git(repo).args(["show", "--no-patch", "--format=%ct", "HEAD"]))?;
    out.trim().parse().map_err(|_| {
        format!(
            "{}: unexpected commit time `{}`",
            repo.display(),
            out.trim()
        )
    })
}

/// Sets the modification time of `.git/HEAD`, which cargo-deny takes when it
/// is later than the commit's date, to `secs` after 1970.
fn set_head_time(repo: &Path, secs: u64) -> Result {
    let head = repo.join(".git").join("HEAD");
    fs::File::options()
        .write(true)
        .open(&head)
        .and_then(|f| f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs)))
        .map_err(|e| format!("cannot set the time of {}: {e}", head.display()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::plant::{TempDir, advisories, dates};
    use crate::audit::{MIN_ADVISORIES, advisory_db, check_snapshot, day_number, today};

    /// The age cargo-deny 0.20 reads offline: FETCH_HEAD's modification time,
    /// else the later of HEAD's commit date and `.git/HEAD`'s modification time.
    fn deny_sees(repo: &Path) -> (String, SystemTime) {
        let git_dir = repo.join(".git");
        assert!(!git_dir.join("FETCH_HEAD").exists());
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["log", "-1", "--format=%cI %ct"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let out = String::from_utf8(out.stdout).unwrap();
        let (iso, secs) = out.trim().split_once(' ').unwrap();
        let commit = SystemTime::UNIX_EPOCH + Duration::from_secs(secs.parse().unwrap());
        let head = fs::metadata(git_dir.join("HEAD"))
            .unwrap()
            .modified()
            .unwrap();
        (iso.to_owned(), commit.max(head))
    }

    fn midnight(day: i64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(day).unwrap() * 86_400)
    }

    #[test]
    fn the_repository_carries_the_snapshot_date() {
        let dir = TempDir::new("dated");
        let snapshot_dir = dir.0.join("snapshot");
        fs::create_dir_all(snapshot_dir.join("crates")).unwrap();
        let newest = day_number("2024-03-05").unwrap();
        advisories(&snapshot_dir, &dates(MIN_ADVISORIES, newest));
        let snapshot = check_snapshot(&snapshot_dir, newest + 1, 90).unwrap();
        let repo = dir.0.join("repo");
        prepare_db(&snapshot, &repo).unwrap();
        let (iso, seen) = deny_sees(&repo);
        assert!(iso.starts_with("2024-03-05T00:00:00"), "{iso}");
        assert_eq!(seen, midnight(newest));

        // A repository committed at another date (as this command used to do)
        // is rebuilt, and a touched `.git/HEAD` is dated back.
        let amend = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@t.invalid"])
            .args(["-c", "commit.gpgsign=false"])
            .args(["commit", "--quiet", "--amend", "--no-edit", "--no-verify"])
            .status()
            .unwrap();
        assert!(amend.success());
        assert_ne!(deny_sees(&repo).1, midnight(newest));
        prepare_db(&snapshot, &repo).unwrap();
        assert_eq!(deny_sees(&repo).1, midnight(newest));
        fs::File::options()
            .write(true)
            .open(repo.join(".git/HEAD"))
            .unwrap()
            .set_modified(SystemTime::now())
            .unwrap();
        prepare_db(&snapshot, &repo).unwrap();
        assert_eq!(deny_sees(&repo).1, midnight(newest));
    }

    #[test]
    fn the_real_snapshot_keeps_its_date() {
        let path = advisory_db().unwrap();
        // Checked for its size and dates only; its age is the gates' business.
        let snapshot = check_snapshot(&path, today().unwrap(), i64::MAX).unwrap();
        let dir = TempDir::new("real");
        let repo = dir.0.join("repo");
        prepare_db(&snapshot, &repo).unwrap();
        let (iso, seen) = deny_sees(&repo);
        assert!(
            iso.starts_with(&format!("{}T00:00:00", snapshot.newest)),
            "{iso}"
        );
        assert_eq!(seen, midnight(snapshot.newest_day));
        assert_eq!(
            snapshot_files(&repo).unwrap().len(),
            snapshot_files(&path).unwrap().len()
        );
    }
}
