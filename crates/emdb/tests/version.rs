//! The version a 1.0 user changes to (docs/COMPATIBILITY.md §0): the facade is emdb 2.x,
//! and the README and COMPATIBILITY name the one-line change to that same major version.

const README: &str = include_str!("../../../README.md");
const COMPATIBILITY: &str = include_str!("../../../docs/COMPATIBILITY.md");

fn major() -> &'static str {
    env!("CARGO_PKG_VERSION").split('.').next().unwrap_or("")
}

#[test]
fn the_facade_is_the_major_release_after_emdb_1() {
    assert_eq!(major(), "2", "emdb 1.0's successor is versioned 2.x");
}

#[test]
fn the_docs_name_the_version_users_change_to() {
    let line = format!("emdb = \"{}.0\"", major());
    for (name, text) in [("README.md", README), ("docs/COMPATIBILITY.md", COMPATIBILITY)] {
        assert!(
            text.contains("emdb = \"1.0\""),
            "{name} shows the line before the switch"
        );
        assert!(text.contains(&line), "{name} shows `{line}`");
    }
}
