//! Every action of the API against an order in every status: allowed ones
//! succeed, every other one is 409 INVALID_STATUS naming the current status,
//! and a refused action changes nothing.

mod support;
use support::*;

use foodstream_application::AppError;
use foodstream_application::consumers::{apply_delivery_event, dispatch_delivery};
use foodstream_application::ordering::{accept_order, cancel_order, reject_order, request_delivery};
use foodstream_application::refunds::{decide_refund, request_refund};
use foodstream_application::views::OrderView;
use foodstream_domain::events::OrderEventType;
use foodstream_domain::order::OrderStatus;
use foodstream_domain::refund::{RefundDecisionInput, RefundRequestInput};
use foodstream_handlers::http::error::ApiError;

#[derive(Debug, Clone, Copy)]
enum Action {
    Accept,
    Reject,
    RequestDelivery,
    CancelAsCustomer,
    CancelAsOwner,
    RequestRefund,
    ApproveRefund,
    RejectRefund,
}

impl Action {
    const ALL: [Action; 8] = [
        Action::Accept,
        Action::Reject,
        Action::RequestDelivery,
        Action::CancelAsCustomer,
        Action::CancelAsOwner,
        Action::RequestRefund,
        Action::ApproveRefund,
        Action::RejectRefund,
    ];

    fn allowed_from(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Action::Accept | Action::Reject | Action::CancelAsCustomer => &[Paid],
            Action::RequestDelivery => &[Accepted, DeliveryFailed],
            Action::CancelAsOwner => &[DeliveryFailed],
            Action::RequestRefund => &[Delivered],
            Action::ApproveRefund | Action::RejectRefund => &[RefundRequested],
        }
    }

    async fn run(self, w: &World, id: &str) -> Result<OrderView, AppError> {
        match self {
            Action::Accept => accept_order(w.change_ports(), &owner(), id).await,
            Action::Reject => reject_order(w.change_ports(), &owner(), id, Some("closing early")).await,
            Action::RequestDelivery => request_delivery(w.change_ports(), &owner(), id).await,
            Action::CancelAsCustomer => cancel_order(w.change_ports(), &customer(), id, None).await,
            Action::CancelAsOwner => cancel_order(w.change_ports(), &owner(), id, None).await,
            Action::RequestRefund => {
                let key = format!("refund-photos/{id}/photo");
                w.photos.upload(&key);
                let input =
                    RefundRequestInput { photo_key: key, reason: "cold".into(), method: "REFUND".into() };
                request_refund(w.change_ports(), &w.photos, &customer(), id, input).await
            }
            Action::ApproveRefund => {
                decide_refund(
                    w.change_ports(),
                    &owner(),
                    id,
                    RefundDecisionInput { approve: true, reason: None },
                )
                .await
            }
            Action::RejectRefund => {
                let input = RefundDecisionInput { approve: false, reason: Some("looks fine".into()) };
                decide_refund(w.change_ports(), &owner(), id, input).await
            }
        }
    }
}

/// A fresh world with one order driven to `status` through the use cases.
async fn order_in(status: OrderStatus) -> (World, String) {
    use OrderStatus::*;
    let mut w = World::new().with_menu(&[("bibimbap", 9000, 10)]).await;
    if !matches!(status, DeliveryFailed) {
        w.register_rider("r-1", "Gangnam-gu").await;
    }
    let id = w.place(&customer(), &[("bibimbap", 1)]).await.unwrap().order.order_id;
    let accepted = !matches!(status, Paid | Rejected | Cancelled);
    match status {
        Rejected => drop(Action::Reject.run(&w, &id).await.unwrap()),
        Cancelled => drop(Action::CancelAsCustomer.run(&w, &id).await.unwrap()),
        _ if accepted => drop(Action::Accept.run(&w, &id).await.unwrap()),
        _ => {}
    }
    if matches!(
        status,
        DeliveryRequested | Delivering | DeliveryFailed | Delivered | RefundRequested | Refunded
    ) {
        Action::RequestDelivery.run(&w, &id).await.unwrap();
    }
    if status == Delivering {
        // Only the assignment reaches the order.
        let request = w
            .store
            .drain_outbox()
            .into_iter()
            .find(|e| e.event_type == OrderEventType::OrderDeliveryRequested);
        dispatch_delivery(&w.dispatch_ports(), &w.timer, &request.unwrap(), None).await.unwrap();
        let (_, deliveries, _) = split(&w.publisher.take());
        apply_delivery_event(&*w.store, &*w.clock, &w.settings, &deliveries[0]).await.unwrap();
    } else if matches!(status, DeliveryFailed | Delivered | RefundRequested | Refunded) {
        w.pump().await;
    }
    if matches!(status, RefundRequested | Refunded) {
        Action::RequestRefund.run(&w, &id).await.unwrap();
    }
    if status == Refunded {
        Action::ApproveRefund.run(&w, &id).await.unwrap();
    }
    assert_eq!(w.order(&id).await.status, status, "fixture");
    (w, id)
}

#[tokio::test]
async fn rule_any_illegal_transition_through_the_api_is_409_with_the_current_status() {
    let mut allowed = 0;
    for status in OrderStatus::ALL {
        for action in Action::ALL {
            let (w, id) = order_in(status).await;
            let before = w.order(&id).await;
            match action.run(&w, &id).await {
                Ok(after) => {
                    assert!(
                        action.allowed_from().contains(&status),
                        "{action:?} from {status} must be refused"
                    );
                    assert_eq!(after.version, before.version + 1);
                    allowed += 1;
                }
                Err(error) => {
                    assert!(!action.allowed_from().contains(&status), "{action:?} from {status}: {error:?}");
                    let api = ApiError::from(&error);
                    assert_eq!((api.status, api.code), (409, "INVALID_STATUS"), "{action:?} from {status}");
                    assert_eq!(api.details["current_status"], status.as_str());
                    assert_eq!(w.order(&id).await, before, "a refused {action:?} changed nothing");
                }
            }
        }
    }
    // PAID: accept, reject, cancel; ACCEPTED and DELIVERY_FAILED: call a rider;
    // DELIVERY_FAILED: owner cancels; DELIVERED: refund; REFUND_REQUESTED: 2 decisions.
    assert_eq!(allowed, 9);
}
