//! Every JSON request body in the spec's curl examples reads as its
//! operation's generated request type and passes `Validate`. The spec is read
//! at test time from `$OAI_OPENAPI_SPEC`, else `../shared/openapi/openapi.yaml`
//! beside the workspace.
//!
//! Bodies are taken from the `-d` (or `--data`, `--data-raw`,
//! `--data-binary`) argument of the `curl` request of each example, unquoted
//! the way a POSIX shell would; multipart `-F` fields and the other languages
//! are not looked at.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod generated;

use std::collections::BTreeMap;
use std::path::PathBuf;

use oai_builders::Validate;
use serde_json::Value;
use yaml_rust2::{Yaml, YamlLoader};

/// JSON bodies the generated request types refuse, by operation id and
/// example title, with the reason read off the error: the spec's example
/// contradicts its own schema. The test fails when this list is wrong in
/// either direction, so a fix must update it.
const KNOWN_MISMATCHES: &[(&str, &str, &str)] = &[
    (
        "CreateChatSessionMethod",
        "default",
        "example has an integer for `expires_after`, which the schema types as an object \
         (`anchor`, `seconds`)",
    ),
    (
        "create-realtime-session",
        "default",
        "example omits `client_secret`, which the request schema requires",
    ),
    (
        "createVectorStoreFileBatch",
        "default",
        "example puts the static chunking sizes beside `type` instead of inside `static`, \
         which the schema requires",
    ),
];

/// Examples whose `-d` argument is not JSON at all, with what is wrong with
/// it. Checked in both directions like [`KNOWN_MISMATCHES`].
const NOT_JSON: &[(&str, &str, &str)] = &[
    (
        "accept-realtime-call",
        "default",
        "a trailing comma after the last field",
    ),
    (
        "createEvalRun",
        "default",
        "one closing brace short at the end",
    ),
    (
        "createFineTuningJob",
        "W&B Integration",
        "a comma missing after `name` in `wandb`",
    ),
    (
        "searchVectorStore",
        "default",
        "`{...}` as a placeholder for `filters`",
    ),
];

/// Deserializes `value` as `T`, then validates it.
pub fn read_and_validate<T: serde::de::DeserializeOwned + Validate>(
    value: Value,
) -> Result<(), String> {
    let typed: T = serde_json::from_value(value).map_err(|e| format!("deserialize: {e}"))?;
    typed.validate().map_err(|e| e.to_string())
}

fn spec_path() -> PathBuf {
    match std::env::var_os("OAI_OPENAPI_SPEC") {
        Some(p) => PathBuf::from(p),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/openapi/openapi.yaml")
        }
    }
}

fn to_json(y: &Yaml) -> Value {
    match y {
        Yaml::Real(r) => r
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or(Value::String(r.clone())),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::String(s) => Value::String(s.clone()),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(a) => Value::Array(a.iter().map(to_json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .filter_map(|(k, v)| k.as_str().map(|k| (k.to_owned(), to_json(v))))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// Reads one shell word at the start of `s` the way a POSIX shell does
/// (quotes removed, adjacent quoted and unquoted pieces joined, backslash
/// escapes and line continuations applied). Expansions are refused: a `$`
/// outside single quotes would make the body depend on the environment.
fn shell_word(s: &str) -> Result<String, String> {
    let mut word = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => break,
            '\'' => loop {
                match chars.next() {
                    Some('\'') => break,
                    Some(c) => word.push(c),
                    None => return Err("unterminated single quote".into()),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('\n') => {}
                        Some(c @ ('$' | '`' | '"' | '\\')) => word.push(c),
                        Some(c) => {
                            word.push('\\');
                            word.push(c);
                        }
                        None => return Err("unterminated double quote".into()),
                    },
                    Some('$' | '`') => return Err("a shell expansion in the body".into()),
                    Some(c) => word.push(c),
                    None => return Err("unterminated double quote".into()),
                }
            },
            '\\' => match chars.next() {
                Some('\n') | None => {}
                Some(c) => word.push(c),
            },
            '$' | '`' => return Err("a shell expansion in the body".into()),
            c => word.push(c),
        }
    }
    Ok(word)
}

/// The data arguments of a curl command line, each read as a shell word.
///
/// The flag is searched for as a word of its own rather than by parsing the
/// whole command, so a broken quote elsewhere (a header missing its closing
/// `"`) does not hide the body.
fn curl_bodies(curl: &str) -> Vec<Result<String, String>> {
    const FLAGS: &[&str] = &["-d", "--data", "--data-raw", "--data-binary"];
    let mut out = Vec::new();
    let mut prev_is_space = true;
    for (i, c) in curl.char_indices() {
        if prev_is_space && c == '-' {
            let rest = &curl[i..];
            for flag in FLAGS {
                let Some(after) = rest.strip_prefix(flag) else {
                    continue;
                };
                // `-d value` (with any line continuations between) or `--data=value`.
                let value = if let Some(v) = after.strip_prefix('=').filter(|_| flag.len() > 2) {
                    v
                } else if after.starts_with([' ', '\t', '\\']) {
                    after.trim_start_matches([' ', '\t', '\\', '\n'])
                } else {
                    continue;
                };
                out.push(shell_word(value));
            }
        }
        prev_is_space = c.is_whitespace();
    }
    out
}

#[derive(Default)]
struct Outcome {
    examples: usize,
    no_curl: usize,
    bodies: usize,
    passed: usize,
    empty: usize,
    untyped: Vec<String>,
    /// `(operation id, title)` -> reason, for bodies that are not JSON.
    not_json: BTreeMap<(String, String), String>,
    /// `(operation id, title)` -> error, for JSON bodies that fail.
    failures: BTreeMap<(String, String), String>,
}

fn run() -> Outcome {
    let path = spec_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let docs = YamlLoader::load_from_str(&text).expect("the spec is YAML");
    let spec = to_json(&docs[0]);
    let mut o = Outcome::default();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let Some(id) = op["operationId"].as_str() else {
                continue;
            };
            let examples = match &op["x-oaiMeta"]["examples"] {
                Value::Array(a) => a.clone(),
                Value::Object(o) => vec![Value::Object(o.clone())],
                _ => continue,
            };
            for ex in examples {
                o.examples += 1;
                let Some(curl) = ex["request"]["curl"].as_str() else {
                    o.no_curl += 1;
                    continue;
                };
                let title = ex["title"].as_str().unwrap_or("default").to_owned();
                let key = (id.to_owned(), title.clone());
                let bodies = curl_bodies(curl);
                assert!(bodies.len() <= 1, "{id} / {title}: several -d arguments");
                for body in bodies {
                    o.bodies += 1;
                    let body = match body {
                        Ok(b) if b.trim().is_empty() => {
                            // `-d ''` sends no body: fine only when none is required.
                            o.empty += 1;
                            if op["requestBody"]["required"] == Value::Bool(true) {
                                o.failures
                                    .insert(key.clone(), "empty body, but one is required".into());
                            }
                            continue;
                        }
                        Ok(b) => b,
                        Err(e) => {
                            o.not_json.insert(key.clone(), format!("shell: {e}"));
                            continue;
                        }
                    };
                    let value = match serde_json::from_str::<Value>(&body) {
                        Ok(v) => v,
                        Err(e) => {
                            o.not_json.insert(key.clone(), format!("JSON: {e}"));
                            continue;
                        }
                    };
                    match generated::check_request(id, value) {
                        None => o.untyped.push(format!("{id} / {title}")),
                        Some(Ok(())) => o.passed += 1,
                        Some(Err(e)) => {
                            o.failures.insert(key.clone(), e);
                        }
                    }
                }
            }
        }
    }
    o
}

/// The entries of `found` missing from `known`, and those of `known` not in `found`.
fn compare(
    found: &BTreeMap<(String, String), String>,
    known: &[(&str, &str, &str)],
) -> (Vec<String>, Vec<String>) {
    let known: BTreeMap<(String, String), &str> = known
        .iter()
        .map(|(id, t, why)| ((id.to_string(), t.to_string()), *why))
        .collect();
    let unexpected = found
        .iter()
        .filter(|(k, _)| !known.contains_key(*k))
        .map(|((id, t), e)| format!("{id} / {t}: {e}"))
        .collect();
    let stale = known
        .keys()
        .filter(|k| !found.contains_key(*k))
        .map(|(id, t)| format!("{id} / {t}"))
        .collect();
    (unexpected, stale)
}

#[test]
fn request_examples_validate() {
    let o = run();
    println!(
        "{} examples ({} without curl); {} curl data bodies: {} read and validate, {} listed in \
         KNOWN_MISMATCHES, {} listed in NOT_JSON, {} empty",
        o.examples,
        o.no_curl,
        o.bodies,
        o.passed,
        o.failures.len(),
        o.not_json.len(),
        o.empty,
    );
    assert!(
        o.untyped.is_empty(),
        "curl examples send JSON to operations without a typed JSON body: {:?}",
        o.untyped
    );
    let (unexpected, stale) = compare(&o.failures, KNOWN_MISMATCHES);
    assert!(
        unexpected.is_empty(),
        "{} request examples fail:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    // The list is what strict decoding (`--cfg oai_strict`, as the conformance
    // step builds) refuses; tolerant decoding reads an omitted required field
    // as empty, so it may accept some of them.
    assert!(
        stale.is_empty() || !cfg!(oai_strict),
        "listed in KNOWN_MISMATCHES but now pass (remove them): {stale:?}"
    );
    // 120 when written: fewer means a change broke examples that passed.
    assert!(
        o.passed >= 120,
        "only {} request examples validate",
        o.passed
    );
    let (unexpected, stale) = compare(&o.not_json, NOT_JSON);
    assert!(
        unexpected.is_empty(),
        "{} request examples are not JSON:\n{}",
        unexpected.len(),
        unexpected.join("\n")
    );
    assert!(
        stale.is_empty(),
        "listed in NOT_JSON but now read as JSON (remove them): {stale:?}"
    );
}

#[test]
fn shell_words_unquote_like_a_shell() {
    assert_eq!(shell_word("'{\"a\": 1}' rest").unwrap(), "{\"a\": 1}");
    // A single quote inside single quotes ends them: the shell joins the pieces.
    assert_eq!(
        shell_word("'one of 'x', or 'y''").unwrap(),
        "one of x, or y"
    );
    assert_eq!(shell_word("\"a\\\"b\\$c\\n\"").unwrap(), "a\"b$c\\n");
    assert_eq!(shell_word("ab\\\ncd e").unwrap(), "abcd");
    assert_eq!(shell_word("''").unwrap(), "");
    assert!(shell_word("'open").is_err());
    assert!(shell_word("\"$HOME\"").is_err());
    assert!(shell_word("$X").is_err());
}

#[test]
fn curl_data_flags_are_found() {
    let curl =
        "curl https://x/v1 \\\n  -H \"Content-Type: application/json \\\n  -d '{\"a\": \"-d b\"}'";
    let bodies: Vec<String> = curl_bodies(curl).into_iter().map(Result::unwrap).collect();
    assert_eq!(bodies, ["{\"a\": \"-d b\"}"]);
    let curl = "curl -X POST https://x --data-raw='[1]' -H 'A: b'";
    let bodies: Vec<String> = curl_bodies(curl).into_iter().map(Result::unwrap).collect();
    assert_eq!(bodies, ["[1]"]);
    assert!(curl_bodies("curl https://x -F a=b -H 'X-Id: -d'").is_empty());
}
