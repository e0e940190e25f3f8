//! Refund photos in S3: a presigned PUT bound to the content type with a
//! short expiry, and a HEAD to check what was uploaded.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::presigning::PresigningConfig;
use chrono::Duration;
use foodstream_domain::ports::{PhotoStore, PortError, PresignedUpload, StoredPhoto};

#[derive(Clone)]
pub struct S3PhotoStore {
    client: Client,
    bucket: String,
}

impl S3PhotoStore {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3PhotoStore { client, bucket: bucket.into() }
    }
}

#[async_trait]
impl PhotoStore for S3PhotoStore {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        _max_bytes: u64,
        expires_in: Duration,
    ) -> Result<PresignedUpload, PortError> {
        let expires = expires_in.to_std().map_err(|e| PortError::Corrupt(e.to_string()))?;
        let config = PresigningConfig::expires_in(expires).map_err(|e| PortError::Corrupt(e.to_string()))?;
        // The content type is part of the signature: the client must send
        // exactly it. The size is checked when the refund is requested.
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .presigned(config)
            .await
            .map_err(|e| PortError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(e).to_string()))?;
        Ok(PresignedUpload { url: request.uri().to_string(), expires_at: chrono::Utc::now() + expires_in })
    }

    async fn stat(&self, key: &str) -> Result<Option<StoredPhoto>, PortError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(head) => Ok(Some(StoredPhoto {
                bytes: head.content_length().unwrap_or(0).max(0) as u64,
                content_type: head.content_type().map(String::from),
            })),
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(e) => Err(PortError::Unavailable(aws_sdk_s3::error::DisplayErrorContext(e).to_string())),
        }
    }
}
