//! Side by side in one process: `oai`, async-openai (the newest release,
//! pinned in `Cargo.toml`) and bare `reqwest` + `serde_json`, each doing the
//! same work against the same local server (a child process, so that what is
//! measured here is the clients alone).
//!
//! ```text
//! peers calls [ROUNDS]        chat completions, blocks of 100 calls
//! peers streams [ROUNDS]      chat streams of 10,000 chunks
//! peers embeddings [ROUNDS]   2,048 x 1,536 embeddings, each client's default format
//! peers memory [STREAMS]      open streams with slow consumers: peak memory
//! peers all                   all of the above with their default sizes
//! ```
//!
//! Calls and streams run in three placements, each on a runtime of its own:
//! `current` (a current-thread runtime), `worker` (a task spawned on a
//! multi-thread runtime, as servers run their handlers) and `main` (the body
//! of `block_on` on a multi-thread runtime: the body of `#[tokio::main]`,
//! where the README's example reads its stream). The sides are interleaved:
//! every round runs one block of each, the order rotated every round, so a
//! slow spell of the machine hits all three alike.
//!
//! Memory: each side runs in a child process of its own (its peak resident
//! set is its own); every stream reads its first chunk, all wait until every
//! stream is open, then sleep (a consumer slower than the network) before
//! reading the rest. A client that reads ahead of its consumer holds the
//! payloads meanwhile.
//!
//! Prints one JSON object per figure on standard output.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use oai::types::{CreateChatCompletionResponse, CreateChatCompletionStreamResponse};
use oai_bench::bare::Splitter;
use oai_bench::server::{Child, Reply, base_url, serve_until_stdin_closes};
use oai_bench::{fixtures, memory};
use serde::Deserialize;
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T = ()> = std::result::Result<T, Error>;

const USAGE: &str = "usage: peers calls|streams|embeddings [ROUNDS] | memory [STREAMS] | all";

/// Calls per side and round.
const CALL_BLOCK: usize = 100;
/// Chunks of a measured stream.
const STREAM_CHUNKS: usize = 10_000;
/// Embeddings: rows and dimensions.
const ROWS: usize = 2048;
const DIMS: usize = 1536;
/// Memory: chunks per stream, and how long the consumers wait once all
/// streams are open.
const MEMORY_CHUNKS: usize = 200;
const SLOW_CONSUMER: Duration = Duration::from_millis(400);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Bare,
    Oai,
    AsyncOpenai,
}

const SIDES: [Side; 3] = [Side::Bare, Side::Oai, Side::AsyncOpenai];

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Bare => "bare",
            Side::Oai => "oai",
            Side::AsyncOpenai => "async_openai",
        }
    }

    fn parse(name: &str) -> Result<Self> {
        SIDES
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| format!("unknown side {name:?}").into())
    }
}

#[derive(Debug, Clone, Copy)]
enum Placement {
    Current,
    Worker,
    Main,
}

const PLACEMENTS: [Placement; 3] = [Placement::Current, Placement::Worker, Placement::Main];

impl Placement {
    fn name(self) -> &'static str {
        match self {
            Placement::Current => "current",
            Placement::Worker => "worker",
            Placement::Main => "main",
        }
    }

    /// Runs `work` in this placement, on a runtime of its own.
    fn run<F, T>(self, work: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        match self {
            Placement::Current => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
                .block_on(work),
            Placement::Worker => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(async { tokio::spawn(work).await? }),
            Placement::Main => tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(work),
        }
    }
}

/// The three clients, pointed at one server.
struct Clients {
    url: String,
    bare: reqwest::Client,
    oai: oai::Client,
    async_openai: async_openai::Client<async_openai::config::OpenAIConfig>,
}

impl Clients {
    fn new(base: &str) -> Result<Self> {
        Ok(Self {
            url: base.to_owned(),
            bare: reqwest::Client::new(),
            oai: oai::Client::new(
                oai::Config::builder()
                    .api_key("sk-bench")
                    .base_url(base)
                    .max_retries(0)
                    .build()?,
            )?,
            async_openai: async_openai::Client::with_config(
                async_openai::config::OpenAIConfig::new()
                    .with_api_key("sk-bench")
                    .with_api_base(base),
            ),
        })
    }
}

/// The chat request, as each side sends it.
struct ChatRequests {
    ours: oai::types::CreateChatCompletionRequest,
    json: serde_json::Value,
    async_openai: async_openai::types::chat::CreateChatCompletionRequest,
}

impl ChatRequests {
    fn new() -> Result<Self> {
        let ours = fixtures::small_chat_request();
        let json = serde_json::to_value(&ours)?;
        let async_openai = serde_json::from_value(json.clone())?;
        Ok(Self {
            ours,
            json,
            async_openai,
        })
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = run(&args) {
        eprintln!("peers: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let number = |i: usize, default: usize| -> Result<usize> {
        match words.get(i) {
            None => Ok(default),
            Some(n) => n
                .parse()
                .map_err(|_| format!("{n:?} is not a number; {USAGE}").into()),
        }
    };
    match words.first().copied() {
        Some("--serve") => serve(&words[1..]),
        Some("memory-one") => {
            let side = Side::parse(words.get(1).copied().unwrap_or_default())?;
            memory_one(side, number(2, 1000)?)
        }
        Some("calls") => calls(number(1, 100)?),
        Some("streams") => streams(number(1, 20)?),
        Some("embeddings") => embeddings(number(1, 5)?),
        Some("memory") => memory(number(1, 1000)?),
        Some("all") => {
            calls(100)?;
            streams(20)?;
            embeddings(5)?;
            memory(1000)
        }
        _ => Err(USAGE.into()),
    }
}

/// Child mode: one server until standard input closes.
fn serve(what: &[&str]) -> Result {
    let reply = match what.first().copied() {
        Some("chat") => Reply::Json(fixtures::chat_completion()),
        Some("stream") => {
            let chunks = what
                .get(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(STREAM_CHUNKS);
            Reply::sse(fixtures::chat_stream(chunks))
        }
        Some("embeddings") => Reply::Embeddings {
            float: fixtures::embeddings_float(ROWS, DIMS),
            base64: fixtures::embeddings_base64(ROWS, DIMS),
        },
        other => return Err(format!("nothing to serve for {other:?}").into()),
    };
    serve_until_stdin_closes(reply)?;
    Ok(())
}

/// Runs `rounds` interleaved rounds of one block per side (after a warm-up
/// block each); the mean wall time of one block per side.
async fn interleave<F, Fut>(rounds: usize, mut block: F) -> Result<[Duration; 3]>
where
    F: FnMut(Side) -> Fut,
    Fut: Future<Output = Result>,
{
    for side in SIDES {
        block(side).await?;
    }
    let mut spent = [Duration::ZERO; 3];
    for round in 0..rounds {
        for k in 0..3 {
            let i = (round + k) % 3;
            let started = Instant::now();
            block(SIDES[i]).await?;
            spent[i] += started.elapsed();
        }
    }
    let rounds = u32::try_from(rounds.max(1)).unwrap_or(u32::MAX);
    Ok(spent.map(|d| d / rounds))
}

fn print_row(
    measure: &str,
    placement: &str,
    unit: &str,
    per_block: [Duration; 3],
    per: f64,
    rounds: usize,
) {
    let value = |d: Duration| match unit {
        "us" => d.as_secs_f64() * 1e6 / per,
        _ => d.as_secs_f64() * 1e3 / per,
    };
    let [bare, oai, async_openai] = per_block.map(value);
    println!(
        "{}",
        json!({
            "measure": measure,
            "placement": placement,
            "unit": unit,
            "bare": bare,
            "oai": oai,
            "async_openai": async_openai,
            "rounds": rounds,
        })
    );
}

async fn one_call(side: Side, c: &Clients, r: &ChatRequests) -> Result<u64> {
    let tokens = match side {
        Side::Bare => {
            let body = c
                .bare
                .post(format!("{}/chat/completions", c.url))
                .bearer_auth("sk-bench")
                .json(&r.json)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            let answer: CreateChatCompletionResponse = serde_json::from_slice(&body)?;
            answer.usage.map_or(0, |u| u.total_tokens as u64)
        }
        Side::Oai => {
            let answer = c.oai.chat().completions().create(r.ours.clone()).await?;
            answer.usage.map_or(0, |u| u.total_tokens as u64)
        }
        Side::AsyncOpenai => {
            let answer = c.async_openai.chat().create(r.async_openai.clone()).await?;
            answer.usage.map_or(0, |u| u64::from(u.total_tokens))
        }
    };
    Ok(tokens)
}

fn calls(rounds: usize) -> Result {
    let server = Child::spawn(&["--serve", "chat"])?;
    let base = base_url(server.addr());
    for placement in PLACEMENTS {
        let base = base.clone();
        let per_block = placement.run(async move {
            let clients = Arc::new(Clients::new(&base)?);
            let requests = Arc::new(ChatRequests::new()?);
            interleave(rounds, |side| {
                let (clients, requests) = (clients.clone(), requests.clone());
                async move {
                    for _ in 0..CALL_BLOCK {
                        if one_call(side, &clients, &requests).await? == 0 {
                            return Err("no usage in the answer".into());
                        }
                    }
                    Ok(())
                }
            })
            .await
        })?;
        print_row(
            "call",
            placement.name(),
            "us",
            per_block,
            CALL_BLOCK as f64,
            rounds,
        );
    }
    Ok(())
}

/// Reads one whole chat stream; the number of chunks.
async fn one_stream(side: Side, c: &Clients, r: &ChatRequests) -> Result<usize> {
    let mut chunks = 0;
    match side {
        Side::Bare => {
            let mut body = c
                .bare
                .post(format!("{}/chat/completions", c.url))
                .bearer_auth("sk-bench")
                .json(&stream_json(&r.json))
                .send()
                .await?
                .error_for_status()?
                .bytes_stream();
            let mut split = Splitter::new();
            let mut failed = None;
            while let Some(bytes) = body.next().await {
                split.push(&bytes?, |ev| {
                    if ev.data != b"[DONE]" {
                        match serde_json::from_slice::<CreateChatCompletionStreamResponse>(ev.data)
                        {
                            Ok(_) => chunks += 1,
                            Err(e) => failed = Some(e),
                        }
                    }
                });
            }
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        Side::Oai => {
            let mut stream = c
                .oai
                .chat()
                .completions()
                .create(r.ours.clone())
                .stream()
                .await?;
            while let Some(chunk) = stream.next().await {
                chunk?;
                chunks += 1;
            }
        }
        Side::AsyncOpenai => {
            let mut stream = c
                .async_openai
                .chat()
                .create_stream(r.async_openai.clone())
                .await?;
            while let Some(chunk) = stream.next().await {
                chunk?;
                chunks += 1;
            }
        }
    }
    Ok(chunks)
}

fn stream_json(request: &serde_json::Value) -> serde_json::Value {
    let mut request = request.clone();
    if let Some(map) = request.as_object_mut() {
        map.insert("stream".into(), json!(true));
    }
    request
}

fn streams(rounds: usize) -> Result {
    let server = Child::spawn(&["--serve", "stream", &STREAM_CHUNKS.to_string()])?;
    let base = base_url(server.addr());
    for placement in PLACEMENTS {
        let base = base.clone();
        let per_block = placement.run(async move {
            let clients = Arc::new(Clients::new(&base)?);
            let requests = Arc::new(ChatRequests::new()?);
            interleave(rounds, |side| {
                let (clients, requests) = (clients.clone(), requests.clone());
                async move {
                    let n = one_stream(side, &clients, &requests).await?;
                    if n != STREAM_CHUNKS {
                        return Err(
                            format!("{}: {n} chunks, not {STREAM_CHUNKS}", side.name()).into()
                        );
                    }
                    Ok(())
                }
            })
            .await
        })?;
        print_row("stream", placement.name(), "ms", per_block, 1.0, rounds);
    }
    Ok(())
}

#[derive(Deserialize)]
struct BareEmbeddings {
    data: Vec<BareEmbedding>,
}

#[derive(Deserialize)]
struct BareEmbedding {
    embedding: Vec<f32>,
}

/// One embeddings call in the side's default format; the values read.
async fn one_embeddings(side: Side, c: &Clients) -> Result<usize> {
    let request = json!({"model": fixtures::EMBEDDING_MODEL, "input": "hello"});
    let values = match side {
        Side::Bare => {
            let body = c
                .bare
                .post(format!("{}/embeddings", c.url))
                .bearer_auth("sk-bench")
                .json(&request)
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
            let answer: BareEmbeddings = serde_json::from_slice(&body)?;
            answer.data.into_iter().map(|e| e.embedding.len()).sum()
        }
        Side::Oai => {
            let answer = c
                .oai
                .embeddings()
                .create(serde_json::from_value::<oai::types::CreateEmbeddingRequest>(request)?)
                .await?;
            let mut n = 0;
            for e in answer.data {
                // The default asks for base64; a float answer here would
                // mean the default changed.
                if e.embedding.as_f32().is_none() {
                    return Err("oai got floats by default".into());
                }
                n += e.embedding.into_f32().len();
            }
            n
        }
        Side::AsyncOpenai => {
            let answer = c
                .async_openai
                .embeddings()
                .create(serde_json::from_value(request)?)
                .await?;
            answer.data.into_iter().map(|e| e.embedding.len()).sum()
        }
    };
    Ok(values)
}

fn embeddings(rounds: usize) -> Result {
    let server = Child::spawn(&["--serve", "embeddings"])?;
    let base = base_url(server.addr());
    let per_block = Placement::Main.run(async move {
        let clients = Arc::new(Clients::new(&base)?);
        interleave(rounds, |side| {
            let clients = clients.clone();
            async move {
                let n = one_embeddings(side, &clients).await?;
                if n != ROWS * DIMS {
                    return Err(format!("{}: {n} values", side.name()).into());
                }
                Ok(())
            }
        })
        .await
    })?;
    print_row("embeddings", "main", "ms", per_block, 1.0, rounds);
    Ok(())
}

/// Memory: each side in a child process of its own.
fn memory(streams: usize) -> Result {
    let exe = std::env::current_exe()?;
    let mut row = serde_json::Map::new();
    row.insert("measure".into(), json!("memory"));
    row.insert("streams".into(), json!(streams));
    for side in SIDES {
        let out = std::process::Command::new(&exe)
            .args(["memory-one", side.name(), &streams.to_string()])
            .stderr(std::process::Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(format!("memory-one {} failed", side.name()).into());
        }
        let figures: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        row.insert(side.name().into(), figures);
    }
    println!("{}", serde_json::Value::Object(row));
    Ok(())
}

/// One side's memory figure, in this process: `streams` concurrent streams
/// of `MEMORY_CHUNKS` chunks, each consumer slow after its first chunk.
fn memory_one(side: Side, streams: usize) -> Result {
    let server = Child::spawn(&["--serve", "stream", &MEMORY_CHUNKS.to_string()])?;
    let base = base_url(server.addr());
    let payload = fixtures::join(&fixtures::chat_stream(MEMORY_CHUNKS)).len();
    let before = memory::read()?.rss_kib;
    let figures = Placement::Main.run(async move {
        let clients = Arc::new(Clients::new(&base)?);
        let requests = Arc::new(ChatRequests::new()?);
        let opened = Arc::new(tokio::sync::Barrier::new(streams));
        let mut tasks = Vec::new();
        for _ in 0..streams {
            let (clients, requests, opened) = (clients.clone(), requests.clone(), opened.clone());
            tasks.push(tokio::spawn(async move {
                slow_stream(side, &clients, &requests, &opened).await
            }));
        }
        let mut chunks = 0;
        for task in tasks {
            chunks += task.await??;
        }
        Ok(chunks)
    })?;
    let status = memory::read()?;
    let per_stream = status.hwm_kib.saturating_sub(before) as f64 / streams as f64;
    println!(
        "{}",
        json!({
            "peak_kib_per_stream": per_stream,
            "payload_kib_per_stream": payload as f64 / 1024.0,
            "chunks": figures,
        })
    );
    Ok(())
}

/// A stream whose consumer takes one chunk, waits for every other stream to
/// open, sleeps, then reads the rest; the chunks read.
async fn slow_stream(
    side: Side,
    c: &Clients,
    r: &ChatRequests,
    opened: &tokio::sync::Barrier,
) -> Result<usize> {
    let mut chunks = 0;
    let pause = async {
        opened.wait().await;
        tokio::time::sleep(SLOW_CONSUMER).await;
    };
    match side {
        Side::Bare => {
            let mut body = c
                .bare
                .post(format!("{}/chat/completions", c.url))
                .bearer_auth("sk-bench")
                .json(&stream_json(&r.json))
                .send()
                .await?
                .error_for_status()?
                .bytes_stream();
            let mut split = Splitter::new();
            let mut paused = Some(pause);
            while let Some(bytes) = body.next().await {
                split.push(&bytes?, |ev| {
                    if ev.data != b"[DONE]"
                        && serde_json::from_slice::<CreateChatCompletionStreamResponse>(ev.data)
                            .is_ok()
                    {
                        chunks += 1;
                    }
                });
                if let Some(p) = paused.take() {
                    p.await;
                }
            }
        }
        Side::Oai => {
            let mut stream = c
                .oai
                .chat()
                .completions()
                .create(r.ours.clone())
                .stream()
                .await?;
            let mut paused = Some(pause);
            while let Some(chunk) = stream.next().await {
                chunk?;
                chunks += 1;
                if let Some(p) = paused.take() {
                    p.await;
                }
            }
        }
        Side::AsyncOpenai => {
            let mut stream = c
                .async_openai
                .chat()
                .create_stream(r.async_openai.clone())
                .await?;
            let mut paused = Some(pause);
            while let Some(chunk) = stream.next().await {
                chunk?;
                chunks += 1;
                if let Some(p) = paused.take() {
                    p.await;
                }
            }
        }
    }
    Ok(chunks)
}
