//! `cargo xtask audit`: cargo-audit against the advisory database snapshot,
//! offline, on every lockfile of the project. Any finding fails, warnings
//! (unmaintained, unsound, yanked) included.
//!
//! Offline (`--no-fetch`), cargo-audit checks neither the size nor the age of
//! the database it is given, and cargo-deny checks only its age, from git
//! dates. So both gates first run [`checked_db`]: the snapshot must hold at
//! least [`MIN_ADVISORIES`] advisories, and its newest advisory must be younger
//! than deny.toml's `maximum-db-staleness`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Result, cargo, check_workspaces, exec, project_root, tools};

pub fn run() -> Result {
    let snapshot = checked_db()?;
    tools::ensure(&tools::CARGO_AUDIT)?;
    check_workspaces("cargo audit", |manifest| {
        let lockfile = project_root().join(manifest).with_file_name("Cargo.lock");
        exec(
            cargo(["audit", "--no-fetch", "--deny", "warnings", "--db"])
                .arg(&snapshot.path)
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

/// Fewer advisory files than this under `crates/` is not a copy of the RustSec
/// database but a broken or partial one (the database held 1,205 in
/// August 2026 and only grows).
pub const MIN_ADVISORIES: usize = 500;

/// cargo-deny's own default for `maximum-db-staleness` (cargo-audit uses the
/// same 90 days when it fetches), used when deny.toml does not set one.
const DEFAULT_MAX_AGE_DAYS: i64 = 90;

/// A snapshot that passed [`check_snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub path: PathBuf,
    /// Advisory files, `crates/*/RUSTSEC-*.md`.
    pub advisories: usize,
    /// The newest advisory's `date`, as written (`YYYY-MM-DD`).
    pub newest: String,
    /// The same date, in days since 1970-01-01.
    pub newest_day: i64,
}

/// [`advisory_db`], checked by [`check_snapshot`] against today's date and
/// deny.toml's `maximum-db-staleness`.
pub fn checked_db() -> Result<Snapshot> {
    let path = advisory_db()?;
    let config = project_root().join("deny.toml");
    let toml = fs::read_to_string(&config)
        .map_err(|e| format!("cannot read {}: {e}", config.display()))?;
    let max_age = max_age_days(&toml)?;
    let today = today()?;
    let snapshot = check_snapshot(&path, today, max_age)?;
    let age = today - snapshot.newest_day;
    println!(
        "advisory database: {}: {} advisories, newest dated {} ({age} days ago; limit {max_age})",
        snapshot.path.display(),
        snapshot.advisories,
        snapshot.newest,
    );
    Ok(snapshot)
}

/// Checks that `root` looks like a whole, recent RustSec database: at least
/// [`MIN_ADVISORIES`] advisory files, each with a `date`, and the newest of
/// those dates less than `max_age_days` days before `today` (days since
/// 1970-01-01) and not after it.
///
/// The age is the newest advisory's date, not a date a copy or a note claims:
/// it is in every copy (a plain snapshot or a git checkout), it cannot say the
/// data is fresher than it is, and it trails the upstream commit by little
/// (one day for the August 2026 snapshot). The rule matches cargo-deny's, which
/// refuses a commit dated `maximum-db-staleness` or more before now: the
/// commit `cargo xtask deny` builds is dated midnight UTC of that same day.
pub fn check_snapshot(root: &Path, today: i64, max_age_days: i64) -> Result<Snapshot> {
    let crates = root.join("crates");
    let mut advisories = 0;
    let mut newest: Option<(i64, String)> = None;
    for file in advisory_files(&crates)? {
        let text = fs::read_to_string(&file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let date = advisory_date(&text).ok_or_else(|| {
            format!(
                "advisory database: {} has no valid `date = \"YYYY-MM-DD\"`",
                file.display()
            )
        })?;
        let day = day_number(date).ok_or_else(|| {
            format!(
                "advisory database: {} has an invalid date `{date}`",
                file.display()
            )
        })?;
        advisories += 1;
        if newest.as_ref().is_none_or(|(d, _)| day > *d) {
            newest = Some((day, date.to_owned()));
        }
    }
    if advisories < MIN_ADVISORIES {
        return Err(format!(
            "advisory database {}: {advisories} advisories under crates/ \
             (at least {MIN_ADVISORIES} expected): not a whole RustSec database",
            crates.display()
        ));
    }
    let Some((newest_day, newest)) = newest else {
        return Err(format!(
            "advisory database {}: no advisory",
            crates.display()
        ));
    };
    // A day of slack: the advisory's date is in its author's time zone.
    if newest_day > today + 1 {
        return Err(format!(
            "advisory database {}: newest advisory is dated {newest}, after today",
            crates.display()
        ));
    }
    let age = today - newest_day;
    if age >= max_age_days {
        return Err(format!(
            "advisory database {}: newest advisory is dated {newest}, {age} days ago; \
             the limit is {max_age_days} days (`maximum-db-staleness` in deny.toml): \
             refresh the snapshot",
            crates.display()
        ));
    }
    Ok(Snapshot {
        path: root.to_path_buf(),
        advisories,
        newest,
        newest_day,
    })
}

/// `crates/*/RUSTSEC-*.md` under `crates`, sorted.
fn advisory_files(crates: &Path) -> Result<Vec<PathBuf>> {
    let read = |dir: &Path| {
        let entries =
            fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            paths.push(entry.path());
        }
        Ok::<_, String>(paths)
    };
    let mut files = Vec::new();
    for dir in read(crates)? {
        if !dir.is_dir() {
            continue;
        }
        for file in read(&dir)? {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.starts_with("RUSTSEC-") && n.ends_with(".md")) {
                files.push(file);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The `date` of an advisory: the `date = "YYYY-MM-DD"` line of the TOML block
/// the file opens with (the only table there with a `date` key is `[advisory]`).
fn advisory_date(text: &str) -> Option<&str> {
    let mut lines = text.lines();
    if lines.next()?.trim() != "```toml" {
        return None;
    }
    for line in lines {
        let line = line.trim();
        if line.starts_with("```") {
            break;
        }
        if let Some((key, value)) = line.split_once('=')
            && key.trim() == "date"
        {
            return value.trim().strip_prefix('"')?.strip_suffix('"');
        }
    }
    None
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date from 1970 on (proleptic
/// Gregorian calendar); `None` for anything else.
pub fn day_number(date: &str) -> Option<i64> {
    let b = date.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (year, month, day) = (num(&date[..4])?, num(&date[5..7])?, num(&date[8..])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_len = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if year < 1970 || !(1..=month_len).contains(&day) {
        return None;
    }
    // Whole years, then whole months of this year, then days.
    let years = year - 1970;
    let leap_days = (year - 1) / 4 - (year - 1) / 100 + (year - 1) / 400 - 477;
    let mut days = years * 365 + leap_days;
    for m in 1..month {
        days += match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
    }
    Some(days + day - 1)
}

/// Today (UTC) in days since 1970-01-01.
pub fn today() -> Result<i64> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the system clock is before 1970".to_owned())?
        .as_secs();
    i64::try_from(secs / 86_400).map_err(|_| "the system clock is out of range".to_owned())
}

/// deny.toml's `maximum-db-staleness` in days; it must be written `P<days>D`.
/// Without one, cargo-deny's default of 90 days.
fn max_age_days(deny_toml: &str) -> Result<i64> {
    for line in deny_toml.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() != "maximum-db-staleness" {
            continue;
        }
        let value = value.split('#').next().unwrap_or_default().trim();
        return value
            .strip_prefix("\"P")
            .and_then(|v| v.strip_suffix("D\""))
            .filter(|v| !v.is_empty() && v.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|days| *days > 0)
            .ok_or_else(|| {
                format!(
                    "deny.toml: write `maximum-db-staleness` as a number of days, \
                     \"P<days>D\", not {value}"
                )
            });
    }
    Ok(DEFAULT_MAX_AGE_DAYS)
}

/// Planted snapshots for the tests of both gates.
#[cfg(test)]
pub(crate) mod plant {
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh directory under the system's temporary folder, removed on drop.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        pub(crate) fn new(name: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir =
                std::env::temp_dir().join(format!("oai-xtask-{}-{n}-{name}", std::process::id()));
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

    /// Writes advisory `i` (of `dates.len()`) with date `dates[i]`, in the
    /// layout and format of the RustSec database.
    pub(crate) fn advisories(root: &Path, dates: &[String]) {
        for (i, date) in dates.iter().enumerate() {
            let krate = format!("crate-{}", i % 37);
            let dir = root.join("crates").join(&krate);
            fs::create_dir_all(&dir).unwrap();
            let id = format!("RUSTSEC-{}-{i:04}", &date[..4]);
            fs::write(
                dir.join(format!("{id}.md")),
                format!(
                    "```toml\n[advisory]\nid = \"{id}\"\npackage = \"{krate}\"\n\
                     date    = \"{date}\"\n\n[versions]\npatched = []\n```\n\n# Planted\n"
                ),
            )
            .unwrap();
        }
    }

    /// `count` dates, the newest `newest` and the others spread over the 400
    /// days before it.
    pub(crate) fn dates(count: usize, newest: i64) -> Vec<String> {
        (0..count)
            .map(|i| format_day(newest - (i as i64 * 7919) % 400))
            .collect()
    }

    /// `YYYY-MM-DD` of a day number, by counting forward from 1970-01-01 (an
    /// oracle independent of `day_number`'s arithmetic).
    pub(crate) fn format_day(mut day: i64) -> String {
        let leap = |y: i64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        let mut y = 1970;
        while day >= if leap(y) { 366 } else { 365 } {
            day -= if leap(y) { 366 } else { 365 };
            y += 1;
        }
        let mut m = 1;
        loop {
            let len = match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            if day < len {
                break;
            }
            day -= len;
            m += 1;
        }
        format!("{y:04}-{m:02}-{:02}", day + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::plant::{TempDir, advisories, dates, format_day};
    use super::*;

    #[test]
    fn day_numbers_count_calendar_days() {
        // Every day from 1970 to 2100 (2000 is a leap year, 2100 is not).
        let last = day_number("2100-12-31").unwrap();
        assert_eq!(format_day(last), "2100-12-31");
        assert_eq!(format_day(0), "1970-01-01");
        for day in 0..=last {
            let s = format_day(day);
            assert_eq!(day_number(&s), Some(day), "{s}");
        }
        for bad in [
            "2026-02-29",
            "2100-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-04-31",
            "2026-08-00",
            "1969-12-31",
            "2026-8-20",
            "2026-08-20 ",
            "+026-08-20",
            "2026/08/20",
            "",
        ] {
            assert_eq!(day_number(bad), None, "{bad}");
        }
        assert_eq!(
            day_number("2000-03-01"),
            day_number("2000-02-29").map(|d| d + 1)
        );
    }

    #[test]
    fn advisory_dates_come_from_the_toml_block() {
        let file =
            "```toml\n[advisory]\nid = \"RUSTSEC-2026-0029\"\ndate    = \"2026-02-26\"\n```\n";
        assert_eq!(advisory_date(file), Some("2026-02-26"));
        // Not in a leading TOML block, or no `date` key: none.
        assert_eq!(advisory_date("date = \"2026-02-26\"\n"), None);
        assert_eq!(
            advisory_date("```toml\n[advisory]\n```\ndate = \"2026-02-26\"\n"),
            None
        );
        assert_eq!(
            advisory_date("```toml\nwithdrawn = \"2026-02-26\"\n```\n"),
            None
        );
    }

    #[test]
    fn an_empty_snapshot_fails() {
        let dir = TempDir::new("empty");
        let err = check_snapshot(&dir.0, today().unwrap(), 90).unwrap_err();
        assert!(err.contains(" 0 advisories"), "{err}");
        assert!(err.contains(&dir.0.display().to_string()), "{err}");
    }

    #[test]
    fn a_partial_snapshot_fails() {
        let today = today().unwrap();
        let dir = TempDir::new("partial");
        advisories(&dir.0, &dates(MIN_ADVISORIES - 1, today));
        let err = check_snapshot(&dir.0, today, 90).unwrap_err();
        assert!(
            err.contains(&format!(" {} advisories", MIN_ADVISORIES - 1)),
            "{err}"
        );
        // One more and it is whole.
        advisories(&dir.0, &dates(MIN_ADVISORIES, today));
        let snapshot = check_snapshot(&dir.0, today, 90).unwrap();
        assert_eq!(snapshot.advisories, MIN_ADVISORIES);
        assert_eq!(snapshot.newest_day, today);
        assert_eq!(snapshot.newest, format_day(today));
    }

    #[test]
    fn an_old_snapshot_fails() {
        // Whole, but the newest advisory is from 2021.
        let dir = TempDir::new("old");
        let newest = day_number("2021-06-30").unwrap();
        advisories(&dir.0, &dates(800, newest));
        let limit =
            max_age_days(&fs::read_to_string(project_root().join("deny.toml")).unwrap()).unwrap();
        let today = today().unwrap();
        let err = check_snapshot(&dir.0, today, limit).unwrap_err();
        assert!(err.contains("newest advisory is dated 2021-06-30"), "{err}");
        assert!(
            err.contains(&format!("{} days ago", today - newest)),
            "{err}"
        );
    }

    #[test]
    fn the_age_limit_is_cargo_denys() {
        let dir = TempDir::new("boundary");
        let newest = day_number("2026-08-20").unwrap();
        advisories(&dir.0, &dates(MIN_ADVISORIES, newest));
        // cargo-deny refuses a commit dated `limit` days or more before now;
        // the commit is dated midnight UTC of the newest advisory's day.
        assert!(check_snapshot(&dir.0, newest + 89, 90).is_ok());
        let err = check_snapshot(&dir.0, newest + 90, 90).unwrap_err();
        assert!(err.contains("90 days ago; the limit is 90 days"), "{err}");
        // A day of slack for time zones, no more: later dates are not plausible.
        assert!(check_snapshot(&dir.0, newest - 1, 90).is_ok());
        let err = check_snapshot(&dir.0, newest - 2, 90).unwrap_err();
        assert!(err.contains("after today"), "{err}");
    }

    #[test]
    fn an_advisory_without_a_date_fails() {
        let today = today().unwrap();
        let dir = TempDir::new("undated");
        advisories(&dir.0, &dates(MIN_ADVISORIES, today));
        let file = dir.0.join("crates/crate-3/RUSTSEC-2099-0003.md");
        fs::write(
            &file,
            "```toml\n[advisory]\nid = \"RUSTSEC-2099-0003\"\n```\n",
        )
        .unwrap();
        let err = check_snapshot(&dir.0, today, 90).unwrap_err();
        assert!(err.contains(&file.display().to_string()), "{err}");
    }

    #[test]
    fn the_real_snapshot_is_whole_and_dated() {
        let path = advisory_db().unwrap();
        // No age limit: only the count and the dates are checked here.
        let snapshot = check_snapshot(&path, today().unwrap(), i64::MAX).unwrap();
        assert!(snapshot.advisories >= MIN_ADVISORIES, "{snapshot:?}");
        // It would pass the gates up to the day before its age reaches the
        // deny.toml limit, and fail from that day on.
        let limit =
            max_age_days(&fs::read_to_string(project_root().join("deny.toml")).unwrap()).unwrap();
        assert_eq!(
            check_snapshot(&path, snapshot.newest_day + limit - 1, limit),
            Ok(snapshot.clone())
        );
        assert!(check_snapshot(&path, snapshot.newest_day + limit, limit).is_err());
    }

    #[test]
    fn the_limit_is_read_from_deny_toml() {
        let real = fs::read_to_string(project_root().join("deny.toml")).unwrap();
        assert!(max_age_days(&real).is_ok());
        assert_eq!(max_age_days("[advisories]\n"), Ok(DEFAULT_MAX_AGE_DAYS));
        assert_eq!(
            max_age_days("[advisories]\nmaximum-db-staleness = \"P120D\" # why\n"),
            Ok(120)
        );
        for bad in ["\"P3M\"", "\"P0D\"", "\"PD\"", "\"P-1D\"", "90", "\"P1W\""] {
            let toml = format!("maximum-db-staleness = {bad}\n");
            assert!(max_age_days(&toml).is_err(), "{bad}");
        }
    }
}
