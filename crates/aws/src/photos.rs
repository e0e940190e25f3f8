//! Refund photos in S3: a presigned POST whose signed policy fixes the key,
//! the content type and the size range, with a short expiry; and a HEAD to
//! check what was uploaded.
//!
//! The SDK presigns only single requests (GET, PUT), whose size cannot be
//! bounded; a POST policy can. It is signed as S3 documents it: the
//! base64 policy is the string to sign, with the SigV4 signing key of the
//! day, region and `s3` (`aws_sigv4::sign::v4`).

use crate::access::{Grant, Resource};
use async_trait::async_trait;
use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use foodstream_domain::ports::{PhotoStore, Pinned, PortError, PresignedUpload, StoredPhoto};
use serde_json::json;
use std::collections::BTreeMap;

/// The refund photos' bucket: a presigned upload per photo, a check of
/// what was uploaded, and a copy pinned to that very upload.
#[derive(Clone)]
pub struct S3PhotoStore {
    client: Client,
    bucket: String,
    /// What the POST policy is signed with: the function's own credentials
    /// (its role's, on Lambda) and region.
    credentials: Option<SharedCredentialsProvider>,
    region: String,
}

/// The photos' objects: the only keys the functions may touch.
const PHOTOS: Resource = Resource::Objects { bucket: "PhotosBucket", prefix: "refund-photos/" };

impl S3PhotoStore {
    /// `presign_upload`: the POST is signed with the function's credentials,
    /// so the upload is the function's own `PutObject`.
    pub const PRESIGN_UPLOAD: &[Grant] = &[Grant::new("s3:PutObject", PHOTOS)];
    /// `stat`: a HEAD, which S3 authorises as `GetObject`.
    pub const STAT: &[Grant] = &[Grant::new("s3:GetObject", PHOTOS)];
    /// `pin`: a `CopyObject` within the prefix, which S3 authorises as
    /// `GetObject` on the source and `PutObject` on the copy.
    pub const PIN: &[Grant] = &[Grant::new("s3:GetObject", PHOTOS), Grant::new("s3:PutObject", PHOTOS)];

    /// A store on `bucket` with `client`, signing upload policies with the
    /// credentials and region of `config` (the one `client` was built from).
    pub fn new(config: &SdkConfig, client: Client, bucket: impl Into<String>) -> Self {
        S3PhotoStore {
            client,
            bucket: bucket.into(),
            credentials: config.credentials_provider(),
            region: config.region().map(|r| r.to_string()).unwrap_or_else(|| "us-east-1".into()),
        }
    }

    /// The bucket's URL as the client is configured to reach it (virtual
    /// host on AWS, path style on an emulator): a presigned request for the
    /// key, less the key and the query.
    async fn bucket_url(&self, key: &str) -> Result<String, PortError> {
        let config = PresigningConfig::expires_in(std::time::Duration::from_secs(60)).map_err(corrupt)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| PortError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        let uri = request.uri();
        let without_query = uri.split('?').next().unwrap_or(uri);
        let base = without_query.strip_suffix(key).ok_or_else(|| {
            PortError::Corrupt(format!("presigned URL {without_query} does not end in {key}"))
        })?;
        // `https://bucket.s3.region.amazonaws.com/` stays; `http://host:port/bucket/` loses its slash.
        let trimmed = base.strip_suffix('/').filter(|b| b.matches('/').count() > 2).unwrap_or(base);
        Ok(trimmed.to_owned())
    }
}

fn corrupt(error: impl std::fmt::Display) -> PortError {
    PortError::Corrupt(error.to_string())
}

/// The form fields of a presigned POST of `key` limited to `content_type`
/// and 1..=`max_bytes` bytes, signed at `now` until `expires_at`.
#[allow(clippy::too_many_arguments)]
pub fn post_policy_fields(
    bucket: &str,
    key: &str,
    content_type: &str,
    max_bytes: u64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    region: &str,
    credentials: &aws_credential_types::Credentials,
) -> BTreeMap<String, String> {
    let date = now.format("%Y%m%d").to_string();
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let credential = format!("{}/{date}/{region}/s3/aws4_request", credentials.access_key_id());
    let mut conditions = vec![
        json!({"bucket": bucket}),
        json!({"key": key}),
        json!({"Content-Type": content_type}),
        json!(["content-length-range", 1, max_bytes]),
        json!({"x-amz-algorithm": "AWS4-HMAC-SHA256"}),
        json!({"x-amz-credential": credential}),
        json!({"x-amz-date": amz_date}),
    ];
    if let Some(token) = credentials.session_token() {
        conditions.push(json!({"x-amz-security-token": token}));
    }
    let policy = json!({
        "expiration": expires_at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "conditions": conditions,
    });
    let encoded = STANDARD.encode(policy.to_string());
    let signing_key =
        aws_sigv4::sign::v4::generate_signing_key(credentials.secret_access_key(), now.into(), region, "s3");
    let signature = aws_sigv4::sign::v4::calculate_signature(signing_key, encoded.as_bytes());
    let mut fields = BTreeMap::from([
        ("key".to_owned(), key.to_owned()),
        ("Content-Type".to_owned(), content_type.to_owned()),
        ("policy".to_owned(), encoded),
        ("x-amz-algorithm".to_owned(), "AWS4-HMAC-SHA256".to_owned()),
        ("x-amz-credential".to_owned(), credential),
        ("x-amz-date".to_owned(), amz_date),
        ("x-amz-signature".to_owned(), signature),
    ]);
    if let Some(token) = credentials.session_token() {
        fields.insert("x-amz-security-token".to_owned(), token.to_owned());
    }
    fields
}

#[async_trait]
impl PhotoStore for S3PhotoStore {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        expires_in: Duration,
    ) -> Result<PresignedUpload, PortError> {
        let provider = self
            .credentials
            .as_ref()
            .ok_or_else(|| PortError::Corrupt("no AWS credentials to sign upload policies with".into()))?;
        let credentials = provider
            .provide_credentials()
            .await
            .map_err(|e| PortError::Unavailable(format!("credentials: {e}")))?;
        let now = Utc::now();
        let expires_at = now + expires_in;
        let fields = post_policy_fields(
            &self.bucket,
            key,
            content_type,
            max_bytes,
            now,
            expires_at,
            &self.region,
            &credentials,
        );
        Ok(PresignedUpload { url: self.bucket_url(key).await?, fields, expires_at })
    }

    async fn stat(&self, key: &str) -> Result<Option<StoredPhoto>, PortError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(Some(StoredPhoto {
                bytes: head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                content_type: head.content_type().map(String::from),
                etag: head.e_tag().unwrap_or_default().to_owned(),
            })),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            // Without s3:ListBucket (which cannot be limited to a prefix for
            // a HEAD), S3 answers a missing key with 403, not 404. The
            // function may read every key under the prefix, so a 403 here
            // means the photo is not there.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => Ok(None),
            Err(e) => Err(PortError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(e).to_string())),
        }
    }

    async fn pin(&self, key: &str, checked: &StoredPhoto) -> Result<Pinned, PortError> {
        self.copy_if_unchanged(key, checked).await
    }
}

impl S3PhotoStore {
    async fn copy_if_unchanged(&self, key: &str, checked: &StoredPhoto) -> Result<Pinned, PortError> {
        let pinned = foodstream_domain::refund::pinned_photo_key(key, &checked.etag)
            .ok_or_else(|| PortError::Corrupt(format!("unusable entity tag {:?} at {key}", checked.etag)))?;
        // Pinned before (a retried request): the copy is named by the
        // upload's entity tag, so it is that upload; never copied over.
        if self.stat(&pinned).await?.is_some_and(|copy| copy.etag == checked.etag) {
            return Ok(Pinned::At { key: pinned });
        }
        // The source names the bucket and the key, URL-encoded as S3 asks;
        // keys here are ASCII letters, digits, '-', '_' and '/'.
        let source = format!("{}/{}", self.bucket, percent_encoding::utf8_percent_encode(key, COPY_SOURCE));
        let copy = self
            .client
            .copy_object()
            .bucket(&self.bucket)
            .key(&pinned)
            .copy_source(source)
            // Exactly the object that was checked: a newer upload at the
            // key fails the copy (412) instead of being pinned unchecked.
            .copy_source_if_match(&checked.etag)
            .send()
            .await;
        match copy {
            // The copy's entity tag is checked too: an emulator that ignores
            // the copy condition (moto does) copied whatever is there now.
            Ok(done) => match done.copy_object_result().and_then(|r| r.e_tag()) {
                Some(etag) if etag == checked.etag => Ok(Pinned::At { key: pinned }),
                _ => Ok(Pinned::Changed),
            },
            Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 412 | 404)) => {
                Ok(Pinned::Changed)
            }
            Err(e) => Err(PortError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(e).to_string())),
        }
    }
}

/// What `CopySource` leaves as it is: unreserved characters and the path's
/// slashes.
const COPY_SOURCE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_policy_fixes_key_type_and_size_and_is_signed_as_s3_documents() {
        let now = Utc.with_ymd_and_hms(2026, 11, 29, 4, 0, 0).unwrap();
        let credentials =
            aws_credential_types::Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "t");
        let fields = post_policy_fields(
            "photos",
            "refund-photos/o-1/photo",
            "image/png",
            5 * 1024 * 1024,
            now,
            now + Duration::seconds(300),
            "ap-northeast-2",
            &credentials,
        );
        let policy: serde_json::Value =
            serde_json::from_slice(&STANDARD.decode(&fields["policy"]).unwrap()).unwrap();
        assert_eq!(policy["expiration"], "2026-11-29T04:05:00.000Z");
        let conditions = policy["conditions"].as_array().unwrap();
        for expected in [
            json!({"key": "refund-photos/o-1/photo"}),
            json!({"Content-Type": "image/png"}),
            json!(["content-length-range", 1, 5242880]),
            json!({"x-amz-security-token": "token"}),
            json!({"x-amz-credential": "AKIDEXAMPLE/20261129/ap-northeast-2/s3/aws4_request"}),
        ] {
            assert!(conditions.contains(&expected), "{expected} missing from {policy}");
        }
        assert_eq!(fields["x-amz-date"], "20261129T040000Z");
        // The signature is HMAC-SHA256 of the base64 policy with the day's key.
        let key = aws_sigv4::sign::v4::generate_signing_key("secret", now.into(), "ap-northeast-2", "s3");
        assert_eq!(
            fields["x-amz-signature"],
            aws_sigv4::sign::v4::calculate_signature(key, fields["policy"].as_bytes())
        );
        assert_eq!(fields["x-amz-signature"].len(), 64);
    }
}
