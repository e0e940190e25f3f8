use async_trait::async_trait;
use chrono::Duration;
use foodstream_domain::ports::{Clock, PhotoStore, PortError, PresignedUpload};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Object storage for refund photos: `upload` plays the client's PUT.
pub struct InMemoryPhotoStore {
    clock: Arc<dyn Clock>,
    objects: Mutex<HashSet<String>>,
}

impl InMemoryPhotoStore {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        InMemoryPhotoStore { clock, objects: Mutex::new(HashSet::new()) }
    }

    pub fn upload(&self, key: &str) {
        self.objects.lock().unwrap().insert(key.to_owned());
    }
}

#[async_trait]
impl PhotoStore for InMemoryPhotoStore {
    async fn presign_upload(
        &self,
        key: &str,
        content_type: &str,
        max_bytes: u64,
        expires_in: Duration,
    ) -> Result<PresignedUpload, PortError> {
        let expires_at = self.clock.now() + expires_in;
        Ok(PresignedUpload {
            url: format!("memory://photos/{key}?content-type={content_type}&max-bytes={max_bytes}"),
            expires_at,
        })
    }

    async fn exists(&self, key: &str) -> Result<bool, PortError> {
        Ok(self.objects.lock().unwrap().contains(key))
    }
}
