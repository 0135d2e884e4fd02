//! The drop-ins: the original scripts' names and positional arguments, served by the one
//! `sessions` binary. It dispatches on the name it was started as (a link named
//! `update-milestone`, made by `sessions install-dropins`) or on its first argument
//! (`sessions update-milestone X 1 completed`); each drop-in translates its arguments
//! into a `sessions` command line. The differences that remain are deliberate and listed
//! in the README's migration section.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sessions_core::Hub;
use sessions_core::store::hub::layout;
use sessions_core::work::claims;

/// What a drop-in may look at to fill in what the original script defaulted.
pub struct Env {
    /// `$SESSIONS_ID` when set and not empty.
    pub session: Option<String>,
    /// The hub the drop-in will use, when one is found.
    pub hub: Option<Hub>,
}

/// One drop-in: its name (the script's, without `.sh`), usage line and translation.
pub struct DropIn {
    pub name: &'static str,
    pub usage: &'static str,
    /// The `sessions` arguments for the script's arguments; `None` is a usage error.
    pub translate: fn(&Env, &[String]) -> Option<Vec<String>>,
}

/// The identity the original scripts fall back to when none is given and `$SESSIONS_ID`
/// is not set (save-progress.sh's own default; the broadcast scripts' hard-coded
/// `session-5-orchestration` would impersonate a real session).
pub const UNKNOWN_SESSION: &str = "session-unknown";

/// Every drop-in, in the order of the README's migration table.
pub const DROPINS: &[DropIn] = &[
    DropIn {
        name: "quick-status",
        usage: "quick-status [--json]",
        translate: |_, a| Some(cat(&["status"], a)),
    },
    DropIn {
        name: "session-sync",
        usage: "session-sync [--json]",
        translate: |_, a| Some(cat(&["sync"], a)),
    },
    DropIn {
        name: "session-discover-all",
        usage: "session-discover-all [--json]",
        translate: |_, a| Some(cat(&["sync"], a)),
    },
    DropIn {
        name: "register-session",
        usage: "register-session <id> [name] [role]",
        translate: |_, a| match a {
            [id, rest @ ..] if rest.len() <= 2 => {
                let mut cmd = vec!["register".to_string(), id.clone()];
                if let Some(name) = rest.first().filter(|n| !n.is_empty()) {
                    cmd.extend(["--name".into(), name.clone()]);
                }
                if let Some(role) = rest.get(1).filter(|r| !r.is_empty()) {
                    cmd.extend(["--role".into(), role.clone()]);
                }
                Some(cmd)
            }
            _ => None,
        },
    },
    DropIn {
        name: "session-find-help",
        usage: "session-find-help <capability>",
        translate: |_, a| match a {
            [capability] => Some(vec!["find-help".into(), capability.clone()]),
            _ => None,
        },
    },
    DropIn {
        name: "session-capability-match",
        usage: "session-capability-match \"<task description>\"",
        translate: |_, a| (!a.is_empty()).then(|| cat(&["match"], a)),
    },
    DropIn {
        name: "session-propose-identity",
        usage: "session-propose-identity <id> <name> <role> [specializations]",
        translate: |_, a| match a {
            [id, name, role, rest @ ..] if rest.len() <= 1 => {
                let mut cmd = strings(&["--as", id, "handshake", "propose", id]);
                cmd.extend(strings(&["--name", name, "--role", role]));
                if let Some(specs) = rest.first().filter(|s| !s.is_empty()) {
                    cmd.extend(strings(&["--spec", specs]));
                }
                Some(cmd)
            }
            _ => None,
        },
    },
    DropIn {
        name: "session-vote",
        usage: "session-vote <proposal> <agree|question|object> <voter> [comment]",
        translate: |_, a| match a {
            [proposal, vote, voter, rest @ ..] if rest.len() <= 1 => {
                let mut cmd = strings(&["--as", voter, "handshake", "vote", proposal, vote]);
                if let Some(comment) = rest.first() {
                    cmd.extend(strings(&["--comment", comment]));
                }
                Some(cmd)
            }
            _ => None,
        },
    },
    DropIn {
        name: "session-consensus-status",
        usage: "session-consensus-status [--json]",
        translate: |_, a| Some(cat(&["handshake", "status"], a)),
    },
    DropIn {
        name: "session-agree-goal",
        usage: "session-agree-goal <session-id> [comment]",
        translate: |_, a| match a {
            [id, rest @ ..] if rest.len() <= 1 => {
                let mut cmd = strings(&["--as", id, "goal", "agree"]);
                if let Some(comment) = rest.first() {
                    cmd.extend(strings(&["--comment", comment]));
                }
                Some(cmd)
            }
            _ => None,
        },
    },
    DropIn {
        name: "session-broadcast",
        usage: "session-broadcast \"<message>\" [normal|high|urgent] [from-session-id]",
        translate: |env, a| match a {
            [message, rest @ ..] if rest.len() <= 2 && !message.is_empty() => {
                let mut cmd = as_session(env, rest.get(1));
                cmd.extend(strings(&["msg", "send", "--all"]));
                cmd.extend(strings(&["--subject", "Broadcast Message"]));
                cmd.extend(strings(&["--priority", &priority(rest.first())]));
                cmd.extend(strings(&["--", message]));
                Some(cmd)
            }
            _ => None,
        },
    },
    DropIn {
        name: "session-request-collaboration",
        usage: "session-request-collaboration <target-session> \"<request>\" [normal|high|urgent] [from-session-id]",
        translate: |env, a| match a {
            [target, request, rest @ ..] if rest.len() <= 2 && !request.is_empty() => {
                let mut cmd = as_session(env, rest.get(1));
                cmd.extend(strings(&["collab", "request", "--urgency"]));
                cmd.extend(strings(&[&priority(rest.first()), "--", target, request]));
                Some(cmd)
            }
            _ => None,
        },
    },
    DropIn {
        name: "create-milestone",
        usage: "create-milestone <title> [HIGH|MEDIUM|LOW] [session-id]",
        translate: |_, a| match a {
            [title, rest @ ..] if rest.len() <= 2 && !title.is_empty() => {
                let id = original_milestone_id(title);
                let mut cmd = strings(&["milestone", "create", title, "--original-template"]);
                if !id.is_empty() {
                    cmd.extend(strings(&["--id", &id]));
                }
                // "" only holds the place of the priority when a session is named.
                if let Some(priority) = rest.first().filter(|p| !p.is_empty()) {
                    cmd.extend(strings(&["--priority", priority]));
                }
                // The third argument is the owner the original wrote ("available" if none).
                if let Some(owner) = rest.get(1).filter(|o| !o.is_empty()) {
                    cmd.extend(strings(&["--owner", owner]));
                }
                Some(cmd)
            }
            _ => None,
        },
    },
    DropIn {
        name: "claim-milestone",
        usage: "claim-milestone <milestone-id> <session-id>",
        translate: |env, a| match a {
            [id, rest @ ..] if rest.len() <= 1 => Some(
                [
                    as_named(env, rest.first())?,
                    strings(&["milestone", "claim", id]),
                ]
                .concat(),
            ),
            _ => None,
        },
    },
    DropIn {
        name: "claim-priority",
        usage: "claim-priority <priority-number|key> <session-id>",
        translate: |env, a| match a {
            [what, rest @ ..] if rest.len() <= 1 => {
                // A number claims `priority-<n>`; anything else is the key itself (the
                // old guides also claim `milestone-<id>` with it).
                let key = if what.chars().all(|c| c.is_ascii_digit()) {
                    format!("priority-{what}")
                } else {
                    what.clone()
                };
                Some([as_named(env, rest.first())?, strings(&["claim", &key])].concat())
            }
            _ => None,
        },
    },
    DropIn {
        name: "update-milestone",
        usage: "update-milestone <milestone-id> <step> <status> [notes] [session-id]",
        translate: |env, a| match a {
            [id, step, status, rest @ ..] if rest.len() <= 2 => {
                let holder = env.hub.as_ref().and_then(|hub| {
                    let key = claims::milestone_key(id);
                    claims::read(hub, &key).ok().flatten().map(|c| c.holder)
                });
                // Who writes: the named session, else $SESSIONS_ID, else the holder of
                // the milestone's claim (the old guides claim first, then update without
                // naming themselves), else the original's "unknown".
                let me = rest
                    .get(1)
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .or_else(|| env.session.clone())
                    .or_else(|| holder.clone())
                    .unwrap_or_else(|| "unknown".into());
                let mut cmd = strings(&["--as", &me, "milestone", "update", id, step, status]);
                // "" only holds the place of the notes when a session is named.
                if let Some(notes) = rest.first().filter(|n| !n.is_empty()) {
                    cmd.push(notes.clone());
                }
                // Nobody holds it: the original let anyone update, so the drop-in does,
                // recorded as forced. A live holder other than the writer stays protected.
                if holder.is_none() {
                    cmd.push("--force".into());
                }
                Some(cmd)
            }
            _ => None,
        },
    },
    DropIn {
        name: "milestone-status",
        usage: "milestone-status [milestone-id] [--json]",
        translate: |_, a| Some(cat(&["milestone", "status"], a)),
    },
    DropIn {
        name: "save-progress",
        usage: "save-progress [auto|quick|milestone|full] [session-id]",
        translate: |env, a| match a {
            [] => Some(strings(&["save-progress", "auto", &identity(env, None)])),
            [mode, rest @ ..] if rest.len() <= 1 => Some(strings(&[
                "save-progress",
                mode,
                &identity(env, rest.first()),
            ])),
            _ => None,
        },
    },
    DropIn {
        name: "auto-consciousness",
        usage: "auto-consciousness [session-id]",
        translate: |env, a| match a {
            [] | [_] => Some(strings(&[
                "--as",
                &identity(env, a.first()),
                "next",
                "--claim",
            ])),
            _ => None,
        },
    },
    DropIn {
        name: "healthcheck-sync",
        usage: "healthcheck-sync [STATUS-DIR] [--json]",
        translate: |_, a| {
            let mut out = vec!["healthcheck".to_string()];
            for arg in a {
                if !arg.starts_with('-') {
                    out.push("--dir".into());
                }
                out.push(arg.clone());
            }
            Some(out)
        },
    },
];

/// The drop-in a program name or first argument names: `update-milestone`,
/// `update-milestone.sh` or a path ending in either.
pub fn find(name: &std::ffi::OsStr) -> Option<&'static DropIn> {
    let base = Path::new(name).file_name()?.to_str()?;
    let base = base.strip_suffix(".exe").unwrap_or(base);
    let base = base.strip_suffix(".sh").unwrap_or(base);
    DROPINS.iter().find(|d| d.name == base)
}

/// Run a drop-in with the script's arguments.
pub fn run(dropin: &DropIn, args: &[OsString]) -> ExitCode {
    let args: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("usage: {}", dropin.usage);
        println!(
            "(a drop-in for the original {}.sh; see `sessions --help`)",
            dropin.name
        );
        return ExitCode::SUCCESS;
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let hub_dir = hub_for_dropin(&cwd, std::env::var_os("HOME").map(PathBuf::from));
    let env = Env {
        session: std::env::var("SESSIONS_ID").ok().filter(|s| !s.is_empty()),
        hub: {
            let explicit = hub_dir.clone().or_else(|| {
                std::env::var_os("SESSIONS_HUB")
                    .filter(|h| !h.is_empty())
                    .map(PathBuf::from)
            });
            Hub::discover(explicit.as_deref(), &cwd).ok()
        },
    };
    match (dropin.translate)(&env, &args) {
        Some(command) => {
            let mut argv = vec![OsString::from("sessions")];
            if let Some(dir) = hub_dir {
                argv.extend([OsString::from("--hub"), dir.into_os_string()]);
            }
            argv.extend(command.into_iter().map(OsString::from));
            // The originals knew one failure code, 1, also for bad arguments; the other
            // codes (no hub, parse error, lock timeout, refused) say more and stay.
            let code = crate::main_with(argv);
            if code == ExitCode::from(sessions_core::store::error::exit::USAGE) {
                ExitCode::from(1)
            } else {
                code
            }
        }
        None => {
            eprintln!("usage: {}", dropin.usage);
            // The originals exit 1 on a usage error; guides test `|| ...` on it.
            ExitCode::from(1)
        }
    }
}

/// The hub a drop-in uses, like the originals found theirs: `$SESSIONS_HUB` when set
/// (`None` here: the normal discovery honours it); else the current folder when it is a
/// hub under any name (the board scripts write `./MESSAGES.md`); else the nearest
/// `SESSIONS/` upwards; else `$HOME/Development/SESSIONS`, the originals' fixed place.
pub fn hub_for_dropin(cwd: &Path, home: Option<PathBuf>) -> Option<PathBuf> {
    if std::env::var_os("SESSIONS_HUB").is_some_and(|h| !h.is_empty()) {
        return None;
    }
    if cwd.join(layout::REGISTRY).is_file() {
        return Some(cwd.to_path_buf());
    }
    if Hub::discover(None, cwd).is_ok() {
        return None;
    }
    let fallback = home?.join("Development").join("SESSIONS");
    fallback.is_dir().then_some(fallback)
}

/// The milestone ID create-milestone.sh derives: lower case, each space a `-`, every
/// other character that is not an ASCII letter or digit dropped (`v1.2` gives `v12`).
/// An ID `sessions` cannot use as a file name (leading `-`) falls back to the title's
/// slug (the README lists this).
pub fn original_milestone_id(title: &str) -> String {
    let id: String = title
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    if sessions_core::store::ids::validate("milestone ID", &id).is_ok() {
        id
    } else {
        String::new()
    }
}

/// The originals' free-form priority: `normal`, `high`, `urgent` (any case) keep their
/// meaning, `low` too; anything else was shown as 📬 normal, so it is `normal`.
fn priority(given: Option<&String>) -> String {
    let p = given
        .map(|p| p.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match p.as_str() {
        "low" | "high" | "urgent" => p,
        _ => "normal".into(),
    }
}

/// The session a script acts as: its argument, else `$SESSIONS_ID`, else
/// [`UNKNOWN_SESSION`].
fn identity(env: &Env, given: Option<&String>) -> String {
    given
        .filter(|s| !s.is_empty())
        .cloned()
        .or_else(|| env.session.clone())
        .unwrap_or_else(|| UNKNOWN_SESSION.into())
}

/// `--as <id>` for the session argument, else `$SESSIONS_ID`, else [`UNKNOWN_SESSION`].
fn as_session(env: &Env, given: Option<&String>) -> Vec<String> {
    vec!["--as".into(), identity(env, given)]
}

/// `--as <id>` for the session argument, else `$SESSIONS_ID`; with neither it is a usage
/// error, as in the original (a claim needs a real holder).
fn as_named(env: &Env, given: Option<&String>) -> Option<Vec<String>> {
    let id = given
        .filter(|s| !s.is_empty())
        .cloned()
        .or_else(|| env.session.clone())?;
    Some(vec!["--as".to_string(), id])
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn cat(head: &[&str], rest: &[String]) -> Vec<String> {
    [strings(head), rest.to_vec()].concat()
}
