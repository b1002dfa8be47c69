//! Where a lesson began in the session's transcript: `CourseRecord::appended` when the lesson
//! page opened. The lesson page provides it as the `LessonStart` context; an exercise reads it
//! to write "the program for this exercise" from only the calls made since (the steps count
//! from the same point). Outside a lesson page there is none, and the whole session counts.

/// How many transcript entries had ever been appended when the lesson page opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LessonStart(pub(crate) u64);
