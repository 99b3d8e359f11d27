//! Per-call cost in instructions: N sequential chat completions against a
//! fixed-answer server in a child process, for counting under callgrind.
//!
//! ```text
//! calls ours|raw|bare|bare_timeout N
//! calls ab ROUNDS [A B]
//! ```
//!
//! `ours` is `client.chat().completions().create()` (`ours_h2`: the same over
//! HTTP/2 with prior knowledge), `raw` the client's raw
//! request builder, `bare` a `reqwest` POST and `serde_json` parse of the same
//! answer, `bare_timeout` the same under a tokio timeout (as the client puts
//! every call under its request timeout). Run it as
//! `valgrind --tool=callgrind --callgrind-out-file=OUT calls ours 1000`;
//! the instructions of one call are the difference between two counts
//! (N = 1000 and N = 200) divided by 800, which removes start-up. Unlike a
//! wall-clock figure this does not move when the other core is busy, so it is
//! what the hot-path work was steered by; `cargo xtask bench` reports it when
//! valgrind is installed.
//!
//! `ab` measures wall time instead, interleaved: ROUNDS rounds of 100 calls
//! through A (default `ours`) then 100 through B (default `bare`), the order
//! swapped every round,
//! after a warm-up of both. A slow spell of the machine then hits both sides
//! alike, which back-to-back criterion groups cannot promise. It prints
//! `{"ours_us":..,"bare_us":..,"ratio":..,"rounds":..}` (mean µs per call).

use oai::types::CreateChatCompletionResponse;
use oai_bench::fixtures;
use oai_bench::server::{Child, Reply, serve_until_stdin_closes};

type Error = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str = "usage: calls ours|ours_h2|raw|bare|bare_timeout N, or calls ab ROUNDS [A B]";

/// Calls per side and round in `ab` mode.
const AB_BLOCK: usize = 100;

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
    let (mode, n, pair) = match args {
        [mode, n] => (mode, n, ["ours", "bare"]),
        [mode, n, a, b] if mode.as_str() == "ab" => (mode, n, [a.as_str(), b.as_str()]),
        _ => return Err(USAGE.into()),
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
    let h2 = oai::Client::new(
        oai::Config::builder()
            .api_key("sk-bench")
            .base_url(&base_url)
            .http2_prior_knowledge()
            .build()?,
    )?;
    let bare = reqwest::Client::new();
    let url = format!("{base_url}/chat/completions");
    let one = |mode: &str| {
        let mode = mode.to_owned();
        let (client, h2, bare, url, request) = (&client, &h2, &bare, &url, &request);
        async move {
            let answer = match mode.as_str() {
                "ours" => client.chat().completions().create(request.clone()).await?,
                "ours_h2" => h2.chat().completions().create(request.clone()).await?,
                "raw" => {
                    client
                        .post("/chat/completions")
                        .json(request)
                        .send::<CreateChatCompletionResponse>()
                        .await?
                }
                "bare" | "bare_timeout" => {
                    let call = async {
                        let response = bare
                            .post(url)
                            .bearer_auth("sk-bench")
                            .json(request)
                            .send()
                            .await?
                            .error_for_status()?;
                        let body = response.bytes().await?;
                        Ok::<_, Error>(serde_json::from_slice::<CreateChatCompletionResponse>(
                            &body,
                        )?)
                    };
                    if mode == "bare_timeout" {
                        tokio::time::timeout(std::time::Duration::from_secs(600), call).await??
                    } else {
                        call.await?
                    }
                }
                other => return Err(format!("unknown mode {other:?}; {USAGE}").into()),
            };
            Ok::<u64, Error>(answer.usage.map_or(0, |u| u.total_tokens as u64))
        }
    };
    if mode.as_str() == "ab" {
        let rounds = n.max(1);
        let figures = rt.block_on(async {
            for side in pair {
                for _ in 0..AB_BLOCK {
                    one(side).await?;
                }
            }
            let mut spent = [std::time::Duration::ZERO; 2];
            for round in 0..rounds {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for side in order {
                    let name = pair[side];
                    let started = std::time::Instant::now();
                    for _ in 0..AB_BLOCK {
                        one(name).await?;
                    }
                    spent[side] += started.elapsed();
                }
            }
            Ok::<_, Error>(spent)
        })?;
        let calls = (rounds * AB_BLOCK) as f64;
        let ours = figures[0].as_secs_f64() * 1e6 / calls;
        let bare = figures[1].as_secs_f64() * 1e6 / calls;
        println!(
            "{{\"ours_us\":{ours:.3},\"bare_us\":{bare:.3},\"ratio\":{:.4},\"rounds\":{rounds}}}",
            ours / bare
        );
        return Ok(());
    }
    let mut tokens = 0_u64;
    rt.block_on(async {
        for _ in 0..n {
            tokens += one(mode).await?;
        }
        Ok::<(), Error>(())
    })?;
    println!("{mode}: {n} calls, {tokens} tokens");
    Ok(())
}
