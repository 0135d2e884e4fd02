//! Tolerant folder scans: every file that reads, and a [`Problem`] for each that does
//! not parse. Views show what they can and name the bad file; commands that act on a
//! file (or would write it) take [`Scan::strict`] and refuse it.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::store::error::{Error, Result};
use crate::store::hub::Hub;
use crate::store::record::Record;
use crate::store::storage;

/// A file a scan could not use: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Problem {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// Set when the file is a link out of the hub (not a parse error).
    #[serde(skip)]
    outside: Option<PathBuf>,
}

impl Problem {
    /// A parse error (or a file that is a link out of the hub) becomes a problem; any
    /// other error (I/O) is given back, since it says nothing about one file.
    pub fn from_error(e: Error) -> std::result::Result<Problem, Error> {
        match e {
            Error::Parse {
                path,
                line,
                column,
                message,
            } => Ok(Problem {
                path,
                line,
                column,
                message,
                outside: None,
            }),
            Error::OutsideHub { path, target } => Ok(Problem {
                message: format!(
                    "leads outside the hub ({}); refusing to follow it",
                    target.display()
                ),
                path,
                line: 1,
                column: 1,
                outside: Some(target),
            }),
            other => Err(other),
        }
    }

    /// The error this problem came from.
    pub fn into_error(self) -> Error {
        if let Some(target) = self.outside {
            return Error::OutsideHub {
                path: self.path,
                target,
            };
        }
        Error::Parse {
            path: self.path,
            line: self.line,
            column: self.column,
            message: self.message,
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// What a scan found.
#[derive(Debug, Clone)]
pub struct Scan<T> {
    pub items: Vec<T>,
    pub problems: Vec<Problem>,
}

impl<T> Default for Scan<T> {
    fn default() -> Self {
        Scan {
            items: Vec::new(),
            problems: Vec::new(),
        }
    }
}

impl<T> Scan<T> {
    /// The items, or the first problem as its error (for commands that must not guess).
    pub fn strict(self) -> Result<Vec<T>> {
        match self.problems.into_iter().next() {
            Some(p) => Err(p.into_error()),
            None => Ok(self.items),
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Scan<U> {
        Scan {
            items: self.items.into_iter().map(f).collect(),
            problems: self.problems,
        }
    }

    /// Whether `path` is one of the files that did not parse.
    pub fn is_problem(&self, path: &Path) -> bool {
        self.problems.iter().any(|p| p.path == path)
    }
}

/// The JSON object files `<rel_dir>/*<suffix>` of the hub, sorted by name: each that
/// parses with its record, a problem for each that does not. A file removed while the
/// folder was listed is skipped.
pub fn json_records(hub: &Hub, rel_dir: &str, suffix: &str) -> Result<Scan<(PathBuf, Record)>> {
    let mut scan = Scan::default();
    let mut names = hub.folder().entries(rel_dir)?;
    names.retain(|(name, _)| !storage::is_temp_or_hidden(name) && name.ends_with(suffix));
    names.sort();
    for (_, path) in names {
        match json_record(hub, &path) {
            Ok(Some(record)) => scan.items.push((path, record)),
            Ok(None) => {} // removed while we listed
            Err(e) => scan.problems.push(Problem::from_error(e)?),
        }
    }
    Ok(scan)
}

/// One JSON object file of the hub, as [`json_records`] reads each: `None` when it is
/// gone (removed or renamed away), an error when it does not parse or leads outside.
pub fn json_record(hub: &Hub, path: &Path) -> Result<Option<Record>> {
    hub.ensure_inside(path)
        .and_then(|()| storage::read_text(path))
        .and_then(|text| {
            text.map(|t| storage::parse_json_object(path, &t))
                .transpose()
        })
}

/// The file stem of a scanned path: the ID or key it is named for.
pub fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
