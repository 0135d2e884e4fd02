//! Drawing a frame and reading keys. Rows are built at draw time from the model, so
//! countdowns move with the tick without reading the hub again.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Clear, List, ListItem, ListState, Paragraph, Sparkline, Wrap,
};
use sessions_core::board::messages::Message;
use sessions_core::sessions::registry::Liveness;
use sessions_core::store::time;
use sessions_core::work::milestones::ReadyItem;

use crate::model::{Activity, CHART_MINUTES, Model};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Sessions,
    Claims,
    Work,
    Status,
    Requests,
    Board,
}

const PANES: [Pane; 6] = [
    Pane::Sessions,
    Pane::Claims,
    Pane::Work,
    Pane::Status,
    Pane::Requests,
    Pane::Board,
];

/// What a row lets you do.
#[derive(Clone)]
enum Target {
    None,
    Ready(ReadyItem),
    Claim { key: String, holder: String },
    Message(Box<Message>),
}

pub enum Action {
    None,
    Quit,
    Claim(ReadyItem),
    Release(String),
    /// Acknowledge this message (by ID).
    Ack(String),
    /// Post `body` to `to` as a reply to message `id`.
    Reply {
        id: String,
        to: Vec<String>,
        body: String,
    },
}

/// A reply being typed in the footer.
struct Draft {
    message: Box<Message>,
    text: String,
}

/// The state of the screen (not of the hub).
pub struct Ui {
    me: Option<String>,
    sanitize: fn(&str) -> String,
    focus: usize,
    selected: [usize; 6],
    filter: String,
    filtering: bool,
    /// The last action's outcome, shown in the footer.
    pub note: Option<String>,
    /// The targets of the rows last drawn, per pane (what `c` and `r` act on).
    targets: [Vec<Target>; 6],
    /// The message opened in full (Enter on the board).
    open: Option<Box<Message>>,
    draft: Option<Draft>,
}

impl Ui {
    pub fn new(me: Option<String>, sanitize: fn(&str) -> String) -> Ui {
        Ui {
            me,
            sanitize,
            focus: 0,
            selected: [0; 6],
            filter: String::new(),
            filtering: false,
            note: None,
            targets: Default::default(),
            open: None,
            draft: None,
        }
    }

    pub fn focused(&self) -> Pane {
        PANES[self.focus]
    }

    pub fn key(&mut self, key: KeyEvent) -> Action {
        if self.draft.is_some() {
            return self.draft_key(key);
        }
        if self.filtering {
            match key.code {
                KeyCode::Esc => {
                    self.filter.clear();
                    self.filtering = false;
                }
                KeyCode::Enter => self.filtering = false,
                KeyCode::Backspace => {
                    self.filter.pop();
                }
                KeyCode::Char(c) => self.filter.push(c),
                _ => {}
            }
            self.selected = [0; 6];
            return Action::None;
        }
        self.note = None;
        if let Some(open) = &self.open {
            let message = open.clone();
            match key.code {
                KeyCode::Char('q') => return Action::Quit,
                KeyCode::Esc | KeyCode::Enter => self.open = None,
                KeyCode::Char('a') => return Action::Ack(message.id.clone()),
                KeyCode::Char('r') => self.start_reply(message),
                _ => {}
            }
            return Action::None;
        }
        let row = self.selected[self.focus];
        let target = self.targets[self.focus].get(row).cloned();
        match key.code {
            KeyCode::Char('q') => return Action::Quit,
            KeyCode::Esc if !self.filter.is_empty() => self.filter.clear(),
            KeyCode::Tab | KeyCode::Right => self.focus = (self.focus + 1) % PANES.len(),
            KeyCode::BackTab | KeyCode::Left => {
                self.focus = (self.focus + PANES.len() - 1) % PANES.len();
            }
            KeyCode::Down | KeyCode::Char('j') => self.selected[self.focus] = row + 1,
            KeyCode::Up | KeyCode::Char('k') => self.selected[self.focus] = row.saturating_sub(1),
            KeyCode::Char('/') => {
                self.filtering = true;
                self.filter.clear();
            }
            KeyCode::Char('c') => match target {
                Some(Target::Ready(item)) => return Action::Claim(item),
                _ => self.note = Some("select a free item in Work, then press c".into()),
            },
            KeyCode::Enter => match target {
                Some(Target::Message(m)) => self.open = Some(m),
                _ => self.note = Some("select a message in Board, then press Enter".into()),
            },
            KeyCode::Char('a') => match target {
                Some(Target::Message(m)) => return Action::Ack(m.id),
                _ => self.note = Some("select a message in Board, then press a".into()),
            },
            KeyCode::Char('r') => match target {
                Some(Target::Message(m)) => self.start_reply(m),
                Some(Target::Claim { key, holder }) if Some(&holder) == self.me.as_ref() => {
                    return Action::Release(key);
                }
                Some(Target::Claim { holder, .. }) => {
                    self.note = Some(format!(
                        "that claim is {}'s, not yours",
                        (self.sanitize)(&holder)
                    ));
                }
                _ => {
                    self.note = Some(
                        "r: select your claim in Claims (release) or a message in Board (reply)"
                            .into(),
                    );
                }
            },
            _ => {}
        }
        Action::None
    }

    fn start_reply(&mut self, message: Box<Message>) {
        if message.from.is_none() {
            self.note = Some("that message names no sender to reply to".into());
        } else if self.me.is_none() {
            self.note = Some("to reply, start top as a session: sessions --as ID top".into());
        } else {
            self.draft = Some(Draft {
                message,
                text: String::new(),
            });
        }
    }

    fn draft_key(&mut self, key: KeyEvent) -> Action {
        let Some(draft) = &mut self.draft else {
            return Action::None;
        };
        match key.code {
            KeyCode::Esc => {
                self.draft = None;
                self.note = Some("reply not sent".into());
            }
            KeyCode::Enter if draft.text.trim().is_empty() => {
                self.note = Some("the reply is empty: type it, or Esc to cancel".into());
            }
            KeyCode::Enter => {
                let Some(draft) = self.draft.take() else {
                    return Action::None;
                };
                self.open = None;
                return Action::Reply {
                    id: draft.message.id.clone(),
                    to: draft.message.from.iter().cloned().collect(),
                    body: draft.text,
                };
            }
            KeyCode::Backspace => {
                draft.text.pop();
            }
            KeyCode::Char(c) => draft.text.push(c),
            _ => {}
        }
        Action::None
    }
}

struct Row {
    line: Line<'static>,
    target: Target,
}

fn plain(line: &Line) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

/// The chart gets its own row when the terminal is at least this big; smaller, the
/// message rate goes into the board pane's title.
const CHART_MIN: (u16, u16) = (100, 40);
const CHART_HEIGHT: u16 = 6;

pub fn draw(frame: &mut Frame, model: &Model, ui: &mut Ui) {
    let area = frame.area();
    let chart_height = if area.width >= CHART_MIN.0 && area.height >= CHART_MIN.1 {
        CHART_HEIGHT
    } else {
        0
    };
    let [header, chart, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(chart_height),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(frame, header, model, ui);
    if chart_height > 0 {
        draw_chart(frame, chart, &model.activity);
    }
    let rows = Layout::vertical([Constraint::Ratio(1, 3); 3]).split(body);
    let mut areas = Vec::new();
    for row in rows.iter() {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(*row);
        areas.push(left);
        areas.push(right);
    }
    for (i, pane) in PANES.iter().enumerate() {
        let (mut title, rows) = pane_rows(*pane, model, ui);
        if *pane == Pane::Board && chart_height == 0 {
            let last_hour = model.activity.messages.len();
            title = format!("{} {last_hour} msg/h ", title.trim_end());
        }
        draw_pane(frame, areas[i], i, title, rows, ui);
    }
    if let Some(message) = &ui.open {
        draw_message(frame, body, message, model, ui);
    }
    draw_footer(frame, footer, ui);
}

/// Messages and heartbeats per minute over the last hour, side by side.
fn draw_chart(frame: &mut Frame, area: Rect, activity: &Activity) {
    let now = time::now();
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(area);
    for (area, what, times, color) in [
        (left, "Messages", &activity.messages, Color::Cyan),
        (right, "Heartbeats", &activity.heartbeats, Color::Green),
    ] {
        let per_minute = Activity::per_minute(times, now);
        let total: u64 = per_minute.iter().sum();
        let peak = per_minute.iter().copied().max().unwrap_or(0);
        let block = Block::default().borders(Borders::ALL).title(format!(
            " {what} / min, last {CHART_MINUTES} min: {total} (peak {peak}) "
        ));
        // One column a minute, the latest at the right edge.
        let width = usize::from(block.inner(area).width);
        let shown = &per_minute[per_minute.len().saturating_sub(width)..];
        frame.render_widget(
            Sparkline::default()
                .block(block)
                .data(shown)
                .max(peak.max(1))
                .style(Style::new().fg(color)),
            area,
        );
    }
}

/// The opened message in full, over the panes.
fn draw_message(frame: &mut Frame, area: Rect, m: &Message, model: &Model, ui: &Ui) {
    let s = ui.sanitize;
    let popup = centered(area, 90, 80);
    let bold = Style::new().add_modifier(Modifier::BOLD);
    let field = |name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{name}: "), bold),
            Span::raw(value),
        ])
    };
    let mut lines = vec![
        field("From", s(m.from.as_deref().unwrap_or("?"))),
        field("To", s(&m.to.join(", "))),
        field(
            "Time",
            m.time
                .clone()
                .or_else(|| m.time_raw.clone())
                .map_or_else(|| "?".into(), |t| s(&t)),
        ),
        field("Priority", s(&m.priority)),
        field("ID", s(&m.id)),
    ];
    if let Some(subject) = &m.subject {
        lines.push(field("Subject", s(subject)));
    }
    if let Some(reply_to) = &m.reply_to {
        lines.push(field("Reply to", s(reply_to)));
    }
    let acked: Vec<String> = model
        .acks
        .get(&m.id)
        .map(|acks| acks.iter().map(|a| s(&a.session_id)).collect())
        .unwrap_or_default();
    lines.push(field(
        "Acknowledged by",
        if acked.is_empty() {
            "nobody yet".into()
        } else {
            acked.join(", ")
        },
    ));
    lines.push(Line::raw(""));
    lines.extend(m.body.lines().map(|l| Line::raw(s(l))));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(Style::new().fg(Color::Cyan))
                .title(" Message (Esc close · a ack · r reply) "),
        ),
        popup,
    );
}

fn centered(area: Rect, width_percent: u16, height_percent: u16) -> Rect {
    let [_, middle, _] = Layout::vertical([
        Constraint::Percentage((100 - height_percent) / 2),
        Constraint::Percentage(height_percent),
        Constraint::Percentage((100 - height_percent) / 2),
    ])
    .areas(area);
    let [_, center, _] = Layout::horizontal([
        Constraint::Percentage((100 - width_percent) / 2),
        Constraint::Percentage(width_percent),
        Constraint::Percentage((100 - width_percent) / 2),
    ])
    .areas(middle);
    center
}

fn draw_header(frame: &mut Frame, area: Rect, model: &Model, ui: &Ui) {
    let c = &model.sessions.counts;
    let me = ui
        .me
        .as_deref()
        .map(|m| format!(" · me: {}", (ui.sanitize)(m)))
        .unwrap_or_default();
    let problems = match model.errors.len() {
        0 => String::new(),
        n => format!(" · ⚠ {n} unreadable (Status pane)"),
    };
    let text = format!(
        "sessions top{me} · {} live ({} idle, {} busy) · {} stale · {} gone · {} never · {}{problems}",
        c.live,
        c.idle,
        c.busy,
        c.stale,
        c.gone,
        c.never,
        time::now().format("%H:%M:%S")
    );
    frame.render_widget(
        Paragraph::new(text).style(Style::new().add_modifier(Modifier::BOLD)),
        area,
    );
}

fn draw_footer(frame: &mut Frame, area: Rect, ui: &Ui) {
    let text = if let Some(draft) = &ui.draft {
        format!(
            "reply to {}: {}█  (Enter send, Esc cancel)",
            (ui.sanitize)(draft.message.from.as_deref().unwrap_or("?")),
            draft.text
        )
    } else if ui.filtering {
        format!("filter: {}█  (Enter keep, Esc clear)", ui.filter)
    } else if let Some(note) = &ui.note {
        note.clone()
    } else if ui.open.is_some() {
        "q quit · Esc close · a ack · r reply".to_string()
    } else {
        let filter = if ui.filter.is_empty() {
            String::new()
        } else {
            format!("[filter: {}] ", ui.filter)
        };
        let pane_keys = match ui.focused() {
            Pane::Work => " · c claim",
            Pane::Claims => " · r release",
            Pane::Board => " · Enter open · a ack · r reply",
            _ => "",
        };
        format!("{filter}q quit · Tab focus · ↑↓ select · / filter{pane_keys}")
    };
    frame.render_widget(
        Paragraph::new(text).style(Style::new().add_modifier(Modifier::REVERSED)),
        area,
    );
}

fn draw_pane(
    frame: &mut Frame,
    area: Rect,
    index: usize,
    title: String,
    rows: Vec<Row>,
    ui: &mut Ui,
) {
    let needle = ui.filter.to_lowercase();
    let rows: Vec<Row> = rows
        .into_iter()
        .filter(|r| needle.is_empty() || plain(&r.line).to_lowercase().contains(&needle))
        .collect();
    let focused = ui.focus == index;
    let count = rows.len();
    if ui.selected[index] >= count {
        ui.selected[index] = count.saturating_sub(1);
    }
    ui.targets[index] = rows.iter().map(|r| r.target.clone()).collect();
    let border = if focused {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(title);
    let items: Vec<ListItem> = if rows.is_empty() {
        vec![ListItem::new(Line::from(Span::styled(
            "  (nothing)",
            Style::new().add_modifier(Modifier::DIM),
        )))]
    } else {
        rows.into_iter().map(|r| ListItem::new(r.line)).collect()
    };
    let list = List::new(items)
        .block(block)
        .highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = ListState::default();
    if focused && count > 0 {
        state.select(Some(ui.selected[index]));
    }
    frame.render_stateful_widget(list, area, &mut state);
}

fn pane_rows(pane: Pane, model: &Model, ui: &Ui) -> (String, Vec<Row>) {
    let s = ui.sanitize;
    let row = |spans: Vec<Span<'static>>| Row {
        line: Line::from(spans),
        target: Target::None,
    };
    let now = time::now();
    match pane {
        Pane::Sessions => {
            let mut sessions: Vec<_> = model.sessions.sessions.iter().collect();
            sessions.sort_by_key(|v| (v.availability_rank(), v.age_secs.unwrap_or(i64::MAX)));
            let rows = sessions
                .into_iter()
                .map(|v| {
                    let (state, color) = match (v.liveness, v.idle) {
                        (Liveness::Live, true) => ("idle", Color::Green),
                        (Liveness::Live, false) => ("busy", Color::Yellow),
                        (Liveness::Stale, _) => ("stale", Color::Magenta),
                        (Liveness::Gone, _) => ("gone", Color::DarkGray),
                        (Liveness::Unknown, _) => (Liveness::Unknown.as_str(), Color::DarkGray),
                    };
                    let since = v
                        .age_secs
                        .map(time::human_age)
                        .unwrap_or_else(|| "-".into());
                    row(vec![
                        Span::styled(format!("{state:<5} "), Style::new().fg(color)),
                        Span::styled(s(&v.id), Style::new().add_modifier(Modifier::BOLD)),
                        Span::raw(format!(" {since} ")),
                        Span::raw(s(v.current_work.as_deref().unwrap_or(""))),
                    ])
                })
                .collect();
            (
                format!(" Sessions ({}) ", model.sessions.sessions.len()),
                rows,
            )
        }
        Pane::Claims => {
            let rows = model
                .claims
                .iter()
                .map(|c| {
                    let left = match c.claim.expires() {
                        Some(e) if e > now => countdown((e - now).num_seconds()),
                        Some(_) => "expired".into(),
                        None => "no expiry".into(),
                    };
                    let mine = ui.me.as_deref() == Some(c.claim.holder.as_str());
                    let holder_style = if mine {
                        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
                    } else {
                        Style::new()
                    };
                    Row {
                        line: Line::from(vec![
                            Span::raw(format!("{} ", s(&c.claim.key))),
                            Span::styled(s(&c.claim.holder), holder_style),
                            Span::raw(format!(" ({}) ", c.holder_liveness.as_str())),
                            Span::styled(left, Style::new().fg(Color::Yellow)),
                        ]),
                        target: Target::Claim {
                            key: c.claim.key.clone(),
                            holder: c.claim.holder.clone(),
                        },
                    }
                })
                .collect();
            (format!(" Claims ({}) ", model.claims.len()), rows)
        }
        Pane::Work => {
            let mut milestones: Vec<_> = model.milestones.iter().collect();
            milestones.sort_by_key(|m| (m.status != "blocked", m.priority_rank(), m.id.clone()));
            let mut rows: Vec<Row> = milestones
                .into_iter()
                .map(|m| {
                    let ready = model
                        .ready
                        .iter()
                        .find(|r| r.kind == "milestone" && r.id == m.id);
                    let (label, color) = match (m.status.as_str(), ready) {
                        ("blocked", _) => ("BLOCKED", Color::Red),
                        (_, Some(_)) => ("free", Color::Green),
                        ("in_progress", _) => ("wip", Color::Yellow),
                        _ => ("todo", Color::Reset),
                    };
                    Row {
                        line: Line::from(vec![
                            Span::styled(format!("{label:<7} "), Style::new().fg(color)),
                            Span::raw(format!("{} ", bar(m.progress, 8))),
                            Span::raw(format!("{:>3}% ", m.progress)),
                            Span::raw(s(&m.title)),
                        ]),
                        target: ready.map_or(Target::None, |r| Target::Ready(r.clone())),
                    }
                })
                .collect();
            rows.extend(
                model
                    .ready
                    .iter()
                    .filter(|r| r.kind != "milestone")
                    .map(|r| Row {
                        line: Line::from(vec![
                            Span::styled("free    ", Style::new().fg(Color::Green)),
                            Span::raw(format!("{} ", r.key)),
                            Span::raw(s(&r.title)),
                        ]),
                        target: Target::Ready(r.clone()),
                    }),
            );
            let free = model.ready.len();
            (
                format!(" Work ({} open, {free} free) ", model.milestones.len()),
                rows,
            )
        }
        Pane::Status => {
            let verdict = match &model.health {
                Some(h) if h.ok => "healthy".to_string(),
                Some(h) => format!("{} problems", h.problems.len()),
                None => "unknown".into(),
            };
            let rows = model
                .status_files
                .iter()
                .map(|st| {
                    let (label, color, detail) = if st.blocked {
                        (
                            "BLOCKED",
                            Color::Red,
                            format!("by {}", st.blocked_by.join(", ")),
                        )
                    } else if st.fail > 0 {
                        ("failing", Color::Red, st.failing.join(", "))
                    } else if st.wip + st.sync > 0 {
                        (
                            "wip",
                            Color::Yellow,
                            format!("{} ok, {} wip", st.ok, st.wip + st.sync),
                        )
                    } else {
                        ("ok", Color::Green, format!("{} ok", st.ok))
                    };
                    row(vec![
                        Span::styled(format!("{label:<7} "), Style::new().fg(color)),
                        Span::styled(s(&st.project), Style::new().add_modifier(Modifier::BOLD)),
                        Span::raw(format!(" {}", s(&detail))),
                    ])
                })
                .collect::<Vec<_>>();
            let rows = model
                .errors
                .iter()
                .map(|e| {
                    row(vec![
                        Span::styled("ERROR   ", Style::new().fg(Color::Red)),
                        Span::raw(s(e)),
                    ])
                })
                .chain(rows)
                .collect();
            (format!(" Status files: {verdict} "), rows)
        }
        Pane::Requests => {
            let rows = model
                .requests_waiting
                .iter()
                .map(|r| {
                    row(vec![
                        Span::styled(
                            format!("[{}] ", s(&r.urgency)),
                            Style::new().fg(Color::Yellow),
                        ),
                        Span::raw(format!("{} → {}: ", s(&r.from_session), s(&r.to_session))),
                        Span::raw(s(&r.request)),
                    ])
                })
                .collect();
            let whose = if ui.me.is_some() { "on me" } else { "pending" };
            (
                format!(" Requests {whose} ({}) ", model.requests_waiting.len()),
                rows,
            )
        }
        Pane::Board => {
            let me = ui.me.as_deref();
            let rows = model
                .board
                .iter()
                .rev()
                .map(|m| {
                    let is_unread = model.unread.contains(&m.id);
                    let acked_by_me = me.is_some_and(|me| {
                        model
                            .acks
                            .get(&m.id)
                            .is_some_and(|acks| acks.iter().any(|a| a.session_id == me))
                    });
                    let style = if is_unread {
                        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
                    } else {
                        Style::new()
                    };
                    let mark = match (is_unread, acked_by_me) {
                        (_, true) => "✓ ",
                        (true, false) => "• ",
                        _ => "  ",
                    };
                    let when = m
                        .time
                        .as_deref()
                        .and_then(|t| t.get(11..16))
                        .unwrap_or("--:--");
                    let text = sessions_core::views::glance::message_headline(&m.summary());
                    Row {
                        line: Line::from(vec![
                            Span::styled(mark, style),
                            Span::raw(format!("{when} ")),
                            Span::raw(format!(
                                "{}→{} ",
                                s(m.from.as_deref().unwrap_or("?")),
                                s(&m.to.join(","))
                            )),
                            Span::styled(s(&text), style),
                        ]),
                        target: Target::Message(Box::new(m.clone())),
                    }
                })
                .collect();
            (format!(" Board ({} unread) ", model.unread.len()), rows)
        }
    }
}

/// `4:05` left, or `1h02m`.
fn countdown(secs: i64) -> String {
    if secs >= 3600 {
        format!("{}h{:02}m", secs / 3600, secs % 3600 / 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

fn bar(percent: u8, width: usize) -> String {
    let filled = (usize::from(percent.min(100)) * width + 50) / 100;
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}
