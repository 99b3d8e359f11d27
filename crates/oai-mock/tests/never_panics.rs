//! Whatever arrives, the server answers (or closes) and keeps serving: random
//! bytes, random paths and methods, random bodies, over raw TCP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use oai_mock::MockServer;
use proptest::prelude::*;
use serde_json::Value;

/// Longer than any answer takes: reaching it means the server hung.
const HANG: Duration = Duration::from_secs(10);

struct Shared {
    _runtime: tokio::runtime::Runtime,
    server: MockServer,
}

fn server() -> &'static MockServer {
    static SERVER: OnceLock<Shared> = OnceLock::new();
    &SERVER
        .get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let server = runtime.block_on(MockServer::start());
            Shared {
                _runtime: runtime,
                server,
            }
        })
        .server
}

/// Sends `bytes`, closes the sending side, reads everything that comes back.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(HANG)).unwrap();
    stream.set_write_timeout(Some(HANG)).unwrap();
    // The server may answer and close before reading everything: a failed
    // write is not a failure of the test, a hang is.
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    match stream.read_to_end(&mut out) {
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(err) => panic!("no answer within {HANG:?}: {err}"),
    }
    out
}

fn status_of(answer: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(answer.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.parse().ok()
}

/// The server still answers a plain request.
fn assert_alive(addr: SocketAddr) {
    let answer = exchange(
        addr,
        b"GET /v1/models HTTP/1.1\r\nhost: x\r\nauthorization: Bearer sk-mock\r\nconnection: close\r\n\r\n",
    );
    assert_eq!(
        status_of(&answer),
        Some(200),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z ]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("model".to_owned()),
                        Just("messages".to_owned()),
                        Just("input".to_owned()),
                        Just("stream".to_owned()),
                        Just("role".to_owned()),
                        Just("content".to_owned()),
                        Just("dimensions".to_owned()),
                        Just("encoding_format".to_owned()),
                        Just("input_file_id".to_owned()),
                        Just("endpoint".to_owned()),
                        "[a-z_]{1,8}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| {
            let mut object = serde_json::json!({"model": "gpt-4o-mini", "stream": true,
                "messages": [{"role": "user", "content": "hi"}], "input": "hi"});
            object["extra"] = v;
            object.to_string().into_bytes()
        }),
        (json_value(), "[a-z]{1,8}").prop_map(|(v, name)| {
            format!(
                "--b\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\n\r\n{v}\r\n--b--\r\n"
            )
            .into_bytes()
        }),
    ]
}

fn path() -> impl Strategy<Value = String> {
    let id = "[a-zA-Z0-9%._~:+-]{0,16}";
    prop_oneof![
        Just("/v1/chat/completions".to_owned()),
        Just("/v1/responses".to_owned()),
        Just("/v1/embeddings".to_owned()),
        Just("/v1/files".to_owned()),
        Just("/v1/batches".to_owned()),
        Just("/v1/models".to_owned()),
        id.prop_map(|x| format!("/v1/files/{x}")),
        id.prop_map(|x| format!("/v1/files/{x}/content")),
        id.prop_map(|x| format!("/v1/batches/{x}")),
        id.prop_map(|x| format!("/v1/batches/{x}/cancel")),
        id.prop_map(|x| format!("/v1/models/{x}")),
        "/[ -~]{0,40}",
        "[ -~]{0,20}",
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json")),
        Just(Some("multipart/form-data; boundary=b")),
        Just(Some("multipart/form-data")),
        Just(Some("text/plain")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn any_request_gets_an_http_answer(
        method in prop::sample::select(vec!["GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"]),
        path in path(),
        query in prop::option::of("[a-z=&%0-9]{0,20}"),
        authorized in prop::bool::weighted(0.8),
        content_type in content_type(),
        body in body(),
    ) {
        let server = server();
        let target = match query {
            Some(q) => format!("{path}?{q}"),
            None => path,
        };
        let mut request = format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n");
        if authorized {
            request.push_str("authorization: Bearer sk-mock\r\n");
        }
        if let Some(content_type) = content_type {
            request.push_str(&format!("content-type: {content_type}\r\n"));
        }
        request.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(&body);
        let answer = exchange(server.addr(), &bytes);
        let status = status_of(&answer);
        prop_assert!(
            status.is_some_and(|s| (200..600).contains(&s)),
            "answer: {}", String::from_utf8_lossy(&answer)
        );
        if !authorized && target.starts_with('/') && !target.contains(' ') {
            prop_assert!(status != Some(200), "unauthorised request answered 200");
        }
    }

    #[test]
    fn random_bytes_never_hang_or_stop_the_server(
        bytes in prop::collection::vec(any::<u8>(), 0..512),
        prefix in prop::sample::select(vec!["", "GET ", "POST /v1/responses HTTP/1.1\r\n", "GET /v1/models HTTP/1.1\r\ncontent-length: 3\r\n"]),
    ) {
        let server = server();
        let mut sent = prefix.as_bytes().to_vec();
        sent.extend_from_slice(&bytes);
        let answer = exchange(server.addr(), &sent);
        if !answer.is_empty() {
            prop_assert!(answer.starts_with(b"HTTP/1.1 "), "{}", String::from_utf8_lossy(&answer));
        }
        assert_alive(server.addr());
    }
}

#[test]
fn the_server_survives_the_properties() {
    // Runs in the same binary as the properties, often after them.
    assert_alive(server().addr());
}
