//! The editor: the main controls, the mode and preset selectors, the geometry, and (fed by
//! the designer thread) what the design predicts. Every control is a host parameter, so
//! automation and undo go through the host.

mod shared;
mod theme;

pub use shared::Shared;

use crate::design::presets::{self, Preset};
use crate::params::{ModeParam, SoundstageParams, FLOAT_PARAMS, MODE_HELP};
use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};
use std::sync::Arc;

/// Smallest editor size, logical pixels.
pub const MIN_SIZE: (f32, f32) = (720.0, 480.0);

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

/// The egui application behind the editor window.
pub struct SoundstageEditor {
    params: Arc<SoundstageParams>,
    state: Arc<EguiEditorState>,
    shared: Arc<Shared>,
    gui: Option<GuiContext>,
    size_sync: SizeSync,
}

/// Builds the editor (called once by the host, before any state is restored).
pub fn create(
    params: Arc<SoundstageParams>,
    state: Arc<EguiEditorState>,
    repaint: RepaintNotifier,
    shared: Arc<Shared>,
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
        gui: None,
        size_sync: SizeSync::Pending,
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
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else { return };
        self.sync_size(ui);
        let setter = gui.param_setter();
        ResizableWindow::new("soundstage-editor")
            .min_size(egui::vec2(MIN_SIZE.0, MIN_SIZE.1))
            .show(ui, |ui| {
                self.header(ui, &setter);
                ui.separator();
                ui.columns(2, |cols| {
                    main_controls(&mut cols[0], &self.params, &setter);
                    geometry_controls(&mut cols[1], &self.params, &setter);
                });
                ui.separator();
                ui.label(self.shared.status_line());
            });
    }
}

impl SoundstageEditor {
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

    fn header(&self, ui: &mut egui::Ui, setter: &ParamSetter) {
        ui.horizontal(|ui| {
            ui.heading("Soundstage");
            ui.add_space(16.0);
            preset_selector(ui, &self.params, setter);
            ui.add_space(16.0);
            mode_selector(ui, &self.params, setter);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let mut bypass = self.params.bypass.value();
                if ui
                    .toggle_value(&mut bypass, "Bypass")
                    .on_hover_text(crate::params::BOOL_PARAMS[1].help)
                    .changed()
                {
                    setter.begin_set_parameter(&self.params.bypass);
                    setter.set_parameter(&self.params.bypass, bypass);
                    setter.end_set_parameter(&self.params.bypass);
                }
            });
        });
    }
}

/// Applies a preset: every geometry parameter through the host (one undo step per
/// parameter, as hosts record them), and remembers which preset it was.
fn apply_preset(params: &SoundstageParams, setter: &ParamSetter, preset: &Preset) {
    let settings = preset.apply(&params.settings());
    for spec in &FLOAT_PARAMS {
        let Some(param) = params.float(spec.id) else {
            continue;
        };
        let value = (spec.read)(&settings) as f32;
        if (value - param.value()).abs() > f32::EPSILON {
            setter.begin_set_parameter(param);
            setter.set_parameter(param, value);
            setter.end_set_parameter(param);
        }
    }
    setter.begin_set_parameter(&params.mode);
    setter.set_parameter(&params.mode, settings.mode.into());
    setter.end_set_parameter(&params.mode);
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
    let current = params.mode.value();
    ui.label("Mode").on_hover_text(MODE_HELP);
    for (mode, name, help) in [
        (ModeParam::Speakers, "Speakers", "Virtual speakers through crosstalk cancellation, centre beam on a driver line"),
        (ModeParam::Headphones, "Headphones", "Simulates the crosstalk of speakers at the virtual angle; nothing is cancelled"),
        (ModeParam::Binaural, "Binaural", "Crosstalk cancellation alone: each ear hears its own channel (binaural recordings, measuring the canceller)"),
    ] {
        if ui.selectable_label(current == mode, name).on_hover_text(help).clicked() && current != mode {
            setter.begin_set_parameter(&params.mode);
            setter.set_parameter(&params.mode, mode);
            setter.end_set_parameter(&params.mode);
        }
    }
}

fn slider(
    ui: &mut egui::Ui,
    params: &SoundstageParams,
    setter: &ParamSetter,
    id: &str,
    width: f32,
) {
    let (Some(param), Some(spec)) = (params.float(id), crate::params::float_spec(id)) else {
        return;
    };
    ui.label(spec.name).on_hover_text(spec.help);
    ui.add(ParamSlider::for_param(param, setter).with_width(width))
        .on_hover_text(spec.help);
}

fn main_controls(ui: &mut egui::Ui, params: &SoundstageParams, setter: &ParamSetter) {
    ui.heading("Image");
    let width = ui.available_width() - 16.0;
    for id in ["width", "depth", "cancel"] {
        slider(ui, params, setter, id, width);
        ui.add_space(6.0);
    }
    ui.horizontal(|ui| {
        let mut loud = params.loudness.value();
        let spec = &crate::params::BOOL_PARAMS[0];
        if ui
            .checkbox(&mut loud, spec.name)
            .on_hover_text(spec.help)
            .changed()
        {
            setter.begin_set_parameter(&params.loudness);
            setter.set_parameter(&params.loudness, loud);
            setter.end_set_parameter(&params.loudness);
        }
    });
    slider(ui, params, setter, "gain", width);
}

fn geometry_controls(ui: &mut egui::Ui, params: &SoundstageParams, setter: &ParamSetter) {
    ui.heading("Geometry");
    let width = ui.available_width() - 16.0;
    for id in ["spacing", "dist", "vangle", "offset", "bassx", "boost"] {
        slider(ui, params, setter, id, width);
    }
}
