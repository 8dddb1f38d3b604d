//! The server's TCP listener with its capacity limits: at most
//! [`ServerConfig::max_connections`](crate::ServerConfig) open connections
//! (one more is answered `503 overloaded` at once and closed, instead of
//! queueing until a time-out) and an idle time-out (a connection that neither
//! sends nor receives a byte for [`ServerConfig::idle_timeout`](crate::ServerConfig)
//! — a half-sent request, an idle keep-alive — is closed). A connection
//! whose request is being answered is not idle, however long the answer
//! takes (an import of millions of rows sends nothing meanwhile): the
//! request time-out bounds those that must be bounded.
//!
//! [`serve`] runs the HTTP/1.1 connections on it with hyper's connection
//! builder, as `axum::serve` does, and adds what `axum::serve` cannot be
//! told: a header-read time-out ([`ServerConfig::header_timeout`](crate::ServerConfig)),
//! so a client trickling a request's headers a byte at a time (which the
//! idle time-out alone lets live for ever) is cut off.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::Service;

/// The answer to a connection beyond the cap.
const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 88\r\n\r\n\
{\"error\":{\"code\":\"overloaded\",\"message\":\"too many open connections; try again shortly\"}}";

/// Serves `app` on `listener` until `signal` resolves: each connection
/// over HTTP/1.1 with keep-alive and upgrades; a connection waiting for a
/// request's headers longer than `header_timeout` is closed (hyper's
/// `header_read_timeout`: its clock starts when the connection is ready for
/// the next request, so an idle keep-alive also closes after it); the peer
/// address reaches handlers as
/// `ConnectInfo<SocketAddr>`. On the signal no new connection is accepted,
/// each open one finishes the request in flight and closes, and `serve`
/// returns once all are closed (as `axum::serve(..).with_graceful_shutdown`).
pub async fn serve(
    mut listener: CappedListener,
    app: axum::Router,
    header_timeout: Duration,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    use axum::serve::Listener as _;
    let mut make = app.into_make_service_with_connect_info::<SocketAddr>();
    // Receivers dropped = shut down: the signal drops the one it holds;
    // each connection task holds a clone of `close_rx` until it ends.
    let (signal_tx, signal_rx) = watch::channel(());
    tokio::spawn(async move {
        signal.await;
        drop(signal_rx);
    });
    let (close_tx, close_rx) = watch::channel(());
    loop {
        let (io, addr) = tokio::select! {
            conn = listener.accept() => conn,
            _ = signal_tx.closed() => break,
        };
        let service = match make.call(addr).await {
            Ok(s) => InFlight {
                inner: TowerToHyperService::new(s),
                busy: io.busy.clone(),
            },
            Err(never) => match never {},
        };
        let (signal_tx, close_rx) = (signal_tx.clone(), close_rx.clone());
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let mut conn = std::pin::pin!(builder
                .serve_connection(TokioIo::new(io), service)
                .with_upgrades());
            let mut stopping = std::pin::pin!(signal_tx.closed());
            let mut asked = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    _ = &mut stopping, if !asked => {
                        asked = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(close_rx);
        });
    }
    drop(close_rx);
    drop(listener);
    close_tx.closed().await;
}

/// A [`TcpListener`] with a connection cap and an idle time-out (an
/// `axum::serve::Listener`).
pub struct CappedListener {
    inner: TcpListener,
    permits: Arc<Semaphore>,
    idle: Duration,
}

impl CappedListener {
    /// Wraps `inner`: at most `max_connections` open, each closed after
    /// `idle` without traffic.
    pub fn new(inner: TcpListener, max_connections: usize, idle: Duration) -> Self {
        Self {
            inner,
            permits: Arc::new(Semaphore::new(max_connections.max(1))),
            idle,
        }
    }
}

impl axum::serve::Listener for CappedListener {
    type Io = Guarded;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (mut stream, addr) = match self.inner.accept().await {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors and the like: wait, then retry.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = self.permits.clone().try_acquire_owned() else {
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        let _ = stream.write_all(OVERLOADED).await;
                        let _ = stream.shutdown().await;
                    })
                    .await;
                });
                continue;
            };
            let _ = stream.set_nodelay(true);
            return (Guarded::new(stream, permit, self.idle), addr);
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection's service that counts its requests being answered (from
/// the request until its answer's head is ready; the body's writes then
/// keep the connection alive themselves), so that [`Guarded`] does not take
/// a long answer for an idle connection.
struct InFlight<S> {
    inner: S,
    busy: Arc<AtomicUsize>,
}

/// One request being answered: counted from [`Answering::start`] until
/// dropped (answered, failed or cancelled).
struct Answering(Arc<AtomicUsize>);

impl Answering {
    fn start(busy: &Arc<AtomicUsize>) -> Self {
        busy.fetch_add(1, Ordering::SeqCst);
        Self(busy.clone())
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl<S, R> hyper::service::Service<R> for InFlight<S>
where
    S: hyper::service::Service<R>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn call(&self, req: R) -> Self::Future {
        let answering = Answering::start(&self.busy);
        let answer = self.inner.call(req);
        Box::pin(async move {
            let out = answer.await;
            drop(answering);
            out
        })
    }
}

/// An accepted connection: holds its place under the cap until dropped, and
/// fails its next read once it has been idle too long — sent and received
/// nothing with no request being answered.
pub struct Guarded {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    /// Requests of this connection being answered ([`InFlight`]).
    busy: Arc<AtomicUsize>,
}

impl Guarded {
    fn new(stream: TcpStream, permit: OwnedSemaphorePermit, idle: Duration) -> Self {
        Self {
            stream,
            _permit: permit,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            busy: Arc::default(),
        }
    }

    fn touch(&mut self) {
        let next = Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.touch();
                }
                Poll::Ready(r)
            }
            Poll::Pending => match self.deadline.as_mut().poll(cx) {
                // Answering a request is not idle: the clock starts again
                // (and wakes this read to look again then).
                Poll::Ready(()) if self.busy.load(Ordering::SeqCst) > 0 => {
                    self.touch();
                    let _ = self.deadline.as_mut().poll(cx);
                    Poll::Pending
                }
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "connection idle past the idle time-out",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// A request whose answer takes longer than the idle time-out (sending
    /// nothing meanwhile) is answered, not cut off; a connection with
    /// nothing in flight is still closed after the time-out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_answer_is_not_idle_but_a_silent_connection_is() {
        let app = axum::Router::new().route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "done"
            }),
        );
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let listener = CappedListener::new(tcp, 8, Duration::from_millis(300));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, app, Duration::from_secs(30), async {
            let _ = stopped.await;
        }));

        let mut c = TcpStream::connect(addr).await.expect("connect");
        c.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .expect("send");
        let mut answer = String::new();
        c.read_to_string(&mut answer).await.expect("read");
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("done"),
            "the slow answer arrived whole: {answer:?}"
        );

        // Nothing sent, nothing in flight: closed after the time-out.
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        let mut rest = Vec::new();
        let n = tokio::time::timeout(Duration::from_secs(60), silent.read_to_end(&mut rest))
            .await
            .expect("closed well before a minute")
            .unwrap_or(0);
        assert_eq!(n, 0, "closed without an answer");

        let _ = stop.send(());
        server.await.expect("server");
    }
}
