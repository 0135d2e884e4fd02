//! Read-only views over many files: the status snapshot and doctor.

pub mod doctor;
pub mod glance;
pub mod snapshot;
