//! The MCP tool set (`sessions mcp`): a few tools with short descriptions (every
//! token of a tool list is paid in every agent's context), each a `sessions` command
//! line, so a tool behaves and fails exactly as the command does.

use serde_json::{Map, Value, json};

/// One tool: its name, description and the JSON Schema of its arguments.
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub schema: Value,
}

fn schema(props: Value, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": props, "required": required })
}

pub fn tools() -> Vec<ToolSpec> {
    let s = |t: &str| json!({ "type": t });
    vec![
        ToolSpec {
            name: "whoami",
            description: "Your hub session ID.",
            schema: schema(json!({}), &[]),
        },
        ToolSpec {
            name: "status",
            description: "Brief: live sessions, your claims and reservations, ready work, unread messages.",
            schema: schema(json!({}), &[]),
        },
        ToolSpec {
            name: "inbox",
            description: "Messages addressed to you.",
            schema: schema(
                json!({ "unread": s("boolean"), "mark_read": s("boolean") }),
                &[],
            ),
        },
        ToolSpec {
            name: "send",
            description: "Post a message (to: comma-separated IDs, or all).",
            schema: schema(
                json!({ "to": s("string"), "body": s("string"), "subject": s("string"),
                        "priority": { "enum": ["low", "normal", "high", "urgent"] } }),
                &["to", "body"],
            ),
        },
        ToolSpec {
            name: "ack",
            description: "Acknowledge a message by ID.",
            schema: schema(json!({ "id": s("string"), "note": s("string") }), &["id"]),
        },
        ToolSpec {
            name: "claim",
            description: "Claim a key (lease); returns the fencing token.",
            schema: schema(json!({ "key": s("string"), "ttl": s("string") }), &["key"]),
        },
        ToolSpec {
            name: "release",
            description: "Release a claim you hold.",
            schema: schema(json!({ "key": s("string") }), &["key"]),
        },
        ToolSpec {
            name: "reserve",
            description: "Reserve repo paths/globs so others' edits there are denied.",
            schema: schema(
                json!({ "paths": { "type": "array", "items": s("string") },
                        "shared": s("boolean"), "ttl": s("string"), "reason": s("string") }),
                &["paths"],
            ),
        },
        ToolSpec {
            name: "ready",
            description: "Work nobody holds, highest priority first.",
            schema: schema(json!({}), &[]),
        },
        ToolSpec {
            name: "milestone_update",
            description: "Set a milestone step's status (pending, in_progress, completed, blocked).",
            schema: schema(
                json!({ "id": s("string"), "step": s("integer"), "status": s("string"),
                        "notes": s("string"), "token": s("integer") }),
                &["id", "step", "status"],
            ),
        },
        ToolSpec {
            name: "report_set",
            description: "Set an item of a status document (marker: ok, fail, wip, sync).",
            schema: schema(
                json!({ "project": s("string"), "section": s("string"), "label": s("string"),
                        "marker": s("string"), "note": s("string") }),
                &["project", "section", "label", "marker"],
            ),
        },
    ]
}

/// The tool list as the server sends it, for measuring its size.
pub fn tool_list_json() -> Value {
    Value::Array(
        tools()
            .into_iter()
            .map(|t| json!({ "name": t.name, "description": t.description, "inputSchema": t.schema }))
            .collect(),
    )
}

/// A bad call: the message for the MCP error.
#[derive(Debug)]
pub struct BadCall(pub String);

/// The `sessions` arguments (after `--json --as ME`) for a tool call.
pub fn argv(tool: &str, args: &Map<String, Value>) -> Result<Vec<String>, BadCall> {
    let text = |k: &str| -> Result<Option<String>, BadCall> {
        match args.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(BadCall(format!(
                "argument {k:?} must be a string, not {other}"
            ))),
        }
    };
    let need = |k: &str| -> Result<String, BadCall> {
        text(k)?.ok_or_else(|| BadCall(format!("missing required argument {k:?}")))
    };
    let flag = |k: &str| -> Result<bool, BadCall> {
        match args.get(k) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(BadCall(format!(
                "argument {k:?} must be true or false, not {other}"
            ))),
        }
    };
    let mut v: Vec<String> = Vec::new();
    let opt = |v: &mut Vec<String>, flag_name: &str, k: &str| -> Result<(), BadCall> {
        if let Some(x) = text(k)? {
            v.push(flag_name.into());
            v.push(x);
        }
        Ok(())
    };
    match tool {
        "whoami" => v.push("whoami".into()),
        "status" => v.push("prime".into()),
        "ready" => v.push("ready".into()),
        "inbox" => {
            v.push("inbox".into());
            if flag("unread")? {
                v.push("--unread".into());
            }
            if flag("mark_read")? {
                v.push("--mark-read".into());
            }
        }
        "send" => {
            v.extend(["msg".into(), "send".into()]);
            let to = need("to")?;
            if to == "all" {
                v.push("--all".into());
            } else {
                v.extend(["--to".into(), to]);
            }
            opt(&mut v, "--subject", "subject")?;
            opt(&mut v, "--priority", "priority")?;
            v.extend(["--".into(), need("body")?]);
        }
        "ack" => {
            v.extend(["msg".into(), "ack".into(), need("id")?]);
            if let Some(note) = text("note")? {
                v.extend(["--".into(), note]);
            }
        }
        "claim" => {
            v.extend(["claim".into(), need("key")?]);
            opt(&mut v, "--ttl", "ttl")?;
        }
        "release" => v.extend(["release".into(), need("key")?]),
        "reserve" => {
            v.push("reserve".into());
            if flag("shared")? {
                v.push("--shared".into());
            }
            opt(&mut v, "--ttl", "ttl")?;
            opt(&mut v, "--reason", "reason")?;
            let paths = match args.get("paths") {
                Some(Value::Array(a)) if !a.is_empty() => a
                    .iter()
                    .map(|p| {
                        p.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| BadCall("paths must be strings".into()))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                Some(Value::String(p)) => vec![p.clone()],
                _ => return Err(BadCall("missing required argument \"paths\"".into())),
            };
            v.push("--".into());
            v.extend(paths);
        }
        "milestone_update" => {
            v.extend(["milestone".into(), "update".into()]);
            opt(&mut v, "--token", "token")?;
            v.extend(["--".into(), need("id")?, need("step")?, need("status")?]);
            if let Some(n) = text("notes")? {
                v.push(n);
            }
        }
        "report_set" => {
            v.extend(["report".into(), "set".into(), "--".into()]);
            for k in ["project", "section", "label", "marker"] {
                v.push(need(k)?);
            }
            if let Some(n) = text("note")? {
                v.push(n);
            }
        }
        other => return Err(BadCall(format!("unknown tool {other:?}"))),
    }
    Ok(v)
}
