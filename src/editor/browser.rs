//! The SOFA browser, drawn by the editor itself (see [`super::folders`]): folders and
//! `.sofa` files, clicked, never typed. Loading runs on a thread of its own; the audio keeps the last good design meanwhile. A measured head
//! becomes the head designed for; a measured device too, and its nominal listener's
//! geometry becomes the parameters'.

use super::folders::{Background, FolderView};
use super::{floats_hold, set_floats, theme};
use crate::design::model::geometry::Geometry;
use crate::design::model::head::{HeadChoice, StoredSet};
use crate::design::model::sofa::{read_any, SofaSet};
use crate::design::model::sofa_device::DeviceSet;
use crate::design::model::stored_device::StoredDevice;
use crate::params::{Float, SoundstageParams};
use nice_plug::prelude::ParamSetter;
use std::path::PathBuf;
use std::sync::Arc;

/// A device read and ready to be designed for, with the geometry its nominal listener gives
/// the parameters.
type LoadedDevice = (Arc<StoredDevice>, Geometry);

/// What a load finished with: the set's name and, for a device, the device.
type Loaded = (String, Option<LoadedDevice>);

/// What a load finished with, or why it failed.
type Outcome = Result<Loaded, String>;

/// The browser's state, kept across frames (and editor openings).
pub struct Browser {
    open: bool,
    view: FolderView,
    /// The load in progress.
    loading: Background<Loaded>,
    /// The outcome of the last load, shown until the next.
    last: Option<Outcome>,
    /// A device read, whose geometry the editor's thread is to set on the parameters.
    device: Option<LoadedDevice>,
    /// A device whose geometry was set and is awaited on the parameters (hosts apply a
    /// change when they next process), with the frames left before it is chosen anyway.
    awaiting: Option<(LoadedDevice, u32)>,
}

impl Default for Browser {
    fn default() -> Self {
        Self {
            open: false,
            view: FolderView::new(Some("sofa"), "no folders or .sofa files here"),
            loading: Background::default(),
            last: None,
            device: None,
            awaiting: None,
        }
    }
}

impl Browser {
    /// Opens the browser on its folder.
    pub fn open(&mut self) {
        self.open = true;
        self.view.refresh();
    }

    /// Whether a file is being read.
    pub fn busy(&self) -> bool {
        self.loading.busy()
    }

    /// Reads `path` on a thread; on success the set becomes what is designed for (a device
    /// only on an instance with as many outputs as it has drivers).
    fn load(
        &mut self,
        path: PathBuf,
        params: Arc<SoundstageParams>,
        outputs: usize,
        ctx: egui::Context,
    ) {
        self.start(ctx, move || {
            let in_file = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
            match read_any(&path).map_err(|e| in_file(&e))? {
                SofaSet::Head(set) => {
                    params.set_head_choice(HeadChoice {
                        measured: true,
                        device_chosen: false,
                        set: Some(Arc::new(StoredSet::from_set(&set))),
                        ..params.head_choice()
                    });
                    Ok((set.name, None))
                }
                SofaSet::Device(set) => {
                    let geometry = device_geometry(&set, outputs).map_err(|e| in_file(&e))?;
                    let stored = StoredDevice::from_set(&set).map_err(|e| in_file(&e))?;
                    Ok((set.name, Some((Arc::new(stored), geometry))))
                }
            }
        });
    }

    /// Runs `job` on the load thread. Its outcome always arrives, a panic included (as an
    /// error), so the browser never stays busy.
    fn start(&mut self, ctx: egui::Context, job: impl FnOnce() -> Outcome + Send + 'static) {
        let started = self.loading.start(
            ctx,
            "soundstage-sofa",
            "reading the file failed unexpectedly",
            job,
        );
        if let Err(why) = started {
            self.last = Some(Err(format!("cannot read: {why}")));
        }
    }

    /// Picks up a finished load.
    fn poll(&mut self) {
        if let Some(outcome) = self.loading.poll() {
            if let Ok((_, device)) = &outcome {
                self.open = false;
                self.device = device.clone();
            }
            self.last = Some(outcome);
        }
    }

    /// Draws the browser window when it is open. A loaded device's geometry goes on the
    /// parameters through `setter` (one undo step per parameter, as a preset does) before the
    /// device is chosen, so that no design is made for the device at another geometry.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        params: &Arc<SoundstageParams>,
        setter: &ParamSetter,
        outputs: usize,
    ) {
        self.poll();
        if let Some(loaded) = self.device.take() {
            set_floats(params, setter, &with_geometry(params, &loaded.1), &GEOMETRY);
            // The geometry is the device's now, not a preset's.
            params
                .preset
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            self.awaiting = Some((loaded, GEOMETRY_WAIT_FRAMES));
        }
        if let Some(((device, g), frames)) = self.awaiting.take() {
            if floats_hold(params, &with_geometry(params, &g), &GEOMETRY) || frames == 0 {
                params.set_head_choice(HeadChoice {
                    device_chosen: true,
                    device: Some(device),
                    ..params.head_choice()
                });
            } else {
                self.awaiting = Some(((device, g), frames - 1));
                ctx.request_repaint();
            }
        }
        if !self.open {
            return;
        }
        let mut open = self.open;
        let mut chosen = None;
        egui::Window::new("Load a measured head or device (SOFA)")
            .open(&mut open)
            .collapsible(false)
            .default_size(egui::vec2(520.0, 420.0))
            .show(ctx, |ui| {
                chosen = self.view.show(ui, 300.0);
                ui.separator();
                if self.busy() {
                    ui.label("reading…");
                } else if let Some(Err(why)) = &self.last {
                    ui.colored_label(theme::LIMIT, why);
                }
            });
        self.open = open;
        if let (Some(path), false) = (chosen, self.busy()) {
            self.load(path, params.clone(), outputs, ctx.clone());
        }
    }
}

/// The parameters a device's geometry sets.
const GEOMETRY: [Float; 4] = [Float::Spacing, Float::Distance, Float::Offset, Float::Yaw];

/// Frames the editor waits for a device's geometry to reach the parameters before it
/// chooses the device anyway (a host that never applies them: the designer then says why
/// the device cannot serve).
const GEOMETRY_WAIT_FRAMES: u32 = 120;

/// The current settings with `g`'s spacing and listener.
fn with_geometry(
    params: &SoundstageParams,
    g: &Geometry,
) -> crate::design::config::settings::Settings {
    crate::design::config::settings::Settings {
        spacing_m: g.spacing_m,
        distance_m: g.distance_m,
        offset_m: g.offset_m,
        yaw_deg: g.yaw_deg,
        ..params.settings()
    }
}

/// The geometry of `set`'s nominal listener, if this instance's `outputs` are its drivers
/// and the parameters can hold it: a plugin's outputs are fixed by the host's layout, so a
/// device of another driver count is refused with both counts, and one whose spacing or
/// listener the parameters' ranges do not reach with the value and the range.
fn device_geometry(set: &DeviceSet, outputs: usize) -> Result<Geometry, String> {
    if set.drivers() != outputs {
        return Err(format!(
            "the device has {} drivers and this instance {outputs} outputs: insert Soundstage \
             with {} outputs (CLAP) or design from it with the command line",
            set.drivers(),
            set.drivers()
        ));
    }
    let g = set.geometry(set.nominal);
    let settings = crate::design::config::settings::Settings {
        spacing_m: g.spacing_m,
        distance_m: g.distance_m,
        offset_m: g.offset_m,
        yaw_deg: g.yaw_deg,
        ..Default::default()
    };
    for f in GEOMETRY {
        let spec = f.spec();
        // As the parameter will hold it.
        let value = (spec.read)(&settings) as f32;
        if !(spec.min..=spec.max).contains(&value) {
            return Err(format!(
                "the device's {} is {} and the parameter takes {} to {}: design from it with \
                 the command line",
                spec.name.to_lowercase(),
                spec.format(value),
                spec.format(spec.min),
                spec.format(spec.max)
            ));
        }
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::model::sofa_device::{DeviceConvention, ListenerMeasurement};

    #[test]
    fn a_device_loads_only_on_an_instance_with_its_driver_count() {
        let listener = ListenerMeasurement {
            offset_m: 0.02,
            distance_m: 0.7,
            yaw_deg: 5.0,
            irs: [vec![vec![1.0]; 3], vec![vec![1.0]; 3]],
            delays: [vec![0.0; 3], vec![0.0; 3]],
        };
        let set = DeviceSet {
            name: "prototype".into(),
            convention: DeviceConvention::SingleRoomMimoSrir,
            sample_rate: 48_000.0,
            taps: 1,
            spacing_m: 0.1,
            emitters: vec![0, 1, 2],
            driver_x_m: vec![-0.1, 0.0, 0.1],
            listeners: vec![listener],
            nominal: 0,
        };
        let g = device_geometry(&set, 3).expect("three drivers on three outputs");
        assert_eq!(
            (g.spacing_m, g.distance_m, g.offset_m, g.yaw_deg),
            (0.1, 0.7, 0.02, 5.0)
        );
        let why = device_geometry(&set, 2).unwrap_err();
        assert!(
            why.contains("3 drivers") && why.contains("2 outputs"),
            "{why}"
        );
        // A listener at the parameter's very edge, as the parameter holds it.
        let mut edge = set.clone();
        edge.listeners[0].distance_m = 0.2;
        assert!(device_geometry(&edge, 3).is_ok());
        let narrow = DeviceSet {
            spacing_m: 0.03,
            driver_x_m: vec![-0.03, 0.0, 0.03],
            ..set
        };
        let why = device_geometry(&narrow, 3).unwrap_err();
        assert!(
            why.contains("driver spacing is 3.0 cm") && why.contains("5.0 cm to 300.0 cm"),
            "{why}"
        );
    }

    #[test]
    fn a_load_that_panics_ends_in_an_error_and_frees_the_button() {
        let mut browser = Browser::default();
        browser.start(egui::Context::default(), || panic!("a reader bug"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while browser.busy() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
            browser.poll();
        }
        assert!(
            !browser.busy(),
            "the browser stayed busy after the load thread panicked"
        );
        assert!(
            matches!(&browser.last, Some(Err(why)) if why.contains("unexpectedly")),
            "{:?}",
            browser.last
        );
    }
}
