//! Reading only what a listing needs: the head and the tail of a transcript, and of
//! those only the records a reader asks for (a cheap byte check first, then a typed
//! parse that skips every field it does not name).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Bytes read from the start and from the end of a transcript: enough for the first
/// records (id, cwd, first prompt) and the last few (last activity, model, late titles).
pub const HEAD_BYTES: u64 = 8 * 1024;
pub const TAIL_BYTES: u64 = 8 * 1024;

/// The complete lines at both ends of a file, as bytes (parsed only when asked).
#[derive(Debug, Default)]
pub struct Ends {
    /// The first lines (the whole file when `whole`).
    pub head: Vec<u8>,
    /// The last lines; empty when `whole`.
    pub tail: Vec<u8>,
    /// The file was small enough to read entirely.
    pub whole: bool,
    pub size: u64,
}

impl Ends {
    /// Nothing but whitespace.
    pub fn is_blank(&self) -> bool {
        self.head
            .iter()
            .chain(&self.tail)
            .all(u8::is_ascii_whitespace)
    }

    /// The non-blank lines of the head, in order.
    pub fn head_lines(&self) -> impl DoubleEndedIterator<Item = &[u8]> {
        lines(&self.head)
    }

    /// The non-blank lines of the tail, in order.
    pub fn tail_lines(&self) -> impl DoubleEndedIterator<Item = &[u8]> {
        lines(&self.tail)
    }

    /// Every record of head and tail as a JSON value (for small, whole files and the
    /// rare record a reader needs in full).
    pub fn values(&self) -> (Vec<Value>, Vec<Value>) {
        let all = |text: &[u8]| lines(text).filter_map(value).collect();
        (all(&self.head), all(&self.tail))
    }
}

/// Non-blank lines, without their line ends and surrounding spaces.
pub fn lines(text: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    text.split(|&b| b == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|l| !l.is_empty())
}

/// Whether `line` holds any of `tokens` (quoted JSON tokens such as `"summary"`: a string
/// inside a JSON string has its quotes escaped, so only real keys and values match),
/// searched with finders built once (see [`tokens!`]).
pub fn has_any(line: &[u8], tokens: &[memchr::memmem::Finder<'static>]) -> bool {
    tokens.iter().any(|t| t.find(line).is_some())
}

/// Finders for these byte strings, built the first time they are used: a line check
/// runs for every line of thousands of transcripts, and building a finder per line
/// costs more than the search.
macro_rules! tokens {
    ($($token:literal),+ $(,)?) => {{
        static TOKENS: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
            std::sync::LazyLock::new(|| vec![$(memchr::memmem::Finder::new($token)),+]);
        &*TOKENS
    }};
}
pub(crate) use tokens;

/// One JSON-object line as `T`; `None` for anything else (a partial last line of a
/// transcript being written, a line that is not an object).
pub fn record<'a, T: Deserialize<'a>>(line: &'a [u8]) -> Option<T> {
    if line.first() != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(line).ok()
}

/// One JSON-object line as a value.
pub fn value(line: &[u8]) -> Option<Value> {
    record::<Value>(line).filter(Value::is_object)
}

/// The visitor methods that turn every other JSON value into "absent".
macro_rules! other_values {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Default::default())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Default::default())
        }
    };
}

/// A string field, `None` for any other JSON type or an empty string (as [`str_field`]
/// reads a `Value`), parsed without allocating when the string has no escapes.
#[derive(Debug, Default, Clone)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl Text<'_> {
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }
            other_values!();
        }
        d.deserialize_any(V)
    }
}

/// An object field read as `T`, `None` for any other JSON type.
#[derive(Debug, Clone)]
pub struct Obj<T>(pub Option<T>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Obj(None))
            }
            other_values!();
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// Read the head and tail of `path`. A file that is being appended to may end in a
/// partial line: callers ignore a last line that does not parse.
pub fn ends(path: &Path) -> io::Result<Ends> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    if size <= HEAD_BYTES + TAIL_BYTES {
        let mut bytes = Vec::with_capacity(size as usize);
        file.read_to_end(&mut bytes)?;
        return Ok(Ends {
            size: bytes.len() as u64,
            head: bytes,
            tail: Vec::new(),
            whole: true,
        });
    }
    let mut head = vec![0; HEAD_BYTES as usize];
    file.read_exact(&mut head)?;
    // The head holds at least the first whole line (a long first record, such as
    // Codex's session_meta with its instructions, is read to its end).
    while !head.contains(&b'\n') && (head.len() as u64) < size {
        let mut more = vec![0; HEAD_BYTES as usize];
        let n = file.read(&mut more)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&more[..n]);
    }
    if head.len() as u64 + TAIL_BYTES >= size {
        return whole(path);
    }
    let cut = head.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    head.truncate(cut);
    file.seek(SeekFrom::Start(size - TAIL_BYTES))?;
    // Exactly the last bytes as of the size read above (no probe read for the end; a
    // file that shrank meanwhile is an error, like any other read error).
    let mut tail = vec![0; TAIL_BYTES as usize];
    file.read_exact(&mut tail)?;
    let start = tail
        .iter()
        .position(|&b| b == b'\n')
        .map_or(tail.len(), |i| i + 1);
    tail.drain(..start);
    Ok(Ends {
        head,
        tail,
        whole: false,
        size,
    })
}

/// The whole file as `Ends` (for a reader whose head lacked what it needs).
pub fn whole(path: &Path) -> io::Result<Ends> {
    let bytes = std::fs::read(path)?;
    Ok(Ends {
        size: bytes.len() as u64,
        head: bytes,
        tail: Vec::new(),
        whole: true,
    })
}

/// JSON objects of a JSON-lines text, skipping blank lines and lines that do not parse.
/// Returns the records and how many non-blank lines did not parse.
pub fn json_lines(text: &str) -> (Vec<Value>, usize) {
    let mut records = Vec::new();
    let mut bad = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) if v.is_object() => records.push(v),
            _ => bad += 1,
        }
    }
    (records, bad)
}

/// Text of a message's content: a string, or the `text` of its parts.
pub fn content_text(content: &Value) -> Option<String> {
    match content {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let text: Vec<&str> = parts
                .iter()
                .filter_map(|p| {
                    let kind = p.get("type").and_then(Value::as_str);
                    if matches!(
                        kind,
                        None | Some("text") | Some("input_text") | Some("output_text")
                    ) {
                        p.get("text").and_then(Value::as_str)
                    } else {
                        None
                    }
                })
                .collect();
            if text.is_empty() {
                None
            } else {
                Some(text.join(""))
            }
        }
        Value::Object(_) => content
            .get("text")
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    }
}

pub fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}
