//! The 16 HTTP routes (API Gateway HTTP API, payload format 2.0).

use crate::http::claims::caller;
use crate::http::{self, header, json, json_body, optional_json_body, path, query};
use foodstream_application::logs::LogQuery;
use foodstream_application::ordering::{ChangePorts, PlaceOrderPorts};
use foodstream_application::refunds::{PhotoPorts, PhotoUploadInput};
use foodstream_application::{AppError, catalog, logs, notifications, ordering, refunds, riders};
use foodstream_domain::catalog::MenuItemInput;
use foodstream_domain::delivery::RiderInput;
use foodstream_domain::order::PlaceOrderInput;
use foodstream_domain::ports::{
    CatalogRepository, Clock, LogRepository, NotificationRepository, OrderRepository, PhotoStore,
    RiderRepository,
};
use foodstream_domain::refund::{RefundDecisionInput, RefundRequestInput};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

type Answer = Result<Response<Body>, AppError>;

/// `{reason}` of reject and (optionally) cancel.
#[derive(Debug, Default, Deserialize)]
pub struct ReasonInput {
    /// Why, in one line (checked by the domain).
    #[serde(default)]
    pub reason: Option<String>,
}

/// PUT /stores/{storeId}/menu/{productId} (optionally `If-Match: "<version>"`):
/// the item with its new version, also as the `ETag`.
pub async fn put_menu_item(catalog: &dyn CatalogRepository, request: Request) -> Answer {
    let caller = caller(&request)?;
    let input: MenuItemInput = json_body(&request)?;
    let item = catalog::put_menu_item(
        catalog,
        &caller,
        &path(&request, "storeId")?,
        &path(&request, "productId")?,
        header(&request, "if-match")?,
        input,
    )
    .await?;
    let mut response = json(200, &item);
    if let Ok(tag) = lambda_http::http::HeaderValue::from_str(&format!("\"{}\"", item.version)) {
        response.headers_mut().insert("etag", tag);
    }
    Ok(response)
}

/// GET /stores/{storeId}/menu
pub async fn list_menu(catalog: &dyn CatalogRepository, request: Request) -> Answer {
    caller(&request)?;
    Ok(json(200, &catalog::list_menu(catalog, &path(&request, "storeId")?).await?))
}

/// POST /orders (Idempotency-Key): 201 with the order; a replay answers
/// the same order with `Idempotent-Replayed: true`.
pub async fn place_order(ports: PlaceOrderPorts<'_>, request: Request) -> Answer {
    let caller = caller(&request)?;
    let input: PlaceOrderInput = json_body(&request)?;
    let trace = http::trace::of(&request);
    let placed =
        ordering::place_order(ports, &caller, header(&request, "idempotency-key")?, input, trace).await?;
    http::record_order(placed.order.order_id.as_str());
    let mut response = json(201, &placed.order);
    if placed.replayed {
        response.headers_mut().insert("idempotent-replayed", http::header_value("true"));
    }
    Ok(response)
}

/// GET /orders?limit&cursor
pub async fn list_my_orders(orders: &dyn OrderRepository, clock: &dyn Clock, request: Request) -> Answer {
    let caller = caller(&request)?;
    let list = ordering::list_my_orders(
        orders,
        clock,
        &caller,
        query(&request, "limit").as_deref(),
        query(&request, "cursor").as_deref(),
    )
    .await?;
    Ok(json(200, &list))
}

/// GET /orders/{orderId}
pub async fn get_order(orders: &dyn OrderRepository, clock: &dyn Clock, request: Request) -> Answer {
    let caller = caller(&request)?;
    Ok(json(200, &ordering::get_order(orders, clock, &caller, &path(&request, "orderId")?).await?))
}

/// POST /orders/{orderId}/cancel with an optional `{reason}`
pub async fn cancel_order(ports: ChangePorts<'_>, request: Request) -> Answer {
    let caller = caller(&request)?;
    let input: ReasonInput = optional_json_body(&request)?;
    let order =
        ordering::cancel_order(ports, &caller, &path(&request, "orderId")?, input.reason.as_deref()).await?;
    Ok(json(200, &order))
}

/// GET /stores/{storeId}/orders?status&limit&cursor
pub async fn list_store_orders(orders: &dyn OrderRepository, clock: &dyn Clock, request: Request) -> Answer {
    let caller = caller(&request)?;
    let list = ordering::list_store_orders(
        orders,
        clock,
        &caller,
        &path(&request, "storeId")?,
        query(&request, "status").as_deref(),
        query(&request, "limit").as_deref(),
        query(&request, "cursor").as_deref(),
    )
    .await?;
    Ok(json(200, &list))
}

/// POST /orders/{orderId}/accept
pub async fn accept_order(ports: ChangePorts<'_>, request: Request) -> Answer {
    let caller = caller(&request)?;
    Ok(json(200, &ordering::accept_order(ports, &caller, &path(&request, "orderId")?).await?))
}

/// POST /orders/{orderId}/reject with `{reason}`
pub async fn reject_order(ports: ChangePorts<'_>, request: Request) -> Answer {
    let caller = caller(&request)?;
    let input: ReasonInput = optional_json_body(&request)?;
    let order =
        ordering::reject_order(ports, &caller, &path(&request, "orderId")?, input.reason.as_deref()).await?;
    Ok(json(200, &order))
}

/// POST /orders/{orderId}/delivery-requests: 202, the dispatcher takes it
/// from here.
pub async fn request_delivery(ports: ChangePorts<'_>, request: Request) -> Answer {
    let caller = caller(&request)?;
    Ok(json(202, &ordering::request_delivery(ports, &caller, &path(&request, "orderId")?).await?))
}

/// POST /orders/{orderId}/refund-photos with `{content_type}`
pub async fn create_refund_photo(ports: PhotoPorts<'_>, request: Request) -> Answer {
    let caller = caller(&request)?;
    let input: PhotoUploadInput = json_body(&request)?;
    Ok(json(200, &refunds::create_photo_upload(ports, &caller, &path(&request, "orderId")?, input).await?))
}

/// POST /orders/{orderId}/refund-request with `{photo_key, reason, method}`
pub async fn request_refund(ports: ChangePorts<'_>, photos: &dyn PhotoStore, request: Request) -> Answer {
    let caller = caller(&request)?;
    let input: RefundRequestInput = json_body(&request)?;
    Ok(json(200, &refunds::request_refund(ports, photos, &caller, &path(&request, "orderId")?, input).await?))
}

/// POST /orders/{orderId}/refund-request/decision with `{approve, reason?}`
pub async fn decide_refund(ports: ChangePorts<'_>, request: Request) -> Answer {
    let caller = caller(&request)?;
    let input: RefundDecisionInput = json_body(&request)?;
    Ok(json(200, &refunds::decide_refund(ports, &caller, &path(&request, "orderId")?, input).await?))
}

/// GET /me/notifications?limit&cursor
pub async fn list_my_notifications(notifications: &dyn NotificationRepository, request: Request) -> Answer {
    let caller = caller(&request)?;
    let list = notifications::list_my_notifications(
        notifications,
        &caller,
        query(&request, "limit").as_deref(),
        query(&request, "cursor").as_deref(),
    )
    .await?;
    Ok(json(200, &list))
}

/// PUT /riders/{riderId} with `{zone}`
pub async fn register_rider(riders: &dyn RiderRepository, clock: &dyn Clock, request: Request) -> Answer {
    let caller = caller(&request)?;
    let input: RiderInput = json_body(&request)?;
    Ok(json(200, &riders::register_rider(riders, clock, &caller, &path(&request, "riderId")?, input).await?))
}

/// GET /ops/logs?user_id=|order_id=&limit&cursor
pub async fn list_logs(logs: &dyn LogRepository, request: Request) -> Answer {
    let caller = caller(&request)?;
    let (user_id, order_id) = (query(&request, "user_id"), query(&request, "order_id"));
    let (limit, cursor) = (query(&request, "limit"), query(&request, "cursor"));
    let query = LogQuery {
        user_id: user_id.as_deref(),
        order_id: order_id.as_deref(),
        limit: limit.as_deref(),
        cursor: cursor.as_deref(),
    };
    Ok(json(200, &logs::list_logs(logs, &caller, query).await?))
}
