//! `AWS::DynamoDB::Table` as typed serde structs: the properties that shape
//! a table (keys, attribute types, indexes, stream, TTL). A value outside
//! what CloudFormation accepts is an error naming the table and the
//! property's path; properties that do not change the shape (billing,
//! encryption, point-in-time recovery) are not read.

use crate::TemplateError;
use serde::Deserialize;
use serde_norway::Value;

/// A key attribute's type (`AttributeType`): string, number or binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AttributeType {
    /// A string.
    S,
    /// A number.
    N,
    /// Binary data.
    B,
}

impl AttributeType {
    /// The name DynamoDB's API gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            AttributeType::S => "S",
            AttributeType::N => "N",
            AttributeType::B => "B",
        }
    }
}

/// A key element's role (`KeyType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyType {
    /// The partition key.
    Hash,
    /// The sort key.
    Range,
}

impl KeyType {
    /// The name DynamoDB's API gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Hash => "HASH",
            KeyType::Range => "RANGE",
        }
    }
}

/// Which attributes an index copies (`Projection.ProjectionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProjectionType {
    /// Every attribute.
    All,
    /// The table's and the index's keys only.
    KeysOnly,
    /// The keys and the non-key attributes the projection names.
    Include,
}

impl ProjectionType {
    /// The name DynamoDB's API gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectionType::All => "ALL",
            ProjectionType::KeysOnly => "KEYS_ONLY",
            ProjectionType::Include => "INCLUDE",
        }
    }
}

/// What a table's stream records of a changed item (`StreamViewType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StreamViewType {
    /// The item's keys only.
    KeysOnly,
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// The item before and after the change.
    NewAndOldImages,
}

impl StreamViewType {
    /// The name DynamoDB's API gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamViewType::KeysOnly => "KEYS_ONLY",
            StreamViewType::NewImage => "NEW_IMAGE",
            StreamViewType::OldImage => "OLD_IMAGE",
            StreamViewType::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }
}

/// An entry of `AttributeDefinitions`: an attribute a key uses, and its type.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttributeDefinition {
    /// `AttributeName`.
    pub attribute_name: String,
    /// `AttributeType`.
    pub attribute_type: AttributeType,
}

/// An entry of a `KeySchema`, the table's or an index's.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct KeyElement {
    /// `AttributeName`: an attribute of `AttributeDefinitions`.
    pub attribute_name: String,
    /// `KeyType`.
    pub key_type: KeyType,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Projection {
    projection_type: ProjectionType,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexProperties {
    index_name: String,
    key_schema: Vec<KeyElement>,
    projection: Projection,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamSpecification {
    stream_view_type: StreamViewType,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TimeToLiveSpecification {
    attribute_name: String,
    enabled: bool,
}

/// The shaping properties of `AWS::DynamoDB::Table`, as written.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableProperties {
    attribute_definitions: Vec<AttributeDefinition>,
    key_schema: Vec<KeyElement>,
    #[serde(default)]
    global_secondary_indexes: Vec<IndexProperties>,
    stream_specification: Option<StreamSpecification>,
    time_to_live_specification: Option<TimeToLiveSpecification>,
}

/// A global secondary index of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    /// `IndexName`.
    pub name: String,
    /// The index's `KeySchema`.
    pub key: Vec<KeyElement>,
    /// `Projection.ProjectionType`.
    pub projection: ProjectionType,
}

/// A DynamoDB table as the template declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The table's logical id.
    pub logical_id: String,
    /// `AttributeDefinitions`: every attribute a key uses, and only those.
    pub attributes: Vec<AttributeDefinition>,
    /// The table's `KeySchema`.
    pub key: Vec<KeyElement>,
    /// `GlobalSecondaryIndexes`.
    pub indexes: Vec<Index>,
    /// `StreamSpecification.StreamViewType`, when the table has a stream.
    pub stream_view: Option<StreamViewType>,
    /// The TTL attribute, when enabled.
    pub ttl_attribute: Option<String>,
}

impl Table {
    pub(crate) fn from_properties(logical_id: &str, properties: Value) -> Result<Table, TemplateError> {
        let properties: TableProperties = crate::functions::typed(logical_id, "Properties", properties)?;
        let table = Table {
            logical_id: logical_id.to_owned(),
            attributes: properties.attribute_definitions,
            key: properties.key_schema,
            indexes: properties
                .global_secondary_indexes
                .into_iter()
                .map(|i| Index {
                    name: i.index_name,
                    key: i.key_schema,
                    projection: i.projection.projection_type,
                })
                .collect(),
            stream_view: properties.stream_specification.map(|s| s.stream_view_type),
            ttl_attribute: properties
                .time_to_live_specification
                .filter(|ttl| ttl.enabled)
                .map(|ttl| ttl.attribute_name),
        };
        table.check_keys_are_defined()?;
        Ok(table)
    }

    /// CloudFormation refuses a key on an attribute without a definition,
    /// and a definition no key uses; so does this, before any deployment.
    fn check_keys_are_defined(&self) -> Result<(), TemplateError> {
        let keys: Vec<&str> = self
            .key
            .iter()
            .chain(self.indexes.iter().flat_map(|i| &i.key))
            .map(|k| k.attribute_name.as_str())
            .collect();
        let defined = |name: &str| self.attributes.iter().any(|a| a.attribute_name == name);
        if let Some(undefined) = keys.iter().find(|k| !defined(k)) {
            return Err(TemplateError::Invalid(format!(
                "{}: the key attribute {undefined} is not in AttributeDefinitions",
                self.logical_id
            )));
        }
        if let Some(unused) = self.attributes.iter().find(|a| !keys.contains(&a.attribute_name.as_str())) {
            return Err(TemplateError::Invalid(format!(
                "{}: AttributeDefinitions declares {}, which no key uses",
                self.logical_id, unused.attribute_name
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Template;

    fn table(properties: &str) -> Result<crate::Table, String> {
        let source =
            format!("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Properties:\n{properties}");
        Template::parse(&source).map(|t| t.tables[0].clone()).map_err(|e| e.to_string())
    }

    const KEYS: &str = "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      \
                        KeySchema: [{AttributeName: id, KeyType: HASH}]\n";

    #[test]
    fn a_table_reads_with_its_stream_and_ttl() {
        let t = table(&format!(
            "{KEYS}      StreamSpecification: {{StreamViewType: NEW_IMAGE}}\n      \
             TimeToLiveSpecification: {{AttributeName: gone_at, Enabled: true}}\n      BillingMode: PAY_PER_REQUEST\n"
        ))
        .unwrap();
        assert_eq!(t.stream_view, Some(crate::StreamViewType::NewImage));
        assert_eq!(t.ttl_attribute.as_deref(), Some("gone_at"));
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_table_and_the_property() {
        let error = table(
            "      AttributeDefinitions: [{AttributeName: id, AttributeType: STRING}]\n      \
             KeySchema: [{AttributeName: id, KeyType: HASH}]\n",
        )
        .unwrap_err();
        assert!(
            error.contains("T: Properties.AttributeDefinitions[0].AttributeType: unknown variant `STRING`"),
            "{error}"
        );
        let error =
            table(&format!("{KEYS}      StreamSpecification: {{StreamViewType: BOTH}}\n")).unwrap_err();
        assert!(error.contains("T: Properties.StreamSpecification.StreamViewType"), "{error}");
        let error = table("      AttributeDefinitions: []\n").unwrap_err();
        assert!(error.contains("T: Properties: missing field `KeySchema`"), "{error}");
    }

    #[test]
    fn keys_and_definitions_must_match_as_cloudformation_requires() {
        let error = table(
            "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n      \
             KeySchema: [{AttributeName: id, KeyType: HASH}, {AttributeName: at, KeyType: RANGE}]\n",
        )
        .unwrap_err();
        assert!(error.contains("the key attribute at is not in AttributeDefinitions"), "{error}");
        let error = table(
            "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}, {AttributeName: x, AttributeType: N}]\n      \
             KeySchema: [{AttributeName: id, KeyType: HASH}]\n",
        )
        .unwrap_err();
        assert!(error.contains("declares x, which no key uses"), "{error}");
    }
}
