//! The official JSON Schema Test Suite (draft 2020-12) run against the tool
//! runner's argument validator, [`oai::tools::CompiledSchema`].
//!
//! The suite is read from `../shared/json-schema-test-suite` beside the
//! workspace root, or from the folder named by `OAI_JSON_SCHEMA_SUITE`; if it
//! is missing the test fails (a run that checks nothing must not pass).
//!
//! Every case of `tests/draft2020-12` (the optional folders included, the
//! format assertions among them) and the draft 7 cases of the older tuple form
//! of `items` that the validator also reads is judged as follows:
//!
//! - An oracle written here, independent of the validator, walks the schema
//!   and says whether it uses anything the validator refuses: a keyword
//!   outside [`ACCEPTED`], a format outside [`FORMATS`], a `$ref` that is not
//!   a JSON pointer inside the schema (remote references are refused, never
//!   fetched), a nested `$id`, a `$schema` that is not a standard meta-schema.
//! - Such a schema must be refused by `CompiledSchema::compile`; any other
//!   schema must compile, except for a `pattern` the regex engine cannot run
//!   exactly (look-around, back-references, Unicode properties), which must be
//!   refused with a message saying so.
//! - Every test of a compiled schema must give the suite's answer. The one
//!   deliberate difference: formats are assertions here (the suite's
//!   `optional/format` files), so the string cases of `format.json`, which
//!   check the annotation-only default with strings invalid for their format,
//!   must be rejected.
//!
//! The per-file table (run with `--nocapture` to see it) gives the figures
//! quoted in `crates/oai/src/tools/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "tools")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use oai::tools::CompiledSchema;
use serde_json::{Map, Value};

/// The keywords the validator accepts, by the shape of their value.
const ACCEPTED: &[(&str, Shape)] = &[
    ("type", Shape::Value),
    ("enum", Shape::Value),
    ("const", Shape::Value),
    ("nullable", Shape::Value),
    ("$ref", Shape::Ref),
    ("$defs", Shape::Map),
    ("definitions", Shape::Map),
    ("$id", Shape::Id),
    ("$schema", Shape::MetaSchema),
    ("properties", Shape::Map),
    ("required", Shape::Value),
    ("additionalProperties", Shape::One),
    ("patternProperties", Shape::Map),
    ("propertyNames", Shape::One),
    ("minProperties", Shape::Value),
    ("maxProperties", Shape::Value),
    ("items", Shape::OneOrList),
    ("prefixItems", Shape::List),
    ("additionalItems", Shape::One),
    ("minItems", Shape::Value),
    ("maxItems", Shape::Value),
    ("uniqueItems", Shape::Value),
    ("contains", Shape::One),
    ("minContains", Shape::Value),
    ("maxContains", Shape::Value),
    ("minLength", Shape::Value),
    ("maxLength", Shape::Value),
    ("pattern", Shape::Value),
    ("format", Shape::Format),
    ("minimum", Shape::Value),
    ("maximum", Shape::Value),
    ("exclusiveMinimum", Shape::Value),
    ("exclusiveMaximum", Shape::Value),
    ("multipleOf", Shape::Value),
    ("allOf", Shape::List),
    ("anyOf", Shape::List),
    ("oneOf", Shape::List),
    ("not", Shape::One),
    ("title", Shape::Value),
    ("description", Shape::Value),
    ("default", Shape::Value),
    ("examples", Shape::Value),
    ("example", Shape::Value),
    ("$comment", Shape::Value),
    ("deprecated", Shape::Value),
    ("readOnly", Shape::Value),
    ("writeOnly", Shape::Value),
];

/// The formats the validator asserts.
const FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "ipv4",
    "ipv6",
    "uuid",
    "regex",
];

/// The meta-schemas whose vocabulary the validator reads.
const META_SCHEMAS: &[&str] = &[
    "https://json-schema.org/draft/2020-12/schema",
    "https://json-schema.org/draft/2019-09/schema",
    "http://json-schema.org/draft-07/schema#",
    "http://json-schema.org/draft-07/schema",
    "http://json-schema.org/draft-06/schema#",
    "http://json-schema.org/draft-06/schema",
    "http://json-schema.org/draft-04/schema#",
    "http://json-schema.org/draft-04/schema",
];

/// Older-draft files run for the forms the validator also reads.
const DRAFT7_FILES: &[&str] = &["items.json", "additionalItems.json"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Not a schema.
    Value,
    /// One subschema.
    One,
    /// One subschema or an array of them.
    OneOrList,
    /// An array of subschemas.
    List,
    /// An object of subschemas.
    Map,
    /// A reference: a JSON pointer inside the schema only.
    Ref,
    /// Only at the root.
    Id,
    /// A standard meta-schema.
    MetaSchema,
    /// A format the validator asserts.
    Format,
}

/// Why the oracle expects `schema` to be refused, if it does.
fn refusal(schema: &Value) -> Option<String> {
    let mut stack = vec![(schema, String::new())];
    while let Some((node, path)) = stack.pop() {
        let Value::Object(map) = node else {
            continue;
        };
        if let Some(why) = refusal_here(map, &path, &mut stack) {
            return Some(why);
        }
    }
    None
}

fn refusal_here<'a>(
    map: &'a Map<String, Value>,
    path: &str,
    stack: &mut Vec<(&'a Value, String)>,
) -> Option<String> {
    for (key, value) in map {
        let at = format!("{path}/{key}");
        let Some((_, shape)) = ACCEPTED.iter().find(|(k, _)| k == key) else {
            return Some(format!("keyword `{key}` at {at}"));
        };
        match shape {
            Shape::Value => {}
            Shape::One => stack.push((value, at)),
            Shape::OneOrList | Shape::List => match value {
                Value::Array(items) => {
                    for (i, item) in items.iter().enumerate() {
                        stack.push((item, format!("{at}/{i}")));
                    }
                }
                other => stack.push((other, at)),
            },
            Shape::Map => {
                if let Value::Object(subs) = value {
                    for (name, sub) in subs {
                        stack.push((sub, format!("{at}/{name}")));
                    }
                }
            }
            Shape::Ref => {
                let r = value.as_str().unwrap_or_default();
                if !(r == "#" || r.starts_with("#/")) {
                    return Some(format!("`$ref` {r:?} at {at} (not a local JSON pointer)"));
                }
            }
            Shape::Id => {
                if !path.is_empty() {
                    return Some(format!("`$id` below the root at {at}"));
                }
            }
            Shape::MetaSchema => {
                let s = value.as_str().unwrap_or_default();
                if !META_SCHEMAS.contains(&s) {
                    return Some(format!("meta-schema {s:?} at {at}"));
                }
            }
            Shape::Format => {
                let f = value.as_str().unwrap_or_default();
                if !FORMATS.contains(&f) {
                    return Some(format!("format {f:?} at {at}"));
                }
            }
        }
    }
    None
}

/// Where the suite is: `OAI_JSON_SCHEMA_SUITE`, or `../shared/...` beside the
/// workspace root.
fn suite_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("OAI_JSON_SCHEMA_SUITE") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/json-schema-test-suite")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    cases: usize,
    compiled: usize,
    refused: usize,
    refused_regex: usize,
    tests: usize,
    passed: usize,
}

#[test]
fn json_schema_test_suite_draft2020_12() {
    let root = suite_dir();
    let draft = root.join("tests/draft2020-12");
    assert!(
        draft.is_dir(),
        "the JSON Schema Test Suite is missing: expected {} (set OAI_JSON_SCHEMA_SUITE to the \
         folder holding `tests/draft2020-12`, or put the suite at ../shared/json-schema-test-suite \
         beside the workspace root)",
        draft.display()
    );
    let mut files = Vec::new();
    json_files(&draft, &mut files);
    let mut labelled: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&draft).unwrap().display().to_string();
            (name, p)
        })
        .collect();
    for name in DRAFT7_FILES {
        let path = root.join("tests/draft7").join(name);
        assert!(path.is_file(), "missing {}", path.display());
        labelled.push((format!("draft7/{name}"), path));
    }
    assert!(
        labelled.len() > 50,
        "only {} files found under {}",
        labelled.len(),
        draft.display()
    );

    let mut failures = Vec::new();
    let mut table: BTreeMap<String, Tally> = BTreeMap::new();
    for (name, path) in &labelled {
        let text = std::fs::read_to_string(path).expect("read a suite file");
        let cases: Vec<Value> = serde_json::from_str(&text).expect("a suite file is JSON");
        let tally = table.entry(name.clone()).or_default();
        for case in &cases {
            let description = case["description"].as_str().unwrap_or_default();
            let schema = &case["schema"];
            let tests = case["tests"].as_array().expect("tests");
            tally.cases += 1;
            let expected_refusal = refusal(schema);
            let compiled = CompiledSchema::compile(schema);
            let compiled = match (compiled, expected_refusal) {
                (Ok(_), Some(why)) => {
                    failures.push(format!(
                        "{name}: {description}: compiled although it uses {why}"
                    ));
                    continue;
                }
                (Err(_), Some(_)) => {
                    tally.refused += 1;
                    continue;
                }
                (Err(e), None) => {
                    if e.message().contains("not supported by the regex engine") {
                        tally.refused_regex += 1;
                    } else {
                        failures.push(format!("{name}: {description}: refused: {e}"));
                    }
                    continue;
                }
                (Ok(c), None) => c,
            };
            tally.compiled += 1;
            for test in tests {
                let data = &test["data"];
                let mut expected = test["valid"].as_bool().expect("valid");
                let test_description = test["description"].as_str().unwrap_or_default();
                if name == "format.json" && data.is_string() {
                    assert!(
                        test_description.contains("only an annotation"),
                        "unexpected string case in format.json: {test_description}"
                    );
                    // Formats are asserted: the invalid string is rejected.
                    expected = false;
                }
                tally.tests += 1;
                let got = compiled.is_valid(data);
                let violations = compiled.validate(data);
                if got != violations.is_empty() {
                    failures.push(format!(
                        "{name}: {description}: {test_description}: is_valid and validate disagree"
                    ));
                } else if got == expected {
                    tally.passed += 1;
                } else {
                    failures.push(format!(
                        "{name}: {description}: {test_description}: data {data} expected {} got {}",
                        if expected { "valid" } else { "invalid" },
                        if got { "valid" } else { "invalid" },
                    ));
                }
            }
        }
    }

    let mut report = String::from(
        "| file | cases | compiled | refused (keyword, format, ref) | refused (regex feature) | tests run | passed |\n|---|---|---|---|---|---|---|\n",
    );
    let mut total = Tally::default();
    for (name, t) in &table {
        writeln!(
            report,
            "| {name} | {} | {} | {} | {} | {} | {} |",
            t.cases, t.compiled, t.refused, t.refused_regex, t.tests, t.passed
        )
        .unwrap();
        total.cases += t.cases;
        total.compiled += t.compiled;
        total.refused += t.refused;
        total.refused_regex += t.refused_regex;
        total.tests += t.tests;
        total.passed += t.passed;
    }
    writeln!(
        report,
        "| total | {} | {} | {} | {} | {} | {} |",
        total.cases, total.compiled, total.refused, total.refused_regex, total.tests, total.passed
    )
    .unwrap();
    println!("{report}");
    assert!(
        failures.is_empty(),
        "{} failures of the JSON Schema Test Suite:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Enough was run for the verdict to mean something: every accepted
    // keyword with a file of its own and every asserted format had cases run.
    for (name, t) in &table {
        let stem = name
            .rsplit('/')
            .next()
            .unwrap_or(name)
            .trim_end_matches(".json");
        let keyword = ACCEPTED.iter().any(|(k, _)| *k == stem);
        let format = name.starts_with("optional/format/") && FORMATS.contains(&stem);
        if keyword || format {
            assert!(t.tests > 0, "no case of {name} was run");
        }
    }
    assert!(
        total.compiled >= 250,
        "only {} cases compiled",
        total.compiled
    );
    assert_eq!(total.passed, total.tests);
}
