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

/// Presents a stored UTC instant as Vietnamese local time.
pub fn vn_display(t: DateTime<Utc>) -> String {
    t.with_timezone(&vietnam())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
