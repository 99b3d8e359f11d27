//! Realtime sessions against local WebSocket servers playing scripted
//! sessions: event order, function calls, errors, abrupt ends, caps,
//! headers, keep-alive, close.
#![cfg(feature = "realtime-ws")]
#![allow(clippy::unwrap_used, clippy::expect_used)]
// tungstenite's handshake callback type has a large error variant.
#![allow(clippy::result_large_err)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use oai::realtime::{
    RealtimeConnect, RealtimeError, RealtimeLimits, RealtimeServerEvent, RealtimeSession,
};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

const KEY: &str = "sk-realtime-test-key-0123";

/// Generous bound for liveness only: no test depends on timing within it.
const LIVENESS: Duration = Duration::from_secs(20);

type Ws = WebSocketStream<TcpStream>;

/// What the server saw of the handshake.
#[derive(Debug, Clone, Default)]
struct Seen {
    uri: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Server {
    base_url: String,
    seen: Arc<Mutex<Option<Seen>>>,
    done: tokio::task::JoinHandle<()>,
}

impl Server {
    fn seen(&self) -> Seen {
        self.seen
            .lock()
            .unwrap()
            .clone()
            .expect("no handshake seen")
    }

    /// Waits for the script to finish (and so for its assertions).
    async fn finish(self) {
        tokio::time::timeout(LIVENESS, self.done)
            .await
            .expect("the script did not finish")
            .expect("the script panicked");
    }
}

/// A server on 127.0.0.1 that accepts one WebSocket and plays `script`.
async fn server<F, Fut>(script: F) -> Server
where
    F: FnOnce(Ws) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(None));
    let record = Arc::clone(&seen);
    let done = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let callback = move |request: &Request, response: Response| {
            *record.lock().unwrap() = Some(Seen {
                uri: request.uri().to_string(),
                headers: request
                    .headers()
                    .iter()
                    .map(|(n, v)| {
                        (
                            n.as_str().to_owned(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect(),
            });
            Ok::<_, ErrorResponse>(response)
        };
        let ws = tokio_tungstenite::accept_hdr_async(stream, callback)
            .await
            .unwrap();
        script(ws).await;
    });
    Server {
        base_url: format!("http://{addr}/v1"),
        seen,
        done,
    }
}

fn client(base_url: &str) -> oai::Client {
    oai::Client::new(
        oai::Config::builder()
            .api_key(KEY)
            .base_url(base_url)
            .organization("org-rt")
            .project("proj-rt")
            .build()
            .unwrap(),
    )
    .unwrap()
}

async fn connect(server: &Server, limits: RealtimeLimits) -> RealtimeSession {
    RealtimeConnect::model("gpt-realtime")
        .limits(limits)
        .connect(&client(&server.base_url))
        .await
        .unwrap()
}

/// Limits without pings, so scripts see only the events.
fn quiet() -> RealtimeLimits {
    RealtimeLimits::default().ping_interval(None)
}

async fn send(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

/// The next text message as JSON (pings and pongs skipped); `None` at the end.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.next().await? {
            Ok(Message::Text(t)) => return Some(serde_json::from_str(t.as_str()).unwrap()),
            Ok(Message::Ping(_) | Message::Pong(_)) => {}
            Ok(_) | Err(_) => return None,
        }
    }
}

fn session_created() -> Value {
    json!({"type": "session.created", "event_id": "ev_0", "session": {"type": "realtime", "id": "sess_1", "object": "realtime.session", "model": "gpt-realtime"}})
}

fn response_created(id: &str) -> Value {
    json!({"type": "response.created", "event_id": "ev_c", "response": {"id": id, "object": "realtime.response", "status": "in_progress", "output": []}})
}

fn text_delta(id: &str, delta: &str) -> Value {
    json!({"type": "response.output_text.delta", "event_id": "ev_d", "response_id": id, "item_id": "it_1", "output_index": 0, "content_index": 0, "delta": delta})
}

fn response_done(id: &str) -> Value {
    json!({"type": "response.done", "event_id": "ev_e", "response": {"id": id, "object": "realtime.response", "status": "completed", "output": []}})
}

fn function_call(call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"type": "response.function_call_arguments.done", "event_id": "ev_f", "response_id": "resp_1", "item_id": "it_f", "output_index": 0, "call_id": call_id, "name": name, "arguments": arguments})
}

async fn next(session: &mut RealtimeSession) -> Option<Result<RealtimeServerEvent, RealtimeError>> {
    tokio::time::timeout(LIVENESS, session.next_event())
        .await
        .expect("no event in time")
}

#[tokio::test]
async fn events_arrive_in_order_and_a_text_turn_is_collected() {
    let server = server(|mut ws| async move {
        send(&mut ws, session_created()).await;
        let mut received = Vec::new();
        while let Some(event) = next_json(&mut ws).await {
            let kind = event["type"].as_str().unwrap().to_owned();
            received.push(kind.clone());
            if kind == "response.create" {
                send(&mut ws, response_created("resp_1")).await;
                for delta in ["Li", "ma", "."] {
                    send(&mut ws, text_delta("resp_1", delta)).await;
                }
                send(&mut ws, json!({"type": "response.output_text.done", "event_id": "ev_t", "response_id": "resp_1", "item_id": "it_1", "output_index": 0, "content_index": 0, "text": "Lima."})).await;
                send(&mut ws, response_done("resp_1")).await;
            }
        }
        assert_eq!(
            received,
            ["session.update", "conversation.item.create", "response.create"]
        );
    })
    .await;
    let mut session = connect(&server, quiet()).await;
    let first = next(&mut session).await.unwrap().unwrap();
    assert_eq!(first.tag(), Some("session.created"));
    let sender = session.sender().clone();
    sender
        .update_session(oai::types::RealtimeSessionCreateRequestGA {
            instructions: Some("Be brief.".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    sender.send_user_text("Capital of Peru?").await.unwrap();
    sender.create_response().await.unwrap();
    let mut order = Vec::new();
    let turn = session
        .receiver()
        .collect_response_with(|e| order.push(e.tag().unwrap_or("").to_owned()))
        .await
        .unwrap();
    assert_eq!(
        order,
        [
            "response.created",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.done"
        ]
    );
    assert_eq!(turn.text, "Lima.");
    assert_eq!(turn.response_id.as_deref(), Some("resp_1"));
    assert!(turn.function_calls.is_empty());
    session.close().await.unwrap();
    assert!(next(&mut session).await.is_none());
    server.finish().await;
}

#[tokio::test]
async fn handshake_carries_the_clients_credentials_and_settings() {
    let server = server(|mut ws| async move {
        let _ = next_json(&mut ws).await;
    })
    .await;
    let session = connect(&server, quiet()).await;
    let seen = server.seen();
    assert_eq!(seen.uri, "/v1/realtime?model=gpt-realtime");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(seen.header("openai-organization"), Some("org-rt"));
    assert_eq!(seen.header("openai-project"), Some("proj-rt"));
    assert!(seen.header("user-agent").unwrap().starts_with("oai"));
    assert!(!format!("{session:?}").contains(KEY));
    drop(session);
    server.finish().await;
}

#[tokio::test]
async fn ephemeral_secret_alone_is_sent_as_bearer() {
    let server = server(|mut ws| async move {
        let _ = next_json(&mut ws).await;
    })
    .await;
    let session = RealtimeConnect::new()
        .base_url(&server.base_url)
        .limits(quiet())
        .header("x-trace", "t-1")
        .connect_with_secret("ek_ephemeral_123")
        .await
        .unwrap();
    let seen = server.seen();
    assert_eq!(seen.uri, "/v1/realtime");
    assert_eq!(
        seen.header("authorization"),
        Some("Bearer ek_ephemeral_123")
    );
    assert_eq!(seen.header("openai-organization"), None);
    assert_eq!(seen.header("x-trace"), Some("t-1"));
    drop(session);
    server.finish().await;
}

#[tokio::test]
async fn azure_uses_the_deployment_the_api_version_and_api_key() {
    let server = server(|mut ws| async move {
        let _ = next_json(&mut ws).await;
    })
    .await;
    let endpoint = server.base_url.trim_end_matches("/v1").to_owned();
    let client = oai::Client::new(
        oai::Config::azure()
            .endpoint(endpoint)
            .api_version("2025-04-01-preview")
            .api_key("azure-key-1")
            .build()
            .unwrap(),
    )
    .unwrap();
    let session = RealtimeConnect::model("my-realtime")
        .limits(quiet())
        .connect(&client)
        .await
        .unwrap();
    let seen = server.seen();
    assert_eq!(
        seen.uri,
        "/openai/realtime?api-version=2025-04-01-preview&deployment=my-realtime"
    );
    assert_eq!(seen.header("api-key"), Some("azure-key-1"));
    assert_eq!(seen.header("authorization"), None);
    drop(session);
    server.finish().await;
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_before_any_io() {
    let err = RealtimeConnect::new()
        .base_url("http://api.example.com/v1")
        .connect_with_secret("ek_1")
        .await
        .unwrap_err();
    assert!(matches!(err, RealtimeError::Config(_)), "{err:?}");
    let err = RealtimeConnect::new()
        .header("bad header", "x")
        .connect_with_secret("ek_1")
        .await
        .unwrap_err();
    assert!(matches!(err, RealtimeError::Config(_)), "{err:?}");
}

#[tokio::test]
async fn refused_handshake_is_typed_and_never_shows_the_key() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let callback = |_: &Request, _: Response| {
            // The key straddles the 200-character cut of the excerpt: a
            // cut made before the redaction would show its first half.
            let pad = "x".repeat(200 - 5 - r#"{"error":{"message":""#.len());
            let body = format!("{{\"error\":{{\"message\":\"{pad}{KEY}\"}}}}");
            let response = oai::transport::http::Response::builder()
                .status(401)
                .header("x-request-id", "req_rt_1")
                .body(Some(body))
                .unwrap();
            Err::<Response, ErrorResponse>(response)
        };
        let _ = tokio_tungstenite::accept_hdr_async(stream, callback).await;
    });
    let client = client(&format!("http://{addr}/v1"));
    let err = RealtimeConnect::model("gpt-realtime")
        .connect(&client)
        .await
        .unwrap_err();
    match &err {
        RealtimeError::Handshake {
            status,
            request_id,
            body,
        } => {
            assert_eq!(*status, 401);
            assert_eq!(request_id.as_deref(), Some("req_rt_1"));
            let body = body.as_deref().unwrap();
            assert!(body.starts_with(r#"{"error":{"message":"xxx"#), "{body:?}");
            assert!(!body.contains(&KEY[..5]), "part of the key shown: {body:?}");
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains(KEY));
    let connect_debug = format!("{:?}", RealtimeConnect::model("m").header("api-key", KEY));
    assert!(!connect_debug.contains(KEY), "{connect_debug}");
    task.await.unwrap();
}

#[tokio::test]
async fn nothing_listening_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = RealtimeConnect::model("m")
        .connect(&client(&format!("http://{addr}/v1")))
        .await
        .unwrap_err();
    assert!(matches!(err, RealtimeError::Connect(_)), "{err:?}");
    assert!(err.is_fatal());
}

#[cfg(feature = "tools")]
#[tokio::test]
async fn function_calls_round_trip_through_the_registry() {
    use oai::structured::JsonSchema;
    use oai::tools::{CallOutcome, ToolRegistry, ToolRunner};

    #[derive(serde::Deserialize, JsonSchema)]
    struct City {
        city: String,
    }

    let server = server(|mut ws| async move {
        send(&mut ws, session_created()).await;
        // First response: three calls: a good one, an unknown tool, bad arguments.
        assert_eq!(next_json(&mut ws).await.unwrap()["type"], "response.create");
        send(&mut ws, response_created("resp_1")).await;
        send(
            &mut ws,
            function_call("call_1", "get_weather", r#"{"city":"Paris"}"#),
        )
        .await;
        send(&mut ws, function_call("call_2", "rm_rf", "{}")).await;
        send(
            &mut ws,
            function_call("call_3", "get_weather", r#"{"town":1}"#),
        )
        .await;
        send(&mut ws, response_done("resp_1")).await;
        let mut outputs = Vec::new();
        for _ in 0..3 {
            let event = next_json(&mut ws).await.unwrap();
            assert_eq!(event["type"], "conversation.item.create");
            assert_eq!(event["item"]["type"], "function_call_output");
            outputs.push((
                event["item"]["call_id"].as_str().unwrap().to_owned(),
                event["item"]["output"].as_str().unwrap().to_owned(),
            ));
        }
        assert_eq!(
            outputs[0],
            ("call_1".to_owned(), "18 °C in Paris".to_owned())
        );
        assert_eq!(outputs[1].0, "call_2");
        assert!(outputs[1].1.contains("no tool named"), "{}", outputs[1].1);
        assert_eq!(outputs[2].0, "call_3");
        assert!(outputs[2].1.contains("schema"), "{}", outputs[2].1);
        // Then the follow-up response, plain text.
        assert_eq!(next_json(&mut ws).await.unwrap()["type"], "response.create");
        send(&mut ws, response_created("resp_2")).await;
        send(&mut ws, text_delta("resp_2", "It is 18 °C.")).await;
        send(&mut ws, response_done("resp_2")).await;
        let _ = next_json(&mut ws).await;
    })
    .await;
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let mut tools = ToolRegistry::new();
    tools
        .register("get_weather", "Weather of a city", move |c: City| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(format!("18 °C in {}", c.city)) }
        })
        .unwrap();
    assert_eq!(tools.realtime_tools().len(), 1);
    let client = client(&server.base_url);
    let runner = ToolRunner::new(client.clone(), tools);
    let mut session = RealtimeConnect::model("gpt-realtime")
        .limits(quiet())
        .connect(&client)
        .await
        .unwrap();
    assert!(next(&mut session).await.unwrap().is_ok());
    session.sender().create_response().await.unwrap();
    let run = tokio::time::timeout(LIVENESS, session.run_tools(&runner))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.turn.text, "It is 18 °C.");
    assert_eq!(run.responses, 2);
    assert_eq!(run.limit, None);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "only the valid call ran");
    let outcomes: Vec<_> = run
        .stats
        .records
        .iter()
        .map(|r| r.outcome.clone())
        .collect();
    assert!(matches!(outcomes[0], CallOutcome::Succeeded { .. }));
    assert_eq!(outcomes[1], CallOutcome::UnknownTool);
    assert!(matches!(outcomes[2], CallOutcome::InvalidArguments(_)));
    session.close().await.unwrap();
    server.finish().await;
}

/// More calls in one response than the runner allows: none runs, each is
/// answered as not run, and no further response is asked for.
#[cfg(feature = "tools")]
#[tokio::test]
async fn too_many_calls_in_one_response_run_none() {
    use oai::structured::JsonSchema;
    use oai::tools::{CallOutcome, Limit, ToolRegistry, ToolRunner};

    #[derive(serde::Deserialize, JsonSchema)]
    struct City {
        city: String,
    }

    let server = server(|mut ws| async move {
        send(&mut ws, session_created()).await;
        assert_eq!(next_json(&mut ws).await.unwrap()["type"], "response.create");
        send(&mut ws, response_created("resp_1")).await;
        for i in 0..3 {
            let id = format!("call_{i}");
            send(
                &mut ws,
                function_call(&id, "get_weather", r#"{"city":"Paris"}"#),
            )
            .await;
        }
        send(&mut ws, response_done("resp_1")).await;
        for _ in 0..3 {
            let event = next_json(&mut ws).await.unwrap();
            assert_eq!(event["item"]["type"], "function_call_output");
        }
        // What comes next is the close, not a `response.create`.
        let after = next_json(&mut ws).await;
        assert!(after.is_none(), "{after:?}");
    })
    .await;
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    let mut tools = ToolRegistry::new();
    tools
        .register("get_weather", "Weather of a city", move |c: City| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { Ok::<_, String>(c.city) }
        })
        .unwrap();
    let client = client(&server.base_url);
    let runner = ToolRunner::new(client.clone(), tools).max_calls_per_round(2);
    let mut session = connect(&server, quiet()).await;
    assert!(next(&mut session).await.unwrap().is_ok());
    session.sender().create_response().await.unwrap();
    let run = tokio::time::timeout(LIVENESS, session.run_tools(&runner))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        run.limit,
        Some(Limit::CallsPerRound {
            requested: 3,
            limit: 2
        })
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "no handler ran");
    assert!(
        run.stats
            .records
            .iter()
            .all(|r| r.outcome == CallOutcome::NotRun)
    );
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn server_error_event_is_typed_scrubbed_and_not_fatal() {
    let server = server(|mut ws| async move {
        send(&mut ws, json!({"type": "error", "event_id": "ev_9", "error": {"type": "invalid_request_error", "code": "bad_key", "message": format!("key {KEY} is wrong"), "param": null, "event_id": "client_1"}})).await;
        send(&mut ws, session_created()).await;
        // A response that fails half-way.
        assert_eq!(next_json(&mut ws).await.unwrap()["type"], "response.create");
        send(&mut ws, response_created("resp_1")).await;
        send(&mut ws, json!({"type": "error", "event_id": "ev_10", "error": {"type": "server_error", "message": "boom"}})).await;
        let _ = next_json(&mut ws).await;
    })
    .await;
    let mut session = connect(&server, quiet()).await;
    let err = next(&mut session).await.unwrap().unwrap_err();
    let server_error = err.server_error().expect("a server error");
    assert_eq!(server_error.error.code.as_deref(), Some("bad_key"));
    assert_eq!(server_error.error.event_id.as_deref(), Some("client_1"));
    assert!(!err.is_fatal());
    assert!(!format!("{err} {err:?}").contains(KEY));
    assert!(err.to_string().contains("[REDACTED]"));
    // The session goes on.
    let next_event = next(&mut session).await.unwrap().unwrap();
    assert_eq!(next_event.tag(), Some("session.created"));
    session.sender().create_response().await.unwrap();
    let err = session.collect_response().await.unwrap_err();
    assert_eq!(err.server_error().unwrap().error.message, "boom");
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn unknown_events_are_kept_and_bad_known_ones_keep_their_text() {
    let server = server(|mut ws| async move {
        send(
            &mut ws,
            json!({"type": "brand.new.event", "payload": [1, 2]}),
        )
        .await;
        send(
            &mut ws,
            json!({"type": "response.output_text.delta", "delta": 5}),
        )
        .await;
        ws.send(Message::text("not json at all")).await.unwrap();
        ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        send(&mut ws, session_created()).await;
        let _ = next_json(&mut ws).await;
    })
    .await;
    let mut session = connect(&server, quiet()).await;
    let unknown = next(&mut session).await.unwrap().unwrap();
    assert_eq!(unknown.tag(), Some("brand.new.event"));
    assert_eq!(unknown.as_unknown().unwrap()["payload"], json!([1, 2]));
    match next(&mut session).await.unwrap().unwrap_err() {
        RealtimeError::Decode {
            event_type,
            raw,
            message,
        } => {
            assert_eq!(event_type.as_deref(), Some("response.output_text.delta"));
            assert!(raw.contains("\"delta\":5"), "{raw}");
            // Why, without the value: the message quotes no body text.
            assert!(message.contains("expected"), "{message}");
            assert!(!message.contains('5'), "{message}");
        }
        other => panic!("{other:?}"),
    }
    match next(&mut session).await.unwrap().unwrap_err() {
        RealtimeError::Decode {
            event_type, raw, ..
        } => {
            assert_eq!(event_type, None);
            assert_eq!(raw, "not json at all");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        next(&mut session).await.unwrap(),
        Err(RealtimeError::UnexpectedBinary { bytes: 3 })
    ));
    assert_eq!(
        next(&mut session).await.unwrap().unwrap().tag(),
        Some("session.created")
    );
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn abrupt_close_is_an_error_and_sending_after_it_fails() {
    let server = server(|mut ws| async move {
        send(&mut ws, session_created()).await;
        // The TCP connection goes without a close frame.
        drop(ws);
    })
    .await;
    let mut session = connect(&server, quiet()).await;
    assert!(next(&mut session).await.unwrap().is_ok());
    let err = next(&mut session).await.unwrap().unwrap_err();
    assert!(matches!(err, RealtimeError::EndedWithoutClose), "{err:?}");
    assert!(err.is_fatal());
    assert!(next(&mut session).await.is_none());
    let err = session.sender().commit_audio().await.unwrap_err();
    assert!(matches!(err, RealtimeError::SendAfterClose), "{err:?}");
    server.finish().await;
}

#[tokio::test]
async fn oversized_frame_is_refused_from_its_header() {
    let server = server(|mut ws| async move {
        send(&mut ws, session_created()).await;
        let big = json!({"type": "response.output_text.delta", "delta": "x".repeat(10_000)});
        // The client ends the session; the send may fail, which is fine.
        let _ = ws.send(Message::text(big.to_string())).await;
        let _ = next_json(&mut ws).await;
    })
    .await;
    let limits = quiet().max_frame_bytes(4096).max_message_bytes(1 << 20);
    let mut session = connect(&server, limits).await;
    assert!(next(&mut session).await.unwrap().is_ok());
    match next(&mut session).await.unwrap().unwrap_err() {
        RealtimeError::TooLarge { what, limit, .. } => {
            assert_eq!(what, "frame");
            assert_eq!(limit, 4096);
        }
        other => panic!("{other:?}"),
    }
    assert!(next(&mut session).await.is_none());
    server.finish().await;
}

#[tokio::test]
async fn oversized_message_in_small_frames_is_refused() {
    let server = server(|mut ws| async move {
        let part = "y".repeat(2000);
        let first = Frame::message(part.clone(), OpCode::Data(Data::Text), false);
        let _ = ws.send(Message::Frame(first)).await;
        for fin in [false, true] {
            let more = Frame::message(part.clone(), OpCode::Data(Data::Continue), fin);
            let _ = ws.send(Message::Frame(more)).await;
        }
        let _ = next_json(&mut ws).await;
    })
    .await;
    let limits = quiet().max_frame_bytes(1 << 20).max_message_bytes(4096);
    let mut session = connect(&server, limits).await;
    match next(&mut session).await.unwrap().unwrap_err() {
        RealtimeError::TooLarge { what, limit, .. } => {
            assert_eq!(what, "message");
            assert_eq!(limit, 4096);
        }
        other => panic!("{other:?}"),
    }
    assert!(next(&mut session).await.is_none());
    server.finish().await;
}

#[tokio::test]
async fn outgoing_event_over_the_cap_is_refused_before_sending() {
    let server = server(|mut ws| async move {
        let first = next_json(&mut ws).await.unwrap();
        assert_eq!(first["type"], "input_audio_buffer.commit");
        let _ = next_json(&mut ws).await;
    })
    .await;
    let session = connect(&server, quiet().max_message_bytes(2048)).await;
    let err = session
        .sender()
        .send_raw(json!({"type": "x", "pad": "z".repeat(3000)}).to_string())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            RealtimeError::TooLarge {
                what: "outgoing message",
                limit: 2048,
                ..
            }
        ),
        "{err:?}"
    );
    session.sender().commit_audio().await.unwrap();
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn pcm16_audio_is_split_under_the_cap_in_little_endian_base64() {
    let samples: Vec<i16> = (0..10_000)
        .map(|i| (i * 37 % 65_536 - 32_768) as i16)
        .collect();
    let expected: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let cap = 4096;
    let server = server(move |mut ws| async move {
        let mut audio = Vec::new();
        let mut events = 0;
        while let Some(event) = next_json(&mut ws).await {
            if event["type"] == "input_audio_buffer.commit" {
                break;
            }
            assert_eq!(event["type"], "input_audio_buffer.append");
            assert!(event.to_string().len() <= cap);
            let chunk = base64::engine::general_purpose::STANDARD
                .decode(event["audio"].as_str().unwrap())
                .unwrap();
            audio.extend(chunk);
            events += 1;
        }
        assert_eq!(audio, expected);
        assert_eq!(
            events,
            10_000usize.div_ceil(oai::realtime::pcm16_samples_per_message(cap))
        );
        let _ = next_json(&mut ws).await;
    })
    .await;
    let session = connect(&server, quiet().max_message_bytes(cap)).await;
    let sent = session.sender().append_audio_pcm16(&samples).await.unwrap();
    assert!(sent > 1, "{sent}");
    session.sender().commit_audio().await.unwrap();
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn pings_are_answered_both_ways() {
    let server = server(|mut ws| async move {
        ws.send(Message::Ping(b"are-you-there".to_vec().into()))
            .await
            .unwrap();
        let mut client_pings = 0;
        let mut pong = false;
        // Read until the client has answered our ping and sent two of its
        // own (the server's WebSocket layer answers those).
        while !(pong && client_pings >= 2) {
            match ws.next().await.unwrap().unwrap() {
                Message::Pong(payload) => {
                    assert_eq!(&payload[..], b"are-you-there");
                    pong = true;
                }
                Message::Ping(_) => client_pings += 1,
                other => panic!("{other:?}"),
            }
        }
        send(&mut ws, json!({"type": "seen.pings"})).await;
        let _ = next_json(&mut ws).await;
    })
    .await;
    let limits = RealtimeLimits::default()
        .ping_interval(Some(Duration::from_millis(20)))
        .pong_timeout(LIVENESS);
    let mut session = connect(&server, limits).await;
    let event = next(&mut session).await.unwrap().unwrap();
    assert_eq!(event.tag(), Some("seen.pings"));
    session.close().await.unwrap();
    assert!(next(&mut session).await.is_none());
    server.finish().await;
}

#[tokio::test]
async fn missing_pong_ends_the_session() {
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let server = server(|mut ws| async move {
        send(&mut ws, session_created()).await;
        // Never read again, so no ping is answered.
        let _ = release_rx.await;
        drop(ws);
    })
    .await;
    let limits = RealtimeLimits::default()
        .ping_interval(Some(Duration::from_millis(20)))
        .pong_timeout(Duration::from_millis(100));
    let mut session = connect(&server, limits).await;
    assert!(next(&mut session).await.unwrap().is_ok());
    let err = next(&mut session).await.unwrap().unwrap_err();
    assert!(matches!(err, RealtimeError::KeepAliveTimeout(_)), "{err:?}");
    assert!(next(&mut session).await.is_none());
    let _ = release_tx.send(());
    server.finish().await;
}

#[tokio::test]
async fn clean_close_then_sending_fails() {
    let server = server(|mut ws| async move {
        send(&mut ws, session_created()).await;
        let mut close_code = None;
        while let Some(message) = ws.next().await {
            if let Ok(Message::Close(frame)) = message {
                close_code = frame.map(|f| f.code);
            }
        }
        assert_eq!(close_code, Some(CloseCode::Normal));
    })
    .await;
    let mut session = connect(&server, quiet()).await;
    tokio::time::timeout(LIVENESS, session.close())
        .await
        .unwrap()
        .unwrap();
    // What the server sent before the close is still there, then the end.
    assert_eq!(
        next(&mut session).await.unwrap().unwrap().tag(),
        Some("session.created")
    );
    assert!(next(&mut session).await.is_none());
    assert!(session.sender().is_closed());
    let err = session.sender().create_response().await.unwrap_err();
    assert!(matches!(err, RealtimeError::SendAfterClose), "{err:?}");
    // Closing again does nothing.
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn server_close_normal_ends_the_stream_and_abnormal_is_an_error() {
    for (code, fatal) in [(CloseCode::Normal, false), (CloseCode::Library(4001), true)] {
        let server = server(move |mut ws| async move {
            send(&mut ws, session_created()).await;
            ws.close(Some(CloseFrame {
                code,
                reason: format!("bye {KEY}").into(),
            }))
            .await
            .unwrap();
            while ws.next().await.is_some() {}
        })
        .await;
        let mut session = connect(&server, quiet()).await;
        assert!(next(&mut session).await.unwrap().is_ok());
        if fatal {
            match next(&mut session).await.unwrap().unwrap_err() {
                RealtimeError::AbnormalClose { code, reason } => {
                    assert_eq!(code, 4001);
                    assert_eq!(reason, "bye [REDACTED]");
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(next(&mut session).await.is_none());
        assert!(matches!(
            session.sender().commit_audio().await,
            Err(RealtimeError::SendAfterClose)
        ));
        server.finish().await;
    }
}

#[tokio::test]
async fn split_halves_send_audio_while_events_are_read() {
    let server = server(|mut ws| async move {
        let mut appends = 0;
        while let Some(event) = next_json(&mut ws).await {
            match event["type"].as_str().unwrap() {
                "input_audio_buffer.append" => {
                    appends += 1;
                    send(&mut ws, json!({"type": "input_audio_buffer.speech_started", "event_id": "e", "audio_start_ms": appends, "item_id": "it"})).await;
                }
                "input_audio_buffer.commit" => {
                    send(&mut ws, json!({"type": "input_audio_buffer.committed", "event_id": "e", "item_id": "it", "previous_item_id": null})).await;
                    break;
                }
                _ => {}
            }
        }
        assert_eq!(appends, 20);
        let _ = next_json(&mut ws).await;
    })
    .await;
    let session = connect(&server, quiet().incoming_queue(2).outgoing_queue(2)).await;
    let (sender, mut receiver) = session.split();
    let producer = tokio::spawn(async move {
        for _ in 0..20 {
            sender.append_audio_pcm16(&[1, 2, 3, 4]).await.unwrap();
        }
        sender.commit_audio().await.unwrap();
        sender
    });
    let mut seen = 0;
    while let Some(event) = tokio::time::timeout(LIVENESS, receiver.next())
        .await
        .unwrap()
    {
        let event = event.unwrap();
        seen += 1;
        if event.tag() == Some("input_audio_buffer.committed") {
            break;
        }
    }
    assert_eq!(seen, 21);
    let sender = producer.await.unwrap();
    sender.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn a_credential_provider_is_asked_for_the_handshake() {
    let server = server(|mut ws| async move {
        let _ = next_json(&mut ws).await;
    })
    .await;
    let asked = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&asked);
    let client = oai::Client::new(
        oai::Config::builder()
            .base_url(&server.base_url)
            .credential_provider(move || {
                count.fetch_add(1, Ordering::SeqCst);
                async { Ok(oai::SecretString::from("sk-from-provider")) }
            })
            .build()
            .unwrap(),
    )
    .unwrap();
    let session = RealtimeConnect::model("gpt-realtime")
        .limits(quiet())
        .connect(&client)
        .await
        .unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    assert_eq!(
        server.seen().header("authorization"),
        Some("Bearer sk-from-provider")
    );
    drop(session);
    server.finish().await;
}

#[tokio::test]
async fn a_slow_reader_with_a_queue_of_one_gets_every_event_in_order() {
    let server = server(|mut ws| async move {
        for n in 0..50 {
            send(&mut ws, json!({"type": "x-count", "n": n})).await;
        }
        let _ = next_json(&mut ws).await;
    })
    .await;
    let mut session = connect(&server, quiet().incoming_queue(1)).await;
    for n in 0..50 {
        // The application is slower than the server: the connection is
        // simply not read meanwhile.
        tokio::task::yield_now().await;
        let event = next(&mut session).await.unwrap().unwrap();
        assert_eq!(event.as_unknown().unwrap()["n"], n);
    }
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn a_close_the_server_never_answers_times_out() {
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let server = server(|ws| async move {
        // Never read, so our close frame is never answered.
        let _ = release_rx.await;
        drop(ws);
    })
    .await;
    let limits = quiet().close_timeout(Duration::from_millis(100));
    let mut session = connect(&server, limits).await;
    let err = tokio::time::timeout(LIVENESS, session.close())
        .await
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, RealtimeError::CloseTimeout(_)), "{err:?}");
    assert!(next(&mut session).await.is_none());
    let _ = release_tx.send(());
    server.finish().await;
}

#[tokio::test]
async fn the_incoming_queue_is_bounded_in_bytes_while_the_reader_waits() {
    const MESSAGES: usize = 48;
    const BIG: usize = 256 << 10;
    const CAP: usize = 1 << 20;
    let server = server(|mut ws| async move {
        for n in 0..MESSAGES {
            let delta = char::from(b'a' + (n % 26) as u8).to_string().repeat(BIG);
            send(&mut ws, text_delta("resp_1", &delta)).await;
        }
        let _ = next_json(&mut ws).await;
    })
    .await;
    // 256 events would fit in the queue by count; the bytes stop it first.
    let mut session = connect(&server, quiet().max_queued_bytes(CAP)).await;
    assert_eq!(session.receiver().queued_bytes(), 0);
    // Wait until the queue has filled up to its byte cap...
    tokio::time::timeout(LIVENESS, async {
        while session.receiver().queued_bytes() < CAP / 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the queue never filled");
    // ...then watch it while the server keeps sending and nobody reads.
    let mut most = 0;
    for _ in 0..60 {
        most = most.max(session.receiver().queued_bytes());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(most <= CAP, "{most} bytes queued over the cap of {CAP}");
    // Four messages of 256 KiB and their JSON fit in 1 MiB: three are queued.
    assert!(most >= 3 * BIG, "the queue held only {most} bytes");
    let debug = format!("{:?}", session.receiver());
    assert!(debug.contains("queued_bytes"), "{debug}");
    // Every message is still delivered, in order, decoded when taken.
    for n in 0..MESSAGES {
        match next(&mut session).await.unwrap().unwrap() {
            RealtimeServerEvent::ResponseOutputTextDelta(e) => {
                assert_eq!(e.delta.len(), BIG);
                assert!(e.delta.starts_with(char::from(b'a' + (n % 26) as u8)));
            }
            other => panic!("{other:?}"),
        }
        assert!(session.receiver().queued_bytes() <= CAP);
    }
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn a_message_larger_than_the_byte_cap_goes_in_alone() {
    let server = server(|mut ws| async move {
        for n in 0..5 {
            send(
                &mut ws,
                text_delta("resp_1", &format!("{n}{}", "z".repeat(4096))),
            )
            .await;
        }
        let _ = next_json(&mut ws).await;
    })
    .await;
    let limits = quiet().max_queued_bytes(1);
    assert_eq!(limits.get_max_queued_bytes(), 1024, "at least 1 KiB");
    let mut session = connect(&server, limits).await;
    for n in 0..5 {
        let event = next(&mut session).await.unwrap().unwrap();
        let RealtimeServerEvent::ResponseOutputTextDelta(e) = event else {
            panic!("{event:?}")
        };
        assert!(e.delta.starts_with(&n.to_string()));
        assert!(session.receiver().queued_bytes() <= 1024);
    }
    session.close().await.unwrap();
    server.finish().await;
}

#[tokio::test]
async fn pieces_of_the_key_in_server_text_are_scrubbed() {
    // Servers quote keys in part ("Incorrect API key provided: sk-real****0123"):
    // every piece of 8 bytes or more of the key must go, not only the whole key.
    let piece = &KEY[3..20];
    let server = server(move |mut ws| async move {
        send(&mut ws, json!({"type": "error", "event_id": "ev_9", "error": {"type": "invalid_request_error", "code": KEY[..12].to_owned(), "message": format!("Incorrect API key provided: {}****{}", &KEY[..10], &KEY[KEY.len() - 4..]), "param": piece}})).await;
        send(&mut ws, json!({"type": "response.output_text.delta", "event_id": "ev_1", "delta": 7, "item_id": piece})).await;
        ws.close(Some(CloseFrame {
            code: CloseCode::Library(4003),
            reason: format!("key {piece}\u{202e}\nforged").into(),
        }))
        .await
        .unwrap();
        while ws.next().await.is_some() {}
    })
    .await;
    let mut session = connect(&server, quiet()).await;
    let mut shown = String::new();
    for _ in 0..3 {
        let err = next(&mut session).await.unwrap().unwrap_err();
        shown.push_str(&format!("{err} {err:?}\n"));
        if let RealtimeError::AbnormalClose { reason, .. } = &err {
            assert!(!reason.contains(['\n', '\u{202e}']), "{reason:?}");
        }
    }
    assert!(next(&mut session).await.is_none());
    for window in KEY.as_bytes().windows(8) {
        let window = std::str::from_utf8(window).unwrap();
        // The one piece that is also a word of every message here.
        if window != "realtime" {
            assert!(!shown.contains(window), "{window:?} shown in {shown}");
        }
    }
    assert!(shown.contains("[REDACTED]"), "{shown}");
    server.finish().await;
}

#[tokio::test]
async fn durations_of_any_length_never_panic() {
    let server = server(|mut ws| async move {
        send(&mut ws, session_created()).await;
        let _ = next_json(&mut ws).await;
    })
    .await;
    let limits = RealtimeLimits::default()
        .ping_interval(Some(Duration::MAX))
        .pong_timeout(Duration::MAX)
        .close_timeout(Duration::MAX);
    let mut session = RealtimeConnect::model("gpt-realtime")
        .limits(limits)
        .connect_timeout(Duration::MAX)
        .connect(&client(&server.base_url))
        .await
        .unwrap();
    assert!(next(&mut session).await.unwrap().is_ok());
    session.close().await.unwrap();
    server.finish().await;
}
