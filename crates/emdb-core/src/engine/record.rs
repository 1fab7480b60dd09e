//! Records: what a journal frame's payload holds. Every insert is written in our checked
//! encoding, every remove in our framed one; emdb 1.0's encoding is read too, and so are
//! the checked removes of earlier versions. Fixed-width integers are little-endian; `var`
//! is an unsigned LEB128 varint.
//!
//! ```text
//! tag 0x04 insert   [crc u32][ns var][klen var][vlen var][expires_at var][key][value]
//! tag 0x06 remove   [ns var][klen var][key]       (checked by its frame: never handed out)
//! tag 0x05 remove   [crc u32][ns var][klen var][key]      (earlier versions; read)
//! tag 0x02 bind     [ns u32][nlen u32][name]      (empty name: the namespace is unbound)
//! tag 0x03 clear    [ns u32]                      (ours: every key of ns written before it is gone)
//!
//! emdb 1.0:
//! tag 0x00 insert   [ns u32][klen u32][key][vlen u32][value][expires_at u64]   (0 = never)
//! tag 0x01 remove   [ns u32][klen u32][key]
//! ```
//!
//! The `crc` of a checked record is the CRC-32C of its tag byte followed by every byte
//! after the `crc` field: a record verifies itself wherever it sits, alone in a frame or
//! among thousands in a batch frame, so a read checks exactly the bytes it hands out
//! ([`verify`]). An insert of a 24-byte key and a 150-byte value in the default namespace,
//! without expiry, costs 10 bytes around them (emdb 1.0's encoding: 21, unchecked).
//! Reads find emdb 1.0's records checked by their frame (see `codec.rs`).
//!
//! In the log, tags with bit 0x40 set are our sealed records and tags with bit 0x80 set
//! emdb 1.0's encrypted ones (see `crate::crypt`); the codec turns both into the plain
//! records above. Journal-reserved first bytes are 0xB8..=0xBF. Several records of one
//! batch share a journal batch frame.

/// Tag of emdb 1.0's insert record (read, never written).
pub(crate) const INSERT_V1: u8 = 0x00;
/// Tag of emdb 1.0's remove record (read, never written).
pub(crate) const REMOVE_V1: u8 = 0x01;
/// Tag of a checked insert record.
pub(crate) const INSERT: u8 = 0x04;
/// Tag of a checked remove record (written before removes went framed; read).
pub(crate) const REMOVE: u8 = 0x05;
/// Tag of a remove record without a checksum of its own: a remove is read only where the
/// journal has verified its frame (replay, compaction's catch-up), never handed out, so its
/// frame's CRC is its check.
pub(crate) const REMOVE_FRAMED: u8 = 0x06;
/// Tag of a namespace bind record.
pub(crate) const BIND: u8 = 0x02;
/// Tag of a namespace clear record.
pub(crate) const CLEAR: u8 = 0x03;

/// Where a checked record's fields start: after the tag and the CRC.
const CHECKED_FIELDS: usize = 5;

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

    #[inline]
    fn var(&mut self) -> Option<u64> {
        // One byte, the common case (lengths under 128, the default namespace, no expiry).
        if let Some((&b, rest)) = self.rest.split_first()
            && b < 0x80
        {
            self.rest = rest;
            return Some(u64::from(b));
        }
        self.var_long()
    }

    fn var_long(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for (i, &b) in self.rest.iter().enumerate().take(10) {
            value |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                self.rest = &self.rest[i + 1..];
                return Some(value);
            }
        }
        None
    }

    #[inline]
    fn var_u32(&mut self) -> Option<u32> {
        u32::try_from(self.var()?).ok()
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
    let truncated = "record is shorter than its fields";
    let record = match tag {
        INSERT | REMOVE => {
            verify(bytes)?;
            let mut r = Reader {
                rest: &bytes[CHECKED_FIELDS..],
            };
            let ns = r.var_u32().ok_or(truncated)?;
            let klen = r.var_u32().ok_or(truncated)?;
            if tag == REMOVE {
                let key = r.bytes(klen).ok_or(truncated)?;
                return finish(r, Record::Remove { ns, key });
            }
            let vlen = r.var_u32().ok_or(truncated)?;
            let expires_at = r.var().ok_or(truncated)?;
            let key = r.bytes(klen).ok_or(truncated)?;
            let value = r.bytes(vlen).ok_or(truncated)?;
            return finish(
                r,
                Record::Insert {
                    ns,
                    key,
                    value,
                    expires_at,
                },
            );
        }
        _ => decode_fixed(tag, Reader { rest }),
    }?;
    Ok(record)
}

/// Decodes the records of fixed-width fields: emdb 1.0's insert and remove, bind, clear.
fn decode_fixed(tag: u8, mut r: Reader<'_>) -> Result<Record<'_>, &'static str> {
    let truncated = "record is shorter than its fields";
    let record = match tag {
        INSERT_V1 => {
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
        REMOVE_V1 => {
            let ns = r.u32().ok_or(truncated)?;
            let klen = r.u32().ok_or(truncated)?;
            let key = r.bytes(klen).ok_or(truncated)?;
            Record::Remove { ns, key }
        }
        REMOVE_FRAMED => {
            let ns = r.var_u32().ok_or(truncated)?;
            let klen = r.var_u32().ok_or(truncated)?;
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
    finish(r, record)
}

/// `record`, if nothing follows its last field.
fn finish<'a>(r: Reader<'_>, record: Record<'a>) -> Result<Record<'a>, &'static str> {
    if r.rest.is_empty() {
        Ok(record)
    } else {
        Err("record has bytes after its last field")
    }
}

/// The CRC-32C a checked record carries: over its tag byte and its fields.
fn checksum(tag: u8, fields: &[u8]) -> u32 {
    crc32c::crc32c_append(crc_of_byte(tag), fields)
}

/// The CRC-32C of the one byte `b` (what `crc32c::crc32c(&[b])` returns), computed
/// bit by bit without a call: every read checks a record, and a call into the CRC
/// library for one byte cost as much as a quarter of the record's own CRC.
const fn crc_of_byte(b: u8) -> u32 {
    // CRC-32C, reflected: polynomial 0x82F63B78, initial value and final xor all ones.
    let mut crc = !0u32 ^ b as u32;
    let mut bit = 0;
    while bit < 8 {
        crc = if crc & 1 == 1 {
            (crc >> 1) ^ 0x82F6_3B78
        } else {
            crc >> 1
        };
        bit += 1;
    }
    !crc
}

/// Checks a checked record against its CRC. Records of other kinds pass: emdb 1.0's
/// insert and remove are checked by their frame (see `codec.rs`), bind and clear are read
/// only at replay, inside a frame the journal verified.
pub(crate) fn verify(bytes: &[u8]) -> Result<(), &'static str> {
    match bytes.first() {
        Some(&tag @ (INSERT | REMOVE)) => {
            let stored = bytes
                .get(1..CHECKED_FIELDS)
                .ok_or("record is shorter than its fields")?;
            let stored = u32::from_le_bytes([stored[0], stored[1], stored[2], stored[3]]);
            if checksum(tag, &bytes[CHECKED_FIELDS..]) == stored {
                Ok(())
            } else {
                Err("record checksum mismatch")
            }
        }
        _ => Ok(()),
    }
}

/// Whether the record is an insert or remove that carries no checksum of its own (emdb
/// 1.0's, and our framed remove): valid only as the whole payload of a frame whose CRC
/// holds, which a reader checks before it trusts one at an indexed location (a damaged
/// insert whose tag byte now reads as one of these is damage, not another key's record).
pub(crate) fn is_unchecked_key_record(bytes: &[u8]) -> bool {
    matches!(bytes.first(), Some(&(INSERT_V1 | REMOVE_V1 | REMOVE_FRAMED)))
}

/// The record in the encoding written today: emdb 1.0's insert and remove re-encoded
/// checked (compaction, so that a rewritten log verifies itself record by record), any
/// other record as it is.
pub(crate) fn current_form(bytes: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, &'static str> {
    if !matches!(bytes.first(), Some(&(INSERT_V1 | REMOVE_V1))) {
        return Ok(std::borrow::Cow::Borrowed(bytes));
    }
    let mut out = Vec::with_capacity(bytes.len());
    decode(bytes)?.encode(&mut out);
    Ok(std::borrow::Cow::Owned(out))
}

/// The fields of an insert or remove record up to its key: namespace, key, and where the
/// value's length sits (checked: the value length and where the value starts).
pub(crate) struct KeyFields<'a> {
    pub(crate) ns: u32,
    pub(crate) key: &'a [u8],
    /// The value's start and length, for an insert.
    pub(crate) value: Option<(usize, usize)>,
}

/// The fields of an insert or remove record up to its key, decoded once (a point read
/// needs the key to compare and the value's span to hand out); `None` for any other
/// record or a malformed one.
pub(crate) fn key_fields(bytes: &[u8]) -> Option<KeyFields<'_>> {
    let (&tag, rest) = bytes.split_first()?;
    match tag {
        INSERT | REMOVE => {
            let mut r = Reader {
                rest: bytes.get(CHECKED_FIELDS..)?,
            };
            let ns = r.var_u32()?;
            let klen = r.var_u32()?;
            let vlen = if tag == INSERT {
                let vlen = r.var_u32()?;
                r.var()?;
                Some(vlen as usize)
            } else {
                None
            };
            let key_at = bytes.len() - r.rest.len();
            let key = r.bytes(klen)?;
            let value = match vlen {
                Some(vlen) => {
                    let start = key_at + key.len();
                    (start + vlen == bytes.len()).then_some((start, vlen))?;
                    Some((start, vlen))
                }
                None => None,
            };
            Some(KeyFields { ns, key, value })
        }
        REMOVE_FRAMED => {
            let mut r = Reader { rest };
            let ns = r.var_u32()?;
            let klen = r.var_u32()?;
            let key = r.bytes(klen)?;
            Some(KeyFields { ns, key, value: None })
        }
        INSERT_V1 | REMOVE_V1 => {
            let mut r = Reader { rest };
            let ns = r.u32()?;
            let klen = r.u32()?;
            let key = r.bytes(klen)?;
            let value = if tag == INSERT_V1 {
                let vlen = r.u32()? as usize;
                let start = 1 + 4 + 4 + key.len() + 4;
                (start + vlen + 8 <= bytes.len()).then_some((start, vlen))
            } else {
                None
            };
            Some(KeyFields { ns, key, value })
        }
        _ => None,
    }
}

/// The namespace and key of an insert or remove record, read without decoding the rest:
/// the hash index's key check on every lookup.
pub(crate) fn key_of(bytes: &[u8]) -> Option<(u32, &[u8])> {
    key_fields(bytes).map(|f| (f.ns, f.key))
}

/// Where the value of an insert record starts (from the record's start) and how long it
/// is; `None` for any other record or a malformed one.
#[cfg(test)]
pub(crate) fn value_span(bytes: &[u8]) -> Option<(usize, usize)> {
    key_fields(bytes)?.value
}

fn put_var(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends a checked record of `tag`: the CRC placeholder, `fields`, then the CRC.
fn checked(out: &mut Vec<u8>, tag: u8, fields: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.push(tag);
    out.extend_from_slice(&[0; 4]);
    fields(out);
    let crc = checksum(tag, &out[at + CHECKED_FIELDS..]);
    out[at + 1..at + CHECKED_FIELDS].copy_from_slice(&crc.to_le_bytes());
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // Callers check lengths against the frame limit (< 2^28) first.
    out.extend_from_slice(&(n as u32).to_le_bytes());
}

/// Appends an insert record.
pub(crate) fn insert(out: &mut Vec<u8>, ns: u32, key: &[u8], value: &[u8], expires_at: u64) {
    out.reserve(CHECKED_FIELDS + 4 * 5 + 10 + key.len() + value.len());
    checked(out, INSERT, |out| {
        put_var(out, u64::from(ns));
        put_var(out, key.len() as u64);
        put_var(out, value.len() as u64);
        put_var(out, expires_at);
        out.extend_from_slice(key);
        out.extend_from_slice(value);
    });
}

/// Appends a remove record (checked by its frame: see [`REMOVE_FRAMED`]).
pub(crate) fn remove(out: &mut Vec<u8>, ns: u32, key: &[u8]) {
    out.push(REMOVE_FRAMED);
    put_var(out, u64::from(ns));
    put_var(out, key.len() as u64);
    out.extend_from_slice(key);
}

/// Appends a checked remove record, as versions before [`REMOVE_FRAMED`] wrote them
/// (tests of reading them).
#[cfg(test)]
pub(crate) fn remove_checked(out: &mut Vec<u8>, ns: u32, key: &[u8]) {
    checked(out, REMOVE, |out| {
        put_var(out, u64::from(ns));
        put_var(out, key.len() as u64);
        out.extend_from_slice(key);
    });
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
    fn the_tag_crc_is_the_librarys_for_every_byte() {
        for b in 0..=u8::MAX {
            assert_eq!(crc_of_byte(b), crc32c::crc32c(&[b]), "byte {b:#04x}");
        }
    }

    #[test]
    fn varints_read_back_at_every_width_and_overlong_ones_are_refused() {
        for n in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX >> 1,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            put_var(&mut out, n);
            out.push(0xAA);
            let mut r = Reader { rest: &out };
            assert_eq!(r.var(), Some(n), "{n}");
            assert_eq!(r.rest, [0xAA], "{n}: the reader stops after the varint");
        }
        // Eleven continuation bytes never end a varint; an empty input has none.
        let mut r = Reader { rest: &[0x80; 11] };
        assert_eq!(r.var(), None);
        assert_eq!(Reader { rest: &[] }.var(), None);
        // A value past u32 is no u32.
        let mut out = Vec::new();
        put_var(&mut out, 1 << 32);
        assert_eq!(Reader { rest: &out }.var_u32(), None);
    }

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
        // The removes of earlier versions, checked, still read.
        for (ns, key) in [(1, &b""[..]), (300, b"a removed key")] {
            let (mut framed, mut old) = (Vec::new(), Vec::new());
            remove(&mut framed, ns, key);
            remove_checked(&mut old, ns, key);
            assert_eq!((framed[0], old[0]), (REMOVE_FRAMED, REMOVE));
            assert_eq!(decode(&framed), Ok(Record::Remove { ns, key }));
            assert_eq!(decode(&old), decode(&framed));
            assert_eq!((key_of(&framed), key_of(&old)), (Some((ns, key)), Some((ns, key))));
            assert_eq!(old.len(), framed.len() + 4, "the frame's CRC stands for the record's");
        }
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
    fn emdb_1_records_are_read() {
        let v1_insert = [
            0, 7, 0, 0, 0, 1, 0, 0, 0, b'k', 1, 0, 0, 0, b'v', 9, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            decode(&v1_insert),
            Ok(Record::Insert {
                ns: 7,
                key: b"k",
                value: b"v",
                expires_at: 9
            })
        );
        assert_eq!(key_of(&v1_insert), Some((7, &b"k"[..])));
        assert_eq!(value_span(&v1_insert), Some((14, 1)));
        assert!(is_unchecked_key_record(&v1_insert));
        let v1_remove = [1, 0, 0, 0, 0, 2, 0, 0, 0, b'k', b'2'];
        assert_eq!(decode(&v1_remove), Ok(Record::Remove { ns: 0, key: b"k2" }));
        assert_eq!(key_of(&v1_remove), Some((0, &b"k2"[..])));
    }

    #[test]
    fn the_checked_insert_layout_is_kept() {
        let mut b = Vec::new();
        insert(&mut b, 0, b"k", b"v", 0);
        let crc = checksum(INSERT, &b[5..]).to_le_bytes();
        assert_eq!(b, [INSERT, crc[0], crc[1], crc[2], crc[3], 0, 1, 1, 0, b'k', b'v']);
        // The redb-style record: 10 bytes around a 24-byte key and a 150-byte value.
        let mut r = Vec::new();
        insert(&mut r, 0, &[1; 24], &[2; 150], 0);
        assert_eq!(r.len(), 24 + 150 + 10);
        assert!(!is_unchecked_key_record(&r));
    }

    #[test]
    fn every_flipped_bit_of_a_checked_record_fails_its_check() {
        let mut ins = Vec::new();
        insert(&mut ins, 300, b"some key", b"some value", 1_700_000_000_000);
        let mut rem = Vec::new();
        remove_checked(&mut rem, 2, b"gone");
        for rec in [ins, rem] {
            assert_eq!(verify(&rec), Ok(()));
            for bit in 0..rec.len() * 8 {
                let mut bad = rec.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                // A flipped tag may turn it into another kind; it must never decode as
                // the original record with other contents.
                if let Ok(decoded) = decode(&bad) {
                    panic!("bit {bit} flipped and still decoded as {decoded:?}");
                }
                if bad[0] == rec[0] {
                    assert!(verify(&bad).is_err(), "bit {bit}");
                }
            }
        }
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
        let mut huge = vec![INSERT_V1, 0, 0, 0, 0];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode(&huge).is_err());
        // A checked record whose lengths lie, under a valid checksum.
        let mut lying = Vec::new();
        checked(&mut lying, INSERT, |out| {
            put_var(out, 0);
            put_var(out, u64::from(u32::MAX));
            put_var(out, 1);
            put_var(out, 0);
        });
        assert!(decode(&lying).is_err());
        assert_eq!(key_of(&lying), None);
        assert_eq!(value_span(&lying), None);
        // An endless varint.
        let mut endless = Vec::new();
        checked(&mut endless, REMOVE, |out| out.extend_from_slice(&[0xFF; 12]));
        assert!(decode(&endless).is_err());
    }
}
