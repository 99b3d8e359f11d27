//! A hand-rolled HTTP/1.1 server for the CLI's tests: each reply is the
//! exact bytes a test wrote (status line, headers, body), so a test can
//! compare what the CLI prints with what the server sent, byte for byte, and
//! send what `oai-mock` never would (a key echoed back, escape sequences, a
//! body laid out its own way).

// Each test binary uses its own part of this module.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The credential of the `authorization` header.
    pub key: String,
}

type Reply = Arc<dyn Fn(&Seen) -> Vec<u8> + Send + Sync>;

/// A hand-rolled HTTP/1.1 server: every connection gets one request and the
/// reply `reply` writes for it (the whole response, status line included),
/// then the connection is closed.
pub struct RawServer {
    pub base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RawServer {
    pub fn start(reply: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reply: Reply = Arc::new(reply);
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let reply = Arc::clone(&reply);
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(conn, &*reply, &log));
            }
        });
        Self { base_url, seen }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    conn: TcpStream,
    reply: &(dyn Fn(&Seen) -> Vec<u8> + Send + Sync),
    log: &Mutex<Vec<Seen>>,
) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let (mut length, mut key, mut chunked) = (0usize, String::new(), false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
        let (name, value) = header.split_once(':').unwrap_or((&header, ""));
        let value = value.trim();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse().unwrap_or(0),
            "authorization" => key = value.trim_start_matches("Bearer ").to_owned(),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    if chunked {
        // Read (and drop) the chunks up to the last one.
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                break;
            }
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            if size == 0 || reader.read_exact(&mut chunk).is_err() {
                let mut rest = String::new();
                let _ = reader.read_line(&mut rest);
                break;
            }
        }
    } else {
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
    }
    let seen = Seen { method, path, key };
    log.lock().unwrap().push(seen.clone());
    let mut conn = conn;
    let _ = conn.write_all(&reply(&seen));
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

/// A whole response: status, the headers given, and a body (JSON unless the
/// headers say otherwise). `x-should-retry: false` keeps the client from
/// retrying, so each run makes one request.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nconnection: close\r\nx-should-retry: false\r\n");
    if !headers.iter().any(|(n, _)| *n == "content-type") {
        out.push_str("content-type: application/json\r\n");
    }
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// An event stream of `events` (each the text after `data: `, or a whole
/// block when it starts with `event:`), ended by the connection closing.
pub fn sse(headers: &[(&str, &str)], events: &[String]) -> Vec<u8> {
    let mut out =
        String::from("HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-type: text/event-stream\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    for event in events {
        if event.starts_with("event:") {
            out.push_str(event);
        } else {
            out.push_str(&format!("data: {event}\n\n"));
        }
    }
    out.into_bytes()
}
