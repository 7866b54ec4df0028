//! Time rules: store UTC, bucket and show days in Asia/Ho_Chi_Minh.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

/// Asia/Ho_Chi_Minh has been UTC+7 without daylight saving since 1975, so a fixed
/// offset is exact for every date this product will see and needs no tz database.
pub fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("UTC+7 is a valid offset")
}

/// The calendar day in Vietnam on which `t` falls.
pub fn vn_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&vietnam()).date_naive()
}

/// The UTC instant at which a Vietnamese calendar day starts.
pub fn vn_day_start(day: NaiveDate) -> DateTime<Utc> {
    vietnam()
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()
        .expect("fixed offsets have no gaps")
        .with_timezone(&Utc)
}

/// The day before `now`'s in Vietnam: the day a nightly run rolls up.
pub fn vn_yesterday(now: DateTime<Utc>) -> NaiveDate {
    vn_day(now) - chrono::Days::new(1)
}

/// Time from `now` to the next `at` o'clock in Vietnam (a full day when it is
/// that o'clock now: never twice in one minute).
pub fn until_next_vn_time(now: DateTime<Utc>, at: NaiveTime) -> chrono::Duration {
    let today = vn_day(now);
    let at_offset = at - NaiveTime::MIN;
    let today_at = vn_day_start(today) + at_offset;
    let next = if today_at > now {
        today_at
    } else {
        vn_day_start(today + chrono::Days::new(1)) + at_offset
    };
    next - now
}

/// The one boundary rule for every limit CSQ keeps (a form's window, a
/// retention period, a deadline's start of escalation): a limit has passed
/// from the instant it names on.
pub fn has_passed(limit: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= limit
}

/// Presents a stored UTC instant as Vietnamese local time.
pub fn vn_display(t: DateTime<Utc>) -> String {
    t.with_timezone(&vietnam())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// A deadline in words, in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineText {
    pub vi: String,
    pub en: String,
}

/// A deadline as people read it. Deadlines in working days end at the next
/// midnight in Vietnam, which a clock would show as the following day's 00:00:
/// such a deadline reads "by the end of" its last day. Any other keeps its hour.
pub fn vn_deadline(t: DateTime<Utc>) -> DeadlineText {
    let local = t.with_timezone(&vietnam());
    if local.time() == NaiveTime::MIN {
        let last = (local.date_naive() - chrono::Days::new(1))
            .format("%d/%m/%Y")
            .to_string();
        DeadlineText {
            vi: format!("hết ngày {last}"),
            en: format!("by the end of {last}"),
        }
    } else {
        let (hour, day) = (local.format("%H:%M"), local.format("%d/%m/%Y"));
        DeadlineText {
            vi: format!("{hour} ngày {day}"),
            en: format!("by {hour} on {day}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_nightly_run_is_in_vietnamese_time() {
        let at = NaiveTime::from_hms_opt(1, 0, 0).unwrap();
        // 17:30 UTC is 00:30 in Vietnam: the run is 30 minutes away.
        let now = DateTime::parse_from_rfc3339("2026-11-27T17:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(until_next_vn_time(now, at), chrono::Duration::minutes(30));
        // 18:00 UTC is exactly 01:00: the next run is tomorrow.
        let now = DateTime::parse_from_rfc3339("2026-11-27T18:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(until_next_vn_time(now, at), chrono::Duration::days(1));
        // 17:30 UTC on the 27th is the 28th in Vietnam: yesterday is the 27th.
        let now = DateTime::parse_from_rfc3339("2026-11-27T17:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            vn_yesterday(now),
            NaiveDate::from_ymd_opt(2026, 11, 27).unwrap()
        );
    }

    #[test]
    fn a_deadline_at_midnight_reads_as_the_end_of_the_day_before() {
        let due = vn_day_start(NaiveDate::from_ymd_opt(2026, 12, 22).unwrap());
        let text = vn_deadline(due);
        assert_eq!(text.vi, "hết ngày 21/12/2026");
        assert_eq!(text.en, "by the end of 21/12/2026");
        let hour = DateTime::parse_from_rfc3339("2026-12-21T17:30:00+07:00")
            .unwrap()
            .to_utc();
        assert_eq!(vn_deadline(hour).en, "by 17:30 on 21/12/2026");
        assert_eq!(vn_deadline(hour).vi, "17:30 ngày 21/12/2026");
    }

    #[test]
    fn day_boundary_is_midnight_in_vietnam() {
        let late_utc = DateTime::parse_from_rfc3339("2026-11-27T16:59:59Z")
            .unwrap()
            .to_utc();
        let after = DateTime::parse_from_rfc3339("2026-11-27T17:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(vn_day(late_utc).to_string(), "2026-11-27");
        assert_eq!(vn_day(after).to_string(), "2026-11-28");
        assert_eq!(vn_day_start(vn_day(after)), after);
        assert_eq!(vn_display(after), "28/11/2026 00:00");
    }
}
