//! `sessions watch`: a notify-based watcher of a hub that turns file changes into
//! events (signals, status changes, messages, claims, milestones, sessions).
//!
//! How it stays correct when the file system is noisy:
//! - It never trusts the content of a notification: an event only says *which part*
//!   of the hub to look at again. That part is re-read and diffed against the last
//!   state kept in memory, so rename-on-save, duplicate events and bursts all end in
//!   the true final state.
//! - An inotify queue overflow (or any watcher error) triggers a full rescan, which is
//!   the same diff over everything.
//! - The hub's parent folder is watched too: when the hub is deleted and created again,
//!   the watch is re-armed and the new hub rescanned. A periodic tick re-arms as well,
//!   and drives the time-based events (claims expiring, sessions going stale).
//! - Idle means blocked in `select!`: no polling loop (unless `--poll` is asked for).

mod event;
mod exec;
mod inbox;
mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use notify::RecursiveMode;
use sessions_core::sessions::heartbeat;
use sessions_core::sessions::liveness::{self, Liveness};
use sessions_core::status::report::{Marker, STATUS_SUFFIX, StatusDoc, StatusFiles, normalize};
use sessions_core::store::hub::layout;
use sessions_core::{
    Error, Hub, Result, status::signals, store::scan, store::storage, store::time, work::claims,
    work::milestones,
};

pub use event::{Event, KINDS, SessionChange, check_kinds};
use event::{health_event, signal_event};
use exec::{dispatch, recover_taken};
pub use inbox::Inbox;
use state::{State, Touched};

/// What to watch and what to do with each event.
#[derive(Debug, Clone)]
pub struct Options {
    pub hub: Hub,
    pub files: StatusFiles,
    /// `--as`: messages addressed to this session; the seen-record for `follow`.
    pub me: Option<String>,
    /// Event kinds to report (prefixes: `claim` matches every claim_* kind). Empty: all.
    pub kinds: Vec<String>,
    /// A shell command run per event (`sh -c`), with the event in SESSIONS_* variables.
    pub exec: Option<String>,
    pub exec_timeout: Duration,
    /// Take each signal atomically before its command runs; delete it when the command
    /// succeeded, put it back when it failed.
    pub consume: bool,
    /// Stop after the first matching event.
    pub once: bool,
    /// Poll every interval instead of inotify (network file systems).
    pub poll: Option<Duration>,
    pub debounce: Duration,
    /// Time-based checks (claim expiry, stale sessions, re-arming) run this often.
    pub tick: Duration,
    pub healthcheck_every: Option<Duration>,
    /// Report the signals pending at start (always on with `consume`).
    pub pending: bool,
    /// With `me`: report signals this session has not seen (its seen-record) and record
    /// each handled one.
    pub follow: bool,
}

/// What the caller does with each event: print it. Returning false stops the watcher
/// (e.g. stdout was closed).
pub trait Sink {
    fn event(&mut self, event: &Event) -> bool;
    /// Notes for people (ready, rescans, re-arming, command failures): stderr.
    fn note(&mut self, text: &str);
    /// The baseline is taken: from now on every change is news. Work that changes the
    /// hub on the watcher's behalf (`watch --git-sync`) starts here, or what it brings
    /// in before the baseline would be taken as already known and never reported.
    fn ready(&mut self) {}
}

/// Why the watcher stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT / SIGTERM.
    Signal,
    /// `--once` saw its event; carries whether its command succeeded.
    Once(bool),
    /// The sink refused more output.
    Closed,
}

/// The running watcher: its options, what it last saw, and the notify handle.
struct Watch {
    opts: Options,
    root: PathBuf,
    state: State,
}

// ---------------------------------------------------------------------------------
// The notify side.

enum AnyWatcher {
    Native(notify::RecommendedWatcher),
    Poll(notify::PollWatcher),
}

impl AnyWatcher {
    fn watch(&mut self, path: &Path, mode: RecursiveMode) -> notify::Result<()> {
        use notify::Watcher;
        match self {
            AnyWatcher::Native(w) => w.watch(path, mode),
            AnyWatcher::Poll(w) => w.watch(path, mode),
        }
    }
    fn unwatch(&mut self, path: &Path) {
        use notify::Watcher;
        let _ = match self {
            AnyWatcher::Native(w) => w.unwatch(path),
            AnyWatcher::Poll(w) => w.unwatch(path),
        };
    }
}

fn notify_err(e: impl std::fmt::Display) -> Error {
    Error::Failed(format!("cannot watch the hub: {e}"))
}

/// Arm the watches: the hub (recursive), the status folder if it is elsewhere. Returns
/// whether the hub is armed.
fn arm(d: &mut AnyWatcher, root: &Path, status_dir: &Path) -> bool {
    if !root.is_dir() {
        return false;
    }
    d.unwatch(root);
    let ok = d.watch(root, RecursiveMode::Recursive).is_ok();
    if !status_dir.starts_with(root) && status_dir.is_dir() {
        d.unwatch(status_dir);
        let _ = d.watch(status_dir, RecursiveMode::NonRecursive);
    }
    ok
}

/// Run the watcher until SIGINT/SIGTERM, `--once`, or the sink closes.
pub fn run(opts: Options, sink: &mut dyn Sink) -> Result<Stopped> {
    // The core's one duration rule, for library callers that did not parse text: a zero
    // interval panics in tokio or spins the poller.
    let intervals = [
        ("exec timeout", Some(opts.exec_timeout)),
        ("poll interval", opts.poll),
        ("debounce", Some(opts.debounce)),
        ("tick", Some(opts.tick)),
        ("healthcheck interval", opts.healthcheck_every),
    ];
    for (what, d) in intervals {
        if let Some(d) = d {
            sessions_core::store::time::check_duration(d)
                .map_err(|why| Error::Usage(format!("invalid {what}: {why}")))?;
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Failed(format!("cannot start the watcher runtime: {e}")))?;
    rt.block_on(run_async(opts, sink))
}

async fn run_async(opts: Options, sink: &mut dyn Sink) -> Result<Stopped> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<notify::Result<notify::Event>>();
    // Runs on notify's thread. Opening and reading files (ours included) is not a
    // change: dropping those here keeps our own reads from waking the loop.
    let handler = move |r: notify::Result<notify::Event>| {
        if let Ok(ev) = &r
            && matches!(ev.kind, notify::EventKind::Access(_))
            && !ev.need_rescan()
        {
            return;
        }
        let _ = tx.send(r);
    };
    let mut watcher = match opts.poll {
        Some(interval) => AnyWatcher::Poll(
            notify::PollWatcher::new(
                handler,
                notify::Config::default().with_poll_interval(interval),
            )
            .map_err(notify_err)?,
        ),
        None => AnyWatcher::Native(notify::recommended_watcher(handler).map_err(notify_err)?),
    };
    let root = opts.hub.root().to_path_buf();
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    let mut opts = opts;
    let canonical_status =
        std::fs::canonicalize(opts.files.dir()).unwrap_or(opts.files.dir().to_path_buf());
    opts.files = opts.files.with_dir(&canonical_status);
    let parent = root.parent().map(Path::to_path_buf);
    if let Some(p) = &parent {
        watcher
            .watch(p, RecursiveMode::NonRecursive)
            .map_err(notify_err)?;
    }
    let status_dir = opts.files.dir().to_path_buf();
    let mut armed = arm(&mut watcher, &root, &status_dir);

    let mut w = Watch {
        state: State {
            inbox: Inbox::at_end(&opts.hub.display_path(layout::MESSAGES)),
            ..State::default()
        },
        root: root.clone(),
        opts,
    };
    // The baseline: what exists now is not news, except pending signals when asked.
    sessions_core::store::test_hooks::pause_point("watch-baseline");
    let (_, _) = w.refresh(&Touched::all(), false);
    let mut expired0 = Vec::new();
    w.expiries(&mut expired0); // already expired at start: not news either
    let mut initial = Vec::new();
    if w.opts.consume {
        recover_taken(&w.opts.files, sink); // listed below with the pending signals
    }
    if w.opts.consume || w.opts.pending {
        initial = signals::list(&w.opts.files).unwrap_or_default();
    } else if w.opts.follow
        && let Some(me) = &w.opts.me
    {
        initial = signals::unseen(&w.opts.files, me, false).unwrap_or_default();
    }

    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| Error::Failed(e.to_string()))?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| Error::Failed(e.to_string()))?;
    let mut tick = tokio::time::interval(w.opts.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    let health_every = w
        .opts
        .healthcheck_every
        .unwrap_or(Duration::from_secs(365 * 86400));
    let mut health =
        tokio::time::interval_at(tokio::time::Instant::now() + health_every, health_every);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    sink.ready();
    sink.note(&format!(
        "watching {} (status files in {}){}",
        root.display(),
        status_dir.display(),
        if armed {
            ""
        } else {
            "; the hub does not exist yet"
        }
    ));

    if let Some(stop) = dispatch(&mut w, Vec::new(), initial, sink, &mut sigint, &mut sigterm).await
    {
        return Ok(stop);
    }

    loop {
        let mut touched = Touched::default();
        let mut time_based = Vec::new();
        let mut recovered = Vec::new();
        tokio::select! {
            _ = sigint.recv() => return Ok(Stopped::Signal),
            _ = sigterm.recv() => return Ok(Stopped::Signal),
            r = rx.recv() => {
                let Some(r) = r else { return Ok(Stopped::Closed) };
                // Coalesce: let a burst (an editor's save, a script touching many
                // files) settle for the debounce window, then look once.
                tokio::time::sleep(w.opts.debounce).await;
                let mut batch = vec![r];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                for r in batch {
                    match r {
                        Ok(ev) => {
                            if ev.need_rescan() {
                                touched.rescan = true;
                            }
                            if matches!(ev.kind, notify::EventKind::Access(_)) {
                                continue;
                            }
                            let structural = matches!(
                                ev.kind,
                                notify::EventKind::Create(_)
                                    | notify::EventKind::Remove(_)
                                    | notify::EventKind::Modify(notify::event::ModifyKind::Name(_))
                            );
                            for p in &ev.paths {
                                if p == &root && !structural {
                                    continue;
                                }
                                w.classify(p, &mut touched);
                            }
                        }
                        Err(_) => touched.rescan = true,
                    }
                }
            }
            _ = tick.tick() => {
                if w.opts.consume {
                    // A consumer may have died since we started, holding a signal. Put
                    // back, it keeps its old time, so it is not news to the diff: hand
                    // it over directly.
                    recovered = recover_taken(&w.opts.files, sink);
                }
                let mut evs = Vec::new();
                w.expiries(&mut evs);
                w.liveness(true, &mut evs);
                time_based = evs;
            }
            _ = health.tick() => {
                if w.opts.healthcheck_every.is_some() {
                    time_based.push(health_event(&w.opts.files));
                }
            }
        }
        // Re-arm when the hub came back (or went away).
        let exists = root.is_dir();
        if touched.root || exists != armed || (!armed && exists) {
            if exists && !armed {
                armed = arm(&mut watcher, &root, &status_dir);
                sink.note("the hub folder is back; watching it again");
                touched.rescan = true;
            } else if !exists && armed {
                armed = false;
                sink.note("the hub folder was removed; waiting for it to come back");
                touched.rescan = true;
            } else if touched.root && exists {
                // Deleted and created again between two looks: re-arm anyway.
                armed = arm(&mut watcher, &root, &status_dir);
                touched.rescan = true;
            }
        }
        if touched.rescan {
            sink.note("rescanning the hub");
        }
        let (mut events, mut new_signals) = w.refresh(&touched, true);
        events.extend(time_based);
        for signal in recovered {
            if !new_signals.iter().any(|s| s.name == signal.name) {
                new_signals.push(signal);
            }
        }
        if let Some(stop) =
            dispatch(&mut w, events, new_signals, sink, &mut sigint, &mut sigterm).await
        {
            return Ok(stop);
        }
    }
}
