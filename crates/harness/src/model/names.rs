//! How an executor spells the model's actors and things.

use super::*;

/// How an executor spells the model's actors and things. `suffix` keeps
/// the runs of one shared emulator apart (empty in memory).
#[derive(Debug, Clone)]
pub struct Names {
    /// Appended to the names of actors, stores and districts.
    pub suffix: String,
}

impl Names {
    /// Names with `suffix`.
    pub fn new(suffix: impl Into<String>) -> Names {
        Names { suffix: suffix.into() }
    }
    /// Store `i`'s id.
    pub fn store(&self, i: u8) -> String {
        format!("store-{i}{}", self.suffix)
    }
    /// Customer `i`'s user id.
    pub fn customer(&self, i: u8) -> String {
        format!("cust-{i}{}", self.suffix)
    }
    /// Owner `i`'s user id (the owner of store `i`).
    pub fn owner(&self, i: u8) -> String {
        format!("owner-{i}{}", self.suffix)
    }
    /// The operator's user id.
    pub fn operator(&self) -> String {
        format!("ops{}", self.suffix)
    }
    /// Rider `i`'s id.
    pub fn rider(&self, i: u8) -> String {
        format!("rider-{i}{}", self.suffix)
    }
    /// Product `i`'s id: `p{i}`.
    pub fn product(i: u8) -> String {
        format!("p{i}")
    }
    /// The product index of a product id, if it is one of the model's.
    pub fn product_index(id: &str) -> Option<u8> {
        id.strip_prefix('p')?.parse().ok()
    }
    /// Idempotency key `i`: `key-{i}`.
    pub fn key(i: u8) -> String {
        format!("key-{i}")
    }
    /// District 2 is district 0 in other case and spacing: the same zone
    /// once normalised.
    pub fn district(&self, i: u8) -> String {
        match i {
            0 => format!("Gangnam-gu{}", self.suffix),
            1 => format!("Mapo-gu{}", self.suffix),
            _ => format!("  GANGNAM-GU{}  ", self.suffix.to_uppercase()),
        }
    }
    /// The zone of a district, as the model sees it.
    pub fn zone_of(district: u8) -> u8 {
        if district == 1 { 1 } else { 0 }
    }
    /// The body of `POST /orders`.
    pub fn place_body(&self, body: &PlaceBody) -> Value {
        json!({
            "store_id": self.store(body.store),
            "items": body.lines.iter().map(|(p, q)| json!({"product_id": Self::product(*p), "quantity": q})).collect::<Vec<_>>(),
            "address": {"street": "1 Teheran-ro", "district": self.district(body.district), "city": "Seoul"},
        })
    }
    /// A refund request's `photo_key`: the order's uploaded photo when
    /// `right`, else another key under the order's prefix.
    pub fn photo_key(order_id: &str, right: bool) -> String {
        if right {
            format!("refund-photos/{order_id}/photo")
        } else {
            format!("refund-photos/{order_id}/other.jpg")
        }
    }
    /// A refund request's reason: a real one when `ok`, else blank.
    pub fn reason(ok: bool) -> &'static str {
        if ok { "the soup was cold" } else { "   " }
    }
    /// A photo upload's content type: JPEG when `ok`, else GIF.
    pub fn content_type(ok: bool) -> &'static str {
        if ok { "image/jpeg" } else { "image/gif" }
    }
    /// Product `product`'s name on the menu.
    pub fn menu_name(product: u8) -> String {
        format!("dish {product}")
    }
}
