//! The one HTTP client of the API: bearer token, JSON body, the answer's
//! status and JSON (or its text), pagination and the presigned photo upload.
//! The scenario, the bench and the integration tests all call through it.

use reqwest::Method;
use serde_json::Value;

/// An answer of the API: its status and its body, as JSON when it is JSON,
/// else as a string.
#[derive(Debug, Clone)]
pub struct ApiAnswer {
    pub status: u16,
    pub body: Value,
}

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
    use super::page_path;

    #[test]
    fn a_page_path_asks_for_100_and_encodes_the_cursor() {
        assert_eq!(page_path("/orders", None), "/orders?limit=100");
        assert_eq!(
            page_path("/orders?status=PAID", Some("a b")),
            "/orders?status=PAID&limit=100&cursor=a%20b"
        );
    }
}
