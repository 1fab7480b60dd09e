//! The corruption suite (docs/DURABILITY.md gives its figures): a closed database (single
//! inserts, batches, transactions, removes, TTL records, three namespaces, a compaction, a
//! checkpoint and a tail written after it; `common::damage::build_base`) is copied, one
//! file of the copy is damaged (bit flips, a truncation, a zeroed or garbage 4 KiB page,
//! garbage appended; in the log, the sidecar or the index snapshot), and a child process
//! opens the copy and reads every key with `get`, and every namespace with `try_iter`,
//! `iter`, `len`, `range` and a range cursor, then compacts it and reads everything again.
//! The parent checks the answers against a model of every value each key ever had.
//!
//! Allowed: an error at open, or right answers with the damaged records reported
//! (`Corrupted`) or, in the tail an open replays, missing (the key reads as before its
//! newest write). Never: a wrong value; a key whose newest record is undamaged reading
//! absent, older, or `Corrupted`; `get` and the iterators disagreeing; a log cut below its
//! checkpoint opening; a compaction that succeeds and changes an answer (one that meets a
//! damaged record must refuse, `Corrupted`); a panic; a hang (a child that has not
//! answered in 60 s).
//!
//! 300 trials with a fixed seed and 100 with a random one, printed; `EMDB_CORRUPTION_SEED`
//! sets the random run's seed (a failure names its trial's seed: given here, it replays
//! that trial first) and `EMDB_CORRUPTION_TRIALS` its number of trials; with
//! `EMDB_CORRUPTION_KEEP` set, the copies of trials that went wrong are kept.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::damage::{self, Base, Damage, Handle, Key, NAMESPACES, Target};
use emdb_core::Error;

const CHILD_ENV: &str = "EMDB_CORRUPTION_CHILD";
const SEED_ENV: &str = "EMDB_CORRUPTION_SEED";
const TRIALS_ENV: &str = "EMDB_CORRUPTION_TRIALS";
/// When set, the damaged copy of a trial that went wrong is kept (and named) for a look.
const KEEP_ENV: &str = "EMDB_CORRUPTION_KEEP";
const FIXED_SEED: u64 = 0x0016_C022;
const FIXED_TRIALS: usize = 300;
const RANDOM_TRIALS: usize = 100;
/// A child that has not finished in this time hangs (it takes well under a second).
const HANG: Duration = Duration::from_secs(60);

/// The base, built once for every trial of this binary.
fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(damage::build_base)
}

#[test]
fn corruption_trials_with_a_fixed_seed() {
    run("fixed", FIXED_SEED, FIXED_TRIALS);
}

#[test]
fn corruption_trials_with_a_random_seed() {
    let (seed, trials) = common::random_run(SEED_ENV, TRIALS_ENV, RANDOM_TRIALS);
    println!("corruption: random seed {seed} ({trials} trials; {SEED_ENV}={seed} replays them)");
    run("random", seed, trials);
}

/// The child: opens the copy in the directory it is given and writes what every read
/// answered to `answers` there. A no-op in the parent.
#[test]
fn child_reads_every_key() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let dir = Path::new(&dir);
    std::fs::write(dir.join("answers"), read_all(&dir.join("base.emdb"))).expect("write the answers");
}

/// Runs `trials` trials, the first with `seed`, and fails with the trials that went wrong.
fn run(name: &str, seed: u64, trials: usize) {
    let base = base();
    let mut figures: BTreeMap<(Target, &str), Tally> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    for seed in trial_seeds(seed).take(trials) {
        let (damage, verdict) = trial(base, seed);
        let tally = figures.entry((damage.target, damage.kind)).or_default();
        tally.trials += 1;
        match verdict {
            Ok(Verdict::Refused(why)) => {
                tally.refused += 1;
                *refusals.entry(why).or_insert(0usize) += 1;
            }
            Ok(Verdict::Read {
                reported,
                missing,
                compacted,
            }) => {
                tally.opened += 1;
                tally.compacted += usize::from(compacted);
                tally.reported += reported;
                tally.missing += missing;
            }
            Err(problems) => {
                tally.wrong += 1;
                wrong.push(format!(
                    "trial seed {seed}: {damage:?}\n    {}",
                    problems.join("\n    ")
                ));
            }
        }
    }
    println!(
        "corruption ({name}): target, damage: trials / refused at open / opened (keys reported, keys missing, compacted) / wrong"
    );
    for ((target, kind), t) in &figures {
        println!(
            "  {target:?}, {kind}: {} / {} / {} ({}, {}, {}) / {}",
            t.trials, t.refused, t.opened, t.reported, t.missing, t.compacted, t.wrong
        );
    }
    println!("  refused at open, by message:");
    for (why, n) in &refusals {
        println!("    {n} {why}");
    }
    assert!(
        wrong.is_empty(),
        "{} of {trials} trials went wrong (first {}):\n{}",
        wrong.len(),
        wrong.len().min(10),
        wrong[..wrong.len().min(10)].join("\n")
    );
}

#[derive(Default)]
struct Tally {
    trials: usize,
    refused: usize,
    opened: usize,
    reported: usize,
    missing: usize,
    compacted: usize,
    wrong: usize,
}

/// The seeds of a run: `base` first, then each drawn from a generator seeded with the one
/// before, so a failing trial's seed given as the base replays it first.
fn trial_seeds(base: u64) -> impl Iterator<Item = u64> {
    std::iter::successors(Some(base), |&seed| Some(fastrand::Rng::with_seed(seed).u64(..1 << 32)))
}

/// What a trial's open and reads came to, when nothing was wrong.
enum Verdict {
    /// The open refused the damaged copy with an error (its message, offsets left out).
    Refused(String),
    /// The copy opened and every answer was right: `reported` keys read `Corrupted`,
    /// `missing` read as before their (damaged) newest record; the compaction succeeded
    /// (`compacted`, and changed no answer) or refused the damage.
    Read {
        reported: usize,
        missing: usize,
        compacted: bool,
    },
}

/// One trial: damages a copy of `base` and judges the child's answers.
fn trial(base: &Base, seed: u64) -> (Damage, Result<Verdict, Vec<String>>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = damage::copy_base(base, dir.path());
    let damage = damage::damage(&path, &base.layout, &mut fastrand::Rng::with_seed(seed));
    let mut verdict = run_child(dir.path()).and_then(|answers| judge(base, &damage, &answers));
    if let Err(problems) = &mut verdict
        && std::env::var_os(KEEP_ENV).is_some()
    {
        problems.insert(0, format!("the damaged copy is kept in {}", dir.keep().display()));
    }
    (damage, verdict)
}

/// Runs the child on `dir` and returns its answers; an `Err` when it failed or hung.
fn run_child(dir: &Path) -> Result<String, Vec<String>> {
    let stderr = std::fs::File::create(dir.join("stderr")).expect("create the child's stderr");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_reads_every_key", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn the child");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if start.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            return Err(vec![format!("the child hung (no answer in {HANG:?})")]);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let answers = std::fs::read_to_string(dir.join("answers"));
    match answers {
        Ok(answers) if status.success() => Ok(answers),
        _ => {
            let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
            let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
            Err(vec![format!(
                "the child failed ({status}):\n      {}",
                tail.into_iter().rev().collect::<Vec<_>>().join("\n      ")
            )])
        }
    }
}

/// Opens the database at `path`, reads everything, compacts it and reads everything again,
/// one answer a line (keys and values in hex): `open ok` or `open error <why>`; `get <ns>
/// <key> value <v>|none|corrupted|error <why>`; for each namespace `try <ns> ok <k>
/// <v>|corrupted|error`, `iter <ns> <k> <v>`, `len <ns> <n>`, `range <ns>
/// ok|corrupted|error`, `ranged <ns> <k> <v>`, `cursor <ns> <k> <v>`; `compact
/// ok|corrupted|error <why>`, and after `compact ok` the same reads, each line prefixed with
/// `after `; `done`.
fn read_all(path: &Path) -> String {
    let db = match common::ranged(path).build() {
        Ok(db) => db,
        Err(e) => return format!("open error {}\ndone\n", one_line(&e)),
    };
    let mut out = String::from("open ok\n");
    read_every_namespace(&db, "", &mut out);
    match db.compact() {
        Ok(()) => {
            out.push_str("compact ok\n");
            read_every_namespace(&db, "after ", &mut out);
        }
        Err(e) => out.push_str(&format!("compact {}\n", error_word(&e))),
    }
    out.push_str("done\n");
    out
}

/// [`read_all`]'s reads, each line prefixed with `prefix`.
fn read_every_namespace(db: &emdb_core::Emdb, prefix: &str, out: &mut String) {
    let mut line = |l: String| {
        out.push_str(prefix);
        out.push_str(&l);
        out.push('\n');
    };
    for (ns, letter, pool) in NAMESPACES {
        let name = ns.unwrap_or("-");
        let handle = match Handle::of(db, ns) {
            Ok(h) => h,
            Err(e) => {
                line(format!("namespace {name} error {}", one_line(&e)));
                continue;
            }
        };
        for i in 0..pool {
            let key = format!("{}{i:05}", letter as char);
            let answer = match handle.get(key.as_bytes()) {
                Ok(Some(v)) => format!("value {}", hex(&v)),
                Ok(None) => "none".to_owned(),
                Err(e) => error_word(&e),
            };
            line(format!("get {name} {} {answer}", hex(key.as_bytes())));
        }
        match handle.try_items() {
            Ok(items) => {
                for item in items {
                    line(match item {
                        Ok((k, v)) => format!("try {name} ok {} {}", hex(&k), hex(&v)),
                        Err(e) => format!("try {name} {}", error_word(&e)),
                    });
                }
            }
            Err(e) => line(format!("try {name} {}", error_word(&e))),
        }
        match handle.len() {
            Ok(n) => line(format!("len {name} {n}")),
            Err(e) => line(format!("len {name} {}", error_word(&e))),
        }
        let range = handle.range_all();
        line(format!(
            "range {name} {}",
            range.as_ref().map_or_else(error_word, |_| "ok".to_owned())
        ));
        let mut pairs = |word: &str, items: emdb_core::Result<Vec<damage::Pair>>| match items {
            Ok(items) => items
                .iter()
                .for_each(|(k, v)| line(format!("{word} {name} {} {}", hex(k), hex(v)))),
            Err(e) => line(format!("{word} {name} {}", error_word(&e))),
        };
        if range.is_ok() {
            pairs("ranged", range);
        }
        pairs("iter", handle.items());
        pairs("cursor", handle.cursor_items());
    }
}

/// `corrupted`, or `error <why>` for any other error.
fn error_word(e: &Error) -> String {
    match e {
        Error::Corrupted { .. } => "corrupted".to_owned(),
        other => format!("error {}", one_line(other)),
    }
}

fn one_line(e: &Error) -> String {
    e.to_string().replace('\n', " ")
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".to_owned();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// A `get`'s answer.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Value(Option<Vec<u8>>),
    Corrupted,
    Error(String),
}

/// What the child read in one namespace.
#[derive(Default)]
struct Read {
    gets: BTreeMap<Vec<u8>, Answer>,
    tried: Vec<(Vec<u8>, Vec<u8>)>,
    tried_corrupted: usize,
    iterated: Vec<(Vec<u8>, Vec<u8>)>,
    len: Option<usize>,
    range: Option<Vec<(Vec<u8>, Vec<u8>)>>,
    range_corrupted: bool,
    cursor: Vec<(Vec<u8>, Vec<u8>)>,
    errors: Vec<String>,
}

/// What the child read: before the compaction, and after it when it succeeded.
struct Answers {
    before: BTreeMap<String, Read>,
    after: Option<BTreeMap<String, Read>>,
    compact: String,
}

/// Parses the child's answers: `None` when the open refused.
fn parse(answers: &str) -> Result<Option<Answers>, Vec<String>> {
    let mut lines = answers.lines();
    match lines.next() {
        Some("open ok") => {}
        Some(l) if l.starts_with("open error") => return Ok(None),
        other => return Err(vec![format!("the child's answers begin with {other:?}")]),
    }
    let mut parsed = Answers {
        before: BTreeMap::new(),
        after: None,
        compact: String::new(),
    };
    let mut done = false;
    for l in lines {
        if l == "done" {
            done = true;
            continue;
        }
        if let Some(outcome) = l.strip_prefix("compact ") {
            parsed.compact = outcome.to_owned();
            continue;
        }
        let (reads, l) = match l.strip_prefix("after ") {
            Some(rest) => (parsed.after.get_or_insert_with(BTreeMap::new), rest),
            None => (&mut parsed.before, l),
        };
        let words: Vec<&str> = l.split(' ').collect();
        let read = reads.entry(words[1].to_owned()).or_default();
        let pair = |a: usize| (unhex(words[a]), unhex(words[a + 1]));
        match (words[0], words.get(2).copied()) {
            ("get", _) => {
                let answer = match words[3] {
                    "value" => Answer::Value(Some(unhex(words[4]))),
                    "none" => Answer::Value(None),
                    "corrupted" => Answer::Corrupted,
                    _ => Answer::Error(words[3..].join(" ")),
                };
                read.gets.insert(unhex(words[2]), answer);
            }
            ("try", Some("ok")) => read.tried.push(pair(3)),
            ("try", Some("corrupted")) => read.tried_corrupted += 1,
            ("iter", Some(w)) if w != "error" && w != "corrupted" => read.iterated.push(pair(2)),
            ("len", Some(n)) if n.parse::<usize>().is_ok() => read.len = n.parse().ok(),
            ("range", Some("ok")) => read.range = Some(Vec::new()),
            ("range", Some("corrupted")) => read.range_corrupted = true,
            ("ranged", _) => read.range.get_or_insert_with(Vec::new).push(pair(2)),
            ("cursor", Some("corrupted")) => {}
            ("cursor", Some(w)) if w != "error" => read.cursor.push(pair(2)),
            _ => read.errors.push(l.to_owned()),
        }
    }
    if !done {
        return Err(vec!["the child's answers are cut short".to_owned()]);
    }
    Ok(Some(parsed))
}

/// Checks that a compaction changed no answer: every `get` and every pair the iterators
/// yield is as before, and `len` lost at most the expired records (a compaction drops
/// them). A compaction that met damage must refuse (`Corrupted`), not drop it.
fn same_after_compaction(answers: &Answers, base: &Base) -> Vec<String> {
    let Some(after) = &answers.after else {
        return match answers.compact.as_str() {
            "corrupted" => Vec::new(),
            other => vec![format!("the compaction failed: {other}")],
        };
    };
    let mut wrong = Vec::new();
    for (name, before) in &answers.before {
        let Some(now) = after.get(name) else {
            wrong.push(format!("{name}: no answers after the compaction"));
            continue;
        };
        if now.gets != before.gets {
            let changed: Vec<_> = before
                .gets
                .iter()
                .filter(|(k, a)| now.gets.get(*k) != Some(a))
                .map(|(k, a)| format!("{} {a:?} -> {:?}", String::from_utf8_lossy(k), now.gets.get(k)))
                .take(5)
                .collect();
            wrong.push(format!("{name}: get answers changed by the compaction: {changed:?}"));
        }
        let set = |pairs: &[(Vec<u8>, Vec<u8>)]| pairs.iter().cloned().collect::<BTreeMap<_, _>>();
        if set(&now.tried) != set(&before.tried) || now.tried_corrupted != before.tried_corrupted {
            wrong.push(format!("{name}: try_iter changed by the compaction"));
        }
        let expired = base.model.expired.len();
        match (before.len, now.len) {
            (Some(b), Some(n)) if n <= b && n + expired >= b => {}
            other => wrong.push(format!("{name}: len before and after the compaction {other:?}")),
        }
    }
    wrong
}

/// Judges a trial's answers against the model.
fn judge(base: &Base, damage: &Damage, text: &str) -> Result<Verdict, Vec<String>> {
    let layout = &base.layout;
    let Some(answers) = parse(text)? else {
        let why = text
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("open error ");
        let why: String = why.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect();
        let below = damage.target == Target::Log && damage.spans.iter().all(|s| s.end <= layout.floor);
        return Ok(Verdict::Refused(format!(
            "{}{why}",
            if below { "(damage below the checkpoint) " } else { "" }
        )));
    };
    let mut wrong = Vec::new();
    if damage.target == Target::Log && damage.kind == "truncation" && damage.spans[0].start < layout.floor {
        wrong.push(format!(
            "a log cut at {} below its checkpoint at {} opened",
            damage.spans[0].start, layout.floor
        ));
    }
    let (mut reported, mut missing) = (0, 0);
    for (ns, ..) in NAMESPACES {
        let name = ns.unwrap_or("-");
        let Some(read) = answers.before.get(name) else {
            wrong.push(format!("namespace {name}: no answers"));
            continue;
        };
        wrong.extend(read.errors.iter().map(|e| format!("an error: {e}")));
        let mut got: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut corrupted = 0;
        for (key, history) in base.model.history.iter().filter(|((n, _), _)| *n == ns) {
            let shown = String::from_utf8_lossy(&key.1);
            let Some(answer) = read.gets.get(&key.1) else {
                wrong.push(format!("{name}/{shown}: no answer"));
                continue;
            };
            let hit = hit(base, damage, key);
            let expected = base.model.expected(key);
            match answer {
                Answer::Value(v) => {
                    if let Some(v) = v {
                        got.insert(key.1.clone(), v.clone());
                    }
                    if v.as_deref() == expected {
                        continue;
                    }
                    if !base.model.was(key, v.as_deref()) {
                        wrong.push(format!(
                            "{name}/{shown}: a wrong value {:?}",
                            v.as_deref().map(String::from_utf8_lossy)
                        ));
                    } else if hit == Hit::InTail {
                        missing += 1;
                    } else {
                        wrong.push(format!(
                            "{name}/{shown}: read as an older answer ({} back) though its newest record {:?} is {}",
                            history.len() - 1 - history.iter().rposition(|h| h.as_deref() == v.as_deref()).unwrap_or(0),
                            layout.newest.get(key),
                            if hit == Hit::Intact {
                                "intact"
                            } else {
                                "below the checkpoint"
                            }
                        ));
                    }
                }
                Answer::Corrupted => {
                    corrupted += 1;
                    if hit != Hit::Intact {
                        reported += 1;
                    } else {
                        wrong.push(format!(
                            "{name}/{shown}: Corrupted though its newest record {:?} is intact",
                            layout.newest.get(key)
                        ));
                    }
                }
                Answer::Error(e) => wrong.push(format!("{name}/{shown}: {e}")),
            }
        }
        wrong.extend(agreement(
            name,
            read,
            &got,
            corrupted,
            base.model.expired.iter().filter(|k| k.0 == ns).count(),
        ));
    }
    wrong.extend(same_after_compaction(&answers, base));
    if wrong.is_empty() {
        Ok(Verdict::Read {
            reported,
            missing,
            compacted: answers.after.is_some(),
        })
    } else {
        Err(wrong)
    }
}

/// What the damage did to a key's newest record.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Hit {
    /// Nothing: the key reads right.
    Intact,
    /// Damaged below the checkpoint: the index still points at it, so the key reads right
    /// or `Corrupted`, never absent or older.
    BelowFloor,
    /// Damaged in the tail an open replays (its frame or its namespace's creation): the
    /// frame is dropped whole, as a batch must be, so the key may also read as before.
    InTail,
}

fn hit(base: &Base, damage: &Damage, key: &Key) -> Hit {
    let layout = &base.layout;
    if damage.target != Target::Log {
        return Hit::Intact;
    }
    let in_tail = |r: &std::ops::Range<u64>| r.start >= layout.floor && damage.touches(r);
    if let Some(ns) = key.0
        && layout
            .namespace_records
            .get(ns)
            .is_some_and(|records| records.iter().any(in_tail))
    {
        return Hit::InTail;
    }
    match layout.newest.get(key) {
        Some((_, frame)) if in_tail(frame) => Hit::InTail,
        Some((record, _)) if damage.touches(record) => Hit::BelowFloor,
        _ => Hit::Intact,
    }
}

/// Checks that the iterators of a namespace agree with its `get`s: `try_iter` yields
/// exactly the pairs `get` returned and one `Err` for each key `get` reported, `iter` and
/// the range cursor the same pairs without the `Err`s, `range` the same pairs or (when
/// keys were reported) `Corrupted`, and
/// `len` counts the pairs, the reported keys and at most the expired keys not yet swept.
fn agreement(
    name: &str,
    read: &Read,
    got: &BTreeMap<Vec<u8>, Vec<u8>>,
    corrupted: usize,
    expired: usize,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let tried: BTreeMap<Vec<u8>, Vec<u8>> = read.tried.iter().cloned().collect();
    if tried != *got || tried.len() != read.tried.len() {
        let extra: Vec<_> = tried
            .iter()
            .filter(|(k, v)| got.get(*k) != Some(v))
            .map(|(k, _)| String::from_utf8_lossy(k))
            .take(5)
            .collect();
        let absent: Vec<_> = got
            .keys()
            .filter(|k| !tried.contains_key(*k))
            .map(|k| String::from_utf8_lossy(k))
            .take(5)
            .collect();
        wrong.push(format!(
            "{name}: try_iter and get disagree (try_iter alone: {extra:?}; get alone: {absent:?})"
        ));
    }
    if read.tried_corrupted != corrupted {
        wrong.push(format!(
            "{name}: try_iter reported {} records, get {corrupted} keys",
            read.tried_corrupted
        ));
    }
    let iterated: BTreeMap<Vec<u8>, Vec<u8>> = read.iterated.iter().cloned().collect();
    if iterated != tried || iterated.len() != read.iterated.len() {
        wrong.push(format!("{name}: iter and try_iter disagree"));
    }
    let sorted: Vec<(Vec<u8>, Vec<u8>)> = tried.into_iter().collect();
    // A damaged record whose key cannot be read cannot be ordered: the range index is not
    // built, `range` reports it and a cursor ends where it met it (a prefix of the pairs).
    let unordered = read.range_corrupted && corrupted > 0;
    if read.cursor != sorted && !(unordered && sorted.starts_with(&read.cursor)) {
        wrong.push(format!("{name}: the range cursor and try_iter disagree"));
    }
    match (&read.range, read.range_corrupted, corrupted) {
        (Some(range), false, _) if *range == sorted => {}
        (None, true, 1..) => {}
        _ => wrong.push(format!(
            "{name}: range(..) answered {} with {corrupted} keys reported",
            if read.range_corrupted {
                "Corrupted".to_owned()
            } else {
                format!("{:?} pairs", read.range.as_ref().map(Vec::len))
            }
        )),
    }
    let counted = sorted.len() + corrupted;
    match read.len {
        Some(n) if (counted..=counted + expired).contains(&n) => {}
        other => wrong.push(format!(
            "{name}: len {other:?} for {} pairs, {corrupted} reported, {expired} expired",
            sorted.len()
        )),
    }
    wrong
}
