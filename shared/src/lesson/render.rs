//! Lesson files to [`Lesson`]s (feature `markdown`): what the relay runs at request time. Widget
//! lines are found line by line (not inside a code fence; a step's `{{done ...}}` marker stays
//! in its text), the rest is CommonMark with tables and strikethrough (raw HTML passes: the lesson
//! files are the instructor's own), and the numbered list that ends a text is cut out as its
//! steps.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

use super::{Block, Course, KEY_SLOT, Lesson, Split, StepSource, Text, Widget, course_files, slug};

/// The course `course_txt` lists, each file's text read by `read` (its error names what is
/// missing).
pub fn course(
    course_txt: &str,
    mut read: impl FnMut(&str) -> Result<String, String>,
) -> Result<Course, String> {
    let mut lessons = Vec::new();
    for (index, file) in course_files(course_txt).iter().enumerate() {
        lessons.push(parse(index + 1, file, &read(file)?));
    }
    Ok(Course { lessons })
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
pub fn parse(number: usize, file: &str, source: &str) -> Lesson {
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
            // A step's `{{done ...}}` marker is part of its text (see `split_steps`), even on a
            // line of its own.
            && widget.name != "done"
        {
            if !text.trim().is_empty() {
                blocks.push(Block::Text(text_block(&text)));
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
        blocks.push(Block::Text(text_block(&text)));
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

/// A text block: its HTML, and its steps if a numbered list ends it.
fn text_block(markdown: &str) -> Text {
    let steps = split_steps(markdown).map(|(before, items, after)| Split {
        before: if before.trim().is_empty() {
            String::new()
        } else {
            markdown_html(&before)
        },
        items: items
            .iter()
            .map(|item| {
                let (text, marker, problem) = take_marker(item);
                StepSource {
                    html: markdown_html(&text),
                    marker,
                    problem,
                }
            })
            .collect(),
        after: if after.trim().is_empty() {
            String::new()
        } else {
            markdown_html(after.trim())
        },
    });
    Text {
        html: markdown_html(markdown),
        steps,
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

/// Markdown as HTML. Links to a page of this site (a path without a fragment) end in
/// [`KEY_SLOT`], for the page to put its fragment there.
pub fn markdown_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: key_slot(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

fn key_slot(url: CowStr<'_>) -> CowStr<'_> {
    // A link of this site: a path, absolute or relative (no scheme, no host), without its own
    // fragment. `mailto:`, `https://...` and `//host` links leave the site and keep theirs.
    let internal = !url.contains(':') && !url.starts_with("//") && !url.is_empty();
    if internal && !url.contains('#') {
        CowStr::from(format!("{url}{KEY_SLOT}"))
    } else {
        url
    }
}

const MARKER: &str = "{{done";

/// A step's source with its marker taken out, the marker's inside, and what is wrong with it.
pub fn take_marker(source: &str) -> (String, Option<String>, Option<String>) {
    let Some(start) = source.find(MARKER) else {
        return (source.to_owned(), None, None);
    };
    let Some(length) = source[start..].find("}}") else {
        return (
            source.to_owned(),
            None,
            Some("a {{done ...}} marker without its closing }}".to_owned()),
        );
    };
    let inside = source[start + MARKER.len()..start + length].to_owned();
    let text = format!("{}{}", &source[..start], &source[start + length + 2..]);
    let problem = text
        .contains(MARKER)
        .then(|| "a step has one {{done ...}} marker; put every goal in it".to_owned());
    (text.trim_end().to_owned(), Some(inside), problem)
}

/// The list item's Markdown, without its `N.` and with its continuation lines dedented.
fn item_markdown(item: &str) -> String {
    let first = item.lines().next().unwrap_or("");
    let lead = first.len() - first.trim_start().len();
    let after_number = first
        .trim_start()
        .trim_start_matches(|c: char| c.is_ascii_digit());
    let after_dot = after_number
        .strip_prefix('.')
        .or_else(|| after_number.strip_prefix(')'))
        .unwrap_or(after_number);
    let content = after_dot.trim_start();
    let indent = lead + (first.trim_start().len() - content.len());
    let mut out = String::from(content);
    for line in item.lines().skip(1) {
        out.push('\n');
        let spaces = line.len() - line.trim_start_matches(' ').len();
        out.push_str(&line[spaces.min(indent)..]);
    }
    out.trim_end().to_owned()
}

/// Splits a text block at its last top-level numbered list, if nothing but text without a
/// heading follows it: (before, the items' sources, after).
pub fn split_steps(markdown: &str) -> Option<(String, Vec<String>, String)> {
    let mut depth = 0usize;
    let mut list: Option<(usize, usize, Vec<String>)> = None;
    let mut current: Option<(usize, Vec<String>)> = None;
    let mut heading_after = false;
    for (event, range) in Parser::new(markdown).into_offset_iter() {
        match event {
            Event::Start(Tag::List(first)) => {
                if depth == 0 && first.is_some() {
                    current = Some((range.start, Vec::new()));
                }
                depth += 1;
            }
            Event::End(TagEnd::List(_)) => {
                depth -= 1;
                if depth == 0
                    && let Some((start, items)) = current.take()
                {
                    list = Some((start, range.end, items));
                    heading_after = false;
                }
            }
            Event::Start(Tag::Item) if depth == 1 => {
                if let Some((_, items)) = current.as_mut() {
                    items.push(markdown[range].to_owned());
                }
            }
            Event::Start(Tag::Heading { .. }) if depth == 0 => heading_after = true,
            _ => {}
        }
    }
    let (start, end, items) = list?;
    if heading_after || items.is_empty() {
        return None;
    }
    Some((
        markdown[..start].to_owned(),
        items.iter().map(|item| item_markdown(item)).collect(),
        markdown[end..].to_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::{Block, KEY_SLOT, Widget, keep_key};
    use super::{course, markdown_html, parse, take_marker};

    const SAMPLE: &str = "# Ports\n\nOne address, many programs.\nA second line.\n\nMore text.\n\n{{lab}}\n\n```\n{{exercise not-a-widget}}\n```\n\n  {{exercise bind-port-zero answer=port}}  \nAfter.\n";

    #[test]
    fn title_summary_and_widgets_come_from_their_lines() {
        let lesson = parse(2, "02-port-numbers.md", SAMPLE);
        assert_eq!(lesson.number, 2);
        assert_eq!(lesson.slug, "port-numbers");
        assert_eq!(lesson.title, "Ports");
        assert_eq!(lesson.summary, "One address, many programs. A second line.");
        let widgets: Vec<&Widget> = lesson
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Widget(w) => Some(w),
                Block::Text(_) => None,
            })
            .collect();
        assert_eq!(widgets.len(), 2, "a widget inside a code fence is text");
        assert_eq!(widgets[0].name, "lab");
        assert_eq!(widgets[0].line, 8);
        assert_eq!(widgets[1].positional(), Some("bind-port-zero"));
        assert_eq!(widgets[1].args, vec!["bind-port-zero", "answer=port"]);
        assert_eq!(lesson.exercises(), vec!["bind-port-zero".to_owned()]);
        match &lesson.blocks[0] {
            Block::Text(text) => assert_eq!(
                text.html,
                "<p>One address, many programs.\nA second line.</p>\n<p>More text.</p>\n"
            ),
            other => panic!("the text before the lab: {other:?}"),
        }
    }

    #[test]
    fn site_links_keep_the_key_and_others_do_not_change() {
        let html = markdown_html(
            "[next](/lessons/port-ranges) [out](https://example.org/) [here](/#x) [near](five-tuple) [mail](mailto:a@example.org)",
        );
        assert!(
            html.contains(&format!("href=\"/lessons/port-ranges{KEY_SLOT}\"")),
            "{html}"
        );
        let html = keep_key(&html, "#token=abc");
        assert!(
            html.contains("href=\"/lessons/port-ranges#token=abc\""),
            "{html}"
        );
        assert!(html.contains("href=\"https://example.org/\""), "{html}");
        assert!(html.contains("href=\"/#x\""), "{html}");
        assert!(html.contains("href=\"five-tuple#token=abc\""), "{html}");
        assert!(html.contains("href=\"mailto:a@example.org\""), "{html}");
    }

    #[test]
    fn a_closing_numbered_list_is_cut_into_steps_with_their_markers() {
        let lesson = parse(
            1,
            "01-t.md",
            "# T\n\nS.\n\nFirst.\n\n1. Say **Live**. {{done live}}\n2. Press it,\n   then more.\n   {{done server:bind}}\n\nOptional.\n\n{{lab}}\n",
        );
        let Block::Text(text) = &lesson.blocks[0] else {
            panic!("text first")
        };
        let split = text.steps.as_ref().expect("steps");
        assert_eq!(split.before, "<p>S.</p>\n<p>First.</p>\n");
        assert_eq!(split.items.len(), 2);
        assert_eq!(split.items[0].html, "<p>Say <strong>Live</strong>.</p>\n");
        assert_eq!(split.items[0].marker.as_deref(), Some(" live"));
        assert_eq!(split.items[1].html, "<p>Press it,\nthen more.</p>\n");
        assert_eq!(split.items[1].marker.as_deref(), Some(" server:bind"));
        assert_eq!(split.after, "<p>Optional.</p>\n");
    }

    #[test]
    fn a_marker_that_does_not_close_or_comes_twice_is_a_problem() {
        let (_, marker, problem) = take_marker("Press it. {{done bind");
        assert_eq!(marker, None);
        assert!(problem.is_some_and(|p| p.contains("closing")));
        let (_, _, problem) = take_marker("A {{done bind}} and {{done listen}}");
        assert!(problem.is_some_and(|p| p.contains("one {{done")));
    }

    #[test]
    fn a_course_is_its_files_in_order_and_a_missing_file_is_an_error() {
        let whole =
            course("01-a.md\n02-b.md\n", |file| Ok(format!("# {file}\n\nS.\n"))).expect("course");
        let titles: Vec<_> = whole
            .lessons
            .iter()
            .map(|l| (l.number, l.title.as_str()))
            .collect();
        assert_eq!(titles, vec![(1, "01-a.md"), (2, "02-b.md")]);
        let missing = course("01-a.md\n", |file| Err(format!("{file} is missing")));
        assert_eq!(missing, Err("01-a.md is missing".to_owned()));
    }
}
