//! *Export filters…*: the filters the session designs, for a device's DSP, written exactly as
//! `soundstage export` writes them (see [`crate::design::export`]) into a new folder inside
//! one the user walks to. It runs on a thread of its own; an existing folder is never
//! written into.

use super::folders::{Background, FolderView};
use super::theme;
use crate::design::config::settings::Settings;
use crate::design::export::{check, write_export, ExportRequest, Provenance};
use crate::design::filters::chain::DesignInput;
use crate::design::filters::crossover::MIN_TAPS;
use crate::design::model::head::{HeadChoice, PlantCache};
use crate::design::model::plant::Plant;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Device rates offered besides the session's, Hz.
const RATES_HZ: [u32; 6] = [44_100, 48_000, 88_200, 96_000, 176_400, 192_000];

/// Filter lengths offered besides the design's full length (those shorter than it).
const TAP_CHOICES: [usize; 6] = [2048, 1024, 512, 256, 128, 64];

/// Name of the folder an export creates; a number follows it while one of that name exists.
pub const FOLDER_NAME: &str = "soundstage-filters";

/// Most folder names tried before the export gives up (a folder holding that many exports).
const MAX_FOLDER_TRIES: u32 = 1000;

/// Everything an export of the session needs, taken from it on the editor's thread.
#[derive(Clone, Debug)]
pub struct SessionExport {
    /// The session's settings.
    pub settings: Settings,
    /// The instance's outputs: the drivers.
    pub outputs: usize,
    /// The device's rate, Hz.
    pub rate: u32,
    /// The head or device the session designs for.
    pub plant: Arc<dyn Plant>,
    /// Length of every FIR; `None`: the design's full length.
    pub taps: Option<usize>,
    /// Also one text file of coefficients per input and driver.
    pub csv: bool,
    /// The preset last chosen (empty: none), for `filters.json`.
    pub preset: String,
}

impl SessionExport {
    /// The session's export with these options, or why it cannot be made: the head or
    /// device chosen does not serve the geometry (the plugin then keeps its last design, and
    /// an export of the sphere would not be what it plays).
    pub fn of(
        settings: Settings,
        outputs: usize,
        choice: &HeadChoice,
        plants: &mut PlantCache,
        options: (u32, Option<usize>, bool),
        preset: String,
    ) -> Result<Self, String> {
        let (plant, cannot) = plants.serving(choice, &settings.geometry(outputs));
        if let Some(why) = cannot {
            return Err(format!(
                "the head chosen cannot serve this geometry ({why}): choose another or change \
                 the geometry"
            ));
        }
        let (rate, taps, csv) = options;
        Ok(Self {
            settings,
            outputs,
            rate,
            plant,
            taps,
            csv,
            preset,
        })
    }
}

/// Creates a folder for an export inside `parent`: [`FOLDER_NAME`], or the first of
/// `soundstage-filters-2`, `-3`, … that does not exist. Creating fails on a folder that
/// exists, so two exports never share one, nor does an export write into an earlier one.
pub fn new_export_folder(parent: &Path) -> Result<PathBuf, String> {
    for n in 1..=MAX_FOLDER_TRIES {
        let name = if n == 1 {
            FOLDER_NAME.to_string()
        } else {
            format!("{FOLDER_NAME}-{n}")
        };
        let path = parent.join(name);
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "cannot create a folder in {}: {e}",
                    parent.display()
                ))
            }
        }
    }
    Err(format!(
        "{} already holds {MAX_FOLDER_TRIES} exports: choose another folder",
        parent.display()
    ))
}

/// Writes `e` into a new folder inside `parent` (see [`new_export_folder`]); returns one
/// line saying what was written where, and what it predicts.
pub fn export_session(parent: &Path, e: &SessionExport) -> Result<String, String> {
    let outdir = new_export_folder(parent)?;
    let origin = if e.preset.is_empty() {
        "plugin session".to_string()
    } else {
        format!("plugin session, preset {}", e.preset)
    };
    let request = ExportRequest {
        settings: e.settings,
        outputs: e.outputs,
        rate: e.rate,
        plant: e.plant.as_ref(),
        taps: e.taps,
        csv: e.csv,
        provenance: Provenance { origin, sofa: None },
    };
    let written = write_export(&outdir, &request).map_err(|why| {
        // The folder is new: leave nothing of a refused or failed export behind.
        let _ = std::fs::remove_dir_all(&outdir);
        why.to_string()
    })?;
    let f = &written.filters;
    let separation = written.predicted.canceller.map_or(String::new(), |c| {
        format!(
            "; predicted separation {:.1} dB at the listener",
            c.nominal_db
        )
    });
    Ok(format!(
        "wrote {} inputs × {} drivers × {} taps at {} Hz to {} (latency {} samples){separation}",
        f.inputs.len(),
        written.drivers,
        f.taps,
        e.rate,
        outdir.display(),
        f.latency_samples
    ))
}

/// The export window's state, kept across frames (and editor openings).
pub struct Exporter {
    open: bool,
    view: FolderView,
    work: Background<String>,
    /// What the last export said, or why it failed.
    last: Option<Result<String, String>>,
    /// The device's rate; `None`: the session's.
    rate: Option<u32>,
    /// The filters' length; `None`: the design's full length.
    taps: Option<usize>,
    csv: bool,
}

impl Default for Exporter {
    fn default() -> Self {
        Self {
            open: false,
            view: FolderView::new(None, "no folders here"),
            work: Background::default(),
            last: None,
            rate: None,
            taps: None,
            csv: false,
        }
    }
}

impl Exporter {
    /// Opens the window on its folder.
    pub fn open(&mut self) {
        self.open = true;
        self.view.refresh();
    }

    /// Draws the export window when it is open: where to, at what rate and length, and the
    /// button that exports the session as it is designed now.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        session: (Settings, usize, f64),
        choice: &HeadChoice,
        plants: &mut PlantCache,
        preset: String,
    ) {
        if let Some(outcome) = self.work.poll() {
            // The new folder shows in the listing.
            self.view.refresh();
            self.last = Some(outcome);
        }
        if !self.open {
            return;
        }
        let (settings, outputs, session_rate) = session;
        let session_rate = session_rate.round() as u32;
        let rate = self.rate.unwrap_or(session_rate);
        let layout = DesignInput {
            settings,
            outputs,
            sample_rate: f64::from(rate),
        }
        .layout();
        let full_taps = layout.design_taps();
        if self.taps.is_some_and(|t| t >= full_taps) {
            self.taps = None;
        }
        let refused = check(layout, self.taps.unwrap_or(full_taps)).err();
        let mut open = self.open;
        let mut export = false;
        egui::Window::new("Export the filters")
            .open(&mut open)
            .collapsible(false)
            .default_size(egui::vec2(560.0, 440.0))
            .show(ctx, |ui| {
                self.view.show(ui, 240.0);
                ui.separator();
                ui.horizontal(|ui| {
                    ui.label("Rate")
                        .on_hover_text("The device DSP's sample rate");
                    egui::ComboBox::from_id_salt("export-rate")
                        .selected_text(format!("{rate} Hz"))
                        .show_ui(ui, |ui| {
                            let session = format!("{session_rate} Hz (the session's)");
                            ui.selectable_value(&mut self.rate, None, session);
                            for r in RATES_HZ {
                                ui.selectable_value(&mut self.rate, Some(r), format!("{r} Hz"));
                            }
                        });
                    ui.add_space(12.0);
                    ui.label("Length").on_hover_text(
                        "Taps per filter: shorter ones fit a smaller DSP budget and cost \
                         separation (filters.json says how much)",
                    );
                    let shown = |t: Option<usize>| {
                        t.map_or(format!("{full_taps} taps (full)"), |t| format!("{t} taps"))
                    };
                    egui::ComboBox::from_id_salt("export-taps")
                        .selected_text(shown(self.taps))
                        .show_ui(ui, |ui| {
                            ui.selectable_value(&mut self.taps, None, shown(None));
                            for t in TAP_CHOICES
                                .into_iter()
                                .filter(|&t| t < full_taps && t >= MIN_TAPS)
                            {
                                ui.selectable_value(&mut self.taps, Some(t), shown(Some(t)));
                            }
                        });
                    ui.add_space(12.0);
                    ui.checkbox(&mut self.csv, "CSV too").on_hover_text(
                        "Beside the WAVs, one text file per input and driver, one coefficient \
                         per line",
                    );
                });
                ui.horizontal(|ui| {
                    let button =
                        egui::Button::new(format!("Export into a new {FOLDER_NAME} folder here"));
                    let enabled = refused.is_none() && !self.work.busy();
                    if ui
                        .add_enabled(enabled, button)
                        .on_hover_text(
                            "Writes filters.json and one WAV per input (a channel per driver) \
                             into a new folder inside the one shown, as soundstage export does",
                        )
                        .clicked()
                    {
                        export = true;
                    }
                    if self.work.busy() {
                        ui.label("exporting…");
                    }
                });
                if let Some(why) = &refused {
                    ui.colored_label(theme::LIMIT, why.to_string());
                } else if let Some(last) = &self.last {
                    match last {
                        Ok(said) => ui.label(egui::RichText::new(said).color(theme::TEXT_DIM)),
                        Err(why) => ui.colored_label(theme::LIMIT, why),
                    };
                }
            });
        self.open = open;
        if export {
            let options = (rate, self.taps, self.csv);
            match SessionExport::of(settings, outputs, choice, plants, options, preset) {
                Ok(e) => {
                    let parent = self.view.folder().to_path_buf();
                    let started = self.work.start(
                        ctx.clone(),
                        "soundstage-export",
                        "the export failed unexpectedly",
                        move || export_session(&parent, &e),
                    );
                    self.last = started.err().map(Err);
                }
                Err(why) => self.last = Some(Err(why)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::model::plant::SphereHead;

    fn sphere_export(taps: Option<usize>) -> SessionExport {
        SessionExport {
            settings: Settings::default(),
            outputs: 3,
            rate: 48_000,
            plant: Arc::new(SphereHead::default()),
            taps,
            csv: false,
            preset: "desktop".into(),
        }
    }

    #[test]
    fn each_export_goes_into_a_new_folder_and_never_into_an_earlier_one() {
        let dir = tempfile::tempdir().unwrap();
        let first = export_session(dir.path(), &sphere_export(None)).unwrap();
        let earlier = dir.path().join(FOLDER_NAME).join("filters.json");
        let before = std::fs::read(&earlier).unwrap();
        let second = export_session(dir.path(), &sphere_export(Some(256))).unwrap();
        assert!(first.contains(&format!("{FOLDER_NAME} ")), "{first}");
        assert!(second.contains(&format!("{FOLDER_NAME}-2 ")), "{second}");
        assert!(second.contains("× 256 taps"), "{second}");
        assert_eq!(
            std::fs::read(&earlier).unwrap(),
            before,
            "the first export was touched"
        );
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(dir.path().join(format!("{FOLDER_NAME}-2/filters.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(json["taps"], 256);
        assert_eq!(json["origin"], "plugin session, preset desktop");
        assert_eq!(json["outputs"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_device_the_geometry_has_left_is_not_exported_as_the_sphere() {
        use crate::design::model::sofa_device::{DeviceConvention, DeviceSet, ListenerMeasurement};
        use crate::design::model::stored_device::StoredDevice;
        let settings = Settings::default();
        let g = settings.geometry(2);
        let device = |spacing_m: f64| DeviceSet {
            name: "prototype".into(),
            convention: DeviceConvention::SingleRoomMimoSrir,
            sample_rate: 48_000.0,
            taps: 1,
            spacing_m,
            emitters: vec![0, 1],
            driver_x_m: vec![-spacing_m / 2.0, spacing_m / 2.0],
            listeners: vec![ListenerMeasurement {
                offset_m: g.offset_m,
                distance_m: g.distance_m,
                yaw_deg: g.yaw_deg,
                irs: [vec![vec![1.0], vec![0.5]], vec![vec![0.5], vec![1.0]]],
                delays: [vec![0.0; 2], vec![0.0; 2]],
            }],
            nominal: 0,
        };
        let chosen = |set: &DeviceSet| HeadChoice {
            device_chosen: true,
            device: Some(Arc::new(StoredDevice::from_set(set).unwrap())),
            ..HeadChoice::default()
        };
        let mut plants = PlantCache::default();
        let of = |set: &DeviceSet, plants: &mut PlantCache| {
            SessionExport::of(
                settings,
                2,
                &chosen(set),
                plants,
                (48_000, None, false),
                String::new(),
            )
        };
        let matched = of(&device(g.spacing_m), &mut plants).unwrap();
        assert!(
            matched.plant.name().contains("prototype"),
            "{}",
            matched.plant.name()
        );
        let why = of(&device(g.spacing_m + 0.05), &mut plants).unwrap_err();
        assert!(why.contains("cannot serve this geometry"), "{why}");
    }

    #[test]
    fn a_refused_export_says_why_and_leaves_no_folder() {
        let dir = tempfile::tempdir().unwrap();
        let low = SessionExport {
            settings: Settings {
                latency: crate::dsp::contract::LatencyMode::Low,
                ..Settings::default()
            },
            ..sphere_export(None)
        };
        let why = export_session(dir.path(), &low).unwrap_err();
        assert!(why.contains("normal latency mode"), "{why}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
