//! What each command does.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use oai::accumulate::{Accumulator, ChatCompletionAccumulator, ResponseAccumulator};
use oai::batch::{BatchInput, BatchItem, BatchRunner};
use oai::builders::{CreateChatCompletionRequestBuilder as Chat, CreateResponseBuilder};
use oai::types::{
    ChatCompletionRequestMessage as Message, CreateChatCompletionStreamResponse,
    ResponseStreamEvent,
};
use oai::upload::LargeUpload;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::exit::{self, Failure};
use crate::output::{Output, TextStream};
use crate::{BatchCommand, Cli, Command, FilesCommand, ResponsesCommand, TokenField};

type Outcome = Result<(), Failure>;

/// The most the CLI keeps of one streamed answer, in bytes of the JSON of the
/// events it folds into the final object. The text is written as it comes and
/// not kept, so only the rest (tool calls, refusals, metadata) counts. With
/// `--json` nothing is kept: each event is printed as it arrives.
pub const MAX_KEPT_BYTES: u64 = 16 << 20;

/// The events that end a Responses stream (as the library's `create_stream`
/// reads them).
const RESPONSES_END: &[&str] = &[
    "response.completed",
    "response.failed",
    "response.incomplete",
];

pub async fn run(cli: Cli, client: &oai::Client, out: &Output) -> Outcome {
    let json = cli.json;
    match cli.command {
        Command::Chat {
            prompt,
            model,
            system,
            no_stream,
            max_tokens,
            max_tokens_field,
        } => {
            let ask = Ask {
                json,
                stream: !no_stream,
            };
            let limit = max_tokens.map(|n| (n, max_tokens_field.unwrap_or_default()));
            chat(client, out, ask, prompt, model, system, limit).await
        }
        Command::Models => models(client, out, json).await,
        Command::Files { command } => match command {
            FilesCommand::Upload {
                path,
                purpose,
                part_mib,
            } => upload(client, out, json, &path, &purpose, part_mib).await,
            FilesCommand::List => list_files(client, out, json).await,
            FilesCommand::Delete { id } => delete_file(client, out, json, &id).await,
        },
        Command::Batch { command } => match command {
            BatchCommand::Run {
                file,
                resume,
                output,
                poll_seconds,
            } => {
                let options = BatchOptions {
                    json,
                    output: output.as_deref(),
                    poll: poll_seconds,
                };
                batch(client, out, file.as_deref(), resume, options).await
            }
        },
        Command::Responses { command } => match command {
            ResponsesCommand::Create {
                input,
                model,
                instructions,
                no_stream,
                max_tokens,
            } => {
                let ask = Ask {
                    json,
                    stream: !no_stream,
                };
                let request = ResponseRequest {
                    input,
                    model,
                    instructions,
                    max_tokens,
                };
                responses(client, out, ask, request).await
            }
        },
    }
}

/// A request refused before it was sent (its message says so: "invalid
/// request: ...").
fn invalid(e: oai::builders::ValidationError) -> Failure {
    Failure::new(exit::LOCAL, e.to_string())
}

fn print_json(out: &Output, value: &impl Serialize) -> Outcome {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(exit::LOCAL, format!("could not write JSON: {e}")))?;
    out.write_line(&out.json(&text))
}

/// Prints a body as the server sent it, byte for byte (and a newline when it
/// ends without one), once it is known to be JSON: a body that is not is a
/// decode error, as it would be for a typed call.
fn print_body(out: &Output, raw: &oai::RawResponse) -> Outcome {
    let text = std::str::from_utf8(&raw.body).map_err(|e| raw.decode_error(e))?;
    serde_json::from_str::<&RawValue>(text).map_err(|e| raw.decode_error(e))?;
    let shown = out.json(text);
    if shown.ends_with('\n') {
        out.write(&shown)
    } else {
        out.write_line(&shown)
    }
}

/// Prints each event of a stream as the server sent its JSON, one per line,
/// as it arrives. An event the server spread over several `data:` lines is
/// the one place the text changes: its line breaks (whitespace between JSON
/// tokens, never inside a string) become spaces, to keep one event a line.
async fn print_events(out: &Output, mut events: oai::EventStream<Box<RawValue>>) -> Outcome {
    while let Some(event) = events.next().await {
        let event = event?;
        let text = event.get();
        let line = if text.contains(['\n', '\r']) {
            std::borrow::Cow::Owned(text.replace(['\n', '\r'], " "))
        } else {
            std::borrow::Cow::Borrowed(text)
        };
        out.write_line(&out.json(&line))?;
    }
    Ok(())
}

/// Counts what a streamed answer leaves in its accumulator, and stops the
/// stream once it passes [`MAX_KEPT_BYTES`].
struct Kept {
    bytes: u64,
}

impl Kept {
    fn new() -> Self {
        Self { bytes: 0 }
    }

    /// Counts `event` (the size of its JSON, written nowhere).
    fn add(&mut self, event: &impl Serialize) -> Outcome {
        let mut count = ByteCount(0);
        serde_json::to_writer(&mut count, event)
            .map_err(|e| Failure::new(exit::LOCAL, format!("could not measure an event: {e}")))?;
        self.bytes = self.bytes.saturating_add(count.0);
        if self.bytes <= MAX_KEPT_BYTES {
            return Ok(());
        }
        let mib = MAX_KEPT_BYTES >> 20;
        Err(Failure::new(
            exit::LOCAL,
            format!(
                "the streamed answer's parts other than its text (tool calls, refusals, \
                 metadata) passed the {mib} MiB the CLI keeps of one; stopped reading \
                 (--json prints the events as they come and keeps none)"
            ),
        ))
    }
}

/// An `io::Write` that only counts.
struct ByteCount(u64);

impl Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self
            .0
            .saturating_add(u64::try_from(buf.len()).unwrap_or(u64::MAX));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How an answer is asked for and shown.
#[derive(Clone, Copy)]
struct Ask {
    json: bool,
    stream: bool,
}

/// Reads a stream of events to its end: the text of each event (taken out by
/// `take_text`) goes to `shown`; the rest is counted and folded into `acc`
/// (which checks that the events make one answer). On a failure, what was
/// shown is ended with a newline first.
async fn read_stream<E, A, S>(
    mut events: S,
    mut acc: A,
    mut shown: TextStream<'_>,
    take_text: fn(&mut E) -> Option<String>,
) -> Outcome
where
    S: futures_util::Stream<Item = oai::Result<E>> + Unpin,
    A: Accumulator<Event = E>,
    E: Serialize,
{
    let mut kept = Kept::new();
    let mut wrote = false;
    let outcome = async {
        while let Some(event) = events.next().await {
            let mut event = event?;
            if let Some(text) = take_text(&mut event).filter(|t| !t.is_empty()) {
                shown.push(&text)?;
                wrote = true;
            }
            kept.add(&event)?;
            acc.push(&event).map_err(oai::Error::from)?;
        }
        Ok::<(), Failure>(())
    }
    .await;
    // The stream's end (or a failure) starts a new line.
    let end = if outcome.is_ok() || wrote { "\n" } else { "" };
    shown.finish(end)?;
    outcome?;
    acc.finish().map_err(oai::Error::from)?;
    Ok(())
}

/// The text of choice 0 of a chat chunk, taken out of it.
fn take_chat_text(chunk: &mut CreateChatCompletionStreamResponse) -> Option<String> {
    chunk
        .choices
        .iter_mut()
        .find(|c| c.index == 0)
        .and_then(|c| c.delta.content.take())
}

/// The text of a Responses `response.output_text.delta` event, taken out of it.
fn take_response_text(event: &mut ResponseStreamEvent) -> Option<String> {
    match event {
        ResponseStreamEvent::ResponseOutputTextDelta(e) => Some(std::mem::take(&mut e.delta)),
        _ => None,
    }
}

async fn chat(
    client: &oai::Client,
    out: &Output,
    ask: Ask,
    prompt: String,
    model: String,
    system: Option<String>,
    limit: Option<(u32, TokenField)>,
) -> Outcome {
    let mut messages = Vec::new();
    if let Some(system) = system {
        messages.push(Message::system(system));
    }
    messages.push(Message::user(prompt));
    let mut builder = Chat::new(messages, model);
    builder = match limit {
        None => builder,
        Some((n, TokenField::MaxCompletionTokens)) => builder.max_completion_tokens(i64::from(n)),
        // Deprecated by OpenAI, and still the only limit some servers read.
        #[allow(deprecated)]
        Some((n, TokenField::MaxTokens)) => builder.max_tokens(i64::from(n)),
    };
    let mut request = builder.build().map_err(invalid)?;
    let completions = client.chat().completions();
    match (ask.json, ask.stream) {
        (true, true) => {
            // The same request as `create_stream`, read as the server's JSON.
            request.stream = Some(true);
            let events = client
                .post("/chat/completions")
                .json(&request)
                .stream::<Box<RawValue>>()
                .await?;
            print_events(out, events).await
        }
        (true, false) => {
            let raw = client
                .post("/chat/completions")
                .json(&request)
                .send_raw()
                .await?;
            print_body(out, &raw)
        }
        (false, true) => {
            let events = completions.create(request).stream().await?;
            let acc = ChatCompletionAccumulator::default();
            read_stream(events, acc, out.stream(), take_chat_text).await
        }
        (false, false) => {
            let completion = completions.create(request).await?;
            let choice = completion.choices.first();
            let text = choice.and_then(|c| c.message.content.as_deref());
            let refusal = choice.and_then(|c| c.message.refusal.as_deref());
            match (text, refusal) {
                (Some(text), _) => out.write_line(&out.text(text)),
                (None, Some(refusal)) => {
                    out.write_line(&format!("(refused) {}", out.text(refusal)))
                }
                (None, None) => out.write_line(""),
            }
        }
    }
}

/// What `responses create` asks for.
struct ResponseRequest {
    input: String,
    model: String,
    instructions: Option<String>,
    max_tokens: Option<u32>,
}

async fn responses(
    client: &oai::Client,
    out: &Output,
    ask: Ask,
    asked: ResponseRequest,
) -> Outcome {
    let mut builder = CreateResponseBuilder::new()
        .model(asked.model)
        .input(asked.input);
    if let Some(instructions) = asked.instructions {
        builder = builder.instructions(instructions);
    }
    if let Some(n) = asked.max_tokens {
        builder = builder.max_output_tokens(u64::from(n));
    }
    let mut request = builder.build().map_err(invalid)?;
    match (ask.json, ask.stream) {
        (true, true) => {
            // The same request as `create_stream`, read as the server's JSON.
            request.stream = Some(true);
            let events = client
                .post("/responses")
                .json(&request)
                .stream_with::<Box<RawValue>>(oai::StreamOptions::terminal_events(RESPONSES_END))
                .await?;
            print_events(out, events).await
        }
        (true, false) => {
            let raw = client.post("/responses").json(&request).send_raw().await?;
            print_body(out, &raw)
        }
        (false, true) => {
            let events = client.responses().create(request).stream().await?;
            let acc = ResponseAccumulator::default();
            read_stream(events, acc, out.stream(), take_response_text).await
        }
        (false, false) => {
            let response = client.responses().create(request).await?;
            out.write_line(&out.text(&response.output_text()))
        }
    }
}

async fn models(client: &oai::Client, out: &Output, json: bool) -> Outcome {
    if json {
        // The request `models().list()` sends.
        return print_body(out, &client.get("/models").send_raw().await?);
    }
    let list = client.models().list().await?;
    let mut ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    for id in ids {
        out.write_line(&out.field(id))?;
    }
    Ok(())
}

async fn list_files(client: &oai::Client, out: &Output, json: bool) -> Outcome {
    if json {
        // The request `files().list(Default::default())` sends.
        return print_body(out, &client.get("/files").send_raw().await?);
    }
    let list = client.files().list(Default::default()).await?;
    for f in &list.data {
        out.write_line(&format!(
            "{}\t{}\t{}\t{}",
            out.field(&f.id),
            f.bytes,
            out.field(f.purpose.as_ref()),
            out.field(&f.filename)
        ))?;
    }
    Ok(())
}

async fn delete_file(client: &oai::Client, out: &Output, json: bool, id: &str) -> Outcome {
    if json {
        let path = format!("/files/{}", oai::path_segment("file_id", id)?);
        return print_body(out, &client.delete(path).send_raw().await?);
    }
    let deleted = client.files().delete(id).await?;
    out.write_line(&format!("deleted {}", out.field(&deleted.id)))
}

/// Progress on stderr: a bar on a terminal, a line per step otherwise (logs,
/// pipes, tests). Server text in it (a batch's id or status) is scrubbed and
/// made one line either way.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    out: Output,
}

impl Progress {
    fn new(quiet: bool, out: &Output) -> Self {
        Self {
            bar: None,
            quiet,
            out: out.clone(),
        }
    }

    fn update(&mut self, done: u64, total: u64, what: &str, line: impl FnOnce() -> String) {
        if self.quiet {
            return;
        }
        if !std::io::stderr().is_terminal() {
            self.out.note(&line());
            return;
        }
        let what = self.out.line(what);
        let bar = self.bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::new(total);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(what);
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

async fn upload(
    client: &oai::Client,
    out: &Output,
    json: bool,
    path: &Path,
    purpose: &str,
    part_mib: u32,
) -> Outcome {
    let progress = Arc::new(Mutex::new(Progress::new(json, out)));
    // The Uploads API (parts, progress per part) takes only some purposes;
    // the others go through the Files API in one request.
    if !oai::types::CreateUploadRequestPurpose::VALUES.contains(&purpose) {
        return upload_whole(client, out, json, path, purpose, &progress).await;
    }
    let shown = Arc::clone(&progress);
    let part_bytes = usize::try_from(part_mib).unwrap_or(64) << 20;
    let upload = LargeUpload::from_path(path, purpose)
        .part_size(part_bytes)
        .on_progress(move |p| {
            if let Ok(mut shown) = shown.lock() {
                shown.update(p.bytes_sent, p.total_bytes, "bytes", || {
                    format!(
                        "uploaded part {}/{} ({} of {} bytes)",
                        p.parts_done, p.parts_total, p.bytes_sent, p.total_bytes
                    )
                });
            }
        })
        .send(client)
        .await;
    if let Ok(mut shown) = progress.lock() {
        shown.finish();
    }
    let upload = upload?;
    if json {
        return print_json(out, &upload);
    }
    match &upload.file {
        Some(file) => out.write_line(&format!(
            "{}\t{}\t{}",
            out.field(&file.id),
            file.bytes,
            out.field(&file.filename)
        )),
        None => out.write_line(&format!(
            "upload {} is {}",
            out.field(&upload.id),
            out.field(upload.status.as_ref())
        )),
    }
}

/// A file sent through the Files API in one request (purposes the Uploads
/// API does not take). Progress is reported once the server has it.
async fn upload_whole(
    client: &oai::Client,
    out: &Output,
    json: bool,
    path: &Path,
    purpose: &str,
    progress: &Mutex<Progress>,
) -> Outcome {
    let bytes = std::fs::metadata(path)
        .map_err(|e| {
            Failure::new(
                exit::LOCAL,
                format!("could not read {}: {e}", path.display()),
            )
        })?
        .len();
    let request = oai::builders::CreateFileRequestBuilder::new(
        oai::types::InputFile::from_path(path),
        oai::types::CreateFileRequestPurpose::from(purpose),
    )
    .build()
    .map_err(invalid)?;
    let file = client.files().create(request).await?;
    if let Ok(mut shown) = progress.lock() {
        shown.update(bytes, bytes, "bytes", || {
            format!("uploaded {bytes} of {bytes} bytes in one request")
        });
        shown.finish();
    }
    if json {
        return print_json(out, &file);
    }
    out.write_line(&format!(
        "{}\t{}\t{}",
        out.field(&file.id),
        file.bytes,
        out.field(&file.filename)
    ))
}

/// One result of a batch as the CLI prints it: `{"custom_id", "response"}` or
/// `{"custom_id", "error": {status, code, message, request_id}}`, borrowed
/// from the results (nothing is copied).
#[derive(Clone, Serialize)]
struct ResultLine<'a> {
    custom_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ResultError<'a>>,
}

#[derive(Clone, Serialize)]
struct ResultError<'a> {
    code: Option<&'a str>,
    message: &'a str,
    request_id: Option<&'a str>,
    status: Option<u16>,
}

impl<'a> ResultLine<'a> {
    fn of(item: &'a BatchItem<Value>) -> Self {
        match &item.result {
            Ok(body) => Self {
                custom_id: &item.custom_id,
                response: Some(body),
                error: None,
            },
            Err(e) => Self {
                custom_id: &item.custom_id,
                response: None,
                error: Some(ResultError {
                    code: e.code.as_deref(),
                    message: &e.message,
                    request_id: e.request_id.as_deref(),
                    status: e.status,
                }),
            },
        }
    }

    fn to_json(&self) -> Result<String, Failure> {
        serde_json::to_string(self)
            .map_err(|e| Failure::new(exit::LOCAL, format!("could not write JSON: {e}")))
    }
}

/// Serializes an iterator as a JSON array without collecting it.
fn serialize_iter<S, I>(items: &I, serializer: S) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    I: Iterator + Clone,
    I::Item: Serialize,
{
    serializer.collect_seq(items.clone())
}

struct BatchOptions<'a> {
    json: bool,
    output: Option<&'a Path>,
    poll: f64,
}

/// Reads a batch input file: one request per line.
fn read_batch_file(path: &Path) -> Result<BatchInput, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::new(
            exit::LOCAL,
            format!("could not read {}: {e}", path.display()),
        )
    })?;
    let mut endpoint = None::<String>;
    let mut requests = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let at = || format!("{} line {}", path.display(), n + 1);
        let value: Value = serde_json::from_str(line)
            .map_err(|e| Failure::new(exit::LOCAL, format!("{}: not JSON: {e}", at())))?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| Failure::new(exit::LOCAL, format!("{}: no string `{name}`", at())))
        };
        let custom_id = field("custom_id")?;
        let url = field("url")?;
        if value
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("POST")
            != "POST"
        {
            return Err(Failure::new(
                exit::LOCAL,
                format!("{}: `method` must be POST", at()),
            ));
        }
        match &endpoint {
            None => endpoint = Some(url.to_owned()),
            Some(first) if first == url => {}
            Some(first) => {
                return Err(Failure::new(
                    exit::LOCAL,
                    format!(
                        "{}: url `{url}` differs from the first line's `{first}`",
                        at()
                    ),
                ));
            }
        }
        let body = value
            .get("body")
            .cloned()
            .ok_or_else(|| Failure::new(exit::LOCAL, format!("{}: no `body`", at())))?;
        requests.push((custom_id.to_owned(), body));
    }
    let Some(endpoint) = endpoint else {
        return Err(Failure::new(
            exit::LOCAL,
            format!("{} has no requests", path.display()),
        ));
    };
    BatchInput::custom(endpoint.as_str(), requests).map_err(Failure::from)
}

async fn batch(
    client: &oai::Client,
    out: &Output,
    file: Option<&Path>,
    resume: Option<String>,
    options: BatchOptions<'_>,
) -> Outcome {
    let progress = Arc::new(Mutex::new(Progress::new(options.json, out)));
    let shown = Arc::clone(&progress);
    let poll = Duration::try_from_secs_f64(options.poll)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| Failure::new(exit::USAGE, "--poll-seconds must be a positive number"))?;
    let runner = BatchRunner::new(client)
        .poll_interval(poll)
        .on_progress(move |batch| {
            let counts = batch.request_counts.as_ref();
            let done = counts.map_or(0, |c| c.completed + c.failed);
            let total = counts.map_or(0, |c| c.total);
            if let Ok(mut shown) = shown.lock() {
                shown.update(
                    u64::try_from(done).unwrap_or(0),
                    u64::try_from(total).unwrap_or(0),
                    batch.status.as_ref(),
                    || {
                        format!(
                            "batch {} is {} ({done}/{total} requests)",
                            batch.id, batch.status
                        )
                    },
                );
            }
        });
    let batch_id = match (resume, file) {
        (Some(id), _) => id,
        (None, Some(path)) => {
            let input = read_batch_file(path)?;
            let batch = runner.submit(&input).await?;
            if !options.json {
                out.note(&format!(
                    "batch {} submitted ({} requests); if this stops, {}",
                    batch.id,
                    input.len(),
                    exit::resume_hint(&batch.id)
                ));
            }
            batch.id
        }
        (None, None) => {
            return Err(Failure::new(
                exit::USAGE,
                "give a FILE or --resume BATCH_ID",
            ));
        }
    };
    let outcome = runner.resume::<Value>(&batch_id).await;
    if let Ok(mut shown) = progress.lock() {
        shown.finish();
    }
    let outcome = outcome?;
    let results = || outcome.results.iter().map(ResultLine::of);
    let failed = outcome.results.len() - outcome.results.succeeded();
    if options.json && options.output.is_none() {
        #[derive(Serialize)]
        struct All<'a, I: Iterator<Item = ResultLine<'a>> + Clone> {
            batch: &'a oai::types::Batch,
            #[serde(serialize_with = "serialize_iter")]
            results: I,
        }
        print_json(
            out,
            &All {
                batch: &outcome.batch,
                results: results(),
            },
        )?;
    } else {
        // One line per result, written as it is made (never the whole text
        // at once).
        match options.output {
            Some(path) => {
                let open = |e: std::io::Error| {
                    Failure::new(
                        exit::LOCAL,
                        format!("could not write {}: {e}", path.display()),
                    )
                };
                let file = std::fs::File::create(path).map_err(open)?;
                let mut file = std::io::BufWriter::new(file);
                for line in results() {
                    let text = line.to_json()?;
                    writeln!(file, "{text}").map_err(open)?;
                }
                file.flush().map_err(open)?;
            }
            None => {
                for line in results() {
                    out.write_line(&out.json(&line.to_json()?))?;
                }
            }
        }
        if options.json {
            print_json(out, &outcome.batch)?;
        }
    }
    if !options.json {
        out.note(&format!(
            "batch {} {}: {} succeeded, {failed} failed",
            outcome.batch.id,
            outcome.batch.status,
            outcome.results.len() - failed
        ));
    }
    Ok(())
}
