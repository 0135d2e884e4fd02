//! Everything a command prints goes through [`Output`]: each command builds a typed
//! response (a [`Render`]) and [`Output::emit`] prints it, as text for people (colour
//! only on a terminal, honouring NO_COLOR, untrusted text escaped) or, with `--json`,
//! as one JSON document for agents (exact, serialized from the same value). Warnings go
//! through here too. A closed pipe (`sessions status | head`) is a quiet exit; any
//! other write error (a full disk) is an error with its exit code.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use serde::Serialize;
use sessions_core::{Error, Result};

/// A command's answer: serialized as its `--json` document, drawn by [`Render::text`]
/// for people. The JSON Schema of the same type is what `sessions schema` prints.
pub trait Render: Serialize {
    /// The human rendering. Text that comes from other sessions goes through
    /// [`escape_untrusted`].
    fn text(&self, out: &mut Output);

    /// The exit code of a successful run: `exit::FAILURE` for a "no" answer.
    fn exit_code(&self) -> u8 {
        sessions_core::store::error::exit::OK
    }

    /// Warnings: printed on stderr with text output; a response that has any carries
    /// them in its JSON document too (a `warnings` field).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What stdout could not take.
pub enum WriteFailure {
    /// The reader went away (`| head`): stop quietly.
    Closed,
    /// Anything else (disk full, I/O error): an error for the user.
    Failed(Error),
}

pub struct Output {
    buffer: String,
    color: bool,
    json: bool,
    /// `-q`: no warnings, notes or progress lines on stderr (errors still print).
    quiet: bool,
}

/// `--color`: when text output is coloured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    // On a terminal, unless NO_COLOR is set (the flag's help says it; variant docs would
    // repeat it as a list in every command's --help).
    #[default]
    Auto,
    Always,
    Never,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output::with(json, ColorChoice::Auto, false)
    }

    /// An output honouring `--color` and `-q`.
    pub fn with(json: bool, color: ColorChoice, quiet: bool) -> Output {
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        Output {
            buffer: String::new(),
            color,
            json,
            quiet,
        }
    }

    /// Whether this run prints JSON (`--json`).
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Print a command's response, as JSON or as text; the one place where that choice
    /// is made. Returns the response's exit code.
    pub fn emit<R: Render + ?Sized>(&mut self, response: &R) -> Result<u8> {
        if self.json {
            self.json_document(response)?;
        } else {
            for w in response.warnings() {
                self.warn(&w);
            }
            response.text(self);
        }
        Ok(response.exit_code())
    }

    /// Print one item of a stream (a `watch` event): one compact JSON line, or its text.
    pub fn emit_line<R: Render + ?Sized>(&mut self, item: &R) -> Result<()> {
        if self.json {
            self.json_line(item)?;
        } else {
            item.text(self);
        }
        Ok(())
    }

    /// Add a line of text.
    pub fn line(&mut self, text: impl AsRef<str>) {
        self.buffer.push_str(text.as_ref());
        self.buffer.push('\n');
    }

    /// Print `value` as pretty JSON.
    pub fn json_document(&mut self, value: &(impl Serialize + ?Sized)) -> Result<()> {
        // Written straight into the buffer: a listing of thousands of sessions is
        // megabytes of JSON, and a String made first would be grown and copied again.
        let mut bytes = std::mem::take(&mut self.buffer).into_bytes();
        let start = bytes.len();
        let written = serde_json::to_writer_pretty(&mut bytes, value);
        match written {
            Ok(()) => bytes.push(b'\n'),
            Err(_) => bytes.truncate(start),
        }
        // serde_json writes UTF-8 only.
        self.buffer = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        written.map_err(unserializable)
    }

    /// Print `value` as one compact JSON line (for streams of events).
    pub fn json_line(&mut self, value: &(impl Serialize + ?Sized)) -> Result<()> {
        let text = serde_json::to_string(value).map_err(unserializable)?;
        self.line(text);
        Ok(())
    }

    /// Take what is buffered, to send it elsewhere (the MCP server's tool results).
    pub fn take(&mut self) -> String {
        std::mem::take(&mut self.buffer)
    }

    /// A warning, on stderr (now, so it comes before the output it is about); not with
    /// `-q`.
    pub fn warn(&mut self, text: &str) {
        if !self.quiet {
            stderr_line(&format!("sessions: warning: {text}"));
        }
    }

    /// A note for people on stderr (`sessions watch: ...`, a file that could not be read);
    /// not with `-q`.
    pub fn note(&mut self, text: &str) {
        if !self.quiet {
            stderr_line(text);
        }
    }

    /// A line on stderr that `describe(elapsed)` redraws in place while something slow
    /// runs (a wait, a long archive): only when stderr is a terminal and not `-q`, so a
    /// pipe or a log gets nothing extra.
    pub fn ticker(
        &self,
        describe: impl Fn(std::time::Duration) -> String + Send + 'static,
    ) -> Ticker {
        if self.quiet || !std::io::stderr().is_terminal() {
            return Ticker { running: None };
        }
        let stop = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let (lock, wake) = &*signal;
            let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
            while !*stopped {
                let mut stderr = std::io::stderr().lock();
                let _ = write!(stderr, "\r\x1b[2K{}", describe(start.elapsed()));
                let _ = stderr.flush();
                drop(stderr);
                stopped = wake
                    .wait_timeout(stopped, std::time::Duration::from_millis(250))
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|e| e.into_inner().0);
            }
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[2K");
            let _ = stderr.flush();
        });
        Ticker {
            running: Some((stop, thread)),
        }
    }

    /// Write what is buffered so far (streaming commands call this per event; `main`
    /// once at the end).
    pub fn flush(&mut self) -> std::result::Result<(), WriteFailure> {
        let mut stdout = std::io::stdout().lock();
        let written = stdout
            .write_all(self.buffer.as_bytes())
            .and_then(|()| stdout.flush());
        self.buffer.clear();
        match written {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(WriteFailure::Closed),
            Err(e) => Err(WriteFailure::Failed(Error::io("standard output", e))),
        }
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

/// The in-place line of [`Output::ticker`]; [`Ticker::finish`] clears it (dropping it
/// does too).
pub struct Ticker {
    #[allow(clippy::type_complexity)]
    running: Option<(
        std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
        std::thread::JoinHandle<()>,
    )>,
}

impl Ticker {
    /// Clear the line; then, on a terminal only, print `last` (how the wait ended).
    pub fn finish(mut self, last: Option<&str>) {
        let shown = self.running.is_some();
        self.stop();
        if let (true, Some(last)) = (shown, last) {
            stderr_line(last);
        }
    }

    fn stop(&mut self) {
        if let Some((stop, thread)) = self.running.take() {
            let (lock, wake) = &*stop;
            *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
            wake.notify_all();
            let _ = thread.join();
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Output {
    /// Report a failed command: with `--json` the error document on stdout (if stdout
    /// can still take it), always the message on stderr. Returns the error's exit code,
    /// which the error type alone decides.
    pub fn fail(&mut self, e: &Error) -> u8 {
        let code = e.exit_code();
        if self.json {
            let document = ErrorReport {
                error: ErrorBody {
                    kind: e.kind(),
                    message: e.to_string(),
                    exit_code: code,
                    details: e.details(),
                },
            };
            if self.json_document(&document).is_ok() {
                let _ = self.flush();
            }
        }
        stderr_line(&format!("sessions: {e}"));
        code
    }
}

/// The `--json` document of a failed command (on stdout; the message also goes to stderr).
#[derive(Serialize, schemars::JsonSchema)]
pub struct ErrorReport {
    pub error: ErrorBody,
}

#[derive(Serialize, schemars::JsonSchema)]
pub struct ErrorBody {
    /// A short stable name: io, parse, usage, no_hub, lock_timeout, already_claimed, ...
    pub kind: &'static str,
    pub message: String,
    pub exit_code: u8,
    /// Structured facts (path, line, holder, ...), depending on the kind.
    pub details: serde_json::Value,
}

fn unserializable(e: serde_json::Error) -> Error {
    Error::Failed(format!("cannot serialize the output as JSON: {e}"))
}

/// One line on stderr. If stderr itself is gone there is nobody left to tell, and a
/// panic (what `eprintln!` does) must not reach the user.
pub fn stderr_line(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}

/// Text from other sessions (subjects, bodies, names, current work, labels) made safe
/// for a terminal: control characters (C0 but tab, DEL, C1) and bidirectional
/// overrides/isolates are shown as escapes (`\x1b`, `\r`, `\u{202e}`), so a subject
/// cannot redraw a line or reorder what a person reads. Line breaks are kept only where
/// a renderer prints multi-line text itself ([`escape_untrusted_lines`]). JSON output
/// is never escaped.
pub fn escape_untrusted(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !needs_escape(c) {
            escaped.push(c);
            continue;
        }
        let _ = match c {
            '\n' => write!(escaped, "\\n"),
            '\r' => write!(escaped, "\\r"),
            c if (c as u32) < 0x80 => write!(escaped, "\\x{:02x}", c as u32),
            c => write!(escaped, "\\u{{{:x}}}", c as u32),
        };
    }
    Cow::Owned(escaped)
}

/// [`escape_untrusted`] for a multi-line text (a message body): each line escaped,
/// the line breaks kept.
pub fn escape_untrusted_lines(text: &str) -> String {
    text.split('\n')
        .map(escape_untrusted)
        .collect::<Vec<_>>()
        .join("\n")
}

fn needs_escape(c: char) -> bool {
    match c {
        '\t' => false,
        c if c.is_control() => true, // C0, DEL, C1
        // LRM, RLM, ALM; embeddings and overrides; isolates; line/paragraph separators.
        '\u{200e}' | '\u{200f}' | '\u{061c}' => true,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}' => true,
        _ => false,
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

#[cfg(test)]
mod tests {
    use super::escape_untrusted;

    #[test]
    fn control_characters_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(
            escape_untrusted("a\x1b[2K\rb\u{202e}c\u{2066}d\u{85}e\x7f"),
            "a\\x1b[2K\\rb\\u{202e}c\\u{2066}d\\u{85}e\\x7f"
        );
        assert_eq!(escape_untrusted("two\nlines"), "two\\nlines");
        assert_eq!(
            escape_untrusted("tab\tand ünïcode ✅"),
            "tab\tand ünïcode ✅"
        );
        assert!(matches!(
            escape_untrusted("plain"),
            std::borrow::Cow::Borrowed(_)
        ));
    }
}
