//! emdb 1.0 async code compiles unchanged: `build_async` is an inherent method of
//! `EmdbBuilder`, reached with only `use emdb::Emdb;` (or `use emdb::*;`) in scope, from
//! `Emdb::builder()`, `EmdbBuilder::new()` and `AsyncEmdb::builder()` alike; no extension
//! trait needs importing. (Before the fix this file did not compile.)
#![cfg(feature = "async")]

/// Only `Emdb` is imported, as in 1.0's `examples/streaming.rs`.
mod only_emdb {
    use emdb::Emdb;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn build_async_from_emdb_builder() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("inherent.emdb");
        let db = Emdb::builder()
            .path(&path)
            .enable_range_scans(true)
            .build_async()
            .await?;
        db.insert_many((0..100).map(|i| (format!("k{i:03}"), format!("v{i}"))))
            .await?;
        let keys: Vec<Vec<u8>> = tokio_stream::StreamExt::collect(tokio_stream::StreamExt::map(
            db.range_stream(b"k010".to_vec()..b"k020".to_vec()).await?,
            |(k, _)| k,
        ))
        .await;
        assert_eq!(keys.len(), 10);
        assert_eq!(keys[0], b"k010");
        db.flush().await?;
        drop(db);
        assert_eq!(Emdb::open(&path)?.len()?, 100);
        Ok(())
    }

    #[tokio::test]
    async fn build_async_reports_the_builders_errors() {
        let dir = tempfile::tempdir().unwrap();
        let refused = Emdb::builder()
            .path(dir.path().join("x.emdb"))
            .app_name("a")
            .build_async()
            .await;
        assert!(matches!(refused, Err(emdb::Error::InvalidConfig(_))));
        assert!(!dir.path().join("x.emdb").exists());
    }
}

/// The glob import of 1.0 programs.
mod glob {
    use emdb::*;

    #[tokio::test]
    async fn build_async_from_every_builder_path() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let a: AsyncEmdb = EmdbBuilder::new().path(dir.path().join("a.emdb")).build_async().await?;
        let b: AsyncEmdb = AsyncEmdb::builder()
            .path(dir.path().join("b.emdb"))
            .build_async()
            .await?;
        let c: AsyncEmdb = Emdb::builder().build_async().await?;
        for db in [&a, &b, &c] {
            db.insert("k", "v").await?;
            assert_eq!(db.get("k").await?, Some(b"v".to_vec()));
        }
        Ok(())
    }
}
