//! Unit tests of the range index's private bookkeeping and edge cases; the model test
//! (`tests/range_model.rs`) covers the operations at large.

use super::*;

fn keys<'a>(it: impl Iterator<Item = RangeEntry<'a>>) -> Vec<Vec<u8>> {
    it.map(|e| e.key().to_vec()).collect()
}

#[test]
fn shares_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<RangeIndex>();
    assert_send_sync::<RangeIter<'_>>();
    assert_send_sync::<RangeEntry<'_>>();
}

#[test]
fn approx_memory_counts_nodes_and_long_keys() {
    let index = RangeIndex::new();
    assert_eq!(index.approx_memory(), 0);
    index.insert(&[1; 30], Location::new(0, 1));
    assert_eq!(index.approx_memory(), NODE_ESTIMATE);
    index.insert(&[2; 100], Location::new(0, 1));
    assert_eq!(index.approx_memory(), 2 * NODE_ESTIMATE + 100);
    // Replacing a long key does not count its bytes twice.
    index.insert(&[2; 100], Location::new(5, 1));
    assert_eq!(index.approx_memory(), 2 * NODE_ESTIMATE + 100);
    index.remove(&[2; 100]);
    assert_eq!(index.approx_memory(), NODE_ESTIMATE);
    index.insert(&[3; 31], Location::new(0, 1));
    index.retain(|k, _| k.len() != 31);
    assert_eq!(index.approx_memory(), NODE_ESTIMATE);
    index.insert(&[4; 64], Location::new(0, 1));
    index.clear();
    assert_eq!(index.approx_memory(), 0);
    assert!(index.is_empty());
}

#[cfg(target_pointer_width = "64")]
#[test]
fn node_estimate_is_eighty_bytes() {
    assert_eq!(NODE_ESTIMATE, 80);
}

#[test]
fn retain_keeps_a_replacement_made_after_its_verdict() {
    let index = RangeIndex::new();
    index.insert(b"a", Location::new(1, 1));
    index.insert(b"b", Location::new(2, 1));
    let newer = Location::new(99, 1);
    // While judging "a", a writer replaces "b"'s entry... and "a" itself.
    index.retain(|key, loc| {
        if key == b"a" {
            index.insert(b"a", newer);
        }
        loc == newer
    });
    // The old "a" was judged and dropped, but the new "a" was never judged: it stays. "b" was
    // judged and removed.
    assert_eq!(index.get(b"a"), Some(newer));
    assert_eq!(index.get(b"b"), None);
    assert_eq!(index.len(), 1);
}

#[test]
fn both_ends_meet_without_repeating_a_key() {
    let index = RangeIndex::new();
    for k in [b"a", b"b", b"c", b"d", b"e"] {
        index.insert(k, Location::new(0, 1));
    }
    let mut it = index.range(Bound::Excluded(b"a"), Bound::Unbounded);
    assert_eq!(it.next().map(|e| e.key().to_vec()), Some(b"b".to_vec()));
    assert_eq!(it.next_back().map(|e| e.key().to_vec()), Some(b"e".to_vec()));
    assert_eq!(it.next_back().map(|e| e.key().to_vec()), Some(b"d".to_vec()));
    assert_eq!(it.next().map(|e| e.key().to_vec()), Some(b"c".to_vec()));
    assert!(it.next().is_none());
    assert!(it.next_back().is_none(), "fused");
}

#[test]
fn degenerate_ranges_yield_nothing() {
    let index = RangeIndex::new();
    for k in [b"a", b"b", b"c"] {
        index.insert(k, Location::new(0, 1));
    }
    let b: &[u8] = b"b";
    assert!(keys(index.range(Bound::Excluded(b), Bound::Excluded(b))).is_empty());
    assert!(keys(index.range(Bound::Included(b), Bound::Excluded(b))).is_empty());
    assert!(keys(index.range(Bound::Excluded(b), Bound::Included(b))).is_empty());
    assert_eq!(keys(index.range(Bound::Included(b), Bound::Included(b))), [b.to_vec()]);
    assert!(keys(index.range(Bound::Included(b"c"), Bound::Included(b"a")).rev()).is_empty());
    assert!(keys(RangeIndex::new().iter()).is_empty());
    assert!(RangeIndex::new().first().is_none() && RangeIndex::new().last().is_none());
}

#[test]
fn first_last_and_entries_outlive_removal() {
    let index = RangeIndex::new();
    index.insert(b"m", Location::new(1, 1));
    index.insert(b"a", Location::new(2, 1));
    index.insert(b"z", Location::new(3, 1));
    let first = index.first();
    assert_eq!(first.as_ref().map(RangeEntry::key), Some(&b"a"[..]));
    assert_eq!(index.last().map(|e| e.location()), Some(Location::new(3, 1)));
    index.remove(b"a");
    // The entry still reads its key and location, and knows it is gone.
    let first = first.expect("present");
    assert_eq!((first.key(), first.location()), (&b"a"[..], Location::new(2, 1)));
    assert!(first.is_removed());
    assert_eq!(index.first().map(|e| e.key().to_vec()), Some(b"m".to_vec()));
}

#[test]
fn iteration_steps_past_keys_removed_under_it() {
    let index = RangeIndex::new();
    for k in [b"a", b"b", b"c", b"d"] {
        index.insert(k, Location::new(0, 1));
    }
    let mut it = index.iter();
    assert_eq!(it.next().map(|e| e.key().to_vec()), Some(b"a".to_vec()));
    index.remove(b"a");
    index.remove(b"b");
    assert_eq!(it.next().map(|e| e.key().to_vec()), Some(b"c".to_vec()));
    let mut back = index.iter().rev();
    assert_eq!(back.next().map(|e| e.key().to_vec()), Some(b"d".to_vec()));
    index.remove(b"d");
    index.remove(b"c");
    assert!(back.next().is_none());
}

#[test]
fn debug_output_names_keys_not_internals() {
    let index = RangeIndex::new();
    index.insert(b"k\x00", Location::new(7, 1));
    assert_eq!(format!("{index:?}"), "RangeIndex { len: 1, .. }");
    let entry = format!("{:?}", index.first());
    assert!(entry.contains(r#"b"k\x00""#), "{entry}");
    assert!(format!("{:?}", index.prefix(b"k")).contains("Excluded"));
}
