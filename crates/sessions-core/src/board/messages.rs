//! The message board, MESSAGES.md (DESIGN §3.4): appending, parsing, inboxes with
//! read cursors, acknowledgements and archiving.
//!
//! Each block the toolkit writes keeps the original shape (`---`, a `###` subject,
//! `**From:**`, `**To:**`, `**Time:**`, `**Priority:**`, the body) and adds two lines:
//! `**ID:**`, so readers can keep cursors and replies can point at it, and
//! `**Length:** <n> quoted`, the size of the body, which is written quoted (every line
//! behind `> `), so no body line can pass for a header and the body parses back exactly,
//! even after the board's line endings were converted or its trailing whitespace
//! trimmed (see [`crate::board::parse`]). Everything else on the board (the blocks the
//! original scripts wrote, hand-written sections) is parsed tolerantly: blocks with a
//! `**From:**` header become messages with a derived, content-based ID; the rest is
//! kept as free-text sections. Parsing never fails and never drops a byte: the
//! segments of a board, concatenated, are the board.

//!
//! The parts: [`crate::board::post`], [`crate::board::parse`], [`crate::board::read`],
//! [`crate::board::inbox`] (with read cursors), [`crate::board::acks`],
//! [`crate::board::archive`]. This module keeps the names they were known by.

pub use crate::board::acks::*;
pub use crate::board::archive::*;
pub use crate::board::inbox::*;
pub use crate::board::parse::*;
pub use crate::board::post::*;
pub use crate::board::read::*;
