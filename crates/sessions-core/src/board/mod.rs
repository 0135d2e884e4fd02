//! The message board: posting, parsing, inboxes, acks, archive.

pub mod messages;
