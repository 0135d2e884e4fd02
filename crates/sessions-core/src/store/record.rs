//! Tolerant reading of JSON records: the old scripts and people wrote the same thing
//! under different names (`timestamp` vs `last_heartbeat`, `working_on` vs
//! `current_work`, lists as arrays or comma strings). Each accessor takes the aliases
//! in order of preference.

use serde_json::{Map, Value};

use crate::store::time::{self, Timestamp};

pub type Record = Map<String, Value>;

/// The first non-empty string among `keys`.
pub fn text<'a>(record: &'a Record, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .filter_map(|k| record.get(*k))
        .filter_map(Value::as_str)
        .map(str::trim)
        .find(|s| !s.is_empty())
}

/// The first of `keys` holding a list: a JSON array of strings, or a comma string.
pub fn list(record: &Record, keys: &[&str]) -> Vec<String> {
    for key in keys {
        match record.get(*key) {
            Some(Value::Array(items)) => {
                return items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
            }
            Some(Value::String(s)) if !s.trim().is_empty() => {
                return s
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect();
            }
            _ => {}
        }
    }
    Vec::new()
}

/// The latest parseable timestamp among `keys`.
pub fn timestamp(record: &Record, keys: &[&str]) -> Option<Timestamp> {
    keys.iter()
        .filter_map(|k| record.get(*k))
        .filter_map(time::parse_value)
        .max()
}

pub fn boolean(record: &Record, key: &str) -> Option<bool> {
    match record.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(true),
            "false" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

pub fn set_text(record: &mut Record, key: &str, value: impl Into<String>) {
    record.insert(key.to_string(), Value::String(value.into()));
}

pub fn set_list(record: &mut Record, key: &str, values: &[String]) {
    record.insert(
        key.to_string(),
        Value::Array(values.iter().cloned().map(Value::String).collect()),
    );
}
