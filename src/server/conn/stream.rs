//! A client connection's byte stream as hyper sees it: request heads checked by the
//! [`Framer`] first, and the connection's timeouts.
//!
//! - A request head must arrive whole within `header_read_timeout`, counted from the accept
//!   for a connection's first request and from the first byte for later ones; a partial head
//!   then gets `408 header_timeout`, a connection that sent nothing is closed.
//! - Between requests a keep-alive connection may wait `idle_timeout`, counted from its last
//!   read or write; a body or a response that makes no progress for as long fails the
//!   connection.
//!
//! hyper's own header-read timer starts whenever it waits for a head, idle waiting between
//! keep-alive requests included, and it only ever sees whole heads from here: it is set
//! as a backstop above both timeouts (see `conn.rs`).

use super::framing::{Framer, Refusal, Step};
use axum::http::StatusCode;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Bytes read from the client at a time.
const READ_SIZE: usize = 8 * 1024;
/// Longest a refusal may take to write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// After a refusal, how long the rest of the request is read and dropped so that closing
/// does not reset the connection before the client has read the answer.
const LINGER: Duration = Duration::from_secs(2);

/// How a connection ended on its own timers, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimedOut {
    /// Nothing arrived for the first request within the header-read timeout.
    Silent,
    /// No next request within the idle timeout.
    Idle,
    /// A body or a response made no progress within the idle timeout.
    Stalled,
}

/// The checked, timed stream over a client connection `S`.
pub(super) struct Stream<S> {
    inner: S,
    framer: Framer,
    /// Bytes read from the client; `buf[..start]` went to hyper, `buf[start..vetted]` may go.
    buf: Vec<u8>,
    start: usize,
    vetted: usize,
    eof: bool,
    refusal: Option<Refusal>,
    broken: Option<&'static str>,
    timed_out: Option<TimedOut>,
    header_read_timeout: Duration,
    idle_timeout: Duration,
    /// When the head being waited for started: the accept for the first request, the first
    /// byte for later ones; `None` while idle or in a body.
    head_since: Option<Instant>,
    /// Last progress in either direction.
    active_at: Instant,
    read_timer: Pin<Box<Sleep>>,
    write_stalled_since: Option<Instant>,
    write_timer: Pin<Box<Sleep>>,
    /// Whether hyper wrote anything since the last head went to it. The next head is vetted
    /// only then: hyper stops parsing buffered pipelined heads once it sees the end of the
    /// stream, so a refused head must not end the stream before the heads before it are
    /// answered.
    answered: bool,
    /// hyper's read, parked until it answers the head it has.
    read_waker: Option<std::task::Waker>,
}

impl<S> Stream<S> {
    /// Wraps a just-accepted connection.
    pub(super) fn new(inner: S, header_read_timeout: Duration, idle_timeout: Duration) -> Self {
        let now = Instant::now();
        Self {
            inner,
            framer: Framer::default(),
            buf: Vec::new(),
            start: 0,
            vetted: 0,
            eof: false,
            refusal: None,
            broken: None,
            timed_out: None,
            header_read_timeout,
            idle_timeout,
            head_since: Some(now),
            active_at: now,
            read_timer: Box::pin(tokio::time::sleep_until(now + header_read_timeout)),
            write_stalled_since: None,
            write_timer: Box::pin(tokio::time::sleep_until(now + idle_timeout)),
            answered: true,
            read_waker: None,
        }
    }

    /// When the read side gives up waiting.
    fn read_deadline(&mut self) -> Instant {
        if !self.framer.awaiting_head() {
            self.head_since = None;
            return self.active_at + self.idle_timeout;
        }
        if self.head_since.is_none() && self.buf.len() > self.vetted {
            self.head_since = Some(Instant::now());
        }
        match self.head_since {
            Some(since) => since + self.header_read_timeout,
            None => self.active_at + self.idle_timeout,
        }
    }

    /// The read side's deadline passed: what hyper is told.
    fn on_read_timeout(&mut self) -> io::Result<()> {
        if !self.framer.awaiting_head() {
            self.timed_out = Some(TimedOut::Stalled);
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request body made no progress within limits.idle_timeout_secs",
            ));
        }
        if self.buf.len() > self.vetted {
            self.refusal = Some(Refusal::new(
                StatusCode::REQUEST_TIMEOUT,
                "header_timeout",
                format!(
                    "the request head did not arrive within {} s; send the request line and headers at once",
                    self.header_read_timeout.as_secs_f32()
                ),
            ));
        } else if self.head_since.is_some() {
            self.timed_out = Some(TimedOut::Silent);
        } else {
            self.timed_out = Some(TimedOut::Idle);
        }
        // hyper sees the end of the stream between requests and closes the connection.
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Stream<S> {
    /// After hyper is done with the connection: writes the refusal, if there is one, closes,
    /// and says why the connection ended.
    pub(super) async fn finish(mut self) -> (Option<Refusal>, Option<TimedOut>) {
        let refusal = self.refusal.take();
        if let Some(r) = &refusal {
            let written = tokio::time::timeout(WRITE_TIMEOUT, async {
                self.inner.write_all(&r.response("")).await?;
                self.inner.shutdown().await
            })
            .await;
            if matches!(written, Ok(Ok(()))) {
                let mut sink = [0u8; READ_SIZE];
                let _ = tokio::time::timeout(LINGER, async {
                    while matches!(self.inner.read(&mut sink).await, Ok(n) if n > 0) {}
                })
                .await;
            }
        } else {
            let _ = tokio::time::timeout(WRITE_TIMEOUT, self.inner.shutdown()).await;
        }
        (refusal, self.timed_out)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.vetted > this.start {
                let n = (this.vetted - this.start).min(out.remaining());
                out.put_slice(&this.buf[this.start..this.start + n]);
                this.start += n;
                if this.start == this.buf.len() {
                    this.buf.clear();
                    this.start = 0;
                    this.vetted = 0;
                }
                return Poll::Ready(Ok(()));
            }
            if let Some(why) = this.broken {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, why)));
            }
            if this.refusal.is_some() || this.timed_out.is_some() {
                return Poll::Ready(Ok(()));
            }
            if this.framer.awaiting_head() && !this.answered {
                this.read_waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if this.vetted < this.buf.len() {
                let heads = this.framer.heads();
                match this.framer.step(&this.buf[this.vetted..]) {
                    Step::Pass(n) => {
                        this.vetted += n;
                        if this.framer.heads() != heads {
                            this.head_since = None;
                            this.answered = false;
                        }
                        continue;
                    }
                    Step::Refuse(r) => {
                        this.refusal = Some(r);
                        continue;
                    }
                    Step::Broken(why) => {
                        this.broken = Some(why);
                        continue;
                    }
                    Step::NeedMore => {}
                }
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            if this.start > 0 {
                this.buf.drain(..this.start);
                this.vetted -= this.start;
                this.start = 0;
            }
            let filled = this.buf.len();
            this.buf.resize(filled + READ_SIZE, 0);
            let mut into = ReadBuf::new(&mut this.buf[filled..]);
            match Pin::new(&mut this.inner).poll_read(cx, &mut into) {
                Poll::Ready(Ok(())) => {
                    let n = into.filled().len();
                    this.buf.truncate(filled + n);
                    if n == 0 {
                        this.eof = true;
                    } else {
                        this.active_at = Instant::now();
                    }
                }
                Poll::Ready(Err(e)) => {
                    this.buf.truncate(filled);
                    return Poll::Ready(Err(e));
                }
                Poll::Pending => {
                    this.buf.truncate(filled);
                    let deadline = this.read_deadline();
                    if this.read_timer.deadline() != deadline {
                        this.read_timer.as_mut().reset(deadline);
                    }
                    if this.read_timer.as_mut().poll(cx).is_ready() {
                        this.on_read_timeout()?;
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> Stream<S> {
    /// Tracks write progress: a write pending for the idle timeout fails.
    /// Notes that hyper wrote a response's bytes, waking its parked read.
    fn wrote(&mut self, r: &Poll<io::Result<usize>>) {
        if matches!(r, Poll::Ready(Ok(n)) if *n > 0) {
            self.answered = true;
            if let Some(w) = self.read_waker.take() {
                w.wake();
            }
        }
    }

    fn on_write<T>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.write_stalled_since = None;
                self.active_at = Instant::now();
                Poll::Ready(r)
            }
            Poll::Pending => {
                let since = *self.write_stalled_since.get_or_insert_with(Instant::now);
                let deadline = since + self.idle_timeout;
                if self.write_timer.deadline() != deadline {
                    self.write_timer.as_mut().reset(deadline);
                }
                if self.write_timer.as_mut().poll(cx).is_ready() {
                    self.timed_out = Some(TimedOut::Stalled);
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read the response within limits.idle_timeout_secs",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        self.wrote(&r);
        self.on_write(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        self.wrote(&r);
        self.on_write(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.on_write(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
