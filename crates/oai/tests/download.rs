//! Downloads as streams: a file far larger than the response cap goes to
//! disk with bounded memory, its length checked against what the server
//! declared. The server here writes its bytes as it goes (nothing is held
//! whole on either side), so the process's peak memory says what the
//! client held.
#![cfg(all(feature = "files", target_os = "linux"))]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The byte at `offset` of the served file.
fn byte_at(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// A server answering one request with a `declared`-byte body of which it
/// sends `sent` bytes, then closes.
async fn serve(declared: u64, sent: u64) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        // The request's head (the client sends no body for a GET).
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            if socket.read(&mut byte).await.unwrap() == 0 {
                return;
            }
            head.push(byte[0]);
        }
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {declared}\r\nx-request-id: req_download\r\n\r\n"
        );
        socket.write_all(answer.as_bytes()).await.unwrap();
        let mut chunk = vec![0u8; 64 << 10];
        let mut offset = 0u64;
        while offset < sent {
            let n = (sent - offset).min(chunk.len() as u64) as usize;
            for (i, b) in chunk[..n].iter_mut().enumerate() {
                *b = byte_at(offset + i as u64);
            }
            if socket.write_all(&chunk[..n]).await.is_err() {
                return;
            }
            offset += n as u64;
        }
        let _ = socket.shutdown().await;
    });
    format!("http://{addr}/v1")
}

fn client(base_url: String) -> oai::Client {
    oai::Client::new(
        oai::Config::builder()
            .api_key("sk-test-9f2c")
            .base_url(base_url)
            .max_retries(0)
            .build()
            .unwrap(),
    )
    .unwrap()
}

/// A field of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gibibyte_downloads_to_disk_under_64_mib_of_memory_and_a_cut_one_fails() {
    const GIB: u64 = 1 << 30;
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("oai-download-1gib.bin");

    let before = status_kib("VmRSS:");
    let started = std::time::Instant::now();
    let mut file = tokio::fs::File::create(&path).await.unwrap();
    let written = client(serve(GIB, GIB).await)
        .files()
        .content("file-big")
        .write_to(&mut file)
        .await
        .unwrap();
    drop(file);
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:");
    assert_eq!(written, GIB);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), GIB);
    // The bytes are the server's, in order: sampled across the file.
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(&path).unwrap();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..256 {
            let at = rng.u64(0..GIB - 16);
            let mut got = [0u8; 16];
            f.seek(SeekFrom::Start(at)).unwrap();
            f.read_exact(&mut got).unwrap();
            let want: Vec<u8> = (at..at + 16).map(byte_at).collect();
            assert_eq!(&got[..], &want[..], "at {at}");
        }
    }
    std::fs::remove_file(&path).unwrap();
    let grew_mib = peak.saturating_sub(before) as f64 / 1024.0;
    println!(
        "1 GiB to disk in {:.1} s; resident before {} MiB, peak {} MiB: grew {grew_mib:.1} MiB",
        elapsed.as_secs_f64(),
        before / 1024,
        peak / 1024
    );
    assert!(grew_mib < 64.0, "peak memory grew by {grew_mib:.1} MiB");

    // A body that ends before its declared length is an error, not a
    // short file taken for a whole one.
    let mut sink = tokio::io::sink();
    let err = client(serve(1 << 20, 300_000).await)
        .files()
        .content("file-cut")
        .write_to(&mut sink)
        .await
        .unwrap_err();
    assert!(err.is_truncated(), "{err}");

    // The stream form: chunks as they arrive, the metadata at hand, and a
    // byte cap when the call sets one.
    let mut body = client(serve(1 << 20, 1 << 20).await)
        .files()
        .content("file-small")
        .bytes_stream()
        .await
        .unwrap();
    assert_eq!(body.declared_length(), Some(1 << 20));
    assert_eq!(body.meta().request_id(), Some("req_download"));
    let mut n = 0u64;
    while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
        n += chunk.unwrap().len() as u64;
    }
    assert_eq!(n, 1 << 20);
    let err = client(serve(1 << 20, 1 << 20).await)
        .files()
        .content("file-capped")
        .options(oai::RequestOptions::new().max_response_bytes(100_000))
        .write_to(&mut tokio::io::sink())
        .await
        .unwrap_err();
    assert!(err.is_limit(), "{err}");
    // Awaiting the call still reads the body whole, under the cap.
    let err = client(serve(1 << 20, 1 << 20).await)
        .files()
        .content("file-capped")
        .options(oai::RequestOptions::new().max_response_bytes(100_000))
        .await
        .unwrap_err();
    assert!(err.is_body_too_large(), "{err}");
    tokio::time::sleep(Duration::from_millis(10)).await;
}
