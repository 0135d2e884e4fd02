//! Status documents and their touch signals.

pub mod doc;
pub mod edit;
pub mod folder;
pub mod health;
pub mod report;
pub mod signals;
