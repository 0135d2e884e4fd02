//! A session's presence as the work sees it: registering and beating also renew the
//! leases of the claims the session holds (DESIGN §3.3). Kept here, above both
//! `sessions` and `claims`, so neither depends on the other's writes.

use std::path::PathBuf;

use crate::sessions::heartbeat::{self, Beat};
use crate::sessions::registry::{self, Registered, Registration, Registry};
use crate::store::error::Result;
use crate::store::hub::Hub;
use crate::store::record;
use crate::work::claims;

/// Refresh `HEARTBEATS/<id>.json` and renew the leases of the claims `id` holds.
pub fn heartbeat(hub: &Hub, id: &str, beat: &Beat) -> Result<PathBuf> {
    let path = heartbeat::write(hub, id, beat)?;
    // The original capability match reads REGISTRY.json's status: keep it in step, so
    // a busy session is not offered as available (only for registered sessions).
    // Only when it changes: rewriting the registry (a lock and two fsyncs) on every
    // beat would make each heartbeat, and each hook that sends one, pay for nothing.
    if let Some(status) = &beat.status
        && Registry::load(hub)?
            .get(id)
            .is_some_and(|entry| record::text(entry, &["status"]) != Some(status.as_str()))
    {
        registry::update_registry(hub, |doc| {
            if let Some(entry) = registry::registry_sessions(doc)
                .get_mut(id)
                .and_then(serde_json::Value::as_object_mut)
                && record::text(entry, &["status"]) != Some(status.as_str())
            {
                record::set_text(entry, "status", status);
            }
            Ok(())
        })?;
    }
    claims::renew_held(hub, id)?;
    Ok(path)
}

/// Register a session (registry entry, heartbeat, hello) and renew its claims' leases.
pub fn register(hub: &Hub, reg: &Registration) -> Result<Registered> {
    let done = registry::register(hub, reg)?;
    claims::renew_held(hub, &reg.id)?;
    Ok(done)
}
