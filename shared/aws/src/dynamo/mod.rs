//! DynamoDB adapter: every store port on one table (see `keys` for the schema).
//!
//! Documents are stored with serde_dynamo beside their key attributes. Writes
//! that must happen once are conditional puts or transactions; reads are GetItem
//! or Query, never Scan.

pub mod keys;
mod store;
pub mod table;

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use csq_core::ports::PortError;

pub type Item = HashMap<String, AttributeValue>;

/// The CSQ table.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// What "expired" is measured against: the same clock as the core's.
    clock: std::sync::Arc<dyn csq_core::ports::Clock>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            clock: std::sync::Arc::new(csq_core::ports::SystemClock),
        }
    }

    /// The same store reading time from `clock` (tests move it).
    pub fn with_clock(self, clock: std::sync::Arc<dyn csq_core::ports::Clock>) -> DynamoStore {
        DynamoStore { clock, ..self }
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

pub(crate) fn err(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::new(format!("dynamodb: {context}"), e)
}

/// LastEvaluatedKey as an opaque cursor (all key attributes are strings).
pub(crate) fn encode_cursor(key: Option<&Item>) -> Option<String> {
    let key = key?;
    let map: HashMap<&str, &str> = key
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.as_s().ok()?.as_str())))
        .collect();
    Some(URL_SAFE_NO_PAD.encode(serde_json::to_vec(&map).ok()?))
}

pub(crate) fn decode_cursor(cursor: Option<&str>) -> Result<Option<Item>, PortError> {
    let Some(c) = cursor else { return Ok(None) };
    let bad = || PortError::bad_cursor("dynamodb: cursor");
    let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad())?;
    let map: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(Some(
        map.into_iter()
            .map(|(k, v)| (k, AttributeValue::S(v)))
            .collect(),
    ))
}
