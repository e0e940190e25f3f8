//! Refund photos, requests inside and outside the window, and the owner's
//! three decisions.

mod support;
use support::*;

use chrono::Duration;
use foodstream_application::AppError;
use foodstream_application::ordering::{accept_order, request_delivery};
use foodstream_application::refunds::{PhotoUploadInput, create_photo_upload, decide_refund, request_refund};
use foodstream_application::views::OrderView;
use foodstream_domain::order::OrderStatus;
use foodstream_domain::refund::{RefundDecisionInput, RefundMethod, RefundRequestInput, RefundStatus};
use foodstream_handlers::http::error::ApiError;

/// A delivered order and the world it lives in; the clock is at delivery.
async fn delivered() -> (World, String) {
    let mut w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    w.register_rider("r-1", "Gangnam-gu").await;
    let id = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id;
    accept_order(w.change_ports(), &owner(), &id).await.unwrap();
    request_delivery(w.change_ports(), &owner(), &id).await.unwrap();
    w.pump().await;
    assert_eq!(w.order(&id).await.status, OrderStatus::Delivered);
    (w, id)
}

/// Uploads a photo as the client would and returns its key.
async fn photo(w: &World, id: &str) -> String {
    let input = PhotoUploadInput { content_type: "image/jpeg".into() };
    let upload = create_photo_upload(w.photo_ports(), &customer(), id, input).await.unwrap();
    w.photos.upload(&upload.photo_key);
    upload.photo_key
}

async fn ask(w: &World, id: &str, key: &str, method: &str) -> Result<OrderView, AppError> {
    let input = RefundRequestInput {
        photo_key: key.into(),
        reason: "the soup was cold".into(),
        method: method.into(),
    };
    request_refund(w.change_ports(), &w.photos, &customer(), id, input).await
}

async fn decide(w: &World, id: &str, approve: bool, reason: Option<&str>) -> Result<OrderView, AppError> {
    let input = RefundDecisionInput { approve, reason: reason.map(String::from) };
    decide_refund(w.change_ports(), &owner(), id, input).await
}

#[tokio::test]
async fn rule_11_photo_upload_is_a_short_lived_presigned_post_with_one_key_per_order() {
    let (w, id) = delivered().await;
    let input = PhotoUploadInput { content_type: "image/png".into() };
    let upload = create_photo_upload(w.photo_ports(), &customer(), &id, input).await.unwrap();
    assert_eq!(upload.photo_key, format!("refund-photos/{id}/photo"));
    assert_eq!(upload.fields["Content-Type"], "image/png");
    assert_eq!(upload.fields["max-bytes"], "5242880");
    assert_eq!(upload.expires_at, w.clock_now() + Duration::seconds(300));
    let again = PhotoUploadInput { content_type: "image/jpeg".into() };
    let second = create_photo_upload(w.photo_ports(), &customer(), &id, again).await.unwrap();
    assert_eq!(second.photo_key, upload.photo_key, "asking again never multiplies objects");
    let gif = PhotoUploadInput { content_type: "image/gif".into() };
    match create_photo_upload(w.photo_ports(), &customer(), &id, gif).await.unwrap_err() {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "content_type"),
        other => panic!("{other:?}"),
    }
    let theirs = PhotoUploadInput { content_type: "image/png".into() };
    let err = create_photo_upload(w.photo_ports(), &other_customer(), &id, theirs).await.unwrap_err();
    assert_eq!(api(err), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn rule_11_the_photo_must_exist_be_an_image_within_5_mib_and_the_fields_are_checked() {
    let (w, id) = delivered().await;
    let key = format!("refund-photos/{id}/photo");
    match ask(&w, &id, &key, "REFUND").await.unwrap_err() {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "photo_key"),
        other => panic!("{other:?}"),
    }
    match ask(&w, &id, &format!("refund-photos/{id}/other.jpg"), "REFUND").await.unwrap_err() {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "photo_key", "not the key handed out"),
        other => panic!("{other:?}"),
    }
    // A store that does not enforce the POST policy: checked again here.
    w.photos.upload_object(&key, 6 * 1024 * 1024, "image/jpeg");
    match ask(&w, &id, &key, "REFUND").await.unwrap_err() {
        AppError::Invalid(e) => assert!(e.fields()[0].reason.contains("at most 5242880"), "{e}"),
        other => panic!("{other:?}"),
    }
    w.photos.upload_object(&key, 10, "text/plain");
    match ask(&w, &id, &key, "REFUND").await.unwrap_err() {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "photo_key"),
        other => panic!("{other:?}"),
    }
    let key = photo(&w, &id).await;
    match ask(&w, &id, &key, "STORE_CREDIT").await.unwrap_err() {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "method"),
        other => panic!("{other:?}"),
    }
    let long =
        RefundRequestInput { photo_key: key.clone(), reason: "가".repeat(1001), method: "REFUND".into() };
    match request_refund(w.change_ports(), &w.photos, &customer(), &id, long).await.unwrap_err() {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "reason"),
        other => panic!("{other:?}"),
    }
    let exactly = RefundRequestInput { photo_key: key, reason: "가".repeat(1000), method: "REFUND".into() };
    request_refund(w.change_ports(), &w.photos, &customer(), &id, exactly).await.unwrap();
}

#[tokio::test]
async fn rule_11_refund_at_9_59_is_accepted() {
    let (w, id) = delivered().await;
    let key = photo(&w, &id).await;
    w.later(Duration::seconds(599));
    let order = ask(&w, &id, &key, "REFUND").await.unwrap();
    assert_eq!(order.status, OrderStatus::RefundRequested);
    let refund = order.refund.unwrap();
    assert_eq!((refund.method, refund.status), (RefundMethod::Refund, RefundStatus::Requested));
}

#[tokio::test]
async fn rule_11_refund_at_10_01_is_409_saying_the_window_closed() {
    let (w, id) = delivered().await;
    let key = photo(&w, &id).await;
    w.later(Duration::seconds(601));
    let err = ask(&w, &id, &key, "REFUND").await.unwrap_err();
    let api_error = ApiError::from(&err);
    assert_eq!((api_error.status, api_error.code), (409, "REFUND_WINDOW_CLOSED"));
    assert_eq!(api_error.details["window_seconds"], 600);
    assert_eq!(w.order(&id).await.status, OrderStatus::Delivered);
    // A late customer is told before uploading anything.
    let input = PhotoUploadInput { content_type: "image/jpeg".into() };
    let err = create_photo_upload(w.photo_ports(), &customer(), &id, input).await.unwrap_err();
    assert_eq!(api(err), (409, "REFUND_WINDOW_CLOSED"));
}

#[tokio::test]
async fn rule_12_approved_refund_is_refunded_through_the_pipeline() {
    let (mut w, id) = delivered().await;
    let key = photo(&w, &id).await;
    ask(&w, &id, &key, "REFUND").await.unwrap();
    let order = decide(&w, &id, true, None).await.unwrap();
    assert_eq!(order.status, OrderStatus::Refunded);
    assert_eq!(order.refund.unwrap().status, RefundStatus::Approved);
    w.pump().await;
    assert_eq!(w.order(&id).await.status, OrderStatus::Refunded);
}

#[tokio::test]
async fn rule_12_approve_redeliver_runs_a_new_delivery() {
    let (mut w, id) = delivered().await;
    let key = photo(&w, &id).await;
    ask(&w, &id, &key, "REDELIVER").await.unwrap();
    let order = decide(&w, &id, true, Some("a fresh one is on its way")).await.unwrap();
    assert_eq!(order.status, OrderStatus::DeliveryRequested);
    let traffic = w.pump().await;
    assert!(traffic.order_events.iter().any(|e| e.data.redelivery), "marked as redelivery");
    let order = w.order(&id).await;
    assert_eq!(order.status, OrderStatus::Delivered);
    let statuses: Vec<_> = order.timeline.iter().map(|e| e.status).collect();
    assert_eq!(
        &statuses[5..],
        [
            OrderStatus::RefundRequested,
            OrderStatus::DeliveryRequested,
            OrderStatus::Delivering,
            OrderStatus::Delivered
        ]
    );
    // One request per order, even after a redelivery.
    w.later(Duration::seconds(10));
    assert_eq!(api(ask(&w, &id, &key, "REFUND").await.unwrap_err()), (409, "REFUND_ALREADY_REQUESTED"));
}

#[tokio::test]
async fn rule_12_reject_needs_a_reason_and_the_customer_sees_it() {
    let (w, id) = delivered().await;
    let key = photo(&w, &id).await;
    ask(&w, &id, &key, "REFUND").await.unwrap();
    match decide(&w, &id, false, None).await.unwrap_err() {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "reason"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.order(&id).await.status, OrderStatus::RefundRequested, "nothing half-written");
    decide(&w, &id, false, Some("the photo shows a full bowl")).await.unwrap();
    let order = w.order(&id).await;
    assert_eq!(order.status, OrderStatus::Delivered);
    let refund = order.refund.unwrap();
    assert_eq!(refund.status, RefundStatus::Rejected);
    assert_eq!(refund.decision_reason.as_deref(), Some("the photo shows a full bowl"));
    assert_eq!(order.timeline.last().unwrap().reason.as_deref(), Some("the photo shows a full bowl"));
    assert_eq!(api(ask(&w, &id, &key, "REFUND").await.unwrap_err()), (409, "REFUND_ALREADY_REQUESTED"));
}

#[tokio::test]
async fn only_the_stores_owner_decides_and_only_the_customer_asks() {
    let (w, id) = delivered().await;
    let key = photo(&w, &id).await;
    let input = RefundRequestInput { photo_key: key.clone(), reason: "cold".into(), method: "REFUND".into() };
    let err = request_refund(w.change_ports(), &w.photos, &other_customer(), &id, input).await.unwrap_err();
    assert_eq!(api(err), (404, "NOT_FOUND"));
    let input = RefundRequestInput { photo_key: key.clone(), reason: "cold".into(), method: "REFUND".into() };
    let err = request_refund(w.change_ports(), &w.photos, &owner(), &id, input).await.unwrap_err();
    assert_eq!(api(err), (403, "FORBIDDEN"));
    ask(&w, &id, &key, "REFUND").await.unwrap();
    let decision = RefundDecisionInput { approve: true, reason: None };
    let err = decide_refund(w.change_ports(), &other_owner(), &id, decision.clone()).await.unwrap_err();
    assert_eq!(api(err), (404, "NOT_FOUND"));
    let err = decide_refund(w.change_ports(), &customer(), &id, decision).await.unwrap_err();
    assert_eq!(api(err), (403, "FORBIDDEN"));
}
