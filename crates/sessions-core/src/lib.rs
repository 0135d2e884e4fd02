//! The `SESSIONS/` hub: layout, formats, atomic storage, locks, sessions and views.
//!
//! No printing and no async here: commands return data; the `sessions` binary renders it.

pub mod claims;
pub mod collab;
pub mod config;
pub mod current_state;
pub mod doctor;
pub mod error;
pub mod git;
pub mod handshake;
pub mod hub;
pub mod ids;
pub mod init;
pub mod matching;
pub mod messages;
pub mod milestones;
pub mod record;
pub mod report;
pub mod secrets;
pub mod sessions;
pub mod signals;
pub mod snapshot;
pub mod storage;
pub mod time;

pub use error::{Error, Result};
pub use hub::Hub;
