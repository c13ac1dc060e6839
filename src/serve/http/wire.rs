//! HTTP/1.1 on the wire, the small part `chunkwise serve` needs: read one
//! request (head, then a `Content-Length` body) and write one response, then
//! close the connection.
//!
//! One request per connection (every response says `Connection: close`):
//! a browser or a client that keeps connections open then never holds a
//! thread of the server, and a stuck client costs one thread for at most
//! [`READ_TIMEOUT`].

use std::io::{self, BufRead, Read, Write};
use std::time::Duration;

/// How long a client may take to send its request, between two reads.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request line plus headers accepted.
const MAX_HEAD: usize = 16 * 1024;
/// The most headers accepted.
const MAX_HEADERS: usize = 100;

/// A request's line and headers; its body is still on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// The path and query, as sent (`/api/jobs/3?wait=5`).
    pub target: String,
    /// Names as sent; compare them ignoring case ([`Head::header`]).
    pub headers: Vec<(String, String)>,
    /// The body's length from `Content-Length` (0 without one).
    pub content_length: usize,
    /// The client asked for `100 Continue` before it sends the body.
    pub expects_continue: bool,
}

impl Head {
    /// The values of the header `name` (any case), in order.
    pub fn header<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why no request could be read: the connection closed first, or the
/// answer to give (status and message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadError {
    Closed,
    Refuse(u16, &'static str),
}

/// Read a request's line and headers from `r`.
pub fn read_head(r: &mut impl BufRead) -> Result<Head, HeadError> {
    let mut limited = r.take(MAX_HEAD as u64);
    let mut lines = Vec::new();
    loop {
        let mut line = Vec::new();
        match limited.read_until(b'\n', &mut line) {
            Ok(0) if lines.is_empty() => return Err(HeadError::Closed),
            Ok(_) if !line.ends_with(b"\n") => {
                return Err(if limited.limit() == 0 {
                    HeadError::Refuse(431, "the request's headers are too large")
                } else {
                    HeadError::Closed
                })
            }
            Ok(_) => {}
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                return Err(HeadError::Refuse(
                    408,
                    "the request took too long to arrive",
                ))
            }
            Err(_) => return Err(HeadError::Closed),
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        // Blank lines before the request line are allowed (RFC 9112, 2.2).
        if line.is_empty() && lines.is_empty() {
            continue;
        }
        if line.is_empty() {
            break;
        }
        let Ok(text) = String::from_utf8(line) else {
            return Err(HeadError::Refuse(400, "the request's head is not UTF-8"));
        };
        lines.push(text);
        if lines.len() > MAX_HEADERS + 1 {
            return Err(HeadError::Refuse(431, "the request has too many headers"));
        }
    }
    let bad = |msg| Err(HeadError::Refuse(400, msg));
    let mut parts = lines[0].split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return bad("malformed request line");
    };
    if !(version == "HTTP/1.1" || version == "HTTP/1.0") {
        return Err(HeadError::Refuse(
            505,
            "only HTTP/1.0 and HTTP/1.1 are served",
        ));
    }
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
    {
        return bad("malformed request line");
    }
    let mut headers = Vec::with_capacity(lines.len() - 1);
    for line in &lines[1..] {
        let Some((name, value)) = line.split_once(':') else {
            return bad("malformed header line");
        };
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return bad("malformed header name");
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut head = Head {
        method: method.to_string(),
        target: target.to_string(),
        headers,
        content_length: 0,
        expects_continue: false,
    };
    if head.header("Transfer-Encoding").next().is_some() {
        return Err(HeadError::Refuse(
            411,
            "send the body with a Content-Length, not chunked",
        ));
    }
    let lengths: Vec<_> = head
        .header("Content-Length")
        .map(|v| v.parse::<usize>())
        .collect();
    if let Some(first) = lengths.first() {
        let Ok(n) = *first else {
            return bad("Content-Length is not a number");
        };
        if lengths.iter().any(|other| *other != Ok(n)) {
            return bad("conflicting Content-Length headers");
        }
        head.content_length = n;
    }
    let expects_continue = head
        .header("Expect")
        .any(|v| v.eq_ignore_ascii_case("100-continue"));
    head.expects_continue = expects_continue;
    Ok(head)
}

/// Read the body of `head` (its `Content-Length` bytes), first telling the
/// client to go on if it waits for that.
pub fn read_body(r: &mut impl Read, w: &mut impl Write, head: &Head) -> io::Result<Vec<u8>> {
    if head.expects_continue && head.content_length > 0 {
        w.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
        w.flush()?;
    }
    let mut body = vec![0; head.content_length];
    r.read_exact(&mut body)?;
    Ok(body)
}

/// Write a whole response and say the connection closes after it.
pub fn write_response(
    w: &mut impl Write,
    status: u16,
    headers: &[(&str, String)],
    body: &[u8],
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        // Our own values; a line break would split the header.
        if !v.contains(['\r', '\n']) {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    w.write_all(out.as_bytes())?;
    w.write_all(body)?;
    w.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Result<Head, HeadError> {
        read_head(&mut io::Cursor::new(text.as_bytes().to_vec()))
    }

    #[test]
    fn a_request_head_gives_method_target_headers_and_length() {
        let h = head(
            "POST /api/jobs?x=1 HTTP/1.1\r\nHost: a\r\ncontent-length: 12\r\n\
             Authorization: Bearer t\r\n\r\n{\"code\": \"\"}",
        )
        .unwrap();
        assert_eq!(
            (h.method.as_str(), h.target.as_str()),
            ("POST", "/api/jobs?x=1")
        );
        assert_eq!(h.content_length, 12);
        assert_eq!(h.header("authorization").collect::<Vec<_>>(), ["Bearer t"]);
        assert!(!h.expects_continue);
    }

    #[test]
    fn malformed_heads_are_refused_with_a_status() {
        let refused = |text: &str| match head(text) {
            Err(HeadError::Refuse(code, _)) => code,
            other => panic!("{text:?} gave {other:?}"),
        };
        assert_eq!(refused("GET\r\n\r\n"), 400);
        assert_eq!(refused("GET / HTTP/2\r\n\r\n"), 505);
        assert_eq!(refused("GET / HTTP/1.1\r\nno colon\r\n\r\n"), 400);
        assert_eq!(refused("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"), 400);
        assert_eq!(
            refused("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(
            refused("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            411
        );
        let big = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(MAX_HEAD));
        assert_eq!(refused(&big), 431);
        assert_eq!(head(""), Err(HeadError::Closed));
        assert_eq!(head("GET / HTT"), Err(HeadError::Closed));
    }

    #[test]
    fn a_response_has_its_length_and_closes_the_connection() {
        let mut out = Vec::new();
        write_response(
            &mut out,
            404,
            &[("Content-Type", "application/json".into())],
            b"{}",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        );
    }
}
