//! A connection's socket as hyper sees it: the bytes pass through
//! unchanged, but each read and write is told to the connection's
//! `Activity` (for its timeouts), and the bytes of a head are checked
//! against the head limits before hyper parses them.
//!
//! After a WebSocket upgrade the same socket carries the WebSocket (hyper
//! hands it over); the connection's watch has ended by then, and this only
//! passes bytes through.

use super::connection::Activity;
use super::head::HeadScan;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

pub struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
    head: HeadScan,
    /// Set once a head went past a limit: from then on this answers the
    /// client itself and hyper sees only the end of the stream.
    /// Boxed: rare, and the socket of every WebSocket carries this field.
    refusal: Option<Box<Refusal>>,
}

/// Answering a head that broke a limit: the whole answer, then our side of
/// the connection closed, then what the client still sends read and thrown
/// away until it closes (or the connection's header deadline drops it), so
/// that the answer is not lost to a reset from unread bytes.
struct Refusal {
    answer: &'static [u8],
    written: usize,
    write_closed: bool,
}

impl Tracked {
    pub fn new(inner: TcpStream, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            activity,
            head: HeadScan::default(),
            refusal: None,
        }
    }

    /// Drives the refusal; `Ready` means "end of stream" to hyper.
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(refusal) = self.refusal.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        let inner = &mut self.inner;
        let answer = refusal.answer;
        while refusal.written < answer.len() {
            let rest = &answer[refusal.written..];
            match ready!(Pin::new(&mut *inner).poll_write(cx, rest)) {
                Ok(0) | Err(_) => return Poll::Ready(Ok(())),
                Ok(n) => refusal.written += n,
            }
        }
        if !refusal.write_closed {
            // Whether or not the close succeeds, the answer is out.
            let _ = ready!(Pin::new(&mut *inner).poll_shutdown(cx));
            refusal.write_closed = true;
        }
        let mut scratch = [0u8; 1024];
        loop {
            let mut discard = ReadBuf::new(&mut scratch);
            match ready!(Pin::new(&mut *inner).poll_read(cx, &mut discard)) {
                Ok(()) if !discard.filled().is_empty() => {}
                _ => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            return this.poll_refuse(cx);
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if read.is_empty() {
            return Poll::Ready(Ok(()));
        }
        if let Some(request) = this.activity.bytes_read()
            && let Err(overrun) = this.head.feed(request, read)
        {
            // hyper never sees the bytes past the limit.
            buf.set_filled(before);
            tracing::debug!(?overrun, "request head over a limit; refused");
            this.refusal = Some(Box::new(Refusal {
                answer: overrun.answer(),
                written: 0,
                write_closed: false,
            }));
            return this.poll_refuse(cx);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            // The connection answers for itself now; what hyper would write
            // (nothing is expected) must not follow the answer.
            return Poll::Ready(Ok(buf.len()));
        }
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        if written > 0 {
            this.activity.bytes_written();
        }
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        let written = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        if written > 0 {
            this.activity.bytes_written();
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusal.is_some() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
