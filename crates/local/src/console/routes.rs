//! The console's routes: its pages, each a live view, and `/events`,
//! which streams a view's fragments as they change.

use super::app::{App, Shared};
use super::logs::SHOWN_LOG_LINES;
use super::{api, guard, pages};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use futures::StreamExt;
use maud::Markup;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// How often a view is rendered again (and sent when it changed).
const REFRESH: Duration = Duration::from_millis(700);

/// Every page, asset and stream of the console, behind the loopback guard.
pub(super) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/functions/{name}", get(function_page))
        .route("/topics", get(topics_page))
        .route("/failures", get(failures_page))
        .route("/failures/replay", post(replay))
        .route("/orders", get(find_order))
        .route("/orders/{id}", get(order_page))
        .route("/api", get(api_page))
        .route("/openapi.yaml", get(api::openapi))
        .route("/proxy", proxied())
        .route("/proxy/{*path}", proxied())
        .route("/events", get(events))
        .route("/assets/console.js", get(|| async { asset("text/javascript", pages::CONSOLE_JS) }))
        .route("/assets/console.css", get(|| async { asset("text/css", pages::CONSOLE_CSS) }))
        .route("/assets/swagger-ui/{file}", get(api::swagger_asset))
        .layer(axum::middleware::from_fn(guard::loopback_only))
        .with_state(app)
}

/// The try-it proxy, taking bodies up to what one invocation takes.
fn proxied() -> axum::routing::MethodRouter<Arc<App>> {
    any(api::proxy).layer(axum::extract::DefaultBodyLimit::max(api::MAX_PROXIED_BODY_BYTES))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn overview(State(app): Shared) -> Markup {
    app.live_page("Functions & event source mappings", "overview", None).await
}

async fn function_page(State(app): Shared, Path(name): Path<String>) -> Response {
    if !app.pools.contains_key(&name) {
        return (
            StatusCode::NOT_FOUND,
            pages::page("No such function", "", maud::html! { p { "No function " (name) "." } }),
        )
            .into_response();
    }
    let intro = maud::html! { p { "The last " (SHOWN_LOG_LINES) " lines of " code { (name) ".log" } ", newest last." } };
    app.live_page(&format!("{name}: log"), &format!("function:{name}"), Some(intro)).await.into_response()
}

#[derive(serde::Deserialize)]
struct OrderFilter {
    #[serde(default)]
    order: String,
}

async fn topics_page(State(app): Shared, Query(filter): Query<OrderFilter>) -> Markup {
    let order = filter.order.trim().to_owned();
    let form = maud::html! {
        form method="get" action="/topics" {
            input name="order" value=(order) placeholder="order id" aria-label="filter by order id";
            button type="submit" { "Filter" }
            @if !order.is_empty() { " " a href="/topics" { "all records" } }
        }
    };
    app.live_page("Topics: the latest records", &format!("topics:{order}"), Some(form)).await
}

#[derive(serde::Deserialize)]
struct ReplayOutcome {
    ok: Option<String>,
    outcome: Option<String>,
}

async fn failures_page(State(app): Shared, Query(replayed): Query<ReplayOutcome>) -> Markup {
    let flash = replayed.outcome.map(|message| {
        let ok = replayed.ok.as_deref() == Some("1");
        maud::html! { p.replayed.bad[!ok] { (message) } }
    });
    app.live_page("Failure records", "failures", flash).await
}

async fn replay(State(app): Shared, body: Bytes) -> Response {
    let key = form_urlencoded::parse(&body).find(|(name, _)| name == "key").map(|(_, v)| v.into_owned());
    let outcome = match (key, &app.failure_bucket, &app.publisher) {
        (None, _, _) => Err("key: a failure record's key is required".to_owned()),
        (Some(_), None, _) => Err("this stack has no failure bucket".to_owned()),
        (Some(_), _, None) => Err("no Kafka producer: is the broker up?".to_owned()),
        (Some(key), Some(bucket), Some(publisher)) => {
            match foodstream_ops::replay(&app.s3, bucket, &key, publisher, &app.sqs, false).await {
                Ok(done) => Ok(format!(
                    "Replayed {key}: {} Kafka record(s) produced again, {} stream record(s) relayed, {} message(s) sent again.",
                    done.produced, done.relayed, done.resent
                )),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    // Post, redirect, get: a reload shows the outcome again instead of
    // replaying again.
    let (ok, message) = match outcome {
        Ok(message) => ("1", message),
        Err(message) => ("0", message),
    };
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("ok", ok)
        .append_pair("outcome", &message)
        .finish();
    Redirect::to(&format!("/failures?{query}")).into_response()
}

#[derive(serde::Deserialize)]
struct OrderQuery {
    #[serde(default)]
    id: String,
}

async fn find_order(Query(query): Query<OrderQuery>) -> Redirect {
    match query.id.trim() {
        "" => Redirect::to("/"),
        id => Redirect::to(&format!("/orders/{}", pages::urlencode(id))),
    }
}

async fn order_page(State(app): Shared, Path(id): Path<String>) -> Markup {
    let links = maud::html! { p { a href={ "/topics?order=" (pages::urlencode(&id)) } { "Its records on the topics" } } };
    app.live_page(&format!("Order {id}"), &format!("order:{id}"), Some(links)).await
}

async fn api_page(State(app): Shared) -> Markup {
    pages::api_page(app.swagger_ui.join("swagger-ui-bundle.js").is_file())
}

#[derive(serde::Deserialize)]
struct ViewQuery {
    view: String,
}

/// How often a view is rendered again: the bucket and the logs less often
/// than what the stack holds in memory.
fn refresh_of(view: &str) -> Duration {
    if view == "failures" || view.starts_with("order:") { Duration::from_secs(2) } else { REFRESH }
}

/// The view's fragments as server-sent events, each sent when it changed.
async fn events(
    State(app): Shared,
    Query(query): Query<ViewQuery>,
) -> Sse<impl futures::Stream<Item = Result<Event, Infallible>>> {
    let sent: HashMap<String, String> = HashMap::new();
    let stream =
        futures::stream::unfold((app, query.view, sent, true), |(app, view, mut sent, first)| async move {
            if !first {
                tokio::time::sleep(refresh_of(&view)).await;
            }
            let mut changed = Vec::new();
            for (id, html) in app.fragments(&view).await {
                if sent.get(&id) != Some(&html) {
                    changed.push(Event::default().event(&id).data(&html));
                    sent.insert(id, html);
                }
            }
            Some((changed, (app, view, sent, false)))
        })
        .flat_map(|events| futures::stream::iter(events.into_iter().map(Ok)));
    // A short keep-alive: a closed page's stream ends at the next write.
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(5)))
}
