//! Everything a command prints goes through [`Output`]: text for people (colour only
//! on a terminal, honouring NO_COLOR), one JSON document for agents with `--json`.
//! A closed pipe (`sessions status | head`) is not an error.

use std::io::{IsTerminal, Write};

use serde::Serialize;

pub struct Output {
    buffer: String,
    color: bool,
}

impl Output {
    pub fn new() -> Output {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Output {
            buffer: String::new(),
            color,
        }
    }

    /// Add a line of text.
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.buffer.push_str(text.as_ref());
        self.buffer.push('\n');
    }

    /// Print `value` as pretty JSON.
    pub fn json(&mut self, value: &impl Serialize) {
        let text = serde_json::to_string_pretty(value).expect("output values serialize");
        self.line(text);
    }

    /// Print `value` as one compact JSON line (for streams of events).
    pub fn json_line(&mut self, value: &impl Serialize) {
        let text = serde_json::to_string(value).expect("output values serialize");
        self.line(text);
    }

    /// Write what is buffered so far (for long-running commands). Returns false when
    /// stdout is closed, so streaming commands can stop quietly.
    pub fn flush(&mut self) -> bool {
        let mut stdout = std::io::stdout().lock();
        let ok = match stdout
            .write_all(self.buffer.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => false,
            Err(_) => false,
        };
        self.buffer.clear();
        ok
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
}

impl Default for Output {
    fn default() -> Self {
        Output::new()
    }
}

/// A text progress bar: `[██████░░░░] 60%`.
pub fn progress_bar(percent: u8, width: usize) -> String {
    let filled = (usize::from(percent.min(100)) * width + 50) / 100;
    format!(
        "[{}{}] {percent:>3}%",
        "█".repeat(filled),
        "░".repeat(width - filled)
    )
}

/// A milestone's progress as every view shows it: `[████░░…]  50% (4/8 steps)`.
pub fn milestone_progress(m: &sessions_core::work::milestones::Milestone) -> String {
    format!(
        "{} ({}/{} steps)",
        progress_bar(m.progress, 20),
        m.steps_done,
        m.steps_total
    )
}

/// The files a view left out because they do not parse: one
/// `sessions: warning: <path>:<line>:<col>: <message>` line each, on stderr (so JSON on
/// stdout stays one document; JSON carries them as its `warnings` array).
pub fn warn_problems(problems: &[sessions_core::store::scan::Problem]) {
    for p in problems {
        eprintln!("sessions: warning: {p}");
    }
}

/// `value` (a JSON object) with a `warnings` array added when there are any.
pub fn with_warnings(
    mut value: serde_json::Value,
    problems: &[sessions_core::store::scan::Problem],
) -> serde_json::Value {
    if !problems.is_empty()
        && let Some(map) = value.as_object_mut()
    {
        map.insert(
            "warnings".into(),
            serde_json::to_value(problems).expect("problems serialize"),
        );
    }
    value
}
