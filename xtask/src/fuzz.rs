//! `cargo xtask fuzz [TARGET] [--seconds N]`: runs the cargo-fuzz targets on
//! stable Rust (no sanitizer), each for a bounded time.
//!
//! libFuzzer writes new inputs into its first corpus folder, so that is a scratch
//! folder under `target/fuzz-corpus/<target>`; the committed seeds in
//! `fuzz/corpus/<target>` are only read, and a run leaves the git tree clean.
//! A crash is saved in `fuzz/artifacts/<target>/` (ignored by git) and fails
//! the command.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::{Result, cargo, exec, project_root, target_dir, tools};

const DEFAULT_SECONDS: u64 = 30;

/// What `cargo xtask fuzz` was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub struct Args {
    /// One target, or every target when `None`.
    pub target: Option<String>,
    /// Fuzzing time per target.
    pub seconds: u64,
}

impl Args {
    /// Parses `[TARGET] [--seconds N]`; the default time is `$OAI_FUZZ_SECONDS`,
    /// else 30 seconds.
    pub fn parse(args: &[String]) -> Result<Self> {
        let env = std::env::var("OAI_FUZZ_SECONDS").ok();
        Self::parse_with_default(args, env.as_deref())
    }

    fn parse_with_default(args: &[String], env_seconds: Option<&str>) -> Result<Self> {
        let mut seconds = match env_seconds {
            Some(s) => parse_seconds(s).map_err(|e| format!("OAI_FUZZ_SECONDS: {e}"))?,
            None => DEFAULT_SECONDS,
        };
        let mut target = None;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            if let Some(value) = arg.strip_prefix("--seconds=") {
                seconds = parse_seconds(value)?;
            } else if arg == "--seconds" {
                let value = args.next().ok_or("--seconds needs a value")?;
                seconds = parse_seconds(value)?;
            } else if arg.starts_with('-') {
                return Err(format!("unknown option `{arg}`"));
            } else if target.is_some() {
                return Err(format!(
                    "only one target may be given, got a second: `{arg}`"
                ));
            } else {
                target = Some(arg.clone());
            }
        }
        Ok(Self { target, seconds })
    }
}

fn parse_seconds(s: &str) -> Result<u64> {
    match s.parse::<u64>() {
        // libFuzzer reads `-max_total_time=0` as "no limit".
        Ok(0) => Err("the fuzzing time must be at least 1 second".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("`{s}` is not a number of seconds")),
    }
}

pub fn run(args: &Args) -> Result {
    let all = targets()?;
    let chosen = match &args.target {
        None => all,
        Some(t) if all.contains(t) => vec![t.clone()],
        Some(t) => {
            return Err(format!(
                "no fuzz target `{t}`; the targets are {}",
                all.join(", ")
            ));
        }
    };
    tools::ensure(&tools::CARGO_FUZZ)?;
    let mut failed = Vec::new();
    for target in &chosen {
        if let Err(e) = fuzz_one(target, args.seconds) {
            eprintln!("{e}");
            failed.push(target.as_str());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzzing failed for {}", failed.join(", ")))
    }
}

/// The targets, as cargo-fuzz sees them: the files in `fuzz/fuzz_targets/`.
pub fn targets() -> Result<Vec<String>> {
    let dir = fuzz_dir().join("fuzz_targets");
    let entries = fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
            .path();
        if path.extension().is_some_and(|x| x == "rs")
            && let Some(stem) = path.file_stem()
        {
            names.push(stem.to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

fn fuzz_one(target: &str, seconds: u64) -> Result {
    let seeds = fuzz_dir().join("corpus").join(target);
    if !seeds.is_dir() {
        return Err(format!("no seed corpus at {}", seeds.display()));
    }
    let scratch = target_dir().join("fuzz-corpus").join(target);
    fs::create_dir_all(&scratch)
        .map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let artifacts = fuzz_dir().join("artifacts").join(target);
    let started = SystemTime::now();
    println!("fuzzing `{target}` for {seconds} s");
    let result = exec(
        cargo(["fuzz", "run", "--sanitizer", "none", target])
            .arg(&scratch)
            .arg(&seeds)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-print_final_stats=1",
                // No line per new coverage point: a 30 s run stays a few lines long.
                "-verbosity=0",
            ]),
    );
    if result.is_ok() {
        return Ok(());
    }
    let found = new_files(&artifacts, started);
    if found.is_empty() {
        return Err(format!("fuzz target `{target}` failed to build or run"));
    }
    let regressions = fuzz_dir().join("regressions").join(target);
    let mut msg = format!("fuzz target `{target}` found a failing input:");
    for f in &found {
        msg.push_str(&format!("\n  {}", f.display()));
    }
    msg.push_str(&format!(
        "\nReproduce with `cargo fuzz run -s none {target} <file>`. Once fixed, copy the file to \
         {}/ and commit it: `cargo test -p {} --test fuzz_corpus` replays it.",
        regressions.display(),
        replaying_crate(target)
    ));
    Err(msg)
}

/// The crate whose `fuzz_corpus` test replays `target`'s inputs: the one that
/// holds its property.
fn replaying_crate(target: &str) -> &'static str {
    match target {
        "responses" => "oai-types",
        _ => "oai-transport",
    }
}

/// Files in `dir` modified at or after `since`.
fn new_files(dir: &Path, since: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t >= since)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

fn fuzz_dir() -> PathBuf {
    project_root().join("fuzz")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str], env: Option<&str>) -> Result<Args> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        Args::parse_with_default(&args, env)
    }

    #[test]
    fn parses_target_and_seconds() {
        assert_eq!(
            parse(&[], None),
            Ok(Args {
                target: None,
                seconds: 30
            })
        );
        assert_eq!(
            parse(&[], Some("5")),
            Ok(Args {
                target: None,
                seconds: 5
            })
        );
        assert_eq!(
            parse(&["sse_decoder", "--seconds", "10"], Some("5")),
            Ok(Args {
                target: Some("sse_decoder".into()),
                seconds: 10
            })
        );
        assert_eq!(
            parse(&["--seconds=7", "error_body"], None),
            Ok(Args {
                target: Some("error_body".into()),
                seconds: 7
            })
        );
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(parse(&["--seconds"], None).is_err());
        assert!(parse(&["--seconds", "0"], None).is_err());
        assert!(parse(&["--seconds", "ten"], None).is_err());
        assert!(parse(&["a", "b"], None).is_err());
        assert!(parse(&["--jobs", "2"], None).is_err());
        assert!(
            parse(&[], Some("-1"))
                .unwrap_err()
                .contains("OAI_FUZZ_SECONDS")
        );
    }
}
