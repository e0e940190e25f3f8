//! The adapters several functions build the same way, once per cold start.

use foodstream_application::Settings;
use foodstream_application::ordering::ChangePorts;
use foodstream_aws::{Aws, DynamoOrders, S3PhotoStore, SystemClock};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What every route that changes an order needs.
pub struct OrderChanges {
    pub orders: DynamoOrders,
    pub settings: Settings,
}

impl OrderChanges {
    pub fn from_env(aws: &Aws) -> Result<OrderChanges, BoxError> {
        Ok(OrderChanges { orders: aws.orders()?, settings: Settings::from_env()? })
    }

    pub fn ports(&self) -> ChangePorts<'_> {
        ChangePorts { orders: &self.orders, clock: &SystemClock, settings: &self.settings }
    }
}

/// Order changes plus the refund photo bucket.
pub struct RefundPhotos {
    pub changes: OrderChanges,
    pub photos: S3PhotoStore,
}

impl RefundPhotos {
    pub fn from_env(aws: &Aws) -> Result<RefundPhotos, BoxError> {
        Ok(RefundPhotos { changes: OrderChanges::from_env(aws)?, photos: aws.photos()? })
    }
}
