//! What drives the local stack from outside, as a client would: [`api`],
//! the HTTP API client that the scenario, the bench and the integration
//! tests share; [`scenario`], SPEC section 2 played through the API with its
//! timeline (`make demo`); [`bench`](mod@bench), cold starts, load, latency
//! and cost (`make bench`), and [`plots`], its SVG charts. The emulator
//! itself is `foodstream-local`.

#![warn(missing_docs)]

pub mod api;
pub mod bench;
pub mod model;
pub mod plots;
pub mod scenario;
