//! `cargo xtask <command>`: the project's own build tasks, in plain Rust with no
//! dependencies beyond `std`. Each command lives in a module of its own.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod audit;
mod bench;
mod ci;
mod codegen;
mod conformance;
mod deny;
mod fuzz;
mod realserver;
mod tools;

/// Every failure is reported as one line of text.
type Result<T = (), E = String> = std::result::Result<T, E>;

const HELP: &str = "\
Usage: cargo xtask <command> [options]

Commands:
  ci                     run every gate CI runs, in order, and print a summary
  audit                  cargo-audit, offline, on Cargo.lock and fuzz/Cargo.lock
  deny                   cargo-deny, offline: advisories, bans, licences, sources
  fuzz [TARGET] [--seconds N]
                         run one fuzz target (default: all), N seconds each
                         (default: $OAI_FUZZ_SECONDS, else 30)
  tools                  install the pinned cargo-audit, cargo-deny, cargo-fuzz
  codegen [--spec PATH] [--check]
                         generate the typed API from the OpenAPI document
                         (default: $OAI_OPENAPI_SPEC, else ../shared/openapi/openapi.yaml);
                         --check fails when the committed output is stale
  coverage [--spec PATH]  operations and schemas the committed code covers,
                         per API area; fails unless all are covered
  conformance [--spec PATH]
                         requests our builders make, judged by an independent
                         validator of the spec, and responses an independent
                         spec-driven generator draws, decoded by our types
                         (tools/conformance: Python, pinned, from PyPI)
  real-server            the facade and the `oai` command against a real
                         OpenAI-compatible server (llama.cpp's, through
                         llama-cpp-python, with a 270M model; installed once
                         under ~/.cache/oai, about 9 minutes)
  bench [--compile-time] criterion benchmarks and the load driver of crates/oai-bench;
                         writes target/bench/report.md (figures, ratios, budgets);
                         --compile-time adds the clean-build CPU time of oai
                         (all features) and oai-types (feature chat)

Environment:
  OAI_ADVISORY_DB        the RustSec advisory database snapshot
                         (default: ../shared/advisory-db beside the workspace root)
  OAI_FUZZ_SECONDS       seconds per fuzz target for `fuzz` and `ci`
  OAI_CACHE_DIR          where `real-server` installs the server
                         (default: $XDG_CACHE_HOME/oai, else ~/.cache/oai)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(args: &[String]) -> Result {
    let Some((command, rest)) = args.split_first() else {
        println!("{HELP}");
        return Err("no command given".into());
    };
    if rest.iter().any(|a| a == "-h" || a == "--help") {
        println!("{HELP}");
        return Ok(());
    }
    match command.as_str() {
        "ci" => no_args(command, rest).and_then(|()| ci::run()),
        "audit" => no_args(command, rest).and_then(|()| audit::run()),
        "deny" => no_args(command, rest).and_then(|()| deny::run()),
        "fuzz" => fuzz::run(&fuzz::Args::parse(rest)?),
        "tools" => no_args(command, rest).and_then(|()| tools::ensure_all()),
        "codegen" => codegen::run(&codegen::Args::parse(rest)?),
        "coverage" => codegen::coverage::run(&codegen::Args::parse(rest)?.spec),
        "conformance" => conformance::run(&codegen::Args::parse(rest)?.spec),
        "bench" => bench::run(&bench::Args::parse(rest)?),
        "real-server" => no_args(command, rest).and_then(|()| realserver::run()),
        "-h" | "--help" | "help" => {
            println!("{HELP}");
            Ok(())
        }
        other => Err(format!(
            "unknown command `{other}`; see `cargo xtask --help`"
        )),
    }
}

fn no_args(command: &str, rest: &[String]) -> Result {
    match rest.first() {
        None => Ok(()),
        Some(arg) => Err(format!("`{command}` takes no argument, got `{arg}`")),
    }
}

/// The workspace root (this crate sits one level below it).
fn project_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `<root>/target`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => project_root().join(dir),
        None => project_root().join("target"),
    }
}

/// The project's two cargo workspaces: the main one and the standalone fuzz crate.
const MANIFESTS: [&str; 2] = ["Cargo.toml", "fuzz/Cargo.toml"];

/// Runs `check` on each workspace of [`MANIFESTS`] after `cargo fetch`, which
/// brings its lockfile up to date and puts every source on disk, as the offline
/// tools need. Every workspace is checked, even after a failure.
fn check_workspaces(tool: &str, mut check: impl FnMut(&str) -> Result) -> Result {
    let mut failed = Vec::new();
    for manifest in MANIFESTS {
        exec(&mut cargo([
            "fetch",
            "--quiet",
            "--manifest-path",
            manifest,
        ]))?;
        if let Err(e) = check(manifest) {
            eprintln!("{e}");
            failed.push(manifest);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("{tool} found problems in {}", failed.join(", ")))
    }
}

/// The cargo that runs this xtask, working in the project root.
fn cargo<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(args).current_dir(project_root());
    if NOT_INCREMENTAL.load(std::sync::atomic::Ordering::Relaxed) {
        cmd.env("CARGO_INCREMENTAL", "0");
    }
    cmd
}

/// Set by `cargo xtask ci`: every build it starts is one-shot, so incremental
/// caches (several times the size of the artifacts) would only fill the disk.
static NOT_INCREMENTAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Runs `cmd` with inherited stdio; a non-zero exit is an error.
fn exec(cmd: &mut Command) -> Result {
    let shown = show(cmd);
    println!("$ {shown}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed ({status})"))
    }
}

/// Runs `cmd` and returns its standard output; a non-zero exit is an error.
fn capture(cmd: &mut Command) -> Result<String> {
    let shown = show(cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "`{shown}` failed ({}): {}",
            out.status,
            stderr.trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|_| format!("`{shown}` printed non-UTF-8 output"))
}

fn show(cmd: &Command) -> String {
    // `$CARGO` is a long toolchain path; its file name says enough.
    let program = Path::new(cmd.get_program());
    let mut s = program
        .file_name()
        .unwrap_or(program.as_os_str())
        .to_string_lossy()
        .into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn unknown_commands_and_options_fail() {
        assert!(
            dispatch(&args(&["frobnicate"]))
                .unwrap_err()
                .contains("unknown command")
        );
        assert!(
            dispatch(&args(&["codegen", "--frobnicate"]))
                .unwrap_err()
                .contains("unknown codegen option")
        );
        assert!(
            dispatch(&args(&["bench", "--check"]))
                .unwrap_err()
                .contains("unknown bench option")
        );
        assert!(
            dispatch(&args(&["audit", "extra"]))
                .unwrap_err()
                .contains("takes no argument")
        );
        assert!(dispatch(&args(&[])).is_err());
    }

    #[test]
    fn help_succeeds() {
        assert!(dispatch(&args(&["--help"])).is_ok());
        assert!(dispatch(&args(&["ci", "--help"])).is_ok());
    }
}
