//! `sessions match "<task>"`: which sessions suit a task. Keywords in the task map to
//! specializations (the original script's table, extendable in `sessions.toml`);
//! sessions are ranked by relevance, then by availability.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::sessions::registry::{SessionView, SyncView};
use crate::store::config::Config;

/// Keyword (matched as a word prefix in the task) -> specializations it calls for.
const DEFAULT_TABLE: &[(&str, &[&str])] = &[
    (
        "ui",
        &["ui", "frontend", "react", "visualization", "dashboard"],
    ),
    ("frontend", &["frontend", "ui", "react"]),
    ("dashboard", &["dashboard", "ui", "visualization", "react"]),
    ("react", &["react", "frontend", "ui"]),
    ("visual", &["visualization", "ui"]),
    ("design", &["ui", "architecture"]),
    ("deploy", &["deployment", "devops", "automation"]),
    ("server", &["deployment", "devops", "infrastructure"]),
    ("production", &["deployment", "devops"]),
    ("docker", &["deployment", "devops"]),
    ("infra", &["infrastructure", "devops", "deployment"]),
    ("pipeline", &["automation", "devops"]),
    ("automat", &["automation", "devops"]),
    (
        "orchestrat",
        &["orchestration", "ai-agents", "autonomous-systems"],
    ),
    ("agent", &["ai-agents", "orchestration", "crewai"]),
    ("ai", &["ai-agents", "orchestration", "autonomous-systems"]),
    ("autonomous", &["autonomous-systems", "orchestration"]),
    ("crew", &["crewai", "ai-agents"]),
    ("architect", &["architecture", "memory-systems"]),
    ("memory", &["memory-systems", "architecture"]),
    (
        "consciousness",
        &["consciousness", "memory-systems", "architecture"],
    ),
    ("coordinat", &["coordination", "messaging"]),
    ("session", &["coordination", "messaging"]),
    ("message", &["messaging", "coordination"]),
    ("optimi", &["optimization", "performance"]),
    ("performance", &["optimization", "performance"]),
    ("speed", &["optimization", "performance"]),
    ("database", &["database", "backend"]),
    ("sql", &["database", "backend"]),
    ("api", &["backend", "api"]),
    ("backend", &["backend", "api"]),
    ("service", &["backend", "revenue-services"]),
    ("test", &["testing", "qa"]),
    ("secur", &["security"]),
    ("auth", &["security", "backend"]),
    ("revenue", &["revenue-services"]),
    ("payment", &["revenue-services", "backend"]),
    ("analytic", &["analytics", "data"]),
    ("data", &["data", "analytics", "database"]),
    ("metric", &["analytics", "monitoring"]),
    ("monitor", &["monitoring", "devops"]),
    ("doc", &["documentation"]),
];

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Candidate {
    #[serde(flatten)]
    pub session: SessionView,
    /// How many of the wanted specializations (or task words) the session offers.
    pub relevance: usize,
    pub matched: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MatchResult {
    pub task: String,
    pub wanted: Vec<String>,
    pub candidates: Vec<Candidate>,
    /// The command to run next, for the best candidate.
    pub next: Option<String>,
}

/// The specializations a task calls for.
pub fn wanted_specializations(config: &Config, task: &str) -> BTreeSet<String> {
    let mut table: BTreeMap<String, Vec<String>> = DEFAULT_TABLE
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect();
    for (k, v) in &config.matching.keywords {
        table
            .entry(k.to_lowercase())
            .or_default()
            .extend(v.iter().cloned());
    }
    let mut wanted = BTreeSet::new();
    for word in words(task) {
        for (keyword, specs) in &table {
            if word.starts_with(keyword.as_str()) {
                wanted.extend(specs.iter().cloned());
            }
        }
    }
    wanted
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Rank the sessions of `view` for `task`. `me`, the asking session, stays in
/// the ranking but is never the recommended next step: asking yourself is no help.
pub fn rank(config: &Config, view: &SyncView, task: &str, me: Option<&str>) -> MatchResult {
    let wanted = wanted_specializations(config, task);
    let task_words: BTreeSet<String> = words(task).into_iter().filter(|w| w.len() > 2).collect();
    let mut candidates: Vec<Candidate> = view
        .sessions
        .iter()
        .filter_map(|s| {
            let offered: BTreeSet<String> = s
                .specializations
                .iter()
                .chain(&s.capabilities)
                .map(|c| c.to_lowercase())
                .collect();
            let mut matched: Vec<String> = offered
                .iter()
                .filter(|o| {
                    wanted.contains(*o)
                        || task_words.iter().any(|w| {
                            o.split(|c: char| !c.is_alphanumeric())
                                .any(|part| part == w)
                        })
                })
                .cloned()
                .collect();
            matched.dedup();
            (!matched.is_empty()).then(|| Candidate {
                session: s.clone(),
                relevance: matched.len(),
                matched,
            })
        })
        .collect();
    candidates.sort_by(|a, b| {
        b.relevance
            .cmp(&a.relevance)
            .then(
                a.session
                    .availability_rank()
                    .cmp(&b.session.availability_rank()),
            )
            .then(a.session.id.cmp(&b.session.id))
    });
    let next = candidates
        .iter()
        .find(|c| Some(c.session.id.as_str()) != me)
        .map(|c| format!("sessions collab request {} {:?}", c.session.id, task.trim()));
    MatchResult {
        task: task.to_string(),
        wanted: wanted.into_iter().collect(),
        candidates,
        next,
    }
}
