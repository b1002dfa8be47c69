//! `GET /course.json`: the course, rendered at request time from the page's `lessons/`
//! (`course.txt` and every file it lists) by `socketlab_shared::lesson::render`, so the page's
//! WebAssembly carries no Markdown parser and an instructor who edits a lesson sees it on reload.
//! Never cached (`Cache-Control: no-cache`). A page of an `--allow-origin` origin (`trunk serve`
//! in the dev loop) may read it: the answer names that origin in `Access-Control-Allow-Origin`.
//! What is missing (no page folder, no `course.txt`, a lesson it lists) is a 404 whose body says
//! so; the page shows it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use socketlab_shared::lesson::render;

use crate::access::Origin;
use crate::page::Page;
use crate::relay::Config;

/// Where the course is served.
pub(crate) const COURSE_PATH: &str = "/course.json";

/// A lesson file name `course.txt` may list: a plain name in `lessons/`, nothing that climbs
/// out of it.
fn plain_name(file: &str) -> bool {
    !file.is_empty()
        && !file.starts_with('.')
        && file
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The course in the page's `lessons/`, as JSON, or what is missing.
pub(crate) fn course_json(page: &Page) -> Result<String, String> {
    let course_txt = page.read_text("lessons/course.txt").map_err(|e| {
        format!(
            "lessons/course.txt is missing from {} ({e})",
            page.describe()
        )
    })?;
    let course = render::course(&course_txt, |file| {
        if !plain_name(file) {
            return Err(format!(
                "course.txt lists {file:?}: a lesson is a file name in lessons/ (letters, digits, . _ -)"
            ));
        }
        page.read_text(&format!("lessons/{file}"))
            .map_err(|e| format!("lessons/{file} is listed in course.txt but cannot be read ({e})"))
    })?;
    serde_json::to_string(&course).map_err(|e| format!("the course could not be written: {e}"))
}

/// The answer to `GET /course.json` from a page with request `headers`.
pub(crate) async fn answer(config: &Config, headers: &HeaderMap) -> Response {
    let answer = match config.page.clone() {
        None => Err("this relay serves no page (--dist)".to_owned()),
        Some(page) => tokio::task::spawn_blocking(move || course_json(&page))
            .await
            .unwrap_or_else(|e| Err(format!("reading the lessons failed: {e}"))),
    };
    let mut response = match answer {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(missing) => {
            tracing::warn!(%missing, "the course could not be served");
            (StatusCode::NOT_FOUND, missing).into_response()
        }
    };
    let out = response.headers_mut();
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed_origin(&config.access.allow_origins, headers) {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    response
}

/// The request's Origin, when it is one `--allow-origin` admits (the page's own origin needs no
/// header: a same-origin fetch is not a cross-origin read).
fn allowed_origin(allowed: &[Origin], headers: &HeaderMap) -> Option<HeaderValue> {
    let value = headers.get(header::ORIGIN)?;
    let origin = Origin::parse(value.to_str().ok()?).ok()?;
    allowed.contains(&origin).then(|| value.clone())
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue, header};

    use super::{allowed_origin, course_json, plain_name};
    use crate::access::Origin;

    #[test]
    fn only_an_allowed_origin_is_named_back() {
        let allowed = vec![Origin::parse("http://127.0.0.1:8080").expect("origin")];
        let with = |origin: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ORIGIN,
                HeaderValue::from_str(origin).expect("header"),
            );
            allowed_origin(&allowed, &headers)
        };
        assert_eq!(
            with("http://127.0.0.1:8080"),
            Some(HeaderValue::from_static("http://127.0.0.1:8080"))
        );
        assert_eq!(with("http://evil.example"), None);
        assert_eq!(with("null"), None);
        assert_eq!(allowed_origin(&allowed, &HeaderMap::new()), None);
    }

    #[test]
    fn a_lesson_name_cannot_climb_out_of_the_lessons_folder() {
        assert!(plain_name("07-server-life.md"));
        for bad in [
            "",
            "../secret.md",
            "a/b.md",
            ".hidden.md",
            "..",
            "a\\b.md",
            "/etc/passwd",
        ] {
            assert!(!plain_name(bad), "{bad}");
        }
    }

    #[test]
    fn the_shipped_course_renders_and_a_missing_file_is_named() {
        let dir = std::env::temp_dir().join(format!("socketlab-course-{}", std::process::id()));
        let lessons = dir.join("lessons");
        std::fs::create_dir_all(&lessons).expect("dir");
        let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons");
        for entry in std::fs::read_dir(&shipped).expect("lessons/") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, lessons.join(path.file_name().expect("name"))).expect("copy");
        }
        let page = crate::page::Page::Folder(dir.clone());
        let json = course_json(&page).expect("the shipped course");
        let course: socketlab_shared::lesson::Course = serde_json::from_str(&json).expect("json");
        assert!(course.lessons.len() >= 20, "{}", course.lessons.len());
        std::fs::write(lessons.join("course.txt"), "01-gone.md\n").expect("write");
        let missing = course_json(&page).expect_err("a missing lesson");
        assert!(missing.contains("lessons/01-gone.md"), "{missing}");
        std::fs::write(lessons.join("course.txt"), "../../etc/passwd\n").expect("write");
        assert!(
            course_json(&page)
                .expect_err("climbing")
                .contains("a file name")
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
        assert!(
            course_json(&page)
                .expect_err("no folder")
                .contains("course.txt is missing")
        );
    }
}
