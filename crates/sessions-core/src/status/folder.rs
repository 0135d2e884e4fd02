//! The status folder: where `<project>-status.md` files and their `.<name>-updated`
//! signals live (the hub itself, or a separate folder such as the old `session-sync/`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::status::doc::StatusDoc;
use crate::status::edit::{self, Edit, Edited};
use crate::store::error::{Error, Result};
use crate::store::folder::Folder;
use crate::store::hub::Hub;
use crate::store::ids;
use crate::store::storage::{self, FileLock};
use crate::store::time;

/// File names: `<project>-status.md`.
pub const STATUS_SUFFIX: &str = "-status.md";

/// Signal file names: `.<name>-updated`.
pub const SIGNAL_SUFFIX: &str = "-updated";

/// The folder of status files (the hub itself, or a separate folder such as the old
/// `session-sync/`), with its locks and private state in `<dir>/.sessions/`.
#[derive(Debug, Clone)]
pub struct StatusFiles {
    folder: Folder,
    /// Files whose timestamp is older than this are stale.
    pub stale_after: Duration,
}

impl StatusFiles {
    /// The status folder of a hub: `dir` if the person gave one, else `[status] dir`
    /// from the hub config (a folder inside the hub, see `Status::dir_in_hub`), else
    /// the hub itself.
    pub fn for_hub(hub: &Hub, dir: Option<&Path>) -> Result<StatusFiles> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => match hub.config.status.dir_in_hub(hub.root())? {
                Some(d) => d,
                None => hub.root().to_path_buf(),
            },
        };
        let mut folder = Folder::at(&dir);
        folder.allow_secrets = hub.allow_secrets();
        Ok(StatusFiles {
            folder,
            stale_after: hub.config.status.stale_after,
        })
    }

    /// A status folder outside any hub, with the default settings.
    pub fn at(dir: &Path) -> StatusFiles {
        StatusFiles {
            folder: Folder::at(dir),
            stale_after: crate::store::config::Status::default().stale_after,
        }
    }

    /// The folder itself.
    pub fn dir(&self) -> &Path {
        self.folder.root()
    }

    /// The guarded folder every status file is reached through.
    pub fn folder(&self) -> &Folder {
        &self.folder
    }

    /// The same folder under another name for its root (the watcher's canonical one).
    pub fn with_dir(&self, dir: &Path) -> StatusFiles {
        let mut folder = Folder::at(dir);
        folder.allow_secrets = self.folder.allow_secrets;
        StatusFiles {
            folder,
            stale_after: self.stale_after,
        }
    }

    /// `--allow-secrets`: skip the secret check for this command.
    pub fn set_allow_secrets(&mut self, allow: bool) {
        self.folder.allow_secrets = allow;
    }

    /// `<dir>/<project>-status.md`, the project validated, refused when it is a
    /// symlink leading outside the folder: reading it would show, and editing it copy,
    /// a file from elsewhere.
    pub fn path(&self, project: &str) -> Result<PathBuf> {
        ids::validate("project", project)?;
        self.folder.resolve(&format!("{project}{STATUS_SUFFIX}"))
    }

    /// Refuse a file of the folder that is a symlink leading outside it.
    pub fn ensure_inside(&self, path: &Path) -> Result<()> {
        self.folder.ensure_inside(path)
    }

    /// The toolkit's private state beside the status files, or a file inside it.
    pub(crate) fn private(&self, rel: &str) -> Result<PathBuf> {
        self.folder.private(rel)
    }

    /// The sidecar lock `name` in the folder's private `.sessions/locks/`, refusing one
    /// that leads outside the folder.
    pub(crate) fn lock(&self, name: &str) -> Result<FileLock> {
        self.folder.lock(name)
    }

    fn check_secrets(&self, what: &str, text: &str) -> Result<()> {
        self.folder.check_secrets(what, text)
    }

    /// Every `<project>-status.md`, sorted by name.
    pub fn list(&self) -> Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        for (name, path) in self.folder.entries("")? {
            if storage::is_temp_or_hidden(&name) {
                continue;
            }
            if let Some(project) = name.strip_suffix(STATUS_SUFFIX)
                && ids::validate("project", project).is_ok()
            {
                out.push((project.to_string(), path));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Read and parse one project's file.
    pub fn load(&self, project: &str) -> Result<(PathBuf, String, StatusDoc)> {
        let path = self.path(project)?;
        let text = storage::read_text(&path)?.ok_or_else(|| Error::NotFound {
            what: "status file",
            name: path.display().to_string(),
        })?;
        let doc = StatusDoc::parse(&text);
        Ok((path, text, doc))
    }

    /// Create `<project>-status.md` from template text (`{{PROJECT}}`, `{{NOW}}`).
    /// Refuses to replace an existing file.
    pub fn create(&self, project: &str, template: &str) -> Result<PathBuf> {
        let path = self.path(project)?;
        storage::ensure_dir(self.dir())?;
        let text = template
            .replace("{{PROJECT}}", &project.to_uppercase())
            .replace("{{project}}", project)
            .replace("{{NOW}}", &time::format(time::now()));
        self.check_secrets("the status file", &text)?;
        if !storage::create_exclusive(&path, text.as_bytes())? {
            return Err(Error::Failed(format!(
                "{} already exists; edit it with `sessions report set`, or remove it first",
                path.display()
            )));
        }
        self.touch_signal(project)?;
        Ok(path)
    }

    /// Apply one edit: under the file's lock, re-read, patch only the changed line and
    /// the header timestamp, write atomically, then touch `.<project>-updated`.
    /// A file that does not exist yet is created.
    pub fn edit(&self, project: &str, edit: &Edit) -> Result<Edited> {
        let path = self.path(project)?;
        self.check_secrets("the status text", &edit::edit_user_text(edit))?;
        storage::ensure_dir(self.dir())?;
        let file_name = format!("{project}{STATUS_SUFFIX}");
        let now = time::now();
        let (line, previous, warnings) = {
            let _lock = self.lock(&file_name)?;
            let text = storage::read_text(&path)?.unwrap_or_default();
            let doc = StatusDoc::parse(&text);
            let (patches, line, previous) = edit::plan(project, &text, &doc, edit, now)?;
            let next = edit::apply(&text, patches);
            edit::check_reads_back(&doc, &next, edit)?;
            storage::write_atomic(&path, next.as_bytes())?;
            let warnings = edit::new_section_warning(&doc, edit).into_iter().collect();
            (line, previous, warnings)
        };
        let signal = self.touch_signal(project)?;
        Ok(Edited {
            project: project.to_string(),
            file: path,
            line,
            previous,
            updated_at: time::format(now),
            signal,
            warnings,
        })
    }

    /// `.<name>-updated`, the name validated.
    pub fn signal_path(&self, name: &str) -> Result<PathBuf> {
        ids::validate("signal name", name)?;
        self.folder.resolve(&format!(".{name}{SIGNAL_SUFFIX}"))
    }

    /// Touch `.<name>-updated` (create it, or set its time to now).
    pub fn touch_signal(&self, name: &str) -> Result<PathBuf> {
        let path = self.signal_path(name)?;
        storage::ensure_dir(self.dir())?;
        storage::touch(&path)?;
        Ok(path)
    }
}
