//! Named fault points: places in compaction and checkpointing where a crash test makes
//! the process die, so that every step of those rewrites is crashed through on purpose
//! rather than hit by chance.
//!
//! A point is a call `fault::point("compact.relocated")`. With the cargo feature
//! `fault-points` (off by default, not offered by the `emdb` facade: only the crash tests
//! turn it on), a point whose name the environment variable [`ENV`] holds writes
//! `emdb fault point <name> reached` to stderr and aborts the process there
//! (`std::process::abort`: no destructor runs, no buffer is flushed, as under a kill).
//! `<name>@<n>` dies at the point's `n`th pass instead of its first (`n` from 1), so a
//! test can die in a later compaction than the first.
//!
//! A point can also *hold* a thread, to force an interleaving of two threads that timing
//! would give only now and then: [`HOLD_ENV`] holds comma-separated rules
//! `<point>[@<n>]><release>`, and the thread making that pass of `<point>` (the first
//! without `@<n>`) waits there until some thread passes `<release>` (at once if one
//! already has). Passes are counted process-wide, a held pass included. A rule whose
//! release never comes holds forever: the test's timeout calls that a hang.
//!
//! A *failure point* (`fault::fail("compact.relocate")`, listed in [`FAIL_POINTS`]) makes
//! the step it follows fail instead, as a real I/O error would: when [`FAIL_ENV`] names it
//! (`<name>` or `<name>@<n>`, passes counted as above), it returns an `Err` of kind
//! `Other` saying so, and the engine's error path runs with the process alive.
//!
//! The variables are read once, at the first point passed. Without the feature a point
//! is an empty function that compiles to nothing, and a failure point returns `Ok`.
//!
//! [`POINTS`] lists every point, so a test can iterate them; a unit test below checks
//! that the list and the calls in the sources name the same points, each called once.

/// The environment variable naming the point to die at.
#[cfg(any(feature = "fault-points", test))]
#[cfg_attr(not(feature = "fault-points"), allow(dead_code, reason = "read by the tests only"))]
pub const ENV: &str = "EMDB_FAULT_POINT";

/// The environment variable of the holds: comma-separated rules `<point>[@<n>]><release>`.
#[cfg(any(feature = "fault-points", test))]
#[cfg_attr(not(feature = "fault-points"), allow(dead_code, reason = "read by the tests only"))]
pub const HOLD_ENV: &str = "EMDB_FAULT_HOLD";

/// The environment variable naming the failure point to fail at.
#[cfg(any(feature = "fault-points", test))]
#[cfg_attr(not(feature = "fault-points"), allow(dead_code, reason = "read by the tests only"))]
pub const FAIL_ENV: &str = "EMDB_FAULT_FAIL";

/// Every failure point. What fails at each:
///
/// * `compact.relocate`: the move of the compacted log over `<path>`, after it moved (as a
///   failed directory sync would leave it): the log at `<path>` is the new one.
/// * `checkpoint.begin`: a checkpoint, before anything of it is written (as a full disk
///   would fail it); reached by `checkpoint()` and by a compaction's closing checkpoint.
#[cfg(any(feature = "fault-points", test))]
#[cfg_attr(not(feature = "fault-points"), allow(dead_code, reason = "read by the tests only"))]
pub const FAIL_POINTS: &[&str] = &["compact.relocate", "checkpoint.begin"];

/// Every fault point, in the order a compaction reaches them (a compaction ends with a
/// checkpoint, so it passes the `checkpoint.*` points too). What has happened when each
/// is reached:
///
/// * `compact.captured`: the live locations are copied from the indexes; nothing is
///   written yet.
/// * `compact.scratch_created`: `<path>.compact.tmp` and its sidecar exist, without
///   records.
/// * `compact.copied`: every captured live record is in the scratch log (not synced), its
///   files have the old files' permission bits, its range indexes are filled.
/// * `compact.caught_up`: one unlocked catch-up round is copied (reached only when more
///   than a megabyte was written since the capture).
/// * `compact.final_caught_up`: writers are paused and the scratch log holds everything
///   the old one does (not synced).
/// * `compact.relocated`: the scratch log is synced and renamed over `<path>`, its sidecar
///   over `<path>.meta`, the directory synced; the engine still serves from the old log
///   (writers still paused).
/// * `compact.swapped`: the engine serves from the new log and writers run again; its
///   sidecar names no checkpoint yet.
/// * `checkpoint.snapshot_built`: the indexes are serialised in memory; nothing written.
/// * `checkpoint.index_replaced`: `<path>.index` is replaced (staged, synced, renamed, the
///   directory synced); the sidecar still names the previous checkpoint.
/// * `checkpoint.sidecar_written`: the log is synced through the checkpoint and the
///   sidecar names it and the new index snapshot.
/// * `compact.checkpointed`: the compaction's closing checkpoint is written; the
///   compaction is about to return.
#[cfg(any(feature = "fault-points", test))]
#[cfg_attr(not(feature = "fault-points"), allow(dead_code, reason = "read by the tests only"))]
pub const POINTS: &[&str] = &[
    "compact.captured",
    "compact.scratch_created",
    "compact.copied",
    "compact.caught_up",
    "compact.final_caught_up",
    "compact.relocated",
    "compact.swapped",
    "checkpoint.snapshot_built",
    "checkpoint.index_replaced",
    "checkpoint.sidecar_written",
    "compact.checkpointed",
];

/// The point [`ENV`] names and at which of its passes to die (1 for the first); `None`
/// for a value that is not `<name>` or `<name>@<n>` with `n` at least 1.
#[cfg(any(feature = "fault-points", test))]
#[cfg_attr(
    not(feature = "fault-points"),
    allow(dead_code, reason = "used with the feature only")
)]
fn parse(value: &str) -> Option<(&str, u64)> {
    match value.split_once('@') {
        None => Some((value, 1)),
        Some((name, n)) => n.parse().ok().filter(|&n| n >= 1).map(|n| (name, n)),
    }
}

/// One rule of [`HOLD_ENV`]: `<point>[@<n>]><release>`, the point, its pass, and the
/// point whose first pass lets it go on; `None` for anything else.
#[cfg(any(feature = "fault-points", test))]
#[cfg_attr(
    not(feature = "fault-points"),
    allow(dead_code, reason = "used with the feature only")
)]
fn parse_hold(rule: &str) -> Option<(&str, u64, &str)> {
    let (held, release) = rule.split_once('>')?;
    let (name, pass) = parse(held)?;
    (!name.is_empty() && !release.is_empty()).then_some((name, pass, release))
}

/// What the environment asks for, read at the first point passed, and the passes so far.
#[cfg(feature = "fault-points")]
struct Faults {
    /// The point to die at, and at which pass.
    abort: Option<(String, u64)>,
    /// Holds: point, pass, release point.
    holds: Vec<(String, u64, String)>,
    /// The failure point to fail at, and at which pass.
    fail: Option<(String, u64)>,
    /// Passes of each point so far (counted before a pass holds).
    passes: std::sync::Mutex<std::collections::HashMap<&'static str, u64>>,
    passed: std::sync::Condvar,
}

#[cfg(feature = "fault-points")]
fn faults() -> &'static Faults {
    static FAULTS: std::sync::OnceLock<Faults> = std::sync::OnceLock::new();
    FAULTS.get_or_init(|| {
        let abort = std::env::var(ENV)
            .ok()
            .and_then(|v| parse(&v).map(|(name, n)| (name.to_owned(), n)));
        let holds = std::env::var(HOLD_ENV).unwrap_or_default();
        let holds = holds
            .split(',')
            .filter_map(parse_hold)
            .map(|(name, n, release)| (name.to_owned(), n, release.to_owned()))
            .collect();
        let fail = std::env::var(FAIL_ENV)
            .ok()
            .and_then(|v| parse(&v).map(|(name, n)| (name.to_owned(), n)));
        Faults {
            abort,
            holds,
            fail,
            passes: std::sync::Mutex::new(std::collections::HashMap::new()),
            passed: std::sync::Condvar::new(),
        }
    })
}

/// Dies here if [`ENV`] names `name` and this pass, or waits here while [`HOLD_ENV`]
/// holds this pass (see the module docs).
#[cfg(feature = "fault-points")]
pub(crate) fn point(name: &'static str) {
    use std::io::Write;
    use std::sync::PoisonError;
    let faults = faults();
    if faults.abort.is_none() && faults.holds.is_empty() {
        return;
    }
    let mut passes = faults.passes.lock().unwrap_or_else(PoisonError::into_inner);
    let pass = count_pass(&mut passes, name);
    // This pass may be what a held thread waits for.
    faults.passed.notify_all();
    if faults
        .abort
        .as_ref()
        .is_some_and(|(armed, at)| armed == name && *at == pass)
    {
        // Straight to the handle, not through `eprintln!`, which a test harness may capture.
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "emdb fault point {name} reached");
        let _ = err.flush();
        std::process::abort();
    }
    for (held, at, release) in &faults.holds {
        if held == name && *at == pass {
            while passes.get(release.as_str()).is_none_or(|&n| n == 0) {
                passes = faults.passed.wait(passes).unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

/// Counts a pass of `name` and returns its number (from 1).
#[cfg(feature = "fault-points")]
fn count_pass(passes: &mut std::collections::HashMap<&'static str, u64>, name: &'static str) -> u64 {
    let n = passes.entry(name).or_insert(0);
    *n += 1;
    *n
}

/// Without the feature `fault-points`, nothing.
#[cfg(not(feature = "fault-points"))]
#[inline(always)]
pub(crate) fn point(_name: &'static str) {}

/// Fails here if [`FAIL_ENV`] names `name` and this pass (see the module docs).
#[cfg(feature = "fault-points")]
pub(crate) fn fail(name: &'static str) -> std::io::Result<()> {
    use std::sync::PoisonError;
    let faults = faults();
    let Some((armed, at)) = &faults.fail else {
        return Ok(());
    };
    if armed != name {
        return Ok(());
    }
    let mut passes = faults.passes.lock().unwrap_or_else(PoisonError::into_inner);
    if count_pass(&mut passes, name) == *at {
        return Err(std::io::Error::other(format!("injected failure at fault point {name}")));
    }
    Ok(())
}

/// Without the feature `fault-points`, never a failure.
#[cfg(not(feature = "fault-points"))]
#[inline(always)]
pub(crate) fn fail(_name: &'static str) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{FAIL_POINTS, POINTS, parse, parse_hold};

    #[test]
    fn a_hold_names_a_point_its_pass_and_its_release() {
        assert_eq!(
            parse_hold("checkpoint.snapshot_built>compact.checkpointed"),
            Some(("checkpoint.snapshot_built", 1, "compact.checkpointed"))
        );
        assert_eq!(
            parse_hold("compact.captured@2>compact.copied"),
            Some(("compact.captured", 2, "compact.copied"))
        );
        assert_eq!(parse_hold("compact.captured"), None);
        assert_eq!(parse_hold("compact.captured>"), None);
        assert_eq!(parse_hold(">compact.copied"), None);
        assert_eq!(parse_hold("compact.captured@0>compact.copied"), None);
    }

    #[test]
    fn a_value_names_a_point_and_optionally_its_pass() {
        assert_eq!(parse("compact.copied"), Some(("compact.copied", 1)));
        assert_eq!(parse("compact.copied@3"), Some(("compact.copied", 3)));
        assert_eq!(parse("compact.copied@0"), None);
        assert_eq!(parse("compact.copied@x"), None);
    }

    /// The sources that hold points.
    const SOURCES: &[(&str, &str)] = &[
        ("engine/compact.rs", include_str!("engine/compact.rs")),
        ("engine/checkpoint.rs", include_str!("engine/checkpoint.rs")),
    ];

    /// Every call of `function` (`fault::point` or `fault::fail`) in [`SOURCES`] names a
    /// point of `listed` (the list called `list`), and each listed point is called once.
    fn check_calls(function: &str, listed: &[&str], list: &str) {
        let call = format!("{function}(\"");
        let mut called = Vec::new();
        for (file, text) in SOURCES {
            for (at, _) in text.match_indices(&call) {
                let rest = &text[at + call.len()..];
                let end = rest.find('"').expect("a closing quote");
                called.push((rest[..end].to_owned(), *file));
            }
        }
        for (name, file) in &called {
            assert!(
                listed.contains(&name.as_str()),
                "{file} calls {name:?}, which {list} lacks"
            );
        }
        for name in listed {
            let n = called.iter().filter(|(c, _)| c == name).count();
            assert_eq!(n, 1, "{name:?} is called {n} times");
        }
    }

    #[test]
    fn every_listed_point_is_called_exactly_once_and_every_call_is_listed() {
        check_calls(concat!("fault::", "point"), POINTS, "POINTS");
    }

    #[test]
    fn every_listed_failure_point_is_called_exactly_once_and_every_call_is_listed() {
        check_calls(concat!("fault::", "fail"), FAIL_POINTS, "FAIL_POINTS");
    }
}
