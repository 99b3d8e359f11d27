//! `cargo xtask ci`: every gate CI runs, in order. A failed step does not stop
//! the others, so the summary is complete; the exit code says whether all passed.

use std::time::Instant;

use crate::{Result, capture, cargo, exec, fuzz, tools};

/// Crates `oai-types` must never depend on: it does no I/O.
const IO_CRATES: [&str; 3] = ["reqwest", "tokio", "hyper"];

struct Outcome {
    name: &'static str,
    result: Result,
    seconds: f64,
}

pub fn run() -> Result {
    // Read before any step runs, so a bad value fails fast.
    let fuzz_args = fuzz::Args::parse(&[])?;
    let steps: [(&'static str, &dyn Fn() -> Result); 13] = [
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
            exec(&mut cargo(["test", "--workspace", "--all-features"]))
        }),
        ("doc", &|| {
            exec(
                cargo(["doc", "--workspace", "--no-deps", "--all-features"])
                    .env("RUSTDOCFLAGS", "-D warnings"),
            )
        }),
        ("conformance", &|| {
            crate::conformance::run(&crate::codegen::default_spec())
        }),
        ("oai-types deps", &types_has_no_io),
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
    let mut failed = Vec::new();
    for area in crate::codegen::areas::AREAS {
        let r = exec(&mut cargo([
            "check",
            "--quiet",
            "--package",
            "oai-builders",
            "--no-default-features",
            "--features",
            area,
        ]));
        if r.is_err() {
            failed.push(*area);
        }
    }
    for features in ["", "chat"] {
        let r = exec(&mut cargo([
            "check",
            "--quiet",
            "--package",
            "oai",
            "--no-default-features",
            "--features",
            features,
        ]));
        if r.is_err() {
            failed.push(if features.is_empty() {
                "oai (none)"
            } else {
                "oai chat"
            });
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
fn types_has_no_io() -> Result {
    let tree = capture(&mut cargo([
        "tree",
        "--package",
        "oai-types",
        "--edges",
        "normal",
        "--all-features",
        "--prefix",
        "none",
    ]))?;
    let found = io_crates_in(&tree);
    if found.is_empty() {
        println!("oai-types depends on none of {}", IO_CRATES.join(", "));
        Ok(())
    } else {
        Err(format!(
            "oai-types depends on {}; it must do no I/O",
            found.join(", ")
        ))
    }
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
