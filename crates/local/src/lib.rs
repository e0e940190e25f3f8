//! The local stack (work in progress): `infra/template.yaml` read as the
//! single description of the system and run on this machine. This first
//! parts are the template model (functions with their environment, routes,
//! event source mappings, tables, topics, bucket and queue) and the JWT
//! tokens the local gateway mints and verifies as API Gateway's authorizer
//! would.

pub mod gateway;
pub mod jwt;
pub mod runtime;
pub mod template;
