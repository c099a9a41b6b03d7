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
    /// Last progress in either direction: bytes read from or written to the client, or a
    /// flush that had stalled completing. hyper polls flush on every pass over the
    /// connection, with nothing to flush too: that is no progress, or every wake-up of an
    /// idle connection would push its idle deadline out.
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

    /// Whether hyper's read is held back until it answers the head it has.
    fn parked(&self) -> bool {
        self.framer.awaiting_head() && !self.answered
    }

    /// When the read side gives up waiting.
    fn read_deadline(&mut self) -> Instant {
        if self.parked() {
            // The next head, if one is buffered, is held back here, not late from the client.
            return self.active_at + self.idle_timeout;
        }
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

    /// Arms the read timer for the current deadline; ready once that deadline has passed.
    ///
    /// The clock is checked as well as the timer: if the deadline moved after the timer was
    /// armed, re-arming it for a deadline already past must not wait for another wake-up.
    fn poll_read_timer(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.read_deadline();
        if Instant::now() >= deadline {
            return Poll::Ready(());
        }
        if self.read_timer.deadline() != deadline {
            self.read_timer.as_mut().reset(deadline);
        }
        self.read_timer.as_mut().poll(cx)
    }

    /// The read side's deadline passed: what hyper is told.
    fn on_read_timeout(&mut self) -> io::Result<()> {
        if self.parked() {
            // hyper asked for more while it owes an answer, and nothing moved for as long.
            self.timed_out = Some(TimedOut::Stalled);
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the request made no progress within limits.idle_timeout_secs",
            ));
        }
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
            if this.parked() {
                // Parked, hyper is still waiting: the timer stays armed.
                this.read_waker = Some(cx.waker().clone());
                if this.poll_read_timer(cx).is_ready() {
                    this.on_read_timeout()?;
                    continue;
                }
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
                    if this.poll_read_timer(cx).is_ready() {
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
    /// Notes that hyper wrote a response's bytes, waking its parked read; whether it did.
    fn wrote(&mut self, r: &Poll<io::Result<usize>>) -> bool {
        if !matches!(r, Poll::Ready(Ok(n)) if *n > 0) {
            return false;
        }
        self.answered = true;
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
        true
    }

    /// Tracks write progress: a write pending for the idle timeout fails.
    /// `progressed`: bytes went out (a write of more than nothing, or a stalled flush done).
    fn on_write<T>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<T>>,
        progressed: bool,
    ) -> Poll<io::Result<T>> {
        match r {
            Poll::Ready(r) => {
                self.write_stalled_since = None;
                if progressed {
                    self.active_at = Instant::now();
                }
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
        let progressed = self.wrote(&r);
        self.on_write(cx, r, progressed)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, data);
        let progressed = self.wrote(&r);
        self.on_write(cx, r, progressed)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        let progressed = matches!(r, Poll::Ready(Ok(()))) && self.write_stalled_since.is_some();
        self.on_write(cx, r, progressed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use tokio::io::DuplexStream;

    const HEADER_READ: Duration = Duration::from_millis(300);
    const IDLE: Duration = Duration::from_millis(500);
    const SLACK: Duration = Duration::from_millis(400);
    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n";

    /// A stream with a client at the other end that has sent one request head, and the head
    /// as the stream passed it.
    async fn with_one_head() -> (Stream<DuplexStream>, DuplexStream) {
        let (server, mut client) = tokio::io::duplex(64 * 1024);
        let mut stream = Stream::new(server, HEADER_READ, IDLE);
        client.write_all(HEAD).await.unwrap();
        let mut got = vec![0u8; HEAD.len()];
        stream.read_exact(&mut got).await.unwrap();
        assert_eq!(got, HEAD);
        (stream, client)
    }

    #[tokio::test]
    async fn flushes_of_nothing_do_not_keep_an_idle_connection_open() {
        let (mut stream, _client) = with_one_head().await;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        let answered = Instant::now();
        // As hyper does: every pass over the connection polls flush, with nothing to flush.
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(IDLE + SLACK, async {
            loop {
                tokio::select! {
                    r = stream.read(&mut buf) => break r,
                    () = tokio::time::sleep(Duration::from_millis(20)) => stream.flush().await.unwrap(),
                }
            }
        })
        .await
        .expect("closed on the idle timeout");
        assert_eq!(
            read.unwrap(),
            0,
            "the end of the stream on the idle timeout"
        );
        let after = answered.elapsed();
        assert!(after >= IDLE && after < IDLE + SLACK, "{after:?}");
        assert_eq!(stream.timed_out, Some(TimedOut::Idle));
    }

    #[tokio::test]
    async fn a_parked_read_still_times_out() {
        let (mut stream, _client) = with_one_head().await;
        let since = Instant::now();
        // hyper asks for more before it has answered the head it has: parked, timer armed.
        let mut buf = [0u8; 64];
        let read = tokio::time::timeout(IDLE + SLACK, stream.read(&mut buf))
            .await
            .expect("the parked read ends on the idle timeout");
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::TimedOut);
        let after = since.elapsed();
        assert!(after >= IDLE - Duration::from_millis(50), "{after:?}");
        assert_eq!(stream.timed_out, Some(TimedOut::Stalled));
    }

    #[tokio::test]
    async fn a_parked_read_is_woken_by_the_answer() {
        let (stream, mut client) = with_one_head().await;
        client.write_all(HEAD).await.unwrap();
        let stream = std::sync::Arc::new(tokio::sync::Mutex::new(stream));
        let reader = {
            let stream = stream.clone();
            tokio::spawn(async move {
                let mut got = vec![0u8; HEAD.len()];
                let mut done = 0;
                while done < got.len() {
                    // Polled once per lock so that the writer gets its turn while parked.
                    let n = std::future::poll_fn(|cx| {
                        let mut s = match std::pin::pin!(stream.lock()).poll(cx) {
                            Poll::Ready(s) => s,
                            Poll::Pending => return Poll::Pending,
                        };
                        let mut out = ReadBuf::new(&mut got[done..]);
                        match Pin::new(&mut *s).poll_read(cx, &mut out) {
                            Poll::Ready(r) => Poll::Ready(r.map(|()| out.filled().len())),
                            Poll::Pending => Poll::Pending,
                        }
                    })
                    .await
                    .unwrap();
                    assert!(n > 0);
                    done += n;
                }
                got
            })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !reader.is_finished(),
            "the second head waits for the answer"
        );
        stream
            .lock()
            .await
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(1), reader)
            .await
            .expect("the answer wakes the parked read")
            .unwrap();
        assert_eq!(got, HEAD);
    }
}
