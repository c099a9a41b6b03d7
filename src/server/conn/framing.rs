//! HTTP/1.1 message framing, checked before hyper parses a request.
//!
//! hyper answers a request it cannot parse with an empty body. The [`Framer`] looks at every
//! request head first (with `httparse`, the parser hyper itself uses): a head it refuses gets
//! the service's JSON error shape instead, and a head it passes reaches hyper byte for byte.
//! It is strict where HTTP/1.1 framing is ambiguous (duplicate or conflicting
//! `Content-Length`, `Transfer-Encoding` with `Content-Length`, obsolete line folding, bare
//! LF line endings), so that no two parsers can disagree on where a request ends. To find the
//! next head on a keep-alive connection it follows each body's framing (a length, or chunks
//! and trailers).
//!
//! Pure: no I/O, no clock. [`Framer::step`] is given the bytes not yet passed and says how
//! many may go on.

use crate::server::{MAX_HEADERS, MAX_HEADER_BYTES, MAX_URI};
use axum::http::StatusCode;
use serde_json::json;

/// Longest request line accepted before its end is seen (method, target, version).
const MAX_REQUEST_LINE: usize = MAX_URI + 64;
/// Longest request head: request line, headers and their separators.
pub(super) const MAX_HEAD: usize = MAX_REQUEST_LINE + MAX_HEADER_BYTES + 4 * MAX_HEADERS + 2;
/// Longest chunk-size line (with chunk extensions).
const MAX_CHUNK_LINE: usize = 1024;
/// Longest trailer section of a chunked body.
const MAX_TRAILERS: usize = MAX_HEADER_BYTES;

/// A request refused before hyper saw it: the answer to send, then the connection closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// Stable error code.
    pub(crate) code: &'static str,
    /// What was wrong, and how to send it right.
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// The whole HTTP/1.1 response: the JSON error shape, `Connection: close`.
    pub(crate) fn response(&self, extra_headers: &str) -> Vec<u8> {
        let body = json!({ "error": { "code": self.code, "message": self.message } }).to_string();
        format!(
            "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n{extra_headers}\r\n{body}",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("Error"),
            body.len(),
        )
        .into_bytes()
    }
}

/// What [`Framer::step`] decided about the bytes it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// The first `n` bytes (n > 0) may go to hyper; call again with the rest.
    Pass(usize),
    /// Nothing more can go on until more bytes arrive.
    NeedMore,
    /// The request head is refused: answer it and close; nothing more is passed.
    Refuse(Refusal),
    /// A body's framing is broken after its head was passed: close the connection.
    Broken(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Waiting for a whole request head; `searched` bytes of it were scanned already.
    Head {
        searched: usize,
        request_line_seen: bool,
        blank_line_skipped: bool,
    },
    /// A body of known length.
    Body { remaining: u64 },
    /// A chunked body, at a chunk-size line.
    ChunkSize,
    /// A chunked body, inside a chunk.
    ChunkData { remaining: u64 },
    /// A chunked body, at the CRLF after a chunk.
    ChunkEnd,
    /// A chunked body, at its trailer section.
    Trailers { searched: usize },
    /// Refused or broken: nothing more.
    Stopped,
}

const HEAD: State = State::Head {
    searched: 0,
    request_line_seen: false,
    blank_line_skipped: false,
};

/// How a passed head says its body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// Follows the requests on one connection.
#[derive(Debug)]
pub(super) struct Framer {
    state: State,
    heads: u64,
}

impl Default for Framer {
    fn default() -> Self {
        Self {
            state: HEAD,
            heads: 0,
        }
    }
}

impl Framer {
    /// Whether the next bytes are (the start of) a request head.
    pub(super) fn awaiting_head(&self) -> bool {
        matches!(self.state, State::Head { .. })
    }

    /// How many request heads were passed.
    pub(super) fn heads(&self) -> u64 {
        self.heads
    }

    /// Decides about `data`, the bytes received and not yet passed.
    pub(super) fn step(&mut self, data: &[u8]) -> Step {
        let step = match &mut self.state {
            State::Stopped => return Step::NeedMore,
            _ if data.is_empty() => return Step::NeedMore,
            State::Head {
                searched,
                request_line_seen,
                blank_line_skipped,
            } => {
                if *searched == 0 && data.starts_with(b"\r\n") {
                    // One empty line before a request is tolerated (RFC 9112 §2.2).
                    if *blank_line_skipped {
                        return self.refuse(Refusal::new(
                            StatusCode::BAD_REQUEST,
                            "bad_request",
                            "empty lines before the request line; send the request line first",
                        ));
                    }
                    *blank_line_skipped = true;
                    return Step::Pass(2);
                }
                match find_head_end(data, searched, request_line_seen) {
                    Err(refusal) => Err(refusal),
                    Ok(Some(end)) => match check_head(&data[..end]) {
                        Ok(framing) => {
                            self.heads += 1;
                            self.state = match framing {
                                Framing::None | Framing::Length(0) => HEAD,
                                Framing::Length(n) => State::Body { remaining: n },
                                Framing::Chunked => State::ChunkSize,
                            };
                            return Step::Pass(end);
                        }
                        Err(refusal) => Err(refusal),
                    },
                    Ok(None) if !*request_line_seen && data.len() > MAX_REQUEST_LINE => {
                        Err(request_line_too_long())
                    }
                    Ok(None) if data.len() > MAX_HEAD => Err(Refusal::new(
                        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                        "headers_too_large",
                        format!("the request head is over {MAX_HEAD} bytes; send at most {MAX_HEADER_BYTES} bytes of headers"),
                    )),
                    Ok(None) => return Step::NeedMore,
                }
            }
            State::Body { remaining } => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = HEAD;
                }
                return Step::Pass(n);
            }
            State::ChunkSize => match httparse::parse_chunk_size(data) {
                Ok(httparse::Status::Complete((n, size))) => {
                    self.state = if size == 0 {
                        State::Trailers { searched: 0 }
                    } else {
                        State::ChunkData { remaining: size }
                    };
                    return Step::Pass(n);
                }
                Ok(httparse::Status::Partial) if data.len() <= MAX_CHUNK_LINE => {
                    return Step::NeedMore
                }
                Ok(httparse::Status::Partial) => return self.broken("chunk-size line too long"),
                Err(httparse::InvalidChunkSize) => return self.broken("invalid chunk-size line"),
            },
            State::ChunkData { remaining } => {
                let n = usize::try_from(*remaining)
                    .unwrap_or(usize::MAX)
                    .min(data.len());
                *remaining -= n as u64;
                if *remaining == 0 {
                    self.state = State::ChunkEnd;
                }
                return Step::Pass(n);
            }
            State::ChunkEnd => {
                return match data {
                    [b'\r'] => Step::NeedMore,
                    [b'\r', b'\n', ..] => {
                        self.state = State::ChunkSize;
                        Step::Pass(2)
                    }
                    _ => self.broken("a chunk is not followed by CRLF"),
                }
            }
            State::Trailers { searched } => {
                if *searched == 0 {
                    match data {
                        [b'\r'] => return Step::NeedMore,
                        [b'\r', b'\n', ..] => {
                            self.state = HEAD;
                            return Step::Pass(2);
                        }
                        _ => {}
                    }
                }
                let mut line_seen = true;
                return match find_head_end(data, searched, &mut line_seen) {
                    Ok(Some(end)) => {
                        self.state = HEAD;
                        Step::Pass(end)
                    }
                    Ok(None) if data.len() <= MAX_TRAILERS => Step::NeedMore,
                    Ok(None) => self.broken("trailer section too long"),
                    Err(_) => self.broken("bare LF in the trailer section"),
                };
            }
        };
        match step {
            Ok(()) => Step::NeedMore,
            Err(refusal) => self.refuse(refusal),
        }
    }

    fn refuse(&mut self, refusal: Refusal) -> Step {
        self.state = State::Stopped;
        Step::Refuse(refusal)
    }

    fn broken(&mut self, why: &'static str) -> Step {
        self.state = State::Stopped;
        Step::Broken(why)
    }
}

/// Scans `data[*searched..]` for the empty line ending a head; returns the head's length.
/// Every LF must follow a CR.
fn find_head_end(
    data: &[u8],
    searched: &mut usize,
    request_line_seen: &mut bool,
) -> Result<Option<usize>, Refusal> {
    for i in *searched..data.len() {
        if data[i] != b'\n' {
            continue;
        }
        if i == 0 || data[i - 1] != b'\r' {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "bad_line_ending",
                "a line ends in a bare LF; end every line of the request head with CRLF",
            ));
        }
        if !*request_line_seen && i > MAX_REQUEST_LINE {
            return Err(request_line_too_long());
        }
        *request_line_seen = true;
        if i >= 3 && &data[i - 3..=i] == b"\r\n\r\n" {
            *searched = 0;
            return Ok(Some(i + 1));
        }
    }
    *searched = data.len();
    Ok(None)
}

fn request_line_too_long() -> Refusal {
    Refusal::new(
        StatusCode::URI_TOO_LONG,
        "uri_too_long",
        format!("the request line is over {MAX_REQUEST_LINE} bytes; the request target may be at most {MAX_URI}"),
    )
}

fn bad(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, code, message)
}

/// Checks a whole request head (ending in CRLF CRLF) and says how its body is framed.
fn check_head(head: &[u8]) -> Result<Framing, Refusal> {
    // A line starting with a space or tab continues the previous one (obs-fold, RFC 9112
    // §5.2): refused, as parsers disagree on it.
    if head
        .windows(2)
        .any(|w| w[0] == b'\n' && matches!(w[1], b' ' | b'\t'))
    {
        return Err(bad(
            "obsolete_line_folding",
            "a header line starts with whitespace (obsolete line folding); put each header on one line",
        ));
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(n)) if n == head.len() => {}
        Ok(_) => return Err(bad("bad_request", "the request head is malformed")),
        Err(e) => {
            return Err(match e {
                httparse::Error::TooManyHeaders => Refusal::new(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "too_many_headers",
                    format!("the request has more than {MAX_HEADERS} headers"),
                ),
                httparse::Error::HeaderName => bad(
                    "invalid_header_name",
                    "a header name is not a token (letters, digits and !#$%&'*+-.^_`|~)",
                ),
                httparse::Error::HeaderValue => bad(
                    "invalid_header_value",
                    "a header value holds a control character",
                ),
                httparse::Error::Token => bad("invalid_method", "the method is not a token"),
                httparse::Error::Version => Refusal::new(
                    StatusCode::HTTP_VERSION_NOT_SUPPORTED,
                    "unsupported_version",
                    "only HTTP/1.0 and HTTP/1.1 are served",
                ),
                _ => bad(
                    "bad_request",
                    format!("the request line or a header is malformed ({e})"),
                ),
            })
        }
    }
    if req.method == Some("CONNECT") {
        return Err(Refusal::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this service is not a proxy; CONNECT is not accepted",
        ));
    }
    let target = req.path.unwrap_or("");
    if target.len() > MAX_URI {
        return Err(Refusal::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!(
                "the request target is {} bytes; at most {MAX_URI}",
                target.len()
            ),
        ));
    }
    if axum::http::Uri::try_from(target).is_err() {
        return Err(bad(
            "invalid_request_target",
            "the request target is not a valid URI; percent-encode spaces and other reserved bytes",
        ));
    }
    let header_bytes: usize = req
        .headers
        .iter()
        .map(|h| h.name.len() + h.value.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Err(Refusal::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!("the headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES}"),
        ));
    }
    framing(req.version == Some(0), req.headers)
}

/// The body framing the headers declare, refusing every ambiguous combination.
fn framing(http10: bool, headers: &[httparse::Header<'_>]) -> Result<Framing, Refusal> {
    let mut lengths: Vec<&[u8]> = Vec::new();
    let mut encodings = 0usize;
    let mut chunked = false;
    for h in headers {
        if h.name.eq_ignore_ascii_case("content-length") {
            lengths.extend(h.value.split(|b| *b == b',').map(trim));
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            encodings += 1;
            chunked = trim(h.value).eq_ignore_ascii_case(b"chunked");
        }
    }
    if encodings > 0 {
        if !lengths.is_empty() {
            return Err(bad(
                "conflicting_framing",
                "the request has both Transfer-Encoding and Content-Length; send only one",
            ));
        }
        if http10 {
            return Err(bad(
                "bad_request",
                "Transfer-Encoding is not allowed in an HTTP/1.0 request; send Content-Length",
            ));
        }
        if encodings > 1 || !chunked {
            return Err(Refusal::new(
                StatusCode::NOT_IMPLEMENTED,
                "unsupported_transfer_encoding",
                "the only transfer coding accepted is a single `Transfer-Encoding: chunked`",
            ));
        }
        return Ok(Framing::Chunked);
    }
    match lengths.as_slice() {
        [] => Ok(Framing::None),
        [one] => {
            if one.first() == Some(&b'-') {
                return Err(bad(
                    "invalid_content_length",
                    "Content-Length is negative; send the body's length in bytes",
                ));
            }
            let digits = (1..=19).contains(&one.len()) && one.iter().all(u8::is_ascii_digit);
            std::str::from_utf8(one)
                .ok()
                .filter(|_| digits)
                .and_then(|s| s.parse().ok())
                .map(Framing::Length)
                .ok_or_else(|| {
                    bad(
                        "invalid_content_length",
                        "Content-Length is not a decimal number of bytes",
                    )
                })
        }
        [first, rest @ ..] if rest.iter().all(|v| v == first) => Err(bad(
            "duplicate_content_length",
            "Content-Length is given more than once; send it once",
        )),
        _ => Err(bad(
            "conflicting_content_length",
            "Content-Length is given more than once with different values; send it once",
        )),
    }
}

fn trim(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &v[start..end.max(start)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Feeds `input` in pieces of `split` bytes; gives back what passed and the last step.
    fn run(input: &[u8], split: usize) -> (Vec<u8>, Option<Step>) {
        let mut framer = Framer::default();
        let mut buf = Vec::new();
        let mut passed = Vec::new();
        for piece in input.chunks(split.max(1)) {
            buf.extend_from_slice(piece);
            loop {
                match framer.step(&buf) {
                    Step::Pass(n) => {
                        assert!(n > 0 && n <= buf.len());
                        passed.extend(buf.drain(..n));
                    }
                    Step::NeedMore => break,
                    other => {
                        return (passed, Some(other));
                    }
                }
            }
        }
        (passed, Some(Step::NeedMore))
    }

    fn refused(input: &[u8]) -> (u16, &'static str) {
        match run(input, input.len()).1 {
            Some(Step::Refuse(r)) => (r.status.as_u16(), r.code),
            other => panic!("{}: {other:?}", String::from_utf8_lossy(input)),
        }
    }

    #[test]
    fn ambiguous_framing_is_refused_with_a_stable_code() {
        let cases: [(&[u8], u16, &str); 14] = [
            (
                b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n",
                400,
                "duplicate_content_length",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
                400,
                "conflicting_content_length",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n",
                400,
                "conflicting_content_length",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                400,
                "invalid_content_length",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
                400,
                "invalid_content_length",
            ),
            (
                b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n",
                400,
                "invalid_content_length",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                400,
                "conflicting_framing",
            ),
            (
                b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                501,
                "unsupported_transfer_encoding",
            ),
            (
                b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                400,
                "bad_request",
            ),
            (
                b"GET / HTTP/1.1\r\nX-A: a\r\n  folded\r\n\r\n",
                400,
                "obsolete_line_folding",
            ),
            (b"GET / HTTP/1.1\nHost: t\n\n", 400, "bad_line_ending"),
            (
                b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
                400,
                "invalid_header_name",
            ),
            (b"GET / HTTP/2.0\r\n\r\n", 505, "unsupported_version"),
            (b"CONNECT a:443 HTTP/1.1\r\n\r\n", 405, "method_not_allowed"),
        ];
        for (input, status, code) in cases {
            assert_eq!(
                refused(input),
                (status, code),
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn oversized_heads_are_refused_before_their_end() {
        let long_uri = format!("GET /{} HTTP/1.1\r\n", "a".repeat(100_000));
        assert_eq!(refused(long_uri.as_bytes()), (414, "uri_too_long"));
        let uri = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI));
        assert_eq!(refused(uri.as_bytes()), (414, "uri_too_long"));
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..150 {
            many.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(refused(&many), (431, "too_many_headers"));
        let big = format!("GET / HTTP/1.1\r\nx-pad: {}\r\n", "p".repeat(40_000));
        assert_eq!(refused(big.as_bytes()), (431, "headers_too_large"));
        let big = format!("GET / HTTP/1.1\r\nx-pad: {}\r\n\r\n", "p".repeat(20_000));
        assert_eq!(refused(big.as_bytes()), (431, "headers_too_large"));
    }

    #[test]
    fn bodies_are_followed_to_the_next_head() {
        let input = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n0\r\nX-T: 1\r\n\r\nGET /c HTTP/1.1\r\n\r\n\r\nGET /d HTTP/1.1\r\n\r\n";
        for split in [1, 2, 3, 7, input.len()] {
            let (passed, last) = run(input, split);
            assert_eq!(passed, input.to_vec(), "split {split}");
            assert_eq!(last, Some(Step::NeedMore));
        }
        let mut framer = Framer::default();
        let mut rest = &input[..];
        while let Step::Pass(n) = framer.step(rest) {
            rest = &rest[n..];
        }
        assert_eq!((framer.heads(), rest.len()), (4, 0));
        // A broken chunk, after its head passed, is not a refusal but a broken connection.
        let (_, last) = run(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            64,
        );
        assert!(matches!(last, Some(Step::Broken(_))), "{last:?}");
        // The refusal's response is the JSON shape.
        let r = Refusal::new(StatusCode::BAD_REQUEST, "bad_request", "no");
        let text = String::from_utf8(r.response("")).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"]["code"], "bad_request");
    }

    /// One valid request: method, path, headers, and a body sent by length or in chunks.
    fn request() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(vec!["GET", "POST", "PUT", "DELETE", "OPTIONS"]),
            "/[a-z0-9/_.-]{0,40}(\\?[a-z0-9=&]{0,20})?",
            prop::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", "[ -~]{0,30}"), 0..8),
            prop::collection::vec(any::<u8>(), 0..200),
            any::<bool>(),
            prop::collection::vec(1usize..50, 0..5),
        )
            .prop_map(|(method, path, headers, body, chunked, cuts)| {
                let mut out = format!("{method} {path} HTTP/1.1\r\nHost: t\r\n").into_bytes();
                for (name, value) in headers {
                    let lower = name.to_ascii_lowercase();
                    if lower == "content-length" || lower == "transfer-encoding" {
                        continue;
                    }
                    out.extend_from_slice(format!("{name}: {}\r\n", value.trim()).as_bytes());
                }
                if chunked {
                    out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                    let mut rest = &body[..];
                    for cut in cuts {
                        let n = cut.min(rest.len());
                        if n == 0 {
                            break;
                        }
                        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
                        out.extend_from_slice(&rest[..n]);
                        out.extend_from_slice(b"\r\n");
                        rest = &rest[n..];
                    }
                    if !rest.is_empty() {
                        out.extend_from_slice(format!("{:X}\r\n", rest.len()).as_bytes());
                        out.extend_from_slice(rest);
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(b"0\r\n\r\n");
                } else {
                    out.extend_from_slice(
                        format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes(),
                    );
                    out.extend_from_slice(&body);
                }
                out
            })
    }

    proptest! {
        #[test]
        fn valid_requests_pass_byte_for_byte(
            requests in prop::collection::vec(request(), 1..5),
            split in 1usize..300,
        ) {
            let input = requests.concat();
            let (passed, last) = run(&input, split);
            prop_assert_eq!(last, Some(Step::NeedMore));
            prop_assert_eq!(passed, input);
        }

        #[test]
        fn garbage_never_panics_and_never_passes_more_than_given(
            input in prop::collection::vec(any::<u8>(), 0..2000),
            prefix in prop::sample::select(vec![
                &b""[..],
                b"GET / HTTP/1.1\r\n",
                b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n",
            ]),
            split in 1usize..100,
        ) {
            let input = [prefix, &input[..]].concat();
            let (passed, _) = run(&input, split);
            prop_assert!(input.starts_with(&passed));
        }
    }
}
