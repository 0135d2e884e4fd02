//! Sessions: registry, heartbeats and liveness, identity handshakes, capability matching.

pub mod handshake;
pub mod matching;
pub mod registry;
