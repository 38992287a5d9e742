//! The audit trail (runtime, network): an append-only, hash-chained log at each site and at
//! the data center. Every network command appends one entry; `mid audit verify` finds an
//! edited, deleted, inserted or reordered entry and names it.
//!
//! The log is JSON Lines. Each entry holds its sequence number, time, actor, place, action,
//! the SHA-256 of its inputs and outputs, the previous entry's hash and its own hash (of the
//! entry without `hash`, as serialised). A chain cannot show that entries were cut from its
//! end: every command therefore also writes the head it appended (`Head`) into its own
//! output, and `verify` compares a head given to it with the log.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The `prev` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One entry of the log, in the order its fields are serialised (and hashed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1 for the first entry, then one more for each.
    pub seq: u64,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub time: String,
    /// Who did it (the officer's name, the operator's user name).
    pub actor: String,
    /// Where: `site H01`, `center`.
    pub place: String,
    /// What: `site run`, `site approve`, `center combine`, ...
    pub action: String,
    /// What it read: a name and its SHA-256 (hex).
    pub inputs: BTreeMap<String, String>,
    /// What it wrote: a name and its SHA-256 (hex).
    pub outputs: BTreeMap<String, String>,
    /// The hash of the entry before (`GENESIS` for the first).
    pub prev: String,
    /// SHA-256 (hex) of this entry serialised without `hash`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hash: String,
}

/// What one command appends: everything but the chain fields.
#[derive(Debug, Clone, Default)]
pub struct Event {
    pub actor: String,
    pub place: String,
    pub action: String,
    pub inputs: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
}

/// Where a log ended when a command appended to it: recorded in that command's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Entry {
    /// The entry's hash: SHA-256 of its JSON without `hash`.
    pub fn digest(&self) -> String {
        let mut bare = self.clone();
        bare.hash.clear();
        let json = serde_json::to_vec(&bare).expect("an entry serialises");
        crate::output::record::sha256(&json)
    }
}

/// Appends `event` to the log at `path` (created when missing), chained to its last entry,
/// and returns the new head. The log is locked while it is read and extended, so two
/// commands never append the same `seq`; a damaged log is refused, not extended.
pub fn append(path: &Path, event: Event) -> Result<Head> {
    let what = |e: std::io::Error| Error::context(format!("audit log {}", path.display()), e);
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(what)?;
    file.lock().map_err(what)?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(what)?;
    let entries = check(&text).map_err(|p| {
        Error::new(format!(
            "audit log {} is damaged, nothing appended: {p}",
            path.display()
        ))
    })?;
    let (seq, prev) = entries
        .last()
        .map_or((1, GENESIS.to_string()), |e| (e.seq + 1, e.hash.clone()));
    let mut entry = Entry {
        seq,
        time: crate::output::record::timestamp(std::time::SystemTime::now()),
        actor: event.actor,
        place: event.place,
        action: event.action,
        inputs: event.inputs,
        outputs: event.outputs,
        prev,
        hash: String::new(),
    };
    entry.hash = entry.digest();
    let mut line = serde_json::to_string(&entry).expect("an entry serialises");
    line.push('\n');
    // A log whose last line lost its newline (a crash mid-write is refused above, so this is
    // an edit) was refused by `check`; append after the end as it is.
    file.seek(SeekFrom::End(0)).map_err(what)?;
    file.write_all(line.as_bytes()).map_err(what)?;
    file.sync_all().map_err(what)?;
    Ok(Head {
        seq,
        hash: entry.hash,
    })
}

/// Reads and checks a whole log.
pub fn verify(path: &Path) -> Result<Vec<Entry>> {
    let mut text = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|e| Error::context(format!("cannot read audit log {}", path.display()), e))?;
    check(&text).map_err(|p| Error::new(format!("audit log {}: {p}", path.display())))
}

/// Checks the chain of a log's text and names the first problem: the line, the entry, and
/// what was done to it.
pub fn check(text: &str) -> std::result::Result<Vec<Entry>, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line is incomplete (the log was cut or edited)".into());
    }
    let mut parsed = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let e: Entry = serde_json::from_str(line)
            .map_err(|err| format!("line {} is not an audit entry ({err})", i + 1))?;
        parsed.push(e);
    }
    let line_of = |seq: u64| parsed.iter().position(|e| e.seq == seq).map(|i| i + 1);
    let mut entries: Vec<Entry> = Vec::new();
    for (i, e) in parsed.iter().enumerate() {
        let n = i + 1;
        if e.hash != e.digest() {
            return Err(format!(
                "line {n} (entry {}) was edited: its content does not match its hash",
                e.seq
            ));
        }
        let expected = entries.last().map_or(1, |p| p.seq + 1);
        if e.seq != expected {
            return Err(if entries.iter().any(|p| p.seq == e.seq) {
                format!(
                    "line {n} holds entry {} again after entry {}: an entry was inserted or moved",
                    e.seq,
                    expected - 1
                )
            } else if let Some(later) = line_of(expected) {
                format!(
                    "line {n} holds entry {} where entry {expected} belongs: the entries were reordered (entry {expected} is on line {later})",
                    e.seq
                )
            } else if e.seq > expected {
                let missing = if e.seq == expected + 1 {
                    format!("entry {expected} was deleted")
                } else {
                    format!("entries {expected}–{} were deleted", e.seq - 1)
                };
                format!(
                    "line {n} holds entry {} where entry {expected} belongs: {missing}",
                    e.seq
                )
            } else {
                format!("line {n} holds entry {} out of order", e.seq)
            });
        }
        let prev = entries.last().map_or(GENESIS, |p| p.hash.as_str());
        if e.prev != prev {
            return Err(format!(
                "line {n} (entry {}) does not follow the entry before it: an entry was inserted, replaced or moved here",
                e.seq
            ));
        }
        entries.push(e.clone());
    }
    Ok(entries)
}

/// Checks that the log still reaches `head`: that no entry up to it was cut from the end.
pub fn reaches(entries: &[Entry], head: &Head) -> std::result::Result<(), String> {
    match entries.iter().find(|e| e.seq == head.seq) {
        Some(e) if e.hash == head.hash => Ok(()),
        Some(_) => Err(format!(
            "entry {} is not the entry recorded as the head (hash {})",
            head.seq,
            &head.hash[..head.hash.len().min(12)]
        )),
        None => Err(format!(
            "the log ends at entry {} but entry {} was recorded: entries were deleted from its end",
            entries.last().map_or(0, |e| e.seq),
            head.seq
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str) -> Event {
        Event {
            actor: "tanaka".into(),
            place: "site H01".into(),
            action: action.into(),
            inputs: [("package".to_string(), "ab".repeat(32))].into(),
            outputs: BTreeMap::new(),
        }
    }

    fn log_of(n: usize) -> (tempfile::TempDir, std::path::PathBuf, Vec<String>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("audit.jsonl");
        for i in 0..n {
            append(&path, event(&format!("step {i}"))).expect("append");
        }
        let text = std::fs::read_to_string(&path).expect("log");
        let lines = text.lines().map(String::from).collect();
        (dir, path, lines)
    }

    fn joined(lines: &[String]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn appended_entries_chain_and_verify() {
        let (_d, path, _) = log_of(3);
        let entries = verify(&path).expect("a clean log");
        assert_eq!(entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(entries[0].prev, GENESIS);
        assert_eq!(entries[2].prev, entries[1].hash);
        let head = Head {
            seq: 3,
            hash: entries[2].hash.clone(),
        };
        assert_eq!(reaches(&entries, &head), Ok(()));
    }

    #[test]
    fn an_edited_entry_is_named() {
        let (_d, _p, mut lines) = log_of(3);
        lines[1] = lines[1].replace("tanaka", "suzuki");
        let err = check(&joined(&lines)).expect_err("edited");
        assert_eq!(
            err,
            "line 2 (entry 2) was edited: its content does not match its hash"
        );
    }

    #[test]
    fn an_edited_entry_with_its_hash_recomputed_breaks_the_chain() {
        let (_d, _p, mut lines) = log_of(3);
        let mut e: Entry = serde_json::from_str(&lines[1]).expect("entry");
        e.actor = "suzuki".into();
        e.hash = e.digest();
        lines[1] = serde_json::to_string(&e).expect("json");
        let err = check(&joined(&lines)).expect_err("replaced");
        assert!(err.starts_with("line 3 (entry 3) does not follow"), "{err}");
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let (_d, _p, mut lines) = log_of(4);
        lines.remove(1);
        let err = check(&joined(&lines)).expect_err("deleted");
        assert_eq!(
            err,
            "line 2 holds entry 3 where entry 2 belongs: entry 2 was deleted"
        );
    }

    #[test]
    fn an_inserted_or_reordered_entry_is_named() {
        let (_d, _p, lines) = log_of(4);
        let mut swapped = lines.clone();
        swapped.swap(1, 2);
        let err = check(&joined(&swapped)).expect_err("reordered");
        assert_eq!(
            err,
            "line 2 holds entry 3 where entry 2 belongs: the entries were reordered (entry 2 is on line 3)"
        );
        let mut doubled = lines.clone();
        doubled.insert(2, lines[0].clone());
        let err = check(&joined(&doubled)).expect_err("inserted");
        assert_eq!(
            err,
            "line 3 holds entry 1 again after entry 2: an entry was inserted or moved"
        );
    }

    #[test]
    fn entries_cut_from_the_end_are_found_against_a_recorded_head() {
        let (_d, _p, lines) = log_of(3);
        let full = check(&joined(&lines)).expect("clean");
        let head = Head {
            seq: 3,
            hash: full[2].hash.clone(),
        };
        let cut = check(&joined(&lines[..2])).expect("a shorter chain is a chain");
        assert_eq!(
            reaches(&cut, &head),
            Err("the log ends at entry 2 but entry 3 was recorded: entries were deleted from its end".into())
        );
    }

    #[test]
    fn a_damaged_log_is_not_extended() {
        let (_d, path, mut lines) = log_of(2);
        lines[0] = lines[0].replace("step 0", "step X");
        std::fs::write(&path, joined(&lines)).expect("write");
        let err = append(&path, event("more"))
            .expect_err("damaged")
            .to_string();
        assert!(
            err.contains("is damaged, nothing appended: line 1"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&path).expect("log"), joined(&lines));
    }

    #[test]
    fn a_cut_last_line_is_refused() {
        let (_d, _p, lines) = log_of(2);
        let text = joined(&lines);
        let err = check(&text[..text.len() - 5]).expect_err("cut");
        assert!(err.contains("incomplete"), "{err}");
    }
}
