//! The person index on DynamoDB: items `PERSON#key` / `FORM#id` or
//! `CASE#id`, put in the transaction that stores the record, expiring with
//! its personal data (TTL), read by one Query.

use aws_sdk_dynamodb::types::DeleteRequest;
use csq_core::ports::{HeldRecord, PersonIndex};

use super::*;

/// BatchWriteItem takes at most 25 requests.
const DELETE_BATCH: usize = 25;

fn sort_key(record: &HeldRecord) -> String {
    match record {
        HeldRecord::Form(id) => format!("FORM#{id}"),
        HeldRecord::Case(id) => format!("CASE#{id}"),
    }
}

impl DynamoStore {
    /// Puts of a record's index entries, for its transaction. No condition:
    /// an entry already there is the same entry.
    pub(super) fn person_puts(
        &self,
        record: &HeldRecord,
        keys: &[String],
        until: DateTime<Utc>,
    ) -> PortResult<Vec<TransactWriteItem>> {
        keys.iter()
            .map(|key| {
                let mut it = Item::new();
                it.insert(PK.to_owned(), s(person_pk(key)));
                it.insert(SK.to_owned(), s(sort_key(record)));
                put_as_is(&self.table, with_ttl(it, until))
            })
            .collect()
    }

    /// Deletes items by key in batches, sending again what DynamoDB leaves
    /// unprocessed (throttling).
    pub(super) async fn delete_keys(
        &self,
        keys: &[(String, String)],
        what: &str,
    ) -> PortResult<()> {
        for chunk in keys.chunks(DELETE_BATCH) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|(pk, sk)| {
                    let delete = DeleteRequest::builder()
                        .key(PK, s(pk))
                        .key(SK, s(sk))
                        .build()
                        .map_err(|e| err("build delete", e))?;
                    Ok(WriteRequest::builder().delete_request(delete).build())
                })
                .collect::<PortResult<_>>()?;
            for _ in 0..5 {
                if requests.is_empty() {
                    break;
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| err(what, e))?;
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
            }
            if !requests.is_empty() {
                return Err(failed(what, "deletes left unprocessed"));
            }
        }
        Ok(())
    }
}

#[async_trait]
impl PersonIndex for DynamoStore {
    async fn records_of_person(&self, key: &str, limit: u32) -> PortResult<Vec<HeldRecord>> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(person_pk(key)))
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(|e| err("records of person", e))?;
        let now = self.clock.now();
        Ok(out
            .items()
            .iter()
            // DynamoDB deletes expired items lazily: an entry past its
            // record's limit points to data that is gone.
            .filter(|it| live(it, now))
            .filter_map(|it| {
                let sk = it.get(SK)?.as_s().ok()?;
                match sk.split_once('#')? {
                    ("FORM", id) => Some(HeldRecord::Form(id.to_owned())),
                    ("CASE", id) => Some(HeldRecord::Case(id.to_owned())),
                    _ => None,
                }
            })
            .collect())
    }

    async fn unindex_person(&self, key: &str, records: &[HeldRecord]) -> PortResult<()> {
        let keys: Vec<(String, String)> = records
            .iter()
            .map(|r| (person_pk(key), sort_key(r)))
            .collect();
        self.delete_keys(&keys, "unindex person").await
    }
}
