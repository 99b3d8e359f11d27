//! Requests, headers, retries, timeouts, errors and body caps, against wiremock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use http::Method;
use oai_transport::secrecy::SecretString;
use oai_transport::{
    AuthStyle, ErrorKind, MultipartForm, Part, RequestBuilder, RequestOptions, TimeoutPhase,
};
use serde_json::{Value, json};
use support::*;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn ok_json() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({"ok": true}))
}

#[tokio::test]
async fn sends_auth_org_project_default_headers_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("openai-organization", "org-1"))
        .and(header("openai-project", "proj-1"))
        .and(header("x-team", "blue"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"model": "m"})))
        .respond_with(ok_json().insert_header("x-request-id", "req_123"))
        .expect(1)
        .mount(&server)
        .await;
    let t = transport_with(
        builder(&format!("{}/v1", server.uri()))
            .organization("org-1")
            .project("proj-1")
            .default_header("x-team", "blue"),
    );
    let r = RequestBuilder::new(t, Method::POST, "/chat/completions")
        .json(&json!({"model": "m"}))
        .send_with_meta::<Value>()
        .await
        .unwrap();
    assert_eq!(r.data, json!({"ok": true}));
    assert_eq!(r.meta.request_id(), Some("req_123"));
    assert_eq!(r.meta.attempts(), 1);
    let reqs = server.received_requests().await.unwrap();
    let ua = reqs[0].headers.get("user-agent").unwrap().to_str().unwrap();
    assert!(ua.starts_with("oai-rust/"), "{ua}");
}

#[tokio::test]
async fn api_key_header_style_and_no_auth() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/a"))
        .and(header("api-key", KEY))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let t = transport_with(
        builder(&format!("{}/v1", server.uri()))
            .auth_style(AuthStyle::Header(http::HeaderName::from_static("api-key"))),
    );
    RequestBuilder::new(t, Method::GET, "/a")
        .send::<Value>()
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("authorization").is_none());

    let server = MockServer::start().await;
    Mock::given(path("/v1/a"))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let t = transport_with(
        oai_transport::Config::builder()
            .no_auth()
            .base_url(format!("{}/v1", server.uri())),
    );
    RequestBuilder::new(t, Method::GET, "/a")
        .send::<Value>()
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("authorization").is_none());
}

#[tokio::test]
async fn provider_is_asked_before_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .respond_with(ResponseTemplate::new(500).insert_header("retry-after-ms", "5"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/x"))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let provider = move || {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        async move { Ok(SecretString::from(format!("tok-{n}"))) }
    };
    let t = transport_with(
        oai_transport::Config::builder()
            .credential_provider(provider)
            .base_url(format!("{}/v1", server.uri())),
    );
    RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let reqs = server.received_requests().await.unwrap();
    let auth: Vec<_> = reqs
        .iter()
        .map(|r| {
            r.headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(auth, ["Bearer tok-1", "Bearer tok-2"]);
}

#[tokio::test]
async fn provider_failure_and_bad_credential_are_credential_errors() {
    let server = MockServer::start().await;
    let failing = || async { Err(oai_transport::Error::credentials("vault unreachable")) };
    let t = transport_with(
        oai_transport::Config::builder()
            .credential_provider(failing)
            .base_url(format!("{}/v1", server.uri())),
    );
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_credentials(), "{e}");
    let bad = || async { Ok(SecretString::from("tok with space")) };
    let t = transport_with(
        oai_transport::Config::builder()
            .credential_provider(bad)
            .base_url(format!("{}/v1", server.uri())),
    );
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_credentials(), "{e}");
    assert!(!e.to_string().contains("tok with space"));
    assert_eq!(
        hits(&server).await,
        0,
        "nothing is sent without a usable credential"
    );
}

struct RetryCase {
    name: &'static str,
    first: ResponseTemplate,
    max_retries: Option<u32>,
    want_hits: usize,
    want_ok: bool,
}

fn err(status: u16) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("retry-after-ms", "1")
        .set_body_json(
            json!({"error": {"message": "nope", "type": "t", "code": null, "param": null}}),
        )
}

#[tokio::test]
async fn retry_table() {
    let quota = ResponseTemplate::new(429).insert_header("retry-after-ms", "1").set_body_json(
        json!({"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}}),
    );
    let cases = vec![
        RetryCase {
            name: "408",
            first: err(408),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "409",
            first: err(409),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "429",
            first: err(429),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "500",
            first: err(500),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "502",
            first: err(502),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "503",
            first: err(503),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "400",
            first: err(400),
            max_retries: None,
            want_hits: 1,
            want_ok: false,
        },
        RetryCase {
            name: "401",
            first: err(401),
            max_retries: None,
            want_hits: 1,
            want_ok: false,
        },
        RetryCase {
            name: "404",
            first: err(404),
            max_retries: None,
            want_hits: 1,
            want_ok: false,
        },
        RetryCase {
            name: "422",
            first: err(422),
            max_retries: None,
            want_hits: 1,
            want_ok: false,
        },
        RetryCase {
            name: "quota",
            first: quota,
            max_retries: None,
            want_hits: 1,
            want_ok: false,
        },
        RetryCase {
            name: "should-retry true on 400",
            first: err(400).insert_header("x-should-retry", "true"),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "should-retry false on 503",
            first: err(503).insert_header("x-should-retry", "false"),
            max_retries: None,
            want_hits: 1,
            want_ok: false,
        },
        RetryCase {
            name: "per-call 0 retries",
            first: err(500),
            max_retries: Some(0),
            want_hits: 1,
            want_ok: false,
        },
        RetryCase {
            name: "504",
            first: err(504),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "529",
            first: err(529),
            max_retries: None,
            want_hits: 2,
            want_ok: true,
        },
        RetryCase {
            name: "529 with 0 retries",
            first: err(529),
            max_retries: Some(0),
            want_hits: 1,
            want_ok: false,
        },
        RetryCase {
            name: "429 with 0 retries",
            first: err(429),
            max_retries: Some(0),
            want_hits: 1,
            want_ok: false,
        },
    ];
    // The final errors the client would have retried with retries left:
    // `is_transient` says so, and no other does.
    let transient = [
        "per-call 0 retries",
        "529 with 0 retries",
        "429 with 0 retries",
    ];
    for case in cases {
        let server = MockServer::start().await;
        Mock::given(path("/v1/r"))
            .respond_with(case.first)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path("/v1/r"))
            .respond_with(ok_json())
            .mount(&server)
            .await;
        let mut rb = RequestBuilder::new(transport(&server), Method::POST, "/r").json(&json!({}));
        if let Some(n) = case.max_retries {
            rb = rb.options(RequestOptions::new().max_retries(n));
        }
        let r = rb.send::<Value>().await;
        assert_eq!(r.is_ok(), case.want_ok, "{}: {r:?}", case.name);
        assert_eq!(hits(&server).await, case.want_hits, "{}", case.name);
        if let Err(e) = r {
            assert!(e.is_api(), "{}: {e}", case.name);
            assert!(e.status().is_some());
            assert_eq!(
                e.is_transient(),
                transient.contains(&case.name),
                "{}: {e}",
                case.name
            );
            assert!(!e.to_string().contains("unknown status"), "{e}");
            if case.name.starts_with("529") {
                assert!(e.to_string().contains("529 (overloaded)"), "{e}");
            }
        }
    }
}

#[tokio::test]
async fn retries_stop_after_max_and_report_last_error() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/r"))
        .respond_with(err(503).insert_header("x-request-id", "req_last"))
        .mount(&server)
        .await;
    let e = RequestBuilder::new(transport(&server), Method::GET, "/r")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(hits(&server).await, 3, "first attempt + 2 retries");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(e.request_id(), Some("req_last"));
}

#[tokio::test]
async fn retry_after_is_honoured_up_to_the_cap() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/r"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after-ms", "400"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/r"))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let start = Instant::now();
    RequestBuilder::new(transport(&server), Method::GET, "/r")
        .send::<Value>()
        .await
        .unwrap();
    assert!(start.elapsed() >= ms(400), "waited {:?}", start.elapsed());

    // 90 s is under the default cap of 120 s: the client waits it, and has
    // not retried after 2 s (it used to retry after half a second).
    let server = MockServer::start().await;
    Mock::given(path("/v1/r"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "90"))
        .mount(&server)
        .await;
    let call = RequestBuilder::new(transport(&server), Method::GET, "/r").send::<Value>();
    assert!(
        tokio::time::timeout(Duration::from_secs(2), call)
            .await
            .is_err(),
        "still waiting"
    );
    assert_eq!(hits(&server).await, 1);

    // A value that is no usable wait gets the first backoff step
    // (0.375..=0.5 s).
    for value in ["0", "-5", "soon"] {
        let server = MockServer::start().await;
        Mock::given(path("/v1/r"))
            .respond_with(ResponseTemplate::new(503).insert_header("retry-after", value))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path("/v1/r"))
            .respond_with(ok_json())
            .mount(&server)
            .await;
        let start = Instant::now();
        RequestBuilder::new(transport(&server), Method::GET, "/r")
            .send::<Value>()
            .await
            .unwrap();
        let waited = start.elapsed();
        assert!(
            waited >= ms(375) && waited < Duration::from_secs(10),
            "{value}: waited {waited:?}"
        );
    }
}

/// Above the cap (the default, or one set on the builder), the error comes
/// back at once, carrying the wait; `x-should-retry: true` does not change
/// that, as in the Python SDK.
#[tokio::test]
async fn a_wait_above_the_cap_is_not_retried_and_is_reported() {
    let cases: Vec<(ResponseTemplate, Option<Duration>, Duration)> = vec![
        (
            ResponseTemplate::new(429)
                .insert_header("retry-after", "121")
                .set_body_json(
                    json!({"error": {"message": "slow down", "code": "rate_limit_exceeded"}}),
                ),
            None,
            Duration::from_secs(121),
        ),
        (
            ResponseTemplate::new(503)
                .insert_header("retry-after-ms", "1500")
                .insert_header("x-should-retry", "true"),
            Some(ms(1000)),
            ms(1500),
        ),
    ];
    for (answer, cap, want) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/v1/r"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let mut b = builder(&format!("{}/v1", server.uri()));
        if let Some(cap) = cap {
            b = b.max_retry_after(cap);
        }
        let start = Instant::now();
        let e = RequestBuilder::new(transport_with(b), Method::GET, "/r")
            .send::<Value>()
            .await
            .unwrap_err();
        assert!(start.elapsed() < ms(900), "{:?}", start.elapsed());
        assert_eq!(hits(&server).await, 1);
        assert!(e.is_api());
        assert_eq!(e.retry_after(), Some(want));
        assert!(e.is_transient(), "the failure itself is transient: {e}");
        assert!(e.to_string().contains(&format!("wait {want:?}")), "{e}");
    }
    // A wait within the cap is carried too, once the retries are spent.
    let server = MockServer::start().await;
    Mock::given(path("/v1/r"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after-ms", "20"))
        .mount(&server)
        .await;
    let e = RequestBuilder::new(transport(&server), Method::GET, "/r")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(hits(&server).await, 3);
    assert_eq!(e.retry_after(), Some(ms(20)));
    // `insufficient_quota` is final whatever the wait.
    let server = MockServer::start().await;
    Mock::given(path("/v1/r"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}})),
        )
        .mount(&server)
        .await;
    let e = RequestBuilder::new(transport(&server), Method::GET, "/r")
        .send::<Value>()
        .await
        .unwrap_err();
    assert_eq!(hits(&server).await, 1);
    assert!(!e.is_transient());
}

#[tokio::test]
async fn connection_refused_is_a_retried_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let t = transport_with(builder(&format!("http://{addr}/v1")).max_retries(1));
    let start = Instant::now();
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_connect(), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Connect);
    assert!(
        start.elapsed() >= ms(375),
        "one backoff step before the retry"
    );
}

#[tokio::test]
async fn request_timeout_config_and_per_call_override() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/slow"))
        .respond_with(ok_json().set_delay(ms(1500)))
        .mount(&server)
        .await;
    let t = transport_with(
        builder(&format!("{}/v1", server.uri()))
            .timeout(ms(200))
            .max_retries(1),
    );
    let e = RequestBuilder::new(t.clone(), Method::GET, "/slow")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e}");
    assert_eq!(e.timeout_phase(), Some(TimeoutPhase::Request));
    assert_eq!(hits(&server).await, 2, "timeouts are retried");
    // per call: a longer timeout lets it through
    let v: Value = RequestBuilder::new(t, Method::GET, "/slow")
        .options(RequestOptions::new().timeout(Duration::from_secs(5)))
        .send()
        .await
        .unwrap();
    assert_eq!(v, json!({"ok": true}));
}

#[tokio::test]
async fn per_call_headers_query_and_body_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/e"))
        .and(query_param("foo", "bar"))
        .and(header("x-extra", "1"))
        .and(body_json(json!({"model": "m", "new_param": [1, 2]})))
        .respond_with(ok_json())
        .expect(1)
        .mount(&server)
        .await;
    RequestBuilder::new(transport(&server), Method::POST, "/e")
        .json(&json!({"model": "m"}))
        .options(
            RequestOptions::new()
                .header("x-extra", "1")
                .query("foo", "bar")
                .body_field("new_param", json!([1, 2])),
        )
        .send::<Value>()
        .await
        .unwrap();
}

#[tokio::test]
async fn invalid_input_is_refused_before_io() {
    let server = MockServer::start().await;
    let t = transport(&server);
    for p in [
        "no-slash",
        "//evil.example/x",
        "/a b",
        "/a?b=c",
        "/a#f",
        "/a\nb",
    ] {
        let e = RequestBuilder::new(t.clone(), Method::GET, p)
            .send::<Value>()
            .await
            .unwrap_err();
        assert!(e.is_invalid_input(), "{p}: {e}");
    }
    let e = RequestBuilder::new(t.clone(), Method::GET, "/x")
        .header("bad header", "v")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_invalid_input());
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .options(RequestOptions::new().header("x", "a\nb"))
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_invalid_input());
    assert_eq!(hits(&server).await, 0);
}

#[tokio::test]
async fn api_error_fields_and_request_id() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .respond_with(
            ResponseTemplate::new(400).insert_header("x-request-id", "req_abc").set_body_json(json!({
                "error": {"message": "Invalid 'messages[2].content'", "type": "invalid_request_error",
                          "param": "messages[2].content", "code": "invalid_value"}
            })),
        )
        .mount(&server)
        .await;
    let e = RequestBuilder::new(transport(&server), Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_api());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
    assert_eq!(e.request_id(), Some("req_abc"));
    let d = e.api_error().unwrap();
    assert_eq!(d.error_type(), Some("invalid_request_error"));
    assert_eq!(d.code(), Some("invalid_value"));
    assert_eq!(d.param(), Some("messages[2].content"));
    assert_eq!(d.message(), "Invalid 'messages[2].content'");
    let line = e.to_string();
    assert!(!line.contains('\n'));
    assert!(
        line.contains("400") && line.contains("req_abc") && line.contains("invalid_value"),
        "{line}"
    );
}

#[tokio::test]
async fn html_error_page_gives_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("content-type", "text/html")
                .set_body_string("<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>"),
        )
        .mount(&server)
        .await;
    let t = transport_with(builder(&format!("{}/v1", server.uri())).max_retries(0));
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_api());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(502));
    assert!(
        e.body_excerpt()
            .is_some_and(|x| x.contains("502 Bad Gateway"))
    );
    assert!(e.to_string().contains("not a JSON error"), "{e}");
    assert!(!e.to_string().contains('\n'));
}

#[tokio::test]
async fn undecodable_success_body_is_a_decode_error_with_excerpt() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"id\": 12"))
        .mount(&server)
        .await;
    let e = RequestBuilder::new(transport(&server), Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_decode());
    assert_eq!(e.body_excerpt(), Some("{\"id\": 12"));
    // The reason is in `Display` (and not repeated as a source).
    assert!(
        e.to_string()
            .contains(": EOF while parsing an object (line 1, column 9); body starts with"),
        "{e}"
    );
    assert!(std::error::Error::source(&e).is_none());
}

/// A typed answer that does not decode names the JSON path and why, and
/// quotes no value from the body.
#[tokio::test]
async fn a_typed_decode_error_names_the_path_and_why() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Choice {
        index: u32,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Answer {
        id: String,
        choices: Vec<Choice>,
    }
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"id": "a", "choices": [{"index": 0}, {"index": format!("{KEY}\u{1b}[2J")}]}),
        ))
        .mount(&server)
        .await;
    let e = RequestBuilder::new(transport(&server), Method::GET, "/x")
        .send::<Answer>()
        .await
        .unwrap_err();
    assert!(e.is_decode());
    let f = e.decode_failure_details().unwrap();
    assert_eq!(f.path(), Some("$.choices[1].index"));
    assert_eq!(f.reason(), "invalid type: string, expected u32");
    let shown = e.to_string();
    assert!(
        shown.starts_with(
            "could not decode the response (status 200 OK) at $.choices[1].index: invalid type: string, expected u32; body starts with: "
        ),
        "{shown}"
    );
    assert!(!shown.contains(KEY) && !shown.contains('\u{1b}'), "{shown}");
}

#[tokio::test]
async fn body_over_the_cap_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/big"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(10_000)))
        .mount(&server)
        .await;
    let t = transport_with(builder(&format!("{}/v1", server.uri())).max_response_bytes(1000));
    let e = RequestBuilder::new(t, Method::GET, "/big")
        .send_raw()
        .await
        .unwrap_err();
    assert!(e.is_body_too_large(), "{e}");
    assert!(e.to_string().contains("1000"));
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(path("/steal"))
        .respond_with(ok_json())
        .mount(&elsewhere)
        .await;
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri()).as_str()),
        )
        .mount(&server)
        .await;
    let e = RequestBuilder::new(transport(&server), Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_redirect(), "{e}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(307));
    assert_eq!(hits(&elsewhere).await, 0);
    assert_eq!(hits(&server).await, 1);
}

#[tokio::test]
async fn rate_limit_headers_and_processing_time() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .respond_with(
            ok_json()
                .insert_header("x-ratelimit-limit-requests", "10000")
                .insert_header("x-ratelimit-remaining-requests", "9999")
                .insert_header("x-ratelimit-remaining-tokens", "59000")
                .insert_header("x-ratelimit-reset-requests", "6ms")
                .insert_header("x-ratelimit-reset-tokens", "1m2s")
                .insert_header("openai-processing-ms", "123"),
        )
        .mount(&server)
        .await;
    let r = RequestBuilder::new(transport(&server), Method::GET, "/x")
        .send_with_meta::<Value>()
        .await
        .unwrap();
    let rl = r.meta.rate_limit();
    assert_eq!(rl.limit_requests, Some(10_000));
    assert_eq!(rl.remaining_requests, Some(9_999));
    assert_eq!(rl.remaining_tokens, Some(59_000));
    assert_eq!(rl.reset_requests, Some(ms(6)));
    assert_eq!(rl.reset_tokens, Some(Duration::from_secs(62)));
    assert_eq!(r.meta.processing_time(), Some(ms(123)));
    assert_eq!(r.meta.status().as_u16(), 200);
}

#[tokio::test]
async fn multipart_file_is_streamed_and_replayed_on_retry() {
    let dir = std::env::temp_dir().join(format!("oai-mp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("train.jsonl");
    std::fs::write(&file, "{\"line\":1}\n{\"line\":2}\n").unwrap();
    let server = MockServer::start().await;
    Mock::given(path("/v1/files"))
        .respond_with(err(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v1/files"))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let form = MultipartForm::new()
        .text("purpose", "fine-tune")
        .part(Part::file("file", &file).mime("application/jsonl"))
        .part(Part::bytes("extra", b"abc".to_vec(), "extra.bin"));
    RequestBuilder::new(transport(&server), Method::POST, "/files")
        .multipart(form)
        .send::<Value>()
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        let body = String::from_utf8_lossy(&r.body);
        let ct = r.headers.get("content-type").unwrap().to_str().unwrap();
        assert!(ct.starts_with("multipart/form-data; boundary="), "{ct}");
        assert!(body.contains("{\"line\":1}\n{\"line\":2}\n"), "{body}");
        assert!(body.contains("filename=\"train.jsonl\""));
        assert!(body.contains("fine-tune"));
        assert!(body.contains("application/jsonl"));
    }
    // boundaries are random per attempt, so compare sizes
    assert_eq!(reqs[0].body.len(), reqs[1].body.len());
    // a missing file is an input error before anything is sent
    let missing = MultipartForm::new().part(Part::file("file", dir.join("nope.jsonl")));
    let e = RequestBuilder::new(transport(&server), Method::POST, "/files")
        .multipart(missing)
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_invalid_input(), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn bytes_body_and_get_delete() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/v1/files/f1"))
        .respond_with(ok_json())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/raw"))
        .and(header("content-type", "application/octet-stream"))
        .respond_with(ok_json())
        .expect(1)
        .mount(&server)
        .await;
    let t = transport(&server);
    RequestBuilder::new(t.clone(), Method::DELETE, "/files/f1")
        .send::<Value>()
        .await
        .unwrap();
    RequestBuilder::new(t, Method::POST, "/raw")
        .bytes("application/octet-stream", vec![1u8, 2, 3])
        .send::<Value>()
        .await
        .unwrap();
}

#[tokio::test]
async fn user_supplied_http_client_is_used() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/x"))
        .and(header("x-from-custom-client", "yes"))
        .respond_with(ok_json())
        .expect(1)
        .mount(&server)
        .await;
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "x-from-custom-client",
        http::HeaderValue::from_static("yes"),
    );
    let custom = reqwest::Client::builder().default_headers(headers);
    let t = transport_with(builder(&format!("{}/v1", server.uri())).http_client(custom));
    RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap();
}

#[tokio::test]
async fn connect_timeout_applies() {
    // A loopback listener with a tiny backlog that never accepts: once its
    // queue is full, the kernel drops further SYNs and connecting hangs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        match tokio::time::timeout(ms(200), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => held.push(s),
            _ => break,
        }
    }
    let t = transport_with(
        builder(&format!("http://{addr}/v1"))
            .connect_timeout(ms(300))
            .max_retries(0),
    );
    let started = Instant::now();
    let e = RequestBuilder::new(t, Method::GET, "/x")
        .send::<Value>()
        .await
        .unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    assert_eq!(e.timeout_phase(), Some(TimeoutPhase::Connect));
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(held);
    drop(listener);
}

/// Error bodies of Python servers and gateways keep their message on the
/// wire: FastAPI's `detail` (llama-cpp-python's 401 and a validation 422),
/// a problem document, and an error status whose body is an event stream.
#[tokio::test]
async fn error_bodies_in_other_shapes_keep_their_message() {
    let cases: Vec<(ResponseTemplate, &str, Option<&str>)> = vec![
        (
            ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid API key"})),
            "Invalid API key",
            None,
        ),
        (
            ResponseTemplate::new(422).set_body_json(json!({"detail": [
                {"type": "missing", "loc": ["body", "messages"], "msg": "Field required", "input": {"model": "m"}}
            ]})),
            "body.messages: Field required",
            Some("missing"),
        ),
        (
            ResponseTemplate::new(404).set_body_raw(
                r#"{"type":"urn:kaizen:problem-details:not-found","title":"Not Found","status":404,"detail":"Function not found"}"#,
                "application/problem+json",
            ),
            "Not Found: Function not found",
            Some("urn:kaizen:problem-details:not-found"),
        ),
        (
            ResponseTemplate::new(400).set_body_raw(
                "data: {\"error\": {\"message\": \"context length exceeded\", \"type\": \"invalid_request_error\", \"code\": \"context_length_exceeded\"}}\n\n",
                "text/event-stream",
            ),
            "context length exceeded",
            Some("invalid_request_error"),
        ),
    ];
    for (answer, message, error_type) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/v1/r"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let e = RequestBuilder::new(transport(&server), Method::POST, "/r")
            .json(&json!({}))
            .send::<Value>()
            .await
            .unwrap_err();
        let d = e.api_error().unwrap();
        assert_eq!(d.message(), message, "{e}");
        assert_eq!(d.error_type(), error_type, "{e}");
        assert!(d.raw_excerpt().is_none(), "{e}");
        assert!(e.to_string().contains(message), "{e}");
        assert!(!e.to_string().contains("not a JSON error"), "{e}");
    }
}

/// The headers of each part of a multipart body, by part name.
fn part_headers(content_type: &str, body: &[u8]) -> Vec<(String, Vec<String>)> {
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"');
    let body = String::from_utf8_lossy(body);
    let mut parts = Vec::new();
    for chunk in body.split(&format!("--{boundary}")) {
        let Some((head, _)) = chunk.split_once("\r\n\r\n") else {
            continue;
        };
        let lines: Vec<String> = head
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let name = lines
            .iter()
            .find_map(|l| l.split("name=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned();
        parts.push((name, lines));
    }
    parts
}

/// Every file part carries a `Content-Type` (guessed from its name, or the
/// one set); text fields carry none.
#[tokio::test]
async fn every_multipart_file_part_has_a_content_type() {
    let dir = std::env::temp_dir().join(format!("oai-mp-ct-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let image = dir.join("mask.PNG");
    std::fs::write(&image, b"\x89PNG").unwrap();
    let server = MockServer::start().await;
    Mock::given(path("/v1/up"))
        .respond_with(ok_json())
        .mount(&server)
        .await;
    let form = MultipartForm::new()
        .text("model", "whisper-1")
        .part(Part::bytes("file", b"ID3".to_vec(), "speech.mp3"))
        .part(Part::file("image", &image))
        .part(Part::bytes("blob", b"abc".to_vec(), "extra.bin"))
        .part(Part::bytes("own", b"{}".to_vec(), "a.jsonl").mime("application/jsonl"));
    RequestBuilder::new(transport(&server), Method::POST, "/up")
        .multipart(form)
        .send::<Value>()
        .await
        .unwrap();
    let reqs = server.received_requests().await.unwrap();
    let ct = reqs[0]
        .headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap();
    let parts = part_headers(ct, &reqs[0].body);
    let content_type = |name: &str| {
        let (_, lines) = parts.iter().find(|(n, _)| n == name).unwrap();
        lines.iter().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_owned)
        })
    };
    assert_eq!(parts.len(), 5, "{parts:?}");
    assert_eq!(content_type("model"), None);
    assert_eq!(content_type("file").as_deref(), Some("audio/mpeg"));
    assert_eq!(content_type("image").as_deref(), Some("image/png"));
    assert_eq!(
        content_type("blob").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(content_type("own").as_deref(), Some("application/jsonl"));
    std::fs::remove_dir_all(&dir).ok();
}
