//! Aliases, in order of preference, for fields the old scripts named differently.

pub const ID: &[&str] = &["session_id", "id"];
pub const HEARTBEAT_TIME: &[&str] = &[
    "last_heartbeat",
    "timestamp",
    "updated_at",
    "last_save",
    "time",
];
pub const WORK: &[&str] = &["current_work", "working_on", "task"];
pub const CAPABILITIES: &[&str] = &[
    "capabilities",
    "capabilities_offered",
    "specialization",
    "specializations",
];
pub const SPECIALIZATIONS: &[&str] = &["specialization", "specializations", "capabilities"];
