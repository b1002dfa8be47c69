//! The record of what a command did: each step is announced as it starts (`==> ...`, a slow one
//! saying how slow: "about 9 minutes on 2 cores; once only"), timed, and listed again at the end
//! (`ok` / `skip` / `FAIL`), so a long CI log ends with a short account of where the time went.

use std::time::{Duration, Instant};

use anyhow::Result;

#[derive(Debug)]
enum Outcome {
    Ran(Duration),
    Failed(Duration),
    AlreadyThere(String),
}

#[derive(Debug)]
pub(crate) struct Summary {
    started: Instant,
    steps: Vec<(String, Outcome)>,
}

impl Summary {
    pub(crate) fn new() -> Self {
        Summary {
            started: Instant::now(),
            steps: Vec::new(),
        }
    }

    /// Runs one step: prints `==> title (note)` first, so a slow step says up front how slow it
    /// is, then records how long it took.
    pub(crate) fn step<T>(
        &mut self,
        title: &str,
        note: Option<&str>,
        work: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        match note {
            Some(note) => println!("==> {title} ({note})"),
            None => println!("==> {title}"),
        }
        let started = Instant::now();
        let result = work();
        let took = started.elapsed();
        let outcome = match result {
            Ok(_) => Outcome::Ran(took),
            Err(_) => Outcome::Failed(took),
        };
        self.steps.push((title.to_owned(), outcome));
        result
    }

    /// Records a set-up step that was skipped because its result is already in place.
    pub(crate) fn already_there(&mut self, title: &str, what: String) {
        println!("==> {title}: {what}");
        self.steps
            .push((title.to_owned(), Outcome::AlreadyThere(what)));
    }

    /// Prints every step with its time, and the total.
    pub(crate) fn print(&self, headline: &str) {
        println!();
        println!("==> {headline}");
        let width = self.steps.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
        for (title, outcome) in &self.steps {
            match outcome {
                Outcome::Ran(took) => println!("    ok    {title:width$}  {}", human(*took)),
                Outcome::Failed(took) => println!("    FAIL  {title:width$}  {}", human(*took)),
                Outcome::AlreadyThere(what) => println!("    skip  {title:width$}  {what}"),
            }
        }
        println!("    total {}", human(self.started.elapsed()));
    }
}

fn human(took: Duration) -> String {
    let secs = took.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", took.as_secs_f64())
    }
}
