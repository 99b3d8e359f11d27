//! The realtime WebSocket: the handshake's checks, and a session whose every
//! event decodes with the strict generated types the client uses.
#![cfg(feature = "realtime")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use oai_mock::MockServer;
use oai_types::RealtimeServerEvent;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(server: &MockServer, key: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let url = format!(
        "{}/realtime?model=gpt-realtime",
        server.base_url().replacen("http://", "ws://", 1)
    );
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {key}").parse().unwrap());
    tokio_tungstenite::connect_async(request)
        .await
        .map(|(ws, _)| ws)
}

/// The next event, decoded strictly: a known type that does not match its
/// schema fails here, and so does a type the generated union does not know.
async fn next(ws: &mut Ws) -> Value {
    let message = tokio::time::timeout(Duration::from_secs(20), ws.next())
        .await
        .expect("an event in time")
        .expect("the session is open")
        .unwrap();
    let Message::Text(text) = message else {
        panic!("{message:?}")
    };
    let event: RealtimeServerEvent =
        serde_json::from_str(text.as_str()).unwrap_or_else(|e| panic!("{e}: {}", text.as_str()));
    assert!(event.as_unknown().is_none(), "{}", text.as_str());
    serde_json::from_str(text.as_str()).unwrap()
}

async fn send(ws: &mut Ws, value: Value) {
    ws.send(Message::text(value.to_string())).await.unwrap();
}

#[tokio::test]
async fn a_text_session_in_the_apis_order() {
    let server = MockServer::start().await;
    let mut ws = open(&server, server.api_key()).await.unwrap();
    let created = next(&mut ws).await;
    assert_eq!(created["type"], "session.created");
    assert_eq!(created["session"]["model"], "gpt-realtime");

    send(&mut ws, json!({"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief."}})).await;
    let updated = next(&mut ws).await;
    assert_eq!(updated["type"], "session.updated");
    assert_eq!(updated["session"]["instructions"], "Be brief.");

    send(&mut ws, json!({"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi there"}]}})).await;
    assert_eq!(next(&mut ws).await["type"], "conversation.item.added");

    send(&mut ws, json!({"type": "response.create"})).await;
    let mut kinds = Vec::new();
    let mut text = String::new();
    loop {
        let event = next(&mut ws).await;
        let kind = event["type"].as_str().unwrap().to_owned();
        if kind == "response.output_text.delta" {
            text.push_str(event["delta"].as_str().unwrap());
        }
        kinds.push(kind.clone());
        if kind == "response.done" {
            assert_eq!(event["response"]["status"], "completed");
            break;
        }
    }
    assert_eq!(text, "You said: hi there");
    kinds.dedup();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.done",
        ]
    );

    send(
        &mut ws,
        json!({"type": "input_audio_buffer.append", "audio": "AAAA"}),
    )
    .await;
    send(&mut ws, json!({"type": "input_audio_buffer.commit"})).await;
    assert_eq!(next(&mut ws).await["type"], "input_audio_buffer.committed");

    // Anything else is an error event, and the session goes on.
    send(&mut ws, json!({"type": "no.such.event", "event_id": "c_1"})).await;
    let error = next(&mut ws).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["event_id"], "c_1");
    ws.send(Message::text("not json")).await.unwrap();
    assert_eq!(next(&mut ws).await["error"]["code"], "invalid_json");

    ws.close(None).await.unwrap();
    let upgrade = &server.requests()[0];
    assert_eq!(upgrade.path, "/v1/realtime");
    assert_eq!(upgrade.query.as_deref(), Some("model=gpt-realtime"));
}

#[tokio::test]
async fn a_wrong_key_is_refused_at_the_handshake() {
    let server = MockServer::start().await;
    match open(&server, "sk-wrong").await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401);
        }
        other => panic!("{:?}", other.map(|_| ())),
    }
}
