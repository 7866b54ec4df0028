//! A case's deadlines: overdue, the one reminder before the due day, and
//! escalation one level up the tree at a time.

use super::*;

impl Case {
    /// When the current assignee took the case.
    fn cycle_start(&self) -> DateTime<Utc> {
        self.assigned_at.unwrap_or(self.opened_at)
    }

    /// The one reminder to the assignee is due: `remind_before` working days
    /// before the due day, not yet sent in this cycle, the case still open.
    pub fn reminder_due(&self, now: DateTime<Utc>, rules: &CaseRules) -> bool {
        if self.status.is_closed() || self.reminded_at.is_some() || now > self.due_at {
            return false;
        }
        let calendar = rules.calendar();
        let due_day = vn_day(self.due_at - chrono::Duration::seconds(1));
        let remind_day = calendar.sub_working_days(due_day, rules.remind_before);
        vn_day(now) >= remind_day
    }

    /// Records the reminder; the caller stores it with a versioned update
    /// before mailing, so a rerun sends nothing twice.
    pub fn remind(&self, now: DateTime<Utc>) -> (Case, CaseEvent) {
        let mut next = self.clone();
        next.reminded_at = Some(now);
        next.version += 1;
        let event = self.event(
            now,
            "nightly",
            CaseAction::Reminded,
            Some(format!(
                "reminder to the assignee ({}): due {}",
                self.assignment.unit,
                crate::domain::time::vn_display(self.due_at)
            )),
            self.status,
        );
        (next, event)
    }

    /// Where an overdue case goes next: the head of the unit above the last one
    /// that held it, one level each `escalate_every` working days past the due
    /// date, up to the authority. None when it is not yet time, or there is no
    /// level left.
    pub fn next_escalation<'o>(
        &self,
        org: &'o OrgDirectory,
        now: DateTime<Utc>,
        rules: &CaseRules,
    ) -> Option<(&'o Unit, &'o Handler)> {
        // A case the first version escalated went to the department office: done.
        if self.status.is_closed() || (self.escalations.is_empty() && self.escalated_at.is_some()) {
            return None;
        }
        let start = self.cycle_start();
        let this_cycle: Vec<&Escalation> =
            self.escalations.iter().filter(|e| e.at >= start).collect();
        let levels_done = u32::try_from(this_cycle.len()).ok()?;
        let threshold = if levels_done == 0 {
            self.due_at
        } else {
            rules.calendar().deadline(
                self.due_at - chrono::Duration::seconds(1),
                rules.escalate_every.saturating_mul(levels_done),
            )
        };
        if now < threshold || now <= self.due_at {
            return None;
        }
        let holder = match this_cycle.last() {
            Some(e) => e.unit.as_str(),
            None => self.assignment.unit_code(org),
        };
        let parent = org.current_unit(holder)?.parent.as_deref()?;
        let (unit, head) = org.head_for(parent)?;
        let already = this_cycle.iter().any(|e| e.unit == unit.code);
        (!already).then_some((unit, head))
    }

    /// Records an escalation to `unit`; the caller stores it with a versioned update.
    pub fn escalate(&self, unit: &Unit, head: &Handler, now: DateTime<Utc>) -> (Case, CaseEvent) {
        let mut next = self.clone();
        next.escalated_at.get_or_insert(now);
        next.escalations.push(Escalation {
            unit: unit.code.clone(),
            name: head.name.clone(),
            email: head.email.clone(),
            at: now,
        });
        next.version += 1;
        let event = self.event(
            now,
            "nightly",
            CaseAction::Escalated,
            Some(format!(
                "escalated to the head of {} ({})",
                unit.code, head.email
            )),
            self.status,
        );
        (next, event)
    }
}
