//! `chats stats`: counts per provider and status, lifetimes, sessions per day.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{ChatSession, Lifetimes, Status};

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProviderStats {
    pub sessions: usize,
    pub active: usize,
    pub idle: usize,
    pub expired: usize,
    /// Mean time from creation to last activity, in seconds.
    pub mean_lifetime_secs: Option<f64>,
    /// Sessions created per day over the days from the first to the last creation.
    pub sessions_per_day: Option<f64>,
    /// Share of sessions that are active, 0..1.
    pub share_active: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Stats {
    pub total: ProviderStats,
    pub providers: BTreeMap<String, ProviderStats>,
}

pub fn compute(sessions: &[ChatSession], lifetimes: &Lifetimes, now: DateTime<Utc>) -> Stats {
    let mut groups: BTreeMap<String, Vec<&ChatSession>> = BTreeMap::new();
    for s in sessions {
        groups
            .entry(s.provider.name().to_string())
            .or_default()
            .push(s);
    }
    let all: Vec<&ChatSession> = sessions.iter().collect();
    Stats {
        total: one(&all, lifetimes, now),
        providers: groups
            .into_iter()
            .map(|(k, v)| (k, one(&v, lifetimes, now)))
            .collect(),
    }
}

fn one(sessions: &[&ChatSession], lifetimes: &Lifetimes, now: DateTime<Utc>) -> ProviderStats {
    let mut st = ProviderStats {
        sessions: sessions.len(),
        ..Default::default()
    };
    let mut lifetimes_secs = Vec::new();
    let (mut first, mut last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = (None, None);
    for s in sessions {
        match lifetimes.status(s, now) {
            Status::Active => st.active += 1,
            Status::Idle => st.idle += 1,
            Status::Expired => st.expired += 1,
        }
        if let (Some(c), Some(u)) = (s.created, s.updated) {
            lifetimes_secs.push((u - c).num_milliseconds().max(0) as f64 / 1000.0);
        }
        if let Some(c) = s.created {
            first = Some(first.map_or(c, |f| f.min(c)));
            last = Some(last.map_or(c, |l| l.max(c)));
        }
    }
    if !lifetimes_secs.is_empty() {
        st.mean_lifetime_secs =
            Some(lifetimes_secs.iter().sum::<f64>() / lifetimes_secs.len() as f64);
    }
    if let (Some(f), Some(l)) = (first, last) {
        let days = ((l - f).num_seconds() as f64 / 86_400.0).max(1.0);
        st.sessions_per_day =
            Some(sessions.iter().filter(|s| s.created.is_some()).count() as f64 / days);
    }
    if st.sessions > 0 {
        st.share_active = st.active as f64 / st.sessions as f64;
    }
    st
}
