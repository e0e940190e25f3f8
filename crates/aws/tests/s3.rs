//! The refund photo store against the real emulator: a presigned PUT that a
//! plain HTTP client can use, and HEAD of what was uploaded.

use foodstream_testkit as support;

use chrono::Duration;
use foodstream_aws::S3PhotoStore;
use foodstream_domain::ports::PhotoStore;
use std::io::{Read, Write};
use std::net::TcpStream;

/// PUTs `body` to `url` the way a phone would, with a bare HTTP/1.1 request.
fn http_put(url: &str, content_type: &str, body: &[u8]) -> u16 {
    let rest = url.strip_prefix("http://").expect("the emulator speaks plain HTTP");
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    let head = format!(
        "PUT /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

#[tokio::test]
async fn a_presigned_put_uploads_the_photo_and_stat_sees_its_size_and_type() {
    let config = support::config().await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build(),
    );
    let bucket = support::unique("photos").to_lowercase();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    let store = S3PhotoStore::new(client, &bucket);

    let key = "refund-photos/o-1/p-1.jpg";
    assert_eq!(store.stat(key).await.unwrap(), None);
    let upload =
        store.presign_upload(key, "image/jpeg", 5 * 1024 * 1024, Duration::seconds(300)).await.unwrap();
    assert!(upload.url.contains(&bucket) && upload.url.contains("X-Amz-Signature"), "{}", upload.url);
    assert!(upload.url.contains("X-Amz-Expires=300"), "{}", upload.url);
    let photo = vec![0xFFu8; 2048];
    assert_eq!(http_put(&upload.url, "image/jpeg", &photo), 200);
    let stored = store.stat(key).await.unwrap().unwrap();
    assert_eq!(stored.bytes, 2048);
    assert_eq!(stored.content_type.as_deref(), Some("image/jpeg"));
}
