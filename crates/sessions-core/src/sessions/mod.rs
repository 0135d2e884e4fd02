//! Sessions: registry, heartbeats and liveness, identity handshakes, capability matching.

pub mod fields;
pub mod handshake;
pub mod heartbeat;
pub mod liveness;
pub mod matching;
pub mod registry;
