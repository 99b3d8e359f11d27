//! `cargo xtask ci`: every gate CI runs, in order. A failed step does not stop
//! the others, so the summary is complete; the exit code says whether all passed.

use std::time::Instant;

use crate::{Result, capture, cargo, exec, fuzz, tools};

/// Crates `oai-types` and `oai-webhooks` must never depend on: they do no
/// I/O (a server that only verifies webhooks links no HTTP client).
const IO_CRATES: [&str; 3] = ["reqwest", "tokio", "hyper"];

struct Outcome {
    name: &'static str,
    result: Result,
    seconds: f64,
}

pub fn run() -> Result {
    crate::NOT_INCREMENTAL.store(true, std::sync::atomic::Ordering::Relaxed);
    // Read before any step runs, so a bad value fails fast.
    let fuzz_args = fuzz::Args::parse(&[])?;
    let steps: [(&'static str, &dyn Fn() -> Result); 15] = [
        ("tools", &tools::ensure_all),
        ("fmt", &fmt),
        ("codegen --check", &|| {
            crate::codegen::run(&crate::codegen::Args {
                spec: crate::codegen::default_spec(),
                check: true,
            })
        }),
        ("coverage", &|| {
            crate::codegen::coverage::run(&crate::codegen::default_spec())
        }),
        ("area features", &area_features),
        ("clippy", &|| {
            exec(&mut cargo([
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--",
                "-D",
                "warnings",
            ]))
        }),
        ("test", &|| {
            exec(&mut cargo([
                "test",
                "--workspace",
                "--all-features",
                "--no-fail-fast",
            ]))
        }),
        ("examples", &examples),
        ("real server", &crate::realserver::run),
        ("doc", &|| {
            exec(
                cargo(["doc", "--workspace", "--no-deps", "--all-features"])
                    .env("RUSTDOCFLAGS", "-D warnings"),
            )
        }),
        ("conformance", &|| {
            crate::conformance::run(&crate::codegen::default_spec())
        }),
        ("no-I/O crates", &no_io_crates),
        ("deny", &crate::deny::run),
        ("audit", &crate::audit::run),
        ("fuzz smoke", &|| fuzz::run(&fuzz_args)),
    ];
    let mut outcomes = Vec::new();
    for (name, step) in steps {
        println!("\n==> {name}");
        let start = Instant::now();
        let result = step();
        if let Err(e) = &result {
            eprintln!("==> {name} FAILED: {e}");
        }
        outcomes.push(Outcome {
            name,
            result,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    println!("\n{}", summary(&outcomes));
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.name)
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of {} steps failed: {}",
            failed.len(),
            outcomes.len(),
            failed.join(", ")
        ))
    }
}

/// Variables that would make an example talk to a real service; the examples
/// run with none of them, so each starts its local stand-in.
const SERVICE_VARS: [&str; 9] = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_WEBHOOK_SECRET",
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "AZURE_OPENAI_DEPLOYMENT",
    "OPENAI_API_VERSION",
    "OAI_MODEL",
];

/// The longest an example may run.
const EXAMPLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// Every example of the facade runs to success with no key and no network.
fn examples() -> Result {
    exec(&mut cargo([
        "build",
        "--quiet",
        "--package",
        "oai",
        "--all-features",
        "--examples",
    ]))?;
    let dir = crate::project_root().join("crates/oai/examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("could not list {}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    names.sort();
    let mut failed = Vec::new();
    for name in &names {
        let mut cmd = cargo([
            "run",
            "--quiet",
            "--package",
            "oai",
            "--all-features",
            "--example",
            name,
        ]);
        for var in SERVICE_VARS {
            cmd.env_remove(var);
        }
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        match run_with_timeout(&mut cmd, EXAMPLE_TIMEOUT) {
            Ok(first_line) => println!("example {name}: ok ({first_line})"),
            Err(e) => {
                eprintln!("example {name}: {e}");
                failed.push(name.clone());
            }
        }
    }
    if failed.is_empty() {
        println!("{} examples ran with no key and no network", names.len());
        Ok(())
    } else {
        Err(format!("examples failed: {}", failed.join(", ")))
    }
}

/// Runs `cmd` to success within `limit`; gives the first line it printed.
fn run_with_timeout(cmd: &mut std::process::Command, limit: std::time::Duration) -> Result<String> {
    use std::io::Read;
    let mut child = cmd.spawn().map_err(|e| format!("could not start: {e}"))?;
    // Drain the pipes on threads so a chatty example cannot block on them.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut text);
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {} s, killed", limit.as_secs()));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(50)),
            Err(e) => return Err(format!("could not wait: {e}")),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "exited with {status}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        ));
    }
    Ok(stdout
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(120)
        .collect())
}

fn fmt() -> Result {
    let workspace = exec(&mut cargo(["fmt", "--all", "--check"]));
    // The fuzz crate is a workspace of its own (without `--all`, which would
    // take in its path dependencies too).
    let fuzz = exec(&mut cargo([
        "fmt",
        "--check",
        "--manifest-path",
        "fuzz/Cargo.toml",
    ]));
    workspace.and(fuzz)
}

/// Every API area of `oai-types` and `oai-builders` builds on its own (the
/// builders take the types with them), and so does the facade with one area
/// and with none.
fn area_features() -> Result {
    // Each feature set is a build of `oai-types` of its own (80 MB of metadata
    // apiece); they go to a directory of their own, removed afterwards, so
    // the step leaves the disk as it found it.
    let dir = crate::target_dir().join("area-features");
    let result = area_features_in(&dir);
    if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("could not remove {}: {e}", dir.display());
    }
    result
}

fn area_features_in(dir: &std::path::Path) -> Result {
    let check = |args: &[&str]| {
        let mut cmd = cargo(args);
        // A feature set that only warns (dead code without its callers) fails too.
        cmd.env("CARGO_TARGET_DIR", dir)
            .env("RUSTFLAGS", "-D warnings");
        exec(&mut cmd)
    };
    let mut failed = Vec::new();
    for area in crate::codegen::areas::AREAS {
        let r = check(&[
            "check",
            "--quiet",
            "--package",
            "oai-builders",
            "--no-default-features",
            "--features",
            area,
        ]);
        if r.is_err() {
            failed.push(*area);
        }
    }
    for (features, label) in [
        ("", "oai (none)"),
        ("chat", "oai chat"),
        ("tools,chat", "oai tools+chat"),
        ("tools,responses", "oai tools+responses"),
        ("realtime-ws", "oai realtime-ws"),
        ("tools,realtime-ws", "oai tools+realtime-ws"),
    ] {
        let r = check(&[
            "check",
            "--quiet",
            "--package",
            "oai",
            "--no-default-features",
            "--features",
            features,
        ]);
        if r.is_err() {
            failed.push(label);
        }
    }
    if failed.is_empty() {
        println!(
            "{} area features each build alone",
            crate::codegen::areas::AREAS.len()
        );
        Ok(())
    } else {
        Err(format!(
            "these features do not build alone: {}",
            failed.join(", ")
        ))
    }
}

/// The layering rule: `oai-types` is data only.
fn no_io_crates() -> Result {
    for krate in ["oai-types", "oai-webhooks"] {
        let tree = capture(&mut cargo([
            "tree",
            "--package",
            krate,
            "--edges",
            "normal",
            "--all-features",
            "--prefix",
            "none",
        ]))?;
        let found = io_crates_in(&tree);
        if !found.is_empty() {
            return Err(format!(
                "{krate} depends on {}; it must do no I/O",
                found.join(", ")
            ));
        }
        println!("{krate} depends on none of {}", IO_CRATES.join(", "));
    }
    Ok(())
}

/// The crates of a `cargo tree --prefix none` listing that are, or belong to, one
/// of [`IO_CRATES`] (`tokio-util`, `hyper-util` too).
fn io_crates_in(tree: &str) -> Vec<&str> {
    let mut found: Vec<&str> = tree
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| {
            IO_CRATES.iter().any(|io| {
                name.strip_prefix(io)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
            })
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

fn summary(outcomes: &[Outcome]) -> String {
    let width = outcomes
        .iter()
        .map(|o| o.name.len())
        .max()
        .unwrap_or(0)
        .max("step".len());
    let mut table = format!("{:<width$}  {:<6}  {:>8}\n", "step", "status", "seconds");
    for o in outcomes {
        let status = if o.result.is_ok() { "ok" } else { "FAILED" };
        table.push_str(&format!(
            "{:<width$}  {status:<6}  {:>8.1}\n",
            o.name, o.seconds
        ));
    }
    let total: f64 = outcomes.iter().map(|o| o.seconds).sum();
    table.push_str(&format!("{:<width$}  {:<6}  {total:>8.1}", "total", ""));
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_io_crates_in_a_tree_listing() {
        let tree = "oai-types v0.1.0 (/w/crates/oai-types)\nserde v1.0.219\n\
                    serde_json v1.0.140\ntokio-util v0.7.15\ntokio v1.45.0\ntokio v1.45.0 (*)\n\
                    hyperx v1.0.0\nreqwest v0.12.28\n";
        assert_eq!(io_crates_in(tree), ["reqwest", "tokio", "tokio-util"]);
        assert!(io_crates_in("oai-types v0.1.0\nserde v1.0.219\n").is_empty());
    }

    #[test]
    fn summary_lists_every_step() {
        let outcomes = [
            Outcome {
                name: "fmt",
                result: Ok(()),
                seconds: 1.5,
            },
            Outcome {
                name: "oai-types deps",
                result: Err("x".into()),
                seconds: 0.5,
            },
        ];
        let table = summary(&outcomes);
        assert!(table.contains("fmt             ok           1.5"));
        assert!(table.contains("oai-types deps  FAILED       0.5"));
        assert!(table.ends_with("2.0"));
    }
}
