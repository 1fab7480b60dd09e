//! The facade's `async` feature: the async handles are re-exported and work through it.
#![cfg(feature = "async")]

use emdb::{AsyncEmdb, BuildAsync, Emdb};
use tokio_stream::StreamExt;

#[tokio::test]
async fn the_async_handles_work_through_the_facade() -> emdb::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("a.emdb");
    let db: AsyncEmdb = Emdb::builder()
        .path(&path)
        .enable_range_scans(true)
        .build_async()
        .await?;
    db.insert_many(vec![("k1", "v1"), ("k2", "v2"), ("x", "y")]).await?;
    let users = db.namespace("users").await?;
    users.insert("alice", "1").await?;
    db.flush().await?;
    assert_eq!(db.get("k2").await?, Some(b"v2".to_vec()));
    let keys: Vec<Vec<u8>> = db.range_prefix_stream("k").await?.map(|(k, _)| k).collect().await;
    assert_eq!(keys, vec![b"k1".to_vec(), b"k2".to_vec()]);
    assert_eq!(users.get("alice").await?, Some(b"1".to_vec()));
    drop((db, users));
    // The same file through the sync API.
    assert_eq!(Emdb::open(&path)?.len()?, 3);
    Ok(())
}

/// `BuildAsync`, the trait that carried `build_async` before it was inherent, is still
/// exported and still opens a database (it calls the inherent method).
#[tokio::test]
async fn the_build_async_trait_still_works() -> emdb::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = BuildAsync::build_async(Emdb::builder().path(dir.path().join("t.emdb"))).await?;
    db.insert("k", "v").await?;
    assert_eq!(db.get("k").await?, Some(b"v".to_vec()));
    let refused = BuildAsync::build_async(Emdb::builder().path(dir.path().join("u.emdb")).app_name("x")).await;
    assert!(matches!(refused, Err(emdb::Error::InvalidConfig(_))));
    Ok(())
}
