//! The realtime WebSocket at `/v1/realtime` (feature `realtime`): the HTTP
//! upgrade, then a deterministic text session.
//!
//! The session sends `session.created`, then answers each client event:
//! `session.update` with `session.updated`, `conversation.item.create` with
//! `conversation.item.added`, `input_audio_buffer.commit` with
//! `input_audio_buffer.committed`, and `response.create` with a text
//! response in the real event order (`response.created`, the output item
//! and content part, word-by-word `response.output_text.delta`s, their
//! `done` events, `response.done`). The text is `You said: <the last user
//! text>`, or `Hello from oai-mock.` before any. Anything else is answered
//! with an `error` event, and the session goes on.

use futures_util::{SinkExt, StreamExt};
use http::request::Parts;
use http::{HeaderValue, Response, StatusCode, header};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::server::{self, Body};

/// The cap of one message from the client (16 MiB, as the API's).
const MAX_MESSAGE: usize = 16 << 20;

/// Whether `parts` asks to open the realtime WebSocket.
pub(crate) fn is_upgrade(parts: &Parts) -> bool {
    let says = |name: header::HeaderName, word: &str| {
        parts.headers.get_all(name).iter().any(|v| {
            v.to_str().is_ok_and(|v| {
                v.split(',')
                    .any(|part| part.trim().eq_ignore_ascii_case(word))
            })
        })
    };
    parts.method == http::Method::GET
        && parts.uri.path() == "/v1/realtime"
        && says(header::UPGRADE, "websocket")
        && says(header::CONNECTION, "upgrade")
}

/// The `101 Switching Protocols` answer, with the session started on the
/// upgraded connection; or `400` when the handshake is malformed.
pub(crate) fn accept(parts: &mut Parts) -> Option<Response<Body>> {
    let key = parts.headers.get(header::SEC_WEBSOCKET_KEY)?;
    if parts
        .headers
        .get(header::SEC_WEBSOCKET_VERSION)
        .is_none_or(|v| v.as_bytes() != b"13")
    {
        return None;
    }
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes())).ok()?;
    let upgrade = parts.extensions.remove::<OnUpgrade>()?;
    let model = parts
        .uri
        .query()
        .and_then(|q| {
            q.split('&')
                .find_map(|pair| pair.strip_prefix("model="))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "gpt-realtime".to_owned());
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else {
            return;
        };
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE))
            .max_frame_size(Some(MAX_MESSAGE));
        let ws =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config))
                .await;
        play(ws, model).await;
    });
    let mut response = Response::new(server::body(Vec::new(), None));
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    Some(response)
}

/// The session's state: counters for ids, the last user text.
struct Session {
    events: u64,
    items: u64,
    responses: u64,
    model: String,
    last_user_text: Option<String>,
}

impl Session {
    fn event_id(&mut self) -> String {
        self.events += 1;
        format!("event_mock_{}", self.events)
    }

    fn item_id(&mut self) -> String {
        self.items += 1;
        format!("item_mock_{}", self.items)
    }

    fn session(&self) -> Value {
        json!({
            "type": "realtime",
            "object": "realtime.session",
            "id": "sess_mock_1",
            "model": self.model,
            "output_modalities": ["text"],
        })
    }

    /// The events that answer one client event.
    fn answer(&mut self, text: &str) -> Vec<Value> {
        let event: Value = match serde_json::from_str(text) {
            Ok(event @ Value::Object(_)) => event,
            _ => return vec![self.error("invalid_json", "the event is not a JSON object", None)],
        };
        let client_event_id = event
            .get("event_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        match event.get("type").and_then(Value::as_str) {
            Some("session.update") => {
                let mut session = self.session();
                if let (Some(Value::Object(update)), Value::Object(out)) =
                    (event.get("session"), &mut session)
                {
                    for field in ["instructions", "output_modalities", "tools", "tool_choice"] {
                        if let Some(value) = update.get(field) {
                            out.insert(field.to_owned(), value.clone());
                        }
                    }
                }
                vec![
                    json!({"type": "session.updated", "event_id": self.event_id(), "session": session}),
                ]
            }
            Some("conversation.item.create") => {
                let Some(Value::Object(item)) = event.get("item") else {
                    return vec![self.error("missing_item", "`item` is required", client_event_id)];
                };
                let mut item = item.clone();
                if item.get("role").and_then(Value::as_str) == Some("user") {
                    let text = item
                        .get("content")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|part| part.get("text").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join(" ");
                    self.last_user_text = Some(text);
                }
                item.insert("id".into(), Value::from(self.item_id()));
                item.insert("object".into(), Value::from("realtime.item"));
                item.insert("status".into(), Value::from("completed"));
                vec![
                    json!({"type": "conversation.item.added", "event_id": self.event_id(), "previous_item_id": null, "item": item}),
                ]
            }
            Some("input_audio_buffer.append" | "input_audio_buffer.clear" | "response.cancel") => {
                Vec::new()
            }
            Some("input_audio_buffer.commit") => {
                let item_id = self.item_id();
                vec![
                    json!({"type": "input_audio_buffer.committed", "event_id": self.event_id(), "previous_item_id": null, "item_id": item_id}),
                ]
            }
            Some("response.create") => self.response(),
            Some(other) => {
                let message = format!("oai-mock does not know the client event {other:?}");
                vec![self.error("unknown_event", &message, client_event_id)]
            }
            None => vec![self.error("missing_type", "`type` is required", client_event_id)],
        }
    }

    fn error(&mut self, code: &str, message: &str, client_event_id: Option<String>) -> Value {
        json!({
            "type": "error",
            "event_id": self.event_id(),
            "error": {
                "type": "invalid_request_error",
                "code": code,
                "message": message,
                "param": null,
                "event_id": client_event_id,
            },
        })
    }

    /// A text response, word by word, in the API's order.
    fn response(&mut self) -> Vec<Value> {
        self.responses += 1;
        let response_id = format!("resp_mock_{}", self.responses);
        let item_id = self.item_id();
        let text = match &self.last_user_text {
            Some(said) => format!("You said: {said}"),
            None => "Hello from oai-mock.".to_owned(),
        };
        let response = |status: &str, output: Value| {
            json!({
                "object": "realtime.response",
                "id": response_id,
                "status": status,
                "output": output,
                "output_modalities": ["text"],
            })
        };
        let item = |status: &str, content: Value| json!({"type": "message", "object": "realtime.item", "id": item_id, "status": status, "role": "assistant", "content": content});
        let done_item = item("completed", json!([{"type": "output_text", "text": text}]));
        let mut events = vec![
            json!({"type": "response.created", "event_id": self.event_id(), "response": response("in_progress", json!([]))}),
            json!({"type": "response.output_item.added", "event_id": self.event_id(), "response_id": response_id, "output_index": 0, "item": item("in_progress", json!([]))}),
            json!({"type": "response.content_part.added", "event_id": self.event_id(), "response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0, "part": {"type": "text", "text": ""}}),
        ];
        let words: Vec<&str> = text.split_inclusive(' ').collect();
        for word in words {
            events.push(json!({"type": "response.output_text.delta", "event_id": self.event_id(), "response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0, "delta": word}));
        }
        events.extend([
            json!({"type": "response.output_text.done", "event_id": self.event_id(), "response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0, "text": text}),
            json!({"type": "response.content_part.done", "event_id": self.event_id(), "response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0, "part": {"type": "text", "text": text}}),
            json!({"type": "response.output_item.done", "event_id": self.event_id(), "response_id": response_id, "output_index": 0, "item": done_item}),
            json!({"type": "response.done", "event_id": self.event_id(), "response": response("completed", json!([done_item]))}),
        ]);
        events
    }
}

/// Plays the session until the client closes or goes.
async fn play<S>(mut ws: WebSocketStream<S>, model: String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut session = Session {
        events: 0,
        items: 0,
        responses: 0,
        model,
        last_user_text: None,
    };
    let created = json!({"type": "session.created", "event_id": session.event_id(), "session": session.session()});
    if ws.send(Message::text(created.to_string())).await.is_err() {
        return;
    }
    while let Some(Ok(message)) = ws.next().await {
        let answers = match message {
            Message::Text(text) => session.answer(text.as_str()),
            Message::Binary(_) => vec![session.error(
                "binary_frame",
                "the realtime API takes JSON text frames",
                None,
            )],
            // Pings are answered and closes completed by the protocol layer.
            _ => continue,
        };
        for answer in answers {
            if ws.send(Message::text(answer.to_string())).await.is_err() {
                return;
            }
        }
    }
}
