//! A fake model server on 127.0.0.1 that speaks just enough of the Anthropic Messages,
//! OpenAI Responses and Gemini generateContent wire formats (streaming and not) for the
//! real agent CLIs to run a turn offline. It answers from a script (a tool call, then
//! text, …) and records every request, so tests can check what the agent sent.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One answer of the model.
#[derive(Debug, Clone)]
pub enum Reply {
    Text(String),
    /// A tool call; `input` is the tool's arguments.
    Tool {
        name: String,
        input: Value,
    },
    /// A call of a freeform (custom) tool, whose input is plain text: the Responses
    /// API's `custom_tool_call` (Codex's apply_patch). Other wire formats get it as a
    /// tool call with `{"input": text}`.
    Freeform {
        name: String,
        input: String,
    },
}

impl Reply {
    /// The reply for wire formats without freeform tools.
    fn as_function(&self) -> Reply {
        match self {
            Reply::Freeform { name, input } => Reply::Tool {
                name: name.clone(),
                input: json!({ "input": input }),
            },
            other => other.clone(),
        }
    }
}

/// A request the server received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: Value,
}

pub struct FakeModel {
    pub port: u16,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

/// Called with each conversation request (its 0-based turn and body) before its reply
/// is sent: a test acts there "while the model thinks", before the tool runs.
pub type OnTurn = Arc<dyn Fn(usize, &Value) + Send + Sync>;

impl FakeModel {
    /// Start serving on a free port. Conversation requests get the replies of `script`
    /// in turn (the last one repeats); side requests (titles, token counts, routing)
    /// get a neutral answer and do not use up the script.
    pub fn start(script: Vec<Reply>) -> FakeModel {
        FakeModel::start_with(script, Arc::new(|_, _| {}))
    }

    /// [`FakeModel::start`], calling `on_turn` on each conversation request.
    pub fn start_with(script: Vec<Reply>, on_turn: OnTurn) -> FakeModel {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let state = Arc::new(State {
            script: Mutex::new((script, 0usize)),
            on_turn,
        });
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (recorded, state) = (recorded.clone(), state.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &recorded, &state);
                });
            }
        });
        FakeModel { port, requests }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

struct State {
    script: Mutex<(Vec<Reply>, usize)>,
    on_turn: OnTurn,
}

fn next_reply(state: &State, body: &Value) -> Reply {
    let (reply, turn) = {
        let mut s = state.script.lock().unwrap();
        let (script, at) = &mut *s;
        let reply = script
            .get(*at)
            .or(script.last())
            .cloned()
            .unwrap_or(Reply::Text("ok".into()));
        *at += 1;
        (reply, *at - 1)
    };
    (state.on_turn)(turn, body);
    reply
}

fn serve(stream: TcpStream, recorded: &Mutex<Vec<Request>>, state: &State) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut first = String::new();
        if reader.read_line(&mut first)? == 0 {
            return Ok(());
        }
        let mut parts = first.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let (mut length, mut chunked, mut encoded) = (0usize, false, false);
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
                chunked = true;
            } else if lower.starts_with("content-encoding:") && !lower.contains("identity") {
                encoded = true;
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        let body: Value = if encoded {
            Value::Null
        } else {
            serde_json::from_slice(&body).unwrap_or(Value::Null)
        };
        recorded.lock().unwrap().push(Request {
            method: method.clone(),
            path: path.clone(),
            body: body.clone(),
        });
        let mut out = stream.try_clone()?;
        let (content_type, text) = answer(&method, &path, &body, state);
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\ncache-control: no-cache\r\n\r\n",
            text.len()
        );
        out.write_all(head.as_bytes())?;
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
}

fn sse(events: &[(&str, Value)]) -> String {
    events
        .iter()
        .map(|(name, data)| {
            if name.is_empty() {
                format!("data: {data}\n\n")
            } else {
                format!("event: {name}\ndata: {data}\n\n")
            }
        })
        .collect()
}

fn answer(method: &str, path: &str, body: &Value, state: &State) -> (&'static str, String) {
    let stream = body.get("stream").and_then(Value::as_bool) == Some(true);
    if method != "POST" {
        return ("application/json", "{}".into());
    }
    if path.starts_with("/v1/messages/count_tokens") {
        return ("application/json", json!({"input_tokens": 10}).to_string());
    }
    if path.starts_with("/v1/messages") {
        // Claude Code's side requests (titles, topic detection) carry no tools.
        let side = body
            .get("tools")
            .and_then(Value::as_array)
            .is_none_or(|t| t.is_empty());
        let reply = if side {
            Reply::Text("Fake title".into())
        } else {
            next_reply(state, body).as_function()
        };
        return if stream {
            ("text/event-stream", anthropic_sse(&reply))
        } else {
            ("application/json", anthropic_json(&reply))
        };
    }
    if path.starts_with("/v1/responses") || path.starts_with("/responses") {
        return ("text/event-stream", responses_sse(&next_reply(state, body)));
    }
    if path.contains(":countTokens") {
        return ("application/json", json!({"totalTokens": 10}).to_string());
    }
    if path.contains(":generateContent") || path.contains(":streamGenerateContent") {
        // A call that asks for JSON (routing, summaries) gets JSON of its schema.
        let schema = body
            .pointer("/generationConfig/responseJsonSchema")
            .or_else(|| body.pointer("/generationConfig/responseSchema"));
        let reply = match schema {
            Some(schema) => Reply::Text(example_of(schema).to_string()),
            None => next_reply(state, body).as_function(),
        };
        let doc = gemini_doc(&reply);
        return if path.contains("alt=sse") || path.contains(":streamGenerateContent") {
            ("text/event-stream", sse(&[("", doc)]))
        } else {
            ("application/json", doc.to_string())
        };
    }
    ("application/json", "{}".into())
}

fn anthropic_json(reply: &Reply) -> String {
    let (content, stop) = match &reply.as_function() {
        Reply::Text(t) => (json!([{"type":"text","text":t}]), "end_turn"),
        Reply::Tool { name, input } => (
            json!([{"type":"tool_use","id":"toolu_fake1","name":name,"input":input}]),
            "tool_use",
        ),
        Reply::Freeform { .. } => unreachable!("as_function made it a tool call"),
    };
    json!({"id":"msg_fake","type":"message","role":"assistant","model":"claude-fake","content":content,"stop_reason":stop,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":5}}).to_string()
}

fn anthropic_sse(reply: &Reply) -> String {
    let start = json!({"type":"message_start","message":{"id":"msg_fake","type":"message","role":"assistant","model":"claude-fake","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}});
    let (block, delta, stop) = match &reply.as_function() {
        Reply::Text(t) => (
            json!({"type":"text","text":""}),
            json!({"type":"text_delta","text":t}),
            "end_turn",
        ),
        Reply::Tool { name, input } => (
            json!({"type":"tool_use","id":format!("toolu_{}", rand_id()),"name":name,"input":{}}),
            json!({"type":"input_json_delta","partial_json":input.to_string()}),
            "tool_use",
        ),
        Reply::Freeform { .. } => unreachable!("as_function made it a tool call"),
    };
    sse(&[
        ("message_start", start),
        (
            "content_block_start",
            json!({"type":"content_block_start","index":0,"content_block":block}),
        ),
        (
            "content_block_delta",
            json!({"type":"content_block_delta","index":0,"delta":delta}),
        ),
        (
            "content_block_stop",
            json!({"type":"content_block_stop","index":0}),
        ),
        (
            "message_delta",
            json!({"type":"message_delta","delta":{"stop_reason":stop,"stop_sequence":null},"usage":{"output_tokens":5}}),
        ),
        ("message_stop", json!({"type":"message_stop"})),
    ])
}

fn responses_sse(reply: &Reply) -> String {
    let id = rand_id();
    let item = match reply {
        Reply::Text(t) => {
            json!({"type":"message","role":"assistant","id":format!("msg_{id}"),"status":"completed","content":[{"type":"output_text","text":t,"annotations":[]}]})
        }
        Reply::Tool { name, input } => {
            json!({"type":"function_call","id":format!("fc_{id}"),"call_id":format!("call_{id}"),"name":name,"arguments":input.to_string(),"status":"completed"})
        }
        Reply::Freeform { name, input } => {
            json!({"type":"custom_tool_call","id":format!("ctc_{id}"),"call_id":format!("call_{id}"),"name":name,"input":input,"status":"completed"})
        }
    };
    let mut events = vec![(
        "response.created",
        json!({"type":"response.created","response":{"id":format!("resp_{id}")}}),
    )];
    if let Reply::Text(t) = reply {
        events.push(("response.output_text.delta", json!({"type":"response.output_text.delta","delta":t,"item_id":format!("msg_{id}"),"output_index":0,"content_index":0})));
    }
    events.push((
        "response.output_item.done",
        json!({"type":"response.output_item.done","output_index":0,"item":item}),
    ));
    events.push((
        "response.completed",
        json!({"type":"response.completed","response":{"id":format!("resp_{id}"),"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":0},"output_tokens":5,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":15}}}),
    ));
    sse(&events)
}

fn gemini_doc(reply: &Reply) -> Value {
    let part = match &reply.as_function() {
        Reply::Text(t) => json!({"text": t}),
        Reply::Tool { name, input } => json!({"functionCall": {"name": name, "args": input}}),
        Reply::Freeform { .. } => unreachable!("as_function made it a tool call"),
    };
    json!({
        "candidates": [{"content": {"role": "model", "parts": [part]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
        "modelVersion": "gemini-fake"
    })
}

/// A value that satisfies a (simple) JSON schema: enums take their first value.
fn example_of(schema: &Value) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object")
        .to_ascii_lowercase();
    match kind.as_str() {
        "object" => {
            let mut obj = serde_json::Map::new();
            for (k, v) in schema
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                obj.insert(k.clone(), example_of(v));
            }
            Value::Object(obj)
        }
        "array" => json!([]),
        "string" => json!("fake"),
        "integer" | "number" => json!(1),
        "boolean" => json!(true),
        _ => Value::Null,
    }
}

fn rand_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    format!("{:08x}", N.fetch_add(1, Ordering::Relaxed))
}
