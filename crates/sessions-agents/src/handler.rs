//! `sessions hook <provider> <event>`: one handler for every agent CLI's hooks.
//!
//! It never breaks the agent: any internal error (garbage on stdin, no hub, a hub
//! file that does not parse, a panic) ends in exit 0 with nothing on stdout, and a line
//! in `.sessions/hooks.log` when there is a hub to write it to.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sessions_core::board::messages::{self, shorten};
use sessions_core::sessions::registry::Beat;
use sessions_core::store::{storage, time};
use sessions_core::work::{claims, presence, reservations};
use sessions_core::{Error, Hub, Result};

use crate::brief::{self, MAX_CHARS};
use crate::identity::{self, Binding};
use crate::providers::{self, Decision, Event, Input, Provider};

/// Where the handler writes what went wrong (inside the hub's private folder).
pub const LOG: &str = ".sessions/hooks.log";

/// What the handler is told by its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `SESSIONS_HUB`.
    pub hub: Option<PathBuf>,
    /// `SESSIONS_ID`: overrides the binding.
    pub sessions_id: Option<String>,
    /// The process's folder, when the payload names none.
    pub cwd: PathBuf,
    /// Look for new messages after a tool at most this often (`SESSIONS_HOOK_DELIVERY_EVERY`).
    pub delivery_every: Duration,
    /// Write a heartbeat at most this often unless the status changes (`SESSIONS_HOOK_BEAT_EVERY`).
    pub beat_every: Duration,
}

impl Settings {
    pub fn from_env(cwd: PathBuf) -> Settings {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let duration = |name: &str, default: u64| {
            var(name)
                // `0s` means every time (the shared rule refuses zero for intervals).
                .and_then(|v| match v.trim() {
                    "0" | "0s" => Some(Duration::ZERO),
                    other => time::parse_duration(other).ok(),
                })
                .unwrap_or(Duration::from_secs(default))
        };
        Settings {
            hub: var("SESSIONS_HUB").map(PathBuf::from),
            sessions_id: var("SESSIONS_ID"),
            cwd,
            delivery_every: duration("SESSIONS_HOOK_DELIVERY_EVERY", 20),
            beat_every: duration("SESSIONS_HOOK_BEAT_EVERY", 60),
        }
    }
}

/// The handler's answer: what to print on stdout (nothing when `None`). The exit code
/// is always 0: denials are said in the provider's JSON, never by failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub stdout: Option<String>,
}

/// Handle one hook call; never fails and never panics out.
pub fn run(provider: &str, event: &str, stdin: &[u8], settings: &Settings) -> Answer {
    let result = std::panic::catch_unwind(|| handle(provider, event, stdin, settings));
    match result {
        Ok(Ok(answer)) => answer,
        Ok(Err(failure)) => {
            let (hub, e) = *failure;
            // Garbage on stdin is found before the hub: look for one to log in anyway.
            let hub = hub.or_else(|| Hub::discover(settings.hub.as_deref(), &settings.cwd).ok());
            log(hub.as_ref(), provider, event, &e.to_string());
            Answer { stdout: None }
        }
        Err(_) => {
            let hub = Hub::discover(settings.hub.as_deref(), &settings.cwd).ok();
            log(hub.as_ref(), provider, event, "internal error (panic)");
            Answer { stdout: None }
        }
    }
}

/// Append one line to the hook log; best effort (a hook must not fail over its log).
fn log(hub: Option<&Hub>, provider: &str, event: &str, message: &str) {
    let Some(hub) = hub else { return };
    let Ok(path) = hub.file(LOG) else { return };
    if let Some(dir) = path.parent() {
        let _ = storage::ensure_dir(dir);
    }
    let line = format!(
        "{} {provider} {event}: {}\n",
        time::format(time::now()),
        message.replace('\n', " ")
    );
    // Best effort: the log must never turn a handled event into a failure.
    let _ = storage::append_unsynced(&path, line.as_bytes());
}

type Failure = Box<(Option<Hub>, Error)>;

fn handle(
    provider_name: &str,
    event_name: &str,
    stdin: &[u8],
    settings: &Settings,
) -> std::result::Result<Answer, Failure> {
    let provider = Provider::parse(provider_name).ok_or_else(|| {
        Box::new((
            None,
            Error::Usage(format!("unknown provider {provider_name}")),
        ))
    })?;
    let raw: serde_json::Value = serde_json::from_slice(stdin)
        .map_err(|e| Box::new((None, Error::Usage(format!("stdin is not JSON: {e}")))))?;
    if !raw.is_object() {
        return Err(Box::new((
            None,
            Error::Usage("stdin is not a JSON object".into()),
        )));
    }
    // Cursor runs Claude Code's hooks too; its own hooks handle its sessions.
    if provider != Provider::Cursor && raw.get("cursor_version").is_some() {
        return Ok(Answer { stdout: None });
    }
    let input = Input::parse(raw);
    let cwd = input
        .cwd
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| settings.cwd.clone());
    let hub = Hub::discover(settings.hub.as_deref(), &cwd).map_err(|e| Box::new((None, e)))?;
    let event = provider.event(event_name);
    match respond(&hub, provider, event, &input, &cwd, settings) {
        Ok(decision) => {
            let answer = providers::answer(provider, event_name, event, &decision);
            Ok(Answer {
                stdout: answer.map(|v| v.to_string()),
            })
        }
        Err(e) => Err(Box::new((Some(hub), e))),
    }
}

fn respond(
    hub: &Hub,
    provider: Provider,
    event: Event,
    input: &Input,
    cwd: &Path,
    settings: &Settings,
) -> Result<Decision> {
    let session = input
        .session_id
        .clone()
        .or_else(|| {
            identity::env_sessions()
                .into_iter()
                .find(|(p, _)| *p == provider)
                .map(|(_, s)| s)
        })
        .ok_or_else(|| Error::Usage("the payload has no session id".into()))?;
    let cwd_text = cwd.to_string_lossy().into_owned();
    let (mut binding, _new) = identity::resolve(
        hub,
        provider,
        &session,
        &cwd_text,
        input.source.as_deref(),
        settings.sessions_id.as_deref(),
    )?;
    let me = binding.hub_id.clone();
    let now = time::now();
    let decision = match event {
        Event::SessionStart => {
            beat(hub, &mut binding, "active", Duration::ZERO)?;
            // Nothing unread (the usual start): no cursor lock, no cursor write.
            let unread: Vec<_> = if messages::unread_count(hub, &me)? == 0 {
                Vec::new()
            } else {
                let (inbox, _) = messages::inbox_mark_read(hub, &me, true)?;
                inbox.messages.into_iter().filter(|e| e.unread).collect()
            };
            receipts(hub, &me, provider, &unread);
            binding.last_delivery = Some(time::format(now));
            Decision::Context(brief::build(hub, Some(&me), &unread)?.text)
        }
        // Messages wait (unread) for an event whose context the model sees.
        Event::PromptSubmit if !provider.carries_context(event) => {
            beat(hub, &mut binding, "active", settings.beat_every)?;
            Decision::Nothing
        }
        Event::PromptSubmit => {
            beat(hub, &mut binding, "active", settings.beat_every)?;
            deliver(hub, &mut binding, provider, Duration::ZERO)?
        }
        Event::PreTool => {
            beat(hub, &mut binding, "active", settings.beat_every)?;
            check_edits(hub, provider, input, cwd, &me)?
        }
        Event::PostTool => {
            beat(hub, &mut binding, "active", settings.beat_every)?;
            deliver(hub, &mut binding, provider, settings.delivery_every)?
        }
        Event::Stop => {
            beat(hub, &mut binding, "idle", settings.beat_every)?;
            Decision::Nothing
        }
        Event::SessionEnd => {
            // Idempotent: Gemini may send several for one session.
            reservations::unreserve(hub, &me, &[], None)?;
            claims::release_all(hub, &me)?;
            beat(hub, &mut binding, "ended", Duration::ZERO)?;
            Decision::Nothing
        }
        Event::Other => {
            beat(hub, &mut binding, "active", settings.beat_every)?;
            Decision::Nothing
        }
    };
    binding.updated_at = identity::stamp();
    identity::save(hub, provider, &binding)?;
    Ok(decision)
}

fn elapsed_since(stamp: Option<&str>) -> Option<Duration> {
    let t = time::parse_str(stamp?)?;
    (time::now() - t).to_std().ok().or(Some(Duration::ZERO))
}

/// A heartbeat, unless one with the same status was written less than `every` ago.
fn beat(hub: &Hub, binding: &mut Binding, status: &str, every: Duration) -> Result<()> {
    let same_status = binding.last_status.as_deref() == Some(status);
    let recent = elapsed_since(binding.last_beat.as_deref()).is_some_and(|d| d < every);
    if same_status && recent {
        return Ok(());
    }
    presence::heartbeat(
        hub,
        &binding.hub_id,
        &Beat {
            status: Some(status.to_string()),
            ..Beat::default()
        },
    )?;
    binding.last_beat = Some(time::format(time::now()));
    binding.last_status = Some(status.to_string());
    Ok(())
}

/// New messages for me, each shown once (the inbox is read and marked under my cursor's
/// lock), with a receipt the sender can see. At most every `every`.
fn deliver(
    hub: &Hub,
    binding: &mut Binding,
    provider: Provider,
    every: Duration,
) -> Result<Decision> {
    if elapsed_since(binding.last_delivery.as_deref()).is_some_and(|d| d < every) {
        return Ok(Decision::Nothing);
    }
    binding.last_delivery = Some(time::format(time::now()));
    let me = binding.hub_id.clone();
    if messages::unread_count(hub, &me)? == 0 {
        return Ok(Decision::Nothing);
    }
    let (inbox, _) = messages::inbox_mark_read(hub, &me, true)?;
    let unread: Vec<_> = inbox.messages.into_iter().filter(|e| e.unread).collect();
    if unread.is_empty() {
        return Ok(Decision::Nothing);
    }
    receipts(hub, &me, provider, &unread);
    let mut text = format!(
        "New messages for you ({me}) on the SESSIONS hub; reply with `sessions --as {me} msg send --to ID`:\n"
    );
    // Every message is listed (each is marked read once shown), with its body cut to a
    // fair share of the brief's budget (never under 80 characters): a burst can make
    // this longer than the brief, but nothing is marked read unseen.
    let share = (MAX_CHARS / unread.len()).max(80);
    for e in &unread {
        text.push_str(&format!("- {}\n", shorten(&brief::message_line(e), share)));
    }
    Ok(Decision::Context(text))
}

/// Read receipts: an ack per delivered message, noting it was delivered by a hook.
/// Best effort: a failed receipt never withholds the message.
fn receipts(hub: &Hub, me: &str, provider: Provider, delivered: &[messages::InboxEntry]) {
    let note = format!("delivered to the {} agent by its hook", provider.name());
    for e in delivered {
        if let Err(err) = messages::ack(hub, &e.message.id, me, Some(&note)) {
            log(Some(hub), provider.name(), "receipt", &err.to_string());
        }
    }
}

/// Deny a file-writing tool when a path it writes is reserved by another live session
/// (or my reservation of it was taken over); allow everything else.
fn check_edits(
    hub: &Hub,
    provider: Provider,
    input: &Input,
    cwd: &Path,
    me: &str,
) -> Result<Decision> {
    let tool = input.tool_name.as_deref().unwrap_or("");
    if !provider.is_edit_tool(tool) {
        return Ok(Decision::Allow);
    }
    for path in input.edited_paths() {
        // A path outside the repository cannot be reserved: nothing to check.
        let Ok(rel) = reservations::normalize(hub, cwd, &path) else {
            continue;
        };
        let check = reservations::check_edit(hub, Some(me), &rel)?;
        if let Some(reason) = check.reason {
            return Ok(Decision::Deny(reason));
        }
    }
    Ok(Decision::Allow)
}
