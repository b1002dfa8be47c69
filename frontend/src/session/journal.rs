//! `Journal<T>`: the session's long, growing lists (the log, the transcript, the packets) kept so
//! that the reducer's clone of the whole session on every action copies a pointer, not the list,
//! and an append is O(1).
//!
//! A journal is a window `start..end` onto a buffer that every clone shares. An append by the
//! newest clone (the one whose window ends where the buffer does) writes into the shared buffer in
//! place: older clones do not see it, since their window ends before it. Entries are never changed
//! in place, so a clone keeps exactly the entries it had, as a value should: an append by a clone
//! that is not the newest, or while a reader holds `entries()`, copies its window first (a fork,
//! which the reducer never makes). Dropping the oldest entries moves `start`; the buffer is
//! compacted when the dropped part outgrows the live one, so that too is O(1) amortised.

use std::cell::{Ref, RefCell};
use std::fmt;
use std::rc::Rc;

/// A shared, append-only list with a window (see the module's docs).
pub(crate) struct Journal<T> {
    buffer: Rc<RefCell<Vec<T>>>,
    start: usize,
    end: usize,
    /// How many entries were ever dropped from the front.
    dropped: u64,
}

impl<T> Default for Journal<T> {
    fn default() -> Self {
        Journal {
            buffer: Rc::new(RefCell::new(Vec::new())),
            start: 0,
            end: 0,
            dropped: 0,
        }
    }
}

impl<T> Clone for Journal<T> {
    fn clone(&self) -> Self {
        Journal {
            buffer: Rc::clone(&self.buffer),
            start: self.start,
            end: self.end,
            dropped: self.dropped,
        }
    }
}

impl<T: Clone> Journal<T> {
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many entries were dropped from the front, ever.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The entries, oldest first. Hold the guard only while reading: an append meanwhile copies
    /// the window instead of writing in place (it never fails).
    pub(crate) fn entries(&self) -> Ref<'_, [T]> {
        Ref::map(self.buffer.borrow(), |all| &all[self.start..self.end])
    }

    /// The newest entry (a copy).
    #[cfg(test)]
    pub(crate) fn last(&self) -> Option<T> {
        self.entries().last().cloned()
    }

    /// Appends one entry: in place when this is the newest clone, else after copying the window.
    pub(crate) fn push(&mut self, entry: T) {
        if let Ok(mut all) = self.buffer.try_borrow_mut()
            && all.len() == self.end
        {
            all.push(entry);
            self.end += 1;
            return;
        }
        let mut own = Vec::with_capacity(self.len() + 1);
        own.extend_from_slice(&self.entries());
        own.push(entry);
        self.replace(own);
    }

    /// Drops the `n` oldest entries (all of them, if there are fewer).
    pub(crate) fn drop_oldest(&mut self, n: usize) {
        let n = n.min(self.len());
        self.start += n;
        self.dropped += n as u64;
        if self.start > 64 && self.start > self.len() {
            let own = self.entries().to_vec();
            self.replace(own);
        }
    }

    /// Keeps only the entries `keep` accepts, in order; the others count as dropped. O(n): for a
    /// rare compaction, not for every append.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let own: Vec<T> = self.entries().iter().filter(|e| keep(e)).cloned().collect();
        self.dropped += (self.len() - own.len()) as u64;
        self.replace(own);
    }

    /// Whether both are windows onto one buffer (no copy was made between them).
    #[cfg(test)]
    pub(crate) fn shares_buffer_with(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.buffer, &other.buffer)
    }

    fn replace(&mut self, own: Vec<T>) {
        self.start = 0;
        self.end = own.len();
        self.buffer = Rc::new(RefCell::new(own));
    }
}

impl<T: Clone> FromIterator<T> for Journal<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut journal = Journal::default();
        journal.replace(iter.into_iter().collect());
        journal
    }
}

/// Equal when the entries and the dropped count are: two clones of one window compare without
/// reading the entries.
impl<T: Clone + PartialEq> PartialEq for Journal<T> {
    fn eq(&self, other: &Self) -> bool {
        if self.dropped != other.dropped || self.len() != other.len() {
            return false;
        }
        (Rc::ptr_eq(&self.buffer, &other.buffer) && self.start == other.start)
            || *self.entries() == *other.entries()
    }
}

impl<T: Clone + fmt::Debug> fmt::Debug for Journal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("dropped", &self.dropped)
            .field("entries", &&*self.entries())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Journal;

    fn items(journal: &Journal<u32>) -> Vec<u32> {
        journal.entries().to_vec()
    }

    #[test]
    fn the_newest_clone_appends_in_place_and_older_ones_keep_their_entries() {
        let mut journal: Journal<u32> = (0..3).collect();
        let older = journal.clone();
        journal.push(3);
        assert!(
            std::rc::Rc::ptr_eq(&journal.buffer, &older.buffer),
            "no copy"
        );
        assert_eq!(items(&older), [0, 1, 2]);
        assert_eq!(items(&journal), [0, 1, 2, 3]);
        assert_ne!(older, journal);
    }

    #[test]
    fn a_fork_copies_its_window_and_never_changes_the_other() {
        let mut newer: Journal<u32> = (0..3).collect();
        let mut older = newer.clone();
        newer.push(3);
        older.push(30);
        assert_eq!(items(&newer), [0, 1, 2, 3]);
        assert_eq!(items(&older), [0, 1, 2, 30]);
    }

    #[test]
    fn an_append_while_a_reader_holds_the_entries_copies_instead_of_failing() {
        let mut journal: Journal<u32> = (0..3).collect();
        let reader = journal.clone();
        let held = reader.entries();
        journal.push(3);
        assert_eq!(&*held, [0, 1, 2]);
        drop(held);
        assert_eq!(items(&journal), [0, 1, 2, 3]);
    }

    #[test]
    fn dropping_the_oldest_counts_them_and_compacts_the_buffer() {
        let mut journal = Journal::default();
        for i in 0..1000u32 {
            journal.push(i);
            if journal.len() > 100 {
                journal.drop_oldest(1);
            }
        }
        assert_eq!(journal.len(), 100);
        assert_eq!(journal.dropped(), 900);
        assert_eq!(journal.last(), Some(999));
        assert_eq!(journal.entries()[0], 900);
        assert!(journal.buffer.borrow().len() <= 2 * 100 + 64, "compacted");
    }

    #[test]
    fn clones_are_equal_without_reading_and_equal_lists_are_equal() {
        let a: Journal<u32> = (0..5).collect();
        let b: Journal<u32> = (0..5).collect();
        assert_eq!(a, a.clone());
        assert_eq!(a, b);
        let mut c = b.clone();
        c.retain(|n| n % 2 == 0);
        assert_eq!(items(&c), [0, 2, 4]);
        assert_eq!(c.dropped(), 2);
        assert_ne!(b, c);
    }
}
