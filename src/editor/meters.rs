//! The meter column: input and output level, the outputs' correlation and how much the mono
//! sum changes, painted from the atomics the audio thread fills while the editor is open.

use super::theme;
use crate::dsp::meters::{Meters, SILENCE_DB};
use egui::{pos2, Align2, FontId, Rect, Stroke};
use std::sync::atomic::Ordering;

/// Input and output level, the outputs' correlation and the mono-sum change.
///
/// NOTE: long because it is one painting, top to bottom: the two level bars with their
/// scale, then the correlation and mono-sum readouts.
pub fn meter_column(ui: &mut egui::Ui, meters: &Meters, size: egui::Vec2) {
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, theme::PANEL);
    let font = FontId::proportional(11.0);
    let input = meters.input_db.load(Ordering::Relaxed);
    let output = meters.output_db.load(Ordering::Relaxed);
    let correlation = meters.correlation.load(Ordering::Relaxed);
    let mono = meters.mono_change_db.load(Ordering::Relaxed);
    let bars_bottom = rect.bottom() - 120.0;
    let bar_top = rect.top() + 24.0;
    let level = |db: f32| ((db + 60.0) / 60.0).clamp(0.0, 1.0);
    for (k, (name, db)) in [("In", input), ("Out", output)].into_iter().enumerate() {
        let x = rect.left() + 22.0 + 44.0 * k as f32;
        let track = Rect::from_min_max(pos2(x, bar_top), pos2(x + 22.0, bars_bottom));
        painter.rect_filled(track, 2.0, theme::TRACK);
        let top = track.bottom() - track.height() * level(db);
        let colour = if db > -1.0 {
            theme::LIMIT
        } else {
            theme::ACCENT
        };
        painter.rect_filled(Rect::from_min_max(pos2(x, top), track.max), 2.0, colour);
        painter.text(
            pos2(track.center().x, rect.top() + 6.0),
            Align2::CENTER_TOP,
            name,
            font.clone(),
            theme::TEXT,
        );
        let value = if db <= SILENCE_DB {
            "−∞".to_string()
        } else {
            format!("{db:.1}")
        };
        painter.text(
            pos2(track.center().x, bars_bottom + 4.0),
            Align2::CENTER_TOP,
            value,
            font.clone(),
            theme::TEXT_DIM,
        );
    }
    for db in [0.0f32, -12.0, -24.0, -48.0] {
        let y = bars_bottom - (bars_bottom - bar_top) * level(db);
        painter.text(
            pos2(rect.right() - 6.0, y),
            Align2::RIGHT_CENTER,
            format!("{db:.0}"),
            font.clone(),
            theme::TEXT_DIM,
        );
    }
    // Correlation: −1 (left) to +1 (right).
    let y = bars_bottom + 32.0;
    painter.text(
        pos2(rect.center().x, y),
        Align2::CENTER_BOTTOM,
        "Correlation",
        font.clone(),
        theme::TEXT,
    );
    let track = Rect::from_min_max(
        pos2(rect.left() + 10.0, y + 4.0),
        pos2(rect.right() - 10.0, y + 16.0),
    );
    painter.rect_filled(track, 2.0, theme::TRACK);
    let centre_x = track.center().x;
    let x = centre_x + track.width() * 0.5 * correlation.clamp(-1.0, 1.0);
    painter.rect_filled(
        Rect::from_min_max(
            pos2(centre_x.min(x), track.top()),
            pos2(centre_x.max(x), track.bottom()),
        ),
        2.0,
        if correlation < 0.0 {
            theme::LIMIT
        } else {
            theme::FAR
        },
    );
    painter.vline(centre_x, track.y_range(), Stroke::new(1.0, theme::TEXT_DIM));
    painter.text(
        pos2(rect.center().x, track.bottom() + 2.0),
        Align2::CENTER_TOP,
        format!("{correlation:+.2}"),
        font.clone(),
        theme::TEXT_DIM,
    );
    // Mono compatibility: what the mono sum gains or loses.
    let y = track.bottom() + 40.0;
    painter.text(
        pos2(rect.center().x, y),
        Align2::CENTER_BOTTOM,
        "Mono sum",
        font.clone(),
        theme::TEXT,
    );
    painter.text(
        pos2(rect.center().x, y + 2.0),
        Align2::CENTER_TOP,
        format!("{mono:+.1} dB"),
        FontId::proportional(15.0),
        if mono < -3.0 {
            theme::LIMIT
        } else {
            theme::TEXT
        },
    );
    response.on_hover_text(
        "Levels in dBFS RMS (0.3 s); correlation of the outer outputs (+1 mono, 0 unrelated, −1 out of phase); \
         how much louder or quieter the outputs' mono sum is than the input's (a phone or one speaker hears that)",
    );
}
