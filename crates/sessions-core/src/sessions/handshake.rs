//! ID negotiation in `HANDSHAKES/`: a session proposes an identity, others vote.
//!
//! Layout: `HANDSHAKES/<proposal>/proposal.json` and one file per voter,
//! `HANDSHAKES/<proposal>/votes/<voter>.json`, so concurrent votes never collide.
//! Proposals of the original scripts (`ACTIVE/CONSENSUS/proposals/`, `votes/`) are
//! read too.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use crate::board::messages::{self, Post};
use crate::sessions::registry::{self, Liveness, Registry};
use crate::store::config::ORIGINAL_RULE;
use crate::store::error::{Error, Result};
use crate::store::hub::{Hub, layout};
use crate::store::record::{self, Record};
use crate::{store::ids, store::storage, store::time};

const LEGACY_PROPOSALS: &str = "ACTIVE/CONSENSUS/proposals";
const LEGACY_VOTES: &str = "ACTIVE/CONSENSUS/votes";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Vote {
    Agree,
    Question,
    Object,
}

impl std::str::FromStr for Vote {
    type Err = Error;
    fn from_str(s: &str) -> Result<Vote> {
        match s.to_ascii_lowercase().as_str() {
            "agree" | "yes" | "approve" => Ok(Vote::Agree),
            "question" | "?" => Ok(Vote::Question),
            "object" | "no" | "reject" => Ok(Vote::Object),
            _ => Err(Error::Usage(format!(
                "invalid vote {s:?}: use agree, question or object"
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CastVote {
    pub voter: String,
    pub vote: Vote,
    pub comment: Option<String>,
    pub time: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Tally {
    pub agree: Vec<CastVote>,
    pub question: Vec<CastVote>,
    pub object: Vec<CastVote>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProposalStatus {
    pub proposal: String,
    pub session_id: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub specializations: Vec<String>,
    pub proposed_by: Option<String>,
    pub proposed_at: Option<String>,
    /// `pending`, `agreed` or `objected`.
    pub state: String,
    pub tally: Tally,
    /// Live registered sessions, the electorate of the default rule.
    pub live_sessions: usize,
    /// Agreeing votes needed under the hub's rule.
    pub needed: usize,
    /// Agreeing votes that count: those of live registered sessions and of the proposed
    /// session itself.
    pub counted: usize,
    /// Read from the original scripts' `ACTIVE/CONSENSUS/`.
    pub legacy: bool,
}

/// The proposal ID for an identity: `<session-id>-identity`, as the old scripts named it.
pub fn proposal_id(session_id: &str) -> String {
    format!("{session_id}-identity")
}

fn proposal_rel(proposal: &str) -> String {
    format!("{}/{proposal}/proposal.json", layout::HANDSHAKES)
}

fn votes_rel(proposal: &str) -> String {
    format!("{}/{proposal}/votes", layout::HANDSHAKES)
}

/// What a session proposes as its identity.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    pub session_id: String,
    pub name: Option<String>,
    pub role: Option<String>,
    pub specializations: Vec<String>,
}

/// Propose an identity. The proposal is created exclusively (two sessions proposing
/// the same ID: one wins); a self-proposal counts as the proposer's agreeing vote.
pub fn propose(hub: &Hub, by: &str, identity: &Identity) -> Result<ProposalStatus> {
    ids::validate("session ID", by)?;
    ids::validate("proposed session ID", &identity.session_id)?;
    for text in [&identity.name, &identity.role].into_iter().flatten() {
        hub.check_secrets("the proposal", text)?;
    }
    // Consensus needs the registry: refuse before writing anything if it is broken.
    live_registered(hub)?;
    let proposal = proposal_id(&identity.session_id);
    // Votes name the proposal: one too long to name must not be created.
    ids::validate("proposal ID", &proposal)?;
    let path = hub.file(&proposal_rel(&proposal))?;
    hub.dir(layout::HANDSHAKES)?;
    storage::ensure_dir(path.parent().expect("proposal has a folder"))?;
    let now = time::format(time::now());
    let mut rec = Record::new();
    record::set_text(&mut rec, "proposal", &proposal);
    record::set_text(&mut rec, "session_id", &identity.session_id);
    if let Some(name) = &identity.name {
        record::set_text(&mut rec, "name", name);
    }
    if let Some(role) = &identity.role {
        record::set_text(&mut rec, "role", role);
    }
    record::set_list(&mut rec, "specializations", &identity.specializations);
    record::set_text(&mut rec, "proposed_by", by);
    record::set_text(&mut rec, "proposed_at", &now);
    record::set_text(&mut rec, "status", "pending");
    if !storage::create_exclusive(&path, &storage::json_bytes(&rec))? {
        return Err(Error::Failed(format!(
            "an identity proposal for {} already exists ({}); vote on it with `sessions handshake vote {proposal} agree`",
            identity.session_id,
            path.display()
        )));
    }
    mirror_proposal(hub, &proposal, identity, &now)?;
    // On the board, as session-propose-identity.sh announced it.
    let mut body = format!(
        "{by} proposes {} as **{} - {}**.\n\n**Role:** {}\n**Specializations:** {}\n\nVote: `sessions handshake vote {proposal} agree|question|object` (or `session-vote.sh {proposal} agree <you>`)",
        identity.session_id,
        identity.session_id,
        identity.name.as_deref().unwrap_or(""),
        identity.role.as_deref().unwrap_or(""),
        identity.specializations.join(", ")
    );
    body = body.trim_end().to_string();
    messages::post(
        hub,
        &Post {
            from: by.to_string(),
            subject: Some(format!("🆔 IDENTITY PROPOSAL: {}", identity.session_id)),
            body,
            ..Post::default()
        },
    )?;
    if by == identity.session_id {
        // The original names its self-vote `<id>-votes-for-<id>.json`: the same file.
        let legacy_name = format!("{by}-votes-for-{by}.json");
        return cast(
            hub,
            &proposal,
            by,
            Vote::Agree,
            Some("Self-proposal"),
            &legacy_name,
        );
    }
    status(hub, &proposal)
}

/// The proposal in session-propose-identity.sh's place and shape, so the old scripts can
/// vote on it; one they already wrote is left as it is.
fn mirror_proposal(hub: &Hub, proposal: &str, identity: &Identity, now: &str) -> Result<()> {
    let dir = hub.dir(LEGACY_PROPOSALS)?;
    storage::ensure_dir(&dir)?;
    let rec = json!({
        "session_id": identity.session_id,
        "name": identity.name.clone().unwrap_or_default(),
        "role": identity.role.clone().unwrap_or_default(),
        "specializations": identity.specializations.join(","),
        "proposed_at": now,
        "status": "pending",
        "votes": { "agree": [], "question": [], "object": [] }
    });
    storage::create_exclusive(
        &dir.join(format!("{proposal}.json")),
        &storage::json_bytes(&rec),
    )?;
    Ok(())
}

/// Cast (or change) a vote. The vote is its own file; consensus is checked afterwards
/// and, when reached, recorded once under the proposal's lock.
pub fn vote(
    hub: &Hub,
    proposal: &str,
    voter: &str,
    vote: Vote,
    comment: Option<&str>,
) -> Result<ProposalStatus> {
    let legacy_name = format!("{voter}-votes-for-{proposal}.json");
    cast(hub, proposal, voter, vote, comment, &legacy_name)
}

/// [`vote`], with the name of the copy in `ACTIVE/CONSENSUS/votes/`.
fn cast(
    hub: &Hub,
    proposal: &str,
    voter: &str,
    vote: Vote,
    comment: Option<&str>,
    legacy_name: &str,
) -> Result<ProposalStatus> {
    ids::validate("proposal ID", proposal)?;
    ids::validate("voter ID", voter)?;
    if let Some(comment) = comment {
        hub.check_secrets("the vote comment", comment)?;
    }
    live_registered(hub)?;
    ensure_proposal(hub, proposal)?;
    let dir = hub.file(&votes_rel(proposal))?;
    storage::ensure_dir(&dir)?;
    let mut rec = Record::new();
    record::set_text(&mut rec, "voter", voter);
    record::set_text(&mut rec, "proposal", proposal);
    rec.insert("vote".into(), json!(vote));
    if let Some(comment) = comment {
        record::set_text(&mut rec, "comment", comment);
    }
    record::set_text(&mut rec, "timestamp", time::format(time::now()));
    storage::write_atomic(
        &dir.join(format!("{voter}.json")),
        &storage::json_bytes(&rec),
    )?;
    // Where session-vote.sh and session-consensus-status.sh count votes (they grep for
    // `"vote": "agree"` in `<voter>-votes-for-<proposal>.json`): one world for both.
    let legacy_dir = hub.dir(LEGACY_VOTES)?;
    storage::ensure_dir(&legacy_dir)?;
    storage::write_atomic(&legacy_dir.join(legacy_name), &storage::json_bytes(&rec))?;

    let current = status(hub, proposal)?;
    if current.state == "agreed" && !current.legacy {
        record_agreement(hub, proposal, &current, voter)?;
    }
    status(hub, proposal)
}

/// Make sure the proposal exists in `HANDSHAKES/`, importing one of the original
/// scripts' proposals on first vote.
fn ensure_proposal(hub: &Hub, proposal: &str) -> Result<()> {
    let path = hub.file(&proposal_rel(proposal))?;
    if path.exists() {
        return Ok(());
    }
    let legacy = hub.file(&format!("{LEGACY_PROPOSALS}/{proposal}.json"))?;
    let Some(mut rec) = storage::read_json_object(&legacy)? else {
        return Err(Error::NotFound {
            what: "proposal",
            name: proposal.to_string(),
        });
    };
    rec.entry("proposal").or_insert_with(|| json!(proposal));
    storage::ensure_dir(path.parent().expect("proposal has a folder"))?;
    storage::create_exclusive(&path, &storage::json_bytes(&rec))?;
    Ok(())
}

/// Consensus reached: mark the proposal and the registry entry agreed and post a note
/// on the board, exactly once even when several votes arrive together.
fn record_agreement(hub: &Hub, proposal: &str, st: &ProposalStatus, voter: &str) -> Result<()> {
    let rel = proposal_rel(proposal);
    let newly = hub.update_json(&rel, |current| {
        let mut rec = current.ok_or_else(|| Error::NotFound {
            what: "proposal",
            name: proposal.to_string(),
        })?;
        if record::text(&rec, &["status"]) == Some("agreed") {
            return Ok((rec, false));
        }
        record::set_text(&mut rec, "status", "agreed");
        record::set_text(&mut rec, "agreed_at", time::format(time::now()));
        Ok((rec, true))
    })?;
    if !newly {
        return Ok(());
    }
    registry::update_registry(hub, |doc| {
        let entry = registry::registry_sessions(doc)
            .entry(st.session_id.clone())
            .or_insert_with(|| json!({ "id": st.session_id }));
        if let Some(entry) = entry.as_object_mut() {
            if let Some(name) = &st.name {
                entry.entry("name").or_insert_with(|| json!(name));
            }
            if let Some(role) = &st.role {
                entry.entry("role").or_insert_with(|| json!(role));
            }
            if !st.specializations.is_empty() && !entry.contains_key("specialization") {
                record::set_list(entry, "specialization", &st.specializations);
            }
            entry.insert("agreed".into(), json!(true));
            entry.insert("awaiting_confirmation".into(), json!(false));
            if let Some(by) = &st.proposed_by {
                entry.entry("proposed_by").or_insert_with(|| json!(by));
            }
            entry.insert("confirmed_at".into(), json!(time::format(time::now())));
        }
        Ok(())
    })?;
    let voters: Vec<&str> = st.tally.agree.iter().map(|v| v.voter.as_str()).collect();
    messages::post(
        hub,
        &Post {
            from: voter.to_string(),
            to: Vec::new(),
            subject: Some(format!("🆔 Identity agreed: {}", st.session_id)),
            priority: Some("normal".into()),
            reply_to: None,
            body: format!(
                "Consensus reached on proposal {proposal}: {} is agreed ({} agreeing votes, {} needed: {}).",
                st.session_id,
                voters.len(),
                st.needed,
                voters.join(", ")
            ),
        },
    )?;
    Ok(())
}

fn read_votes(hub: &Hub, proposal: &str, votes: &mut BTreeMap<String, CastVote>) -> Result<()> {
    let rel = votes_rel(proposal);
    for path in hub.list(&rel, ".json")? {
        if let Some(rec) = storage::read_json_object(&path)?
            && let Some(v) = cast_vote(&rec)
        {
            votes.insert(v.voter.clone(), v);
        }
    }
    Ok(())
}

fn cast_vote(rec: &Record) -> Option<CastVote> {
    Some(CastVote {
        voter: record::text(rec, &["voter", "session_id"])?.to_string(),
        vote: record::text(rec, &["vote"])?.parse().ok()?,
        comment: record::text(rec, &["comment"]).map(str::to_string),
        time: record::timestamp(rec, &["timestamp", "voted_at"]).map(time::format),
    })
}

/// The status of one proposal, with the tally under the hub's consensus rule.
pub fn status(hub: &Hub, proposal: &str) -> Result<ProposalStatus> {
    ids::validate("proposal ID", proposal)?;
    let path = hub.file(&proposal_rel(proposal))?;
    let (rec, legacy) = match storage::read_json_object(&path)? {
        Some(rec) => (rec, false),
        None => {
            let legacy = hub.file(&format!("{LEGACY_PROPOSALS}/{proposal}.json"))?;
            let rec = storage::read_json_object(&legacy)?.ok_or_else(|| Error::NotFound {
                what: "proposal",
                name: proposal.to_string(),
            })?;
            (rec, true)
        }
    };
    let mut votes = BTreeMap::new();
    // Old votes first, so a vote cast through the toolkit replaces the same voter's.
    for path in hub.list(LEGACY_VOTES, ".json")? {
        // An old script writes its vote with `cat >` (no temp file, no lock): a file
        // caught half-written is not a vote yet, as for the original's own grep.
        if let Ok(Some(r)) = storage::read_json_object(&path)
            && record::text(&r, &["proposal"]) == Some(proposal)
            && let Some(v) = cast_vote(&r)
        {
            votes.insert(v.voter.clone(), v);
        }
    }
    read_votes(hub, proposal, &mut votes)?;
    let mut tally = Tally::default();
    for v in votes.into_values() {
        match v.vote {
            Vote::Agree => tally.agree.push(v),
            Vote::Question => tally.question.push(v),
            Vote::Object => tally.object.push(v),
        }
    }
    let electorate = live_registered(hub)?;
    let live_sessions = electorate.len();
    let needed = needed_votes(hub, live_sessions);
    let session_id = record::text(&rec, &["session_id", "proposed_id"])
        .unwrap_or(proposal.trim_end_matches("-identity"))
        .to_string();
    // Only the electorate's agreeing votes count, and the proposed session's own (a
    // self-proposal is its agreeing vote); anyone's objection still blocks. Under the
    // original rule every agreeing vote counts, as session-vote.sh counted them.
    // Under the original rule the count is session-vote.sh's own: the files named
    // `*-votes-for-<proposal>.json` in ACTIVE/CONSENSUS/votes/ (where `sessions` mirrors
    // every vote), so old and new sessions see the same numbers.
    let original = if is_original_rule(hub) {
        Some(original_counts(hub, proposal)?)
    } else {
        None
    };
    let agreeing = match &original {
        Some((agree, _)) => *agree,
        None => tally
            .agree
            .iter()
            .filter(|v| electorate.contains(&v.voter) || v.voter == session_id)
            .count(),
    };
    let objected = match &original {
        Some((_, object)) => *object > 0,
        None => !tally.object.is_empty(),
    };
    let recorded = record::text(&rec, &["status"]).unwrap_or("pending");
    let state = if recorded == "agreed" {
        "agreed"
    } else if hub.config.consensus.objection_blocks && objected {
        "objected"
    } else if agreeing >= needed {
        "agreed"
    } else {
        "pending"
    };
    Ok(ProposalStatus {
        proposal: proposal.to_string(),
        session_id,
        name: record::text(&rec, &["name"]).map(str::to_string),
        role: record::text(&rec, &["role"]).map(str::to_string),
        specializations: record::list(&rec, &["specializations", "specialization"]),
        proposed_by: record::text(&rec, &["proposed_by"]).map(str::to_string),
        proposed_at: record::timestamp(&rec, &["proposed_at"]).map(time::format),
        state: state.to_string(),
        tally,
        live_sessions,
        needed,
        counted: agreeing,
        legacy,
    })
}

/// The IDs of the live registered sessions: the electorate.
fn live_registered(hub: &Hub) -> Result<std::collections::BTreeSet<String>> {
    let registry = Registry::load(hub)?;
    let heartbeats = registry::load_heartbeats(hub)?;
    let view = registry::sync_view(hub, &registry, &heartbeats, time::now());
    Ok(view
        .sessions
        .iter()
        .filter(|s| s.registered && s.liveness == Liveness::Live)
        .map(|s| s.id.clone())
        .collect())
}

/// Agreeing votes needed: `majority` = more than half the live registered sessions,
/// `all` = every one of them, a number = that many; never fewer than one.
pub fn needed_votes(hub: &Hub, live: usize) -> usize {
    let rule = hub.config.consensus.rule.trim().to_ascii_lowercase();
    let needed = match rule.as_str() {
        ORIGINAL_RULE => ORIGINAL_NEEDED,
        "all" | "unanimous" => live,
        "majority" | "" => live / 2 + 1,
        n => n.parse().unwrap_or(live / 2 + 1),
    };
    needed.max(1)
}

/// session-vote.sh's threshold: "7+ agree votes from 12 total sessions".
pub const ORIGINAL_NEEDED: usize = 7;

/// (agree, object) as session-vote.sh counts them for `proposal`.
fn original_counts(hub: &Hub, proposal: &str) -> Result<(usize, usize)> {
    let suffix = format!("-votes-for-{proposal}.json");
    let (mut agree, mut object) = (0, 0);
    for path in hub.list(LEGACY_VOTES, ".json")? {
        let named = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().ends_with(&suffix));
        if !named {
            continue;
        }
        // Half-written by an old script's `cat >`: not counted yet (nor by its grep).
        if let Ok(Some(r)) = storage::read_json_object(&path) {
            match record::text(&r, &["vote"]) {
                Some("agree") => agree += 1,
                Some("object") => object += 1,
                _ => {}
            }
        }
    }
    Ok((agree, object))
}

fn is_original_rule(hub: &Hub) -> bool {
    hub.config
        .consensus
        .rule
        .trim()
        .eq_ignore_ascii_case(ORIGINAL_RULE)
}

/// The names of every proposal: the toolkit's and the original scripts'.
fn proposal_names(hub: &Hub) -> Result<std::collections::BTreeSet<String>> {
    let mut names = std::collections::BTreeSet::new();
    let dir = hub.dir(layout::HANDSHAKES)?;
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !storage::is_temp_or_hidden(&name) && entry.path().join("proposal.json").is_file() {
                names.insert(name);
            }
        }
    }
    for path in hub.list(LEGACY_PROPOSALS, ".json")? {
        if let Some(stem) = path.file_stem() {
            names.insert(stem.to_string_lossy().into_owned());
        }
    }
    names.retain(|n| ids::validate("proposal ID", n).is_ok());
    Ok(names)
}

/// The proposal a person means by `typed`: its whole ID, the proposed session's ID
/// (`s1` for `s1-identity`), or a unique prefix or suffix ([`ids::resolve`]).
pub fn resolve_id(hub: &Hub, typed: &str) -> Result<String> {
    ids::validate("proposal ID", typed)?;
    let names = proposal_names(hub)?;
    if names.contains(typed) {
        return Ok(typed.to_string());
    }
    let of_session = proposal_id(typed);
    if names.contains(&of_session) {
        return Ok(of_session);
    }
    ids::resolve(
        "proposal",
        typed,
        names.iter().map(String::as_str),
        "sessions handshake status",
    )
    .map(str::to_string)
}

/// Every proposal: the toolkit's and the original scripts'.
pub fn list(hub: &Hub) -> Result<Vec<ProposalStatus>> {
    proposal_names(hub)?
        .into_iter()
        .map(|n| status(hub, &n))
        .collect()
}

impl ProposalStatus {
    pub fn voters(&self) -> impl Iterator<Item = &CastVote> {
        self.tally
            .agree
            .iter()
            .chain(&self.tally.question)
            .chain(&self.tally.object)
    }
}
