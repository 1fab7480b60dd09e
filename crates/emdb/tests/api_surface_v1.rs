//! emdb 1.0.3's public surface, item by item, at the same paths (the crate root), as
//! inherent methods where 1.0 had them, called with the argument types 1.0 accepted: a
//! program that compiles against 1.0.3 compiles here. The signatures were taken from
//! 1.0.3's source; this file fails to compile if one of them narrows (a bound added, an
//! inherent method moved to a trait, an item moved off the root, a derive dropped).
//!
//! Only names are imported (no trait), the way a 1.0 program imports them. The calls also
//! run, on a scratch database, so a signature that compiles but panics shows too; the
//! behaviour of each call is tested elsewhere.
#![allow(
    clippy::unnecessary_to_owned,
    clippy::op_ref,
    clippy::eq_op,
    clippy::type_complexity,
    reason = "1.0 programs pass owned and borrowed forms alike; the types are spelled out on purpose"
)]

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::time::Duration;

use emdb::{
    Emdb, EmdbBuilder, EmdbIter, EmdbKeyIter, EmdbRangeIter, EmdbStats, Error, FlushPolicy, LockHolder, Namespace,
    NamespaceIter, NamespaceKeyIter, NamespaceRangeIter, Result, Transaction, Ttl, ValueRef,
};

fn clone_debug<T: Clone + std::fmt::Debug>() {}
fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}
fn eq_copy_debug<T: Copy + Eq + std::fmt::Debug>() {}
fn iterates<I: Iterator<Item = T>, T>(_: &I) {}

/// The root's types, named as 1.0 programs name them (§0), with 1.0's derives.
#[test]
fn root_types_have_one_zeros_traits() {
    send_sync::<Emdb>();
    clone_debug::<Emdb>();
    clone_debug::<EmdbBuilder>();
    let _: EmdbBuilder = EmdbBuilder::default();
    fn _builder_default() -> EmdbBuilder {
        Default::default()
    }
    fn _iters(
        _: EmdbIter,
        _: EmdbKeyIter,
        _: EmdbRangeIter,
        _: NamespaceIter,
        _: NamespaceKeyIter,
        _: NamespaceRangeIter,
    ) {
    }
    send::<EmdbIter>();
    send::<EmdbKeyIter>();
    send::<EmdbRangeIter>();
    send::<NamespaceIter>();
    send::<NamespaceKeyIter>();
    send::<NamespaceRangeIter>();
    let _: fn(&Namespace) -> Namespace = Namespace::clone;
    fn _tx(_: &mut Transaction<'_>) {}
    let _: fn(&ValueRef) -> String = |v| format!("{v:?}");
    eq_copy_debug::<FlushPolicy>();
    assert_eq!(FlushPolicy::default(), FlushPolicy::OnEachFlush);
    let _ = [FlushPolicy::OnEachFlush, FlushPolicy::Group, FlushPolicy::WriteThrough];
    eq_copy_debug::<Ttl>();
    let _ = [Ttl::Default, Ttl::Never, Ttl::After(Duration::from_secs(1))];
    eq_copy_debug::<EmdbStats>();
    clone_debug::<LockHolder>();
    let _: fn(LockHolder) -> (u32, u32, u64, Option<String>) =
        |h| (h.schema_version, h.pid, h.acquired_at_unix_millis, h.crate_version);
    let _: fn(EmdbStats) -> (u64, usize, u64, u64, u64, bool, bool) = |s| {
        (
            s.live_records,
            s.namespace_count,
            s.logical_size_bytes,
            s.file_size_bytes,
            s.preallocated_bytes,
            s.range_scans_enabled,
            s.encrypted,
        )
    };
    let _: fn() -> Result<()> = || Ok(());
    let _: std::result::Result<(), Error> = Result::<()>::Ok(());
}

/// `Error`: its variants and their fields with 1.0's types (§8); `Display`, `source`,
/// `From<io::Error>`, `Send + Sync + 'static` (so `?` into `Box<dyn Error>` works).
#[test]
fn error_has_one_zeros_variants() {
    fn fields(e: &Error) -> String {
        match e {
            Error::Io(io) => io.kind().to_string(),
            Error::MagicMismatch => String::new(),
            Error::VersionMismatch { found, expected } => {
                let (_, _): (&u32, &u32) = (found, expected);
                String::new()
            }
            Error::FeatureMismatch {
                file_flags,
                build_flags,
            } => {
                let (_, _): (&u32, &u32) = (file_flags, build_flags);
                String::new()
            }
            Error::Corrupted { offset, reason } => {
                let (_, _): (&u64, &&'static str) = (offset, reason);
                String::new()
            }
            Error::InvalidConfig(why) => {
                let _: &&'static str = why;
                String::new()
            }
            Error::LockBusy { path } => {
                let _: &PathBuf = path;
                String::new()
            }
            Error::LockfileError(io) => io.kind().to_string(),
            #[cfg(feature = "nested")]
            Error::InvalidPath => String::new(),
            #[cfg(feature = "ttl")]
            Error::TtlOverflow => String::new(),
            #[cfg(feature = "encrypt")]
            Error::Encryption(why) => {
                let _: &&'static str = why;
                String::new()
            }
            #[cfg(feature = "encrypt")]
            Error::EncryptionKeyMismatch => String::new(),
            _ => String::new(),
        }
    }
    let e: Error = std::io::Error::other("x").into();
    assert!(!fields(&e).is_empty());
    assert!(e.to_string().starts_with("emdb: "));
    assert!(std::error::Error::source(&e).is_some());
    let boxed: Box<dyn std::error::Error + Send + Sync + 'static> = Box::new(Error::MagicMismatch);
    assert!(!boxed.to_string().is_empty());
    fn _question_mark() -> std::result::Result<(), Box<dyn std::error::Error>> {
        Emdb::open_in_memory().insert("k", "v")?;
        Ok(())
    }
}

/// The builder (§2), every setter with 1.0's argument types.
#[test]
fn builder_methods() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let _ = EmdbBuilder::new().path("relative.emdb");
    let _ = EmdbBuilder::new()
        .path(String::from("x.emdb"))
        .path(Path::new("y.emdb"));
    let _ = Emdb::builder()
        .app_name("app")
        .app_name(String::from("app"))
        .database_name("db.emdb")
        .database_name(String::from("db.emdb"))
        .data_root(dir.path())
        .data_root(dir.path().to_path_buf())
        .enable_range_scans(true)
        .flush_policy(FlushPolicy::Group)
        .iouring_sqpoll(10);
    #[cfg(feature = "ttl")]
    let _ = Emdb::builder().default_ttl(Duration::from_secs(5));
    #[cfg(feature = "encrypt")]
    {
        let _ = Emdb::builder()
            .encryption_key([7u8; 32])
            .cipher(emdb::Cipher::ChaCha20Poly1305);
        let _ = Emdb::builder()
            .encryption_passphrase("pw")
            .encryption_passphrase(String::from("pw"));
    }
    let db: Emdb = Emdb::builder().path(dir.path().join("b.emdb")).build()?;
    drop(db);
    let _: Emdb = Emdb::builder().build()?;
    Ok(())
}

/// `Emdb` (§1) and `Namespace` (§3): keys and values as `&str`, `String`, `Vec<u8>`,
/// `&[u8]`, `[u8; N]`, `b"..."`; ranges over `Vec<u8>` bounds.
#[test]
fn emdb_and_namespace_methods() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.emdb");
    let db = Emdb::builder().path(&path).enable_range_scans(true).build()?;
    let _: &Path = db.path();
    let _: Emdb = db.clone_handle();
    db.insert("a", "1")?;
    db.insert(String::from("b"), String::from("2"))?;
    db.insert(b"c".to_vec(), vec![3u8])?;
    db.insert(&b"d"[..], &b"4"[..])?;
    db.insert([b'e'], [b'5'])?;
    db.insert(b"f", b"6")?;
    db.insert_many(vec![("g", "7"), ("h", "8")])?;
    db.insert_many([(b"i".to_vec(), b"9".to_vec())])?;
    db.insert_many(
        [(String::from("j"), String::from("10"))]
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    )?;
    db.insert_many(std::iter::once((b"k", b"11")))?;
    let _: Option<Vec<u8>> = db.get("a")?;
    let _: Option<Vec<u8>> = db.get(String::from("a"))?;
    let _: Option<Vec<u8>> = db.get(b"a".to_vec())?;
    let _: Option<Vec<u8>> = db.get(&b"a"[..])?;
    let _: Option<Vec<u8>> = db.get([b'a'])?;
    let _: Option<Vec<u8>> = db.get(b"a")?;
    let zc: Option<ValueRef> = db.get_zerocopy("a")?;
    let zc = zc.expect("a was inserted");
    let (_, _, _): (usize, bool, &[u8]) = (zc.len(), zc.is_empty(), zc.as_slice());
    let _: &[u8] = &zc;
    let _: &[u8] = zc.as_ref();
    assert!(zc == b"1"[..] && zc == &b"1"[..] && zc == b"1".to_vec() && zc == zc);
    let _: Vec<u8> = zc.into_vec();
    let _: bool = db.contains_key("a")?;
    let _: bool = db.contains_key(b"zz")?;
    let _: Option<Vec<u8>> = db.remove("a")?;
    let _: Option<Vec<u8>> = db.remove(b"zz".to_vec())?;
    let (_, _): (usize, bool) = (db.len()?, db.is_empty()?);
    let iter: EmdbIter = db.iter()?;
    iterates::<_, (Vec<u8>, Vec<u8>)>(&iter);
    let keys: EmdbKeyIter = db.keys()?;
    iterates::<_, Vec<u8>>(&keys);
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range(b"a".to_vec()..b"z".to_vec())?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range(b"a".to_vec()..=b"z".to_vec())?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range(..)?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range(b"c".to_vec()..)?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range((Bound::Excluded(b"a".to_vec()), Bound::Unbounded))?;
    let ri: EmdbRangeIter = db.range_iter(..b"z".to_vec())?;
    iterates::<_, (Vec<u8>, Vec<u8>)>(&ri);
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range_prefix("a")?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range_prefix(b"a")?;
    let _: EmdbRangeIter = db.range_prefix_iter(String::from("a"))?;
    let _: EmdbRangeIter = db.iter_from("b")?;
    let _: EmdbRangeIter = db.iter_after(b"b".to_vec())?;
    let _: EmdbStats = db.stats()?;
    db.flush()?;
    db.checkpoint()?;
    db.compact()?;
    db.backup_to(dir.path().join("backup.emdb"))?;
    db.backup_to(dir.path().join("backup2.emdb").as_path())?;
    let t: i32 = db.transaction(|tx: &mut Transaction<'_>| {
        tx.insert("t", "1")?;
        tx.insert(b"u".to_vec(), String::from("2"))?;
        let _: Option<Vec<u8>> = tx.remove("t")?;
        let _: Option<Vec<u8>> = tx.remove(b"nope".to_vec())?;
        let _: Option<Vec<u8>> = tx.get("u")?;
        let _: bool = tx.contains_key(b"u")?;
        #[cfg(feature = "ttl")]
        tx.insert_with_ttl("v", "3", Ttl::After(Duration::from_secs(60)))?;
        Ok(42)
    })?;
    assert_eq!(t, 42);
    // A non-Send value crosses a sync transaction, as in 1.0 (no Send bound).
    let rc = std::rc::Rc::new(1);
    db.transaction(move |_tx| Ok(*rc))?;
    let ns: Namespace = db.namespace("users")?;
    let _: Namespace = db.namespace(String::from("users"))?;
    let _: &str = ns.name();
    ns.insert("a", "1")?;
    ns.insert(b"b", vec![2])?;
    ns.insert_many(vec![(b"c".to_vec(), b"3".to_vec())])?;
    let _: Option<Vec<u8>> = ns.get("a")?;
    let _: Option<ValueRef> = ns.get_zerocopy(b"a")?;
    let _: bool = ns.contains_key("a")?;
    let _: Option<Vec<u8>> = ns.remove("a")?;
    let (_, _): (usize, bool) = (ns.len()?, ns.is_empty()?);
    let _: NamespaceIter = ns.iter()?;
    let _: NamespaceKeyIter = ns.keys()?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = ns.range(b"a".to_vec()..b"z".to_vec())?;
    let _: NamespaceRangeIter = ns.range_iter(..)?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = ns.range_prefix("b")?;
    let _: NamespaceRangeIter = ns.range_prefix_iter("b")?;
    let _: NamespaceRangeIter = ns.iter_from("b")?;
    let _: NamespaceRangeIter = ns.iter_after("b")?;
    ns.clear()?;
    let _: Vec<String> = db.list_namespaces()?;
    let _: bool = db.drop_namespace("users")?;
    let _: bool = db.drop_namespace(String::from("nope"))?;
    db.clear()?;
    drop(db);
    let _: Option<LockHolder> = Emdb::lock_holder(&path)?;
    let _: Result<()> = Emdb::break_lock(path.as_path());
    let _: Emdb = Emdb::open(&path)?;
    let _: Emdb = Emdb::open_in_memory();
    Ok(())
}

/// The TTL surface (§1 TTL, §3) on `Emdb` and `Namespace`.
#[cfg(feature = "ttl")]
#[test]
fn ttl_methods() -> Result<()> {
    let db = Emdb::open_in_memory();
    db.insert_with_ttl("a", "1", Ttl::After(Duration::from_secs(60)))?;
    db.insert_with_ttl(b"b".to_vec(), String::from("2"), Ttl::Never)?;
    db.insert_with_ttl(b"c", b"3", Ttl::Default)?;
    let _: Option<u64> = db.expires_at("a")?;
    let _: Option<Duration> = db.ttl(b"a")?;
    let _: bool = db.persist(String::from("a"))?;
    let _: usize = db.sweep_expired();
    let ns = db.namespace("n")?;
    ns.insert_with_ttl("a", "1", Ttl::After(Duration::from_secs(60)))?;
    let _: Option<u64> = ns.expires_at("a")?;
    let _: Option<Duration> = ns.ttl("a")?;
    let _: bool = ns.persist("a")?;
    let _: usize = ns.sweep_expired();
    Ok(())
}

/// Nested keys (§7 `Focus`, `group`, `delete_group`).
#[cfg(feature = "nested")]
#[test]
fn nested_methods() -> Result<()> {
    use emdb::Focus;
    let db = Emdb::open_in_memory();
    let f: Focus<'_> = db.focus("app");
    let _: Focus<'_> = db.focus(String::from("app"));
    f.set("a", "1")?;
    f.set("b", b"2".to_vec())?;
    let _: Option<Vec<u8>> = f.get("a")?;
    let _: bool = f.contains_key("a")?;
    let _: Option<Vec<u8>> = f.remove("a")?;
    let sub: Focus<'_> = f.focus("sub");
    sub.set("c", "3")?;
    #[cfg(feature = "ttl")]
    sub.set_with_ttl("d", "4", Ttl::After(Duration::from_secs(60)))?;
    let items: Vec<(Vec<u8>, Vec<u8>)> = f.iter()?.collect();
    assert!(!items.is_empty());
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.group("app")?.collect();
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.group(String::from("app"))?.collect();
    let _: usize = f.delete_all()?;
    let _: usize = db.delete_group("app")?;
    Ok(())
}

/// Encryption (§7 `Cipher`, `EncryptionInput`; the offline admin on `Emdb`).
#[cfg(feature = "encrypt")]
#[test]
fn encryption_items() -> Result<()> {
    use emdb::{Cipher, EncryptionInput};
    eq_copy_debug::<Cipher>();
    assert_eq!(Cipher::default(), Cipher::Aes256Gcm);
    let _ = [Cipher::Aes256Gcm, Cipher::ChaCha20Poly1305];
    clone_debug::<EncryptionInput>();
    let key = EncryptionInput::Key([1u8; 32]);
    let _ = EncryptionInput::Passphrase(String::from("pw"));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("e.emdb");
    Emdb::open(&path)?.insert("k", "v")?;
    Emdb::enable_encryption(&path, key.clone())?;
    Emdb::rotate_encryption_key(path.as_path(), key, EncryptionInput::Key([2u8; 32]))?;
    Emdb::disable_encryption(path.clone(), EncryptionInput::Key([2u8; 32]))?;
    Ok(())
}

/// The async surface (§9, §10), with 1.0's generic parameters (turbofish included) and
/// `build_async` inherent.
#[cfg(feature = "async")]
#[tokio::test]
async fn async_methods() -> Result<()> {
    use emdb::{AsyncEmdb, AsyncNamespace};
    use tokio_stream::wrappers::ReceiverStream;
    send_sync::<AsyncEmdb>();
    clone_debug::<AsyncEmdb>();
    clone_debug::<AsyncNamespace>();
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("a.emdb");
    let db: AsyncEmdb = AsyncEmdb::builder()
        .path(&path)
        .enable_range_scans(true)
        .build_async()
        .await?;
    let _: EmdbBuilder = AsyncEmdb::builder();
    let _: std::sync::Arc<Emdb> = db.sync_handle();
    let _: &Path = db.path();
    db.insert("a", "1").await?;
    db.insert(String::from("b"), b"2".to_vec()).await?;
    db.insert::<&[u8], [u8; 1]>(&b"c"[..], [3]).await?;
    db.insert_many(vec![("d", "4")]).await?;
    db.insert_many::<Vec<(Vec<u8>, &str)>, Vec<u8>, &str>(vec![(b"e".to_vec(), "5")])
        .await?;
    let _: Option<Vec<u8>> = db.get("a").await?;
    let _: Option<Vec<u8>> = db.get::<&[u8; 1]>(b"a").await?;
    let _: bool = db.contains_key(b"a".to_vec()).await?;
    let _: Option<Vec<u8>> = db.remove("a").await?;
    let (_, _): (usize, bool) = (db.len().await?, db.is_empty().await?);
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.iter().await?;
    let _: Vec<Vec<u8>> = db.keys().await?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range(b"a".to_vec()..b"z".to_vec()).await?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.range_prefix("b").await?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.iter_from("b").await?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = db.iter_after(b"b").await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = db.iter_stream().await?;
    let _: ReceiverStream<Vec<u8>> = db.keys_stream().await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = db.range_stream(..).await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = db.range_prefix_stream("b").await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = db.iter_from_stream("b").await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = db.iter_after_stream("b").await?;
    let _: EmdbStats = db.stats().await?;
    db.flush().await?;
    db.checkpoint().await?;
    db.compact().await?;
    db.backup_to(dir.path().join("ab.emdb")).await?;
    let n: usize = db
        .transaction(|tx| {
            tx.insert("t", "1")?;
            Ok(1usize)
        })
        .await?;
    assert_eq!(n, 1);
    let ns: AsyncNamespace = db.namespace("n").await?;
    let _: AsyncNamespace = db.namespace::<String>(String::from("n")).await?;
    let _: &str = ns.name();
    let _: Namespace = ns.sync_handle();
    ns.insert("a", "1").await?;
    ns.insert_many(vec![("b", "2")]).await?;
    let _: Option<Vec<u8>> = ns.get("a").await?;
    let _: bool = ns.contains_key("a").await?;
    let _: Option<Vec<u8>> = ns.remove("a").await?;
    let (_, _): (usize, bool) = (ns.len().await?, ns.is_empty().await?);
    let _: Vec<(Vec<u8>, Vec<u8>)> = ns.iter().await?;
    let _: Vec<Vec<u8>> = ns.keys().await?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = ns.range(..).await?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = ns.range_prefix("b").await?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = ns.iter_from("b").await?;
    let _: Vec<(Vec<u8>, Vec<u8>)> = ns.iter_after("b").await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = ns.iter_stream().await?;
    let _: ReceiverStream<Vec<u8>> = ns.keys_stream().await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = ns.range_stream(b"a".to_vec()..).await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = ns.range_prefix_stream("b").await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = ns.iter_from_stream("b").await?;
    let _: ReceiverStream<(Vec<u8>, Vec<u8>)> = ns.iter_after_stream("b").await?;
    ns.clear().await?;
    #[cfg(feature = "ttl")]
    {
        db.insert_with_ttl("x", "1", Ttl::After(Duration::from_secs(60)))
            .await?;
        let _: Option<u64> = db.expires_at("x").await?;
        let _: Option<Duration> = db.ttl("x").await?;
        let _: bool = db.persist("x").await?;
        let _: usize = db.sweep_expired().await?;
        ns.insert_with_ttl("x", "1", Ttl::Never).await?;
        let _: Option<u64> = ns.expires_at("x").await?;
        let _: Option<Duration> = ns.ttl("x").await?;
        let _: bool = ns.persist("x").await?;
        let _: usize = ns.sweep_expired().await?;
    }
    let _: Vec<String> = db.list_namespaces().await?;
    let _: bool = db.drop_namespace::<&str>("n").await?;
    drop((db, ns));
    // (Streams dropped above may still hold `path` open for a moment: another file.)
    let _: AsyncEmdb = AsyncEmdb::from_sync(Emdb::open(dir.path().join("c.emdb"))?);
    let _: AsyncEmdb = AsyncEmdb::open_in_memory();
    let _: AsyncEmdb = AsyncEmdb::open(dir.path().join("b.emdb")).await?;
    let _: AsyncEmdb = Emdb::builder().build_async().await?;
    let _: AsyncEmdb = EmdbBuilder::new().build_async().await?;
    Ok(())
}
