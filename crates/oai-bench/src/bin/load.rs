//! The load driver: many concurrent streamed chat completions over a local
//! server, with the throughput and the client's memory per open stream.
//!
//! ```text
//! load [--streams N] [--chunks M]
//! ```
//!
//! The server runs in a child process (this binary with `--serve`), so the
//! memory read from `/proc/self/status` is the client's alone. Every stream
//! first reads one chunk; once all are open the resident set is read
//! (`rss_open_kib`), then all read to their end. `VmHWM` at the end is the
//! peak. Per-stream figures are the growth over the resident set before the
//! first stream, divided by the number of streams. The payloads themselves
//! are dropped as they are read, so what remains is the cost of an open
//! stream: connection, buffers, decoder, tasks.
//!
//! Prints one JSON object on standard output; exits non-zero when a stream
//! failed.

use std::sync::Arc;
use std::time::Instant;

use futures_util::StreamExt;
use oai_bench::server::{Child, Reply, serve_until_stdin_closes};
use oai_bench::{fixtures, memory};
use serde_json::json;
use tokio::sync::Barrier;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What the command line asked for.
#[derive(Debug, Clone, Copy)]
struct Args {
    serve: bool,
    streams: usize,
    chunks: usize,
}

fn parse_args(args: &[String]) -> Result<Args, Error> {
    let mut out = Args {
        serve: false,
        streams: 1000,
        chunks: 200,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut number = |name: &str| -> Result<usize, Error> {
            let value = it.next().ok_or_else(|| format!("{name} needs a number"))?;
            let n: usize = value
                .parse()
                .map_err(|_| format!("{name} needs a positive number, got {value:?}"))?;
            if n == 0 {
                return Err(format!("{name} must be at least 1").into());
            }
            Ok(n)
        };
        match arg.as_str() {
            "--serve" => out.serve = true,
            "--streams" => out.streams = number("--streams")?,
            "--chunks" => out.chunks = number("--chunks")?,
            other => {
                return Err(format!(
                    "unknown argument {other:?}; usage: load [--streams N] [--chunks M]"
                )
                .into());
            }
        }
    }
    if out.chunks < 2 {
        return Err("--chunks must be at least 2 (a role chunk and a final chunk)".into());
    }
    Ok(out)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = parse_args(&args).and_then(|args| {
        if args.serve {
            run_server(args)
        } else {
            run_driver(args)
        }
    });
    if let Err(e) = result {
        eprintln!("load: {e}");
        std::process::exit(1);
    }
}

/// Child mode: serve `chunks`-chunk streams until standard input closes.
fn run_server(args: Args) -> Result<(), Error> {
    serve_until_stdin_closes(Reply::sse(fixtures::chat_stream(args.chunks)))?;
    Ok(())
}

fn run_driver(args: Args) -> Result<(), Error> {
    let child = Child::spawn(&["--serve", "--chunks", &args.chunks.to_string()])?;
    let addr = child.addr();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let figures = rt.block_on(drive(args, addr))?;
    drop(child);
    println!("{figures}");
    if figures["errors"].as_u64().unwrap_or(1) > 0 {
        return Err("some streams failed".into());
    }
    Ok(())
}

async fn drive(args: Args, addr: std::net::SocketAddr) -> Result<serde_json::Value, Error> {
    let client = oai::Client::new(
        oai::Config::builder()
            .api_key("sk-bench")
            .base_url(oai_bench::server::base_url(addr))
            .max_retries(0)
            .build()?,
    )?;
    let request = fixtures::small_chat_request();

    // One stream first: lazily built state is not counted per stream.
    let mut warm = client
        .chat()
        .completions()
        .create(request.clone())
        .stream()
        .await?;
    while let Some(chunk) = warm.next().await {
        chunk?;
    }
    drop(warm);
    let before = memory::read()?;

    let opened = Arc::new(Barrier::new(args.streams + 1));
    let release = Arc::new(Barrier::new(args.streams + 1));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.streams);
    for _ in 0..args.streams {
        let client = client.clone();
        let request = request.clone();
        let opened = Arc::clone(&opened);
        let release = Arc::clone(&release);
        tasks.push(tokio::spawn(async move {
            let stream = client.chat().completions().create(request).stream().await;
            let mut stream = match stream {
                Ok(s) => Some(s),
                Err(e) => {
                    eprintln!("load: a stream did not open: {e}");
                    None
                }
            };
            let mut chunks = 0_usize;
            let mut failed = stream.is_none();
            if let Some(s) = stream.as_mut() {
                match s.next().await {
                    Some(Ok(_)) => chunks += 1,
                    other => {
                        eprintln!("load: no first chunk: {other:?}");
                        failed = true;
                    }
                }
            }
            // Every task reaches both barriers, failed or not.
            opened.wait().await;
            release.wait().await;
            if let (Some(s), false) = (stream.as_mut(), failed) {
                while let Some(chunk) = s.next().await {
                    match chunk {
                        Ok(_) => chunks += 1,
                        Err(e) => {
                            eprintln!("load: stream failed: {e}");
                            failed = true;
                            break;
                        }
                    }
                }
            }
            (chunks, failed)
        }));
    }
    opened.wait().await;
    let open_elapsed = started.elapsed();
    let at_open = memory::read()?;
    release.wait().await;
    let mut chunks = 0_usize;
    let mut errors = 0_usize;
    for task in tasks {
        match task.await {
            Ok((n, failed)) => {
                chunks += n;
                errors += usize::from(failed || n != args.chunks);
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed();
    let end = memory::read()?;

    let secs = elapsed.as_secs_f64().max(f64::MIN_POSITIVE);
    let payload_kib = fixtures::join(&fixtures::chat_stream(args.chunks)).len() as f64 / 1024.0;
    let per_stream = |kib: u64| kib.saturating_sub(before.rss_kib) as f64 / args.streams as f64;
    // The budget is on what a stream costs beyond its own payload: at the
    // peak, a stream's unread events may all sit in the connection's read
    // buffer at once (hyper grows it while the socket has more to give).
    let peak = per_stream(end.hwm_kib.max(at_open.rss_kib));
    Ok(json!({
        "streams": args.streams,
        "chunks_per_stream": args.chunks,
        "total_chunks": chunks,
        "errors": errors,
        "elapsed_s": secs,
        "open_s": open_elapsed.as_secs_f64(),
        "chunks_per_s": chunks as f64 / secs,
        "streams_per_s": args.streams as f64 / secs,
        "rss_before_kib": before.rss_kib,
        "rss_open_kib": at_open.rss_kib,
        "hwm_kib": end.hwm_kib,
        "kib_per_stream_open": per_stream(at_open.rss_kib),
        "kib_per_stream_peak": peak,
        "payload_kib_per_stream": payload_kib,
        "kib_per_stream_peak_beyond_payload": peak - payload_kib,
        "budget_kib_per_stream": 64,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Args, Error> {
        parse_args(&a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn arguments_parse_and_bad_ones_are_named() {
        let a = args(&["--streams", "10", "--chunks", "5"]).unwrap();
        assert_eq!((a.serve, a.streams, a.chunks), (false, 10, 5));
        let d = args(&[]).unwrap();
        assert_eq!((d.streams, d.chunks), (1000, 200));
        assert!(args(&["--serve"]).unwrap().serve);
        assert!(
            args(&["--streams"])
                .unwrap_err()
                .to_string()
                .contains("--streams")
        );
        assert!(
            args(&["--streams", "x"])
                .unwrap_err()
                .to_string()
                .contains("\"x\"")
        );
        assert!(
            args(&["--streams", "0"])
                .unwrap_err()
                .to_string()
                .contains("at least 1")
        );
        assert!(
            args(&["--chunks", "1"])
                .unwrap_err()
                .to_string()
                .contains("at least 2")
        );
        assert!(
            args(&["--frob"])
                .unwrap_err()
                .to_string()
                .contains("--frob")
        );
    }
}
