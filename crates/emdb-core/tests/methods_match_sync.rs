//! Every async method of `AsyncEmdb` and `AsyncNamespace` (docs/COMPATIBILITY.md §9–10) returns what its
//! sync twin returns, on both runtime flavours: the same operations go to an async
//! database and to a sync twin, and every result and the final contents must agree.
//! Errors come through unchanged; a panicking call and a call outside a runtime become
//! `Io` errors of kind `Other`.
#![cfg(feature = "async")]

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
#[cfg(feature = "ttl")]
use std::time::Duration;

use common::aio::open_ranged;
use common::temp_path;
#[cfg(feature = "ttl")]
use emdb_core::Ttl;
use emdb_core::{AsyncEmdb, AsyncNamespace};
use emdb_core::{Emdb, Error};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

async fn drain<T>(stream: ReceiverStream<T>) -> Vec<T> {
    stream.collect().await
}

/// An async database and a sync twin, both with range scans.
async fn twins() -> (tempfile::TempDir, AsyncEmdb, Emdb) {
    let (dir, path) = temp_path("async.emdb");
    let a = open_ranged(&path).await;
    let s = common::open_ranged(&dir.path().join("sync.emdb"));
    (dir, a, s)
}

fn is_invalid_config<T: std::fmt::Debug>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::InvalidConfig(_)))
}

/// Runs the same key-value scenario on `$a` (async) and `$s` (sync twin): the shared
/// method set of `AsyncEmdb`/`AsyncNamespace` against that of `Emdb`/`Namespace`.
macro_rules! kv_scenario {
    ($a:expr, $s:expr) => {{
        let (a, s) = ($a, $s);
        // Writes, with the argument types callers use.
        a.insert("a", "1").await.unwrap();
        s.insert("a", "1").unwrap();
        a.insert(b"b".to_vec(), String::from("2")).await.unwrap();
        s.insert(b"b".to_vec(), String::from("2")).unwrap();
        a.insert(&b""[..], &b""[..]).await.unwrap();
        s.insert(&b""[..], &b""[..]).unwrap();
        let batch: Vec<(String, String)> = (0..50).map(|i| (format!("k{i:02}"), format!("v{i}"))).collect();
        a.insert_many(batch.clone()).await.unwrap();
        s.insert_many(batch).unwrap();
        a.insert_many(Vec::<(Vec<u8>, Vec<u8>)>::new()).await.unwrap();
        s.insert_many(Vec::<(Vec<u8>, Vec<u8>)>::new()).unwrap();

        // Point reads, present and absent, the empty key included.
        for k in ["a", "b", "", "k07", "k49", "zz", "k5"] {
            assert_eq!(a.get(k).await.unwrap(), s.get(k).unwrap(), "get {k:?}");
            assert_eq!(
                a.contains_key(k).await.unwrap(),
                s.contains_key(k).unwrap(),
                "contains {k:?}"
            );
            assert_eq!(
                a.get_zerocopy(k).await.unwrap().map(|v| v.into_vec()),
                s.get_zerocopy(k).unwrap().map(|v| v.into_vec()),
                "get_zerocopy {k:?}"
            );
        }
        assert_eq!(a.remove("k10").await.unwrap(), s.remove("k10").unwrap());
        assert_eq!(a.remove("k10").await.unwrap(), s.remove("k10").unwrap());
        assert_eq!(a.remove("absent").await.unwrap(), s.remove("absent").unwrap());
        assert_eq!(a.len().await.unwrap(), s.len().unwrap());
        assert_eq!(a.is_empty().await.unwrap(), s.is_empty().unwrap());

        // Eager iteration.
        assert_eq!(
            sorted(a.iter().await.unwrap()),
            sorted(s.iter().unwrap().collect::<Pairs>())
        );
        assert_eq!(
            sorted(a.keys().await.unwrap()),
            sorted(s.keys().unwrap().collect::<Vec<_>>())
        );
        let (lo, hi) = (b"k05".to_vec(), b"k20".to_vec());
        assert_eq!(
            a.range(lo.clone()..hi.clone()).await.unwrap(),
            s.range(lo.clone()..hi.clone()).unwrap()
        );
        assert_eq!(
            a.range(lo.clone()..=hi.clone()).await.unwrap(),
            s.range(lo.clone()..=hi.clone()).unwrap()
        );
        assert_eq!(a.range(..).await.unwrap(), s.range(..).unwrap());
        assert_eq!(a.range_prefix("k1").await.unwrap(), s.range_prefix("k1").unwrap());
        assert_eq!(
            a.iter_from("k45").await.unwrap(),
            s.iter_from("k45").unwrap().collect::<Pairs>()
        );
        assert_eq!(
            a.iter_after("k45").await.unwrap(),
            s.iter_after("k45").unwrap().collect::<Pairs>()
        );

        // Streams yield what the sync iterators yield (ranges in the same order).
        assert_eq!(
            sorted(drain(a.iter_stream().await.unwrap()).await),
            sorted(s.iter().unwrap().collect::<Pairs>())
        );
        assert_eq!(
            sorted(drain(a.keys_stream().await.unwrap()).await),
            sorted(s.keys().unwrap().collect::<Vec<_>>())
        );
        assert_eq!(
            drain(a.range_stream(lo.clone()..hi.clone()).await.unwrap()).await,
            s.range(lo.clone()..hi.clone()).unwrap()
        );
        assert_eq!(
            drain(a.range_prefix_stream("k2").await.unwrap()).await,
            s.range_prefix("k2").unwrap()
        );
        assert_eq!(
            drain(a.iter_from_stream("k3").await.unwrap()).await,
            s.iter_from("k3").unwrap().collect::<Pairs>()
        );
        assert_eq!(
            drain(a.iter_after_stream("k3").await.unwrap()).await,
            s.iter_after("k3").unwrap().collect::<Pairs>()
        );

        // TTL.
        #[cfg(feature = "ttl")]
        {
            let hour = Ttl::After(Duration::from_secs(3600));
            a.insert_with_ttl("t", "x", hour).await.unwrap();
            s.insert_with_ttl("t", "x", hour).unwrap();
            a.insert_with_ttl("gone", "x", Ttl::After(Duration::ZERO))
                .await
                .unwrap();
            s.insert_with_ttl("gone", "x", Ttl::After(Duration::ZERO)).unwrap();
            a.insert_with_ttl("never", "x", Ttl::Never).await.unwrap();
            s.insert_with_ttl("never", "x", Ttl::Never).unwrap();
            for k in ["t", "gone", "never", "absent"] {
                assert_eq!(a.get(k).await.unwrap(), s.get(k).unwrap(), "get {k:?}");
                // Expiry instants differ between the twins by the time between the writes.
                let (ea, es) = (a.expires_at(k).await.unwrap(), s.expires_at(k).unwrap());
                assert_eq!(ea.map(|t| t == 0), es.map(|t| t == 0), "expires_at {k:?}");
                if let (Some(ea), Some(es)) = (ea, es) {
                    assert!(ea.abs_diff(es) < 60_000, "expires_at {k:?}: {ea} vs {es}");
                }
                let (ta, ts) = (a.ttl(k).await.unwrap(), s.ttl(k).unwrap());
                assert_eq!(ta.is_some(), ts.is_some(), "ttl {k:?}");
                if let (Some(ta), Some(ts)) = (ta, ts) {
                    assert!(ta.abs_diff(ts) < Duration::from_secs(60), "ttl {k:?}");
                }
            }
            assert_eq!(a.persist("t").await.unwrap(), s.persist("t").unwrap());
            assert_eq!(a.persist("gone").await.unwrap(), s.persist("gone").unwrap());
            assert_eq!(a.persist("absent").await.unwrap(), s.persist("absent").unwrap());
            assert_eq!(a.expires_at("t").await.unwrap(), s.expires_at("t").unwrap());
            assert_eq!(a.ttl("t").await.unwrap(), s.ttl("t").unwrap());
            assert_eq!(a.sweep_expired().await.unwrap(), s.sweep_expired());
            assert_eq!(a.sweep_expired().await.unwrap(), s.sweep_expired());
        }

        // Same contents, then clear.
        assert_eq!(
            sorted(a.iter().await.unwrap()),
            sorted(s.iter().unwrap().collect::<Pairs>())
        );
        a.clear().await.unwrap();
        s.clear().unwrap();
        assert_eq!(a.len().await.unwrap(), 0);
        assert_eq!(a.is_empty().await.unwrap(), s.is_empty().unwrap());
        assert_eq!(a.iter().await.unwrap(), Pairs::new());
    }};
}

async fn default_namespace_scenario() {
    let (_dir, a, s) = twins().await;
    kv_scenario!(&a, &s);
}

async fn named_namespace_scenario() {
    let (_dir, a, s) = twins().await;
    let (an, sn): (AsyncNamespace, _) = (a.namespace("users").await.unwrap(), s.namespace("users").unwrap());
    assert_eq!(an.name(), sn.name());
    assert_eq!(an.sync_handle().name(), "users");
    kv_scenario!(&an, &sn);
    // A write through the namespace stays in it.
    an.insert("only-here", "1").await.unwrap();
    assert_eq!(a.get("only-here").await.unwrap(), None);
    assert_eq!(an.sync_handle().get("only-here").unwrap(), Some(b"1".to_vec()));
}

async fn admin_scenario() {
    let (dir, a, s) = twins().await;
    for db_name in ["one", "two", "three"] {
        a.namespace(db_name).await.unwrap();
        s.namespace(db_name).unwrap();
    }
    assert_eq!(a.list_namespaces().await.unwrap(), s.list_namespaces().unwrap());
    assert_eq!(a.drop_namespace("two").await.unwrap(), s.drop_namespace("two").unwrap());
    assert_eq!(a.drop_namespace("two").await.unwrap(), s.drop_namespace("two").unwrap());
    assert_eq!(
        a.drop_namespace("nope").await.unwrap(),
        s.drop_namespace("nope").unwrap()
    );
    assert_eq!(a.list_namespaces().await.unwrap(), s.list_namespaces().unwrap());
    assert!(is_invalid_config(&a.namespace("").await));
    assert!(is_invalid_config(&s.namespace("")));

    // Transactions: the closure's value, its writes, and rollback on `Err`.
    a.insert("a", "1").await.unwrap();
    s.insert("a", "1").unwrap();
    let body = |tx: &mut emdb_core::Transaction<'_>| {
        tx.insert("x", "1")?;
        tx.insert("y", "2")?;
        let seen = tx.get("x")?;
        let removed = tx.remove("a")?;
        Ok((seen, removed, tx.contains_key("y")?))
    };
    assert_eq!(a.transaction(body).await.unwrap(), s.transaction(body).unwrap());
    let failing = |tx: &mut emdb_core::Transaction<'_>| -> Result<(), Error> {
        tx.insert("z", "1")?;
        Err(Error::InvalidConfig("rolled back on purpose"))
    };
    assert!(is_invalid_config(&a.transaction(failing).await));
    assert!(is_invalid_config(&s.transaction(failing)));
    assert_eq!(a.get("z").await.unwrap(), None);
    assert_eq!(
        sorted(a.iter().await.unwrap()),
        sorted(s.iter().unwrap().collect::<Pairs>())
    );

    // File-wide operations.
    let live = a.sync_handle().stats().unwrap();
    assert_eq!(a.stats().await.unwrap(), live);
    a.flush().await.unwrap();
    s.flush().unwrap();
    a.checkpoint().await.unwrap();
    s.checkpoint().unwrap();
    let before = sorted(a.iter().await.unwrap());
    a.compact().await.unwrap();
    s.compact().unwrap();
    assert_eq!(sorted(a.iter().await.unwrap()), before);
    let backup = dir.path().join("backup.emdb");
    a.backup_to(&backup).await.unwrap();
    let copy = Emdb::open(&backup).unwrap();
    assert_eq!(sorted(copy.iter().unwrap().collect::<Pairs>()), before);
    assert!(is_invalid_config(&a.backup_to(a.path()).await));
    assert!(is_invalid_config(&s.backup_to(s.path())));
}

#[tokio::test]
async fn default_namespace_current_thread() {
    default_namespace_scenario().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_namespace_multi_thread() {
    default_namespace_scenario().await;
}

#[tokio::test]
async fn named_namespace_current_thread() {
    named_namespace_scenario().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_namespace_multi_thread() {
    named_namespace_scenario().await;
}

#[tokio::test]
async fn admin_and_transactions_current_thread() {
    admin_scenario().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_transactions_multi_thread() {
    admin_scenario().await;
}

#[tokio::test]
async fn constructors_and_handles() {
    let (dir, path) = temp_path("ctor.emdb");
    let a = AsyncEmdb::open(&path).await.unwrap();
    assert_eq!(a.path(), path.as_path());
    assert_eq!(a.sync_handle().path(), path.as_path());
    assert!(format!("{a:?}").contains("ctor.emdb"), "{a:?}");
    // The sync handle is the same engine.
    a.sync_handle().insert("via-sync", "1").unwrap();
    assert_eq!(a.get("via-sync").await.unwrap(), Some(b"1".to_vec()));
    let clone = a.clone();
    clone.insert("via-clone", "2").await.unwrap();
    assert_eq!(a.get("via-clone").await.unwrap(), Some(b"2".to_vec()));

    // A second open of a held database fails as the sync one does.
    assert!(matches!(AsyncEmdb::open(&path).await, Err(Error::LockBusy { .. })));
    assert!(matches!(Emdb::open(&path), Err(Error::LockBusy { .. })));
    drop((a, clone));
    let reopened = AsyncEmdb::open(&path).await.unwrap();
    assert_eq!(reopened.get("via-sync").await.unwrap(), Some(b"1".to_vec()));
    drop(reopened);

    // from_sync, builder + build_async (TTL default applies), open_in_memory.
    let wrapped = AsyncEmdb::from_sync(Emdb::open(&path).unwrap());
    assert_eq!(wrapped.len().await.unwrap(), 2);
    drop(wrapped);
    let builder = AsyncEmdb::builder().path(dir.path().join("built.emdb"));
    #[cfg(feature = "ttl")]
    let builder = builder.default_ttl(Duration::from_secs(3600));
    let built = builder.build_async().await.unwrap();
    built.insert("k", "v").await.unwrap();
    assert_eq!(built.get("k").await.unwrap(), Some(b"v".to_vec()));
    #[cfg(feature = "ttl")]
    assert!(built.ttl("k").await.unwrap().is_some());
    assert!(matches!(
        Emdb::builder().path(&path).app_name("x").build_async().await,
        Err(Error::InvalidConfig(_))
    ));
    let mem = AsyncEmdb::open_in_memory();
    mem.insert("k", "v").await.unwrap();
    assert_eq!(mem.get("k").await.unwrap(), Some(b"v".to_vec()));
    assert!(mem.path().exists());
    let ns = mem.namespace("named").await.unwrap();
    assert!(format!("{ns:?}").contains("named"), "{ns:?}");
    let wrapped_ns = AsyncNamespace::from_sync(mem.sync_handle().namespace("named").unwrap());
    ns.insert("x", "1").await.unwrap();
    assert_eq!(wrapped_ns.get("x").await.unwrap(), Some(b"1".to_vec()));
}

#[tokio::test]
async fn range_methods_need_range_scans() {
    let (_dir, path) = temp_path("plain.emdb");
    let a = AsyncEmdb::open(&path).await.unwrap();
    let s = a.sync_handle();
    let r = b"a".to_vec()..b"z".to_vec();
    assert!(is_invalid_config(&a.range(r.clone()).await));
    assert!(is_invalid_config(&s.range(r.clone())));
    assert!(is_invalid_config(&a.range_prefix("a").await));
    assert!(is_invalid_config(&a.iter_from("a").await));
    assert!(is_invalid_config(&a.iter_after("a").await));
    // Stream errors come before any stream exists.
    assert!(is_invalid_config(&a.range_stream(r).await));
    assert!(is_invalid_config(&a.range_prefix_stream("a").await));
    assert!(is_invalid_config(&a.iter_from_stream("a").await));
    assert!(is_invalid_config(&a.iter_after_stream("a").await));
    // Hash-order iteration needs no range index.
    a.insert("k", "v").await.unwrap();
    assert_eq!(drain(a.iter_stream().await.unwrap()).await.len(), 1);
}

#[tokio::test]
async fn a_panicking_call_is_an_async_join_error() {
    let db = AsyncEmdb::open_in_memory();
    let r: Result<(), Error> = db
        .transaction(|tx| {
            tx.insert("never", "applied")?;
            panic!("the closure panics on purpose");
        })
        .await;
    match r {
        Err(Error::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::Other);
            assert!(e.to_string().starts_with("async join:"), "{e}");
        }
        other => panic!("expected an async join error, got {other:?}"),
    }
    assert_eq!(db.get("never").await.unwrap(), None);
    // The handle still works.
    db.insert("after", "1").await.unwrap();
}

/// Polls `fut` once on a thread with no tokio runtime.
fn poll_once<F: Future>(fut: F) -> Poll<F::Output> {
    let mut fut = pin!(fut);
    fut.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn outside_a_runtime_calls_fail_instead_of_panicking() {
    let db = AsyncEmdb::open_in_memory();
    for poll in [poll_once(db.insert("k", "v")), poll_once(db.flush())] {
        match poll {
            Poll::Ready(Err(Error::Io(e))) => assert_eq!(e.kind(), std::io::ErrorKind::Other),
            other => panic!("expected an Io error, got {other:?}"),
        }
    }
    assert!(matches!(poll_once(db.iter_stream()), Poll::Ready(Err(Error::Io(_)))));
    assert!(matches!(
        emdb_async::stream_iter(0..10),
        Err(emdb_async::Error::NoRuntime(_))
    ));
    assert!(matches!(
        poll_once(Emdb::builder().build_async()),
        Poll::Ready(Err(Error::Io(_)))
    ));
    // Nothing was written.
    assert_eq!(db.sync_handle().get("k").unwrap(), None);
}

fn assert_send<T: Send>(_: &T) {}
fn assert_send_sync_clone<T: Send + Sync + Clone + std::fmt::Debug>() {}

#[tokio::test]
async fn handles_futures_and_streams_are_send() {
    assert_send_sync_clone::<AsyncEmdb>();
    assert_send_sync_clone::<AsyncNamespace>();
    let db = AsyncEmdb::open_in_memory();
    let key = b"k".to_vec();
    assert_send(&db.get(&key));
    assert_send(&db.insert("k", key.clone()));
    assert_send(&db.insert_many([(&key[..], "v")]));
    assert_send(&db.transaction(|_| Ok(())));
    assert_send(&db.iter_stream());
    assert_send(&Emdb::builder().build_async());
    let stream = db.iter_stream().await.unwrap();
    assert_send(&stream);
    let ns = db.namespace("n").await.unwrap();
    assert_send(&ns.range_stream(..));
    // Futures can be spawned.
    let spawned = tokio::spawn({
        let db = db.clone();
        async move { db.insert("spawned", "1").await }
    });
    spawned.await.unwrap().unwrap();
    let map: BTreeMap<Vec<u8>, Vec<u8>> = db.iter().await.unwrap().into_iter().collect();
    assert_eq!(map.get(&b"spawned"[..]), Some(&b"1".to_vec()));
}
