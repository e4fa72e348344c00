//! The listening zone: separation sideways through the listener with the design for the
//! listener alone and with the zone design, the zone shaded.

use super::{figure, legend, not_applicable, Area, Context, Key, ACHIEVED, KEY_SHARE, TARGET};
use crate::cli::CliError;
use plotters::prelude::*;
use soundstage::design::evaluate::zone::ZoneFigures;
use std::path::Path;

/// Separation range of the plot, dB.
const RANGE_DB: std::ops::Range<f64> = 0.0..35.0;

/// The zone figure; without a zone, a figure saying how to ask for one.
pub fn zone(
    path: &Path,
    zone: Option<&ZoneFigures>,
    headphones: bool,
    context: &Context,
) -> Result<(), CliError> {
    let title = "Listening zone: the design for the listener against the zone design";
    let Some(z) = zone else {
        let why = if headphones {
            "Headphone mode cancels nothing: there is no canceller to hold over a zone."
        } else {
            "These settings design for the listener's pose alone (zone 0). Set the zone's \
             half-width, for example --set zone=5cm, to design a canceller that holds over the \
             square around the listener and to compare it here with the design for the \
             listener alone."
        };
        return not_applicable(path, title, context, why);
    };
    figure(path, title, context, |area| draw(area, z))
}

/// The profile, the zone band and the poses on the profile's line.
fn draw(area: &Area, z: &ZoneFigures) -> Result<(), String> {
    let (width, _) = area.dim_in_pixel();
    let (plot, key) = area.split_horizontally((f64::from(width) * (1.0 - KEY_SHARE)) as u32);
    let x = &z.profile.x_cm;
    let (x0, x1) = (x[0], x[x.len() - 1]);
    let mut chart = ChartBuilder::on(&plot)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(x0..x1, RANGE_DB)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("listener sideways at the listening distance (cm, + = right)")
        .y_desc("separation, 300 Hz-6 kHz, worse ear (dB)")
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    let centre = z.poses[0].offset_cm;
    chart
        .draw_series([Rectangle::new(
            [
                (centre - z.half_width_cm, RANGE_DB.start),
                (centre + z.half_width_cm, RANGE_DB.end),
            ],
            RGBColor(0xee, 0xee, 0xee).filled(),
        )])
        .map_err(|e| e.to_string())?;
    let lines = [
        (&z.profile.nominal_design_db, TARGET),
        (&z.profile.zone_design_db, ACHIEVED),
    ];
    for (values, colour) in lines {
        // Broken where the plant cannot describe the listener.
        let points: Vec<Option<(f64, f64)>> = x
            .iter()
            .zip(values.iter())
            .map(|(&x, v)| v.map(|v| (x, v.clamp(RANGE_DB.start, RANGE_DB.end))))
            .collect();
        for run in points.split(Option::is_none) {
            let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
            chart
                .draw_series(LineSeries::new(run, colour.stroke_width(3)))
                .map_err(|e| e.to_string())?;
        }
    }
    // The poses the zone holds to at the listening distance, as each design serves them.
    let at_distance = z
        .poses
        .iter()
        .filter(|p| (p.distance_m - z.poses[0].distance_m).abs() < 1e-9);
    for p in at_distance {
        for (v, colour) in [(p.nominal_design_db, TARGET), (p.zone_design_db, ACHIEVED)] {
            chart
                .draw_series([Circle::new(
                    (p.offset_cm, v.clamp(RANGE_DB.start, RANGE_DB.end)),
                    6,
                    colour.filled(),
                )])
                .map_err(|e| e.to_string())?;
        }
    }
    let labels = [
        format!(
            "designed for the listener: {:.1} dB there, worst in the zone {:.1} dB",
            z.nominal_design.at_listener_db, z.nominal_design.worst_db
        ),
        format!(
            "designed for the ±{:.0} cm zone ({} poses): {:.1} dB at the listener, worst {:.1} dB",
            z.half_width_cm,
            z.poses.len(),
            z.zone_design.at_listener_db,
            z.zone_design.worst_db
        ),
        "shaded: the zone; dots: its poses at the listening distance".to_string(),
    ];
    legend(
        &key,
        [
            (Key::Line(TARGET, 3), labels[0].as_str()),
            (Key::Line(ACHIEVED, 3), labels[1].as_str()),
            (Key::Dots(RGBColor(0x88, 0x88, 0x88)), labels[2].as_str()),
        ]
        .into_iter(),
    )
}
