//! The server's TCP listener with its capacity limits: at most
//! [`ServerConfig::max_connections`](crate::ServerConfig) open connections
//! (one more is answered `503 overloaded` at once and closed, instead of
//! queueing until a time-out) and an idle time-out (a connection that neither
//! sends nor receives a byte for [`ServerConfig::idle_timeout`](crate::ServerConfig)
//! — a half-sent request, an idle keep-alive — is closed).
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
            Ok(s) => TowerToHyperService::new(s),
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

/// An accepted connection: holds its place under the cap until dropped, and
/// fails its next read once it has been idle too long.
pub struct Guarded {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Guarded {
    fn new(stream: TcpStream, permit: OwnedSemaphorePermit, idle: Duration) -> Self {
        Self {
            stream,
            _permit: permit,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
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
