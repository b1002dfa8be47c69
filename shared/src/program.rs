//! From the lab to a program: a session's calls as a complete program the learner can run, in
//! C (POSIX sockets, in the idiom of Beej's Guide), Python (the `socket` module) and Rust
//! (`std::net` where it fits, `socket2` where std has no equivalent). Pure: from
//! what happened (the calls and their replies, in order: [`Happened`]) to lines of text, each
//! knowing the call it comes from, so the page can light a line and its log entry together.
//!
//! Faithful, not idealised: the same calls in the same order, the kernel's answers as comments,
//! an error check where the lab got an errno (the program prints the errno's name and goes on,
//! as the lab did), and a call that waited while the lab went on (an `accept` while the client
//! connects) started on a thread and joined where its answer came. A port the learner typed
//! stays; a port the kernel chose is 0 in the program and read back (getsockname), so the
//! program runs anywhere. Calls the kernel never saw (refused by the relay, unreadable,
//! cancelled, unanswered) are comments.
//!
//! Every program prints one line a call, `name: result`, the same in every language; [`expected`]
//! gives those lines from the lab's record, so a test can run the program and compare (port
//! numbers aside: the kernel chooses again).

mod c;
mod plan;
mod python;
mod rust;
mod split;

pub use plan::Happened;
pub use split::{Argument, Guide, Printed, Split, expected_split, split};

use crate::CallId;

/// A language the program can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    C,
    Python,
    Rust,
}

impl Language {
    pub const ALL: [Language; 3] = [Language::C, Language::Python, Language::Rust];

    /// The name a learner knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Language::C => "C",
            Language::Python => "Python",
            Language::Rust => "Rust",
        }
    }

    /// The file the program is saved as.
    pub fn file_name(self) -> &'static str {
        match self {
            Language::C => "session.c",
            Language::Python => "session.py",
            Language::Rust => "main.rs",
        }
    }
}

/// One line of a program, and the call it comes from (none for the program's frame).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    pub call: Option<CallId>,
}

/// A program, line by line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub language: Language,
    pub lines: Vec<Line>,
}

impl Program {
    /// The whole program, as it is saved.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for line in &self.lines {
            text.push_str(&line.text);
            text.push('\n');
        }
        text
    }
}

/// Which program is written: the whole session, or one of its two halves ([`split`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Half {
    #[default]
    Whole,
    /// The server: run first; it prints the ports the client needs.
    Server,
    /// The client: run once the server printed its ports, with them as arguments.
    Client,
}

impl Half {
    /// The file the program is saved as, in `language`: `session.c`, `server.py`, or for
    /// Rust the file cargo runs (`main.rs`, or `server.rs` in `src/bin/`).
    pub fn file_name(self, language: Language) -> String {
        let stem = match self {
            Half::Whole => return language.file_name().to_owned(),
            Half::Server => "server",
            Half::Client => "client",
        };
        match language {
            Language::C => format!("{stem}.c"),
            Language::Python => format!("{stem}.py"),
            Language::Rust => format!("{stem}.rs"),
        }
    }
}

/// The session's calls so far as a program in `language`.
pub fn write(language: Language, happened: &[Happened<'_>]) -> Program {
    write_plan(language, &plan::Plan::new(happened))
}

/// The same, saved under `name` (`accept-two-clients.c`, not `session.c`): its opening comment
/// says how to build and run that file.
pub fn write_named(language: Language, happened: &[Happened<'_>], name: &str) -> Program {
    let mut plan = plan::Plan::new(happened);
    plan.name = Some(name.to_owned());
    write_plan(language, &plan)
}

/// The file a program is saved as: `session.c`, the named `accept-two-clients.py`, a half's
/// `server.c`; Rust's whole program is always `main.rs` (the file cargo runs), a half's
/// `server.rs` (in `src/bin/`).
pub fn file_name(language: Language, half: Half, name: Option<&str>) -> String {
    match (half, name, language) {
        (Half::Whole, Some(name), Language::C) => format!("{name}.c"),
        (Half::Whole, Some(name), Language::Python) => format!("{name}.py"),
        _ => half.file_name(language),
    }
}

fn write_plan(language: Language, plan: &plan::Plan) -> Program {
    let lines = match language {
        Language::C => c::write(plan),
        Language::Python => python::write(plan),
        Language::Rust => rust::write(plan),
    };
    Program { language, lines }
}

/// What the program prints, as the lab's record says each call went: one line a call.
pub fn expected(happened: &[Happened<'_>]) -> Vec<String> {
    plan::expected(&plan::Plan::new(happened))
}

/// How a half is built and run, as the learner types it: `cc -Wall -o client client.c &&
/// ./client LISTENER_PORT`, `python3 server.py`, `cargo run --bin client -- LISTENER_PORT`.
fn command(plan: &plan::Plan, language: Language) -> String {
    let file = file_name(language, plan.half, plan.name.as_deref());
    let stem = file.split('.').next().unwrap_or("session").to_owned();
    let args: String = plan
        .outside
        .iter()
        .map(|(_, name)| format!(" {}", name.to_ascii_uppercase()))
        .collect();
    match language {
        Language::C => format!(
            "cc -Wall{} -o {stem} {file} && ./{stem}{args}",
            if plan.threads > 0 { " -pthread" } else { "" }
        ),
        Language::Python => format!("python3 {file}{args}"),
        Language::Rust if args.is_empty() => format!("cargo run --bin {stem}"),
        Language::Rust => format!("cargo run --bin {stem} --{args}"),
    }
}

/// The opening comment of a half ([`split`]), the same sentences in every language, or none
/// for the whole session (each language writes its own).
fn half_header(plan: &plan::Plan, language: Language) -> Option<Vec<String>> {
    let mut run = command(plan, language);
    if language == Language::Rust {
        run.push_str(" (this file in src/bin/)");
    }
    match plan.half {
        Half::Whole => None,
        Half::Server => {
            let mut lines = vec![
                "The server half of a socketlab session: its calls, in the lab's order.".to_owned(),
                "Each call prints its result as the lab showed it.".to_owned(),
                format!("Run it first: {run}"),
                "then the client, with the port this program prints.".to_owned(),
            ];
            if plan.waits_at_end {
                lines.push(
                    "It keeps its sockets until you press Enter, so the client finds them."
                        .to_owned(),
                );
            }
            Some(lines)
        }
        Half::Client => Some(vec![
            "The client half of a socketlab session: its calls, in the lab's order.".to_owned(),
            "Each call prints its result as the lab showed it.".to_owned(),
            "Run it once the server has printed its address:".to_owned(),
            run,
        ]),
    }
}

/// Lines being written, each marked with the call it belongs to.
#[derive(Debug, Default)]
struct Writer {
    lines: Vec<Line>,
    call: Option<CallId>,
}

impl Writer {
    fn line(&mut self, text: &str) {
        self.lines.push(Line {
            text: text.to_owned(),
            call: self.call,
        });
    }

    /// The next lines come from call `id`.
    fn call(&mut self, id: CallId) {
        self.call = Some(id);
    }

    /// The next lines are the program's frame again.
    fn end_call(&mut self) {
        self.call = None;
    }

    fn finish(self) -> Vec<Line> {
        self.lines
    }

    /// The plan's items in order, each marked with its call: a left-out call as the comment
    /// `left(text)` makes of "SYSCALL left out: WHY", a step as `step` writes it.
    fn items(
        &mut self,
        plan: &plan::Plan,
        left: impl Fn(&str) -> String,
        mut step: impl FnMut(&mut Writer, &plan::Step),
    ) {
        for item in &plan.items {
            match item {
                plan::Item::Left { id, op, why } => {
                    self.call(*id);
                    self.line(&left(&format!("{} left out: {why}", op.syscall())));
                }
                plan::Item::Step(each) => {
                    self.call(each.id);
                    step(self, each);
                }
            }
            self.end_call();
        }
    }
}

#[cfg(test)]
#[path = "program_tests.rs"]
mod tests;
