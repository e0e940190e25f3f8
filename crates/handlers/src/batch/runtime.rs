//! The runtime loop of the consumer functions.

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use tracing::{Instrument, error, info_span};

/// Runs a consumer: each batch is handed to `handler`, whose answer (a
/// partial batch response) goes back to the event source mapping. An error
/// fails the whole invocation, reported as the error's own `Diagnostic`
/// (its type names the failure): the mapping retries the batch (and, past
/// its retry limit, sends it to its on-failure destination).
pub async fn serve<E, T, D, F, Fut>(consumer: &'static str, handler: F) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send,
    T: Serialize,
    D: std::fmt::Display + Into<Diagnostic>,
    F: Fn(E) -> Fut,
    Fut: Future<Output = Result<T, D>>,
{
    if crate::wiring::print_if_asked() {
        return Ok(());
    }
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| async move {
        let span = info_span!("invocation", consumer, request_id = %event.context.request_id);
        async move {
            handler(event.payload).await.map_err(|e| {
                error!(consumer, error = %e, "invocation failed");
                e.into()
            })
        }
        .instrument(span)
        .await
    }))
    .await
}
