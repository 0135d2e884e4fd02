//! A session's presence as the work sees it: registering and beating also renew the
//! leases of the claims the session holds (DESIGN §3.3). Kept here, above both
//! `sessions` and `claims`, so neither depends on the other's writes.

use std::path::PathBuf;

use crate::sessions::heartbeat::{self, Beat};
use crate::sessions::registry::{self, Registered, Registration};
use crate::store::error::Result;
use crate::store::hub::Hub;
use crate::work::claims;

/// Refresh `HEARTBEATS/<id>.json` and renew the leases of the claims `id` holds.
pub fn heartbeat(hub: &Hub, id: &str, beat: &Beat) -> Result<PathBuf> {
    let path = heartbeat::write(hub, id, beat)?;
    claims::renew_held(hub, id)?;
    Ok(path)
}

/// Register a session (registry entry, heartbeat, hello) and renew its claims' leases.
pub fn register(hub: &Hub, reg: &Registration) -> Result<Registered> {
    let done = registry::register(hub, reg)?;
    claims::renew_held(hub, &reg.id)?;
    Ok(done)
}
