//! `sessions top`: a live terminal dashboard of a hub.
//!
//! The hub is read once at start ([`model::Live`]); after that a file-system event
//! under the hub (through `notify`) names the files that changed, and only the parts
//! they belong to are read again (one heartbeat, one status file, the board from where
//! it was last read), so a change shows within milliseconds even on a large hub. The
//! screen is redrawn when something happens, never in a busy loop: a hub change, a key,
//! a resize, and a 1 s tick for the countdowns. The terminal is restored on `q`, on a
//! panic (a panic hook) and on SIGTERM/SIGHUP/SIGINT.

pub mod model;
mod view;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{execute, terminal};
use notify::{EventKind, RecursiveMode, Watcher, event::AccessKind, event::AccessMode};
use ratatui::{Terminal, backend::CrosstermBackend};
use sessions_core::board::messages;
use sessions_core::board::post::CURSORS;
use sessions_core::status::report::StatusFiles;
use sessions_core::store::hub::layout;
use sessions_core::work::{claims, milestones};
use sessions_core::{Error, Hub, Result};

pub use model::{Live, Model, Touched};
pub use view::{Pane, Ui};

/// How `top` runs.
pub struct Options {
    /// The session the dashboard is for (`--as`): its requests, unread messages, claims.
    pub me: Option<String>,
    /// How text written by other sessions is made safe to show (the CLI's escaping).
    pub sanitize: fn(&str) -> String,
    /// Append one line per frame drawn after a hub change (`<unix ns> change`) here:
    /// the benchmark's probe.
    pub bench_log: Option<PathBuf>,
    /// Read the whole hub again on every change (the benchmark's baseline: what top did
    /// before it kept each part apart).
    pub reload_all: bool,
}

enum Msg {
    Key(KeyEvent),
    Redraw,
    /// Files under the hub changed (their paths).
    HubChanged(Vec<PathBuf>),
    /// The watcher lost events (queue overflow, an error): read everything again.
    Rescan,
    Quit,
}

/// Events settle for this long before a reload, so one command's burst of writes is
/// one reload (a frame still lands well inside 100 ms).
const SETTLE: Duration = Duration::from_millis(15);
/// The countdowns tick once a second; nothing else is redrawn without a cause.
const TICK: Duration = Duration::from_secs(1);
/// What changes with time alone (liveness, stale status files, leases running out)
/// is worked out again this often.
const AGE_EVERY: Duration = Duration::from_secs(15);

/// Run the dashboard until `q`. The terminal is restored whatever happens.
pub fn run(hub: &Hub, opts: Options) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let _watchers = watch_hub(hub, tx.clone())?;
    spawn_signal_thread(tx.clone())?;
    spawn_input_thread(tx);

    install_panic_hook();
    let term_err = |e: std::io::Error| Error::io("the terminal", e);
    terminal::enable_raw_mode().map_err(term_err)?;
    let mut stdout = std::io::stdout();
    if let Err(e) = execute!(
        stdout,
        terminal::EnterAlternateScreen,
        crossterm::cursor::Hide
    ) {
        restore_terminal();
        return Err(term_err(e));
    }
    let result = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .map_err(term_err)
        .and_then(|mut terminal| event_loop(&mut terminal, hub, &opts, &rx));
    restore_terminal();
    result
}

fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<std::io::Stdout>>,
    hub: &Hub,
    opts: &Options,
    rx: &Receiver<Msg>,
) -> Result<()> {
    let term_err = |e: std::io::Error| Error::io("the terminal", e);
    let mut ui = Ui::new(opts.me.clone(), opts.sanitize);
    let places = Live::places(hub, opts.me.as_deref());
    let mut live = Live::load(hub, opts.me.as_deref());
    let mut aged = Instant::now();
    // A key that arrived while a burst of file events settled.
    let mut pending: Option<Msg> = None;
    loop {
        terminal
            .draw(|frame| view::draw(frame, &live.model, &mut ui))
            .map_err(term_err)?;
        let msg = match pending.take().map_or_else(|| rx.recv_timeout(TICK), Ok) {
            Ok(msg) => msg,
            Err(RecvTimeoutError::Timeout) => {
                if aged.elapsed() >= AGE_EVERY {
                    live.age(hub);
                    aged = Instant::now();
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        match msg {
            Msg::Quit => return Ok(()),
            Msg::Redraw => {}
            Msg::HubChanged(_) | Msg::Rescan => {
                let mut touched = Touched::default();
                note_change(&places, msg, &mut touched);
                pending = settle(rx, &places, &mut touched);
                if touched.is_empty() {
                    continue;
                }
                if opts.reload_all {
                    touched = Touched::everything();
                }
                live.refresh(hub, &touched);
                terminal
                    .draw(|frame| view::draw(frame, &live.model, &mut ui))
                    .map_err(term_err)?;
                bench_probe(opts);
            }
            Msg::Key(key) => {
                let action = ui.key(key);
                if matches!(action, view::Action::Quit) {
                    return Ok(());
                }
                if let Some(touched) = act(hub, opts, &mut ui, action) {
                    live.refresh(hub, &touched);
                }
            }
        }
    }
}

fn note_change(places: &model::Places, msg: Msg, touched: &mut Touched) {
    match msg {
        Msg::HubChanged(paths) => {
            for path in &paths {
                places.classify(path, touched);
            }
        }
        Msg::Rescan => touched.all = true,
        _ => {}
    }
}

/// Gather the rest of a burst of file events (bounded, so a hub that never stops
/// changing still redraws). Anything else that arrives meanwhile (a key, quit) is
/// returned, to be handled right after the reload.
fn settle(rx: &Receiver<Msg>, places: &model::Places, touched: &mut Touched) -> Option<Msg> {
    let start = Instant::now();
    while start.elapsed() < SETTLE * 4 {
        match rx.recv_timeout(SETTLE) {
            Ok(msg @ (Msg::HubChanged(_) | Msg::Rescan)) => note_change(places, msg, touched),
            Ok(other) => return Some(other),
            Err(_) => break,
        }
    }
    None
}

/// Do what a key asked for; returns the parts of the hub it changed (read again at
/// once, so the screen shows the outcome without waiting for the watcher).
fn act(hub: &Hub, opts: &Options, ui: &mut Ui, action: view::Action) -> Option<Touched> {
    let me = opts.me.as_deref();
    let need_me = |what: &str| format!("to {what}, start top as a session: sessions --as ID top");
    let (note, touched) = match action {
        view::Action::None | view::Action::Quit => return None,
        view::Action::Claim(item) => (
            claim(hub, me, &item),
            Touched {
                claims: true,
                milestones: true,
                ..Touched::default()
            },
        ),
        view::Action::Release(key) => (
            release(hub, me, &key),
            Touched {
                claims: true,
                ..Touched::default()
            },
        ),
        view::Action::Ack(id) => (
            match me {
                None => need_me("acknowledge"),
                Some(me) => match messages::ack(hub, &id, me, None) {
                    Ok((_, true)) => format!("acknowledged {id}"),
                    Ok((_, false)) => format!("already acknowledged {id}"),
                    Err(e) => format!("could not acknowledge {id}: {e}"),
                },
            },
            Touched {
                acks: true,
                ..Touched::default()
            },
        ),
        view::Action::Reply { id, to, body } => (
            match me {
                None => need_me("reply"),
                Some(me) => {
                    let post = messages::Post {
                        from: me.to_string(),
                        to: to.clone(),
                        reply_to: Some(id),
                        body,
                        ..messages::Post::default()
                    };
                    match messages::post(hub, &post) {
                        Ok(posted) => format!("replied to {} ({})", to.join(","), posted.id),
                        Err(e) => format!("could not send the reply: {e}"),
                    }
                }
            },
            Touched {
                board: true,
                ..Touched::default()
            },
        ),
    };
    ui.note = Some((opts.sanitize)(&note));
    Some(touched)
}

fn claim(hub: &Hub, me: Option<&str>, item: &milestones::ReadyItem) -> String {
    let Some(me) = me else {
        return "to claim, start top as a session: sessions --as ID top".into();
    };
    let done = if item.kind == "milestone" {
        milestones::claim(hub, &item.id, me, None).map(|c| c.claim.token)
    } else {
        claims::claim(hub, &item.key, me, None).map(|g| g.token)
    };
    match done {
        Ok(token) => format!("claimed {} (token {token})", item.key),
        Err(e) => format!("could not claim {}: {e}", item.key),
    }
}

fn release(hub: &Hub, me: Option<&str>, key: &str) -> String {
    let Some(me) = me else {
        return "to release, start top as a session: sessions --as ID top".into();
    };
    match claims::release(hub, key, me, None) {
        Ok(_) => format!("released {key}"),
        Err(e) => format!("could not release {key}: {e}"),
    }
}

fn bench_probe(opts: &Options) {
    let Some(path) = &opts.bench_log else { return };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // Best effort: a benchmark log must never disturb the dashboard.
    let _ = sessions_core::store::storage::append_unsynced(
        path,
        format!("{nanos} change\n").as_bytes(),
    );
}

/// Watch the hub (and the status folder when it lives elsewhere). The toolkit's private
/// state (`.sessions/`: locks) and `.git` are ignored: reading the hub takes read locks
/// there, and reacting to those would redraw forever. My read cursor is the exception
/// (it moves when I read my inbox elsewhere, and the unread marks follow it).
fn watch_hub(hub: &Hub, tx: Sender<Msg>) -> Result<Vec<notify::RecommendedWatcher>> {
    let mut dirs = vec![hub.root().to_path_buf()];
    if let Ok(files) = StatusFiles::for_hub(hub, None)
        && !files.dir().starts_with(hub.root())
    {
        dirs.push(files.dir().to_path_buf());
    }
    let mut watchers = Vec::new();
    for dir in dirs {
        let root = dir.clone();
        let tx = tx.clone();
        let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let msg = match res {
                Ok(event) if event.need_rescan() => Msg::Rescan,
                Ok(event) if is_change(&event.kind) => {
                    let paths: Vec<PathBuf> = event
                        .paths
                        .into_iter()
                        .filter(|p| !is_private(&root, p))
                        .collect();
                    if paths.is_empty() {
                        return;
                    }
                    Msg::HubChanged(paths)
                }
                Ok(_) => return,
                Err(_) => Msg::Rescan,
            };
            let _ = tx.send(msg);
        })
        .map_err(|e| Error::io(&dir, std::io::Error::other(e)))?;
        watcher
            .watch(&dir, RecursiveMode::Recursive)
            .map_err(|e| Error::io(&dir, std::io::Error::other(e)))?;
        watchers.push(watcher);
    }
    Ok(watchers)
}

fn is_change(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Create(_)
            | EventKind::Modify(_)
            | EventKind::Remove(_)
            | EventKind::Access(AccessKind::Close(AccessMode::Write))
    )
}

fn is_private(root: &Path, path: &Path) -> bool {
    let rel = path.strip_prefix(root).unwrap_or(path);
    if rel.starts_with(CURSORS) {
        return false;
    }
    rel.components().next().is_some_and(|c| {
        let c = c.as_os_str();
        c == layout::PRIVATE || c == ".git"
    })
}

fn spawn_input_thread(tx: Sender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match event::read() {
                Ok(TermEvent::Key(key)) if key.kind != KeyEventKind::Release => {
                    if key.modifiers.contains(KeyModifiers::CONTROL)
                        && matches!(key.code, KeyCode::Char('c'))
                    {
                        Msg::Quit
                    } else {
                        Msg::Key(key)
                    }
                }
                Ok(TermEvent::Resize(..)) => Msg::Redraw,
                Ok(_) => continue,
                Err(_) => Msg::Quit,
            };
            if tx.send(msg).is_err() {
                return;
            }
        }
    });
}

fn spawn_signal_thread(tx: Sender<Msg>) -> Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGHUP, SIGINT])
        .map_err(|e| Error::io("signal handlers", e))?;
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let _ = tx.send(Msg::Quit);
        }
    });
    Ok(())
}

fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        terminal::LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

/// A panic leaves the terminal as it was before printing its message.
fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous(info);
    }));
}
