//! What each command does.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use oai::accumulate::{AccumulateExt, StreamEvent};
use oai::batch::{BatchInput, BatchRunner};
use oai::builders::{CreateChatCompletionRequestBuilder as Chat, CreateResponseBuilder};
use oai::types::ChatCompletionRequestMessage as Message;
use oai::upload::LargeUpload;
use serde_json::{Value, json};

use crate::exit::{self, Failure};
use crate::{BatchCommand, Cli, Command, FilesCommand, ResponsesCommand};

type Outcome = Result<(), Failure>;

pub async fn run(cli: Cli) -> Outcome {
    let client = oai::Client::from_env()?;
    let json = cli.json;
    match cli.command {
        Command::Chat {
            prompt,
            model,
            system,
            no_stream,
        } => chat(&client, json, prompt, model, system, !no_stream).await,
        Command::Models => models(&client, json).await,
        Command::Files { command } => match command {
            FilesCommand::Upload {
                path,
                purpose,
                part_mib,
            } => upload(&client, json, &path, &purpose, part_mib).await,
            FilesCommand::List => list_files(&client, json).await,
            FilesCommand::Delete { id } => delete_file(&client, json, &id).await,
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
                batch(&client, file.as_deref(), resume, options).await
            }
        },
        Command::Responses { command } => match command {
            ResponsesCommand::Create {
                input,
                model,
                instructions,
                no_stream,
            } => responses(&client, json, input, model, instructions, !no_stream).await,
        },
    }
}

/// A request refused before it was sent.
fn invalid(e: impl std::fmt::Display) -> Failure {
    Failure::new(exit::LOCAL, format!("invalid request: {e}"))
}

fn print_json(value: &impl serde::Serialize) -> Outcome {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(exit::LOCAL, format!("could not write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// Writes a piece of streamed text to stdout right away.
fn emit(text: &str) -> Outcome {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::new(exit::LOCAL, format!("could not write to stdout: {e}")))
}

async fn chat(
    client: &oai::Client,
    json: bool,
    prompt: String,
    model: String,
    system: Option<String>,
    stream: bool,
) -> Outcome {
    let mut messages = Vec::new();
    if let Some(system) = system {
        messages.push(Message::system(system));
    }
    messages.push(Message::user(prompt));
    let request = Chat::new(messages, model).build().map_err(invalid)?;
    let completion = if stream {
        let mut events = client
            .chat()
            .completions()
            .create_stream(request)
            .await?
            .accumulate();
        while let Some(chunk) = events.next().await {
            let chunk = chunk?;
            if !json && let Some(delta) = chunk.text_delta() {
                emit(delta)?;
            }
        }
        let completion = events.into_final()?;
        if !json {
            emit("\n")?;
        }
        completion
    } else {
        let completion = client.chat().completions().create(request).await?;
        if !json {
            let choice = completion.choices.first();
            let text = choice.and_then(|c| c.message.content.as_deref());
            let refusal = choice.and_then(|c| c.message.refusal.as_deref());
            match (text, refusal) {
                (Some(text), _) => println!("{text}"),
                (None, Some(refusal)) => println!("(refused) {refusal}"),
                (None, None) => println!(),
            }
        }
        completion
    };
    if json {
        print_json(&completion)?;
    }
    Ok(())
}

async fn responses(
    client: &oai::Client,
    json: bool,
    input: String,
    model: String,
    instructions: Option<String>,
    stream: bool,
) -> Outcome {
    let mut builder = CreateResponseBuilder::new().model(model).input(input);
    if let Some(instructions) = instructions {
        builder = builder.instructions(instructions);
    }
    let request = builder.build().map_err(invalid)?;
    let response = if stream {
        let mut events = client
            .responses()
            .create_stream(request)
            .await?
            .accumulate();
        while let Some(event) = events.next().await {
            let event = event?;
            if !json && let Some(delta) = event.text_delta() {
                emit(delta)?;
            }
        }
        let response = events.into_final()?;
        if !json {
            emit("\n")?;
        }
        response
    } else {
        let response = client.responses().create(request).await?;
        if !json {
            println!("{}", output_text(&response));
        }
        response
    };
    if json {
        print_json(&response)?;
    }
    Ok(())
}

fn output_text(response: &oai::types::Response) -> String {
    let mut text = String::new();
    for item in &response.output {
        if let oai::types::OutputItem::Message(m) = item {
            for part in &m.content {
                if let oai::types::OutputMessageContent::OutputText(t) = part {
                    text.push_str(&t.text);
                }
            }
        }
    }
    text
}

async fn models(client: &oai::Client, json: bool) -> Outcome {
    let list = client.models().list().await?;
    if json {
        return print_json(&list);
    }
    let mut ids: Vec<&str> = list.data.iter().map(|m| m.id.as_str()).collect();
    ids.sort_unstable();
    for id in ids {
        println!("{id}");
    }
    Ok(())
}

async fn list_files(client: &oai::Client, json: bool) -> Outcome {
    let list = client.files().list(Default::default()).await?;
    if json {
        return print_json(&list);
    }
    for f in &list.data {
        println!("{}\t{}\t{}\t{}", f.id, f.bytes, f.purpose, f.filename);
    }
    Ok(())
}

async fn delete_file(client: &oai::Client, json: bool, id: &str) -> Outcome {
    let deleted = client.files().delete(id).await?;
    if json {
        return print_json(&deleted);
    }
    println!("deleted {}", deleted.id);
    Ok(())
}

/// Progress on stderr: a bar on a terminal, a line per step otherwise (logs,
/// pipes, tests).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl Progress {
    fn new(quiet: bool) -> Self {
        Self { bar: None, quiet }
    }

    fn update(&mut self, done: u64, total: u64, what: &str, line: impl FnOnce() -> String) {
        if self.quiet {
            return;
        }
        if !std::io::stderr().is_terminal() {
            eprintln!("{}", line());
            return;
        }
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
        bar.set_message(what.to_owned());
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

async fn upload(
    client: &oai::Client,
    json: bool,
    path: &Path,
    purpose: &str,
    part_mib: u32,
) -> Outcome {
    let progress = Arc::new(Mutex::new(Progress::new(json)));
    // The Uploads API (parts, progress per part) takes only some purposes;
    // the others go through the Files API in one request.
    if !oai::types::CreateUploadRequestPurpose::VALUES.contains(&purpose) {
        return upload_whole(client, json, path, purpose, &progress).await;
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
        return print_json(&upload);
    }
    match &upload.file {
        Some(file) => println!("{}\t{}\t{}", file.id, file.bytes, file.filename),
        None => println!("upload {} is {}", upload.id, upload.status),
    }
    Ok(())
}

/// A file sent through the Files API in one request (purposes the Uploads
/// API does not take). Progress is reported once the server has it.
async fn upload_whole(
    client: &oai::Client,
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
        return print_json(&file);
    }
    println!("{}\t{}\t{}", file.id, file.bytes, file.filename);
    Ok(())
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
    file: Option<&Path>,
    resume: Option<String>,
    options: BatchOptions<'_>,
) -> Outcome {
    let progress = Arc::new(Mutex::new(Progress::new(options.json)));
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
                eprintln!(
                    "batch {} submitted ({} requests); if this stops, resume with: oai batch run --resume {}",
                    batch.id,
                    input.len(),
                    batch.id
                );
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
    let lines: Vec<Value> = outcome
        .results
        .iter()
        .map(|item| match &item.result {
            Ok(body) => json!({"custom_id": item.custom_id, "response": body}),
            Err(e) => json!({"custom_id": item.custom_id, "error": {
                "status": e.status, "code": e.code, "message": e.message,
                "request_id": e.request_id}}),
        })
        .collect();
    let failed = lines.iter().filter(|l| l.get("error").is_some()).count();
    if options.json && options.output.is_none() {
        print_json(&json!({"batch": outcome.batch, "results": lines}))?;
    } else {
        let mut text = String::new();
        for line in &lines {
            text.push_str(&line.to_string());
            text.push('\n');
        }
        match options.output {
            Some(path) => std::fs::write(path, text).map_err(|e| {
                Failure::new(
                    exit::LOCAL,
                    format!("could not write {}: {e}", path.display()),
                )
            })?,
            None => emit(&text)?,
        }
        if options.json {
            print_json(&outcome.batch)?;
        }
    }
    if !options.json {
        eprintln!(
            "batch {} {}: {} succeeded, {failed} failed",
            outcome.batch.id,
            outcome.batch.status,
            lines.len() - failed
        );
    }
    Ok(())
}
