//! The one HTTP client of the API: bearer token, JSON body, the answer's
//! status and JSON (or its text), pagination and the presigned photo upload.
//! The scenario, the bench and the integration tests all call through it,
//! and name what they call by [`Route`]: one variant per route of the
//! template (`tests/routes.rs` holds the two to each other), so no caller
//! writes a path by hand.

use reqwest::Method;
use serde_json::Value;

/// The API's routes, one variant each, with the path parameters they take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `PUT /stores/{storeId}/menu/{productId}`
    PutMenuItem {
        /// The `storeId`.
        store: &'a str,
        /// The `productId`.
        product: &'a str,
    },
    /// `GET /stores/{storeId}/menu`
    ListMenu {
        /// The `storeId`.
        store: &'a str,
    },
    /// `POST /orders`
    PlaceOrder,
    /// `GET /orders` (the caller's)
    ListMyOrders,
    /// `GET /orders/{orderId}`
    GetOrder {
        /// The `orderId`.
        order: &'a str,
    },
    /// `POST /orders/{orderId}/cancel`
    CancelOrder {
        /// The `orderId`.
        order: &'a str,
    },
    /// `GET /stores/{storeId}/orders`
    ListStoreOrders {
        /// The `storeId`.
        store: &'a str,
    },
    /// `POST /orders/{orderId}/accept`
    AcceptOrder {
        /// The `orderId`.
        order: &'a str,
    },
    /// `POST /orders/{orderId}/reject`
    RejectOrder {
        /// The `orderId`.
        order: &'a str,
    },
    /// `POST /orders/{orderId}/delivery-requests`
    RequestDelivery {
        /// The `orderId`.
        order: &'a str,
    },
    /// `POST /orders/{orderId}/refund-photos`
    CreateRefundPhoto {
        /// The `orderId`.
        order: &'a str,
    },
    /// `POST /orders/{orderId}/refund-request`
    RequestRefund {
        /// The `orderId`.
        order: &'a str,
    },
    /// `POST /orders/{orderId}/refund-request/decision`
    DecideRefund {
        /// The `orderId`.
        order: &'a str,
    },
    /// `GET /me/notifications`
    ListMyNotifications,
    /// `PUT /riders/{riderId}`
    RegisterRider {
        /// The `riderId`.
        rider: &'a str,
    },
    /// `GET /ops/logs`
    ListLogs,
}

/// What a path segment or a query value keeps as is: RFC 3986's
/// unreserved characters.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

impl Route<'_> {
    /// Every route, with `id` for each path parameter: for the test that
    /// holds this list to the template's routes.
    pub fn all(id: &str) -> [Route<'_>; 16] {
        [
            Route::PutMenuItem { store: id, product: id },
            Route::ListMenu { store: id },
            Route::PlaceOrder,
            Route::ListMyOrders,
            Route::GetOrder { order: id },
            Route::CancelOrder { order: id },
            Route::ListStoreOrders { store: id },
            Route::AcceptOrder { order: id },
            Route::RejectOrder { order: id },
            Route::RequestDelivery { order: id },
            Route::CreateRefundPhoto { order: id },
            Route::RequestRefund { order: id },
            Route::DecideRefund { order: id },
            Route::ListMyNotifications,
            Route::RegisterRider { rider: id },
            Route::ListLogs,
        ]
    }

    /// The route as the template writes it: `POST /orders/{orderId}/accept`.
    pub fn label(&self) -> &'static str {
        match self {
            Route::PutMenuItem { .. } => "PUT /stores/{storeId}/menu/{productId}",
            Route::ListMenu { .. } => "GET /stores/{storeId}/menu",
            Route::PlaceOrder => "POST /orders",
            Route::ListMyOrders => "GET /orders",
            Route::GetOrder { .. } => "GET /orders/{orderId}",
            Route::CancelOrder { .. } => "POST /orders/{orderId}/cancel",
            Route::ListStoreOrders { .. } => "GET /stores/{storeId}/orders",
            Route::AcceptOrder { .. } => "POST /orders/{orderId}/accept",
            Route::RejectOrder { .. } => "POST /orders/{orderId}/reject",
            Route::RequestDelivery { .. } => "POST /orders/{orderId}/delivery-requests",
            Route::CreateRefundPhoto { .. } => "POST /orders/{orderId}/refund-photos",
            Route::RequestRefund { .. } => "POST /orders/{orderId}/refund-request",
            Route::DecideRefund { .. } => "POST /orders/{orderId}/refund-request/decision",
            Route::ListMyNotifications => "GET /me/notifications",
            Route::RegisterRider { .. } => "PUT /riders/{riderId}",
            Route::ListLogs => "GET /ops/logs",
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        let (method, _) = self.label().split_once(' ').unwrap_or_default();
        Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET)
    }

    /// The value of the path parameter `name` (`orderId`), if the route has it.
    fn parameter(&self, name: &str) -> Option<&str> {
        match (self, name) {
            (Route::PutMenuItem { store, .. }, "storeId")
            | (Route::ListMenu { store }, "storeId")
            | (Route::ListStoreOrders { store }, "storeId") => Some(store),
            (Route::PutMenuItem { product, .. }, "productId") => Some(product),
            (Route::RegisterRider { rider }, "riderId") => Some(rider),
            (
                Route::GetOrder { order }
                | Route::CancelOrder { order }
                | Route::AcceptOrder { order }
                | Route::RejectOrder { order }
                | Route::RequestDelivery { order }
                | Route::CreateRefundPhoto { order }
                | Route::RequestRefund { order }
                | Route::DecideRefund { order },
                "orderId",
            ) => Some(order),
            _ => None,
        }
    }

    /// The path, each parameter in its place, percent-encoded as one
    /// segment. A value of `.` or `..` stays a dot segment (URL parsing
    /// resolves it, encoded or not): paths like that are tests of the
    /// gateway, sent raw.
    pub fn path(&self) -> String {
        let (_, template) = self.label().split_once(' ').unwrap_or_default();
        template
            .split('/')
            .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => {
                    let value = self.parameter(name).unwrap_or_default();
                    percent_encoding::utf8_percent_encode(value, SEGMENT).to_string()
                }
                None => segment.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The path with a query string, each value percent-encoded (the
    /// unreserved characters as they are):
    /// `/stores/s-1/orders?status=PAID`.
    pub fn query(&self, pairs: &[(&str, &str)]) -> String {
        let query: Vec<String> = pairs
            .iter()
            .map(|(name, value)| {
                let value = percent_encoding::utf8_percent_encode(value, SEGMENT);
                format!("{name}={value}")
            })
            .collect();
        if query.is_empty() { self.path() } else { format!("{}?{}", self.path(), query.join("&")) }
    }
}

/// An answer of the API: its status and its body, as JSON when it is JSON,
/// else as a string.
#[derive(Debug, Clone)]
pub struct ApiAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The body: its JSON, or the text as a JSON string when it is not JSON.
    pub body: Value,
}

/// The client of the API at one base URL: every request of the scenario,
/// the bench and the integration tests goes through it.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base_url: String,
}

impl ApiClient {
    /// A client of the API at `base_url` (no proxy: the stack is on loopback).
    pub fn new(base_url: impl Into<String>) -> ApiClient {
        let http = reqwest::Client::builder().no_proxy().build().expect("a plain HTTP client builds");
        ApiClient { http, base_url: base_url.into() }
    }

    /// The base URL the paths are appended to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The underlying client, for what is not the API (a presigned upload).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `method path` with the token as bearer, `body` as JSON and extra
    /// `headers`.
    pub async fn send(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Result<ApiAnswer> {
        let mut request = self.http.request(method, format!("{}{path}", self.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok(ApiAnswer { status, body: serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    /// `route` with the token as bearer, `body` as JSON and extra `headers`.
    pub async fn call(
        &self,
        token: Option<&str>,
        route: Route<'_>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> reqwest::Result<ApiAnswer> {
        self.send(token, route.method(), &route.path(), body, headers).await
    }

    /// Uploads `bytes` with the presigned POST of a `refund-photos` answer,
    /// as a browser form or a phone does: the answer's `fields` first, the
    /// file last, as `multipart/form-data` to its `upload_url`.
    pub async fn upload_photo(
        &self,
        upload: &Value,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in upload["fields"].as_object().into_iter().flatten() {
            form = form.text(name.clone(), value.as_str().unwrap_or_default().to_owned());
        }
        let file = reqwest::multipart::Part::bytes(bytes).file_name("photo").mime_str(content_type)?;
        let url = upload["upload_url"].as_str().unwrap_or_default();
        self.http.post(url).multipart(form.part("file", file)).send().await
    }
}

/// `path` asking for a page of 100 from `cursor` (the previous page's
/// `next_cursor`), or the first page.
pub fn page_path(path: &str, cursor: Option<&str>) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    match cursor {
        Some(c) => format!(
            "{path}{separator}limit=100&cursor={}",
            percent_encoding::utf8_percent_encode(c, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => format!("{path}{separator}limit=100"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Route, page_path};
    use proptest::prelude::*;

    proptest! {
        /// Any id (but a dot segment, which URL parsing resolves) stays one
        /// segment of its route's path and decodes back to itself; any
        /// query value decodes back to itself.
        #[test]
        fn any_value_stays_one_segment_and_decodes_back(value in any::<String>(), query in any::<String>()) {
            prop_assume!(value != "." && value != "..");
            for route in Route::all(&value) {
                let path = route.path();
                let (_, template) = route.label().split_once(' ').unwrap();
                let segments: Vec<&str> = path.split('/').collect();
                prop_assert_eq!(segments.len(), template.split('/').count(), "{}", path);
                for (segment, pattern) in segments.iter().zip(template.split('/')) {
                    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8().unwrap();
                    if pattern.starts_with('{') {
                        prop_assert_eq!(decoded.as_ref(), value.as_str());
                    } else {
                        prop_assert_eq!(*segment, pattern);
                    }
                }
            }
            let with_query = Route::ListLogs.query(&[("order_id", &query)]);
            let encoded = with_query.strip_prefix("/ops/logs?order_id=").unwrap();
            prop_assert!(!encoded.contains(['&', '#', '?', ' ', '+']), "{}", encoded);
            let decoded = percent_encoding::percent_decode_str(encoded).decode_utf8().unwrap();
            prop_assert_eq!(decoded.as_ref(), query.as_str());
        }
    }

    #[test]
    fn a_route_puts_each_parameter_in_its_place_encoded_as_one_segment() {
        assert_eq!(Route::AcceptOrder { order: "o-1" }.path(), "/orders/o-1/accept");
        assert_eq!(Route::PutMenuItem { store: "s 1", product: "a/b" }.path(), "/stores/s%201/menu/a%2Fb");
        assert_eq!(
            Route::ListStoreOrders { store: "s-1" }.query(&[("status", "PAID")]),
            "/stores/s-1/orders?status=PAID"
        );
        assert_eq!(Route::ListLogs.query(&[("order_id", "o#1")]), "/ops/logs?order_id=o%231");
        assert_eq!(
            Route::ListMyOrders.query(&[("status", "DELIVERY_REQUESTED"), ("order_id", "o-1.a~")]),
            "/orders?status=DELIVERY_REQUESTED&order_id=o-1.a~"
        );
        assert_eq!(Route::RegisterRider { rider: "r-1" }.method(), reqwest::Method::PUT);
        for route in Route::all("x") {
            assert!(!route.path().contains('{'), "{route:?}: {}", route.path());
        }
    }

    #[test]
    fn a_page_path_asks_for_100_and_encodes_the_cursor() {
        assert_eq!(page_path("/orders", None), "/orders?limit=100");
        assert_eq!(
            page_path("/orders?status=PAID", Some("a b")),
            "/orders?status=PAID&limit=100&cursor=a%20b"
        );
    }
}
