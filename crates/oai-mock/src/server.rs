//! The server: its own thread and tokio runtime, a hyper HTTP/1 connection
//! per client, stopped when the last handle goes.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::channel::Channel;
use http_body_util::{Either, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use crate::routes;
use crate::state::Shared;

/// The body of every answer: whole, or fed by a task (stalls, streams).
pub(crate) type Body = Either<Full<Bytes>, Channel<Bytes>>;

/// How long a client may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The server as its handles see it. Dropping it stops the server.
pub(crate) struct Handle {
    pub(crate) addr: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    /// Dropped with the handle: the accept loop sees the channel close.
    _stop: watch::Sender<()>,
}

impl Handle {
    /// Binds `127.0.0.1:0` and serves on a thread of its own, so the server
    /// answers whatever the caller's runtime is doing (even blocking).
    pub(crate) async fn start() -> io::Result<Handle> {
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = watch::channel(());
        let (ready_tx, ready_rx) = oneshot::channel::<io::Result<SocketAddr>>();
        let task_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("oai-mock".into())
            .spawn(move || run(task_shared, stopped, ready_tx))?;
        let addr = ready_rx.await.map_err(|_| {
            io::Error::other("oai-mock: the server thread ended before it was ready")
        })??;
        Ok(Handle {
            addr,
            shared,
            _stop: stop,
        })
    }
}

/// The server thread: a runtime, a listener, the accept loop.
fn run(
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<()>,
    ready: oneshot::Sender<io::Result<SocketAddr>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            let _ = ready.send(Err(err));
            return;
        }
    };
    runtime.block_on(async move {
        let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await {
            Ok(listener) => listener,
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(err) => {
                let _ = ready.send(Err(err));
                return;
            }
        };
        if ready.send(Ok(addr)).is_err() {
            return;
        }
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, Arc::clone(&shared)));
                    }
                    // Out of file descriptors and the like: wait, then go on.
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                },
            }
        }
    });
    // Dropping the runtime here cancels every connection still open.
}

async fn serve(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let shared = Arc::clone(&shared);
        async move { Ok::<_, Infallible>(routes::handle(&shared, request).await) }
    });
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        // A client may shut its sending side and still wait for the answer.
        .half_close(true)
        .serve_connection(TokioIo::new(stream), service)
        // The realtime WebSocket takes the connection over after its 101.
        .with_upgrades()
        .await;
}

/// A body of `chunks`: whole when nothing waits, otherwise fed by a task
/// that sends `stall.0` chunks, waits `stall.1`, then sends the rest.
pub(crate) fn body(chunks: Vec<Bytes>, stall: Option<(usize, Duration)>) -> Body {
    let Some((after, delay)) = stall else {
        return Either::Left(Full::new(chunks.concat().into()));
    };
    let (mut sender, body) = Channel::new(chunks.len().max(1));
    tokio::spawn(async move {
        let count = chunks.len();
        for (n, chunk) in chunks.into_iter().enumerate() {
            if n == after {
                tokio::time::sleep(delay).await;
            }
            if sender.send_data(chunk).await.is_err() {
                return;
            }
        }
        if after >= count {
            tokio::time::sleep(delay).await;
        }
    });
    Either::Right(body)
}
