//! Putting a run's results in place (runtime), safely: `--out` is only ever replaced when it
//! is a results directory mid made (it holds the marker file `.mid-results`), never the data
//! set, the script's directory or anything containing them; one run at a time holds a lock
//! beside it; the new results are written whole into a temporary directory beside `--out`
//! and swapped in by renames, the old ones kept aside until the new ones are in place. A run
//! that is killed part way leaves either the old results or the new ones: the next run puts
//! back old results it finds set aside, and removes what killed runs left behind.
//! `MID_FAULT=before-swap|old-aside|new-in-place` stops the process at that step and
//! `MID_FAULT=swap-fails` makes the last rename fail, for the tests.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The marker file of a results directory.
pub const MARKER: &str = ".mid-results";

/// The marker's content: what made the directory.
const MARKER_TEXT: &str = "{\"format\": \"mid results\", \"version\": 1}\n";

/// A fault to inject (tests): the process stops abruptly at this step.
fn fault(step: &str) {
    if injected(step) {
        // As if killed: no destructor, no clean-up.
        std::process::exit(137);
    }
}

/// Whether the test asked for a fault at this step (`MID_FAULT=step`).
fn injected(step: &str) -> bool {
    std::env::var("MID_FAULT").is_ok_and(|f| f == step)
}

fn canonical(p: &Path) -> Option<PathBuf> {
    fs::canonicalize(p).ok()
}

/// Where a run's results go: `--out`, checked, and locked for this run.
pub struct Place {
    out: PathBuf,
    parent: PathBuf,
    name: String,
    lock: PathBuf,
}

impl Place {
    /// Checks that `out` may receive results and takes its lock. `--out` may neither be nor
    /// contain the data set or the script's directory, nor lie inside the data set.
    pub fn claim(out: &Path, data: &Path, script: &Path) -> Result<Place> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n != "." && n != "..")
            .ok_or_else(|| {
                Error::usage(format!(
                    "--out {} names no directory of its own; give a path such as out/study",
                    out.display()
                ))
            })?;
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        fs::create_dir_all(&parent)
            .map_err(|e| Error::context(format!("cannot create {}", parent.display()), e))?;
        let place = Place {
            lock: parent.join(format!(".{name}.mid-lock")),
            out: out.to_path_buf(),
            parent,
            name,
        };
        place.guard(data, script)?;
        place.take_lock()?;
        // Results a killed run set aside are put back before anything else happens.
        place.recover()?;
        place.check_contents()?;
        Ok(place)
    }

    fn aside(&self) -> PathBuf {
        self.parent.join(format!(".{}.mid-previous", self.name))
    }

    fn temp_prefix(&self) -> String {
        format!(".{}.mid-run-", self.name)
    }

    /// `--out` must not be or contain the data set or the script's directory, nor lie
    /// inside the data set.
    fn guard(&self, data: &Path, script: &Path) -> Result<()> {
        let out = canonical(&self.out)
            .or_else(|| canonical(&self.parent).map(|p| p.join(&self.name)))
            .unwrap_or_else(|| self.out.clone());
        let refuse = |what: &str, p: &Path| {
            Err(Error::usage(format!(
                "--out {} would {what} {}: results never replace or go into a data set, nor replace a script's directory",
                self.out.display(),
                p.display()
            )))
        };
        if let Some(d) = canonical(data) {
            if d.starts_with(&out) {
                return refuse("replace the data set", &d);
            }
            if out.starts_with(&d) {
                return refuse("write into the data set", &d);
            }
        }
        let dir = script
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Some(s) = canonical(dir)
            && s.starts_with(&out)
        {
            return refuse("replace the directory of the script", &s);
        }
        Ok(())
    }

    /// `--out` may be new, empty, or a results directory mid made.
    fn check_contents(&self) -> Result<()> {
        if !self.out.exists() {
            return Ok(());
        }
        if !self.out.is_dir() {
            return Err(Error::usage(format!(
                "--out {} is a file, not a directory",
                self.out.display()
            )));
        }
        let empty = fs::read_dir(&self.out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if empty || self.out.join(MARKER).is_file() {
            return Ok(());
        }
        Err(Error::usage(format!(
            "--out {} holds files that are not mid results (no {MARKER}); choose another directory",
            self.out.display()
        )))
    }

    /// One run per `--out` at a time: the lock file names the process holding it; a lock
    /// whose process is gone is taken over.
    fn take_lock(&self) -> Result<()> {
        for _ in 0..2 {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&self.lock)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&self.lock)
                        .ok()
                        .and_then(|t| t.trim().parse::<u32>().ok());
                    let alive =
                        holder.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
                    if alive {
                        return Err(Error::new(format!(
                            "another mid run (process {}) is writing to {}; wait for it to finish",
                            holder.unwrap_or(0),
                            self.out.display()
                        )));
                    }
                    // The run that held it was killed: take it over.
                    let _ = fs::remove_file(&self.lock);
                }
                Err(e) => {
                    return Err(Error::context(
                        format!("cannot lock {}", self.out.display()),
                        e,
                    ));
                }
            }
        }
        Err(Error::new(format!("cannot lock {}", self.out.display())))
    }

    fn release(&self) {
        let _ = fs::remove_file(&self.lock);
    }

    /// Puts back results a killed run set aside, and removes temporary directories killed
    /// runs left (the lock says no other run is writing them).
    fn recover(&self) -> Result<()> {
        let aside = self.aside();
        if aside.exists() {
            if self.out.exists() {
                // The swap finished before the kill: the aside copy is the old results.
                fs::remove_dir_all(&aside)
                    .map_err(|e| Error::context(format!("cannot remove {}", aside.display()), e))?;
            } else {
                fs::rename(&aside, &self.out).map_err(|e| {
                    Error::context(
                        format!("cannot put back the earlier results {}", aside.display()),
                        e,
                    )
                })?;
            }
        }
        if let Ok(entries) = fs::read_dir(&self.parent) {
            let prefix = self.temp_prefix();
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(())
    }

    /// A new empty directory to write the results into, beside `--out`, marked as results.
    pub fn temp(&self) -> Result<PathBuf> {
        let tmp = tempfile::Builder::new()
            .prefix(&self.temp_prefix())
            .tempdir_in(&self.parent)
            .map_err(|e| {
                Error::context(
                    format!(
                        "cannot create a temporary directory in {}",
                        self.parent.display()
                    ),
                    e,
                )
            })?
            .keep();
        fs::write(tmp.join(MARKER), MARKER_TEXT)
            .map_err(|e| Error::context(format!("cannot write {}", tmp.display()), e))?;
        Ok(tmp)
    }

    /// Drops a failed run's temporary directory (and, with `self`, the lock): the old
    /// results stay.
    pub fn abandon(self, tmp: &Path) {
        let _ = fs::remove_dir_all(tmp);
    }

    /// Swaps the finished results in: old results aside, new ones in place, old ones removed.
    pub fn commit(self, tmp: &Path) -> Result<()> {
        fault("before-swap");
        let aside = self.aside();
        let had_old = self.out.exists();
        if had_old && let Err(e) = fs::rename(&self.out, &aside) {
            let _ = fs::remove_dir_all(tmp);
            return Err(Error::context(
                format!(
                    "cannot set aside the earlier results in {}",
                    self.out.display()
                ),
                e,
            ));
        }
        fault("old-aside");
        let moved = if injected("swap-fails") {
            Err(std::io::Error::other("injected fault"))
        } else {
            fs::rename(tmp, &self.out)
        };
        if let Err(e) = moved {
            // Put the old results back; the new ones go.
            if had_old {
                let _ = fs::rename(&aside, &self.out);
            }
            let _ = fs::remove_dir_all(tmp);
            return Err(Error::context(
                format!("cannot move the results into {}", self.out.display()),
                e,
            ));
        }
        fault("new-in-place");
        if had_old {
            let _ = fs::remove_dir_all(&aside);
        }
        Ok(())
    }
}

impl Drop for Place {
    /// The lock goes with the run, however it ends (but a kill).
    fn drop(&mut self) {
        self.release();
    }
}
