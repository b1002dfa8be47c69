//! Test support: the lessons the repository ships, read from `lessons/` and parsed.

use socketlab_shared::lesson::course_files;

use crate::course::lesson::{Lesson, parse};

/// The repository's `lessons/` folder.
pub(crate) fn lessons_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lessons")
}

/// Every lesson `course.txt` lists, parsed.
pub(crate) fn shipped_lessons() -> Vec<Lesson> {
    let dir = lessons_dir();
    let course = std::fs::read_to_string(dir.join("course.txt"))
        .unwrap_or_else(|e| panic!("lessons/course.txt must exist: {e}"));
    course_files(&course)
        .iter()
        .enumerate()
        .map(|(index, file)| {
            let source = std::fs::read_to_string(dir.join(file))
                .unwrap_or_else(|e| panic!("lessons/{file} is listed in course.txt: {e}"));
            parse(index + 1, file, &source)
        })
        .collect()
}
