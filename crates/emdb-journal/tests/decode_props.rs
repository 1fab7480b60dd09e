//! The decoders' fuzz logic as property tests, so that stable CI exercises it on random
//! bytes whether or not a nightly toolchain can run the cargo-fuzz targets.

use emdb_journal::frame::{self, Decoded};
use emdb_journal::{Lsn, Tail, scan};
use proptest::prelude::*;

fn valid_log(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut bytes = Vec::new();
    let mut starts = Vec::new();
    for p in payloads {
        starts.push(bytes.len() as u64);
        frame::encode(p, &mut bytes);
    }
    (bytes, starts)
}

fn payloads() -> impl Strategy<Value = Vec<Vec<u8>>> {
    proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|mut p| {
            if let Some(b) = p.first_mut()
                && emdb_journal::RESERVED_TAGS.contains(b)
            {
                *b = 0;
            }
            p
        }),
        0..20,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn decode_never_panics_and_frames_reencode(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Decoded::Frame { payload, len } = frame::decode(&bytes) {
            prop_assert!(payload.end + frame::TRAILER_LEN == len && len <= bytes.len());
            let mut again = Vec::new();
            frame::encode(&bytes[payload], &mut again);
            prop_assert_eq!(&again[..], &bytes[..len]);
        }
    }

    #[test]
    fn scan_of_arbitrary_bytes_is_bounded_and_stable(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let s = scan(&bytes, Lsn::ZERO);
        prop_assert!(s.start <= s.end && s.end.get() <= bytes.len() as u64);
        if !matches!(s.tail, Tail::Corrupt { .. }) {
            prop_assert!(s.cut_end >= s.end.get());
        }
        let again = scan(&bytes[..s.end.get() as usize], Lsn::ZERO);
        prop_assert_eq!((again.end, again.frames, again.records, again.tail), (s.end, s.frames, s.records, Tail::Clean));
    }

    #[test]
    fn a_valid_log_scans_whole(ps in payloads()) {
        let (bytes, _) = valid_log(&ps);
        let s = scan(&bytes, Lsn::ZERO);
        prop_assert_eq!((s.end.get(), s.frames, s.tail), (bytes.len() as u64, ps.len() as u64, Tail::Clean));
    }

    #[test]
    fn one_damaged_byte_stops_the_scan_at_its_frame(ps in payloads(), at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let (mut bytes, starts) = valid_log(&ps);
        prop_assume!(!bytes.is_empty());
        let at = at.index(bytes.len());
        bytes[at] ^= xor;
        let damaged = starts.iter().rposition(|&s| s as usize <= at).map_or(0, |i| starts[i]);
        let s = scan(&bytes, Lsn::ZERO);
        prop_assert_eq!(s.end.get(), damaged, "frames before the damage are kept, none after");
        let is_last = starts.last() == Some(&damaged);
        match s.tail {
            Tail::Corrupt { offset, .. } => prop_assert_eq!(offset.get(), damaged),
            Tail::Torn { offset } => {
                prop_assert_eq!(offset.get(), damaged);
                prop_assert!(is_last, "damage before the last frame must not read as a torn tail");
            }
            other => prop_assert!(false, "unexpected tail {:?}", other),
        }
    }
}
