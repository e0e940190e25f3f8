//! The runtime loop of the consumer functions.

use crate::records::BatchError;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::future::Future;
use tracing::{Instrument, error, info_span};

impl From<BatchError> for Diagnostic {
    fn from(error: BatchError) -> Diagnostic {
        let error_type = match &error {
            BatchError::Undecodable { .. } => "UndecodableRecord",
            BatchError::Consume(foodstream_application::consumers::ConsumeError::Unprocessable {
                ..
            }) => "UnprocessableRecord",
            BatchError::Consume(_) => "DependencyUnavailable",
        };
        Diagnostic { error_type: error_type.into(), error_message: error.to_string() }
    }
}

/// Runs a consumer: each batch is handed to `handler`; an error fails the
/// invocation, so the event source mapping retries the batch (and, past its
/// retry limit, sends it to the on-failure destination).
pub async fn serve<E, T, F, Fut>(consumer: &'static str, handler: F) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send,
    T: Serialize,
    F: Fn(E) -> Fut,
    Fut: Future<Output = Result<T, BatchError>>,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<E>| async move {
        let span = info_span!("batch", consumer, request_id = %event.context.request_id);
        async move {
            handler(event.payload).await.inspect_err(|e| error!(consumer, error = %e, "batch failed"))
        }
        .instrument(span)
        .await
    }))
    .await
}
