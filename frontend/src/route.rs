//! Which page the address names: the lab at `/` (and at any unknown path, `/lessons/a/b` too), the
//! course index at `/lessons` (and `/lessons/`), a lesson at `/lessons/<slug>`, the teacher's page
//! at `/teacher` (class mode). Every page is a
//! full page load (the relay serves `index.html` for any path), so there is no client-side history
//! code, and every internal link (`href`) carries the page's fragment, so the key (`#token=...`) is
//! never lost on the way. Unit-tested.

/// A page of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    Lab,
    Course,
    Lesson(String),
    /// The teacher's page (class mode).
    Teacher,
}

impl Route {
    /// The page for a path. Anything unknown is the lab, as every path was before the course.
    pub(crate) fn from_path(path: &str) -> Route {
        let path = path.trim_end_matches('/');
        if path == "/teacher" {
            return Route::Teacher;
        }
        match path.strip_prefix("/lessons") {
            Some("") => Route::Course,
            Some(rest) => match rest.strip_prefix('/') {
                Some(slug) if !slug.is_empty() && !slug.contains('/') => {
                    Route::Lesson(slug.to_owned())
                }
                _ => Route::Lab,
            },
            None => Route::Lab,
        }
    }

    /// The route's path.
    pub(crate) fn path(&self) -> String {
        match self {
            Route::Lab => "/".to_owned(),
            Route::Course => "/lessons".to_owned(),
            Route::Lesson(slug) => format!("/lessons/{slug}"),
            Route::Teacher => "/teacher".to_owned(),
        }
    }

    /// A link to the route that keeps `fragment` (the page's `#...`, or empty).
    pub(crate) fn href(&self, fragment: &str) -> String {
        format!("{}{fragment}", self.path())
    }
}

/// The page's route and fragment, from its address (the lab with no fragment natively).
pub(crate) fn current() -> (Route, String) {
    let location = web_sys::window().map(|w| w.location());
    let path = location
        .as_ref()
        .and_then(|l| l.pathname().ok())
        .unwrap_or_default();
    let fragment = location
        .as_ref()
        .and_then(|l| l.hash().ok())
        .unwrap_or_default();
    (Route::from_path(&path), fragment)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_pages() {
        assert_eq!(Route::from_path("/"), Route::Lab);
        assert_eq!(Route::from_path(""), Route::Lab);
        assert_eq!(Route::from_path("/lessons"), Route::Course);
        assert_eq!(Route::from_path("/lessons/"), Route::Course);
        assert_eq!(
            Route::from_path("/lessons/server-life"),
            Route::Lesson("server-life".into())
        );
        assert_eq!(
            Route::from_path("/lessons/server-life/"),
            Route::Lesson("server-life".into())
        );
        assert_eq!(Route::from_path("/elsewhere"), Route::Lab);
        assert_eq!(Route::from_path("/lessons/a/b"), Route::Lab);
        assert_eq!(Route::from_path("/teacher"), Route::Teacher);
        assert_eq!(Route::from_path("/teacher/"), Route::Teacher);
        assert_eq!(Route::from_path("/teacher/x"), Route::Lab);
    }

    #[test]
    fn links_keep_the_fragment() {
        assert_eq!(
            Route::Lesson("port-ranges".into()).href("#token=k"),
            "/lessons/port-ranges#token=k"
        );
        assert_eq!(Route::Course.href(""), "/lessons");
        assert_eq!(Route::Lab.href("#token=k"), "/#token=k");
    }
}
