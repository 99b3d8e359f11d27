//! A local HTTP/1.1 server that answers every request with one fixed reply.
//!
//! It reads the whole request body (so connections stay reusable), then sends
//! the reply: a JSON body, or an event stream written frame by frame. It runs
//! on a thread of its own with a single-threaded runtime, so a bench's client
//! and the server each get one of the machine's cores.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// What the server sends back.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200 application/json` with this body (with a `content-length`).
    Json(Bytes),
    /// `200 text/event-stream`, chunked, one body frame per element.
    Sse(Arc<[Bytes]>),
    /// `200 application/json`: `base64` when the request asked for
    /// `"encoding_format":"base64"`, `float` otherwise (an embeddings
    /// endpoint, answering each client in the format it asked for).
    Embeddings {
        /// The answer with vectors as JSON numbers.
        float: Bytes,
        /// The answer with vectors as base64.
        base64: Bytes,
    },
}

impl Reply {
    /// An event stream of `frames`.
    pub fn sse(frames: Vec<Bytes>) -> Self {
        Reply::Sse(frames.into())
    }
}

/// A running server; dropping it stops it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server on an ephemeral port of 127.0.0.1.
    ///
    /// # Errors
    /// The runtime, the listener or the thread could not be created.
    pub fn start(reply: Reply) -> io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    match TcpListener::from_std(std_listener) {
                        Ok(listener) => {
                            serve(listener, reply, async {
                                let _ = rx.await;
                            })
                            .await
                        }
                        Err(e) => eprintln!("bench server: {e}"),
                    }
                });
            })?;
        Ok(Self {
            addr,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The API base URL to give a client: `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `http://ADDR/v1`.
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}/v1")
}

/// Accepts connections on `listener` and answers each request with `reply`
/// until `shutdown` completes. Each connection is a task of the current runtime.
pub async fn serve(listener: TcpListener, reply: Reply, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let reply = reply.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| answer(req, reply.clone()));
            // HTTP/1.1, or HTTP/2 for a client that speaks it from the
            // first byte (the `ours_h2` side of `calls ab`).
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// How a request asks for base64 embeddings (as every client serializes it).
const BASE64_FORMAT: &[u8] = b"\"encoding_format\":\"base64\"";

async fn answer(
    req: Request<Incoming>,
    reply: Reply,
) -> Result<Response<BoxBody<Bytes, Infallible>>, hyper::Error> {
    // Read the request to its end: the connection is then reused.
    let body = req.into_body().collect().await?.to_bytes();
    let builder = Response::builder()
        .status(200)
        .header("x-request-id", "req_bench");
    let response = match reply {
        Reply::Json(body) => builder
            .header("content-type", "application/json")
            .body(Full::new(body).boxed()),
        Reply::Embeddings { float, base64 } => {
            let asked = body
                .windows(BASE64_FORMAT.len())
                .any(|w| w == BASE64_FORMAT);
            builder
                .header("content-type", "application/json")
                .body(Full::new(if asked { base64 } else { float }).boxed())
        }
        Reply::Sse(frames) => {
            let frames: Vec<Bytes> = frames.to_vec();
            let body = StreamBody::new(futures_util::stream::iter(
                frames
                    .into_iter()
                    .map(|b| Ok::<_, Infallible>(Frame::data(b))),
            ));
            builder
                .header("content-type", "text/event-stream")
                .body(body.boxed())
        }
    };
    // The builder only fails on invalid header names or values, and these are fixed.
    Ok(response.unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed())))
}

/// Child-process mode of a bench binary: serves `reply` on an ephemeral port
/// of 127.0.0.1, prints the address on standard output, and stops when
/// standard input closes (the parent ended or dropped its [`Child`]).
///
/// # Errors
/// The runtime or the listener could not be created, or stdout is closed.
pub fn serve_until_stdin_closes(reply: Reply) -> io::Result<()> {
    use std::io::{Read, Write};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("{}", listener.local_addr()?);
        io::stdout().flush()?;
        let (tx, rx) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            // Any read result (end of input, error) means the parent is done.
            let mut sink = [0_u8; 64];
            while matches!(io::stdin().read(&mut sink), Ok(n) if n > 0) {}
            let _ = tx.send(());
        });
        serve(listener, reply, async {
            let _ = rx.await;
        })
        .await;
        Ok(())
    })
}

/// A server in a child process (this executable started with `args`, which
/// must make it call [`serve_until_stdin_closes`]), so that what the parent
/// measures (memory, instructions) is the client's alone. Dropping it stops
/// the child.
#[derive(Debug)]
pub struct Child {
    process: std::process::Child,
    addr: SocketAddr,
}

impl Child {
    /// Starts the current executable with `args` and reads the address it
    /// prints.
    ///
    /// # Errors
    /// The process could not start, or did not print an address.
    pub fn spawn(args: &[&str]) -> io::Result<Self> {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let exe = std::env::current_exe()?;
        let mut process = Command::new(exe)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut line = String::new();
        if let Some(stdout) = process.stdout.take() {
            io::BufReader::new(stdout).read_line(&mut line)?;
        }
        let addr = line.trim().parse().map_err(|_| {
            let _ = process.kill();
            io::Error::other(format!(
                "the server process printed {line:?}, not an address"
            ))
        })?;
        Ok(Self { process, addr })
    }

    /// The address the child listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Closing its standard input stops it; kill it if it lingers.
        drop(self.process.stdin.take());
        if !matches!(self.process.wait(), Ok(s) if s.success()) {
            let _ = self.process.kill();
        }
    }
}
