//! Records: what a journal frame's payload holds, in emdb 1.0's encoding plus one kind of
//! ours. All integers little-endian.
//!
//! ```text
//! tag 0x00 insert   [ns u32][klen u32][key][vlen u32][value][expires_at u64]   (0 = never)
//! tag 0x01 remove   [ns u32][klen u32][key]
//! tag 0x02 bind     [ns u32][nlen u32][name]      (empty name: the namespace is unbound)
//! tag 0x03 clear    [ns u32]                      (ours: every key of ns written before it is gone)
//! ```
//!
//! In the log, tags with bit 0x40 set are our sealed records and tags with bit 0x80 set
//! emdb 1.0's encrypted ones (see `crate::crypt`); the codec turns both into the plain
//! records above. Journal-reserved first bytes are 0xB8..=0xBF. Several records of one batch share a journal batch frame.

/// Tag of an insert record.
pub(crate) const INSERT: u8 = 0x00;
/// Tag of a remove record.
pub(crate) const REMOVE: u8 = 0x01;
/// Tag of a namespace bind record.
pub(crate) const BIND: u8 = 0x02;
/// Tag of a namespace clear record.
pub(crate) const CLEAR: u8 = 0x03;

/// Bytes of an insert record around its key and value.
pub(crate) const INSERT_OVERHEAD: usize = 1 + 4 + 4 + 4 + 8;

/// A decoded record, borrowing its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record<'a> {
    Insert {
        ns: u32,
        key: &'a [u8],
        value: &'a [u8],
        expires_at: u64,
    },
    Remove {
        ns: u32,
        key: &'a [u8],
    },
    Bind {
        ns: u32,
        name: &'a [u8],
    },
    Clear {
        ns: u32,
    },
}

impl Record<'_> {
    /// The namespace the record belongs to.
    pub(crate) fn ns(&self) -> u32 {
        match *self {
            Record::Insert { ns, .. } | Record::Remove { ns, .. } | Record::Bind { ns, .. } | Record::Clear { ns } => {
                ns
            }
        }
    }

    /// Appends the record's encoding to `out`.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match *self {
            Record::Insert {
                ns,
                key,
                value,
                expires_at,
            } => insert(out, ns, key, value, expires_at),
            Record::Remove { ns, key } => remove(out, ns, key),
            Record::Bind { ns, name } => bind(out, ns, name),
            Record::Clear { ns } => clear(out, ns),
        }
    }
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Option<u32> {
        let (head, tail) = self.rest.split_at_checked(4)?;
        self.rest = tail;
        Some(u32::from_le_bytes([head[0], head[1], head[2], head[3]]))
    }

    fn u64(&mut self) -> Option<u64> {
        let (head, tail) = self.rest.split_at_checked(8)?;
        self.rest = tail;
        let mut b = [0u8; 8];
        b.copy_from_slice(head);
        Some(u64::from_le_bytes(b))
    }

    fn bytes(&mut self, n: u32) -> Option<&'a [u8]> {
        let (head, tail) = self.rest.split_at_checked(n as usize)?;
        self.rest = tail;
        Some(head)
    }
}

/// Decodes a record. Never panics; a malformed record is an error naming what is wrong.
pub(crate) fn decode(bytes: &[u8]) -> Result<Record<'_>, &'static str> {
    let (&tag, rest) = bytes.split_first().ok_or("empty record")?;
    let mut r = Reader { rest };
    let truncated = "record is shorter than its fields";
    let record = match tag {
        INSERT => {
            let ns = r.u32().ok_or(truncated)?;
            let klen = r.u32().ok_or(truncated)?;
            let key = r.bytes(klen).ok_or(truncated)?;
            let vlen = r.u32().ok_or(truncated)?;
            let value = r.bytes(vlen).ok_or(truncated)?;
            let expires_at = r.u64().ok_or(truncated)?;
            Record::Insert {
                ns,
                key,
                value,
                expires_at,
            }
        }
        REMOVE => {
            let ns = r.u32().ok_or(truncated)?;
            let klen = r.u32().ok_or(truncated)?;
            let key = r.bytes(klen).ok_or(truncated)?;
            Record::Remove { ns, key }
        }
        BIND => {
            let ns = r.u32().ok_or(truncated)?;
            let nlen = r.u32().ok_or(truncated)?;
            let name = r.bytes(nlen).ok_or(truncated)?;
            Record::Bind { ns, name }
        }
        CLEAR => Record::Clear {
            ns: r.u32().ok_or(truncated)?,
        },
        t if t & 0xC0 != 0 => return Err("encrypted record in a database opened without encryption"),
        _ => return Err("unknown record tag"),
    };
    if !r.rest.is_empty() {
        return Err("record has bytes after its last field");
    }
    Ok(record)
}

/// The namespace and key of an insert or remove record, read without decoding the rest:
/// the hash index's key check on every lookup.
pub(crate) fn key_of(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    if tag != INSERT && tag != REMOVE {
        return None;
    }
    let mut r = Reader { rest };
    let ns = r.u32()?;
    let klen = r.u32()?;
    Some((ns, r.bytes(klen)?))
}

/// Where the value of an insert record starts (from the record's start) and how long it
/// is; `None` for any other record or a malformed one.
pub(crate) fn value_span(bytes: &[u8]) -> Option<(usize, usize)> {
    if bytes.first() != Some(&INSERT) {
        return None;
    }
    let (_, key) = key_of(bytes)?;
    let len_at = 1 + 4 + 4 + key.len();
    let len = bytes.get(len_at..len_at + 4)?;
    let vlen = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let start = len_at + 4;
    (start + vlen + 8 <= bytes.len()).then_some((start, vlen))
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Callers check lengths against the frame limit (< 2^28) first.
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

/// Appends an insert record.
pub(crate) fn insert(out: &mut Vec<u8>, ns: u32, key: &[u8], value: &[u8], expires_at: u64) {
    out.reserve(INSERT_OVERHEAD + key.len() + value.len());
    out.push(INSERT);
    out.extend_from_slice(&ns.to_le_bytes());
    put_u32(out, key.len());
    out.extend_from_slice(key);
    put_u32(out, value.len());
    out.extend_from_slice(value);
    out.extend_from_slice(&expires_at.to_le_bytes());
}

/// Appends a remove record.
pub(crate) fn remove(out: &mut Vec<u8>, ns: u32, key: &[u8]) {
    out.push(REMOVE);
    out.extend_from_slice(&ns.to_le_bytes());
    put_u32(out, key.len());
    out.extend_from_slice(key);
}

/// Appends a namespace bind record (an empty name unbinds).
pub(crate) fn bind(out: &mut Vec<u8>, ns: u32, name: &[u8]) {
    out.push(BIND);
    out.extend_from_slice(&ns.to_le_bytes());
    put_u32(out, name.len());
    out.extend_from_slice(name);
}

/// Appends a namespace clear record.
pub(crate) fn clear(out: &mut Vec<u8>, ns: u32) {
    out.push(CLEAR);
    out.extend_from_slice(&ns.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let mut b = Vec::new();
        insert(&mut b, 7, b"key", b"value", 99);
        assert_eq!(
            decode(&b),
            Ok(Record::Insert {
                ns: 7,
                key: b"key",
                value: b"value",
                expires_at: 99
            })
        );
        assert_eq!(key_of(&b), Some((7, &b"key"[..])));
        let (at, len) = value_span(&b).expect("insert");
        assert_eq!(&b[at..at + len], b"value");
        let mut r = Vec::new();
        remove(&mut r, 1, b"");
        assert_eq!(decode(&r), Ok(Record::Remove { ns: 1, key: b"" }));
        let mut n = Vec::new();
        bind(&mut n, 3, b"users");
        assert_eq!(decode(&n), Ok(Record::Bind { ns: 3, name: b"users" }));
        assert_eq!(key_of(&n), None);
        let mut c = Vec::new();
        clear(&mut c, 3);
        assert_eq!(decode(&c), Ok(Record::Clear { ns: 3 }));
    }

    #[test]
    fn encode_is_the_inverse_of_decode() {
        let records = [
            Record::Insert {
                ns: 2,
                key: b"k",
                value: b"v",
                expires_at: 5,
            },
            Record::Remove { ns: 4, key: b"gone" },
            Record::Bind { ns: 9, name: b"users" },
            Record::Clear { ns: 9 },
        ];
        for rec in records {
            let mut out = Vec::new();
            rec.encode(&mut out);
            assert_eq!(decode(&out), Ok(rec));
            assert_eq!(decode(&out).map(|r| r.ns()), Ok(rec.ns()));
        }
    }

    #[test]
    fn emdb_1_insert_layout_is_kept() {
        let mut b = Vec::new();
        insert(&mut b, 0, b"k", b"v", 0);
        assert_eq!(
            b,
            [
                0, 0, 0, 0, 0, 1, 0, 0, 0, b'k', 1, 0, 0, 0, b'v', 0, 0, 0, 0, 0, 0, 0, 0
            ]
        );
    }

    #[test]
    fn malformed_records_are_errors_not_panics() {
        let mut b = Vec::new();
        insert(&mut b, 0, b"key", b"value", 1);
        for cut in 0..b.len() {
            assert!(decode(&b[..cut]).is_err(), "cut {cut}");
            let _ = value_span(&b[..cut]);
            let _ = key_of(&b[..cut]);
        }
        let mut long = b.clone();
        long.push(0);
        assert!(decode(&long).is_err());
        assert!(decode(&[0x09]).is_err());
        assert!(decode(&[0x80, 1, 2]).is_err());
        let mut huge = vec![INSERT, 0, 0, 0, 0];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
    }
}
