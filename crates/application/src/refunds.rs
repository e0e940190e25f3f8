//! Refund routes: a photo upload slot, the request, the owner's decision.

use crate::access::{load_customer_order, load_store_order};
use crate::error::AppError;
use crate::ordering::ChangePorts;
use crate::views::{OrderView, PhotoUploadView};
use foodstream_domain::identity::Caller;
use foodstream_domain::ports::{Clock, OrderRepository, PhotoStore, Pinned, StoredPhoto};
use foodstream_domain::refund::{
    PhotoUpload, RefundDecisionInput, RefundPolicy, RefundRequestInput, ValidRefundRequest,
};
use serde::Deserialize;

/// The body of `POST /orders/{orderId}/refund-photos`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PhotoUploadInput {
    /// The photo's type: `image/jpeg` or `image/png`.
    pub content_type: String,
}

/// The ports of [`create_photo_upload`].
pub struct PhotoPorts<'a> {
    /// Where the order is read.
    pub orders: &'a dyn OrderRepository,
    /// Where the upload is presigned.
    pub photos: &'a dyn PhotoStore,
    /// When the refund window is checked.
    pub clock: &'a dyn Clock,
    /// The refund window.
    pub refund: &'a RefundPolicy,
}

/// Hands the customer a presigned POST for the photo of their order: one
/// key per order, its policy fixing the content type and 1 byte..5 MiB,
/// valid for minutes. Refused early when no refund could follow.
pub async fn create_photo_upload(
    ports: PhotoPorts<'_>,
    caller: &Caller,
    order_id: &str,
    input: PhotoUploadInput,
) -> Result<PhotoUploadView, AppError> {
    let order = load_customer_order(ports.orders, caller, order_id).await?;
    let slot = PhotoUpload::for_order(&order.order_id, &input.content_type)?;
    order.check_refundable(ports.refund, ports.clock.now())?;
    let upload =
        ports.photos.presign_upload(&slot.key, &slot.content_type, slot.max_bytes, slot.expires_in).await?;
    Ok(PhotoUploadView::of(slot.key, upload))
}

/// `POST /orders/{orderId}/refund-request`: within the window, once, with
/// a photo that was really uploaded.
pub async fn request_refund(
    ports: ChangePorts<'_>,
    photos: &dyn PhotoStore,
    caller: &Caller,
    order_id: &str,
    input: RefundRequestInput,
) -> Result<OrderView, AppError> {
    let order = load_customer_order(ports.orders, caller, order_id).await?;
    let request = input.validate(&order.order_id)?;
    let now = ports.clock.now();
    // State and window first: a late request is told so, whatever its photo.
    order.check_refundable(&ports.settings.refund, now)?;
    let pinned = pin_checked_photo(photos, &request.photo_key).await?;
    // The refund names the pinned copy: the owner sees exactly the photo
    // that was checked, whatever is uploaded at the order's key later.
    let request = ValidRefundRequest { photo_key: pinned, ..request };
    let policy = ports.settings.refund;
    ports.apply(order, |o, now| Ok(o.request_refund(request.clone(), &policy, now)?.into())).await
}

/// How often a photo replaced between its check and its copy is checked
/// again before the request is refused.
const PIN_ATTEMPTS: usize = 3;

/// Checks the uploaded photo and pins exactly that object; answers the
/// pinned copy's key.
async fn pin_checked_photo(photos: &dyn PhotoStore, key: &str) -> Result<String, AppError> {
    for _ in 0..PIN_ATTEMPTS {
        let checked = check_uploaded(photos, key).await?;
        match photos.pin(key, &checked).await? {
            Pinned::At { key } => return Ok(key),
            Pinned::Changed => continue,
        }
    }
    Err(AppError::invalid("photo_key", "the photo kept being replaced while it was checked; ask again"))
}

/// `POST /orders/{orderId}/refund-request/decision` with `{approve, reason?}`.
pub async fn decide_refund(
    ports: ChangePorts<'_>,
    caller: &Caller,
    order_id: &str,
    input: RefundDecisionInput,
) -> Result<OrderView, AppError> {
    let order = load_store_order(ports.orders, caller, order_id).await?;
    let reason = input.reason.as_deref();
    ports
        .apply(order, |o, now| {
            let transition = if input.approve {
                o.approve_refund(reason, now)?
            } else {
                o.reject_refund(reason.unwrap_or(""), now)?
            };
            Ok(transition.into())
        })
        .await
}

/// The photo must have been uploaded, as an image, within the size limit
/// (the POST policy bounds both; checked again for stores that do not
/// enforce policies).
async fn check_uploaded(photos: &dyn PhotoStore, key: &str) -> Result<StoredPhoto, AppError> {
    let photo = photos
        .stat(key)
        .await?
        .ok_or_else(|| AppError::invalid("photo_key", "no photo was uploaded at this key"))?;
    if photo.bytes > PhotoUpload::MAX_BYTES {
        return Err(AppError::invalid(
            "photo_key",
            format!("the photo is {} bytes; at most {} are accepted", photo.bytes, PhotoUpload::MAX_BYTES),
        ));
    }
    match photo.content_type.as_deref() {
        Some("image/jpeg" | "image/png") => Ok(photo),
        other => Err(AppError::invalid(
            "photo_key",
            format!("the upload is {}, not image/jpeg or image/png", other.unwrap_or("of unknown type")),
        )),
    }
}
