//! The message board: posting, parsing, reading, inboxes and cursors, acks, archive.

pub mod acks;
pub mod archive;
pub mod check;
pub mod inbox;
pub mod messages;
pub mod parse;
pub mod post;
pub mod read;
