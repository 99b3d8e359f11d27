//! Streams a chat completion and a Responses API call, prints the text as it
//! arrives, then the final message each stream accumulated (tool calls
//! included).
//!
//! ```text
//! cargo run -p oai --example stream_accumulate
//! ```
//!
//! With `OPENAI_API_KEY` set it talks to the API (or to `OPENAI_BASE_URL`).
//! Without one it starts a local stand-in server on 127.0.0.1 and says so, so
//! the example runs anywhere, with no key and no network.

use std::io::Write;

use futures_util::StreamExt;
use oai::accumulate::{AccumulateExt, StreamEvent};
use oai::builders::{CreateChatCompletionRequestBuilder, CreateResponseBuilder};
use oai::types::{
    ChatCompletionMessageToolCallsItem, ChatCompletionRequestMessage as Message,
    ChatCompletionTool, FunctionTool, OutputItem, OutputMessageContent,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Kept alive until the end of `main`: the stand-in stops when dropped.
    let mut _stand_in = None;
    let client = if std::env::var_os("OPENAI_API_KEY").is_some() {
        println!("Using the OpenAI API (OPENAI_API_KEY is set).");
        oai::Client::from_env()?
    } else {
        let server = local_stand_in().await;
        let base = format!("{}/v1", server.uri());
        println!("OPENAI_API_KEY is not set: using a local stand-in server at {base}.");
        _stand_in = Some(server);
        oai::Client::new(
            oai::Config::builder()
                .api_key("sk-local-demo")
                .base_url(base)
                .build()?,
        )?
    };
    let weather_schema = json!({
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    });
    let mut out = std::io::stdout();

    // Chat completions: every chunk is handed over as it arrives, and folded.
    println!("\n== chat completion");
    let request = CreateChatCompletionRequestBuilder::new(
        Message::user("Greet me in one sentence, then look up the weather in Paris."),
        "gpt-4o-mini",
    )
    .tool(ChatCompletionTool::function(
        "get_weather",
        weather_schema.clone(),
    ))
    .build()?;
    let mut stream = client
        .chat()
        .completions()
        .create_stream(request)
        .await?
        .accumulate();
    while let Some(chunk) = stream.next().await {
        if let Some(text) = chunk?.text_delta() {
            write!(out, "{text}")?;
            out.flush()?;
        }
    }
    let completion = stream.into_final()?;
    println!();
    for choice in &completion.choices {
        let message = &choice.message;
        println!("-- final message (finish_reason {})", choice.finish_reason);
        println!(
            "content: {}",
            message.content.as_deref().unwrap_or("(none)")
        );
        for call in message.tool_calls.iter().flatten() {
            if let ChatCompletionMessageToolCallsItem::Function(call) = call {
                println!(
                    "tool call {}: {}({})",
                    call.id, call.function.name, call.function.arguments
                );
            }
        }
    }
    if let Some(usage) = &completion.usage {
        println!("usage: {} tokens", usage.total_tokens);
    }

    // Responses API: the same adapter on typed events.
    println!("\n== response");
    let request = CreateResponseBuilder::new()
        .model("gpt-4o-mini")
        .input("Greet me in one sentence, then look up the weather in Paris.")
        .tool(FunctionTool::new("get_weather", weather_schema)?)
        .build()?;
    let mut stream = client
        .responses()
        .create_stream(request)
        .await?
        .accumulate();
    while let Some(event) = stream.next().await {
        if let Some(text) = event?.text_delta() {
            write!(out, "{text}")?;
            out.flush()?;
        }
    }
    let response = stream.into_final()?;
    println!();
    println!(
        "-- final response (status {})",
        response.status.as_ref().map_or("-", |s| s.as_str())
    );
    for item in &response.output {
        match item {
            OutputItem::Message(m) => {
                for part in &m.content {
                    match part {
                        OutputMessageContent::OutputText(t) => println!("text: {}", t.text),
                        OutputMessageContent::Refusal(r) => println!("refusal: {}", r.refusal),
                        _ => {}
                    }
                }
            }
            OutputItem::FunctionCall(c) => {
                println!("tool call {}: {}({})", c.call_id, c.name, c.arguments);
            }
            OutputItem::Reasoning(r) => {
                for s in &r.summary {
                    println!("reasoning summary: {}", s.text);
                }
            }
            other => println!("{} item", other.tag().unwrap_or("unknown")),
        }
    }
    Ok(())
}

/// A local server answering both calls with canned event streams.
async fn local_stand_in() -> MockServer {
    let server = MockServer::start().await;
    let sse = |body: String| {
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/event-stream")
            .set_body_string(body)
    };
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(sse(chat_stream()))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/responses"))
        .respond_with(sse(responses_stream()))
        .mount(&server)
        .await;
    server
}

/// Text in small pieces, then one tool call whose arguments arrive in
/// fragments cut mid-token, then the usage.
fn chat_stream() -> String {
    let chunk = |choices: serde_json::Value| {
        json!({"id": "chatcmpl-local", "object": "chat.completion.chunk", "created": 1_700_000_000,
               "model": "stand-in", "choices": choices})
    };
    let mut chunks = vec![chunk(
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]),
    )];
    for piece in ["Hello", " there", "! Let me", " check Paris", " for you."] {
        chunks.push(chunk(
            json!([{"index": 0, "delta": {"content": piece}, "finish_reason": null}]),
        ));
    }
    chunks.push(chunk(json!([{"index": 0, "delta": {"tool_calls": [
        {"index": 0, "id": "call_local_1", "type": "function", "function": {"name": "get_weather", "arguments": ""}}
    ]}, "finish_reason": null}])));
    for piece in ["{\"ci", "ty\": \"Pa", "ris\"}"] {
        chunks.push(chunk(json!([{"index": 0, "delta": {"tool_calls": [
            {"index": 0, "function": {"arguments": piece}}
        ]}, "finish_reason": null}])));
    }
    chunks.push(chunk(
        json!([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
    ));
    let mut last = chunk(json!([]));
    last["usage"] = json!({"prompt_tokens": 21, "completion_tokens": 19, "total_tokens": 40});
    chunks.push(last);
    let mut body: String = chunks.iter().map(|c| format!("data: {c}\n\n")).collect();
    body.push_str("data: [DONE]\n\n");
    body
}

/// A message streamed as text deltas, a function call streamed as argument
/// deltas, and the terminal `response.completed`.
fn responses_stream() -> String {
    let text_pieces = ["Hi", "! Checking", " the weather", " in Paris."];
    let arg_pieces = ["{\"city\":", "\"Paris\"}"];
    let text: String = text_pieces.concat();
    let args: String = arg_pieces.concat();
    let message = |status: &str, text: Option<&str>| {
        let content = match text {
            Some(t) => {
                json!([{"type": "output_text", "text": t, "annotations": [], "logprobs": []}])
            }
            None => json!([]),
        };
        json!({"id": "msg_local", "type": "message", "role": "assistant", "status": status, "content": content})
    };
    let call = |status: &str, args: &str| {
        json!({"id": "fc_local", "type": "function_call", "call_id": "call_local_2",
               "name": "get_weather", "arguments": args, "status": status})
    };
    let response = |status: &str, output: serde_json::Value| {
        json!({"id": "resp_local", "object": "response", "created_at": 1_700_000_000,
               "status": status, "model": "stand-in", "output": output, "error": null,
               "incomplete_details": null, "instructions": null, "metadata": {},
               "temperature": 1.0, "top_p": 1.0, "tools": [], "tool_choice": "auto",
               "parallel_tool_calls": true})
    };
    let mut events = vec![
        json!({"type": "response.created", "response": response("in_progress", json!([]))}),
        json!({"type": "response.output_item.added", "output_index": 0, "item": message("in_progress", None)}),
        json!({"type": "response.content_part.added", "item_id": "msg_local", "output_index": 0, "content_index": 0,
               "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
    ];
    for piece in text_pieces {
        events.push(
            json!({"type": "response.output_text.delta", "item_id": "msg_local", "output_index": 0,
                           "content_index": 0, "delta": piece, "logprobs": []}),
        );
    }
    events.push(json!({"type": "response.output_item.done", "output_index": 0, "item": message("completed", Some(&text))}));
    events.push(json!({"type": "response.output_item.added", "output_index": 1, "item": call("in_progress", "")}));
    for piece in arg_pieces {
        events.push(
            json!({"type": "response.function_call_arguments.delta", "item_id": "fc_local",
                           "output_index": 1, "delta": piece}),
        );
    }
    events.push(json!({"type": "response.output_item.done", "output_index": 1, "item": call("completed", &args)}));
    events.push(
        json!({"type": "response.completed", "response": response("completed",
        json!([message("completed", Some(&text)), call("completed", &args)]))}),
    );
    events
        .into_iter()
        .enumerate()
        .map(|(n, mut e)| {
            e["sequence_number"] = json!(n);
            format!(
                "event: {}\ndata: {e}\n\n",
                e["type"].as_str().unwrap_or("message")
            )
        })
        .collect()
}
