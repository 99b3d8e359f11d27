//! Replays the `responses` fuzz target's committed inputs, the seeds in
//! `fuzz/corpus/responses/` (written by `cargo xtask codegen`) and the crash
//! regressions in `fuzz/regressions/responses/`, through the same property
//! check the fuzz target runs, so plain `cargo test` keeps fixed bugs fixed.
//! (`oai-transport`'s `fuzz_corpus` test replays the other targets.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use oai_types::fuzzing::{entry, responses, types};

const TARGET: &str = "responses";

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The inputs in `dir`, sorted; hidden files such as `.gitkeep` are not inputs.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.is_file()
                && !path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn the_fuzz_target_calls_this_property() {
    let path = fuzz_dir().join("fuzz_targets").join(format!("{TARGET}.rs"));
    let source = fs::read_to_string(&path).unwrap();
    assert!(
        source.contains("oai_types::fuzzing::responses(data)"),
        "{} does not call oai_types::fuzzing::responses",
        path.display()
    );
}

#[test]
fn selectors_pick_each_type() {
    let all = types();
    assert!(all.len() > 100, "only {} response types", all.len());
    assert!(
        all.windows(2).all(|w| w[0].selector < w[1].selector),
        "selectors are not sorted and distinct"
    );
    assert_eq!(
        all.iter().map(|e| e.name).collect::<BTreeSet<_>>().len(),
        all.len(),
        "a type is listed twice"
    );
    for e in all {
        assert_eq!(entry(e.selector).unwrap().name, e.name);
    }
    // Between two selectors the later type is picked; past the last, the first.
    let (first, last) = (&all[0], &all[all.len() - 1]);
    assert_eq!(entry(all[1].selector - 1).unwrap().name, all[1].name);
    if last.selector < u16::MAX {
        assert_eq!(entry(u16::MAX).unwrap().name, first.name);
    }
    assert!(!responses(b""));
    assert!(!responses(&first.selector.to_be_bytes()));
    assert!(all.iter().any(|e| e.stream), "no stream event type");
}

#[test]
fn corpus_and_regressions_replay() {
    let corpus = inputs(&fuzz_dir().join("corpus").join(TARGET));
    let regressions = inputs(&fuzz_dir().join("regressions").join(TARGET));
    let mut failed = Vec::new();
    let mut misplaced = Vec::new();
    let mut samples_rejected = Vec::new();
    let mut seeded = BTreeSet::new();
    let mut parsed = 0;
    for file in corpus.iter().chain(&regressions) {
        let name = file_name(file);
        let bytes = fs::read(file).unwrap();
        // Seeds and regressions are named after their type: `<Type>-...`.
        let ty = name.split('-').next().unwrap_or_default();
        let picked = match bytes.as_slice() {
            [a, b, ..] => entry(u16::from_be_bytes([*a, *b])).map(|e| e.name),
            _ => None,
        };
        if picked.is_some_and(|p| p == ty) {
            seeded.insert(ty.to_owned());
        } else {
            misplaced.push(format!("{name} picks {picked:?}"));
        }
        match catch_unwind(AssertUnwindSafe(|| responses(&bytes))) {
            Ok(true) => parsed += 1,
            Ok(false) if name.ends_with("-sample") => samples_rejected.push(name),
            Ok(false) => {}
            Err(_) => failed.push(file.display().to_string()),
        }
    }
    println!(
        "replayed {} seeds and {} regressions; {parsed} deserialized",
        corpus.len(),
        regressions.len()
    );
    assert!(
        failed.is_empty(),
        "fuzz inputs that fail the round trip property:\n{}",
        failed.join("\n")
    );
    assert!(
        misplaced.is_empty(),
        "inputs whose selector does not pick the type their name starts with:\n{}",
        misplaced.join("\n")
    );
    assert!(
        samples_rejected.is_empty(),
        "generated samples that their type does not accept:\n{}",
        samples_rejected.join("\n")
    );
    let unseeded: Vec<&str> = types()
        .iter()
        .map(|e| e.name)
        .filter(|n| !seeded.contains(*n))
        .collect();
    assert!(unseeded.is_empty(), "types without a seed: {unseeded:?}");
}
