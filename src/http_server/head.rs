//! How big a request's head may be, checked on the bytes as they arrive,
//! before hyper parses them.
//!
//! hyper enforces limits of its own, but answers them with a bare status and
//! no body (414 for a URI over 64 KiB, which `http::Uri` cannot hold; 431 for
//! a head over its ~400 KiB buffer or more than 100 headers). Checking first,
//! with lower limits, means hyper never meets an oversized head, and the
//! client gets the JSON `detail` every other error carries.

use super::raw_answer;
use axum::http::StatusCode;
use std::sync::LazyLock;

/// The request line (method, target, version): nginx's default for one
/// header line, and more than any URL palaver's routes take.
pub const MAX_REQUEST_LINE: u32 = 8 * 1024;
/// The whole head: request line and headers, line ends included.
pub const MAX_HEAD: u32 = 32 * 1024;
/// Header lines; hyper's own limit, so a head within ours always parses.
pub const MAX_HEADERS: u32 = 100;

/// Which limit a head went past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overrun {
    RequestLine,
    Head,
    Headers,
}

impl Overrun {
    /// The whole HTTP/1.1 answer, written as it is to the socket.
    pub fn answer(self) -> &'static [u8] {
        let answers = &*ANSWERS;
        match self {
            Self::RequestLine => &answers.request_line,
            Self::Head => &answers.head,
            Self::Headers => &answers.headers,
        }
    }
}

/// Follows one request's head through the bytes read for it: where its
/// request line ends, how many lines it has, where it ends (an empty line).
/// Bytes read after its end (a body, a pipelined request) are not looked at.
#[derive(Debug, Default)]
pub struct HeadScan {
    /// The request this scan is for (the connection's count of answered
    /// requests when it began): a new one starts a new scan.
    request: u32,
    /// Bytes of the head so far.
    len: u32,
    /// Bytes of the current line so far, line ends left out.
    line: u32,
    /// Lines ended so far; the first is the request line.
    lines: u32,
    /// The empty line that ends the head was seen.
    done: bool,
}

impl HeadScan {
    /// Looks at `bytes`, the next ones read while request number `request`
    /// (the count of requests answered before it) waits for its head.
    pub fn feed(&mut self, request: u32, bytes: &[u8]) -> Result<(), Overrun> {
        if request != self.request {
            *self = Self {
                request,
                ..Self::default()
            };
        }
        for &byte in bytes {
            if self.done {
                return Ok(());
            }
            match byte {
                b'\n' if self.line == 0 => {
                    // Empty lines before the request line are skipped (RFC
                    // 9112, 2.2); after it, one ends the head.
                    self.done = self.lines > 0;
                }
                b'\n' => {
                    self.lines += 1;
                    self.line = 0;
                    if self.lines > MAX_HEADERS + 1 {
                        return Err(Overrun::Headers);
                    }
                }
                b'\r' => {}
                _ => {
                    self.line += 1;
                    if self.lines == 0 && self.line > MAX_REQUEST_LINE {
                        return Err(Overrun::RequestLine);
                    }
                }
            }
            if self.lines > 0 || self.line > 0 {
                self.len += 1;
                if self.len > MAX_HEAD {
                    return Err(Overrun::Head);
                }
            }
        }
        Ok(())
    }
}

struct Answers {
    request_line: Vec<u8>,
    head: Vec<u8>,
    headers: Vec<u8>,
}

static ANSWERS: LazyLock<Answers> = LazyLock::new(|| Answers {
    request_line: raw_answer(
        StatusCode::URI_TOO_LONG,
        format!(
            "Request line too long: method, URL and version may have at most {MAX_REQUEST_LINE} bytes"
        ),
    ),
    head: raw_answer(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        format!("Request headers too large: at most {MAX_HEAD} bytes in all"),
    ),
    headers: raw_answer(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        format!("Too many request headers: at most {MAX_HEADERS}"),
    ),
});

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Result<HeadScan, Overrun> {
        let mut scan = HeadScan::default();
        for chunk in chunks {
            scan.feed(0, chunk)?;
        }
        Ok(scan)
    }

    #[test]
    fn a_head_ends_at_its_empty_line_whatever_the_chunks() {
        let head = b"GET /rooms HTTP/1.1\r\nHost: x\r\n\r\n";
        for split in 0..head.len() {
            let (a, b) = head.split_at(split);
            let done = scan(&[a, b]).unwrap();
            assert!(done.done, "split at {split}");
            assert_eq!(done.lines, 2);
        }
        // Bare line feeds end lines too (hyper accepts them).
        assert!(scan(&[b"GET / HTTP/1.1\nHost: x\n\n"]).unwrap().done);
        // Empty lines before the request line do not end anything.
        assert!(!scan(&[b"\r\n\r\nGET / HTTP/1.1\r\n"]).unwrap().done);
    }

    #[test]
    fn what_follows_the_head_is_not_counted() {
        let mut body = b"POST /register HTTP/1.1\r\nContent-Length: 40000\r\n\r\n".to_vec();
        body.extend(std::iter::repeat_n(b'\n', 40_000));
        assert!(scan(&[&body]).unwrap().done);
    }

    #[test]
    fn each_limit_is_told_apart() {
        let long_url = format!(
            "GET /{} HTTP/1.1\r\n",
            "a".repeat(MAX_REQUEST_LINE as usize)
        );
        assert_eq!(
            scan(&[long_url.as_bytes()]).unwrap_err(),
            Overrun::RequestLine
        );
        // A line of the limit exactly is fine.
        let fits = format!(
            "GET /{} HTTP/1.1\r\n\r\n",
            "a".repeat(MAX_REQUEST_LINE as usize - 14)
        );
        assert!(scan(&[fits.as_bytes()]).unwrap().done);

        let big = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "b".repeat(MAX_HEAD as usize)
        );
        assert_eq!(scan(&[big.as_bytes()]).unwrap_err(), Overrun::Head);

        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..MAX_HEADERS {
            many.extend(format!("X-{i}: y\r\n").bytes());
        }
        assert!(!scan(&[&many]).unwrap().done, "100 headers are fine");
        many.extend(b"X-last: y\r\n");
        assert_eq!(scan(&[&many]).unwrap_err(), Overrun::Headers);
    }

    #[test]
    fn the_next_request_is_scanned_afresh() {
        let header = format!("X: {}\r\n", "a".repeat(MAX_HEAD as usize / 2));
        let mut scan = HeadScan::default();
        scan.feed(0, b"GET / HTTP/1.1\r\n").unwrap();
        scan.feed(0, header.as_bytes()).unwrap();
        // The first request was answered; its bytes do not count for the next.
        scan.feed(1, b"GET / HTTP/1.1\r\n").unwrap();
        scan.feed(1, header.as_bytes()).unwrap();
        assert_eq!(scan.feed(1, header.as_bytes()), Err(Overrun::Head));
    }

    #[test]
    fn answers_are_whole_json_responses() {
        let raw = String::from_utf8(Overrun::Head.answer().to_vec()).unwrap();
        let (head, body) = raw.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 "), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["detail"].as_str().unwrap().contains("32768"));
        assert!(Overrun::RequestLine.answer().starts_with(b"HTTP/1.1 414 "));
    }
}
