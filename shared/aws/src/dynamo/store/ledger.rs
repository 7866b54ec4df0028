//! The cap per business on DynamoDB: one item per tax code (`BUSINESS#tax`,
//! `INVITED`), taken by a conditional put on the domain's cutoff, so two
//! forms issued at the same moment send one email; it expires by TTL once
//! the period is over.

use csq_core::domain::survey::InvitationCap;
use csq_core::ports::InvitationLedger;

use super::*;

const LAST_AT: &str = "last_at";

#[async_trait]
impl InvitationLedger for DynamoStore {
    async fn take_invitation_slot(
        &self,
        tax_code: &str,
        now: DateTime<Utc>,
        cap: &InvitationCap,
    ) -> PortResult<bool> {
        let mut it = Item::new();
        it.insert(PK.to_owned(), s(business_pk(tax_code)));
        it.insert(SK.to_owned(), s("INVITED"));
        it.insert(LAST_AT.to_owned(), s(ts(now)));
        let res = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(with_ttl(it, cap.keep_until(now))))
            .condition_expression("attribute_not_exists(PK) OR #last <= :cutoff")
            .expression_attribute_names("#last", LAST_AT)
            .expression_attribute_values(":cutoff", s(ts(cap.cutoff(now))))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(err("take invitation slot", e)),
        }
    }

    async fn give_back_invitation_slot(
        &self,
        tax_code: &str,
        taken_at: DateTime<Utc>,
    ) -> PortResult<()> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(business_pk(tax_code)))
            .key(SK, s("INVITED"))
            .condition_expression("#last = :taken")
            .expression_attribute_names("#last", LAST_AT)
            .expression_attribute_values(":taken", s(ts(taken_at)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            // Someone took the slot since: it is theirs now.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|x| x.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(err("give back invitation slot", e)),
        }
    }
}
