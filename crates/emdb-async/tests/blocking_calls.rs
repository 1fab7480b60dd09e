//! `run_blocking`: results come back, a panic or a missing runtime is an `Error` with
//! tokio's error as its source (never a panic of the caller), and as an `io::Error` it keeps
//! the `async join:` message with the cause reachable, not repeated.

use std::error::Error as _;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use emdb_async::{Error, run_blocking};
use tokio::task::JoinError;

#[tokio::test]
async fn the_result_of_the_call_comes_back() {
    let thread = run_blocking(|| std::thread::current().id()).await.unwrap();
    // It ran on a blocking-pool thread, not on this test's thread.
    assert_ne!(thread, std::thread::current().id());
    let failed: Result<(), &str> = run_blocking(|| Err("the call's own error")).await.unwrap();
    assert_eq!(failed, Err("the call's own error"));
}

#[tokio::test]
async fn a_panicking_call_is_a_join_error_carrying_the_panic() {
    let e = run_blocking(|| -> u8 { panic!("the call panics on purpose") })
        .await
        .unwrap_err();
    assert!(e.is_panic());
    assert!(matches!(e, Error::Join(_)));
    assert_eq!(e.to_string(), "async join: the blocking task did not finish");
    let source = e.source().expect("the join error is the source");
    let join = source.downcast_ref::<JoinError>().expect("a tokio JoinError");
    assert!(join.is_panic());

    // As an io::Error: kind Other, the same message, the JoinError reachable both ways.
    let io = std::io::Error::from(e);
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    assert_eq!(io.to_string(), "async join: the blocking task did not finish");
    assert!(io.source().and_then(|s| s.downcast_ref::<JoinError>()).is_some());
    let inner = io
        .get_ref()
        .and_then(|e| e.downcast_ref::<Error>())
        .expect("our error inside");
    assert!(inner.join_error().is_some_and(JoinError::is_panic));
    // The cause is not repeated in the message.
    assert!(!io.to_string().contains("on purpose"));
}

#[test]
fn outside_a_runtime_it_is_an_error_not_a_panic() {
    let mut fut = pin!(run_blocking(|| 1));
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Err(e @ Error::NoRuntime(_))) => {
            assert!(!e.is_panic());
            assert!(e.to_string().starts_with("async runtime:"), "{e}");
            assert!(e.source().is_some());
        }
        other => panic!("expected NoRuntime, got {other:?}"),
    }
    assert!(matches!(emdb_async::stream_iter(0..3), Err(Error::NoRuntime(_))));
}
