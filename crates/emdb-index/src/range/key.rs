//! The key as the range index stores it: short keys inline in the skiplist node, long keys in
//! one boxed slice.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;

/// Longest key kept inline, in the node itself, with no allocation of its own.
///
/// 30 bytes makes [`StoredKey`] 32 bytes on a 64-bit target (tag, length, 30 bytes), the size
/// of a `Box<[u8]>` plus its tag rounded up: the inline form costs nothing over the boxed one.
pub(crate) const INLINE_CAPACITY: usize = 30;

/// A key in the range index.
///
/// Equality and order are those of the key's bytes, exactly as `[u8]` compares them, whatever
/// the representation: an inline key and a boxed one compare by content, never by variant, and
/// the unused tail of an inline key is never looked at. That agreement is what makes
/// `Borrow<[u8]>` sound: the skiplist orders its nodes by `StoredKey::cmp` and searches them
/// with `<[u8]>::cmp` on the borrowed form, so the two must give the same answer.
pub(crate) enum StoredKey {
    /// A key of at most [`INLINE_CAPACITY`] bytes: the first `len` bytes of `bytes`.
    Inline {
        /// Number of bytes used, `<= INLINE_CAPACITY`.
        len: u8,
        /// The key, padded with zeros (never compared).
        bytes: [u8; INLINE_CAPACITY],
    },
    /// A key longer than [`INLINE_CAPACITY`] bytes.
    Heap(Box<[u8]>),
}

impl StoredKey {
    /// Stores `key`: inline when it fits, boxed otherwise.
    pub(crate) fn new(key: &[u8]) -> Self {
        match u8::try_from(key.len()) {
            Ok(len) if key.len() <= INLINE_CAPACITY => {
                let mut bytes = [0; INLINE_CAPACITY];
                for (dst, src) in bytes.iter_mut().zip(key) {
                    *dst = *src;
                }
                StoredKey::Inline { len, bytes }
            }
            _ => StoredKey::Heap(Box::from(key)),
        }
    }

    /// The smallest key above every key that starts with `prefix`: `prefix` without its
    /// trailing 0xFF bytes, its last byte incremented. `None` when `prefix` is empty or all
    /// 0xFF, as no byte string is above all of its extensions then.
    pub(crate) fn prefix_successor(prefix: &[u8]) -> Option<Self> {
        let last = prefix.iter().rposition(|&b| b != 0xFF)?;
        let mut key = StoredKey::new(prefix.get(..=last)?);
        let byte = match &mut key {
            StoredKey::Inline { len, bytes } => bytes.get_mut(usize::from(*len).checked_sub(1)?)?,
            StoredKey::Heap(bytes) => bytes.last_mut()?,
        };
        // Not 0xFF (that is how `last` was chosen), so this does not wrap.
        *byte = byte.wrapping_add(1);
        Some(key)
    }

    /// The key's bytes.
    #[inline]
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match self {
            // `len <= INLINE_CAPACITY` by construction; `get` keeps even a broken invariant
            // from panicking.
            StoredKey::Inline { len, bytes } => bytes.get(..usize::from(*len)).unwrap_or_default(),
            StoredKey::Heap(bytes) => bytes,
        }
    }

    /// Bytes this key holds on the heap beyond the node: 0 when inline.
    #[inline]
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            StoredKey::Inline { .. } => 0,
            StoredKey::Heap(bytes) => bytes.len(),
        }
    }
}

impl Borrow<[u8]> for StoredKey {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl PartialEq for StoredKey {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for StoredKey {}

impl PartialOrd for StoredKey {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StoredKey {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        compare(self.as_bytes(), other.as_bytes())
    }
}

/// The first eight bytes of `key` as a big-endian integer, zero-padded when it is shorter:
/// `prefix(a) < prefix(b)` implies `a < b` in byte-string order (a zero pad sorts no higher
/// than any byte), and equal prefixes decide nothing.
#[inline]
pub(crate) fn prefix(key: &[u8]) -> u64 {
    match key.first_chunk::<8>() {
        Some(first) => u64::from_be_bytes(*first),
        None => {
            let mut padded = [0u8; 8];
            for (dst, src) in padded.iter_mut().zip(key) {
                *dst = *src;
            }
            u64::from_be_bytes(padded)
        }
    }
}

/// `a.cmp(b)`, the byte-string order, with a fast path: when both keys have at least eight
/// bytes, their first eight are compared as one big-endian integer (a load and a byte swap
/// each), and only keys that agree there go on to a full comparison. Random or hashed keys
/// almost always differ in their first eight bytes, so a skiplist insert or a sort of them
/// makes no call to `memcmp`.
#[inline]
pub(crate) fn compare(a: &[u8], b: &[u8]) -> Ordering {
    if let (Some(x), Some(y)) = (a.first_chunk::<8>(), b.first_chunk::<8>()) {
        match u64::from_be_bytes(*x).cmp(&u64::from_be_bytes(*y)) {
            Ordering::Equal => {}
            unequal => return unequal,
        }
    }
    a.cmp(b)
}

impl fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_skiplist::SkipMap;
    use std::ops::Bound;

    /// Byte strings around the inline/heap boundary and at the extremes of the alphabet,
    /// with shared prefixes, so that every pair probes a different comparison path.
    fn samples() -> Vec<Vec<u8>> {
        let lengths = [0, 1, 2, 15, 28, 29, 30, 31, 32, 33, 60, 255, 256, 300];
        let mut out = Vec::new();
        for &n in &lengths {
            for fill in [0x00u8, 0x01, b'k', 0xFE, 0xFF] {
                out.push(vec![fill; n]);
                if n > 0 {
                    // Same prefix, last byte one above or below the fill.
                    let mut up = vec![fill; n];
                    up[n - 1] = fill.wrapping_add(1);
                    out.push(up);
                    let mut down = vec![fill; n];
                    down[n - 1] = fill.wrapping_sub(1);
                    out.push(down);
                }
            }
            out.push((0..n).map(|i| (i * 7 % 256) as u8).collect());
        }
        out
    }

    #[test]
    fn representation_switches_after_inline_capacity() {
        for n in 0..=INLINE_CAPACITY {
            assert!(
                matches!(StoredKey::new(&vec![7; n]), StoredKey::Inline { .. }),
                "length {n}"
            );
            assert_eq!(StoredKey::new(&vec![7; n]).heap_bytes(), 0);
        }
        for n in [INLINE_CAPACITY + 1, INLINE_CAPACITY + 2, 255, 256, 1000] {
            let key = StoredKey::new(&vec![7; n]);
            assert!(matches!(key, StoredKey::Heap(_)), "length {n}");
            assert_eq!(key.heap_bytes(), n);
        }
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn inline_form_costs_no_more_than_a_box() {
        assert_eq!(size_of::<StoredKey>(), 32);
    }

    #[test]
    fn bytes_round_trip() {
        for s in samples() {
            assert_eq!(StoredKey::new(&s).as_bytes(), &s[..]);
        }
    }

    #[test]
    fn order_and_equality_match_byte_strings() {
        let samples = samples();
        for a in &samples {
            let ka = StoredKey::new(a);
            for b in &samples {
                let kb = StoredKey::new(b);
                assert_eq!(ka.cmp(&kb), a.cmp(b), "cmp {a:?} vs {b:?}");
                assert_eq!(ka.partial_cmp(&kb), Some(a.cmp(b)));
                assert_eq!(ka == kb, a == b, "eq {a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn fast_compare_agrees_with_byte_order_around_the_eight_byte_prefix() {
        // Lengths on both sides of 8 and bytes where a signed or little-endian comparison
        // would go wrong (0x7F/0x80, 0x00/0xFF), differing before, at and after byte 8.
        let alphabet = [0x00u8, 0x01, 0x7F, 0x80, 0xFE, 0xFF];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let key = |next: &mut dyn FnMut() -> u64| -> Vec<u8> {
            let len = (next() % 13) as usize;
            (0..len).map(|_| alphabet[(next() % 6) as usize]).collect()
        };
        for _ in 0..50_000 {
            let a = key(&mut next);
            let mut b = if next() % 2 == 0 { a.clone() } else { key(&mut next) };
            if !b.is_empty() && next() % 2 == 0 {
                let at = (next() as usize) % b.len();
                b[at] = alphabet[(next() % 6) as usize];
            }
            assert_eq!(compare(&a, &b), a.cmp(&b), "{a:?} vs {b:?}");
            if prefix(&a) != prefix(&b) {
                assert_eq!(prefix(&a).cmp(&prefix(&b)), a.cmp(&b), "prefix {a:?} vs {b:?}");
            }
            assert_eq!(StoredKey::new(&a).cmp(&StoredKey::new(&b)), a.cmp(&b));
        }
    }

    #[test]
    fn prefix_successor_bounds_exactly_the_extensions() {
        assert!(StoredKey::prefix_successor(b"").is_none());
        assert!(StoredKey::prefix_successor(&[0xFF; 3]).is_none());
        assert!(StoredKey::prefix_successor(&[0xFF; 40]).is_none());
        let cases: [(&[u8], &[u8]); 5] = [
            (b"ab", b"ac"),
            (b"a\xff", b"b"),
            (b"a\xff\xff", b"b"),
            (b"\x00", b"\x01"),
            (b"\xfe\xff", b"\xff"),
        ];
        for (prefix, successor) in cases {
            assert_eq!(
                StoredKey::prefix_successor(prefix).map(|k| k.as_bytes().to_vec()),
                Some(successor.to_vec())
            );
        }
        // Across the boundary: a 31-byte prefix whose successor is 31 bytes (heap), and one of
        // 32 bytes ending in 0xFF whose successor is 31 bytes.
        let mut long = vec![b'k'; 31];
        let mut expected = long.clone();
        expected[30] = b'l';
        assert_eq!(
            StoredKey::prefix_successor(&long).map(|k| k.as_bytes().to_vec()),
            Some(expected.clone())
        );
        long.push(0xFF);
        assert_eq!(
            StoredKey::prefix_successor(&long).map(|k| k.as_bytes().to_vec()),
            Some(expected)
        );
        // Every sample key: it is above exactly the keys that do not start with the prefix
        // and sort after it.
        let samples = samples();
        for prefix in samples.iter().map(|s| &s[..s.len().min(3)]) {
            let Some(successor) = StoredKey::prefix_successor(prefix) else {
                continue;
            };
            for s in &samples {
                let below = StoredKey::new(s) < successor;
                let expected = s.starts_with(prefix) || s[..] < *prefix;
                assert_eq!(below, expected, "{s:?} vs prefix {prefix:?}");
            }
        }
    }

    #[test]
    fn zero_padding_is_never_compared() {
        // An inline key's unused bytes are zeros: a shorter key of zeros must still sort
        // before a longer one, and never equal it.
        let short = StoredKey::new(&[0; 29]);
        let full = StoredKey::new(&[0; 30]);
        let long = StoredKey::new(&[0; 31]);
        assert!(short < full && full < long);
        assert_ne!(short, full);
        assert!(StoredKey::new(&[]) < StoredKey::new(&[0]));
    }

    #[test]
    fn borrow_agrees_with_own_order() {
        let samples = samples();
        for a in &samples {
            let ka = StoredKey::new(a);
            let borrowed: &[u8] = ka.borrow();
            assert_eq!(borrowed, &a[..]);
            for b in &samples {
                let kb = StoredKey::new(b);
                let other: &[u8] = kb.borrow();
                assert_eq!(borrowed.cmp(other), ka.cmp(&kb), "{a:?} vs {b:?}");
                assert_eq!(borrowed == other, ka == kb);
            }
        }
    }

    #[test]
    fn skiplist_finds_keys_by_slice_on_both_sides_of_the_boundary() {
        let map = SkipMap::new();
        let samples = samples();
        for (i, s) in samples.iter().enumerate() {
            map.insert(StoredKey::new(s), i);
        }
        let mut sorted = samples.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(map.len(), sorted.len());
        for s in &samples {
            let entry = map.get(&s[..]).expect("present");
            assert_eq!(entry.key().as_bytes(), &s[..]);
        }
        assert!(map.get(&[0x42; 31][..]).is_none());
        assert!(map.get(&[0x42; 30][..]).is_none());
        // In-order traversal equals the sorted byte strings.
        let walked: Vec<Vec<u8>> = map.iter().map(|e| e.key().as_bytes().to_vec()).collect();
        assert_eq!(walked, sorted);
        // Seeks by slice land where `[u8]` ordering says.
        for s in &sorted {
            let at = map.lower_bound(Bound::Included(&s[..])).expect("present");
            assert_eq!(at.key().as_bytes(), &s[..]);
            let after = map.lower_bound(Bound::Excluded(&s[..]));
            let expected = sorted.iter().find(|k| *k > s);
            assert_eq!(after.map(|e| e.key().as_bytes().to_vec()).as_ref(), expected);
        }
    }
}
