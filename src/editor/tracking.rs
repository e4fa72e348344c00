//! The editor's head-tracker section: on or off, the port and whether other machines may
//! send to it, "Centre", and what the tracker has seen. The settings are the session's (the
//! persisted `tracking` field); changing them takes effect at once.

use super::theme;
use crate::params::SoundstageParams;
use crate::tracking::listener::{StatusSnapshot, Tracker, TrackingSettings};
use crate::tracking::protocol::Protocol;

/// Draws the section and applies what the user changed.
pub fn tracker_controls(ui: &mut egui::Ui, params: &SoundstageParams, tracker: &Tracker) {
    ui.label(egui::RichText::new("Head tracking").size(15.0).strong());
    let before = params.tracking();
    let mut settings = before;
    let (mut dragging, mut dropped) = (false, false);
    ui.horizontal(|ui| {
        ui.checkbox(&mut settings.enabled, "Follow").on_hover_text(
            "Listen for a head tracker (OSC /ypr, /xyz, /soundstage/pose or opentrack's UDP \
                 output) and design for where the listener's head is",
        );
        ui.label("port");
        let port = ui
            .add(egui::DragValue::new(&mut settings.port).range(crate::limits::TRACKER_PORTS))
            .on_hover_text("The UDP port the tracker sends to");
        (dragging, dropped) = (port.dragged(), port.drag_stopped());
        if ui
            .add_enabled(tracker.is_on(), egui::Button::new("Centre"))
            .on_hover_text(
                "Make where the tracker sees the listener now the nominal listener (the \
                 parameters' distance, offset and yaw): calibrates a camera on the speakers",
            )
            .clicked()
        {
            tracker.centre();
        }
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut settings.all_interfaces, "Accept from other machines")
            .on_hover_text("Listen on every network interface, not only this computer (a phone)");
        ui.checkbox(&mut settings.invert_yaw, "Invert yaw")
            .on_hover_text(
                "For a tracker set up for the IEM SceneRotator, which turns the scene against the \
             head: its yaw has the opposite sign of SPARTA's and ours",
            );
    });
    if settings != before {
        params.set_tracking(settings);
    }
    // The listener moves to a new port once the drag ends, not through every port passed.
    if (settings != before && !dragging) || dropped {
        tracker.apply(settings);
    }
    let status = tracker.status();
    ui.label(
        egui::RichText::new(status_line(&settings, &status))
            .color(theme::TEXT_DIM)
            .size(12.0),
    );
    if let Some(error) = &status.error {
        ui.colored_label(theme::LIMIT, error);
    }
}

/// What the tracker is doing, in one line.
pub fn status_line(settings: &TrackingSettings, status: &StatusSnapshot) -> String {
    if !settings.enabled {
        return "off: the design follows offset, distance and yaw".into();
    }
    if !status.listening {
        return format!("not listening on port {}", settings.port);
    }
    let dropped = if status.dropped > 0 {
        format!(" · {} dropped", status.dropped)
    } else {
        String::new()
    };
    match (status.protocol, status.age_s) {
        (Some(protocol), Some(age)) => {
            let [x, y, yaw] = status.pose;
            format!(
                "{} · {:.0}/s · x {:+.1} cm, y {:+.1} cm, yaw {:+.1}° · {age:.1} s ago{dropped}",
                protocol.name(),
                status.rate_per_s,
                x * 100.0,
                y * 100.0,
                yaw
            )
        }
        _ => format!(
            "listening on port {}: nothing received yet{dropped} ({} or {})",
            settings.port,
            Protocol::Osc.name(),
            Protocol::Opentrack.name()
        ),
    }
}
