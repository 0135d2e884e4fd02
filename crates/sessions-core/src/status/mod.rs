//! Status documents and their touch signals.

pub mod report;
pub mod signals;
