//! The adapters several functions build the same way, once per cold start.

use foodstream_application::Settings;
use foodstream_application::ordering::ChangePorts;
use foodstream_application::settings;
use foodstream_aws::access::Grant;
use foodstream_aws::{Aws, DynamoOrders, S3PhotoStore, SystemClock};

/// Any error of building the adapters: the function cannot start.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The order methods of a route that changes an order.
pub const CHANGE: &[&[Grant]] = &[DynamoOrders::GET, DynamoOrders::UPDATE];
/// Those of a route whose change may give stock back (cancel, reject).
pub const CHANGE_GIVING_STOCK_BACK: &[&[Grant]] =
    &[DynamoOrders::GET, DynamoOrders::UPDATE, DynamoOrders::UPDATE_WITH_STOCK];

/// What every route that changes an order needs.
pub struct OrderChanges {
    /// The orders table, with the methods the route declared.
    pub orders: DynamoOrders,
    /// The settings the route reads.
    pub settings: Settings,
}

impl OrderChanges {
    /// `uses`: the order methods the route calls, e.g. [`CHANGE`];
    /// `settings`: the settings it reads (`foodstream_application::settings::REFUND_WINDOW`...).
    pub fn from_env(
        aws: &Aws,
        uses: &[&[Grant]],
        settings: &[&'static str],
    ) -> Result<OrderChanges, BoxError> {
        Ok(OrderChanges { orders: aws.orders(uses)?, settings: Settings::from_env(settings)? })
    }

    /// The ports of an order change (the system clock's time).
    pub fn ports(&self) -> ChangePorts<'_> {
        ChangePorts { orders: &self.orders, clock: &SystemClock, settings: &self.settings }
    }
}

/// Order changes plus the refund photo bucket.
pub struct RefundPhotos {
    /// The order change.
    pub changes: OrderChanges,
    /// The refund photo bucket.
    pub photos: S3PhotoStore,
}

impl RefundPhotos {
    /// `orders` and `photos`: the methods of each the route calls.
    /// Both read the refund window.
    pub fn from_env(aws: &Aws, orders: &[&[Grant]], photos: &[&[Grant]]) -> Result<RefundPhotos, BoxError> {
        let changes = OrderChanges::from_env(aws, orders, &[settings::REFUND_WINDOW])?;
        Ok(RefundPhotos { changes, photos: aws.photos(photos)? })
    }
}
