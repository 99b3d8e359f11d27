//! The wire corpus: answers that real servers are publicly recorded to have
//! sent (OpenAI, Azure, local servers, gateways, other vendors), stored under
//! `tests/data/wire/<provider>/<kind>--<slug>.<ext>` with their sources in each
//! provider's `SOURCES.md` (see `tests/data/wire/README.md`).
//!
//! Every file is decoded into the type its kind names; every event of a
//! stream is decoded, and chat and Responses streams are also folded by their
//! accumulator, which must produce a final value. Error bodies go through the
//! transport's error-body parser, and count as read when the message it gives
//! is text the server sent. The test prints a table per provider and kind,
//! the fields that did not survive a decode and re-encode (what the types do
//! not keep), and every failure with its reason; it fails unless every file
//! is read, and when a file has no row in its provider's `SOURCES.md`.
#![allow(clippy::unwrap_used)]
#![cfg(all(
    feature = "chat",
    feature = "completions",
    feature = "embeddings",
    feature = "models",
    feature = "moderations",
    feature = "responses"
))]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use oai::accumulate::{Accumulator, ChatCompletionAccumulator, ResponseAccumulator};
use oai::transport::api_error::parse_error_body;
use oai::transport::redact::Scrubber;
use oai::transport::sse::{SseLimits, decode_all};
use oai::types::{
    CreateChatCompletionResponse, CreateChatCompletionStreamResponse, CreateCompletionResponse,
    CreateEmbeddingResponse, CreateModerationResponse, ListModelsResponse, Model, Response,
    ResponseStreamEvent,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Fewest payloads and providers the corpus must hold (issue 16, item 8).
const MIN_PAYLOADS: usize = 100;
const MIN_PROVIDERS: usize = 10;

/// What the answer of one file is, from the part of its name before `--`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    ChatStream,
    /// One chunk of a chat stream, published on its own.
    ChatChunk,
    Completion,
    CompletionStream,
    Responses,
    ResponsesStream,
    /// One Responses stream event, published on its own.
    ResponsesEvent,
    Embeddings,
    Models,
    Model,
    Moderation,
    /// An error body, with the HTTP status it was answered with.
    Error(u16),
}

impl Kind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "chat" => Self::Chat,
            "chat-stream" => Self::ChatStream,
            "chat-chunk" => Self::ChatChunk,
            "completion" => Self::Completion,
            "completion-stream" => Self::CompletionStream,
            "responses" => Self::Responses,
            "responses-stream" => Self::ResponsesStream,
            "responses-event" => Self::ResponsesEvent,
            "embeddings" => Self::Embeddings,
            "models" => Self::Models,
            "model" => Self::Model,
            "moderation" => Self::Moderation,
            other => {
                let status = other.strip_prefix("error-")?.parse::<u16>().ok()?;
                if !(100..=599).contains(&status) {
                    return None;
                }
                Self::Error(status)
            }
        })
    }

    fn is_stream(self) -> bool {
        matches!(
            self,
            Self::ChatStream | Self::CompletionStream | Self::ResponsesStream
        )
    }
}

/// What reading one file gave.
#[derive(Debug, Default)]
struct Read {
    /// JSON documents decoded (1 for a plain answer, the events of a stream).
    documents: usize,
    /// Paths (array positions as `[]`) of fields present in the input and
    /// absent after a decode and re-encode.
    dropped: Vec<String>,
}

/// One file's outcome.
#[derive(Debug)]
struct Outcome {
    provider: String,
    kind: String,
    file: String,
    result: Result<Read, String>,
}

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wire")
}

/// Decodes `text` as `T`, and records what re-encoding it loses.
fn decode_json<T: DeserializeOwned + Serialize>(text: &str, read: &mut Read) -> Result<T, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let typed: T = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let again = serde_json::to_value(&typed).map_err(|e| format!("re-encoding: {e}"))?;
    lost_fields(&value, &again, "", &mut read.dropped);
    read.documents += 1;
    Ok(typed)
}

/// Fields of `input` (not `null`) that `output` does not have, by path.
fn lost_fields(input: &Value, output: &Value, path: &str, lost: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(i), Value::Object(o)) => {
            for (k, v) in i {
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match o.get(k) {
                    Some(w) => lost_fields(v, w, &here, lost),
                    None if !v.is_null() => lost.push(here),
                    None => {}
                }
            }
        }
        (Value::Array(i), Value::Array(o)) => {
            for (v, w) in i.iter().zip(o) {
                lost_fields(v, w, &format!("{path}[]"), lost);
            }
        }
        _ => {}
    }
}

/// The events of an event-stream file, `[DONE]` and empty data left out.
fn stream_events(bytes: &[u8]) -> Result<Vec<(String, String)>, String> {
    let (events, error) = decode_all(bytes, SseLimits::default());
    if let Some(e) = error {
        return Err(format!("event stream framing: {e:?}"));
    }
    Ok(events
        .into_iter()
        .filter(|e| !e.data.trim().is_empty() && e.data.trim() != "[DONE]")
        .map(|e| (e.event_type().to_owned(), e.data))
        .collect())
}

/// Whether the transport ends a stream with an API error at this event: an
/// `error` event, or JSON whose top level has a non-null `error`.
fn is_error_event(event: &str, data: &str) -> bool {
    event == "error"
        || serde_json::from_str::<Value>(data)
            .is_ok_and(|v| v.get("error").is_some_and(|e| !e.is_null()))
}

/// Strings of at least four characters the server wrote in `body`: the string
/// values of its JSON (or of the JSON of its event data), else its lines.
fn server_texts(body: &str) -> Vec<String> {
    fn leaves(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| leaves(x, out)),
            Value::Object(o) => o.values().for_each(|x| leaves(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut json = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        json.push(v);
    } else {
        for line in body.lines() {
            if let Some(data) = line.strip_prefix("data:")
                && let Ok(v) = serde_json::from_str::<Value>(data.trim())
            {
                json.push(v);
            }
        }
    }
    if json.is_empty() {
        out.extend(body.lines().map(|l| l.trim().to_owned()));
    } else {
        json.iter().for_each(|v| leaves(v, &mut out));
    }
    out.retain(|s| s.chars().count() >= 4);
    out
}

/// Reads an error body as the transport does; it counts as read when the
/// message is (or contains, or is a cut of) text the server sent.
fn read_error(status: Option<u16>, body: &str) -> Result<(), String> {
    let scrub = Scrubber::new();
    let details = parse_error_body(status, body.as_bytes(), &scrub);
    let message = details.message();
    let generic = parse_error_body(status, b"<html>not an error object</html>", &scrub);
    if message.is_empty() {
        return Err("the parser gave an empty message".to_owned());
    }
    if message == generic.message() {
        return Err(format!("the parser did not find the message: {message:?}"));
    }
    let cut = message.trim_end_matches('…');
    let texts = server_texts(body);
    if texts
        .iter()
        .any(|t| message.contains(t.as_str()) || (cut.chars().count() >= 4 && t.contains(cut)))
    {
        Ok(())
    } else {
        Err(format!(
            "the message is not the server's: {:?}",
            message.chars().take(160).collect::<String>()
        ))
    }
}

fn read_stream<T, A>(bytes: &[u8], read: &mut Read, mut acc: Option<A>) -> Result<(), String>
where
    T: DeserializeOwned + Serialize,
    A: Accumulator<Event = T>,
{
    let events = stream_events(bytes)?;
    if events.is_empty() {
        return Err("no event".to_owned());
    }
    for (n, (event, data)) in events.iter().enumerate() {
        if is_error_event(event, data) {
            // The transport ends the stream here with the server's error.
            read_error(None, data).map_err(|e| format!("event {n} (error event): {e}"))?;
            read.documents += 1;
            return Ok(());
        }
        let typed: T = decode_json(data, read).map_err(|e| format!("event {n}: {e}"))?;
        if let Some(acc) = acc.as_mut() {
            acc.push(&typed)
                .map_err(|e| format!("event {n}: accumulator: {e}"))?;
        }
    }
    if let Some(acc) = acc {
        acc.finish()
            .map_err(|e| format!("accumulator at the end: {e}"))?;
    }
    Ok(())
}

fn read_file(kind: Kind, path: &Path) -> Result<Read, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading: {e}"))?;
    let text = String::from_utf8(bytes.clone()).map_err(|e| format!("not UTF-8: {e}"))?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let mut read = Read::default();
    match (kind, ext) {
        (Kind::Error(status), "json" | "sse" | "txt") => {
            read_error(Some(status), &text)?;
            read.documents = 1;
        }
        (Kind::ChatStream, "sse") => read_stream::<CreateChatCompletionStreamResponse, _>(
            &bytes,
            &mut read,
            Some(ChatCompletionAccumulator::new()),
        )?,
        (Kind::ResponsesStream, "sse") => read_stream::<ResponseStreamEvent, _>(
            &bytes,
            &mut read,
            Some(ResponseAccumulator::new()),
        )?,
        (Kind::CompletionStream, "sse") => {
            read_stream::<CreateCompletionResponse, NoAccumulator<CreateCompletionResponse>>(
                &bytes, &mut read, None,
            )?;
        }
        (Kind::Chat, "json") => drop(decode_json::<CreateChatCompletionResponse>(
            &text, &mut read,
        )?),
        (Kind::ChatChunk, "json") => drop(decode_json::<CreateChatCompletionStreamResponse>(
            &text, &mut read,
        )?),
        (Kind::ResponsesEvent, "json") => {
            drop(decode_json::<ResponseStreamEvent>(&text, &mut read)?)
        }
        (Kind::Completion, "json") => {
            drop(decode_json::<CreateCompletionResponse>(&text, &mut read)?)
        }
        (Kind::Responses, "json") => drop(decode_json::<Response>(&text, &mut read)?),
        (Kind::Embeddings, "json") => {
            drop(decode_json::<CreateEmbeddingResponse>(&text, &mut read)?)
        }
        (Kind::Models, "json") => drop(decode_json::<ListModelsResponse>(&text, &mut read)?),
        (Kind::Model, "json") => drop(decode_json::<Model>(&text, &mut read)?),
        (Kind::Moderation, "json") => {
            drop(decode_json::<CreateModerationResponse>(&text, &mut read)?)
        }
        (k, e) => {
            let want = if k.is_stream() { "sse" } else { "json" };
            return Err(format!("a `{e}` file for this kind; expected `.{want}`"));
        }
    }
    Ok(read)
}

/// Stands for the accumulator of streams that have none.
struct NoAccumulator<T>(std::marker::PhantomData<T>);

impl<T> Default for NoAccumulator<T> {
    fn default() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<T> Accumulator for NoAccumulator<T> {
    type Event = T;
    type Output = ();
    fn push(&mut self, _: &T) -> Result<(), oai::accumulate::AccumulateError> {
        Ok(())
    }
    fn finish(self) -> Result<(), oai::accumulate::AccumulateError> {
        Ok(())
    }
}

/// The file names listed in the first column of a `SOURCES.md` table, and
/// the rows whose source column is empty.
fn source_rows(text: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut files = BTreeSet::new();
    let mut empty = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        // `| a | b | c |` splits into ["", "a", "b", "c", ""].
        if cells.len() < 4 || !cells[0].is_empty() {
            continue;
        }
        let file = cells[1].trim_matches('`');
        if file.is_empty() || file == "file" || file.starts_with("---") {
            continue;
        }
        if cells[2].is_empty() {
            empty.push(file.to_owned());
        }
        files.insert(file.to_owned());
    }
    (files, empty)
}

/// Walks the corpus: the outcome of every payload, and the problems of its
/// layout and sources.
fn walk() -> (Vec<Outcome>, Vec<String>) {
    let root = corpus_root();
    let mut outcomes = Vec::new();
    let mut problems = Vec::new();
    let mut providers: Vec<PathBuf> = match std::fs::read_dir(&root) {
        Ok(dir) => dir.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => return (outcomes, vec![format!("{}: {e}", root.display())]),
    };
    providers.sort();
    for dir in providers {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !dir.is_dir() {
            if name != "README.md" {
                problems.push(format!("{name}: a file outside any provider folder"));
            }
            continue;
        }
        let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap_or_default();
        let (listed, empty) = source_rows(&sources);
        if sources.is_empty() {
            problems.push(format!("{name}: no SOURCES.md"));
        }
        for file in empty {
            problems.push(format!("{name}/{file}: its SOURCES.md row names no source"));
        }
        let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
            Ok(d) => d.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(e) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
        };
        files.sort();
        let mut seen = BTreeSet::new();
        for path in files {
            let file = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if file == "SOURCES.md" {
                continue;
            }
            seen.insert(file.clone());
            if !listed.contains(&file) {
                problems.push(format!("{name}/{file}: no row in {name}/SOURCES.md"));
            }
            let kind_name = file.split_once("--").map(|(k, _)| k).unwrap_or("");
            let (kind, result) = match Kind::parse(kind_name) {
                Some(kind) => (kind_name.to_owned(), read_file(kind, &path)),
                None => (
                    "?".to_owned(),
                    Err(format!(
                        "unknown kind `{kind_name}` (the name is <kind>--<slug>.<ext>)"
                    )),
                ),
            };
            outcomes.push(Outcome {
                provider: name.clone(),
                kind,
                file,
                result,
            });
        }
        for file in listed.difference(&seen) {
            problems.push(format!(
                "{name}/SOURCES.md: a row for `{file}`, which does not exist"
            ));
        }
    }
    (outcomes, problems)
}

fn report(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    let mut table: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut dropped: BTreeMap<&str, (usize, BTreeMap<String, usize>)> = BTreeMap::new();
    for o in outcomes {
        let ok = usize::from(o.result.is_ok());
        for slot in [
            table
                .entry((o.provider.as_str(), o.kind.as_str()))
                .or_default(),
            by_kind.entry(o.kind.as_str()).or_default(),
        ] {
            slot.0 += ok;
            slot.1 += 1;
        }
        if let Ok(read) = &o.result {
            let entry = dropped.entry(o.provider.as_str()).or_default();
            entry.0 += read.dropped.len();
            for path in &read.dropped {
                let field = path
                    .rsplit('.')
                    .next()
                    .unwrap_or(path)
                    .trim_end_matches("[]");
                *entry.1.entry(field.to_owned()).or_default() += 1;
            }
        }
    }
    let _ = writeln!(out, "\n{:<16} {:<20} {:>9}", "provider", "kind", "decoded");
    let mut last = "";
    for ((provider, kind), (ok, total)) in &table {
        let shown = if *provider == last { "" } else { provider };
        last = provider;
        let _ = writeln!(out, "{shown:<16} {kind:<20} {:>9}", format!("{ok}/{total}"));
    }
    let _ = writeln!(out, "\nby kind:");
    for (kind, (ok, total)) in &by_kind {
        let _ = writeln!(out, "  {kind:<20} {ok}/{total}");
    }
    let ok = outcomes.iter().filter(|o| o.result.is_ok()).count();
    let providers: BTreeSet<&str> = outcomes.iter().map(|o| o.provider.as_str()).collect();
    let _ = writeln!(
        out,
        "\ntotal: {ok}/{} payloads decoded ({:.1} %), {} providers",
        outcomes.len(),
        if outcomes.is_empty() {
            0.0
        } else {
            100.0 * ok as f64 / outcomes.len() as f64
        },
        providers.len()
    );
    let _ = writeln!(
        out,
        "\nfields lost by a decode and re-encode (decoded files only):"
    );
    for (provider, (count, fields)) in &dropped {
        let mut top: Vec<(&String, &usize)> = fields.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let names: Vec<String> = top
            .iter()
            .take(8)
            .map(|(f, n)| format!("{f} ({n})"))
            .collect();
        let _ = writeln!(out, "  {provider:<16} {count:>6}  {}", names.join(", "));
    }
    let failures: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    if !failures.is_empty() {
        let _ = writeln!(out, "\nfailures ({}):", failures.len());
        for o in failures {
            if let Err(e) = &o.result {
                let _ = writeln!(out, "  {}/{}: {e}", o.provider, o.file);
            }
        }
    }
    out
}

#[test]
fn every_recorded_answer_decodes() {
    let (outcomes, problems) = walk();
    let text = report(&outcomes);
    println!("{text}");
    assert!(
        problems.is_empty(),
        "corpus layout or sources:\n  {}",
        problems.join("\n  ")
    );
    let providers: BTreeSet<&str> = outcomes.iter().map(|o| o.provider.as_str()).collect();
    assert!(
        outcomes.len() >= MIN_PAYLOADS && providers.len() >= MIN_PROVIDERS,
        "the corpus holds {} payloads from {} providers; at least {MIN_PAYLOADS} from {MIN_PROVIDERS} are expected",
        outcomes.len(),
        providers.len()
    );
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    assert_eq!(
        failed,
        0,
        "{failed} of {} recorded answers do not decode (table above)",
        outcomes.len()
    );
}

#[test]
fn sources_table_rows_are_read() {
    let (files, empty) = source_rows(
        "# x\n\n| file | source | notes |\n| --- | --- | --- |\n| `a.json` | https://e.x | |\n| b.sse |  | cut |\n",
    );
    assert_eq!(files.into_iter().collect::<Vec<_>>(), ["a.json", "b.sse"]);
    assert_eq!(empty, ["b.sse"]);
}

#[test]
fn error_messages_must_come_from_the_body() {
    assert!(
        read_error(
            Some(400),
            r#"{"error":{"message":"bad model","type":null}}"#
        )
        .is_ok()
    );
    assert!(read_error(Some(502), "<html>Bad gateway</html>").is_err());
    assert!(read_error(Some(500), "").is_err());
}

#[test]
fn lost_fields_are_found_by_path() {
    let input = serde_json::json!({"a": 1, "b": {"c": [ {"d": 1, "e": null} ]}, "f": null});
    let output = serde_json::json!({"a": 1, "b": {"c": [ {} ]}});
    let mut lost = Vec::new();
    lost_fields(&input, &output, "", &mut lost);
    assert_eq!(lost, ["b.c[].d"]);
}

/// Nothing a server sent is lost: every field of every decoded answer comes
/// back when it is encoded again (the unnamed ones through `extra`).
#[test]
fn decoding_and_encoding_again_keeps_every_field() {
    let (outcomes, _) = walk();
    let lost: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok().map(|r| (o, r)))
        .flat_map(|(o, r)| {
            r.dropped
                .iter()
                .map(move |p| format!("{}/{}: {p}", o.provider, o.file))
        })
        .collect();
    assert!(lost.is_empty(), "fields lost:\n  {}", lost.join("\n  "));
}

/// The chunks of one recorded stream, decoded.
fn chunks(file: &str) -> Vec<oai::types::CreateChatCompletionStreamResponse> {
    let bytes = std::fs::read(corpus_root().join(file)).unwrap();
    stream_events(&bytes)
        .unwrap()
        .into_iter()
        .map(|(_, data)| serde_json::from_str(&data).unwrap())
        .collect()
}

/// The text of the deltas' `name` field, concatenated over a stream.
fn delta_text(chunks: &[oai::types::CreateChatCompletionStreamResponse], name: &str) -> String {
    chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|c| c.delta.extra.get(name).and_then(Value::as_str))
        .collect()
}

#[test]
fn vendor_reasoning_text_reaches_the_accumulated_message() {
    for (file, field) in [
        ("deepseek/chat-stream--reasoning.sse", "reasoning_content"),
        ("alibaba/chat-stream--reasoning.sse", "reasoning_content"),
        ("groq/chat-stream--compound-web-search.sse", "reasoning"),
    ] {
        let chunks = chunks(file);
        let expected = delta_text(&chunks, field);
        assert!(expected.len() > 20, "{file}: {expected:?}");
        let mut acc = ChatCompletionAccumulator::new();
        for c in &chunks {
            acc.push(c).unwrap();
        }
        let done = acc.finish().unwrap();
        let message = &done.choices[0].message;
        assert_eq!(
            message.extra.get(field).and_then(Value::as_str),
            Some(expected.as_str()),
            "{file}"
        );
        assert!(
            message.content.as_deref().is_some_and(|c| !c.is_empty()),
            "{file}"
        );
    }
    // OpenRouter's structured reasoning arrives as list pieces, appended.
    let chunks = chunks("openrouter/chat-stream--claude-reasoning-details.sse");
    let pieces = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter_map(|c| {
            c.delta
                .extra
                .get("reasoning_details")
                .and_then(Value::as_array)
        })
        .map(Vec::len)
        .sum::<usize>();
    let mut acc = ChatCompletionAccumulator::new();
    for c in &chunks {
        acc.push(c).unwrap();
    }
    let done = acc.finish().unwrap();
    let details = done.choices[0].message.extra["reasoning_details"]
        .as_array()
        .unwrap();
    assert!(pieces > 0);
    assert_eq!(details.len(), pieces);
}

#[test]
fn azure_filter_results_are_readable_on_the_chunks_that_carry_them() {
    let chunks = chunks("azure/chat-stream--gpt-35-turbo-prompt-filter.sse");
    // The first chunk: no id, no model, no choices, the prompt's filter results.
    let first = &chunks[0];
    assert!(first.id.is_empty() && first.model.is_empty() && first.choices.is_empty());
    assert_eq!(
        first.extra["prompt_filter_results"][0]["content_filter_results"]["hate"]["filtered"],
        false
    );
    // Later chunks carry the completion's filter results on their choice.
    let filtered = chunks
        .iter()
        .flat_map(|c| &c.choices)
        .filter(|c| {
            c.extra
                .get("content_filter_results")
                .and_then(|r| r.get("violence"))
                .is_some()
        })
        .count();
    assert!(filtered > 0);
    let mut acc = ChatCompletionAccumulator::new();
    for c in &chunks {
        acc.push(c).unwrap();
    }
    let done = acc.finish().unwrap();
    assert!(
        done.choices[0]
            .message
            .content
            .as_deref()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(done.extra.contains_key("prompt_filter_results"));
}
