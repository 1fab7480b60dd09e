//! Iterators. All are `Send` and own what they read from, so they outlive the handle
//! that made them.
//!
//! * [`EmdbIter`], [`EmdbKeyIter`] (and the namespace twins) walk a snapshot of the live
//!   entries taken at the call: each item is the value as of the call, keys added later
//!   are not seen, expired entries are skipped as they come up. They read from the memory
//!   map they were made with, so they keep it (not the database) alive.
//! * [`TryIter`] is the same walk with damage reported as an `Err` item instead of
//!   skipped.
//! * [`EmdbRangeIter`] (and [`NamespaceRangeIter`]) are cursors over the range index, in
//!   ascending key order: they fetch pages (16 entries, doubling up to 512), and each page
//!   re-seeks after the last key returned, so a cursor is weakly consistent (keys changed
//!   ahead of it may or may not appear), returns each key at most once, and carries on
//!   across compaction. A cursor holds the database open.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use emdb_index::Location;
use emdb_journal::Snapshot;

use crate::engine::codec::Codec;
use crate::engine::{Inner, Listing, key_at};
use crate::error::{Error, Result};
use crate::options::Clock;

/// The shared walk over a snapshot of locations.
struct Walk {
    view: Snapshot,
    codec: Codec,
    locations: std::vec::IntoIter<Location>,
    clock: Clock,
}

impl Walk {
    fn new(listing: Listing) -> Walk {
        Walk {
            view: listing.view,
            codec: listing.codec,
            locations: listing.locations.into_iter(),
            clock: listing.clock,
        }
    }

    fn next_entry(&mut self) -> Option<Result<(Vec<u8>, Vec<u8>)>> {
        loop {
            let loc = self.locations.next()?;
            if self.clock.expired(&loc) {
                continue;
            }
            // Expiry checked just above (reading the clock only for records that have
            // one), so the entry is read as of time 0, when nothing had expired.
            if let Some(item) = Inner::entry_at(&self.codec, &self.view, loc, 0) {
                return Some(item);
            }
        }
    }

    fn next_key(&mut self) -> Option<Vec<u8>> {
        loop {
            let loc = self.locations.next()?;
            if self.clock.expired(&loc) {
                continue;
            }
            // As with entries, a record that does not decode is skipped here.
            if let Ok(Some(key)) = key_at(&self.codec, &self.view, loc) {
                return Some(key);
            }
        }
    }

    /// The next entry that decodes: emdb 1.0 skips records that do not, `try_iter`
    /// reports them.
    fn next_decoded_entry(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        loop {
            if let Ok(item) = self.next_entry()? {
                return Some(item);
            }
        }
    }
}

/// A public iterator over a [`Walk`]: `$next` is the walk's method that yields its items.
macro_rules! walk_iter {
    ($(#[$doc:meta])* $name:ident, $item:ty, $next:ident) => {
        $(#[$doc])*
        pub struct $name {
            walk: Walk,
        }

        impl $name {
            pub(crate) fn new(snapshot: Listing) -> Self {
                $name { walk: Walk::new(snapshot) }
            }
        }

        impl Iterator for $name {
            type Item = $item;

            fn next(&mut self) -> Option<$item> {
                self.walk.$next()
            }
        }
    };
}

walk_iter!(
    /// Key-value pairs of the default namespace, from a snapshot taken by
    /// [`crate::Emdb::iter`]; in hash order.
    EmdbIter,
    (Vec<u8>, Vec<u8>),
    next_decoded_entry
);
walk_iter!(
    /// Key-value pairs of a namespace, from a snapshot taken by
    /// [`crate::Namespace::iter`]; in hash order.
    NamespaceIter,
    (Vec<u8>, Vec<u8>),
    next_decoded_entry
);
walk_iter!(
    /// Keys of the default namespace, from a snapshot taken by [`crate::Emdb::keys`].
    EmdbKeyIter,
    Vec<u8>,
    next_key
);
walk_iter!(
    /// Keys of a namespace, from a snapshot taken by [`crate::Namespace::keys`].
    NamespaceKeyIter,
    Vec<u8>,
    next_key
);
walk_iter!(
    /// Key-value pairs from a snapshot, with a record that fails to decode reported as an
    /// `Err` item rather than skipped.
    TryIter,
    Result<(Vec<u8>, Vec<u8>)>,
    next_entry
);

/// First page of a cursor, and the largest.
const FIRST_PAGE: usize = 16;
const LAST_PAGE: usize = 512;

/// A cursor over the range index of one namespace.
///
/// A page holds locations, not values: the keys and where their records are, taken from
/// the index under the batch gate together with a view of the log that covers them. The
/// records are read one at a time as the caller asks for them, so a caller that stops
/// early (`take(10)`) reads only what it takes. Records never move in a log, and the view
/// keeps its file mapped across a compaction, so a page reads as of when it was taken.
pub(crate) struct Cursor {
    inner: Arc<Inner>,
    ns: u32,
    lower: Bound<Vec<u8>>,
    upper: Bound<Vec<u8>>,
    page: VecDeque<Location>,
    /// The view and codec the current page's locations are read through, and the time
    /// its expiry is judged at.
    page_view: Option<(Snapshot, Codec, u64)>,
    page_size: usize,
    done: bool,
    /// The first error met: a page that could not be read ends the cursor, a record that
    /// did not decode is skipped by the iterators (as emdb 1.0 does) and reported by the
    /// eager `range` calls.
    error: Option<Error>,
}

impl Cursor {
    /// A cursor over `[lower, upper]`; fails at once if the range index is not kept.
    pub(crate) fn new(inner: Arc<Inner>, ns: u32, lower: Bound<Vec<u8>>, upper: Bound<Vec<u8>>) -> Result<Cursor> {
        if !inner.range_scans() {
            return Err(Error::InvalidConfig(
                "range scans are not enabled (EmdbBuilder::enable_range_scans)",
            ));
        }
        inner.check_namespace(ns)?;
        Ok(Cursor {
            inner,
            ns,
            lower,
            upper,
            page: VecDeque::new(),
            page_view: None,
            page_size: FIRST_PAGE,
            done: false,
            error: None,
        })
    }

    /// Fetches the next page of locations; sets `done` when the range is exhausted.
    fn fill(&mut self) -> Result<()> {
        let Some(page) = self
            .inner
            .range_page(self.ns, &self.lower, &self.upper, self.page_size)?
        else {
            self.done = true;
            return Ok(());
        };
        match page.resume_after {
            Some(last) => self.lower = Bound::Excluded(last),
            None => self.done = true,
        }
        self.page.extend(page.locations);
        self.page_size = (self.page_size * 2).min(LAST_PAGE);
        self.page_view = Some((page.view, page.codec, self.inner.clock().now_ms()));
        Ok(())
    }

    fn next_item(&mut self) -> Option<(Vec<u8>, Vec<u8>)> {
        loop {
            if let Some(loc) = self.page.pop_front() {
                let (view, codec, now) = self.page_view.as_ref()?;
                match Inner::entry_at(codec, view, loc, *now) {
                    Some(Ok(item)) => return Some(item),
                    Some(Err(e)) => {
                        self.error.get_or_insert(e);
                    }
                    None => {}
                }
                continue;
            }
            // The page is spent: let its view go before the next one is taken.
            self.page_view = None;
            if self.done {
                return None;
            }
            if let Err(e) = self.fill() {
                self.error.get_or_insert(e);
                self.done = true;
                return None;
            }
        }
    }
}

impl Cursor {
    /// Every entry of the range, or the first error met (eager `range` calls).
    pub(crate) fn collect_all(mut self) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        while let Some(item) = self.next_item() {
            out.push(item);
        }
        match self.error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

macro_rules! range_iter {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name {
            cursor: Cursor,
        }

        impl $name {
            pub(crate) fn new(cursor: Cursor) -> Self {
                $name { cursor }
            }
        }

        impl Iterator for $name {
            type Item = (Vec<u8>, Vec<u8>);

            fn next(&mut self) -> Option<Self::Item> {
                self.cursor.next_item()
            }
        }
    };
}

range_iter!(
    /// Key-value pairs of the default namespace in ascending key order: a cursor made by
    /// [`crate::Emdb::range_iter`] and its kin.
    EmdbRangeIter
);
range_iter!(
    /// Key-value pairs of a namespace in ascending key order: a cursor made by
    /// [`crate::Namespace::range_iter`] and its kin.
    NamespaceRangeIter
);

/// The bounds `[prefix, successor(prefix))`; an all-0xFF (or empty) prefix has no upper
/// bound.
pub(crate) fn prefix_bounds(prefix: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let mut upper = prefix.to_vec();
    while let Some(last) = upper.pop() {
        if last < 0xFF {
            upper.push(last + 1);
            return (Bound::Included(prefix.to_vec()), Bound::Excluded(upper));
        }
    }
    (Bound::Included(prefix.to_vec()), Bound::Unbounded)
}

/// Owned bounds from any `RangeBounds<Vec<u8>>`.
pub(crate) fn owned_bounds<R: std::ops::RangeBounds<Vec<u8>>>(range: &R) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    (range.start_bound().cloned(), range.end_bound().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successors() {
        assert_eq!(
            prefix_bounds(b"ab"),
            (Bound::Included(b"ab".to_vec()), Bound::Excluded(b"ac".to_vec()))
        );
        assert_eq!(
            prefix_bounds(&[1, 0xFF]),
            (Bound::Included(vec![1, 0xFF]), Bound::Excluded(vec![2]))
        );
        assert_eq!(
            prefix_bounds(&[0xFF, 0xFF]),
            (Bound::Included(vec![0xFF, 0xFF]), Bound::Unbounded)
        );
        assert_eq!(prefix_bounds(b""), (Bound::Included(Vec::new()), Bound::Unbounded));
    }

    fn assert_send<T: Send>() {}

    #[test]
    fn every_iterator_is_send() {
        assert_send::<EmdbIter>();
        assert_send::<NamespaceIter>();
        assert_send::<EmdbKeyIter>();
        assert_send::<NamespaceKeyIter>();
        assert_send::<EmdbRangeIter>();
        assert_send::<NamespaceRangeIter>();
        assert_send::<TryIter>();
    }
}
