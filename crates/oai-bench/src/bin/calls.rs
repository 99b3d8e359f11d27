//! Per-call cost in instructions: N sequential chat completions against a
//! fixed-answer server in a child process, for counting under callgrind.
//!
//! ```text
//! calls ours|raw|bare N
//! ```
//!
//! `ours` is `client.chat().completions().create()`, `raw` the client's raw
//! request builder, `bare` a `reqwest` POST and `serde_json` parse of the same
//! answer. Run it as
//! `valgrind --tool=callgrind --callgrind-out-file=OUT calls ours 1000`;
//! the instructions of one call are the difference between two counts
//! (N = 1000 and N = 200) divided by 800, which removes start-up. Unlike a
//! wall-clock figure this does not move when the other core is busy, so it is
//! what the hot-path work was steered by; `cargo xtask bench` reports it when
//! valgrind is installed.

use oai::types::CreateChatCompletionResponse;
use oai_bench::fixtures;
use oai_bench::server::{Child, Reply, serve_until_stdin_closes};

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: calls ours|raw|bare N";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("--serve") {
        serve_until_stdin_closes(Reply::Json(fixtures::chat_completion())).map_err(Error::from)
    } else {
        run(&args)
    };
    if let Err(e) = result {
        eprintln!("calls: {e}");
        std::process::exit(1);
    }
}

fn run(args: &[String]) -> Result<(), Error> {
    let [mode, n] = args else {
        return Err(USAGE.into());
    };
    let n: usize = n
        .parse()
        .map_err(|_| format!("N must be a number; {USAGE}"))?;
    let child = Child::spawn(&["--serve"])?;
    let base_url = oai_bench::server::base_url(child.addr());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let request = fixtures::small_chat_request();
    let client = oai::Client::new(
        oai::Config::builder()
            .api_key("sk-bench")
            .base_url(&base_url)
            .build()?,
    )?;
    let bare = reqwest::Client::new();
    let url = format!("{base_url}/chat/completions");
    let mut tokens = 0_u64;
    rt.block_on(async {
        for _ in 0..n {
            let answer = match mode.as_str() {
                "ours" => client.chat().completions().create(request.clone()).await?,
                "raw" => {
                    client
                        .post("/chat/completions")
                        .json(&request)
                        .send::<CreateChatCompletionResponse>()
                        .await?
                }
                "bare" => {
                    let response = bare
                        .post(&url)
                        .bearer_auth("sk-bench")
                        .json(&request)
                        .send()
                        .await?
                        .error_for_status()?;
                    let body = response.bytes().await?;
                    serde_json::from_slice::<CreateChatCompletionResponse>(&body)?
                }
                other => return Err(format!("unknown mode {other:?}; {USAGE}").into()),
            };
            tokens += answer.usage.map_or(0, |u| u.total_tokens as u64);
        }
        Ok::<(), Error>(())
    })?;
    println!("{mode}: {n} calls, {tokens} tokens");
    Ok(())
}
