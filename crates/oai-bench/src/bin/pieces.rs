//! The in-memory pieces of a stream, measured two ways that this shared,
//! drifting VM does not disturb: interleaved wall time and instructions.
//!
//! ```text
//! pieces ab A B [ROUNDS]   A and B in turn, ROUNDS rounds (default 30),
//!                          the order swapped every round
//! pieces one MODE N        MODE N times (for counting under callgrind)
//! pieces list              the modes
//! ```
//!
//! Each mode does one pass over the 10,000 events of a fixture stream:
//!
//! - `sse_decoder`: the transport's `SseDecoder` over the stream in 8 KiB
//!   pieces, each event taken lent (as the typed streams take them);
//!   `bare_splitter`: the bare blank-line splitter over the same pieces;
//! - `chat_generated` / `chat_handwritten`: the chat chunks' JSON into the
//!   generated `CreateChatCompletionStreamResponse` / a hand-written struct
//!   with every field;
//! - `delta_generated` / `delta_handwritten`: the Responses text deltas into
//!   the generated `ResponseTextDeltaEvent` / a hand-written struct;
//! - `responses_union` / `responses_variant`: every Responses event into the
//!   `ResponseStreamEvent` union / the text deltas straight into their
//!   variant struct, chosen by the SSE `event:` name, and the others into the
//!   union (the limit a hand-written client reaches).
//!
//! `ab` prints `{"a":..,"b":..,"a_ms":..,"b_ms":..,"ratio":..,"rounds":..}`
//! (mean milliseconds per pass).

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::Bytes;
use oai::transport::SseLimits;
use oai::transport::sse::SseDecoder;
use oai::types::{CreateChatCompletionStreamResponse, ResponseStreamEvent, ResponseTextDeltaEvent};
use oai_bench::{bare, fixtures, handwritten};
use serde::de::DeserializeOwned;

type Error = Box<dyn std::error::Error>;

const EVENTS: usize = 10_000;
const PIECE: usize = 8 << 10;
const MODES: [&str; 8] = [
    "sse_decoder",
    "bare_splitter",
    "chat_generated",
    "chat_handwritten",
    "delta_generated",
    "delta_handwritten",
    "responses_union",
    "responses_variant",
];
const USAGE: &str = "usage: pieces ab A B [ROUNDS] | pieces one MODE N | pieces list";

/// The inputs, prepared once.
struct Inputs {
    pieces: Vec<Bytes>,
    chat: Vec<String>,
    deltas: Vec<String>,
    /// Every Responses event: its `event:` name and its JSON.
    responses: Vec<(Option<Vec<u8>>, String)>,
}

impl Inputs {
    fn new() -> Result<Self, Error> {
        let chat_bytes = fixtures::join(&fixtures::chat_stream(EVENTS));
        let responses_bytes = fixtures::join(&fixtures::responses_stream(EVENTS));
        let text = |data: &[u8]| String::from_utf8(data.to_vec());
        let chat = bare::events(&chat_bytes)
            .filter(|ev| ev.data != b"[DONE]")
            .map(|ev| text(ev.data))
            .collect::<Result<Vec<_>, _>>()?;
        let responses = bare::events(&responses_bytes)
            .map(|ev| Ok((ev.event.map(<[u8]>::to_vec), text(ev.data)?)))
            .collect::<Result<Vec<_>, Error>>()?;
        let deltas = responses
            .iter()
            .filter(|(name, _)| name.as_deref() == Some(DELTA))
            .map(|(_, data)| data.clone())
            .collect();
        Ok(Self {
            pieces: chat_bytes
                .chunks(PIECE)
                .map(Bytes::copy_from_slice)
                .collect(),
            chat,
            deltas,
            responses,
        })
    }
}

const DELTA: &[u8] = b"response.output_text.delta";

fn decode<T: DeserializeOwned>(payloads: &[String]) -> Result<usize, Error> {
    for p in payloads {
        black_box(serde_json::from_str::<T>(p)?);
    }
    Ok(payloads.len())
}

/// One pass of `mode`; the events it handled.
fn run(mode: &str, input: &Inputs) -> Result<usize, Error> {
    Ok(match mode {
        "sse_decoder" => {
            let mut dec = SseDecoder::new(SseLimits::default());
            let mut n = 0;
            for piece in &input.pieces {
                dec.push(piece.clone())?;
                while let Some(ev) = dec.decode_next_ref()? {
                    n += black_box(ev.data.len()).min(1);
                }
            }
            n
        }
        "bare_splitter" => {
            let mut split = bare::Splitter::new();
            let mut n = 0;
            for piece in &input.pieces {
                split.push(piece, |ev| n += black_box(ev.data.len()).min(1));
            }
            n
        }
        "chat_generated" => decode::<CreateChatCompletionStreamResponse>(&input.chat)?,
        "chat_handwritten" => decode::<handwritten::ChatChunk>(&input.chat)?,
        "delta_generated" => decode::<ResponseTextDeltaEvent>(&input.deltas)?,
        "delta_handwritten" => decode::<handwritten::TextDelta>(&input.deltas)?,
        "responses_union" => {
            for (_, data) in &input.responses {
                black_box(serde_json::from_str::<ResponseStreamEvent>(data)?);
            }
            input.responses.len()
        }
        "responses_variant" => {
            for (name, data) in &input.responses {
                if name.as_deref() == Some(DELTA) {
                    black_box(serde_json::from_str::<ResponseTextDeltaEvent>(data)?);
                } else {
                    black_box(serde_json::from_str::<ResponseStreamEvent>(data)?);
                }
            }
            input.responses.len()
        }
        other => return Err(format!("unknown mode {other:?}; {USAGE}").into()),
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(e) = cli(&args) {
        eprintln!("pieces: {e}");
        std::process::exit(1);
    }
}

fn cli(args: &[String]) -> Result<(), Error> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["list"] => {
            for m in MODES {
                println!("{m}");
            }
            Ok(())
        }
        ["one", mode, n] => {
            let input = Inputs::new()?;
            let n: usize = n.parse().map_err(|_| USAGE)?;
            let mut handled = 0;
            for _ in 0..n {
                handled += run(mode, &input)?;
            }
            println!("{mode}: {handled} events");
            Ok(())
        }
        ["ab", a, b, rest @ ..] => {
            let rounds: usize = match rest {
                [] => 30,
                [r] => r.parse().map_err(|_| USAGE)?,
                _ => return Err(USAGE.into()),
            };
            let input = Inputs::new()?;
            let pair = [*a, *b];
            for m in pair {
                run(m, &input)?;
            }
            let mut spent = [Duration::ZERO; 2];
            for round in 0..rounds {
                let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for i in order {
                    let started = Instant::now();
                    run(pair[i], &input)?;
                    spent[i] += started.elapsed();
                }
            }
            let ms = spent.map(|d| d.as_secs_f64() * 1e3 / rounds.max(1) as f64);
            println!(
                "{{\"a\":\"{a}\",\"b\":\"{b}\",\"a_ms\":{:.4},\"b_ms\":{:.4},\"ratio\":{:.4},\"rounds\":{rounds}}}",
                ms[0],
                ms[1],
                ms[0] / ms[1]
            );
            Ok(())
        }
        _ => Err(USAGE.into()),
    }
}
