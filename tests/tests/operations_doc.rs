//! docs/operations.md explains every drop reason the data path counts:
//! the list comes from the data path's own enum, so a new reason fails
//! this test until the operations guide says what it means.

use rvs_dataplane::drop::DropReason;
use std::collections::BTreeSet;

/// The first cells of the table rows of `text` that start with a code
/// span: `| `name` | ...`.
fn row_keys(text: &str) -> BTreeSet<&str> {
    text.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split_once("` |").map(|(k, _)| k)).collect()
}

#[test]
fn every_drop_reason_has_a_row_in_the_operations_guide() {
    let path = rvs_tests::root().join("docs/operations.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows = row_keys(&doc);
    assert!(rows.len() >= DropReason::COUNT, "{} rows for {} reasons", rows.len(), DropReason::COUNT);
    let missing: Vec<&str> = DropReason::ALL.iter().map(|r| r.name()).filter(|n| !rows.contains(n)).collect();
    assert!(missing.is_empty(), "drop reasons with no row in docs/operations.md: {missing:?}");
    // And no row names a reason that no longer exists.
    let names: BTreeSet<&str> = DropReason::ALL.iter().map(|r| r.name()).collect();
    let start = doc.find("## Reading drop counters").expect("drop counter section");
    let end = doc[start..].find("\n## ").map_or(doc.len(), |i| start + i);
    let stale: Vec<&str> = row_keys(&doc[start..end]).into_iter().filter(|k| !names.contains(k)).collect();
    assert!(stale.is_empty(), "rows for unknown drop reasons: {stale:?}");
}
