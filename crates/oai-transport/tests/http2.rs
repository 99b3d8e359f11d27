//! HTTP/2 (feature `http2`): with prior knowledge the client speaks HTTP/2
//! from the first byte, streams included; without it, HTTP/1.1 as before.
#![cfg(feature = "http2")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, Version};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use oai_transport::RequestBuilder;
use serde_json::{Value, json};
use support::*;

/// A server speaking HTTP/1.1 and HTTP/2 (prior knowledge) on one port,
/// noting each request's version; answers JSON, or two events for a stream.
async fn server() -> (String, Arc<Mutex<Vec<Version>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    log.lock().unwrap().push(req.version());
                    let stream = req
                        .headers()
                        .get("accept")
                        .is_some_and(|a| a == "text/event-stream");
                    async move {
                        let (kind, body) = if stream {
                            (
                                "text/event-stream",
                                "data: {\"n\":1}\n\ndata: {\"n\":2}\n\ndata: [DONE]\n\n",
                            )
                        } else {
                            ("application/json", "{\"ok\":true}")
                        };
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .header("content-type", kind)
                                .body(Full::new(Bytes::from_static(body.as_bytes())))
                                .unwrap(),
                        )
                    }
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}/v1"), seen)
}

#[tokio::test]
async fn prior_knowledge_speaks_http2_for_calls_and_streams() {
    let (base, seen) = server().await;
    let t = transport_with(builder(&base).http2_prior_knowledge());
    let v: Value = RequestBuilder::new(t.clone(), Method::GET, "/models")
        .send()
        .await
        .unwrap();
    assert_eq!(v, json!({"ok": true}));
    let mut events = RequestBuilder::new(t, Method::POST, "/chat/completions")
        .header("accept", "text/event-stream")
        .json(&json!({"stream": true}))
        .stream::<Value>()
        .await
        .unwrap();
    let mut got = Vec::new();
    while let Some(e) = events.next().await {
        got.push(e.unwrap());
    }
    assert_eq!(got, [json!({"n": 1}), json!({"n": 2})]);
    assert_eq!(*seen.lock().unwrap(), [Version::HTTP_2, Version::HTTP_2]);
}

#[tokio::test]
async fn without_it_the_client_speaks_http1() {
    let (base, seen) = server().await;
    let t = transport_with(builder(&base));
    let _: Value = RequestBuilder::new(t, Method::GET, "/models")
        .send()
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), [Version::HTTP_11]);
}
