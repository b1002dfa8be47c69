//! A course's lessons as the page shows them. The relay renders each lesson file (Markdown with
//! widget lines, `lessons/NN-slug.md`) at request time with [`render`] (feature `markdown`,
//! pulldown-cmark), so an instructor edits a file and reloads, and the page's WebAssembly carries
//! no Markdown parser: it receives a [`Course`] (`GET /course.json`, docs/protocol.md) and only
//! arranges, lights and ticks what arrived.
//!
//! A lesson file `NN-slug.md` (URL `/lessons/<slug>`) becomes `Lesson { number, slug, title,
//! summary, blocks }`: the title is the first `# ` line, the summary the first paragraph after it,
//! a widget a line holding only `{{name args}}` (not inside a code fence), and the rest [`Text`]:
//! HTML, and, where the text ends in a numbered list, that list cut out as the steps a lab may
//! show beside it ([`Split`]). Links into the site carry [`KEY_SLOT`], which the page replaces
//! with its own fragment ([`keep_key`]), so following one keeps the key the server never sees.

#[cfg(feature = "markdown")]
pub mod render;

use serde::{Deserialize, Serialize};

/// The course: every lesson `course.txt` lists, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Course {
    pub lessons: Vec<Lesson>,
}

/// One lesson, ready to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lesson {
    /// 1-based position in the course.
    pub number: usize,
    /// The file name minus `NN-` and `.md`: the lesson's URL is `/lessons/<slug>`.
    pub slug: String,
    pub title: String,
    /// The first paragraph after the title, as plain text, shown on the index.
    pub summary: String,
    pub blocks: Vec<Block>,
}

/// A piece of a lesson page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Block {
    /// Text between widgets, rendered.
    Text(Text),
    /// A widget line.
    Widget(Widget),
}

/// Text between widgets: its HTML, and the same text cut at its last numbered list when one ends
/// it (only text without a heading after), for a `{{lab}}` below to show those steps beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Text {
    pub html: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Split>,
}

/// A text cut at its closing numbered list: what came before it, its items, what came after it
/// (each HTML; `before` and `after` are empty when only blank lines stood there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub before: String,
    pub items: Vec<StepSource>,
    pub after: String,
}

/// One list item: its HTML without the `N.` and without its `{{done ...}}` marker, the marker's
/// inside as written (the page reads the goals), and what is wrong with the marker, if anything.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSource {
    pub html: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A widget placed in a lesson.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Widget {
    pub name: String,
    /// Its arguments as written.
    pub args: Vec<String>,
    /// Its 1-based line number in the file (for the instructor's error box).
    pub line: usize,
}

impl Widget {
    /// The first argument that is not `key=value` (e.g. the id in `{{exercise bind-port-zero}}`).
    pub fn positional(&self) -> Option<&str> {
        self.args
            .iter()
            .map(String::as_str)
            .find(|a| !a.contains('='))
    }
}

impl Lesson {
    /// The exercise ids placed in this lesson, in order.
    pub fn exercises(&self) -> Vec<String> {
        self.blocks
            .iter()
            .filter_map(|b| match b {
                Block::Widget(w) if w.name == "exercise" => w.positional().map(str::to_owned),
                Block::Widget(_) | Block::Text(_) => None,
            })
            .collect()
    }
}

/// What a link into this site ends with in rendered HTML, where the page puts its own fragment
/// (`#token=...`): the relay renders for everyone and never sees the key.
pub const KEY_SLOT: &str = "#socketlab-key";

/// Rendered HTML with every [`KEY_SLOT`] link given `fragment` (the page's `#token=...&relay=...`,
/// or nothing). The fragment is escaped for an attribute value.
pub fn keep_key(html: &str, fragment: &str) -> String {
    let slot = format!("{KEY_SLOT}\"");
    if !html.contains(&slot) {
        return html.to_owned();
    }
    let escaped = fragment
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    html.replace(&slot, &format!("{escaped}\""))
}

/// The lesson file names `course.txt` lists, in order: one per line, `#` starts a comment.
pub fn course_files(course_txt: &str) -> Vec<String> {
    course_txt
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A lesson file's slug: `07-server-life.md` -> `server-life`.
pub fn slug(file: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::{
        Block, Course, KEY_SLOT, Lesson, Split, StepSource, Text, Widget, course_files, keep_key,
        slug,
    };

    /// The course's JSON as `GET /course.json` sends it; docs/protocol.md shows it.
    const GOLDEN: &str = r##"{"lessons":[{"number":1,"slug":"server-life","title":"A server's life","summary":"Bind, listen, accept.","blocks":[{"text":{"html":"<p>Bind, listen, accept.</p>\n","steps":{"before":"<p>Bind, listen, accept.</p>\n","items":[{"html":"<p>Press <strong>socket()</strong>.</p>\n","marker":" server:socket"},{"html":"<p>Look at the table.</p>\n"}],"after":""}}},{"widget":{"name":"lab","args":[],"line":6}},{"widget":{"name":"exercise","args":["accept-two-clients"],"line":8}}]}]}"##;

    #[test]
    fn the_course_json_is_as_docs_protocol_md_shows_it() {
        let text = |html: &str| html.to_owned();
        let course = Course {
            lessons: vec![Lesson {
                number: 1,
                slug: "server-life".to_owned(),
                title: "A server's life".to_owned(),
                summary: "Bind, listen, accept.".to_owned(),
                blocks: vec![
                    Block::Text(Text {
                        html: text("<p>Bind, listen, accept.</p>\n"),
                        steps: Some(Split {
                            before: text("<p>Bind, listen, accept.</p>\n"),
                            items: vec![
                                StepSource {
                                    html: text("<p>Press <strong>socket()</strong>.</p>\n"),
                                    marker: Some(" server:socket".to_owned()),
                                    problem: None,
                                },
                                StepSource {
                                    html: text("<p>Look at the table.</p>\n"),
                                    marker: None,
                                    problem: None,
                                },
                            ],
                            after: String::new(),
                        }),
                    }),
                    Block::Widget(Widget {
                        name: "lab".to_owned(),
                        args: vec![],
                        line: 6,
                    }),
                    Block::Widget(Widget {
                        name: "exercise".to_owned(),
                        args: vec!["accept-two-clients".to_owned()],
                        line: 8,
                    }),
                ],
            }],
        };
        assert_eq!(serde_json::to_string(&course).expect("json"), GOLDEN);
        assert_eq!(
            serde_json::from_str::<Course>(GOLDEN).expect("decode"),
            course
        );
        assert!(
            include_str!("../../docs/protocol.md").contains(GOLDEN),
            "docs/protocol.md lacks the course example"
        );
    }

    #[test]
    fn course_txt_lists_files_in_order_without_comments() {
        let files = course_files("# the course\n01-a.md\n\n02-b.md # second\n  # nothing\n");
        assert_eq!(files, vec!["01-a.md", "02-b.md"]);
    }

    #[test]
    fn slug_drops_the_number_and_extension() {
        assert_eq!(slug("07-server-life.md"), "server-life");
        assert_eq!(slug("intro.md"), "intro");
        assert_eq!(slug("two-words.md"), "two-words");
    }

    #[test]
    fn the_page_puts_its_fragment_where_the_relay_left_the_slot() {
        let html = format!("<a href=\"/lessons/x{KEY_SLOT}\">x</a> <a href=\"/#y\">y</a>");
        assert_eq!(
            keep_key(&html, "#token=abc&relay=127.0.0.1:7878"),
            "<a href=\"/lessons/x#token=abc&amp;relay=127.0.0.1:7878\">x</a> <a href=\"/#y\">y</a>"
        );
        assert_eq!(
            keep_key(&html, ""),
            "<a href=\"/lessons/x\">x</a> <a href=\"/#y\">y</a>"
        );
        assert_eq!(
            keep_key(&html, "#\"><script>"),
            "<a href=\"/lessons/x#&quot;&gt;&lt;script&gt;\">x</a> <a href=\"/#y\">y</a>",
            "a crafted fragment cannot leave the attribute"
        );
    }
}
