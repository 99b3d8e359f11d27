//! The seam around each attempt (`ConfigBuilder::layer`): a layer sees every
//! attempt, never the credential unless it asks, and what it answers goes
//! through the client's caps, error mapping and retries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode};
use oai_transport::layer::{
    Attempt, AttemptFuture, AttemptRequest, AttemptResponse, Body, BoxError, Credential, Next,
};
use oai_transport::{ErrorKind, RequestBuilder};
use serde_json::{Value, json};
use support::*;
use tower::{Layer, Service};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What a layer saw of one attempt.
#[derive(Debug, Clone)]
struct Seen {
    attempt: u32,
    headers: Vec<(String, String)>,
    credential_debug: Option<String>,
    revealed: Option<String>,
}

type Answer = Arc<dyn Fn(&AttemptRequest) -> Option<AttemptResponse> + Send + Sync>;

/// A layer that records every attempt, may reveal the credential, and may
/// answer by itself (`answer` returning `Some`).
#[derive(Clone)]
struct Probe {
    seen: Arc<Mutex<Vec<Seen>>>,
    reveal: bool,
    answer: Option<Answer>,
}

impl Probe {
    fn new() -> Self {
        Self {
            seen: Arc::default(),
            reveal: false,
            answer: None,
        }
    }
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

#[derive(Clone)]
struct ProbeService {
    probe: Probe,
    next: Next,
}

impl Layer<Next> for Probe {
    type Service = ProbeService;
    fn layer(&self, next: Next) -> ProbeService {
        ProbeService {
            probe: self.clone(),
            next,
        }
    }
}

impl Service<AttemptRequest> for ProbeService {
    type Response = AttemptResponse;
    type Error = BoxError;
    type Future = AttemptFuture;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.next.poll_ready(cx)
    }
    fn call(&mut self, req: AttemptRequest) -> AttemptFuture {
        let credential = req.extensions().get::<Credential>();
        self.probe.seen.lock().unwrap().push(Seen {
            attempt: req.extensions().get::<Attempt>().map_or(0, |a| a.number()),
            headers: req
                .headers()
                .iter()
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into()))
                .collect(),
            credential_debug: credential.map(|c| format!("{c:?}")),
            revealed: credential
                .filter(|_| self.probe.reveal)
                .map(|c| c.reveal().1.to_str().unwrap().to_owned()),
        });
        if let Some(answer) = self.probe.answer.as_ref().and_then(|a| a(&req)) {
            return Box::pin(async move { Ok(answer) });
        }
        self.next.call(req)
    }
}

fn json_answer(status: u16, body: Value) -> AttemptResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn with_layer<L>(server_base: &str, layer: L) -> oai_transport::Transport
where
    L: Layer<Next> + Send + Sync + 'static,
    L::Service: Service<AttemptRequest, Response = AttemptResponse, Error = BoxError>
        + Clone
        + Send
        + Sync
        + 'static,
    <L::Service as Service<AttemptRequest>>::Future: Send + 'static,
{
    transport_with(builder(server_base).layer(layer))
}

#[tokio::test]
async fn a_layer_sees_every_attempt_and_not_the_credential() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "x"}})))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    // The key reached the server, in its header, on the attempt that worked.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    let probe = Probe::new();
    let t = with_layer(&format!("{}/v1", server.uri()), probe.clone());
    let v: Value = RequestBuilder::new(t, Method::POST, "/chat/completions")
        .json(&json!({"model": "m"}))
        .send()
        .await
        .unwrap();
    assert_eq!(v, json!({"ok": true}));
    let seen = probe.seen();
    assert_eq!(
        seen.iter().map(|s| s.attempt).collect::<Vec<_>>(),
        [1, 2, 3],
        "every attempt, retries included, went through the layer"
    );
    for s in &seen {
        assert!(
            !s.headers
                .iter()
                .any(|(k, v)| v.contains(KEY) || k == "authorization"),
            "a layer saw the credential in the headers: {:?}",
            s.headers
        );
        let debug = s
            .credential_debug
            .as_deref()
            .expect("the credential travels in the extensions");
        assert!(!debug.contains(KEY), "{debug}");
        assert!(s.revealed.is_none());
    }
}

#[tokio::test]
async fn a_layer_that_asks_for_the_credential_gets_it() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let mut probe = Probe::new();
    probe.reveal = true;
    let t = with_layer(&format!("{}/v1", server.uri()), probe.clone());
    let _: Value = RequestBuilder::new(t, Method::GET, "/models")
        .send()
        .await
        .unwrap();
    assert_eq!(
        probe.seen()[0].revealed.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
}

#[tokio::test]
async fn a_layer_that_drops_the_credential_sends_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let strip = tower::layer::layer_fn(|next: Next| {
        tower::util::MapRequest::new(next, |mut req: AttemptRequest| {
            req.extensions_mut().remove::<Credential>();
            req
        })
    });
    let t = with_layer(&format!("{}/v1", server.uri()), strip);
    let _: Value = RequestBuilder::new(t, Method::GET, "/models")
        .send()
        .await
        .unwrap();
    let got = server.received_requests().await.unwrap();
    assert!(got[0].headers.get("authorization").is_none());
}

/// A cache keyed on method, URI and body: the second identical call is
/// answered from memory.
#[derive(Clone, Default)]
struct Cache {
    entries: Arc<Mutex<HashMap<CacheKey, (StatusCode, Bytes)>>>,
}

/// Method, URI, body.
type CacheKey = (String, String, Vec<u8>);

#[derive(Clone)]
struct CacheService {
    cache: Cache,
    next: Next,
}

impl Layer<Next> for Cache {
    type Service = CacheService;
    fn layer(&self, next: Next) -> CacheService {
        CacheService {
            cache: self.clone(),
            next,
        }
    }
}

impl Service<AttemptRequest> for CacheService {
    type Response = AttemptResponse;
    type Error = BoxError;
    type Future = AttemptFuture;
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.next.poll_ready(cx)
    }
    fn call(&mut self, req: AttemptRequest) -> AttemptFuture {
        let key = (
            req.method().to_string(),
            req.uri().to_string(),
            req.body().as_bytes().unwrap_or_default().to_vec(),
        );
        if let Some((status, body)) = self.cache.entries.lock().unwrap().get(&key).cloned() {
            return Box::pin(async move {
                Ok(http::Response::builder()
                    .status(status)
                    .body(Body::from(body))?)
            });
        }
        let entries = self.cache.entries.clone();
        let fut = self.next.call(req);
        Box::pin(async move {
            let response = fut.await?;
            let (parts, body) = response.into_parts();
            let body = body.collect(1 << 20).await?;
            if parts.status.is_success() {
                entries
                    .lock()
                    .unwrap()
                    .insert(key, (parts.status, body.clone()));
            }
            Ok(http::Response::from_parts(parts, Body::from(body)))
        })
    }
}

#[tokio::test]
async fn a_cache_layer_answers_the_second_identical_call_without_the_server() {
    let server = MockServer::start().await;
    for input in ["same", "other"] {
        Mock::given(method("POST"))
            .and(body_json(json!({"input": input})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"n": 1})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let t = with_layer(&format!("{}/v1", server.uri()), Cache::default());
    for _ in 0..2 {
        let v: Value = RequestBuilder::new(t.clone(), Method::POST, "/embeddings")
            .json(&json!({"input": "same"}))
            .send()
            .await
            .unwrap();
        assert_eq!(v, json!({"n": 1}));
    }
    // A different body is a different entry.
    let e = RequestBuilder::new(t, Method::POST, "/embeddings")
        .json(&json!({"input": "other"}))
        .send::<Value>()
        .await;
    assert!(e.is_ok());
    server.verify().await;
}

fn answering(
    answer: impl Fn(&AttemptRequest) -> Option<AttemptResponse> + Send + Sync + 'static,
) -> Probe {
    let mut p = Probe::new();
    p.answer = Some(Arc::new(answer));
    p
}

// Nothing listens here: an answer that reaches the wire fails to connect.
const NOWHERE: &str = "http://127.0.0.1:9/v1";

#[tokio::test]
async fn what_a_layer_answers_goes_through_the_body_cap() {
    let huge = answering(|_| {
        Some(
            http::Response::builder()
                .status(200)
                .body(Body::from(vec![b' '; 3 << 20]))
                .unwrap(),
        )
    });
    let t = transport_with(builder(NOWHERE).max_response_bytes(1 << 20).layer(huge));
    let e = RequestBuilder::new(t, Method::GET, "/models")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{e}");

    // The same cap holds for a body the layer streams without a length.
    let streamed = answering(|_| {
        let chunks = (0..64).map(|_| Ok::<_, BoxError>(Bytes::from(vec![b' '; 64 << 10])));
        Some(
            http::Response::builder()
                .status(200)
                .body(Body::from_stream(futures_util::stream::iter(chunks)))
                .unwrap(),
        )
    });
    let t = transport_with(builder(NOWHERE).max_response_bytes(1 << 20).layer(streamed));
    let e = RequestBuilder::new(t, Method::GET, "/models")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BodyTooLarge, "{e}");
}

#[tokio::test]
async fn what_a_layer_answers_is_mapped_scrubbed_and_retried_like_the_network() {
    // An error status that echoes the key: an API error without the key.
    let echo = answering(|_| {
        Some(json_answer(
            401,
            json!({"error": {"message": format!("bad key {KEY}"), "type": "invalid_request_error"}}),
        ))
    });
    let t = transport_with(builder(NOWHERE).layer(echo.clone()));
    let e = RequestBuilder::new(t, Method::GET, "/models")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Api);
    assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(!format!("{e} {e:?}").contains(KEY), "{e}");
    assert_eq!(echo.seen().len(), 1, "a 401 is not retried");

    // A redirect is refused, as from the network.
    let redirect = answering(|_| {
        Some(
            http::Response::builder()
                .status(302)
                .header("location", "https://elsewhere.example/")
                .body(Body::empty())
                .unwrap(),
        )
    });
    let t = transport_with(builder(NOWHERE).layer(redirect));
    let e = RequestBuilder::new(t, Method::GET, "/models")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Redirect, "{e}");

    // A 503 is retried: the layer sees each attempt.
    let busy = answering(|_| Some(json_answer(503, json!({"error": {"message": "busy"}}))));
    let t = transport_with(builder(NOWHERE).max_retries(2).layer(busy.clone()));
    let e = RequestBuilder::new(t, Method::GET, "/models")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(
        busy.seen().iter().map(|s| s.attempt).collect::<Vec<_>>(),
        [1, 2, 3]
    );
}

/// A layer that fails with its own error, quoting the credential it revealed.
#[derive(Clone)]
struct Failing;

impl Layer<Next> for Failing {
    type Service = FailingService;
    fn layer(&self, _next: Next) -> FailingService {
        FailingService(Arc::default())
    }
}

#[derive(Clone)]
struct FailingService(Arc<Mutex<u32>>);

impl Service<AttemptRequest> for FailingService {
    type Response = AttemptResponse;
    type Error = BoxError;
    type Future = AttemptFuture;
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, req: AttemptRequest) -> AttemptFuture {
        *self.0.lock().unwrap() += 1;
        let revealed = req
            .extensions()
            .get::<Credential>()
            .map(|c| c.reveal().1.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        Box::pin(async move { Err(format!("signing failed for {revealed}").into()) })
    }
}

#[tokio::test]
async fn a_layer_error_is_a_layer_error_scrubbed_and_not_retried() {
    let t = transport_with(builder(NOWHERE).max_retries(2).layer(Failing));
    let e = RequestBuilder::new(t, Method::GET, "/models")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Layer, "{e}");
    assert!(!e.is_transient());
    let text = format!("{e}");
    assert!(text.contains("signing failed"), "{text}");
    assert!(!text.contains(KEY), "{text}");
}

#[tokio::test]
async fn the_request_timeout_covers_the_layers() {
    let stall = tower::layer::layer_fn(|_next: Next| {
        tower::service_fn(|_req: AttemptRequest| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<AttemptResponse, BoxError>(http::Response::new(Body::empty()))
        })
    });
    let t = transport_with(
        builder(NOWHERE)
            .max_retries(0)
            .timeout(ms(200))
            .layer(stall),
    );
    let e = RequestBuilder::new(t, Method::GET, "/models")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[tokio::test]
async fn a_stream_a_layer_answers_is_decoded_as_events() {
    let sse = answering(|req| {
        assert_eq!(
            req.headers().get("accept"),
            Some(&HeaderValue::from_static("text/event-stream"))
        );
        let events = [
            "data: {\"n\":1}\n\n",
            "data: {\"n\":2}\n\n",
            "data: [DONE]\n\n",
        ]
        .map(|e| Ok::<_, BoxError>(Bytes::from_static(e.as_bytes())));
        Some(
            http::Response::builder()
                .status(200)
                .header("content-type", "text/event-stream")
                .body(Body::from_stream(futures_util::stream::iter(events)))
                .unwrap(),
        )
    });
    let t = transport_with(builder(NOWHERE).layer(sse));
    let mut stream = RequestBuilder::new(t, Method::POST, "/chat/completions")
        .header("accept", "text/event-stream")
        .json(&json!({"stream": true}))
        .stream::<Value>()
        .await
        .unwrap();
    use futures_util::StreamExt;
    let mut got = Vec::new();
    while let Some(item) = stream.next().await {
        got.push(item.unwrap());
    }
    assert_eq!(got, [json!({"n": 1}), json!({"n": 2})]);
}

#[tokio::test]
async fn layers_apply_outermost_first() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let tag = |name: &'static str, order: Arc<Mutex<Vec<&'static str>>>| {
        tower::layer::layer_fn(move |next: Next| {
            let order = order.clone();
            tower::util::MapRequest::new(next, move |req: AttemptRequest| {
                order.lock().unwrap().push(name);
                req
            })
        })
    };
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let t = transport_with(
        builder(&format!("{}/v1", server.uri()))
            .layer(tag("outer", order.clone()))
            .layer(tag("inner", order.clone())),
    );
    let _: Value = RequestBuilder::new(t, Method::GET, "/models")
        .send()
        .await
        .unwrap();
    assert_eq!(*order.lock().unwrap(), ["outer", "inner"]);
}

#[tokio::test]
async fn a_function_layer_changes_the_request_and_the_answer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("x-team", "search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"v": 1})))
        .expect(1)
        .mount(&server)
        .await;
    let layer = oai_transport::layer::from_fn(|mut req: AttemptRequest, next: Next| async move {
        req.headers_mut()
            .insert("x-team", HeaderValue::from_static("search"));
        let mut answer = next.run(req).await?;
        answer
            .headers_mut()
            .insert("x-seen-by", HeaderValue::from_static("layer"));
        Ok(answer)
    });
    let t = transport_with(builder(&format!("{}/v1", server.uri())).layer(layer));
    let r = RequestBuilder::new(t, Method::GET, "/models")
        .send_with_meta::<Value>()
        .await
        .unwrap();
    assert_eq!(r.data, json!({"v": 1}));
    assert_eq!(
        r.meta.headers().get("x-seen-by"),
        Some(&HeaderValue::from_static("layer"))
    );
    server.verify().await;
}
