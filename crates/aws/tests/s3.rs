//! The refund photo store against the real emulator: a presigned POST that
//! a plain HTTP client can use (a browser form, a phone), its policy
//! bounding the upload, and HEAD of what was uploaded.

use foodstream_testkit as support;

use base64::Engine;
use chrono::Duration;
use foodstream_aws::S3PhotoStore;
use foodstream_domain::ports::{PhotoStore, Pinned, PresignedUpload};
use std::io::{Read, Write};
use std::net::TcpStream;

/// POSTs the upload form with `file` as a phone would: the policy's fields
/// first, the file last, as `multipart/form-data` on a bare HTTP/1.1
/// connection. The status and the body of the answer.
fn http_post_form(upload: &PresignedUpload, content_type: &str, file: &[u8]) -> (u16, String) {
    let rest = upload.url.strip_prefix("http://").expect("the emulator speaks plain HTTP");
    let (host, path) = rest.split_once('/').unwrap();
    let boundary = "foodstream-form-boundary";
    let mut body = Vec::new();
    for (name, value) in &upload.fields {
        let value = if name == "Content-Type" { content_type } else { value.as_str() };
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                .bytes(),
        );
    }
    body.extend(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo\"\r\nContent-Type: {content_type}\r\n\r\n")
            .bytes(),
    );
    body.extend_from_slice(file);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let mut stream = TcpStream::connect(host).unwrap();
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&body).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer)
}

async fn store() -> (S3PhotoStore, String) {
    let config = support::config().await;
    let client = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build(),
    );
    let bucket = support::unique("photos").to_lowercase();
    client.create_bucket().bucket(&bucket).send().await.unwrap();
    (S3PhotoStore::new(&config, client, &bucket), bucket)
}

#[tokio::test]
async fn a_presigned_post_uploads_the_photo_and_stat_sees_its_size_and_type() {
    let (store, bucket) = store().await;
    let key = "refund-photos/o-1/photo";
    assert_eq!(store.stat(key).await.unwrap(), None);
    let upload =
        store.presign_upload(key, "image/jpeg", 5 * 1024 * 1024, Duration::seconds(300)).await.unwrap();
    assert!(upload.url.ends_with(&bucket), "{}", upload.url);
    assert_eq!(upload.fields["key"], key);
    assert_eq!(upload.fields["Content-Type"], "image/jpeg");
    let (status, answer) = http_post_form(&upload, "image/jpeg", &[0xFF; 2048]);
    assert!((200..300).contains(&status), "{answer}");
    let stored = store.stat(key).await.unwrap().unwrap();
    assert_eq!(stored.bytes, 2048);
    assert_eq!(stored.content_type.as_deref(), Some("image/jpeg"));
}

#[tokio::test]
async fn an_oversized_upload_is_refused_by_the_policy() {
    let (store, _) = store().await;
    let key = "refund-photos/o-2/photo";
    let max = 64 * 1024;
    let upload = store.presign_upload(key, "image/png", max, Duration::seconds(300)).await.unwrap();
    // The policy itself, signed into the form: what S3 enforces.
    let policy = base64::engine::general_purpose::STANDARD.decode(&upload.fields["policy"]).unwrap();
    let policy: serde_json::Value = serde_json::from_slice(&policy).unwrap();
    let conditions = policy["conditions"].as_array().unwrap();
    assert!(conditions.contains(&serde_json::json!(["content-length-range", 1, max])), "{policy}");
    assert!(conditions.contains(&serde_json::json!({"key": key})), "{policy}");
    assert!(conditions.contains(&serde_json::json!({"Content-Type": "image/png"})), "{policy}");
    // Where the emulator enforces policies, the upload is refused and
    // nothing is stored; where it does not, the policy above is the proof.
    let (status, answer) = http_post_form(&upload, "image/png", &vec![0u8; max as usize + 1]);
    if (200..300).contains(&status) {
        eprintln!(
            "the emulator does not enforce content-length-range; the signed policy was checked instead"
        );
        let stored = store.stat(key).await.unwrap().unwrap();
        assert_eq!(stored.bytes, max + 1);
    } else {
        assert!(answer.contains("EntityTooLarge") || status == 400, "{answer}");
        assert_eq!(store.stat(key).await.unwrap(), None, "a refused upload stores nothing");
    }
}

/// A refund pins the photo it checked: the copy is of exactly that upload
/// (matched by its entity tag), at a key no upload policy names, and a
/// later upload at the order's key changes nothing of it. A copy asked for
/// with the entity tag of a replaced upload is refused.
#[tokio::test]
async fn a_pinned_photo_is_the_checked_upload_whatever_is_uploaded_later() {
    let (store, _) = store().await;
    let key = "refund-photos/o-3/photo";
    let upload =
        store.presign_upload(key, "image/jpeg", 5 * 1024 * 1024, Duration::seconds(300)).await.unwrap();
    let (status, answer) = http_post_form(&upload, "image/jpeg", &[0xAA; 1000]);
    assert!((200..300).contains(&status), "{answer}");
    let checked = store.stat(key).await.unwrap().unwrap();
    assert!(!checked.etag.is_empty(), "S3 names every object's entity tag");

    let Pinned::At { key: pinned } = store.pin(key, &checked).await.unwrap() else {
        panic!("the checked upload is still there")
    };
    assert!(pinned.starts_with("refund-photos/o-3/pinned/"), "{pinned}");
    assert_eq!(
        store.pin(key, &checked).await.unwrap(),
        Pinned::At { key: pinned.clone() },
        "same upload, same copy"
    );

    // The same presigned POST, reused within its 300 s: a new upload.
    let (status, answer) = http_post_form(&upload, "image/jpeg", &[0xBB; 3000]);
    assert!((200..300).contains(&status), "{answer}");
    let replaced = store.stat(key).await.unwrap().unwrap();
    assert_ne!(replaced.etag, checked.etag);
    let kept = store.stat(&pinned).await.unwrap().unwrap();
    assert_eq!((kept.bytes, &kept.etag), (1000, &checked.etag), "the pinned copy is the checked upload");
    assert_eq!(store.pin(key, &checked).await.unwrap(), Pinned::At { key: pinned.clone() }, "pinned before");
    let kept = store.stat(&pinned).await.unwrap().unwrap();
    assert_eq!((kept.bytes, &kept.etag), (1000, &checked.etag), "never copied over");

    // An upload checked, then replaced before it was ever pinned: not pinned.
    let (status, answer) = http_post_form(&upload, "image/jpeg", &[0xCC; 500]);
    assert!((200..300).contains(&status), "{answer}");
    let checked_then_replaced = store.stat(key).await.unwrap().unwrap();
    let (status, answer) = http_post_form(&upload, "image/jpeg", &[0xDD; 700]);
    assert!((200..300).contains(&status), "{answer}");
    assert_eq!(store.pin(key, &checked_then_replaced).await.unwrap(), Pinned::Changed);
}
