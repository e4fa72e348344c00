//! The one-page summary a mixing engineer reads at a glance: the geometry from above, the
//! separation, the ear responses and the mono sum.

use super::curves::{
    ear_series, mono_series, separation_series, CANCELLATION_AXES, EAR_AXES, MONO_AXES,
};
use super::{figure, line_plot, text, Area, Context, ACHIEVED, TARGET, TEXT};
use crate::cli::CliError;
use plotters::prelude::*;
use soundstage::design::config::settings::Mode;
use soundstage::design::evaluate::analysis::Analysis;
use soundstage::design::model::geometry::DEFAULT_HEAD_RADIUS_M;
use std::path::Path;

/// Writes `summary.png`: four panels, with `headline` (the report's figures in one line)
/// under the title.
pub fn summary(
    path: &Path,
    a: &Analysis,
    context: &Context,
    headline: &str,
) -> Result<(), CliError> {
    figure(path, "Soundstage at a glance", context, |area| {
        text(area, headline, (20, 0), 16)?;
        let panels = area.margin(26, 0, 0, 0).split_evenly((2, 2));
        geometry(&panels[0], a)?;
        panel_title(&panels[1], "Separation at the ears (left input)")?;
        // The summary keeps the two curves that say how much; the figure has the rest.
        match separation_series(a) {
            Some(series) => line_plot(&panels[1].margin(24, 0, 0, 0), &CANCELLATION_AXES, &series)?,
            None => text(&panels[1], "headphone mode cancels nothing", (20, 60), 18)?,
        }
        panel_title(&panels[2], "Ears for a left-only input")?;
        line_plot(&panels[2].margin(24, 0, 0, 0), &EAR_AXES, &ear_series(a))?;
        panel_title(&panels[3], "Mono sum re the input's")?;
        line_plot(&panels[3].margin(24, 0, 0, 0), &MONO_AXES, &mono_series(a))
    })
}

fn panel_title(panel: &Area, title: &str) -> Result<(), String> {
    text(panel, title, (20, 2), 18)
}

/// The drivers, the listener's head and the virtual speakers from above, in metres.
fn geometry(panel: &Area, a: &Analysis) -> Result<(), String> {
    let g = &a.geometry;
    let s = &a.input.settings;
    let headphones = s.mode == Mode::Headphones;
    panel_title(
        panel,
        &if headphones {
            format!(
                "Headphones: virtual speakers at ±{:.0}°",
                s.virtual_angle_deg
            )
        } else {
            format!(
                "From above: {} drivers {:.0} cm apart, listener at {:.2} m",
                g.drivers,
                g.spacing_m * 100.0,
                g.distance_m
            )
        },
    )?;
    let (hx, hy) = g.head_centre();
    let drivers = g.driver_x();
    // Metres per pixel alike across and along, so that the head is round and the angles true:
    // the ranges fit the drivers, the head and the virtual speakers at one scale.
    let half_width = drivers
        .iter()
        .map(|x| x.abs())
        .fold(0.5 * g.distance_m, f64::max)
        .max(hx.abs() + 0.3)
        * 1.3;
    let (near, far) = (-0.25, hy + 0.35);
    let area = panel.margin(24, 0, 0, 0);
    let (w, h) = area.dim_in_pixel();
    let (plot_w, plot_h) = (
        f64::from(w.saturating_sub(70).max(10)),
        f64::from(h.saturating_sub(55).max(10)),
    );
    let metres_per_pixel = (2.0 * half_width / plot_w).max((far - near) / plot_h);
    let (half_x, half_y) = (
        metres_per_pixel * plot_w / 2.0,
        metres_per_pixel * plot_h / 2.0,
    );
    let middle = (near + far) / 2.0;
    let mut chart = ChartBuilder::on(&area)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(50)
        .build_cartesian_2d(-half_x..half_x, (middle + half_y)..(middle - half_y))
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("sideways (m, + = listener's right)")
        .y_desc("forward (m)")
        .x_label_formatter(&|v| format!("{:.1}", v + 0.0))
        .y_label_formatter(&|v| format!("{:.1}", v + 0.0))
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    // The virtual speakers, at the virtual angle from the head, as far as the drivers.
    for side in [-1.0, 1.0] {
        let t = (side * s.virtual_angle_deg).to_radians();
        let speaker = (hx + g.distance_m * t.sin(), hy - g.distance_m * t.cos());
        chart
            .draw_series(DashedLineSeries::new(
                [(hx, hy), speaker],
                6,
                4,
                TARGET.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?;
        chart
            .draw_series([Rectangle::new(
                [
                    (speaker.0 - 0.04, speaker.1 - 0.04),
                    (speaker.0 + 0.04, speaker.1 + 0.04),
                ],
                TARGET.stroke_width(2),
            )])
            .map_err(|e| e.to_string())?;
    }
    if !headphones {
        chart
            .draw_series(
                drivers.iter().map(|x| {
                    Rectangle::new([(x - 0.03, -0.03), (x + 0.03, 0.03)], ACHIEVED.filled())
                }),
            )
            .map_err(|e| e.to_string())?;
    }
    // The head, with its nose turned by the yaw (positive to the listener's left).
    let steps = 48;
    let outline: Vec<(f64, f64)> = (0..=steps)
        .map(|i| {
            let t = std::f64::consts::TAU * f64::from(i) / f64::from(steps);
            (
                hx + DEFAULT_HEAD_RADIUS_M * t.cos(),
                hy + DEFAULT_HEAD_RADIUS_M * t.sin(),
            )
        })
        .collect();
    chart
        .draw_series(LineSeries::new(outline, TEXT.stroke_width(2)))
        .map_err(|e| e.to_string())?;
    let yaw = s.yaw_deg.to_radians();
    let nose = (
        hx - 1.6 * DEFAULT_HEAD_RADIUS_M * yaw.sin(),
        hy - 1.6 * DEFAULT_HEAD_RADIUS_M * yaw.cos(),
    );
    chart
        .draw_series(LineSeries::new([(hx, hy), nose], TEXT.stroke_width(2)))
        .map_err(|e| e.to_string())?;
    Ok(())
}
