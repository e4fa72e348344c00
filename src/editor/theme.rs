//! One dark palette for the whole editor.

/// Background of the window.
pub const BACKGROUND: egui::Color32 = egui::Color32::from_rgb(0x16, 0x19, 0x1f);
/// Panels and plot backgrounds.
pub const PANEL: egui::Color32 = egui::Color32::from_rgb(0x1e, 0x22, 0x2a);
/// Primary accent (width, left channel, achieved curves).
pub const ACCENT: egui::Color32 = egui::Color32::from_rgb(0x4f, 0xc3, 0xf7);
/// Text.
pub const TEXT: egui::Color32 = egui::Color32::from_rgb(0xe6, 0xe8, 0xeb);

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
