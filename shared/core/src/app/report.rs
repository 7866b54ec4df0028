//! What leadership reads, from the daily rollups only (no rescans of
//! ratings): a unit's or an officer's figures over a week, month, quarter,
//! year or since launch with the previous period beside them; response rate
//! by issue-day cohort; reasons; fair rankings; the public monthly report.

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use std::sync::Arc;

use super::staff::{MAX_CHILDREN, QueryError, StatsKey};
use super::{Directory, Settings};
use crate::auth::scope::Scope;
use crate::domain::org::OrgDirectory;
use crate::domain::rating_scale::{Polarity, Reason};
use crate::domain::report::{Period, Ranked, WarningReport, rank};
use crate::domain::stats::{DailyStats, StatsTotal, cohort_key, median_of, sum_rows, total};
use crate::domain::time::vn_day;
use crate::policy::{Refusal, StaffRoute};
use crate::ports::{Clock, StatsStore, Store};

/// The first day "since launch" may reach back to: reading a unit's rows from
/// here is one Query over its own partition, bounded by the days CSQ has run.
pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(2020, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportRequest {
    pub unit: Option<String>,
    /// week, month (default), quarter, year, since_launch.
    pub period: Option<String>,
    /// A day in the period (default today).
    pub at: Option<NaiveDate>,
}

#[derive(Debug, Serialize)]
pub struct CohortView {
    /// Forms issued in the period.
    pub forms_issued: u64,
    /// Of those, how many were rated (whenever).
    pub forms_rated: u64,
    pub response_rate: Option<f64>,
    pub median_minutes_to_rate: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct ReasonView {
    pub reason: String,
    pub negative: bool,
    /// Per level (index 0 is level 1).
    pub levels: [u64; 5],
    pub total: u64,
    /// The same reason in the previous period (None for since launch).
    pub previous_total: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct PeriodFigures {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub totals: StatsTotal,
    pub cohort: CohortView,
    /// Forms issued in the period by their invitation's state: what was asked.
    pub invitations: std::collections::BTreeMap<String, u64>,
    /// Ratings and response by channel (misconduct reports left out).
    pub by_channel: Vec<ChannelView>,
    /// How long stages took (working hours, against the legal limits) and
    /// release times by lane, from the times the declaration system sent.
    pub service_times: crate::domain::stats::ServiceTimeFigures,
}

/// One channel's figures over a period. Its levels are withheld below k
/// ratings, for every reader: the officer who handed a kiosk to a business
/// must not read that business's answer from a cell of one.
#[derive(Debug, Serialize)]
pub struct ChannelView {
    pub channel: &'static str,
    pub forms_submitted: u64,
    /// Forms submitted through the channel / forms issued in the period.
    pub response_rate: Option<f64>,
    /// False: fewer ratings than k; levels, average and share withheld.
    pub shown: bool,
    pub ratings: u64,
    pub level_counts: Option<[u64; 5]>,
    pub average: Option<f64>,
    pub satisfied_share: Option<f64>,
}

fn channel_views(sum: &DailyStats, k: u64) -> Vec<ChannelView> {
    crate::domain::form::Channel::ALL
        .into_iter()
        .map(|channel| {
            let code = channel.code();
            let forms = sum.channel_forms.get(code).copied().unwrap_or(0);
            let levels = sum
                .channel_level_counts
                .get(code)
                .copied()
                .unwrap_or([0; 5]);
            let (figures, shown) = crate::domain::stats::Levels::shown_from(&levels, k);
            ChannelView {
                channel: code,
                forms_submitted: forms,
                response_rate: (sum.forms_issued > 0)
                    .then(|| forms as f64 / sum.forms_issued as f64),
                shown,
                ratings: figures.ratings,
                level_counts: shown.then_some(levels),
                average: figures.average,
                satisfied_share: figures.satisfied_share,
            }
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct UnitReport {
    pub unit: String,
    pub period: Period,
    pub current: PeriodFigures,
    pub previous: Option<PeriodFigures>,
    pub reasons: Vec<ReasonView>,
    /// The most frequent negative reasons of the period (up to five), with
    /// their count in the previous period.
    pub top_negative_reasons: Vec<ReasonView>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RankingRequest {
    /// Rank the units of this kind (office, region, team…) below `within`.
    pub level: Option<String>,
    /// The unit whose subtree is ranked (default: the whole tree you see).
    pub within: Option<String>,
    /// Rank the officers rated at this office instead.
    pub officers_of: Option<String>,
    pub period: Option<String>,
    pub at: Option<NaiveDate>,
    /// Fewest ratings to be ranked (default `CSQ_RANK_MIN_RATINGS`).
    pub min_ratings: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct Ranking {
    pub period: Period,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub min_ratings: u64,
    /// How the order is made, for the reader.
    pub method: &'static str,
    pub items: Vec<Ranked>,
}

/// One unit of the public report.
#[derive(Debug, Serialize)]
pub struct PublicRow {
    pub code: String,
    pub name: String,
    pub name_en: Option<String>,
    /// A unit merged since (or retired): its own figures for the month, and
    /// the unit that carries on its work, if any. A reorganisation never moves
    /// a past month's figures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retired: bool,
    /// False: fewer ratings than the minimum count; the figures are withheld.
    pub shown: bool,
    pub ratings: Option<u64>,
    pub satisfied_share: Option<f64>,
    pub complaints_received: Option<u64>,
    pub complaints_resolved: Option<u64>,
    pub median_handling_hours: Option<u32>,
    /// Median hours from registration to release, per lane (green, yellow,
    /// red), as the WTO's Trade Facilitation Agreement (art. 7.6) asks members
    /// to publish; None for a lane with fewer than k releases.
    pub median_release_hours: BTreeMap<String, Option<f64>>,
}

#[derive(Debug, Serialize)]
pub struct PublicReport {
    pub month: String,
    pub level: String,
    pub min_ratings: u64,
    pub units: Vec<PublicRow>,
    pub totals: PublicTotals,
}

/// Every listed unit added up, withheld ones included. Withheld itself when
/// the withheld units hold between 1 and k-1 ratings together: the total less
/// the shown rows would give away a small cell.
#[derive(Debug, Serialize)]
pub struct PublicTotals {
    pub shown: bool,
    pub ratings: Option<u64>,
    pub satisfied_share: Option<f64>,
    pub complaints_received: Option<u64>,
    pub complaints_resolved: Option<u64>,
}

fn period_of(raw: Option<&str>) -> Result<Period, QueryError> {
    match raw {
        None => Ok(Period::Month),
        Some(p) => Period::parse(p).ok_or_else(|| {
            QueryError::BadRequest("period is week, month, quarter, year or since_launch".into())
        }),
    }
}

fn figures(
    from: NaiveDate,
    to: NaiveDate,
    key: &str,
    rows: &[DailyStats],
    cohort: &[DailyStats],
    k: u64,
) -> PeriodFigures {
    let c = sum_rows(key, cohort);
    let sum = sum_rows(key, rows);
    PeriodFigures {
        from,
        to,
        totals: StatsTotal::of(&sum),
        by_channel: channel_views(&sum, k),
        service_times: crate::domain::stats::ServiceTimeFigures::of(&sum, k),
        invitations: sum.invitations,
        cohort: CohortView {
            forms_issued: c.forms_issued,
            forms_rated: c.forms_submitted,
            response_rate: c.response_rate,
            median_minutes_to_rate: median_of(&c.minutes_to_rate),
        },
    }
}

/// What leadership and the public read: figures from the daily rollups.
#[derive(Clone)]
pub struct Figures {
    pub(super) stats: Arc<dyn StatsStore>,
    pub(super) directory: Directory,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: Arc<Settings>,
}

impl Figures {
    pub fn new(store: &Arc<dyn Store>, clock: Arc<dyn Clock>, settings: Arc<Settings>) -> Figures {
        Figures {
            stats: store.clone(),
            directory: Directory::new(store, clock.clone()),
            clock,
            settings,
        }
    }

    /// A unit's (or stage's, or officer's) figures over a period, beside the
    /// previous period, with response rate by issue-day cohort and reasons.
    #[tracing::instrument(name = "unit_report", skip_all)]
    pub async fn unit_report(
        &self,
        who: &Scope,
        req: &ReportRequest,
    ) -> Result<UnitReport, QueryError> {
        who.may_use(StaffRoute::Reports)?;
        let period = period_of(req.period.as_deref())?;
        let today = vn_day(self.clock.now());
        let at = req.at.unwrap_or(today);
        let (from, to) = period.range(at, EARLIEST);
        let empty = OrgDirectory::new("", "", vec![]);
        let org = who.org().unwrap_or(&empty);
        let key = StatsKey::parse(req.unit.as_deref().unwrap_or(""), org)?;
        if let Some(code) = key.unit_code()
            && !who.sees_unit(code)
        {
            return Err(Refusal::Unit(code.to_owned()).into());
        }
        let read = |from, to| {
            let key = key.key();
            async move {
                let rows = self.scoped_rows(who, &key, from, to).await?;
                let cohort = self.scoped_rows(who, &cohort_key(&key), from, to).await?;
                Ok::<_, QueryError>((rows, cohort))
            }
        };
        let (rows, cohort) = read(from, to).await?;
        let k = self.settings.min_cell;
        let current = figures(from, to, &key.key(), &rows, &cohort, k);
        let mut previous = None;
        let mut previous_reasons = None;
        if let Some((pf, pt)) = period.previous(at, EARLIEST) {
            let (prows, pcohort) = read(pf, pt).await?;
            previous_reasons = Some(sum_rows(&key.key(), &prows).reason_counts);
            previous = Some(figures(pf, pt, &key.key(), &prows, &pcohort, k));
        }
        let view = |reason: &str, levels: [u64; 5]| ReasonView {
            reason: reason.to_owned(),
            negative: Reason::from_code(reason).is_some_and(|r| r.polarity() == Polarity::Negative),
            levels,
            total: levels.iter().sum(),
            previous_total: previous_reasons
                .as_ref()
                .map(|p| p.get(reason).map(|l| l.iter().sum()).unwrap_or(0)),
        };
        let reasons: Vec<ReasonView> = sum_rows(&key.key(), &rows)
            .reason_counts
            .into_iter()
            .map(|(r, l)| view(&r, l))
            .collect();
        let mut top: Vec<ReasonView> = reasons
            .iter()
            .filter(|r| r.negative)
            .map(|r| view(&r.reason, r.levels))
            .collect();
        top.sort_by(|a, b| b.total.cmp(&a.total).then(a.reason.cmp(&b.reason)));
        top.truncate(5);
        Ok(UnitReport {
            unit: key.key(),
            period,
            current,
            previous,
            reasons,
            top_negative_reasons: top,
        })
    }

    /// A key's rows as `who` may see them; rows of another owner than the
    /// reader's units refuse the whole request.
    pub(crate) async fn scoped_rows(
        &self,
        who: &Scope,
        key: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyStats>, QueryError> {
        let rows = self.stats.daily(key, from, to).await?;
        if rows.iter().any(|r| !who.sees_owner(r.owner.as_deref())) {
            return Err(Refusal::Unit(key.to_owned()).into());
        }
        let k = self.settings.min_cell;
        Ok(rows
            .iter()
            .map(|r| crate::policy::stats_for_reader(who, r, k))
            .collect())
    }

    /// Units of one kind, or the officers rated at one office, ranked by the
    /// lower bound of their satisfied share's Wilson interval.
    #[tracing::instrument(name = "rankings", skip_all)]
    pub async fn rankings(&self, who: &Scope, req: &RankingRequest) -> Result<Ranking, QueryError> {
        who.may_use(StaffRoute::Rankings)?;
        let period = period_of(req.period.as_deref())?;
        let at = req.at.unwrap_or(vn_day(self.clock.now()));
        let (from, to) = period.range(at, EARLIEST);
        let min_ratings = req.min_ratings.unwrap_or(self.settings.rank_min_ratings);
        let empty = OrgDirectory::new("", "", vec![]);
        let org = who.org().unwrap_or(&empty);
        let mut entries: Vec<(String, Option<String>)> = vec![];
        match (&req.officers_of, &req.level) {
            (Some(office), _) => {
                if !who.sees_unit(office) {
                    return Err(Refusal::Unit(office.clone()).into());
                }
                let rows = self
                    .scoped_rows(who, &crate::domain::form::units::unit(office), from, to)
                    .await?;
                let mut ids: Vec<String> =
                    rows.iter().flat_map(|r| r.officer_ids.clone()).collect();
                ids.sort();
                ids.dedup();
                entries.extend(ids.into_iter().map(|id| (format!("officer:{id}"), None)));
            }
            (None, Some(level)) => {
                let within = req
                    .within
                    .clone()
                    .or_else(|| org.root().map(|r| r.code.clone()))
                    .unwrap_or_default();
                if !who.sees_unit(&within) {
                    return Err(Refusal::Unit(within).into());
                }
                let subtree = org.subtree(&within);
                for u in org.units.iter().filter(|u| {
                    &u.kind == level
                        && !u.retired
                        && subtree.contains(&u.code)
                        && who.sees_unit(&u.code)
                }) {
                    entries.push((
                        crate::domain::form::units::unit(&u.code),
                        Some(u.name.clone()),
                    ));
                }
            }
            (None, None) => {
                return Err(QueryError::BadRequest(
                    "name a level (office, region, team…) or officers_of=OFFICE".into(),
                ));
            }
        }
        if entries.len() > MAX_CHILDREN {
            return Err(QueryError::BadRequest(format!(
                "more than {MAX_CHILDREN} to rank; narrow it with within="
            )));
        }
        let mut counted = Vec::with_capacity(entries.len());
        for (key, name) in entries {
            let rows = self.scoped_rows(who, &key, from, to).await?;
            let t = total(&key, &rows);
            let satisfied = t.level_counts[3] + t.level_counts[4];
            counted.push((key, name, t.ratings, satisfied));
        }
        Ok(Ranking {
            period,
            from,
            to,
            min_ratings,
            method: "Wilson score interval (95%) of the satisfied share (levels 4–5), ordered by its lower bound; fewer ratings than min_ratings: listed, not ranked",
            items: rank(counted, min_ratings),
        })
    }

    /// The public monthly report: per unit of the configured level, with
    /// figures withheld for units under the minimum count. No personal data,
    /// no officers.
    #[tracing::instrument(name = "public_report", skip_all)]
    pub async fn public_report(&self, month: Option<&str>) -> Result<PublicReport, QueryError> {
        let today = vn_day(self.clock.now());
        let at = match month {
            Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
                .map_err(|_| QueryError::BadRequest("month is YYYY-MM".into()))?,
            // The last whole month.
            None => Period::Month.range(today, EARLIEST).0 - Days::new(1),
        };
        let (from, to) = Period::Month.range(at, EARLIEST);
        let level = self.settings.public_level.clone();
        let k = self.settings.min_cell;
        let org = self.directory.current_org().await?.map(|(_, o)| o);
        let mut units = vec![];
        // Each listed unit's month, added up once more for the totals.
        let mut sums = vec![];
        let mut withheld_ratings = 0;
        // The directory keeps merged and retired units for their history: a
        // unit active now is listed; one no longer active is listed for the
        // months it has figures in, under its own name, marked as such.
        for u in org
            .iter()
            .flat_map(|o| o.units.iter())
            .filter(|u| u.kind == level)
            .take(MAX_CHILDREN)
        {
            let rows = self
                .stats
                .daily(&crate::domain::form::units::unit(&u.code), from, to)
                .await?;
            let active = u.is_active();
            if !active && rows.is_empty() {
                continue;
            }
            let sum = sum_rows(&u.code, &rows);
            let t = StatsTotal::of(&sum);
            let shown = crate::policy::enough_ratings(t.ratings, k);
            if !shown {
                withheld_ratings += t.ratings;
            }
            let hours = median_of(&sum.handling_hours);
            units.push(PublicRow {
                code: u.code.clone(),
                name: u.name.clone(),
                name_en: u.name_en.clone(),
                merged_into: u.successor.clone(),
                retired: !active,
                shown,
                ratings: shown.then_some(t.ratings),
                satisfied_share: t.satisfied_share.filter(|_| shown),
                complaints_received: shown.then_some(t.complaints_opened),
                complaints_resolved: shown.then_some(t.complaints_closed),
                median_handling_hours: hours.filter(|_| shown),
                median_release_hours: crate::domain::declaration::Lane::ALL
                    .iter()
                    .map(|lane| {
                        let counts = sum.release_minutes.get(lane.code());
                        let n: u64 = counts.map(|c| c.values().sum()).unwrap_or(0);
                        let median = counts
                            .filter(|_| crate::policy::enough_ratings(n, k))
                            .and_then(|c| crate::domain::times::quantile(c, 0.5))
                            .map(|m| f64::from(m) / 60.0);
                        (lane.code().to_owned(), median)
                    })
                    .collect(),
            });
            sums.push(sum);
        }
        let t = total("all", &sums);
        let shown = withheld_ratings == 0 || crate::policy::enough_ratings(withheld_ratings, k);
        Ok(PublicReport {
            month: from.format("%Y-%m").to_string(),
            level,
            min_ratings: k,
            units,
            totals: PublicTotals {
                shown,
                ratings: shown.then_some(t.ratings),
                satisfied_share: t.satisfied_share.filter(|_| shown),
                complaints_received: shown.then_some(t.complaints_opened),
                complaints_resolved: shown.then_some(t.complaints_closed),
            },
        })
    }
}

/// A strong ETag for a response body.
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!(
        "\"{}\"",
        digest[..16]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

impl Figures {
    /// The newest early-warning report, with the flags this reader may see.
    pub async fn early_warnings(&self, who: &Scope) -> Result<Option<WarningReport>, QueryError> {
        who.may_use(StaffRoute::Warnings)?;
        let Some(mut report) = self.stats.latest_warnings().await? else {
            return Ok(None);
        };
        report.flags.retain(|f| who.sees_owner(Some(&f.owner)));
        Ok(Some(report))
    }
}
