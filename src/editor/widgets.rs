//! The editor's controls: a knob for the three main controls and a compact slider for the
//! rest. Both drag relatively (shift for fine adjustment), reset on double-click, show their
//! value without ever opening a text field (hosts swallow keys), and send every change to the
//! host as one begin/set/end gesture, so automation and undo see what the user did.

use super::theme;
use egui::{pos2, vec2, Align2, Color32, FontId, Response, Sense, Shape, Stroke, Ui, Vec2, Widget};
use nice_plug::prelude::{Param, ParamSetter};

/// Normalised change per point of drag.
const COARSE_PER_POINT: f32 = 0.005;
/// Normalised change per point of drag with shift held.
const FINE_PER_POINT: f32 = 0.0005;

/// Turns a drag (`along`: points moved in the increasing direction this frame) and a
/// double-click on `response` into host gestures on `param`.
fn drive<P: Param>(ui: &Ui, response: &mut Response, param: &P, setter: &ParamSetter, along: f32) {
    let id = response.id;
    if response.drag_started() {
        setter.begin_set_parameter(param);
        // An unsnapped accumulator, so stepped parameters still move under slow drags.
        ui.data_mut(|d| d.insert_temp(id, param.unmodulated_normalized_value()));
    }
    if response.dragged() && along != 0.0 {
        let fine = ui.input(|i| i.modifiers.shift);
        let per_point = if fine {
            FINE_PER_POINT
        } else {
            COARSE_PER_POINT
        };
        let start: f32 = ui
            .data(|d| d.get_temp(id))
            .unwrap_or_else(|| param.unmodulated_normalized_value());
        let next = (start + along * per_point).clamp(0.0, 1.0);
        ui.data_mut(|d| d.insert_temp(id, next));
        setter.set_parameter(param, param.preview_plain(next));
        response.mark_changed();
    }
    if response.drag_stopped() {
        setter.end_set_parameter(param);
        ui.data_mut(|d| d.remove::<f32>(id));
    }
    if response.double_clicked() {
        setter.begin_set_parameter(param);
        setter.set_parameter(param, param.default_plain_value());
        setter.end_set_parameter(param);
        response.mark_changed();
    }
}

/// A rotary control with its name above and its value below.
pub struct Knob<'a, P: Param> {
    param: &'a P,
    setter: &'a ParamSetter<'a>,
    diameter: f32,
    help: &'a str,
}

impl<'a, P: Param> Knob<'a, P> {
    /// A knob for `param`; `help` says what it does acoustically.
    pub fn new(param: &'a P, setter: &'a ParamSetter<'a>, diameter: f32, help: &'a str) -> Self {
        Self {
            param,
            setter,
            diameter,
            help,
        }
    }
}

impl<P: Param> Widget for Knob<'_, P> {
    fn ui(self, ui: &mut Ui) -> Response {
        let label = 18.0;
        let size = vec2(self.diameter + 24.0, self.diameter + 2.0 * label);
        let (rect, mut response) = ui.allocate_exact_size(size, Sense::click_and_drag());
        let d = response.drag_delta();
        drive(ui, &mut response, self.param, self.setter, d.x - d.y);
        if ui.is_rect_visible(rect) {
            let painter = ui.painter();
            let centre = pos2(rect.center().x, rect.top() + label + self.diameter * 0.5);
            let radius = self.diameter * 0.5 - 3.0;
            // 7:30 to 4:30, clockwise (screen y grows downwards).
            let start = std::f32::consts::PI * 0.75;
            let sweep = std::f32::consts::PI * 1.5;
            let arc = |from: f32, to: f32| -> Vec<egui::Pos2> {
                (0..=48)
                    .map(|k| centre + radius * Vec2::angled(from + (to - from) * k as f32 / 48.0))
                    .collect()
            };
            let value = self.param.modulated_normalized_value();
            let active = response.hovered() || response.dragged();
            painter.circle_filled(centre, radius - 4.0, theme::PANEL_LIGHT);
            painter.add(Shape::line(
                arc(start, start + sweep),
                Stroke::new(5.0, theme::TRACK),
            ));
            painter.add(Shape::line(
                arc(start, start + sweep * value),
                Stroke::new(5.0, theme::ACCENT),
            ));
            let angle = start + sweep * value;
            painter.line_segment(
                [
                    centre + (radius * 0.25) * Vec2::angled(angle),
                    centre + (radius - 7.0) * Vec2::angled(angle),
                ],
                Stroke::new(3.0, if active { Color32::WHITE } else { theme::TEXT }),
            );
            painter.text(
                pos2(rect.center().x, rect.top()),
                Align2::CENTER_TOP,
                self.param.name(),
                FontId::proportional(14.0),
                theme::TEXT,
            );
            painter.text(
                pos2(rect.center().x, rect.bottom()),
                Align2::CENTER_BOTTOM,
                self.param.to_string(),
                FontId::proportional(14.0),
                if active {
                    Color32::WHITE
                } else {
                    theme::ACCENT
                },
            );
        }
        response.on_hover_text(format!(
            "{}\n\nDrag to change (shift: fine), double-click to reset.",
            self.help
        ))
    }
}

/// A horizontal bar with the name on the left and the value inside.
pub struct Slider<'a, P: Param> {
    param: &'a P,
    setter: &'a ParamSetter<'a>,
    width: f32,
    help: &'a str,
}

impl<'a, P: Param> Slider<'a, P> {
    /// A slider for `param`, `width` points wide; `help` says what it does acoustically.
    pub fn new(param: &'a P, setter: &'a ParamSetter<'a>, width: f32, help: &'a str) -> Self {
        Self {
            param,
            setter,
            width,
            help,
        }
    }
}

impl<P: Param> Widget for Slider<'_, P> {
    fn ui(self, ui: &mut Ui) -> Response {
        let height = 22.0;
        let (rect, mut response) =
            ui.allocate_exact_size(vec2(self.width, height), Sense::click_and_drag());
        let along = response.drag_delta().x;
        drive(ui, &mut response, self.param, self.setter, along);
        if ui.is_rect_visible(rect) {
            let painter = ui.painter();
            let name_width = (self.width * 0.42).min(150.0);
            let bar =
                egui::Rect::from_min_max(pos2(rect.left() + name_width, rect.top()), rect.max);
            painter.text(
                pos2(rect.left(), rect.center().y),
                Align2::LEFT_CENTER,
                self.param.name(),
                FontId::proportional(13.0),
                theme::TEXT,
            );
            painter.rect_filled(bar, 3.0, theme::TRACK);
            let value = self.param.modulated_normalized_value();
            let fill = egui::Rect::from_min_max(
                bar.min,
                pos2(bar.left() + bar.width() * value, bar.bottom()),
            );
            let active = response.hovered() || response.dragged();
            painter.rect_filled(
                fill,
                3.0,
                if active {
                    theme::ACCENT
                } else {
                    theme::ACCENT.gamma_multiply(0.7)
                },
            );
            painter.text(
                bar.center(),
                Align2::CENTER_CENTER,
                self.param.to_string(),
                FontId::proportional(13.0),
                Color32::WHITE,
            );
        }
        response.on_hover_text(format!(
            "{}\n\nDrag to change (shift: fine), double-click to reset.",
            self.help
        ))
    }
}
