//! Menu items (owners), menus (everyone), riders (operators).

mod support;
use support::*;

use foodstream_application::AppError;
use foodstream_application::catalog::{list_menu, put_menu_item};
use foodstream_application::riders::register_rider;
use foodstream_domain::catalog::MenuItemInput;
use foodstream_domain::delivery::{RiderInput, RiderStatus};

fn item(name: &str, price: i64, stock: i64) -> MenuItemInput {
    MenuItemInput { name: name.into(), price, stock: Some(stock) }
}

#[tokio::test]
async fn rule_catalog_owner_creates_and_updates_items_anyone_reads_the_menu() {
    let w = World::new();
    let created =
        put_menu_item(&*w.store, &owner(), STORE, "bibimbap", None, item("비빔밥", 9000, 10)).await.unwrap();
    assert_eq!((created.price, created.stock), (9000, 10));
    put_menu_item(&*w.store, &owner(), STORE, "bibimbap", None, item("비빔밥", 9500, 3)).await.unwrap();
    put_menu_item(&*w.store, &owner(), STORE, "apple-juice", None, item("사과주스", 3000, 0)).await.unwrap();
    let menu = list_menu(&*w.store, STORE).await.unwrap();
    let rows: Vec<_> = menu.items.iter().map(|i| (i.product_id.as_str(), i.price, i.stock)).collect();
    assert_eq!(rows, [("apple-juice", 3000, 0), ("bibimbap", 9500, 3)]);
    assert_eq!(menu.next_cursor, None);
}

#[tokio::test]
async fn rule_catalog_only_the_stores_owner_writes_its_menu() {
    let w = World::new();
    for caller in [other_owner(), customer(), operator()] {
        let err = put_menu_item(&*w.store, &caller, STORE, "bibimbap", None, item("비빔밥", 9000, 1))
            .await
            .unwrap_err();
        assert_eq!(api(err), (403, "FORBIDDEN"), "{caller:?}");
    }
    assert!(list_menu(&*w.store, STORE).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn rule_catalog_bad_items_are_400_naming_every_field() {
    let w = World::new();
    match put_menu_item(&*w.store, &owner(), STORE, "bad id!", None, item(" ", 0, -1)).await.unwrap_err() {
        AppError::Invalid(e) => {
            let fields: Vec<_> = e.fields().iter().map(|f| f.field.as_str()).collect();
            assert_eq!(fields, ["product_id", "name", "price", "stock"]);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rule_8_operators_register_riders_in_normalised_zones() {
    let w = World::new();
    let rider =
        register_rider(&*w.store, &*w.clock, &operator(), "r-1", RiderInput { zone: " Gangnam-GU ".into() })
            .await
            .unwrap();
    assert_eq!(rider.zone, "gangnam-gu");
    assert_eq!(rider.status, RiderStatus::Available);
    let moved =
        register_rider(&*w.store, &*w.clock, &operator(), "r-1", RiderInput { zone: "Mapo-gu".into() })
            .await
            .unwrap();
    assert_eq!(moved.zone, "mapo-gu");
    let err =
        register_rider(&*w.store, &*w.clock, &owner(), "r-2", RiderInput { zone: "Mapo-gu".into() }).await;
    assert_eq!(api(err.unwrap_err()), (403, "FORBIDDEN"));
    match register_rider(&*w.store, &*w.clock, &operator(), "r-2", RiderInput { zone: "".into() })
        .await
        .unwrap_err()
    {
        AppError::Invalid(e) => assert_eq!(e.fields()[0].field, "zone"),
        other => panic!("{other:?}"),
    }
}
