//! Git as the distributed engine of a hub: clones and machines share one `SESSIONS/`
//! through an ordinary remote, and every hub file merges by meaning instead of by line.
//!
//! - [`drivers`]: one merge driver per hub file kind (`sessions merge-driver`).
//! - [`setup`]: the committed `.gitattributes` and this clone's driver entries.
//! - [`sync`]: commit the hub only, fetch, merge with the drivers, push.
//! - [`commit`]: the one commit path (`git sync`, `save-progress full`, `watch --git-sync`).
//!
//! Real `git` through `std::process`: it is what users run, and merge drivers are a
//! feature of git itself.

pub mod commit;
pub mod drivers;
pub mod setup;
pub mod sync;
