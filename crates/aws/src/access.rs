//! What each adapter calls on AWS, declared where the adapter is written
//! and held to on every call.
//!
//! Each adapter lists, per port method, the IAM actions the method calls and
//! on which resource (`DynamoOrders::GET`, `DynamoOrders::PLACE`, ...). A
//! function's `main.rs` builds its adapters from the methods it uses; the
//! declarations are recorded (`foodstream_config::grant`) for the template
//! test, which compares them with the function's `Policies`, and a DynamoDB
//! call outside them fails before it is sent, as IAM would refuse it on
//! AWS. So a declaration cannot drift from the code: the local stack and
//! every integration test run through the same check.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::operation::{
    batch_get_item::BatchGetItemInput, get_item::GetItemInput, put_item::PutItemInput, query::QueryInput,
    transact_write_items::TransactWriteItemsInput, update_item::UpdateItemInput,
};
pub use foodstream_config::{ConfigError, Grant, Resource};

use crate::schema::TableSpec;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) const fn table(spec: &TableSpec) -> Resource {
    Resource::Table { table: spec.logical_id }
}

pub(crate) const fn index(spec: &TableSpec, index: &'static str) -> Resource {
    Resource::Index { table: spec.logical_id, index }
}

/// The tables a set of declarations names, by their names at run time
/// (each read from its table's variable, and only those).
#[derive(Debug, Clone, Default)]
pub struct Tables {
    names: Vec<(&'static str, String)>,
}

impl Tables {
    /// The name of every table `grants` name, from `name_of` (its variable,
    /// in a function).
    pub fn of(
        grants: &[Grant],
        name_of: impl Fn(&TableSpec) -> Result<String, ConfigError>,
    ) -> Result<Tables, ConfigError> {
        let mut names = Vec::new();
        for spec in crate::schema::TABLES {
            let named = grants.iter().any(|g| match g.resource {
                Resource::Table { table } | Resource::Index { table, .. } | Resource::Stream { table } => {
                    table == spec.logical_id
                }
                _ => false,
            });
            if named {
                names.push((spec.logical_id, name_of(&spec)?));
            }
        }
        Ok(Tables { names })
    }

    /// The run-time name of a table; empty when no declaration names it
    /// (a call to it is then refused before it is sent).
    pub fn name(&self, spec: &TableSpec) -> String {
        self.logical_to_name(spec.logical_id).unwrap_or_default()
    }

    fn logical_to_name(&self, logical: &str) -> Option<String> {
        self.names.iter().find(|(l, _)| *l == logical).map(|(_, n)| n.clone())
    }

    fn logical_of(&self, name: &str) -> Option<&'static str> {
        self.names.iter().find(|(_, n)| n == name).map(|(l, _)| *l)
    }
}

/// Records `uses`' grants, reads their tables' names from their variables
/// and returns a client that refuses any call outside them.
pub fn declared_client(client: &Client, uses: &[&[Grant]]) -> Result<(Client, Tables), ConfigError> {
    declared_client_named(client, uses, |spec| foodstream_config::required(spec.env))
}

/// [`declared_client`] with the tables' names from `name_of` (tests).
pub fn declared_client_named(
    client: &Client,
    uses: &[&[Grant]],
    name_of: impl Fn(&TableSpec) -> Result<String, ConfigError>,
) -> Result<(Client, Tables), ConfigError> {
    let grants: Vec<Grant> = uses.iter().flat_map(|u| u.iter().copied()).collect();
    foodstream_config::grant(&grants);
    let tables = Tables::of(&grants, name_of)?;
    let checked =
        client.config().to_builder().interceptor(DeclaredCalls { tables: tables.clone(), grants }).build();
    Ok((Client::from_conf(checked), tables))
}

/// The DynamoDB interceptor holding an adapter to its declarations.
#[derive(Debug)]
struct DeclaredCalls {
    tables: Tables,
    grants: Vec<Grant>,
}

impl DeclaredCalls {
    fn check(&self, action: &'static str, table: &str, index: Option<&str>) -> Result<(), BoxError> {
        let logical = self.tables.logical_of(table).ok_or_else(|| {
            format!("{action} on table {table:?}: no declaration of this adapter names that table")
        })?;
        let allowed = self.grants.iter().any(|g| {
            g.action == action
                && match (g.resource, index) {
                    (Resource::Table { table }, None) => table == logical,
                    (Resource::Index { table, index: granted }, Some(index)) => {
                        table == logical && granted == index
                    }
                    _ => false,
                }
        });
        if allowed {
            Ok(())
        } else {
            Err(format!(
                "{action} on {logical}{} is not declared by this adapter (add it to the method's grants and the template)",
                index.map(|i| format!("/index/{i}")).unwrap_or_default()
            )
            .into())
        }
    }
}

impl Intercept for DeclaredCalls {
    fn name(&self) -> &'static str {
        "DeclaredCalls"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let input = context.input();
        if let Some(i) = input.downcast_ref::<GetItemInput>() {
            return self.check("dynamodb:GetItem", i.table_name().unwrap_or_default(), None);
        }
        if let Some(i) = input.downcast_ref::<PutItemInput>() {
            return self.check("dynamodb:PutItem", i.table_name().unwrap_or_default(), None);
        }
        if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            return self.check("dynamodb:UpdateItem", i.table_name().unwrap_or_default(), None);
        }
        if let Some(i) = input.downcast_ref::<QueryInput>() {
            return self.check("dynamodb:Query", i.table_name().unwrap_or_default(), i.index_name());
        }
        if let Some(i) = input.downcast_ref::<BatchGetItemInput>() {
            for table in i.request_items().into_iter().flat_map(|items| items.keys()) {
                self.check("dynamodb:BatchGetItem", table, None)?;
            }
            return Ok(());
        }
        if let Some(i) = input.downcast_ref::<TransactWriteItemsInput>() {
            // IAM checks a transaction item by item, each by its own action.
            for item in i.transact_items() {
                if let Some(put) = item.put() {
                    self.check("dynamodb:PutItem", put.table_name(), None)?;
                }
                if let Some(update) = item.update() {
                    self.check("dynamodb:UpdateItem", update.table_name(), None)?;
                }
                if let Some(check) = item.condition_check() {
                    self.check("dynamodb:ConditionCheckItem", check.table_name(), None)?;
                }
                if let Some(delete) = item.delete() {
                    self.check("dynamodb:DeleteItem", delete.table_name(), None)?;
                }
            }
            return Ok(());
        }
        Err("a DynamoDB operation the adapters never declare".into())
    }
}
