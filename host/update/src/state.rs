//! The updater's record in the app's data directory, `var/update/state.json`: which version was
//! installed over which (and where the previous image is), which versions were rolled back (a
//! check never offers them again) and the notice to show once after a rollback. Written whole
//! and atomically (a temporary file, fsynced, renamed over, the directory fsynced): a kill leaves
//! the old record or the new one.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::install::sync_dir;
use crate::{Error, Result};

/// How many rolled-back versions are remembered.
const ROLLED_BACK_KEPT: usize = 16;
/// The largest record read: it holds a few short strings.
const MAX_STATE: u64 = 64 * 1024;

/// The record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    /// The last update installed, while its previous image is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) installed: Option<Install>,
    /// Versions rolled back after they failed, oldest first.
    #[serde(default)]
    pub(crate) rolled_back: Vec<String>,
    /// What to tell the user on the next start, once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notice: Option<String>,
}

/// One installed update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Install {
    /// The version installed.
    pub(crate) version: String,
    /// The version it replaced.
    pub(crate) from: String,
    /// The image replaced (symbolic links resolved).
    pub(crate) image: PathBuf,
    /// Where the replaced image is kept.
    pub(crate) previous: PathBuf,
}

impl State {
    /// `<data>/var/update/state.json`.
    pub(crate) fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("var").join("update").join("state.json")
    }

    /// The record, or an empty one when there is none yet.
    pub(crate) fn load(data_dir: &Path) -> Result<State> {
        let path = State::path(data_dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        if bytes.len() as u64 > MAX_STATE {
            return Err(Error::State {
                path,
                problem: format!("more than {MAX_STATE} bytes: not this updater's record"),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::State {
            problem: format!("not this updater's record ({e}); remove it to start afresh"),
            path,
        })
    }

    /// Writes the record atomically.
    pub(crate) fn save(&self, data_dir: &Path) -> Result<()> {
        let path = State::path(data_dir);
        let dir = path.parent().unwrap_or(data_dir);
        std::fs::create_dir_all(dir).map_err(Error::io("create", dir))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::State {
            path: path.clone(),
            problem: e.to_string(),
        })?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(dir).map_err(Error::io("create a file in", dir))?;
        tmp.write_all(&json)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(Error::io("write", tmp.path()))?;
        tmp.persist(&path)
            .map_err(|e| Error::io("rename", &path)(e.error))?;
        sync_dir(dir)
    }

    /// Remembers that `version` was rolled back.
    pub(crate) fn refuse(&mut self, version: &str) {
        self.rolled_back.retain(|v| v != version);
        self.rolled_back.push(version.to_owned());
        let over = self.rolled_back.len().saturating_sub(ROLLED_BACK_KEPT);
        self.rolled_back.drain(..over);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_and_loaded() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), State::default());
        let mut s = State {
            installed: Some(Install {
                version: "0.2.0".into(),
                from: "0.1.0".into(),
                image: "/a/app".into(),
                previous: "/a/.app.previous".into(),
            }),
            ..State::default()
        };
        for i in 0..20 {
            s.refuse(&format!("0.{i}.0"));
        }
        s.refuse("0.5.0");
        assert_eq!(s.rolled_back.len(), ROLLED_BACK_KEPT);
        assert_eq!(s.rolled_back.last().unwrap(), "0.5.0");
        s.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap(), s);
        std::fs::write(State::path(dir.path()), b"{").unwrap();
        let err = State::load(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("state.json: not this updater's record"),
            "{err}"
        );
    }
}
