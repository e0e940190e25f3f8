#![warn(missing_docs)]

//! The local stack: `infra/template.yaml` read as the single description of
//! the system and run on this machine against a Kafka-protocol broker and an
//! AWS emulator. Every function binary runs as its own process behind a
//! Lambda Runtime API ([`runtime`]), fed by an emulated API Gateway HTTP API
//! ([`gateway`], [`jwt`]) and emulated event source mappings ([`mappings`],
//! [`filter`]); [`provision`] creates what the template declares and
//! [`stack`] puts it all together, every identifier in AWS's formats and
//! one account and region ([`ids`]), reporting what it does as
//! [`activity::StackEvent`]s. Clients of the stack (the scenario of
//! `make demo`, the bench of `make bench`) are `foodstream-harness`.

pub mod activity;
pub mod console;
pub mod filter;
pub mod gateway;
pub mod ids;
pub mod invoke;
pub mod jwt;
pub mod mappings;
pub mod provision;
pub mod queue_mapping;
pub mod runtime;
pub mod stack;
