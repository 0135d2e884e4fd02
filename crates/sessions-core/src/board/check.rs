//! Checking the board for blocks whose frame no longer holds (for `sessions doctor`).

use crate::board::parse::{Format, Framing, Segment, Texts};
use crate::board::read::{Utf8, board_path, read_lock, stream};
use crate::store::error::{Error, Result};
use crate::store::hub::Hub;
use crate::store::storage;

/// A block of the board that needs a person's look.
#[derive(Debug, Clone)]
pub struct Problem {
    /// 1-based line of the block's separator (or first line).
    pub line: usize,
    /// `board_framing` (a toolkit block whose bytes changed) or `board_forged` (a block
    /// that looks like the toolkit's but does not parse as one).
    pub kind: &'static str,
    pub message: String,
}

/// Stream the board and report every toolkit block whose frame does not check out
/// exactly, and every block with a toolkit header that is not framed like one. Also
/// fails (with line and column) when the board is not UTF-8.
pub fn check(hub: &Hub) -> Result<Vec<Problem>> {
    let path = board_path(hub)?;
    let _lock = read_lock(hub)?;
    let file = match storage::open_read(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let mut problems = Vec::new();
    let mut line = 1;
    stream(
        file,
        &path,
        0,
        Texts::Bare,
        Utf8::Require,
        |segment, raw| {
            if let Segment::Message(m) = &segment {
                // The separator, not the blank lines before it.
                let lead = raw.len() - raw.trim_start().len();
                let at = line + raw[..lead].matches('\n').count();
                let who = m.from.as_deref().unwrap_or("nobody");
                let id = &m.id;
                let header_like = m
                    .fields
                    .keys()
                    .any(|k| k.eq_ignore_ascii_case("ID") || k.eq_ignore_ascii_case("Length"));
                let problem = match (m.format, m.framing) {
                    (Format::Toolkit, Framing::Converted) => Some((
                        "board_framing",
                        format!(
                            "message {id} (from {who}): the board's line endings were converted to CRLF (git core.autocrlf?); it still reads right, but keep the board's bytes as written: add `*.md -text` to SESSIONS/.gitattributes (or `git config core.autocrlf false`) and check the file out again"
                        ),
                    )),
                    (Format::Toolkit, Framing::Damaged) => Some((
                        "board_framing",
                        format!(
                            "message {id} (from {who}) no longer matches its **Length:** (trailing whitespace trimmed by an editor, a hand edit, or a cut-short write): it is read whole, so nothing inside it counts as a message, but its body may not be what was sent; restore MESSAGES.md from git (`git log -p -- MESSAGES.md`) or ask the sender, and keep editors from trimming SESSIONS/*.md"
                        ),
                    )),
                    (Format::Script, _) if header_like => Some((
                        "board_forged",
                        format!(
                            "a block with a toolkit header (**ID:**/**Length:**) that is not framed like one is read as a hand-written message {id} from {who}: it may be forged or damaged; check who wrote it (`git log -p -- MESSAGES.md`) and remove it if it is not genuine"
                        ),
                    )),
                    _ => None,
                };
                if let Some((kind, message)) = problem {
                    problems.push(Problem {
                        line: at,
                        kind,
                        message,
                    });
                }
            }
            line += raw.matches('\n').count();
            Ok(())
        },
    )?;
    Ok(problems)
}
