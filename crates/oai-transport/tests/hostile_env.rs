//! What a hostile environment or server controls: an environment proxy, a
//! user-supplied client that would follow redirects, a stream that never
//! stops, durations meant as "no limit".
//!
//! The proxy tests set `HTTP_PROXY`/`ALL_PROXY` for a child process (this
//! binary run again on one test), since the environment of a running test
//! process cannot be changed safely.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use http::Method;
use oai_transport::{Config, RequestBuilder, RequestOptions, Transport};
use serde_json::Value;
use support::rawserver::*;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A "proxy" that answers every request 502 and counts connections and the
/// credentials it saw.
async fn counting_proxy() -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let saw_key = Arc::new(AtomicUsize::new(0));
    let (c, k) = (connections.clone(), saw_key.clone());
    tokio::spawn(async move {
        for _ in 0..16 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            c.fetch_add(1, Ordering::SeqCst);
            let k = k.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                if String::from_utf8_lossy(&buf[..n]).contains(KEY) {
                    k.fetch_add(1, Ordering::SeqCst);
                }
                let _ = sock
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    (format!("http://{addr}"), connections, saw_key)
}

/// Runs `test` in a child process with the given environment (`--exact`: only
/// that test runs there).
fn in_child(test: &str, env: &[(&str, &str)]) {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env("OAI_HOSTILE_ENV_CHILD", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "child {test} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "the child ran its test"
    );
}

fn is_child() -> bool {
    std::env::var_os("OAI_HOSTILE_ENV_CHILD").is_some()
}

#[test]
fn environment_proxy_never_sees_loopback_plain_http() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (proxy, connections, saw_key) = rt.block_on(counting_proxy());
    in_child(
        "child_loopback_requests_bypass_the_environment_proxy",
        &[
            ("HTTP_PROXY", &proxy),
            ("http_proxy", &proxy),
            ("ALL_PROXY", &proxy),
            ("all_proxy", &proxy),
            ("HTTPS_PROXY", &proxy),
            ("NO_PROXY", ""),
        ],
    );
    // One connection: the child's control request, made without the key.
    assert_eq!(
        connections.load(Ordering::SeqCst),
        1,
        "only the bare control request reached the proxy"
    );
    assert_eq!(
        saw_key.load(Ordering::SeqCst),
        0,
        "the key never reached it"
    );
}

#[test]
fn child_loopback_requests_bypass_the_environment_proxy() {
    if !is_child() {
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let server = MockServer::start().await;
        Mock::given(path("/v1/x"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
            .mount(&server)
            .await;
        let port = server.address().port();
        for base in [
            format!("http://127.0.0.1:{port}/v1"),
            format!("http://localhost:{port}/v1"),
        ] {
            let t = transport_with(builder(&base));
            let _: Value = RequestBuilder::new(t, Method::GET, "/x")
                .send()
                .await
                .unwrap_or_else(|e| panic!("{base}: {e}"));
            // A user-supplied client builder is held to the same rule.
            let t = transport_with(builder(&base).http_client(reqwest::Client::builder()));
            let _: Value = RequestBuilder::new(t, Method::GET, "/x")
                .send()
                .await
                .unwrap_or_else(|e| panic!("{base} (own client): {e}"));
        }
        // The control: a bare reqwest client does send loopback plain http
        // to the environment's proxy, so this test can see a proxy at work.
        let bare = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/v1/x"))
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), 502, "the environment proxy answered");
    });
}

#[test]
fn explicit_proxy_setting_is_used() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (proxy, connections, _) = counting_proxy().await;
        let t = transport_with(builder("http://127.0.0.1:9/v1").proxy(proxy).max_retries(0));
        let e = RequestBuilder::new(t, Method::GET, "/x")
            .send::<Value>()
            .await
            .unwrap_err();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(502), "{e}");
        assert_eq!(connections.load(Ordering::SeqCst), 1);
    });
}

#[test]
fn dot_localhost_names_are_not_loopback() {
    for base in [
        "http://evil.localhost:8080/v1",
        "http://localhost.evil.test/v1",
    ] {
        let e = Config::builder()
            .api_key(KEY)
            .base_url(base)
            .build()
            .unwrap_err();
        assert!(e.is_config(), "{base}: {e}");
    }
}

/// A user-supplied client built to follow redirects still does not: the
/// credential (here Azure's `api-key` header) never reaches another origin.
#[tokio::test]
async fn user_client_cannot_follow_redirects_with_credentials() {
    let elsewhere = MockServer::start().await;
    Mock::given(path("/steal"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(path("/openai/x"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let config = Config::azure()
        .endpoint(server.uri())
        .api_version("2024-10-21")
        .api_key(KEY)
        .with(|b| {
            b.http_client(
                reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(10)),
            )
        })
        .build()
        .unwrap();
    let e = RequestBuilder::new(Transport::new(config).unwrap(), Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_redirect(), "{e}");
    assert_eq!(hits(&elsewhere).await, 0, "the redirect was not followed");
}

/// `max_response_bytes` holds for a stream: all its bytes together.
#[tokio::test]
async fn stream_total_bytes_are_capped() {
    let mut script = vec![sse_head()];
    for _ in 0..200 {
        script.push(chunk(&format!(
            "data: {{\"a\":\"{}\"}}\n\n",
            "x".repeat(40)
        )));
    }
    script.push(chunk("data: [DONE]\n\n"));
    script.push(last_chunk());
    let server = RawServer::start(vec![script]).await;
    let t = transport_with(builder(&format!("{}/v1", server.base)).max_response_bytes(1024));
    let mut s = RequestBuilder::new(t, Method::GET, "/s")
        .stream::<Value>()
        .await
        .unwrap();
    let mut n = 0;
    let mut last = None;
    while let Some(item) = s.next().await {
        match item {
            Ok(_) => n += 1,
            Err(e) => last = Some(e),
        }
    }
    let e = last.expect("the stream ended with an error");
    assert!(e.is_limit(), "{e}");
    assert!(n < 30, "{n} events read past a 1 KiB cap");
}

/// Comments trickled forever keep the idle timer happy; the overall
/// deadline ends the stream.
#[tokio::test]
async fn trickled_comments_end_at_the_stream_deadline() {
    let mut script = vec![sse_head()];
    for _ in 0..2000 {
        script.push(chunk(": keep-alive\n"));
        script.push(Step::Sleep(Duration::from_millis(10)));
    }
    let server = RawServer::start(vec![script]).await;
    let t = transport_with(
        builder(&format!("{}/v1", server.base)).stream_idle_timeout(Duration::from_millis(500)),
    );
    let started = std::time::Instant::now();
    let mut s = RequestBuilder::new(t, Method::GET, "/s")
        .options(RequestOptions::new().stream_deadline(Duration::from_millis(300)))
        .stream::<Value>()
        .await
        .unwrap();
    let e = s.next().await.expect("an item").unwrap_err();
    assert!(e.is_limit(), "{e}");
    assert!(
        e.to_string().contains("limit of 300"),
        "the deadline's length: {e}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// `Duration::MAX` means "no limit" and never panics.
#[tokio::test]
async fn duration_max_is_no_limit_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string("data: {}\n\ndata: [DONE]\n\n"),
        )
        .mount(&server)
        .await;
    let t = transport_with(
        builder(&format!("{}/v1", server.uri()))
            .timeout(Duration::MAX)
            .connect_timeout(Duration::MAX)
            .stream_idle_timeout(Duration::MAX)
            .stream_deadline(Duration::MAX),
    );
    let opts = RequestOptions::new()
        .timeout(Duration::MAX)
        .stream_idle_timeout(Duration::MAX)
        .stream_deadline(Duration::MAX);
    let mut s = RequestBuilder::new(t.clone(), Method::GET, "/x")
        .options(opts.clone())
        .stream::<Value>()
        .await
        .unwrap();
    while let Some(item) = s.next().await {
        item.unwrap();
    }
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .options(opts)
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_decode(), "{e}");
}
