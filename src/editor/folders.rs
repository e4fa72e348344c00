//! What the editor's file windows share: a folder walked through by clicking (a native dialog
//! would fight the host for the window and the keyboard), and work on a thread of its own,
//! whose outcome always arrives.

use super::theme;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One entry of the listed folder.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    path: PathBuf,
    folder: bool,
}

/// A folder and what it holds: its folders and, where an extension is given, its files of
/// that extension.
pub struct FolderView {
    folder: PathBuf,
    entries: Vec<Entry>,
    listing_error: Option<String>,
    /// The extension of the files listed, without the dot; `None`: folders only.
    files: Option<&'static str>,
    /// What the listing says when it has nothing to show.
    empty: &'static str,
}

impl FolderView {
    /// A view of the home folder listing folders and `files` (an extension without the dot).
    pub fn new(files: Option<&'static str>, empty: &'static str) -> Self {
        Self {
            folder: home(),
            entries: Vec::new(),
            listing_error: None,
            files,
            empty,
        }
    }

    /// The folder shown.
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Lists the folder again (on opening, and after something was written into it).
    pub fn refresh(&mut self) {
        self.go(self.folder.clone());
    }

    fn go(&mut self, folder: PathBuf) {
        match list(&folder, self.files) {
            Ok(entries) => {
                self.entries = entries;
                self.listing_error = None;
                self.folder = folder;
            }
            Err(why) => self.listing_error = Some(why),
        }
    }

    /// Draws the way up and home, the folder's name and its entries; returns the file
    /// clicked. A folder clicked is gone into.
    pub fn show(&mut self, ui: &mut egui::Ui, height: f32) -> Option<PathBuf> {
        let mut go_to = None;
        let mut chosen = None;
        ui.horizontal(|ui| {
            if ui.button("Up").clicked() {
                go_to = self.folder.parent().map(Path::to_path_buf);
            }
            if ui.button("Home").clicked() {
                go_to = Some(home());
            }
            ui.label(egui::RichText::new(self.folder.display().to_string()).color(theme::TEXT_DIM));
        });
        ui.separator();
        if let Some(why) = &self.listing_error {
            ui.colored_label(theme::LIMIT, why);
        }
        egui::ScrollArea::vertical()
            .max_height(height)
            .show(ui, |ui| {
                for entry in &self.entries {
                    let label = if entry.folder {
                        format!("{}/", entry.name)
                    } else {
                        entry.name.clone()
                    };
                    if ui.selectable_label(false, label).clicked() {
                        if entry.folder {
                            go_to = Some(entry.path.clone());
                        } else {
                            chosen = Some(entry.path.clone());
                        }
                    }
                }
                if self.entries.is_empty() && self.listing_error.is_none() {
                    ui.label(egui::RichText::new(self.empty).color(theme::TEXT_DIM));
                }
            });
        if let Some(folder) = go_to {
            self.go(folder);
        }
        chosen
    }
}

/// The user's home folder, or the root where there is none.
fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

/// Folders first, then the files of extension `files`, each sorted; hidden entries left out.
fn list(folder: &Path, files: Option<&str>) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = std::fs::read_dir(folder)
        .map_err(|e| format!("cannot list {}: {e}", folder.display()))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = e.path();
            let folder = path.is_dir();
            let listed = files.is_some_and(|wanted| {
                path.extension()
                    .is_some_and(|x| x.eq_ignore_ascii_case(wanted))
            });
            (!name.starts_with('.') && (folder || listed)).then_some(Entry { name, path, folder })
        })
        .collect();
    entries.sort_by(|a, b| {
        b.folder
            .cmp(&a.folder)
            .then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase()))
    });
    Ok(entries)
}

/// Work running on a thread of its own: the editor keeps drawing, and polls for the
/// outcome, which always arrives, a panic included (as an error), so that nothing stays
/// busy.
pub struct Background<T> {
    slot: Option<Slot<T>>,
}

/// Where a thread leaves its outcome.
type Slot<T> = Arc<Mutex<Option<Result<T, String>>>>;

impl<T> Default for Background<T> {
    fn default() -> Self {
        Self { slot: None }
    }
}

impl<T: Send + 'static> Background<T> {
    /// Whether the work is still running.
    pub fn busy(&self) -> bool {
        self.slot.is_some()
    }

    /// Runs `job` on a thread called `name`, repainting `ctx` when it is done; `failed` is
    /// the outcome should it panic. Fails only when no thread can be started.
    pub fn start(
        &mut self,
        ctx: egui::Context,
        name: &str,
        failed: &'static str,
        job: impl FnOnce() -> Result<T, String> + Send + 'static,
    ) -> Result<(), String> {
        let slot = Arc::new(Mutex::new(None));
        let filled = slot.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
                    .unwrap_or_else(|_| Err(failed.into()));
                *filled.lock().unwrap_or_else(|e| e.into_inner()) = Some(outcome);
                ctx.request_repaint();
            })
            .map_err(|e| format!("cannot start: {e}"))?;
        self.slot = Some(slot);
        Ok(())
    }

    /// The outcome, once the work is done (once).
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        let done = self
            .slot
            .as_ref()
            .and_then(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).take());
        if done.is_some() {
            self.slot = None;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_that_panics_ends_in_its_error_and_frees_the_slot() {
        let mut work = Background::<()>::default();
        work.start(
            egui::Context::default(),
            "soundstage-test",
            "failed unexpectedly",
            || panic!("a bug"),
        )
        .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut outcome = None;
        while outcome.is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
            outcome = work.poll();
        }
        assert_eq!(outcome, Some(Err("failed unexpectedly".to_string())));
        assert!(
            !work.busy(),
            "the work stayed busy after its thread panicked"
        );
    }

    #[test]
    fn a_folders_only_view_lists_no_files_and_a_sofa_view_only_sofa_files() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["b.sofa", "a.SOFA", "notes.txt", ".hidden.sofa"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("Zed")).unwrap();
        let names = |files| -> Vec<String> {
            list(dir.path(), files)
                .unwrap()
                .into_iter()
                .map(|e| e.name)
                .collect()
        };
        assert_eq!(names(Some("sofa")), ["Zed", "a.SOFA", "b.sofa"]);
        assert_eq!(names(None), ["Zed"]);
    }
}
