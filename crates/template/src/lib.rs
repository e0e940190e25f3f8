#![warn(missing_docs)]
//! `infra/template.yaml` as the local stack needs it.
//!
//! CloudFormation short-form tags (`!Ref`, `!GetAtt`, `!Sub`, ...) are read
//! as tagged YAML values; [`Template::resolve`] turns the ones a function's
//! environment uses into local values (table and bucket names, parameter
//! values with overrides). Anything else is an error naming the function and
//! the variable, never a silent default.
//!
//! The local stack runs from this model, and the tables of the tests and
//! the bench are created from it ([`dynamodb::create_table`]): the template
//! is the one description of the infrastructure.

pub mod dynamodb;
mod environment;
mod error;
mod events;
mod functions;
mod grants;
mod model;
mod parse;
mod project;
mod tables;
mod yaml;

pub use error::TemplateError;
pub use events::parse_rate;
pub use model::{
    EnvValue, FailureDestination, Function, Mapping, Queue, Redrive, Route, Schedule, Source, Template, Topic,
};
pub use project::{project_template, project_template_path};
pub use tables::{AttributeType, Index, KeyElement, KeyType, ProjectionType, StreamViewType, Table};
