//! Scripted replies, recorded requests, auth, reset, cut streams and stalls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{api_error, client, events, get, post, url};
use oai_mock::{MockServer, ToolCall};
use oai_types::{
    ChatCompletionMessageToolCallsItem, CreateChatCompletionResponse, OutputItem,
    OutputMessageContent, Response, ResponseStreamEvent,
};
use serde_json::{Value, json};

fn chat(stream: bool) -> Value {
    json!({"model": "gpt-4o-mini", "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

fn responses(stream: bool) -> Value {
    json!({"model": "gpt-4o-mini", "stream": stream, "input": "hi"})
}

async fn chat_message(server: &MockServer) -> Value {
    let body: Value = post(server, "/chat/completions", &chat(false))
        .await
        .json()
        .await
        .unwrap();
    body["choices"][0].clone()
}

#[tokio::test]
async fn chat_scripts_are_used_in_order_then_the_default() {
    let server = MockServer::start().await;
    server.chat().text("scripted text");
    server.chat().json(json!({"answer": 42}));
    server.chat().refusal("I cannot help with that");
    server.chat().tool_calls([
        ToolCall::new("first", json!({"a": 1})),
        ToolCall::new("second", json!([])).with_id("call_custom"),
    ]);
    server.chat().error(400, "bad thing");
    server.chat().body(202, json!({"anything": ["goes"]}));

    let text = chat_message(&server).await;
    assert_eq!(text["message"]["content"], "scripted text");
    assert_eq!(text["finish_reason"], "stop");
    let json = chat_message(&server).await;
    let content: Value =
        serde_json::from_str(json["message"]["content"].as_str().unwrap()).unwrap();
    assert_eq!(content, json!({"answer": 42}));
    let refusal = chat_message(&server).await;
    assert_eq!(refusal["message"]["refusal"], "I cannot help with that");
    assert!(refusal["message"]["content"].is_null());

    let tools: CreateChatCompletionResponse = post(&server, "/chat/completions", &chat(false))
        .await
        .json()
        .await
        .unwrap();
    let calls = tools.choices[0].message.tool_calls.clone().unwrap();
    let calls: Vec<_> = calls
        .into_iter()
        .map(|c| match c {
            ChatCompletionMessageToolCallsItem::Function(f) => f,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(calls[0].id, "call_1");
    assert_eq!(calls[0].function.name, "first");
    assert_eq!(calls[0].function.arguments, r#"{"a":1}"#);
    assert_eq!(calls[1].id, "call_custom");
    assert_eq!(calls[1].function.arguments, "[]");
    assert_eq!(tools.choices[0].finish_reason.to_string(), "tool_calls");

    let error = api_error(post(&server, "/chat/completions", &chat(false)).await, 400).await;
    assert_eq!(error["message"], "bad thing");
    assert_eq!(error["type"], "invalid_request_error");
    let raw = post(&server, "/chat/completions", &chat(false)).await;
    assert_eq!(raw.status(), 202);
    assert_eq!(
        raw.json::<Value>().await.unwrap(),
        json!({"anything": ["goes"]})
    );

    let default = chat_message(&server).await;
    assert_eq!(
        default["message"]["content"],
        "This is a mock answer to: hi"
    );
}

#[tokio::test]
async fn scripts_belong_to_their_endpoint() {
    let server = MockServer::start().await;
    server.responses().text("for responses");
    server.chat().text("for chat");
    server
        .on("GET", "/models")
        .json(json!({"object": "list", "data": []}));
    server.on("get", "/v1/models/gpt-4o").error(503, "down");
    server.on("GET", "/v1/audio/thing").text("plain words");
    server.on("GET", "/v1/other").refusal("no");

    assert_eq!(
        chat_message(&server).await["message"]["content"],
        "for chat"
    );
    let response: Value = post(&server, "/responses", &responses(false))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(response["output"][0]["content"][0]["text"], "for responses");
    let models: Value = get(&server, "/models").await.json().await.unwrap();
    assert_eq!(models["data"], json!([]));
    let error = api_error(get(&server, "/models/gpt-4o").await, 503).await;
    assert_eq!(error["type"], "server_error");
    // Used once: the next call gets the default again.
    assert_eq!(get(&server, "/models/gpt-4o").await.status(), 200);
    let plain = get(&server, "/audio/thing").await;
    assert_eq!(plain.status(), 200);
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert_eq!(plain.text().await.unwrap(), "plain words");
    let misuse = api_error(get(&server, "/other").await, 500).await;
    assert!(misuse["message"].as_str().unwrap().contains("refusal"));
}

#[tokio::test]
async fn error_with_retry_after_sets_both_headers() {
    let server = MockServer::start().await;
    server
        .chat()
        .error_with_retry_after(429, "slow down", Duration::from_millis(1500));
    let response = post(&server, "/chat/completions", &chat(false)).await;
    assert_eq!(response.headers()["retry-after-ms"], "1500");
    assert_eq!(response.headers()["retry-after"], "2");
    assert!(response.headers().contains_key("x-request-id"));
    let error = api_error(response, 429).await;
    assert_eq!(error["code"], "rate_limit_exceeded");
    assert_eq!(error["message"], "slow down");
}

#[tokio::test]
async fn chat_streams_scripted_tool_calls_as_deltas() {
    let server = MockServer::start().await;
    server.chat().tool_calls([
        ToolCall::new("get_weather", json!({"city": "Paris", "unit": "celsius"})),
        ToolCall::new("get_time", json!({"zone": "CET"})).with_id("call_t"),
    ]);
    let text = post(&server, "/chat/completions", &chat(true))
        .await
        .text()
        .await
        .unwrap();
    let events = events(&text);
    assert_eq!(events.last().unwrap().data, "[DONE]");
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| e.json())
        .collect();
    let mut calls: Vec<(String, String, String)> = Vec::new();
    let mut pieces = [0usize; 2];
    for chunk in &chunks {
        let Some(deltas) = chunk["choices"][0]["delta"]["tool_calls"].as_array() else {
            continue;
        };
        for delta in deltas {
            let index = delta["index"].as_u64().unwrap() as usize;
            if let Some(id) = delta["id"].as_str() {
                // id and name come first, before any argument text.
                assert_eq!(calls.len(), index);
                assert_eq!(delta["function"]["arguments"], "");
                calls.push((
                    id.to_owned(),
                    delta["function"]["name"].as_str().unwrap().to_owned(),
                    String::new(),
                ));
            } else {
                assert!(delta.get("id").is_none());
                calls[index]
                    .2
                    .push_str(delta["function"]["arguments"].as_str().unwrap());
                pieces[index] += 1;
            }
        }
    }
    assert!(pieces.iter().all(|p| *p >= 2), "{pieces:?}");
    assert_eq!(calls[0].0, "call_1");
    assert_eq!(calls[0].1, "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(&calls[0].2).unwrap(),
        json!({"city": "Paris", "unit": "celsius"})
    );
    assert_eq!(calls[1].0, "call_t");
    assert_eq!(calls[1].2, r#"{"zone":"CET"}"#);
    let finish = &chunks[chunks.len() - 1];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn chat_streams_a_scripted_refusal() {
    let server = MockServer::start().await;
    server.chat().refusal("Sorry, I can't do that");
    let text = post(&server, "/chat/completions", &chat(true))
        .await
        .text()
        .await
        .unwrap();
    let events = events(&text);
    let refusal: String = events[..events.len() - 1]
        .iter()
        .filter_map(|e| {
            e.json()["choices"][0]["delta"]["refusal"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(refusal, "Sorry, I can't do that");
}

#[tokio::test]
async fn responses_scripts_take_the_responses_shapes() {
    let server = MockServer::start().await;
    server
        .responses()
        .tool_calls([ToolCall::new("lookup", json!({"id": 7})).with_id("call_x")]);
    server.responses().refusal("no can do");
    server.responses().json(json!({"ok": true}));

    let tools: Response = post(&server, "/responses", &responses(false))
        .await
        .json()
        .await
        .unwrap();
    let OutputItem::FunctionCall(call) = &tools.output[0] else {
        panic!("{:?}", tools.output[0]);
    };
    assert_eq!(call.call_id, "call_x");
    assert_eq!(call.name, "lookup");
    assert_eq!(call.arguments, r#"{"id":7}"#);

    let refusal: Response = post(&server, "/responses", &responses(false))
        .await
        .json()
        .await
        .unwrap();
    let OutputItem::Message(message) = &refusal.output[0] else {
        panic!("{:?}", refusal.output[0]);
    };
    assert!(
        matches!(&message.content[0], OutputMessageContent::Refusal(r) if r.refusal == "no can do")
    );

    let json: Value = post(&server, "/responses", &responses(false))
        .await
        .json()
        .await
        .unwrap();
    let text = json["output"][0]["content"][0]["text"].as_str().unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap(),
        json!({"ok": true})
    );
}

#[tokio::test]
async fn responses_stream_function_calls() {
    let server = MockServer::start().await;
    server.responses().tool_calls([
        ToolCall::new("a", json!({"x": "some longer argument text"})),
        ToolCall::new("b", json!({})),
    ]);
    let text = post(&server, "/responses", &responses(true))
        .await
        .text()
        .await
        .unwrap();
    let events = events(&text);
    let mut names: Vec<String> = Vec::new();
    let mut arguments = [String::new(), String::new()];
    for (n, event) in events.iter().enumerate() {
        let parsed: ResponseStreamEvent = serde_json::from_str(&event.data).unwrap();
        assert!(parsed.as_unknown().is_none(), "{}", event.data);
        assert_eq!(event.json()["sequence_number"], json!(n));
        if let ResponseStreamEvent::ResponseFunctionCallArgumentsDelta(delta) = &parsed {
            arguments[delta.output_index as usize].push_str(&delta.delta);
        }
        if let ResponseStreamEvent::ResponseFunctionCallArgumentsDone(done) = &parsed {
            assert_eq!(done.arguments, arguments[done.output_index as usize]);
        }
        let name = event.event.clone().unwrap();
        if names.last() != Some(&name) {
            names.push(name);
        }
    }
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(arguments[0], r#"{"x":"some longer argument text"}"#);
    assert_eq!(arguments[1], "{}");
    let deltas = events
        .iter()
        .filter(|e| e.event.as_deref() == Some("response.function_call_arguments.delta"))
        .count();
    assert!(deltas >= 4);
}

#[tokio::test]
async fn requests_are_recorded_as_sent() {
    let server = MockServer::start().await;
    let body = chat(false);
    client(&server)
        .post(url(&server, "/chat/completions?trace=1"))
        .header("X-Custom", "yes")
        .json(&body)
        .send()
        .await
        .unwrap();
    get(&server, "/models").await;
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/v1/chat/completions");
    assert_eq!(first.query.as_deref(), Some("trace=1"));
    assert_eq!(first.json(), Some(body));
    assert_eq!(first.header("x-custom"), Some("yes"));
    assert_eq!(first.header("AUTHORIZATION"), Some("Bearer sk-mock"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(requests[1].method, "GET");
    assert_eq!(requests[1].path, "/v1/models");
    assert_eq!(requests[1].query, None);
    assert!(requests[1].body.is_empty());
    assert_eq!(requests[1].json(), None);
}

#[tokio::test]
async fn requests_without_the_key_get_401_and_leave_scripts_queued() {
    let server = MockServer::start().await;
    server.chat().text("kept");
    let plain = reqwest::Client::new();
    let missing = plain
        .post(url(&server, "/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    let error = api_error(missing, 401).await;
    assert!(error["code"].is_null());
    let wrong = plain
        .post(url(&server, "/chat/completions"))
        .bearer_auth("sk-real-key")
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    let error = api_error(wrong, 401).await;
    assert_eq!(error["code"], "invalid_api_key");
    assert!(!error["message"].as_str().unwrap().contains("sk-real-key"));
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        server.requests()[1].header("authorization"),
        Some("Bearer sk-real-key")
    );
    assert_eq!(chat_message(&server).await["message"]["content"], "kept");
}

#[tokio::test]
async fn reset_drops_scripts_and_requests() {
    let server = MockServer::start().await;
    server.chat().text("gone");
    get(&server, "/models").await;
    assert_eq!(server.requests().len(), 1);
    server.reset();
    assert!(server.requests().is_empty());
    assert_eq!(
        chat_message(&server).await["message"]["content"],
        "This is a mock answer to: hi"
    );
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn cut_chat_stream_ends_without_done() {
    let server = MockServer::start().await;
    server.chat().cut_stream_after(3);
    // A request that does not stream passes over the cut.
    assert_eq!(
        chat_message(&server).await["message"]["content"],
        "This is a mock answer to: hi"
    );
    let response = post(&server, "/chat/completions", &chat(true)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["connection"], "close");
    let text = response.text().await.unwrap();
    let events = events(&text);
    assert_eq!(events.len(), 3);
    assert!(!text.contains("[DONE]"));
    let content: String = events
        .iter()
        .filter_map(|e| {
            e.json()["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert!("partial answer that the mock server cuts off before its end".starts_with(&content));
    assert!(!content.is_empty());
    assert!(
        events
            .iter()
            .all(|e| e.json()["choices"][0]["finish_reason"].is_null())
    );
    // The next stream is whole again.
    let whole = post(&server, "/chat/completions", &chat(true))
        .await
        .text()
        .await
        .unwrap();
    assert!(whole.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn cut_responses_stream_never_completes() {
    let server = MockServer::start().await;
    server.responses().cut_stream_after(1000);
    let text = post(&server, "/responses", &responses(true))
        .await
        .text()
        .await
        .unwrap();
    let events = events(&text);
    assert!(events.len() > 5);
    assert!(
        events
            .iter()
            .all(|e| e.event.as_deref() != Some("response.completed"))
    );
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("response.output_item.done")
    );

    server.responses().cut_stream_after(0);
    let text = post(&server, "/responses", &responses(true))
        .await
        .text()
        .await
        .unwrap();
    assert!(text.is_empty());
}

#[tokio::test]
async fn stall_delays_the_answer_after_the_headers() {
    let server = MockServer::start().await;
    let delay = Duration::from_millis(400);
    server.chat().stall(delay);
    server.chat().text("late");
    let started = Instant::now();
    let response = post(&server, "/chat/completions", &chat(false)).await;
    let headers_at = started.elapsed();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let done_at = started.elapsed();
    assert!(headers_at < delay, "headers after {headers_at:?}");
    assert!(done_at >= delay, "body after {done_at:?}");
    assert_eq!(body["choices"][0]["message"]["content"], "late");

    // Nothing left: the next answer is immediate and default.
    let started = Instant::now();
    let next = chat_message(&server).await;
    assert!(started.elapsed() < delay);
    assert_eq!(next["message"]["content"], "This is a mock answer to: hi");
}

#[tokio::test]
async fn stall_pauses_a_stream_after_its_first_event() {
    let server = MockServer::start().await;
    let delay = Duration::from_millis(300);
    server.responses().stall(delay);
    let started = Instant::now();
    let mut response = post(&server, "/responses", &responses(true)).await;
    let mut first_at = None;
    let mut text = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        text.extend_from_slice(&chunk);
        if first_at.is_none() {
            first_at = Some(started.elapsed());
        }
    }
    let first_at = first_at.unwrap();
    let done_at = started.elapsed();
    assert!(first_at < delay, "first event after {first_at:?}");
    assert!(
        done_at - first_at >= delay,
        "rest after {:?}",
        done_at - first_at
    );
    let events = events(std::str::from_utf8(&text).unwrap());
    assert_eq!(
        events.first().unwrap().event.as_deref(),
        Some("response.created")
    );
    assert_eq!(
        events.last().unwrap().event.as_deref(),
        Some("response.completed")
    );
}

#[tokio::test]
async fn debug_hides_the_key_and_handles_share_one_server() {
    let server = MockServer::start().await;
    let debug = format!("{server:?}");
    assert!(!debug.contains("sk-mock"), "{debug}");
    assert!(debug.contains(&server.addr().port().to_string()));
    assert_eq!(
        server.base_url(),
        format!("http://127.0.0.1:{}/v1", server.addr().port())
    );
    assert!(server.addr().ip().is_loopback());

    let other = server.clone();
    drop(server);
    other.chat().text("still here");
    assert_eq!(
        chat_message(&other).await["message"]["content"],
        "still here"
    );

    let addr = other.addr();
    drop(other);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server still accepts after the last handle went"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[test]
fn works_on_a_runtime_that_blocks() {
    // The server has its own thread: a blocked caller runtime does not stop it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let server = runtime.block_on(MockServer::start());
    let addr = server.addr();
    let answer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .write_all(b"GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-mock\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        stream.read_to_string(&mut out).unwrap();
        out
    })
    .join()
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("gpt-4o-mini"));
}

#[tokio::test]
async fn unusable_scripted_statuses_answer_500_and_bodiless_ones_work() {
    let server = MockServer::start().await;
    server.chat().body(1000, json!({}));
    server.chat().error(101, "switching");
    server.chat().body(204, json!(null));
    for _ in 0..2 {
        let error = api_error(post(&server, "/chat/completions", &chat(false)).await, 500).await;
        assert!(
            error["message"].as_str().unwrap().contains("not a status"),
            "{error}"
        );
    }
    let empty = post(&server, "/chat/completions", &chat(false)).await;
    assert_eq!(empty.status(), 204);
    assert!(empty.bytes().await.unwrap().is_empty());
    // The connection and the server are fine afterwards.
    assert_eq!(chat_message(&server).await["finish_reason"], "stop");
}
