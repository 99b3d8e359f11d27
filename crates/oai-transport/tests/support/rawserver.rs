//! A tiny HTTP/1.1 server independent of wiremock and hyper, for what wiremock
//! cannot do: bodies that stall, stop mid-chunk, or close the connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub enum Step {
    Write(Vec<u8>),
    Sleep(Duration),
    /// Close the connection right after reading the request.
    Close,
}

pub fn write(s: impl AsRef<[u8]>) -> Step {
    Step::Write(s.as_ref().to_vec())
}

/// Headers of a chunked `text/event-stream` response.
pub fn sse_head() -> Step {
    write(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nx-request-id: req_raw\r\ntransfer-encoding: chunked\r\n\r\n",
    )
}

/// One chunk of a chunked body.
pub fn chunk(data: &str) -> Step {
    write(format!("{:x}\r\n{data}\r\n", data.len()))
}

pub fn last_chunk() -> Step {
    write("0\r\n\r\n")
}

pub struct RawServer {
    pub base: String,
    pub connections: Arc<AtomicUsize>,
}

impl RawServer {
    /// Serves connection `i` with `scripts[min(i, len-1)]`; stops after 64 connections.
    pub async fn start(scripts: Vec<Vec<Step>>) -> RawServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let connections = Arc::new(AtomicUsize::new(0));
        let count = connections.clone();
        tokio::spawn(async move {
            for _ in 0..64 {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let i = count.fetch_add(1, Ordering::SeqCst);
                let script = scripts[i.min(scripts.len() - 1)].clone();
                tokio::spawn(async move {
                    if read_request(&mut sock).await.is_none() {
                        return;
                    }
                    for step in script {
                        match step {
                            Step::Write(b) => {
                                if sock.write_all(&b).await.is_err() {
                                    return;
                                }
                                let _ = sock.flush().await;
                            }
                            Step::Sleep(d) => tokio::time::sleep(d).await,
                            Step::Close => return,
                        }
                    }
                    // Hold the connection open a little so the client reads it all.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                });
            }
        });
        RawServer {
            base: format!("http://{addr}/v1"),
            connections,
        }
    }

    pub fn hits(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<()> {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| {
            l.strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut tmp).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    Some(())
}
