//! Agent CLIs meet the hub: the hook handler (`sessions hook`), the hook settings of
//! Claude Code, Codex, Gemini CLI and Cursor (`sessions hooks install`), the binding of
//! a provider session to a hub session, and the session-start brief (`sessions prime`).

pub mod brief;
pub mod handler;
pub mod identity;
pub mod install;
pub mod mcp;
pub mod providers;
