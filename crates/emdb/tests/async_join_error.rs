//! A failed join of an async call keeps emdb 1.0's shape (`Error::Io` of kind `Other`,
//! message starting `async join:`) and carries its cause: tokio's `JoinError` is reachable
//! through `source()` (and the `io::Error`'s `get_ref()`), and the message does not repeat
//! it. A panicking transaction closure is such a failure. A call outside a runtime is the
//! same shape with `async runtime:`.
#![cfg(feature = "async")]

use std::error::Error as _;

use emdb::{AsyncEmdb, Error};

/// The `io::Error` inside an `Error::Io`.
fn io_of(e: Error) -> std::io::Error {
    match e {
        Error::Io(io) => io,
        other => panic!("expected Error::Io, got {other:?}"),
    }
}

#[tokio::test]
async fn a_panicking_transaction_is_an_async_join_error_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let db = AsyncEmdb::open(dir.path().join("j.emdb")).await.unwrap();
    let failed = db
        .transaction(|tx| -> emdb::Result<()> {
            tx.insert("never", "applied")?;
            panic!("the closure panics on purpose")
        })
        .await
        .unwrap_err();
    let shown = failed.to_string();
    assert!(shown.starts_with("emdb: "), "{shown}");
    assert!(!shown.contains("on purpose"), "the cause is repeated: {shown}");

    // emdb::Error -> io::Error -> tokio's JoinError, which knows it was a panic.
    let io_source = failed.source().expect("Io has a source");
    assert!(io_source.downcast_ref::<std::io::Error>().is_some());
    let io = io_of(failed);
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    assert!(io.to_string().starts_with("async join:"), "{io}");
    let join = io
        .source()
        .and_then(|s| s.downcast_ref::<tokio::task::JoinError>())
        .expect("the JoinError is the io::Error's source");
    assert!(join.is_panic());
    let via_get_ref = io.get_ref().and_then(|inner| inner.source());
    assert!(via_get_ref.is_some_and(|s| s.downcast_ref::<tokio::task::JoinError>().is_some()));

    // Nothing of the transaction was applied, and the handle still works.
    assert_eq!(db.get("never").await.unwrap(), None);
    db.insert("after", "1").await.unwrap();
}

#[test]
fn a_call_outside_a_runtime_carries_tokios_error() {
    let db = AsyncEmdb::open_in_memory();
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    // A future made here and polled by a runtime works; polled with none it fails.
    let fut = db.insert("k", "v");
    let waker = std::task::Waker::noop();
    let mut fut = std::pin::pin!(fut);
    let polled = fut.as_mut().poll(&mut std::task::Context::from_waker(waker));
    let std::task::Poll::Ready(Err(e)) = polled else {
        panic!("expected an immediate error outside a runtime");
    };
    let io = io_of(e);
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    assert!(io.to_string().starts_with("async runtime:"), "{io}");
    let cause = io.source().expect("tokio's error is the source");
    assert!(!io.to_string().contains(&cause.to_string()), "{io}");
    assert_eq!(rt.block_on(db.get("k")).unwrap(), None);
}
