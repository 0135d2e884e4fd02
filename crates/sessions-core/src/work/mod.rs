//! Work: claims with fencing, milestones, collaboration requests, CURRENT_STATE.md.

pub mod claims;
pub mod collab;
pub mod current_state;
pub mod fence;
pub mod goals;
pub mod milestones;
pub mod next;
pub mod pending;
pub mod presence;
pub mod reservations;
