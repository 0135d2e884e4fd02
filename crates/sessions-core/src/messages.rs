//! The message board, MESSAGES.md (DESIGN §3.4): appending blocks.
//!
//! Each block the toolkit writes keeps the original shape (`---`, `**From:**`,
//! `**To:**`, `**Time:**`, `**Priority:**`, a `###` subject, the body) and adds an
//! `**ID:**` line, so readers can keep cursors and replies can point at it.

use std::fs::OpenOptions;
use std::io::Write;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::hub::{Hub, layout};
use crate::{ids, time};

/// A message to post.
#[derive(Debug, Clone, Default)]
pub struct Post {
    pub from: String,
    /// Recipients; empty means everyone (`all`).
    pub to: Vec<String>,
    pub subject: Option<String>,
    pub priority: Option<String>,
    pub reply_to: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Posted {
    pub id: String,
    pub time: String,
}

/// Render one block. The block begins with a separator so that appending it to any
/// board, whatever its last line, starts a new section.
pub fn render_block(id: &str, time: &str, post: &Post) -> String {
    let to = if post.to.is_empty() {
        "all".to_string()
    } else {
        post.to.join(", ")
    };
    let mut block = String::with_capacity(post.body.len() + 256);
    block.push_str("\n---\n\n");
    block.push_str(&format!("**ID:** {id}\n"));
    block.push_str(&format!("**From:** {}\n", post.from));
    block.push_str(&format!("**To:** {to}\n"));
    block.push_str(&format!("**Time:** {time}\n"));
    block.push_str(&format!(
        "**Priority:** {}\n",
        post.priority.as_deref().unwrap_or("normal")
    ));
    if let Some(reply_to) = &post.reply_to {
        block.push_str(&format!("**Reply-To:** {reply_to}\n"));
    }
    if let Some(subject) = &post.subject {
        block.push_str(&format!("\n### {}\n", subject.replace('\n', " ")));
    }
    block.push('\n');
    block.push_str(post.body.trim_end_matches('\n'));
    block.push('\n');
    block
}

/// Append a message: one locked write of the whole block, then fsync. The body passes
/// the secret check first.
pub fn post(hub: &Hub, post: &Post) -> Result<Posted> {
    ids::validate("session ID", &post.from)?;
    for to in &post.to {
        ids::validate("recipient ID", to)?;
    }
    hub.check_secrets("the message body", &post.body)?;
    if let Some(subject) = &post.subject {
        hub.check_secrets("the message subject", subject)?;
    }
    let id = ids::unique("m");
    let time = time::format(time::now());
    let block = render_block(&id, &time, post);
    append(hub, layout::MESSAGES, block.as_bytes())?;
    Ok(Posted { id, time })
}

/// Append `bytes` to a hub file in one write under its sidecar lock, then fsync.
pub fn append(hub: &Hub, rel: &str, bytes: &[u8]) -> Result<()> {
    let path = hub.file(rel)?;
    let _lock = hub.lock(rel)?;
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&path, e))?;
    file.sync_data().map_err(|e| Error::io(&path, e))?;
    Ok(())
}
