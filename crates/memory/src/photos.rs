use async_trait::async_trait;
use chrono::Duration;
use foodstream_domain::ports::{Clock, PhotoStore, Pinned, PortError, PresignedUpload, StoredPhoto};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Object storage for refund photos: `upload` plays the client's POST.
pub struct InMemoryPhotoStore {
    clock: Arc<dyn Clock>,
    objects: Mutex<HashMap<String, StoredPhoto>>,
    uploads: std::sync::atomic::AtomicU64,
}

impl InMemoryPhotoStore {
    /// An empty store; `clock` dates the expiry of presigned uploads.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        InMemoryPhotoStore { clock, objects: Mutex::new(HashMap::new()), uploads: Default::default() }
    }

    /// A 100 KiB JPEG at `key`.
    pub fn upload(&self, key: &str) {
        self.upload_object(key, 100 * 1024, "image/jpeg");
    }

    /// Stores an object of `bytes` bytes and `content_type` at `key`, with a
    /// new entity tag, replacing any object there.
    pub fn upload_object(&self, key: &str, bytes: u64, content_type: &str) {
        // Every upload is a new object with a new entity tag, as on S3.
        let n = self.uploads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let photo =
            StoredPhoto { bytes, content_type: Some(content_type.to_owned()), etag: format!("upload-{n}") };
        self.objects.lock().unwrap().insert(key.to_owned(), photo);
    }

    /// The object at `key`, pinned copies included.
    pub fn object(&self, key: &str) -> Option<StoredPhoto> {
        self.objects.lock().unwrap().get(key).cloned()
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
        let fields = [
            ("key", key.to_owned()),
            ("Content-Type", content_type.to_owned()),
            ("max-bytes", max_bytes.to_string()),
        ];
        Ok(PresignedUpload {
            url: "memory://photos".into(),
            fields: fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            expires_at,
        })
    }

    async fn stat(&self, key: &str) -> Result<Option<StoredPhoto>, PortError> {
        Ok(self.object(key))
    }

    async fn pin(&self, key: &str, checked: &StoredPhoto) -> Result<Pinned, PortError> {
        let mut objects = self.objects.lock().unwrap();
        match objects.get(key).cloned() {
            Some(current) if current.etag == checked.etag => {
                let pinned = foodstream_domain::refund::pinned_photo_key(key, &checked.etag)
                    .ok_or_else(|| PortError::Corrupt(format!("unusable entity tag {}", checked.etag)))?;
                objects.insert(pinned.clone(), current);
                Ok(Pinned::At { key: pinned })
            }
            _ => Ok(Pinned::Changed),
        }
    }
}
