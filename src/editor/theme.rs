//! One dark palette for the whole editor: controls, plots and meters use these colours only,
//! so that a curve means the same thing in every view.

/// Background of the window.
pub const BACKGROUND: egui::Color32 = egui::Color32::from_rgb(0x16, 0x19, 0x1f);
/// Panels and plot backgrounds.
pub const PANEL: egui::Color32 = egui::Color32::from_rgb(0x1e, 0x22, 0x2a);
/// Knob faces and raised surfaces.
pub const PANEL_LIGHT: egui::Color32 = egui::Color32::from_rgb(0x2a, 0x2f, 0x3a);
/// Unfilled control tracks and plot frames.
pub const TRACK: egui::Color32 = egui::Color32::from_rgb(0x3a, 0x40, 0x4d);
/// Plot grid lines.
pub const GRID: egui::Color32 = egui::Color32::from_rgb(0x2e, 0x33, 0x3d);
/// Primary accent: control values, achieved curves, the near ear, the left side.
pub const ACCENT: egui::Color32 = egui::Color32::from_rgb(0x4f, 0xc3, 0xf7);
/// Targets, the centre and its beam.
pub const TARGET: egui::Color32 = egui::Color32::from_rgb(0xff, 0xb7, 0x4d);
/// The far ear, the right side, virtual speakers.
pub const FAR: egui::Color32 = egui::Color32::from_rgb(0x81, 0xc7, 0x84);
/// A listener who moved: the robustness curves.
pub const MOVED: egui::Color32 = egui::Color32::from_rgb(0x9e, 0xa3, 0xad);
/// Limits reached: the filter-gain cap, clipping-level meters.
pub const LIMIT: egui::Color32 = egui::Color32::from_rgb(0xef, 0x53, 0x50);
/// Text.
pub const TEXT: egui::Color32 = egui::Color32::from_rgb(0xe6, 0xe8, 0xeb);
/// Secondary text: axis labels, notes.
pub const TEXT_DIM: egui::Color32 = egui::Color32::from_rgb(0x9a, 0xa0, 0xa8);

/// Installs the palette on `ctx`.
pub fn apply(ctx: &egui::Context) {
    let mut visuals = egui::Visuals::dark();
    visuals.panel_fill = BACKGROUND;
    visuals.window_fill = PANEL;
    visuals.extreme_bg_color = PANEL;
    visuals.selection.bg_fill = ACCENT.gamma_multiply(0.6);
    visuals.override_text_color = Some(TEXT);
    ctx.set_visuals(visuals);
}

/// A perceptually ordered colour for `t` in 0..1 (dark blue through teal to yellow, like the
/// viridis map of the article's beam figure), for heat maps.
pub fn heat(t: f32) -> egui::Color32 {
    const STOPS: [(f32, [f32; 3]); 5] = [
        (0.0, [0.07, 0.04, 0.20]),
        (0.25, [0.23, 0.32, 0.55]),
        (0.5, [0.13, 0.57, 0.55]),
        (0.75, [0.37, 0.79, 0.38]),
        (1.0, [0.99, 0.91, 0.15]),
    ];
    let t = t.clamp(0.0, 1.0);
    let i = STOPS
        .iter()
        .rposition(|(s, _)| *s <= t)
        .unwrap_or(0)
        .min(STOPS.len() - 2);
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let x = (t - a.0) / (b.0 - a.0);
    let c = |k: usize| ((a.1[k] + (b.1[k] - a.1[k]) * x) * 255.0).round() as u8;
    egui::Color32::from_rgb(c(0), c(1), c(2))
}
