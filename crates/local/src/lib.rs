//! The local stack (work in progress): `infra/template.yaml` read as the
//! single description of the system and run on this machine. This first
//! part is the template model: functions with their environment, routes,
//! event source mappings, tables, topics, bucket and queue.

pub mod template;
