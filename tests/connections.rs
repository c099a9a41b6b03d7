//! Slow, idle and too many clients: the service keeps answering others, closes what it
//! must on time, and survives running out of file descriptors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::server::*;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

const HEADER_READ: Duration = Duration::from_secs(2);
const IDLE: Duration = Duration::from_secs(3);
/// Scheduling slack allowed on top of a timeout.
const SLACK: Duration = Duration::from_millis(1500);

async fn connect_from(ip: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// Reads one response whose body has a Content-Length (keeps the connection open).
async fn read_response(stream: &mut TcpStream) -> (u16, String, String) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("a response within 5 s")
            .unwrap();
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if body.len() >= len || n == 0 {
                let status = head.split(' ').nth(1).unwrap().parse().unwrap();
                return (status, head.to_owned(), body.to_owned());
            }
        }
        assert!(n > 0, "closed before a whole response: {text}");
    }
}

/// Reads until the server closes; gives what it sent and when it closed.
fn until_closed(mut stream: TcpStream) -> tokio::task::JoinHandle<(Vec<u8>, Instant)> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut out)).await;
        (out, Instant::now())
    })
}

const HEALTHZ: &[u8] = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_idle_and_too_many_connections_do_not_starve_other_clients() {
    let s = start_with(elicense::server::Limits {
        max_connections: 24,
        max_connections_per_client: 8,
        header_read_timeout: HEADER_READ,
        idle_timeout: IDLE,
        ..test_limits()
    });
    let addr: SocketAddr = s.url.trim_start_matches("http://").parse().unwrap();

    // One client address holds its whole share: silent, half-sent heads, idle keep-alive.
    let opened = Instant::now();
    let mut silent = Vec::new();
    let mut partial = Vec::new();
    for _ in 0..3 {
        silent.push(until_closed(connect_from("127.0.0.2", addr).await));
    }
    for _ in 0..3 {
        let mut c = connect_from("127.0.0.2", addr).await;
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            .await
            .unwrap();
        partial.push(until_closed(c));
    }
    let mut idle = Vec::new();
    for _ in 0..2 {
        let mut c = connect_from("127.0.0.2", addr).await;
        c.write_all(HEALTHZ).await.unwrap();
        let (status, _, _) = read_response(&mut c).await;
        assert_eq!(status, 200);
        idle.push((Instant::now(), until_closed(c)));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Over its share, the same address is told why, in the JSON shape.
    for _ in 0..3 {
        let mut c = connect_from("127.0.0.2", addr).await;
        c.write_all(HEALTHZ).await.unwrap();
        let (status, head, body) = read_response(&mut c).await;
        assert_eq!(status, 429, "{head}\n{body}");
        assert!(
            head.to_ascii_lowercase().contains("retry-after: 1"),
            "{head}"
        );
        let j: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(j["error"]["code"], "too_many_connections", "{body}");
    }

    // Another client is answered at once.
    let started = Instant::now();
    let mut c = connect_from("127.0.0.1", addr).await;
    c.write_all(HEALTHZ).await.unwrap();
    assert_eq!(read_response(&mut c).await.0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    drop(c);

    // Many addresses fill the service: the next connection gets 503, and is closed.
    let mut fillers = Vec::new();
    for ip in ["127.0.0.3", "127.0.0.4"] {
        for _ in 0..8 {
            fillers.push(until_closed(connect_from(ip, addr).await));
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut c = connect_from("127.0.0.5", addr).await;
    c.write_all(HEALTHZ).await.unwrap();
    let (status, _, body) = read_response(&mut c).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"too_many_connections\""), "{body}");
    assert!(
        opened.elapsed() < HEADER_READ,
        "the setup took too long to test the timeouts"
    );

    // Silent connections and half-sent heads are closed on the header-read timeout, the
    // half-sent ones with a 408 in the JSON shape.
    for task in silent {
        let (bytes, closed) = task.await.unwrap();
        assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
        let after = closed - opened;
        assert!(
            after >= HEADER_READ - Duration::from_millis(100) && after < HEADER_READ + SLACK,
            "{after:?}"
        );
    }
    for task in partial {
        let (bytes, closed) = task.await.unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
        assert!(text.contains("\"header_timeout\""), "{text}");
        assert!(
            closed - opened < HEADER_READ + SLACK,
            "{:?}",
            closed - opened
        );
    }
    for task in fillers {
        let (_, closed) = task.await.unwrap();
        assert!(closed - opened < HEADER_READ + SLACK + Duration::from_secs(1));
    }
    // Idle keep-alive connections outlive the header-read timeout, up to the idle timeout.
    for (answered, task) in idle {
        let (bytes, closed) = task.await.unwrap();
        assert!(bytes.is_empty(), "{}", String::from_utf8_lossy(&bytes));
        let after = closed - answered;
        assert!(
            after >= IDLE - Duration::from_millis(100) && after < IDLE + SLACK,
            "{after:?}"
        );
    }

    // Every connection is accounted for, and the first address is welcome again.
    let deadline = Instant::now() + Duration::from_secs(3);
    while s.state.metrics().open_connections() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.state.metrics().open_connections(), 0);
    let mut c = connect_from("127.0.0.2", addr).await;
    c.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (status, _, metrics) = read_response(&mut c).await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("elicense_open_connections 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("elicense_connections_refused_total{cap=\"per_client\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("elicense_connections_refused_total{cap=\"total\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("route=\"unparsed\",status=\"408\"} 3"),
        "{metrics}"
    );
}

#[test]
fn out_of_file_descriptors_the_accept_loop_logs_and_carries_on() {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::process::{Command, Stdio};
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("prlimit not found: skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("prlimit");
    cmd.args(["--nofile=64:64", env!("CARGO_BIN_EXE_elicense"), "serve"])
        .args(["--bind", "127.0.0.1:0", "--log-format", "json"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "ELICENSE_KEYS",
        "ELICENSE_DATA",
        "ELICENSE_PUBLIC_URL",
        "ELICENSE_BIND",
        "ELICENSE_CONFIG",
        "ELICENSE_LOG_FORMAT",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = log.clone();
    std::thread::spawn(move || {
        let mut stderr = stderr;
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "serve exited: {}",
            log.lock().unwrap()
        );
        if let Some(rest) = line.trim().strip_prefix("elicense serving on http://") {
            break rest.to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));

    // More connections than the process has file descriptors.
    let flood: Vec<_> = (0..100)
        .filter_map(|_| std::net::TcpStream::connect(&addr).ok())
        .collect();
    assert!(flood.len() > 64, "only {} connections", flood.len());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.lock().unwrap().contains("out of file descriptors") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let logged = log.lock().unwrap().clone();
    assert!(logged.contains("out of file descriptors"), "{logged}");
    assert!(logged.contains("os error 24"), "{logged}");
    // Logged at most about once a second, not once per failed accept.
    let lines = logged.matches("out of file descriptors").count();
    assert!(lines <= 12, "{lines} lines");

    // The flood ends: the service answers again.
    drop(flood);
    let deadline = Instant::now() + Duration::from_secs(10);
    let answered = loop {
        let ok = std::net::TcpStream::connect(&addr).ok().and_then(|mut c| {
            c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            c.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .ok()?;
            let mut text = String::new();
            let _ = c.read_to_string(&mut text);
            Some(text.starts_with("HTTP/1.1 200 "))
        });
        if ok == Some(true) || Instant::now() > deadline {
            break ok == Some(true);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(
        answered,
        "no answer after the flood: {}",
        log.lock().unwrap()
    );
    assert!(status.success(), "{status:?}: {}", log.lock().unwrap());
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_up_to_a_refused_head() {
    let s = start();
    let addr: SocketAddr = s.url.trim_start_matches("http://").parse().unwrap();
    let mut c = connect_from("127.0.0.1", addr).await;
    // A chunked body with trailers, a request without body, then a smuggling attempt.
    c.write_all(
        b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n\
          3\r\nabc\r\n0\r\nX-Trailer: 1\r\n\r\n\
          GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n\
          POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabc",
    )
    .await
    .unwrap();
    // Everything the server sends until it closes, split into responses (several may
    // arrive in one read).
    let mut all = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), c.read_to_end(&mut all))
        .await
        .expect("the server closes after the refused head")
        .unwrap();
    let mut responses = Vec::new();
    let mut rest = String::from_utf8_lossy(&all).into_owned();
    while let Some((head, after)) = rest.split_once("\r\n\r\n") {
        let len = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let body = after[..len.min(after.len())].to_owned();
        responses.push((status, head.to_owned(), body));
        rest = after[len.min(after.len())..].to_owned();
    }
    assert!(rest.is_empty(), "trailing bytes: {rest:?}");
    assert_eq!(responses.len(), 3, "{responses:?}");
    let (first, _, body) = &responses[0];
    assert!((200..500).contains(first), "{first}: {body}");
    assert!(
        body.contains("\"verdict\"") || body.contains("\"error\""),
        "{body}"
    );
    assert_eq!(responses[1].0, 200);
    let (status, head, body) = &responses[2];
    assert_eq!(*status, 400, "{head}\n{body}");
    assert!(body.contains("\"conflicting_content_length\""), "{body}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
}
