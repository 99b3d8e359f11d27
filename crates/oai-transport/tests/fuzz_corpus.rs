//! Replays every committed fuzz input, the seed corpora in `fuzz/corpus/<target>/`
//! and the crash regressions in `fuzz/regressions/<target>/`, through the same
//! property checks the fuzz targets run, so plain `cargo test` keeps fixed bugs
//! fixed. The `responses` target checks `oai-types` and is replayed by that
//! crate's own `fuzz_corpus` test.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use oai_transport::fuzzing::{TARGETS, run};

/// Fuzz targets whose property lives in another crate, with the test that
/// replays their corpus.
const REPLAYED_ELSEWHERE: &[(&str, &str)] =
    &[("responses", "crates/oai-types/tests/fuzz_corpus.rs")];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The inputs in `dir`, sorted; hidden files such as `.gitkeep` are not inputs.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| cannot_read(dir, &e)) {
        let path = entry.unwrap_or_else(|e| cannot_read(dir, &e)).path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if path.is_file() && !hidden {
            files.push(path);
        }
    }
    files.sort();
    files
}

fn cannot_read(dir: &Path, e: &std::io::Error) -> ! {
    panic!("cannot read {}: {e}", dir.display())
}

#[test]
fn every_target_is_a_cargo_fuzz_target() {
    let mut files: Vec<String> = fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|x| x == "rs"))
        .map(|path| path.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut targets: Vec<&str> = TARGETS
        .iter()
        .chain(REPLAYED_ELSEWHERE.iter().map(|(t, _)| t))
        .copied()
        .collect();
    targets.sort_unstable();
    assert_eq!(
        files, targets,
        "fuzz/fuzz_targets/ differs from fuzzing::TARGETS and REPLAYED_ELSEWHERE"
    );
    for (target, test) in REPLAYED_ELSEWHERE {
        let path = fuzz_dir().join("..").join(test);
        let source = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{target}: cannot read {}: {e}", path.display()));
        assert!(
            source.contains(&format!("\"{target}\"")),
            "{} does not replay `{target}`",
            path.display()
        );
    }
    assert!(!run("no_such_target", b""));
}

#[test]
fn corpora_and_regressions_replay() {
    let mut failed = Vec::new();
    let mut replayed = 0;
    for &target in TARGETS {
        let corpus = inputs(&fuzz_dir().join("corpus").join(target));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{target}/ has no seed inputs"
        );
        let regressions = inputs(&fuzz_dir().join("regressions").join(target));
        for file in corpus.iter().chain(&regressions) {
            let bytes = fs::read(file).unwrap();
            match catch_unwind(AssertUnwindSafe(|| run(target, &bytes))) {
                Ok(known) => assert!(known, "fuzzing::run does not know target `{target}`"),
                Err(_) => failed.push(file.display().to_string()),
            }
        }
        println!(
            "{target}: replayed {} seeds and {} regressions",
            corpus.len(),
            regressions.len()
        );
        replayed += corpus.len() + regressions.len();
    }
    println!("replayed {replayed} fuzz inputs");
    assert!(
        failed.is_empty(),
        "fuzz inputs that fail their property check:\n{}",
        failed.join("\n")
    );
}
