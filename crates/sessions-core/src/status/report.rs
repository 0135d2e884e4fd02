//! Status documents, `<project>-status.md`: the model ([`crate::status::doc`]), the edit
//! planner ([`crate::status::edit`]), the folder ([`crate::status::folder`]) and health
//! ([`crate::status::health`]). This module keeps the names they were known by.

pub use crate::status::doc::*;
pub use crate::status::edit::*;
pub use crate::status::folder::*;
pub use crate::status::health::*;
