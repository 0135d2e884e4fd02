//! `sessions demo`: a throw-away hub from the embedded template, several real
//! `sessions` processes acting as sessions, then the dashboard. Every step prints the
//! command it runs, so the demo doubles as a tour of the commands.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use clap::Args;
use sessions_core::sessions::registry::Beat;
use sessions_core::store::error::exit;
use sessions_core::work::claims;
use sessions_core::{Error, Hub, Result, init, store::storage, store::time};

use crate::Ctx;
use crate::output::WriteFailure;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  sessions demo              # the short story (under 60 lines)\n  sessions demo --verbose    # the full tour, ending on the dashboard\n  sessions demo --keep --dir ~/sessions-demo   # keep the hub to explore it afterwards"
)]
pub struct DemoArgs {
    /// Keep the demo hub instead of deleting it at the end.
    #[arg(long)]
    pub keep: bool,
    /// The full tour: every chapter, whole outputs and the dashboard at the end.
    #[arg(long, short)]
    pub verbose: bool,
    /// Where to create the demo hub (default: a new temporary folder).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

struct Demo {
    exe: PathBuf,
    hub: PathBuf,
    /// Lines of each step's output shown (the short story); `None`: all of them.
    max_lines: Option<usize>,
}

/// One `sessions` invocation of the demo: who runs it and with which arguments.
struct Step<'a> {
    who: Option<&'a str>,
    args: Vec<&'a str>,
    /// Act this many minutes in the past (to show a session gone quiet, a lease run
    /// out). No binary takes a clock from outside, so such a step runs in this
    /// process, through the library, with its clock shifted.
    minutes_ago: Option<i64>,
    /// What a non-zero exit means for this step.
    outcome: Outcome,
}

#[derive(Clone, Copy, PartialEq)]
enum Outcome {
    /// The step must succeed.
    Succeeds,
    /// The step shows a refusal: a non-zero exit is the point.
    Refused,
    /// One of several racers: winning or losing are both fine.
    Races,
}

fn step<'a>(who: Option<&'a str>, args: &[&'a str]) -> Step<'a> {
    Step {
        who,
        args: args.to_vec(),
        minutes_ago: None,
        outcome: Outcome::Succeeds,
    }
}

/// A step whose refusal is what the demo shows.
fn refused<'a>(who: Option<&'a str>, args: &[&'a str]) -> Step<'a> {
    Step {
        outcome: Outcome::Refused,
        ..step(who, args)
    }
}

/// A step racing others for the same thing.
fn racing<'a>(who: Option<&'a str>, args: &[&'a str]) -> Step<'a> {
    Step {
        outcome: Outcome::Races,
        ..step(who, args)
    }
}

impl Demo {
    fn spawn(&self, step: &Step) -> Result<Child> {
        let mut cmd = Command::new(&self.exe);
        cmd.env("SESSIONS_HUB", &self.hub)
            .env_remove("SESSIONS_ID")
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(who) = step.who {
            cmd.args(["--as", who]);
        }
        cmd.args(&step.args);
        cmd.spawn().map_err(|e| Error::io(&self.exe, e))
    }

    /// Run a `heartbeat` or `claim` step in this process with the clock shifted back by
    /// its `minutes_ago`; its output is what the command would print.
    fn in_the_past(&self, step: &Step) -> Result<std::process::Output> {
        let who = step.who.unwrap_or_default();
        let flag = |name: &str| {
            let at = step.args.iter().position(|a| *a == name)?;
            step.args.get(at + 1).map(|v| v.to_string())
        };
        let hub = Hub::open(&self.hub)?;
        let shift = chrono::Duration::minutes(-step.minutes_ago.unwrap_or(0));
        let line = time::with_clock_shifted(shift, || match step.args.first() {
            Some(&"heartbeat") => {
                let beat = Beat {
                    status: flag("--status"),
                    current_work: flag("--work"),
                    ..Beat::default()
                };
                sessions_core::work::presence::heartbeat(&hub, who, &beat)?;
                Ok(format!("♥ {who} at {}", time::format(time::now())))
            }
            Some(&"claim") => {
                let key = step.args.get(1).copied().unwrap_or_default();
                let ttl = flag("--ttl").and_then(|t| time::parse_duration(&t).ok());
                let grant = claims::claim(&hub, key, who, ttl)?;
                Ok(format!(
                    "Claimed {key} for {who}: token {}, expires {}",
                    grant.token, grant.expires_at
                ))
            }
            _ => Err(Error::Failed(format!(
                "the demo cannot act out {:?} in the past",
                step.args
            ))),
        })?;
        use std::os::unix::process::ExitStatusExt;
        Ok(std::process::Output {
            status: std::process::ExitStatus::from_raw(0),
            stdout: format!("{line}\n").into_bytes(),
            stderr: Vec::new(),
        })
    }

    fn describe(step: &Step) -> String {
        let mut line = String::from("$ sessions");
        if let Some(who) = step.who {
            line.push_str(&format!(" --as {who}"));
        }
        for arg in &step.args {
            if arg.contains([' ', '"', '\'']) || arg.is_empty() {
                line.push_str(&format!(" {arg:?}"));
            } else {
                line.push_str(&format!(" {arg}"));
            }
        }
        if let Some(m) = step.minutes_ago {
            line = format!("{line}    # {m} minutes ago (acted out in-process)");
        }
        line
    }

    /// Run the steps as concurrent processes and print each one's command and output.
    fn run(&self, ctx: &mut Ctx, steps: &[Step]) -> Result<()> {
        self.run_capturing(ctx, steps).map(|_| ())
    }

    /// Like [`Demo::run`], returning each step's stdout (in step order). Steps run
    /// together are shown in the order they finished, so what they print reads as it
    /// happened (progress going up, votes adding up).
    fn run_capturing(&self, ctx: &mut Ctx, steps: &[Step]) -> Result<Vec<String>> {
        let (done, finished) = std::sync::mpsc::channel();
        let mut waiting = 0;
        let mut results: Vec<Option<(std::time::Instant, std::process::Output)>> =
            steps.iter().map(|_| None).collect();
        for (i, s) in steps.iter().enumerate() {
            match s.minutes_ago {
                Some(_) => results[i] = Some((std::time::Instant::now(), self.in_the_past(s)?)),
                None => {
                    let child = self.spawn(s)?;
                    let done = done.clone();
                    waiting += 1;
                    std::thread::spawn(move || {
                        let out = child.wait_with_output();
                        let _ = done.send((i, std::time::Instant::now(), out));
                    });
                }
            }
        }
        for _ in 0..waiting {
            let (i, at, out) = finished
                .recv()
                .map_err(|_| Error::Failed("demo: a step's waiter went away".into()))?;
            results[i] = Some((at, out.map_err(|e| Error::io(&self.exe, e))?));
        }
        let results: Vec<(std::time::Instant, std::process::Output)> = results
            .into_iter()
            .map(|r| r.expect("every step finished"))
            .collect();
        let mut order: Vec<usize> = (0..steps.len()).collect();
        order.sort_by_key(|&i| results[i].0);
        for i in order {
            let (step, out) = (&steps[i], &results[i].1);
            ctx.out.line(ctx.out.bold(&Self::describe(step)));
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            let lines: Vec<&str> = text.lines().collect();
            let shown = self.max_lines.unwrap_or(usize::MAX).min(lines.len());
            for (n, line) in lines[..shown].iter().enumerate() {
                let cut = n + 1 == shown && shown < lines.len();
                let line = relative_times(line, time::now());
                ctx.out
                    .line(format!("  {line}{}", if cut { " …" } else { "" }));
            }
            let code = out.status.code().unwrap_or(-1);
            if step.outcome == Outcome::Refused {
                ctx.out.line(format!("  (exit {code}, as expected)"));
            } else if step.outcome == Outcome::Races && code != 0 {
                ctx.out.line(format!("  (lost the race: exit {code})"));
            } else if !out.status.success() {
                return Err(Error::Failed(format!(
                    "demo step failed ({}): {}",
                    out.status,
                    Self::describe(step)
                )));
            }
        }
        // Shown as it happens. A reader that went away is not the demo's failure (the
        // last flush in `main` ends quietly); a full disk is.
        if let Err(WriteFailure::Failed(e)) = ctx.out.flush() {
            return Err(e);
        }
        Ok(results
            .into_iter()
            .map(|(_, out)| String::from_utf8_lossy(&out.stdout).into_owned())
            .collect())
    }
}

/// `line` with its RFC 3339 times told relative to `now` ("12m ago", "in 30m"): the
/// demo acts out the past with a shifted clock and leases end in the future, and a
/// wall of absolute times (some ahead of the reader's clock) reads as nonsense.
fn relative_times(line: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find(|c: char| c.is_ascii_digit()) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '.' | '+')))
            .unwrap_or(rest.len());
        let word = &rest[..len];
        match time::parse_str(word) {
            Some(t) if word.len() >= 20 && word.contains('T') => {
                let secs = (t - now).num_seconds();
                let told = if secs > 0 {
                    format!("in {}", time::human_age(secs))
                } else {
                    format!("{} ago", time::human_age(-secs))
                };
                if out.ends_with("until ") {
                    out.truncate(out.len() - "until ".len());
                    out.push_str(&format!("for another {}", time::human_age(secs.max(0))));
                } else if out.ends_with(" at ") && secs <= 0 {
                    out.truncate(out.len() - " at ".len());
                    out.push_str(&format!(" {told}"));
                } else {
                    out.push_str(&told);
                }
            }
            _ => out.push_str(word),
        }
        rest = &rest[len..];
    }
    out.push_str(rest);
    out
}

fn chapter(ctx: &mut Ctx, title: &str) {
    ctx.out.line("");
    ctx.out.line(ctx.out.bold(&format!("── {title} ──")));
}

pub fn run(ctx: &mut Ctx, args: DemoArgs) -> Result<u8> {
    let base = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!(
            "sessions-demo-{}-{}",
            std::process::id(),
            time::now().timestamp()
        )),
    };
    let hub = base.join("SESSIONS");
    let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    init::create(&hub, true)?;
    let demo = Demo {
        exe,
        hub,
        max_lines: (!args.verbose).then_some(SHORT_STEP_LINES),
    };
    let result = if args.verbose {
        script(ctx, &demo)
    } else {
        short_story(ctx, &demo)
    };
    let kept = args.keep || result.is_err();
    if !kept {
        remove_demo(&base, args.dir.is_some(), &demo.hub);
    }
    try_it_yourself(ctx, &demo.hub, kept);
    result.map(|()| exit::OK)
}

/// Lines of each step's output the short story shows.
const SHORT_STEP_LINES: usize = 2;

/// The closing: three commands to go on, on the kept hub (or to keep one).
fn try_it_yourself(ctx: &mut Ctx, hub: &Path, kept: bool) {
    let hub_word = super::init::shell_word(&hub.display().to_string());
    ctx.out.line("");
    if kept {
        ctx.out.line(ctx.out.bold(&format!(
            "Try it yourself: the demo hub is kept at {}",
            hub.display()
        )));
        ctx.out.line(format!("  export SESSIONS_HUB={hub_word}"));
        ctx.out.line("  sessions status");
        ctx.out
            .line("  sessions --as me msg send --all \"hello from me\"");
    } else {
        ctx.out.line(
            ctx.out
                .bold("Try it yourself (this demo's hub is gone; --keep keeps one):"),
        );
        ctx.out.line("  sessions demo --keep --dir ~/sessions-demo");
        ctx.out
            .line("  export SESSIONS_HUB=~/sessions-demo/SESSIONS");
        ctx.out.line("  sessions status");
    }
}

fn remove_demo(base: &Path, user_dir: bool, hub: &Path) {
    // Only ever delete what the demo created.
    let _ = storage::remove_tree(hub);
    if !user_dir {
        let _ = storage::remove_empty_dir(base);
    }
}

/// The default: the story in under 60 lines, no JSON, each step's output cut to its
/// first lines. `--verbose` runs [`script`], the full tour.
fn short_story(ctx: &mut Ctx, demo: &Demo) -> Result<()> {
    ctx.out
        .line(format!("A throw-away hub at {}.", demo.hub.display()));
    ctx.out.line(
        "Each `$ sessions ...` is its own process; steps under one heading ran at once (shown as they finished).",
    );

    chapter(
        ctx,
        "Three sessions register at once; a fourth went quiet 12 minutes ago",
    );
    let mut stale = step(Some("tests"), &["heartbeat", "--work", "flaky test hunt"]);
    stale.minutes_ago = Some(12);
    demo.run(
        ctx,
        &[
            step(
                Some("ui"),
                &["register", "--spec", "ui,react", "--work", "login page"],
            ),
            step(
                Some("api"),
                &["register", "--spec", "backend,api", "--work", "auth API"],
            ),
            step(Some("ops"), &["register", "--spec", "deployment,devops"]),
        ],
    )?;
    demo.run(ctx, &[stale])?;

    chapter(
        ctx,
        "A request for help, accepted by the last characters of its ID",
    );
    let out = demo.run_capturing(
        ctx,
        &[step(
            Some("ui"),
            &[
                "collab",
                "request",
                "ops",
                "Deploy the login page to staging",
            ],
        )],
    )?;
    let request_id = out[0]
        .split_whitespace()
        .find(|w| w.starts_with("collab-"))
        .ok_or_else(|| Error::Failed("demo: collab request printed no request ID".into()))?
        .to_string();
    let short = &request_id[request_id.len() - 4..];
    demo.run(
        ctx,
        &[step(Some("ops"), &["collab", "accept", short, "on it"])],
    )?;

    chapter(
        ctx,
        "Three sessions race for one milestone: exactly one wins",
    );
    demo.run(
        ctx,
        &[step(
            Some("api"),
            &[
                "milestone",
                "create",
                "Ship login",
                "--step",
                "Form",
                "--step",
                "API",
            ],
        )],
    )?;
    let out = demo.run_capturing(
        ctx,
        &[
            racing(Some("ui"), &["milestone", "claim", "ship-login"]),
            racing(Some("api"), &["milestone", "claim", "ship-login"]),
            racing(Some("ops"), &["milestone", "claim", "ship-login"]),
        ],
    )?;
    let winner = ["ui", "api", "ops"]
        .into_iter()
        .zip(&out)
        .find(|(_, text)| text.starts_with("Claimed"))
        .map(|(who, _)| who)
        .ok_or_else(|| Error::Failed("demo: nobody won the milestone".into()))?;

    chapter(
        ctx,
        &format!("{winner} completes both steps at once: no update lost"),
    );
    demo.run(
        ctx,
        &[
            step(
                Some(winner),
                &["milestone", "update", "ship-login", "1", "completed"],
            ),
            step(
                Some(winner),
                &["milestone", "update", "ship-login", "2", "completed"],
            ),
        ],
    )?;

    chapter(ctx, "A status file says what is blocked");
    demo.run(
        ctx,
        &[step(
            Some("ops"),
            &["report", "new", "infra", "--template", "infrastructure"],
        )],
    )?;
    demo.run(
        ctx,
        &[
            step(
                Some("ops"),
                &[
                    "report",
                    "set",
                    "infra",
                    "DEPENDENCIES",
                    "DNS",
                    "fail",
                    "registrar down",
                ],
            ),
            step(Some("api"), &["report", "next", "infra", "ui"]),
        ],
    )?;
    demo.run(ctx, &[refused(None, &["healthcheck"])])?;
    Ok(())
}

fn script(ctx: &mut Ctx, demo: &Demo) -> Result<()> {
    ctx.out.line(format!(
        "A throw-away hub at {} (from the built-in template).",
        demo.hub.display()
    ));
    ctx.out.line("Each `$ sessions ...` below is a separate process; steps shown together ran at the same time.");

    chapter(ctx, "Four sessions register at once");
    demo.run(
        ctx,
        &[
            step(
                Some("session-1-dashboard"),
                &[
                    "register",
                    "--name",
                    "Dashboard Builder",
                    "--role",
                    "Frontend",
                    "--spec",
                    "ui,react,visualization",
                ],
            ),
            step(
                Some("session-2-architect"),
                &[
                    "register",
                    "--name",
                    "Architect",
                    "--role",
                    "System architecture",
                    "--spec",
                    "architecture,coordination",
                ],
            ),
            step(
                Some("session-3-deploy"),
                &[
                    "register",
                    "--name",
                    "Deployment Engineer",
                    "--role",
                    "Infrastructure",
                    "--spec",
                    "deployment,devops,security",
                ],
            ),
            step(
                Some("session-4-tests"),
                &[
                    "register",
                    "--name",
                    "Test Runner",
                    "--role",
                    "QA",
                    "--spec",
                    "testing",
                ],
            ),
        ],
    )?;

    chapter(
        ctx,
        "They say what they work on (heartbeats); one goes quiet",
    );
    let mut stale = step(
        Some("session-4-tests"),
        &[
            "heartbeat",
            "--status",
            "active",
            "--work",
            "flaky test hunt",
        ],
    );
    stale.minutes_ago = Some(12);
    demo.run(
        ctx,
        &[
            step(
                Some("session-1-dashboard"),
                &["heartbeat", "--status", "active", "--work", "login page"],
            ),
            step(
                Some("session-2-architect"),
                &["heartbeat", "--status", "idle"],
            ),
            step(
                Some("session-3-deploy"),
                &[
                    "heartbeat",
                    "--status",
                    "active",
                    "--work",
                    "staging rollout",
                ],
            ),
            stale,
        ],
    )?;

    chapter(ctx, "Who can help? Who suits a task?");
    demo.run(ctx, &[step(None, &["find-help", "deploy"])])?;
    demo.run(
        ctx,
        &[step(
            None,
            &["match", "Deploy the dashboard UI to production"],
        )],
    )?;

    chapter(
        ctx,
        "A new session proposes its identity; the others vote at once",
    );
    demo.run(
        ctx,
        &[step(
            Some("session-5-docs"),
            &[
                "handshake",
                "propose",
                "session-5-docs",
                "--name",
                "Doc Writer",
                "--role",
                "Documentation",
                "--spec",
                "documentation",
            ],
        )],
    )?;
    demo.run(
        ctx,
        &[
            step(
                Some("session-1-dashboard"),
                &[
                    "handshake",
                    "vote",
                    "session-5-docs-identity",
                    "agree",
                    "--comment",
                    "welcome",
                ],
            ),
            step(
                Some("session-2-architect"),
                &["handshake", "vote", "session-5-docs-identity", "agree"],
            ),
            step(
                Some("session-3-deploy"),
                &[
                    "handshake",
                    "vote",
                    "session-5-docs-identity",
                    "question",
                    "--comment",
                    "docs for the API too?",
                ],
            ),
        ],
    )?;
    demo.run(
        ctx,
        &[step(
            None,
            &["handshake", "status", "session-5-docs-identity"],
        )],
    )?;

    chapter(
        ctx,
        "Everyone says hello on the board at once (one locked append each)",
    );
    demo.run(
        ctx,
        &[
            step(
                Some("session-1-dashboard"),
                &[
                    "msg",
                    "send",
                    "--all",
                    "--subject",
                    "hello",
                    "Dashboard builder online",
                ],
            ),
            step(
                Some("session-2-architect"),
                &[
                    "msg",
                    "send",
                    "--all",
                    "--subject",
                    "hello",
                    "Architect online",
                ],
            ),
            step(
                Some("session-3-deploy"),
                &[
                    "msg",
                    "send",
                    "--to",
                    "session-1-dashboard",
                    "--priority",
                    "high",
                    "--subject",
                    "deploy window",
                    "Staging is free at 15:00",
                ],
            ),
        ],
    )?;
    demo.run(
        ctx,
        &[step(
            Some("session-1-dashboard"),
            &["inbox", "--unread", "--mark-read"],
        )],
    )?;
    demo.run(
        ctx,
        &[step(Some("session-1-dashboard"), &["inbox", "--unread"])],
    )?;

    chapter(
        ctx,
        "A collaboration request, accepted by its target, refused to a bystander",
    );
    let out = demo.run_capturing(
        ctx,
        &[step(
            Some("session-1-dashboard"),
            &[
                "--json",
                "collab",
                "request",
                "session-3-deploy",
                "Deploy the dashboard to staging",
                "--urgency",
                "high",
            ],
        )],
    )?;
    let request_id = serde_json::from_str::<serde_json::Value>(&out[0])
        .ok()
        .and_then(|v| v["request_id"].as_str().map(str::to_string))
        .ok_or_else(|| Error::Failed("demo: collab request printed no request_id".into()))?;
    demo.run(
        ctx,
        &[
            step(
                Some("session-3-deploy"),
                &["collab", "accept", &request_id, "on it"],
            ),
            refused(
                Some("session-2-architect"),
                &["collab", "decline", &request_id, "not mine to decline"],
            ),
        ],
    )?;
    demo.run(
        ctx,
        &[step(
            Some("session-3-deploy"),
            &["collab", "complete", &request_id, "staging is live"],
        )],
    )?;
    demo.run(ctx, &[step(None, &["collab", "metrics"])])?;

    milestones_and_claims(ctx, demo)?;
    status_files_and_watch(ctx, demo)?;

    chapter(ctx, "The current priority, in CURRENT_STATE.md");
    demo.run(
        ctx,
        &[step(
            Some("session-2-architect"),
            &["state", "priority", "Ship the dashboard to production"],
        )],
    )?;

    chapter(ctx, "The dashboard");
    demo.run(ctx, &[step(None, &["status"])])?;
    Ok(())
}

fn milestones_and_claims(ctx: &mut Ctx, demo: &Demo) -> Result<()> {
    chapter(
        ctx,
        "A milestone; three sessions race to claim it, exactly one wins",
    );
    demo.run(
        ctx,
        &[step(
            Some("session-2-architect"),
            &[
                "milestone",
                "create",
                "Ship login",
                "--priority",
                "HIGH",
                "--step",
                "Form",
                "--step",
                "API",
                "--step",
                "Tests",
            ],
        )],
    )?;
    demo.run(
        ctx,
        &[
            racing(
                Some("session-1-dashboard"),
                &["milestone", "claim", "ship-login"],
            ),
            racing(
                Some("session-2-architect"),
                &["milestone", "claim", "ship-login"],
            ),
            racing(
                Some("session-3-deploy"),
                &["milestone", "claim", "ship-login"],
            ),
        ],
    )?;
    let out = demo.run_capturing(ctx, &[step(None, &["--json", "claims"])])?;
    let holder = serde_json::from_str::<serde_json::Value>(&out[0])
        .ok()
        .and_then(|v| {
            v["claims"]
                .as_array()?
                .iter()
                .find(|c| c["key"] == "milestone-ship-login")?["holder"]
                .as_str()
                .map(str::to_string)
        })
        .ok_or_else(|| Error::Failed("demo: nobody holds milestone-ship-login".into()))?;

    chapter(
        ctx,
        &format!("The winner, {holder}, completes the three steps at once: no update lost"),
    );
    let who = Some(holder.as_str());
    demo.run(
        ctx,
        &[
            step(
                who,
                &[
                    "milestone",
                    "update",
                    "ship-login",
                    "1",
                    "completed",
                    "form done",
                ],
            ),
            step(
                who,
                &[
                    "milestone",
                    "update",
                    "ship-login",
                    "2",
                    "completed",
                    "API done",
                ],
            ),
            step(
                who,
                &[
                    "milestone",
                    "update",
                    "ship-login",
                    "3",
                    "completed",
                    "tests green",
                ],
            ),
        ],
    )?;
    demo.run(ctx, &[step(None, &["milestone", "status", "ship-login"])])?;

    chapter(
        ctx,
        "Claims are leases with fencing tokens; an expired one can be taken over",
    );
    let mut quiet_claim = step(
        Some("session-4-tests"),
        &["claim", "flaky-suite", "--ttl", "10m"],
    );
    quiet_claim.minutes_ago = Some(30);
    demo.run(ctx, &[quiet_claim])?;
    demo.run(
        ctx,
        &[step(Some("session-3-deploy"), &["claim", "flaky-suite"])],
    )?;
    demo.run(ctx, &[step(None, &["ready"])])?;
    Ok(())
}

fn status_files_and_watch(ctx: &mut Ctx, demo: &Demo) -> Result<()> {
    chapter(
        ctx,
        "Status files and a watcher that reacts at once (no 30 s polling)",
    );
    demo.run(
        ctx,
        &[step(
            Some("session-3-deploy"),
            &["report", "new", "infra", "--template", "infrastructure"],
        )],
    )?;
    let watcher_step = step(
        Some("session-2-architect"),
        &[
            "watch",
            "--once",
            "--kind",
            "signal",
            "--consume",
            "--exec",
            "echo \"reacting to $SESSIONS_SIGNAL\"",
        ],
    );
    let watcher = demo.spawn(&watcher_step)?;
    // Give the watcher a moment to arm before anything changes.
    std::thread::sleep(std::time::Duration::from_millis(300));
    demo.run(
        ctx,
        &[
            step(
                Some("session-3-deploy"),
                &[
                    "report",
                    "set",
                    "infra",
                    "INFRASTRUCTURE",
                    "Server",
                    "ok",
                    "up on :8080",
                ],
            ),
            step(
                Some("session-1-dashboard"),
                &[
                    "report",
                    "set",
                    "infra",
                    "DEPENDENCIES",
                    "DNS",
                    "fail",
                    "registrar down",
                ],
            ),
        ],
    )?;
    let out = watcher
        .wait_with_output()
        .map_err(|e| Error::io(&demo.exe, e))?;
    ctx.out.line(ctx.out.bold(&format!(
        "{}    # started before the edits",
        Demo::describe(&watcher_step)
    )));
    // Events on stdout; the command's own output goes to stderr.
    for line in String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
    {
        ctx.out.line(format!("  {line}"));
    }
    demo.run(
        ctx,
        &[step(
            Some("session-3-deploy"),
            &["report", "next", "infra", "session-1-dashboard"],
        )],
    )?;
    demo.run(ctx, &[step(None, &["report", "show"])])?;
    demo.run(ctx, &[refused(None, &["healthcheck"])])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::relative_times;

    #[test]
    fn times_are_told_relative_to_now() {
        let now = sessions_core::store::time::parse_str("2026-01-01T12:00:00Z").unwrap();
        assert_eq!(
            relative_times("♥ tests at 2026-01-01T11:48:00Z", now),
            "♥ tests 12m ago"
        );
        assert_eq!(
            relative_times("token 1, expires 2026-01-01T12:30:00Z", now),
            "token 1, expires in 30m"
        );
        assert_eq!(
            relative_times("held by api until 2026-01-01T12:30:00Z", now),
            "held by api for another 30m"
        );
        assert_eq!(
            relative_times("50% (1/2 steps) on :8080", now),
            "50% (1/2 steps) on :8080"
        );
    }
}
