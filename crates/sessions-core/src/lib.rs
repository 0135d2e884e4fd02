//! The `SESSIONS/` hub: layout, formats, atomic storage, locks, sessions and views.
//!
//! No printing and no async here: commands return data; the `sessions` binary renders it.

pub mod board;
pub mod init;
pub mod sessions;
pub mod status;
pub mod store;
pub mod views;
pub mod work;

pub use store::error::{Error, Result};
pub use store::hub::Hub;
