//! The editor: the main controls, the mode and preset selectors, the geometry, what the
//! design predicts (separation, ear responses, the beam, computed off the audio thread from
//! the code behind `soundstage report`) and the meters. Every control is a host parameter,
//! so automation and undo go through the host; none of them needs the keyboard.

mod analysis;
mod browser;
pub mod export;
mod folders;
mod meters;
mod plots;
mod shared;
mod theme;
mod tracking;
mod widgets;

pub use shared::Shared;

use crate::design::config::presets::{self, Preset};
use crate::design::config::settings::{Mode, Settings};
use crate::design::filters::chain::DesignInput;
use crate::design::model::head::{Chosen, HeadChoice, PlantCache};
use crate::params::{
    Float, LatencyParam, ModeParam, SoundstageParams, Switch, LATENCY_HELP, MODE_HELP,
};
use crate::tracking::listener::Tracker;
use analysis::AnalysisCache;
use egui::vec2;
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};
use std::sync::Arc;
use widgets::{Knob, Slider};

/// Smallest editor size, logical pixels (the smallest a session state may ask for).
pub const MIN_SIZE: (f32, f32) = (
    *crate::limits::EDITOR_SIZES[0].start(),
    *crate::limits::EDITOR_SIZES[1].start(),
);

/// Where the persisted editor size is in its round trip with the window.
#[derive(Clone, Copy, Debug, PartialEq)]
enum SizeSync {
    /// Just opened: the window has its default size, the saved one is yet to be requested.
    Pending,
    /// The saved size was requested; waiting (a bounded number of frames) for the host.
    Waiting { target: (f32, f32), frames: u32 },
    /// The window's size is the truth; changes are written back to the persisted field.
    Tracking,
}

/// Which prediction the large plot shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    /// Target against achieved separation.
    Cancellation,
    /// Near and far ear for a left-only input.
    Ears,
    /// Each driver at each ear: the plant the design inverts.
    Plant,
    /// The beam over azimuth and frequency.
    BeamMap,
    /// The beam's polar pattern at one frequency.
    Polar,
    /// Separation over listener positions, fixed and following.
    SweetSpot,
}

/// Frequencies the polar view offers, Hz.
const POLAR_CHOICES: [f64; 4] = [500.0, 1000.0, 2000.0, 4000.0];

/// The egui application behind the editor window.
pub struct SoundstageEditor {
    params: Arc<SoundstageParams>,
    state: Arc<EguiEditorState>,
    shared: Arc<Shared>,
    /// The head tracker: its settings are the session's, its status is shown.
    tracker: Arc<Tracker>,
    gui: Option<GuiContext>,
    size_sync: SizeSync,
    /// The heads the plots listen with (the one the filters are designed for).
    plants: PlantCache,
    /// The SOFA file browser.
    browser: browser::Browser,
    /// The filter export's window.
    exporter: export::Exporter,
    analyses: AnalysisCache,
    view: View,
    polar_hz: f64,
    /// The beam map uploaded, with the analysis it was drawn from.
    beam_texture: Option<(
        Arc<crate::design::evaluate::analysis::Analysis>,
        egui::TextureHandle,
    )>,
}

/// Builds the editor (called once by the host, before any state is restored).
pub fn create(
    params: Arc<SoundstageParams>,
    state: Arc<EguiEditorState>,
    repaint: RepaintNotifier,
    shared: Arc<Shared>,
    tracker: Arc<Tracker>,
) -> Option<EguiEditor<SoundstageEditor>> {
    let settings = EguiNiceSettings::new()
        .with_tile("Soundstage")
        .with_resize_hint(
            ResizeHint::resizable().with_min_logical_size(LogicalSize::new(MIN_SIZE.0, MIN_SIZE.1)),
        );
    let app = SoundstageEditor {
        params,
        state: state.clone(),
        shared,
        tracker,
        gui: None,
        size_sync: SizeSync::Pending,
        plants: PlantCache::default(),
        browser: browser::Browser::default(),
        exporter: export::Exporter::default(),
        analyses: AnalysisCache::default(),
        view: View::Cancellation,
        polar_hz: 1000.0,
        beam_texture: None,
    };
    create_egui_editor(state, repaint, settings, app)
}

impl NiceEguiApp for SoundstageEditor {
    fn build(
        &mut self,
        ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        theme::apply(&ctx);
        self.gui = Some(gui);
        self.size_sync = SizeSync::Pending;
        // A new window has a new context: textures of the last one are gone.
        self.beam_texture = None;
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else { return };
        self.sync_size(ui);
        let (outputs, sample_rate) = self.shared.active();
        let settings = self.params.settings();
        let ctx = ui.ctx().clone();
        let geometry = settings.geometry(outputs);
        // The plots listen with the head the filters are designed for; while it cannot serve
        // (the designer says why), with the sphere the last good design fell back to.
        let choice = self.params.head_choice();
        let (plant, _) = self.plants.serving(&choice, &geometry);
        let input = DesignInput {
            settings,
            outputs,
            sample_rate,
        };
        // Headphones have no sweet spot: nothing to compute.
        if self.view == View::SweetSpot && settings.mode != Mode::Headphones {
            let ctx = ctx.clone();
            self.analyses
                .request_sweet_spot(input, plant.clone(), move || ctx.request_repaint());
        }
        self.analyses
            .request(input, plant, move || ctx.request_repaint());
        let setter = gui.param_setter();
        self.browser.show(ui.ctx(), &self.params, &setter, outputs);
        let preset = self
            .params
            .preset
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        self.exporter.show(
            ui.ctx(),
            (settings, outputs, sample_rate),
            &choice,
            &mut self.plants,
            preset,
        );
        ResizableWindow::new("soundstage-editor")
            .min_size(egui::vec2(MIN_SIZE.0, MIN_SIZE.1))
            .show(ui, |ui| {
                egui::Frame::new()
                    .inner_margin(8.0)
                    .show(ui, |ui| self.body(ui, &setter, outputs));
            });
    }
}

impl SoundstageEditor {
    /// Everything inside the window's margin.
    fn body(&mut self, ui: &mut egui::Ui, setter: &ParamSetter, outputs: usize) {
        self.header(ui, setter);
        ui.separator();
        let full = ui.available_size();
        let status_height = 34.0;
        let body = vec2(full.x, (full.y - status_height).max(200.0));
        let left = 270.0f32.min(body.x * 0.32);
        let meters = 120.0;
        let centre = (body.x - left - meters - 16.0).max(200.0);
        ui.horizontal_top(|ui| {
            ui.allocate_ui(vec2(left, body.y), |ui| {
                ui.vertical(|ui| {
                    controls(ui, &self.params, setter, left);
                    ui.add_space(8.0);
                    self.head_controls(ui);
                    ui.add_space(8.0);
                    tracking::tracker_controls(ui, &self.params, &self.tracker);
                });
            });
            ui.allocate_ui(vec2(centre, body.y), |ui| {
                ui.vertical(|ui| self.predictions(ui, vec2(centre, body.y), outputs));
            });
            ui.allocate_ui(vec2(meters, body.y), |ui| {
                meters::meter_column(ui, &self.shared.meters, vec2(meters, body.y));
            });
        });
        ui.separator();
        ui.label(
            egui::RichText::new(self.shared.status_line())
                .color(theme::TEXT_DIM)
                .size(12.0),
        );
    }

    /// Restores the persisted size once after opening, then keeps the persisted field equal
    /// to the window's size (hosts resize plugin windows; the state must follow).
    fn sync_size(&mut self, ui: &egui::Ui) {
        let current = self.state.logical_size();
        let current = (current.width, current.height);
        let saved = *self
            .params
            .editor_size
            .read()
            .unwrap_or_else(|e| e.into_inner());
        let differs =
            |a: (f32, f32), b: (f32, f32)| (a.0 - b.0).abs() > 1.0 || (a.1 - b.1).abs() > 1.0;
        self.size_sync = match self.size_sync {
            SizeSync::Pending if differs(current, saved) => {
                ui.send_viewport_cmd(egui::ViewportCommand::InnerSize(egui::vec2(
                    saved.0, saved.1,
                )));
                SizeSync::Waiting {
                    target: saved,
                    frames: 0,
                }
            }
            SizeSync::Waiting { target, frames } if frames < 30 && differs(current, target) => {
                SizeSync::Waiting {
                    target,
                    frames: frames + 1,
                }
            }
            _ => {
                if differs(current, saved) {
                    *self
                        .params
                        .editor_size
                        .write()
                        .unwrap_or_else(|e| e.into_inner()) = current;
                }
                SizeSync::Tracking
            }
        };
    }

    fn header(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            ui.heading("Soundstage");
            ui.add_space(16.0);
            preset_selector(ui, &self.params, setter);
            ui.add_space(16.0);
            mode_selector(ui, &self.params, setter);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                for switch in [Switch::Bypass, Switch::Preview] {
                    let spec = switch.spec();
                    toggle(ui, self.params.switch(switch), setter, spec.name, spec.help);
                }
                ui.add_space(12.0);
                if ui
                    .button("Export filters…")
                    .on_hover_text(
                        "The filters as designed now, as FIR taps for a device's DSP:                          filters.json and one WAV per input, as soundstage export writes them",
                    )
                    .clicked()
                {
                    self.exporter.open();
                }
            });
        });
    }

    /// What the filters are designed for: the sphere, a measured head or a measured device,
    /// the loaded sets' names, the browser to load one, and why the last change could not be
    /// designed.
    fn head_controls(&mut self, ui: &mut egui::Ui) {
        ui.label(egui::RichText::new("Head").size(15.0).strong());
        let choice = self.params.head_choice();
        let chosen = choice.chosen();
        ui.horizontal(|ui| {
            let options = [
                (
                    matches!(chosen, Chosen::Sphere),
                    true,
                    "Sphere",
                    "The built-in rigid-sphere head: a generic listener",
                    (false, false),
                ),
                (
                    matches!(chosen, Chosen::Head(_)),
                    choice.set.is_some(),
                    "Head",
                    "The measured head last loaded (its data travels in the session)",
                    (true, false),
                ),
                (
                    matches!(chosen, Chosen::Device(_)),
                    choice.device.is_some(),
                    "Device",
                    "The measured device last loaded: its drivers at a dummy head's ears (its data \
                     travels in the session; the geometry must stay the measured one's)",
                    (choice.measured, true),
                ),
            ];
            for (selected, enabled, name, help, (measured, device_chosen)) in options {
                let button = ui
                    .add_enabled(enabled, egui::Button::selectable(selected, name))
                    .on_hover_text(help);
                if button.clicked() && !selected {
                    self.params.set_head_choice(HeadChoice {
                        measured,
                        device_chosen,
                        ..choice.clone()
                    });
                }
            }
            if ui
                .add_enabled(!self.browser.busy(), egui::Button::new("Load SOFA…"))
                .on_hover_text(
                    "Design for a measured head (a dummy head, or your own HRTFs) or a measured \
                     device (SingleRoomMIMOSRIR or MultiSpeakerBRIR: its drivers at a dummy \
                     head's ears) from a SOFA file",
                )
                .clicked()
            {
                self.browser.open();
            }
        });
        let name = |what: &str, name: Option<&String>| {
            name.map_or(format!("no measured {what} loaded"), |n| {
                format!("{what}: {n}")
            })
        };
        let names = format!(
            "{} · {}",
            name("head", choice.set.as_ref().map(|s| &s.name)),
            name("device", choice.device.as_ref().map(|d| &d.name))
        );
        ui.label(egui::RichText::new(names).color(theme::TEXT_DIM).size(12.0));
        if let Some(why) = self.shared.problem() {
            ui.colored_label(theme::LIMIT, format!("kept the last design: {why}"));
        }
    }

    /// The geometry view, the view selector and the selected plot.
    fn predictions(&mut self, ui: &mut egui::Ui, size: egui::Vec2, outputs: usize) {
        let settings = self.params.settings();
        let analysis = self.analyses.latest();
        let beam = analysis.as_ref().is_some_and(|a| a.beam.is_ok());
        let geometry_height = (size.y * 0.34).clamp(120.0, 240.0);
        // The tracked head, where the designer last designed for it.
        let tracked = self
            .shared
            .summary()
            .filter(|_| self.tracker.is_on())
            .map(|s| plots::TrackedHead {
                x_m: s.pose[0],
                y_m: s.pose[1],
                yaw_deg: s.pose[2],
                separation_db: s.separation_db,
            });
        plots::geometry(
            ui,
            vec2(size.x, geometry_height),
            &settings,
            outputs,
            beam,
            tracked.as_ref(),
        );
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            for (view, name, help) in [
                (View::Cancellation, "Cancellation", "Target against achieved separation at the ears, and what a listener 5 cm off gets"),
                (View::Ears, "Ear responses", "What each ear receives from a left-only input"),
                (View::Plant, "Plant", "What each ear receives from each driver, and each driver's ITD: the head or device the design inverts"),
                (View::BeamMap, "Beam map", "The centre beam over azimuth and frequency (driver lines)"),
                (View::Polar, "Polar", "The centre beam's pattern at one frequency (driver lines)"),
                (View::SweetSpot, "Sweet spot", "Separation over listener positions: the fixed design, and a design that follows the listener (head tracking)"),
            ] {
                if ui.selectable_label(self.view == view, name).on_hover_text(help).clicked() {
                    self.view = view;
                }
            }
            if self.view == View::Polar {
                ui.add_space(12.0);
                for f in POLAR_CHOICES {
                    let label = if f >= 1000.0 { format!("{} kHz", f / 1000.0) } else { format!("{f} Hz") };
                    if ui.selectable_label(self.polar_hz == f, label).clicked() {
                        self.polar_hz = f;
                    }
                }
            }
        });
        ui.add_space(4.0);
        let plot = vec2(size.x, (ui.available_height() - 30.0).max(120.0));
        let Some(a) = analysis else {
            plots::unavailable(ui, plot, "Predictions", "computing…");
            return;
        };
        match self.view {
            View::SweetSpot => match self.analyses.sweet_spot() {
                Some(map) if settings.mode != Mode::Headphones => {
                    plots::sweet_spot_map(ui, plot, &map, tracked.as_ref())
                }
                Some(_) => plots::unavailable(ui, plot, "Sweet spot", "headphones have none"),
                None => plots::unavailable(ui, plot, "Sweet spot", "computing…"),
            },
            View::Cancellation => plots::cancellation(ui, plot, &a),
            View::Ears => plots::ear_responses(ui, plot, &a),
            View::Plant => plots::plant(ui, plot, &a),
            View::BeamMap | View::Polar => {
                if let Some(why) = plots::beam_unavailable(&a) {
                    plots::unavailable(ui, plot, "Centre beam unavailable", why);
                } else if self.view == View::Polar {
                    plots::beam_polar(ui, plot, &a, self.polar_hz);
                } else {
                    let current = self
                        .beam_texture
                        .as_ref()
                        .is_some_and(|(drawn, _)| Arc::ptr_eq(drawn, &a));
                    if !current {
                        self.beam_texture = plots::beam_image(&a).map(|image| {
                            let options = egui::TextureOptions::LINEAR;
                            (a.clone(), ui.ctx().load_texture("beam-map", image, options))
                        });
                    }
                    if let Some((_, texture)) = &self.beam_texture {
                        plots::beam_map(ui, plot, texture, &a);
                    }
                }
            }
        }
    }
}

/// Sets the parameters `floats` to their values in `settings` through the host (one undo
/// step per parameter, as hosts record them), leaving those already there alone.
fn set_floats(
    params: &SoundstageParams,
    setter: &ParamSetter,
    settings: &Settings,
    floats: &[Float],
) {
    for &f in floats {
        let (spec, param) = (f.spec(), params.float(f));
        let value = (spec.read)(settings) as f32;
        if (value - param.value()).abs() > f32::EPSILON {
            setter.begin_set_parameter(param);
            setter.set_parameter(param, value);
            setter.end_set_parameter(param);
        }
    }
}

/// Whether the parameters `floats` hold their values in `settings` (within a
/// hundred-thousandth of their range: a host's normalised round trip rounds).
fn floats_hold(params: &SoundstageParams, settings: &Settings, floats: &[Float]) -> bool {
    floats.iter().all(|&f| {
        let spec = f.spec();
        let wanted = (spec.read)(settings) as f32;
        (params.float(f).value() - wanted).abs() <= 1e-5 * (spec.max - spec.min)
    })
}

/// Applies a preset: every geometry parameter through the host, and remembers which preset
/// it was.
fn apply_preset(params: &SoundstageParams, setter: &ParamSetter, preset: &Preset) {
    let settings = preset.apply(&params.settings());
    set_floats(params, setter, &settings, &Float::ALL);
    setter.begin_set_parameter(params.mode());
    setter.set_parameter(params.mode(), settings.mode.into());
    setter.end_set_parameter(params.mode());
    *params.preset.write().unwrap_or_else(|e| e.into_inner()) = preset.id.clone();
}

fn preset_selector(ui: &mut egui::Ui, params: &SoundstageParams, setter: &ParamSetter) {
    let current = params
        .preset
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let all = presets::all();
    let shown = all
        .iter()
        .find(|p| p.id == current)
        .map_or("Custom", |p| p.name.as_str())
        .to_string();
    ui.label("Preset");
    egui::ComboBox::from_id_salt("preset")
        .selected_text(shown)
        .width(170.0)
        .show_ui(ui, |ui| {
            for preset in &all {
                if ui
                    .selectable_label(preset.id == current, &preset.name)
                    .on_hover_text(&preset.description)
                    .clicked()
                {
                    apply_preset(params, setter, preset);
                }
            }
        });
}

fn mode_selector(ui: &mut egui::Ui, params: &SoundstageParams, setter: &ParamSetter) {
    let current = params.mode().value();
    ui.label("Mode").on_hover_text(MODE_HELP);
    for (mode, name, help) in [
        (ModeParam::Speakers, "Speakers", "Virtual speakers through crosstalk cancellation, centre beam on a driver line"),
        (ModeParam::Headphones, "Headphones", "Simulates the crosstalk of speakers at the virtual angle; nothing is cancelled"),
        (ModeParam::Binaural, "Binaural", "Crosstalk cancellation alone: each ear hears its own channel (binaural recordings, measuring the canceller)"),
    ] {
        if ui.selectable_label(current == mode, name).on_hover_text(help).clicked() && current != mode {
            setter.begin_set_parameter(params.mode());
            setter.set_parameter(params.mode(), mode);
            setter.end_set_parameter(params.mode());
        }
    }
}

/// The three main knobs, then the geometry, bass and level controls.
fn controls(ui: &mut egui::Ui, params: &SoundstageParams, setter: &ParamSetter, width: f32) {
    ui.label(egui::RichText::new("Image").size(15.0).strong());
    let knob = ((width - 30.0) / 3.0 - 24.0).clamp(40.0, 64.0);
    ui.horizontal(|ui| {
        for f in [Float::Width, Float::Depth, Float::Cancellation] {
            ui.add(Knob::new(params.float(f), setter, knob, f.spec().help));
        }
    });
    ui.add_space(8.0);
    ui.label(egui::RichText::new("Geometry").size(15.0).strong());
    for f in [
        Float::Spacing,
        Float::Distance,
        Float::VirtualAngle,
        Float::Offset,
        Float::Yaw,
        Float::Zone,
    ] {
        ui.add(Slider::new(
            params.float(f),
            setter,
            width - 8.0,
            f.spec().help,
        ));
    }
    ui.add_space(8.0);
    ui.label(egui::RichText::new("Safety and level").size(15.0).strong());
    for f in [Float::BassCrossover, Float::BoostLimit, Float::OutputGain] {
        ui.add(Slider::new(
            params.float(f),
            setter,
            width - 8.0,
            f.spec().help,
        ));
    }
    let loudness = Switch::Loudness.spec();
    toggle(
        ui,
        params.switch(Switch::Loudness),
        setter,
        loudness.name,
        loudness.help,
    );
    latency_selector(ui, params, setter);
}

/// The latency mode; the status line shows the running engine's latency, which changes
/// when the host restarts the plugin.
fn latency_selector(ui: &mut egui::Ui, params: &SoundstageParams, setter: &ParamSetter) {
    let current = params.latency().value();
    ui.horizontal(|ui| {
        ui.label("Latency").on_hover_text(LATENCY_HELP);
        for (mode, name) in [(LatencyParam::Normal, "Normal"), (LatencyParam::Low, "Low")] {
            if ui
                .selectable_label(current == mode, name)
                .on_hover_text(LATENCY_HELP)
                .clicked()
                && current != mode
            {
                setter.begin_set_parameter(params.latency());
                setter.set_parameter(params.latency(), mode);
                setter.end_set_parameter(params.latency());
            }
        }
    });
}

/// A switch parameter as a toggle button, each click one host gesture.
fn toggle(ui: &mut egui::Ui, param: &BoolParam, setter: &ParamSetter, label: &str, help: &str) {
    let mut on = param.value();
    if ui
        .toggle_value(&mut on, label)
        .on_hover_text(help)
        .changed()
    {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, on);
        setter.end_set_parameter(param);
    }
}
