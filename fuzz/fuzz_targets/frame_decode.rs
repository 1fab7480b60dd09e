//! Arbitrary bytes through `frame::decode` and the recovery scan: neither may panic, and
//! what they report must be consistent with the bytes and with each other.
#![no_main]

use emdb_journal::frame::{self, Decoded};
use emdb_journal::{Lsn, Tail, scan};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    check_decode(bytes);
    check_scan(bytes);
});

fn check_decode(bytes: &[u8]) {
    match frame::decode(bytes) {
        Decoded::Frame { payload, len } => {
            assert_eq!(payload.start, frame::HEADER_LEN, "payload starts after the header");
            assert_eq!(
                payload.end + frame::TRAILER_LEN,
                len,
                "payload ends before the checksum"
            );
            assert!(len <= bytes.len(), "frame of {len} bytes in {} bytes", bytes.len());
            let mut encoded = Vec::new();
            frame::encode(&bytes[payload], &mut encoded);
            assert_eq!(encoded, &bytes[..len], "re-encoding the payload gives other bytes");
        }
        Decoded::Truncated | Decoded::BadMagic | Decoded::BadLength | Decoded::BadChecksum => {}
    }
}

fn check_scan(bytes: &[u8]) {
    let len = bytes.len() as u64;
    let s = scan(bytes, Lsn::ZERO);
    let end = s.end.get();
    assert_eq!(s.start, Lsn::ZERO);
    assert!(end <= len, "scan end {end} past {len} bytes");
    assert!(s.start <= s.end, "scan start {} after end {end}", s.start);
    assert!(s.cut_end <= len, "cut end {} past {len} bytes", s.cut_end);
    if !matches!(s.tail, Tail::Corrupt { .. }) {
        assert!(
            s.cut_end >= end,
            "cut end {} before end {end} ({:?})",
            s.cut_end,
            s.tail
        );
    }
    if let Some(last) = s.last_frame {
        assert!(last < s.end, "last frame {last} at or after end {end}");
    }
    assert_eq!(
        s.frames == 0,
        s.last_frame.is_none(),
        "frames counted without a last frame"
    );
    assert!(s.frames > 0 || s.records == 0, "records counted without a frame");

    // The accepted prefix scans again to the same place, cleanly.
    let prefix = &bytes[..usize::try_from(end).expect("end within bytes")];
    let again = scan(prefix, Lsn::ZERO);
    assert_eq!(again.end, s.end, "rescanning the accepted prefix moved the end");
    assert_eq!(
        again.frames, s.frames,
        "rescanning the accepted prefix changed the frame count"
    );
    assert_eq!(
        again.records, s.records,
        "rescanning the accepted prefix changed the record count"
    );
    assert_eq!(again.last_frame, s.last_frame);
    assert_eq!(again.tail, Tail::Clean, "the accepted prefix does not end cleanly");
    assert_eq!(again.cut_end, end);

    // A scan may start anywhere (clamped to the bytes) without panicking.
    if let Some(&first) = bytes.first() {
        let from = u64::from(first) % (len + 1);
        let partial = scan(bytes, Lsn::new(from));
        assert_eq!(partial.start.get(), from);
        assert!(partial.start <= partial.end && partial.end.get() <= len);
    }
    let past = scan(bytes, Lsn::new(u64::MAX));
    assert_eq!((past.start.get(), past.end.get(), past.frames), (len, len, 0));
}
