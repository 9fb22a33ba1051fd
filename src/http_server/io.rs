//! A connection's socket as hyper sees it: the bytes pass through
//! unchanged, but each read and write is told to the connection's
//! `Activity` (for its timeouts), and the bytes of a head are checked
//! against the head limits before hyper parses them.
//!
//! After a WebSocket upgrade the same socket carries the WebSocket (hyper
//! hands it over); the connection's watch has ended by then, and at its
//! next read or write the socket lets go of what the watch needed: a
//! WebSocket carries only its place in the descriptor budget, one word.

use super::budget::Place;
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
    _place: Place,
    /// While the connection's watch lasts. Boxed, and dropped after it:
    /// every WebSocket's socket would carry it otherwise.
    watched: Option<Box<Watched>>,
}

struct Watched {
    activity: Arc<Activity>,
    head: HeadScan,
    /// Set once a head went past a limit: from then on this answers the
    /// client itself and hyper sees only the end of the stream.
    refusal: Option<Refusal>,
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
    pub fn new(inner: TcpStream, place: Place, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            _place: place,
            watched: Some(Box::new(Watched {
                activity,
                head: HeadScan::default(),
                refusal: None,
            })),
        }
    }

    /// What the watch needs, while it lasts.
    fn watched(&mut self) -> Option<&mut Watched> {
        if self
            .watched
            .as_ref()
            .is_some_and(|w| w.refusal.is_none() && w.activity.detached())
        {
            self.watched = None;
        }
        self.watched.as_deref_mut()
    }

    fn refusing(&self) -> bool {
        self.watched.as_ref().is_some_and(|w| w.refusal.is_some())
    }

    /// Drives the refusal; `Ready` means "end of stream" to hyper.
    fn poll_refuse(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(refusal) = self.watched.as_mut().and_then(|w| w.refusal.as_mut()) else {
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
        if this.refusing() {
            return this.poll_refuse(cx);
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = &buf.filled()[before..];
        if read.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let Some(watched) = this.watched() else {
            return Poll::Ready(Ok(()));
        };
        if let Some(request) = watched.activity.bytes_read()
            && let Err(overrun) = watched.head.feed(request, read)
        {
            // hyper never sees the bytes past the limit.
            buf.set_filled(before);
            tracing::debug!(?overrun, "request head over a limit; refused");
            watched.refusal = Some(Refusal {
                answer: overrun.answer(),
                written: 0,
                write_closed: false,
            });
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
        if this.refusing() {
            // The connection answers for itself now; what hyper would write
            // (nothing is expected) must not follow the answer.
            return Poll::Ready(Ok(buf.len()));
        }
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        if written > 0
            && let Some(watched) = this.watched()
        {
            watched.activity.bytes_written();
        }
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.refusing() {
            return Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()));
        }
        let written = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        if written > 0
            && let Some(watched) = this.watched()
        {
            watched.activity.bytes_written();
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusing() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.refusing() {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upgraded_socket_costs_two_words_more_than_a_bare_one() {
        // What every WebSocket carries for its life (hyper boxes it).
        assert!(
            std::mem::size_of::<Tracked>() <= std::mem::size_of::<TcpStream>() + 16,
            "{} bytes",
            std::mem::size_of::<Tracked>()
        );
    }
}
