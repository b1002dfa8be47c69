//! Lesson files, parsed: `course.txt` (the lesson files in course order, one a line, `#` comments;
//! the index lists exactly these) and one lesson's Markdown, split into Markdown text and the
//! widgets placed on lines of their own (`{{name arg key=value}}`). Pure, so every lesson in
//! `lessons/` is parsed by a native test (`lesson_tests`).
//!
//! A lesson file `NN-slug.md` (URL `/lessons/<slug>`) becomes `Lesson { number, slug, title,
//! summary, blocks }`: the title is the first `# ` line, the summary the first paragraph after it,
//! and a widget a line holding only `{{name args}}`, not inside a code fence. `markdown_html` turns
//! the rest into HTML with pulldown-cmark (tables, strikethrough; raw HTML passes, the lesson files
//! being the instructor's own), and gives links into the site the page's fragment.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// One lesson, ready to show.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Lesson {
    /// 1-based position in the course.
    pub(crate) number: usize,
    /// The file name minus `NN-` and `.md`: the lesson's URL is `/lessons/<slug>`.
    pub(crate) slug: String,
    pub(crate) title: String,
    /// The first paragraph after the title, shown on the index.
    pub(crate) summary: String,
    pub(crate) blocks: Vec<Block>,
}

/// A piece of a lesson page.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// Markdown text (CommonMark), rendered as HTML by `markdown_html`.
    Text(String),
    /// A widget line: its name, its arguments as written, and its 1-based line number (for the
    /// instructor's error box).
    Widget(Widget),
}

/// A widget placed in a lesson.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Widget {
    pub(crate) name: String,
    pub(crate) args: Vec<String>,
    pub(crate) line: usize,
}

impl Widget {
    /// The first argument that is not `key=value` (e.g. the id in `{{exercise bind-port-zero}}`).
    pub(crate) fn positional(&self) -> Option<&str> {
        self.args
            .iter()
            .map(String::as_str)
            .find(|a| !a.contains('='))
    }
}

impl Lesson {
    /// The exercise ids placed in this lesson, in order.
    pub(crate) fn exercises(&self) -> Vec<String> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Widget(w) if w.name == "exercise" => w.positional().map(str::to_owned),
                _ => None,
            })
            .collect()
    }
}

/// The lesson file names `course.txt` lists, in order: one per line, `#` starts a comment.
pub(crate) fn course_files(course_txt: &str) -> Vec<String> {
    course_txt
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A lesson file's slug: `07-server-life.md` -> `server-life`.
pub(crate) fn slug(file: &str) -> String {
    let stem = file.strip_suffix(".md").unwrap_or(file);
    match stem.split_once('-') {
        Some((number, rest))
            if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) =>
        {
            rest.to_owned()
        }
        _ => stem.to_owned(),
    }
}

/// A widget line: only `{{...}}` on it, spaces aside.
fn widget_line(line: &str, number: usize) -> Option<Widget> {
    let inner = line.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let mut words = inner.split_whitespace().map(str::to_owned);
    let name = words.next()?;
    Some(Widget {
        name,
        args: words.collect(),
        line: number,
    })
}

/// Parses lesson file `file` (its text `source`), number `number` in the course.
pub(crate) fn parse(number: usize, file: &str, source: &str) -> Lesson {
    let mut title = String::new();
    let mut summary = String::new();
    let mut blocks = Vec::new();
    let mut text = String::new();
    let mut fence: Option<&str> = None;
    let mut paragraph = String::new();
    let mut paragraphs_seen = 0;
    for (index, line) in source.lines().enumerate() {
        let trimmed = line.trim_start();
        // Widgets inside a fenced code block are text (the README shows them that way).
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
        } else if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
        } else if let Some(widget) = widget_line(line, index + 1)
            // A step's `{{done ...}}` marker is part of its text (see `steps`), even on a line
            // of its own.
            && widget.name != "done"
        {
            if !text.trim().is_empty() {
                blocks.push(Block::Text(std::mem::take(&mut text)));
            }
            text.clear();
            blocks.push(Block::Widget(widget));
            continue;
        }
        if title.is_empty()
            && paragraphs_seen == 0
            && let Some(heading) = trimmed.strip_prefix("# ")
        {
            title = heading.trim().to_owned();
            paragraphs_seen = 1;
            continue; // The page shows the title itself, above the text.
        }
        // The summary: the first paragraph after the title.
        if paragraphs_seen == 1 && summary.is_empty() && fence.is_none() {
            if trimmed.is_empty() {
                if !paragraph.is_empty() {
                    summary = plain(&paragraph);
                    paragraphs_seen = 2;
                }
            } else {
                paragraph.push_str(trimmed);
                paragraph.push(' ');
            }
        }
        text.push_str(line);
        text.push('\n');
    }
    if summary.is_empty() && !paragraph.is_empty() {
        summary = plain(&paragraph);
    }
    if !text.trim().is_empty() {
        blocks.push(Block::Text(text));
    }
    if title.is_empty() {
        title = slug(file);
    }
    Lesson {
        number,
        slug: slug(file),
        title,
        summary,
        blocks,
    }
}

/// A paragraph of Markdown as plain text (for the index).
fn plain(markdown: &str) -> String {
    let mut out = String::new();
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            _ => {}
        }
    }
    out.trim().to_owned()
}

/// Markdown as HTML. Links to a page of this site (a path without a fragment) get `fragment`
/// (`#token=...`) so following them keeps the key.
pub(crate) fn markdown_html(markdown: &str, fragment: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: keep_key(dest_url, fragment),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

fn keep_key<'a>(url: CowStr<'a>, fragment: &str) -> CowStr<'a> {
    // A link of this site: a path, absolute or relative (no scheme, no host), without its own
    // fragment. `mailto:`, `https://...` and `//host` links leave the site and keep theirs.
    let internal = !url.contains(':') && !url.starts_with("//") && !url.is_empty();
    if internal && !url.contains('#') && !fragment.is_empty() {
        CowStr::from(format!("{url}{fragment}"))
    } else {
        url
    }
}

#[cfg(test)]
#[path = "lesson_tests.rs"]
mod tests;
