//! Storage beneath the hub: the folder type, atomic files, locks, config, IDs, times, tolerant records, secrets, errors.

pub mod beneath;
pub mod config;
pub mod error;
pub mod folder;
pub mod hub;
pub mod ids;
pub mod record;
pub mod scan;
pub mod secrets;
pub mod storage;
pub mod test_hooks;
pub mod time;
