//! The maps: the centre beam over azimuth and frequency, its polar patterns, and the sweet
//! spot over listener positions.

use super::{
    colour_bar, figure, frequency_label, not_applicable, text, Area, Context, ACHIEVED, KEY_SHARE,
    TARGET,
};
use crate::cli::CliError;
use plotters::prelude::*;
use soundstage::design::evaluate::analysis::{
    Analysis, BeamCurves, BEAM_AZIMUTHS, POLAR_FREQUENCIES,
};
use soundstage::design::evaluate::sweet_spot::SweetSpot;
use std::path::Path;

/// Lowest level the beam plots show, dB re on-axis.
const BEAM_FLOOR_DB: f64 = -30.0;

/// dB to a colour of the beam map (0 dB yellow, [`BEAM_FLOOR_DB`] dark blue).
fn heat(db: f64) -> RGBColor {
    let x = ((db - BEAM_FLOOR_DB) / -BEAM_FLOOR_DB).clamp(0.0, 1.0);
    let c = plotters::style::colors::colormaps::ViridisRGB::get_color(x as f32);
    RGBColor(c.0, c.1, c.2)
}

/// Splits `area` into the plot and the strip beside it for a colour bar.
fn with_key_strip<'a>(area: &Area<'a>) -> (Area<'a>, Area<'a>) {
    let (width, _) = area.dim_in_pixel();
    area.split_horizontally((f64::from(width) * (1.0 - KEY_SHARE / 2.0)) as u32)
}

/// The beam, or a figure saying why there is none.
fn beam_or_why<'a>(
    path: &Path,
    title: &str,
    a: &'a Analysis,
    context: &Context,
) -> Result<Option<&'a BeamCurves>, CliError> {
    match &a.beam {
        Ok(beam) => Ok(Some(beam)),
        Err(reason) => {
            let why = format!(
                "{}. A centre beam needs three or more drivers in speakers mode, close enough \
                 together for their band to lie above the bass crossover.",
                reason.trim_end_matches('.')
            );
            not_applicable(path, title, context, &why).map(|()| None)
        }
    }
}

/// Centre beam: azimuth × frequency map, with its colour bar.
pub fn beam_map(path: &Path, a: &Analysis, context: &Context) -> Result<(), CliError> {
    let title = "Centre channel over azimuth and frequency, re on-axis";
    let Some(beam) = beam_or_why(path, title, a, context)? else {
        return Ok(());
    };
    figure(path, title, context, |area| {
        let (plot, key) = with_key_strip(area);
        let mut chart = ChartBuilder::on(&plot)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((100f64..20_000f64).log_scale(), -90f64..90f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .y_desc("azimuth (°, + = right, 0 = front)")
            .x_label_formatter(&frequency_label)
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(|e| e.to_string())?;
        let azimuths: Vec<i32> = BEAM_AZIMUTHS.collect();
        let df = a.freqs[1] - a.freqs[0];
        let mut cells = Vec::new();
        for (k, row) in beam.map_db.iter().enumerate() {
            let f = a.freqs[k];
            if !(100.0..=20_000.0).contains(&f) {
                continue;
            }
            for (j, v) in row.iter().enumerate() {
                let az = f64::from(azimuths[j]);
                cells.push(Rectangle::new(
                    [(f - df / 2.0, az - 0.5), (f + df / 2.0, az + 0.5)],
                    heat(*v).filled(),
                ));
            }
        }
        chart.draw_series(cells).map_err(|e| e.to_string())?;
        colour_bar(&key, BEAM_FLOOR_DB..0.0, "dB", heat)
    })
}

/// Centre beam: polar patterns at a few frequencies, the front at the top.
pub fn beam_polar(path: &Path, a: &Analysis, context: &Context) -> Result<(), CliError> {
    let title = "Centre beam: level over azimuth at four frequencies (front at the top, + = right)";
    let Some(beam) = beam_or_why(path, title, a, context)? else {
        return Ok(());
    };
    figure(path, title, context, |area| {
        let panels = area.split_evenly((2, POLAR_FREQUENCIES.len().div_ceil(2)));
        for (panel, &f) in panels.iter().zip(&POLAR_FREQUENCIES) {
            let k = a
                .freqs
                .iter()
                .position(|x| *x >= f)
                .unwrap_or(a.freqs.len() - 1);
            polar_panel(panel, &format!("{f:.0} Hz"), &beam.map_db[k])?;
        }
        Ok(())
    })
}

/// One polar pattern over the front half: rings at 0, −10, −20 dB, spokes every 45°
/// labelled, the front marked.
fn polar_panel(panel: &Area, label: &str, levels_db: &[f64]) -> Result<(), String> {
    let (w, h) = panel.dim_in_pixel();
    let r = (f64::from(w) / 2.0 - 60.0)
        .min(f64::from(h) - 100.0)
        .max(10.0);
    let (cx, cy) = (w as i32 / 2, 62 + r as i32);
    text(panel, label, (20, 8), 22)?;
    let to_xy = |az_deg: f64, db: f64| {
        let rr = r * ((db.max(BEAM_FLOOR_DB) - BEAM_FLOOR_DB) / -BEAM_FLOOR_DB);
        let t = az_deg.to_radians();
        (cx + (rr * t.sin()) as i32, cy - (rr * t.cos()) as i32)
    };
    for ring in [0.0, -10.0, -20.0] {
        let arc: Vec<(i32, i32)> = (-90..=90).map(|az| to_xy(f64::from(az), ring)).collect();
        panel
            .draw(&PathElement::new(arc, BLACK.mix(0.25)))
            .map_err(|e| e.to_string())?;
        let (x, _) = to_xy(90.0, ring);
        text(panel, &format!("{ring:.0}"), (x - 10, cy + 6), 13)?;
    }
    let (zero_x, _) = to_xy(90.0, 0.0);
    text(panel, "dB", (zero_x + 8, cy + 6), 13)?;
    for az in [-90.0, -45.0, 0.0, 45.0, 90.0] {
        panel
            .draw(&PathElement::new(
                vec![(cx, cy), to_xy(az, 0.0)],
                BLACK.mix(0.2),
            ))
            .map_err(|e| e.to_string())?;
        let (x, y) = to_xy(az, 5.0);
        let name = if az == 0.0 {
            "0° front".to_string()
        } else {
            format!("{az:+.0}°")
        };
        text(panel, &name, (x - 22, y - 14), 14)?;
    }
    // The front: a filled marker where the listener is.
    panel
        .draw(&TriangleMarker::new(to_xy(0.0, 1.5), 7, TARGET.filled()))
        .map_err(|e| e.to_string())?;
    let points: Vec<(i32, i32)> = BEAM_AZIMUTHS
        .zip(levels_db)
        .map(|(az, db)| to_xy(f64::from(az), *db))
        .collect();
    panel
        .draw(&PathElement::new(points, ACHIEVED.stroke_width(3)))
        .map_err(|e| e.to_string())
}

/// Highest separation the sweet-spot colours tell apart, dB.
const SWEET_SPOT_TOP_DB: f64 = 25.0;

/// Separation to a colour of the sweet-spot map: dark blue at 0 dB or less, yellow at
/// [`SWEET_SPOT_TOP_DB`].
fn separation_colour(db: f64) -> RGBColor {
    let x = (db / SWEET_SPOT_TOP_DB).clamp(0.0, 1.0);
    let c = plotters::style::colors::colormaps::ViridisRGB::get_color(x as f32);
    RGBColor(c.0, c.1, c.2)
}

/// The sweet spot: separation over listener positions, the fixed design beside the one that
/// follows the listener, with a ring at the nominal listener and lines ±5 and ±10 cm
/// sideways from it (grey: no value there), and the colour bar.
pub fn sweet_spot(path: &Path, map: Option<&SweetSpot>, context: &Context) -> Result<(), CliError> {
    let title = "Sweet spot: separation over listener positions";
    let Some(map) = map else {
        return not_applicable(
            path,
            title,
            context,
            "Headphone mode cancels nothing: the separation does not depend on where the listener \
             sits, so there is no sweet spot to map.",
        );
    };
    figure(path, title, context, |area| {
        let (maps, key) = with_key_strip(area);
        let panels = maps.split_evenly((1, 2));
        let dx = map.x_cm[1] - map.x_cm[0];
        let dy = map.y_m[1] - map.y_m[0];
        let (x0, x1) = (
            map.x_cm[0] - dx / 2.0,
            map.x_cm[map.x_cm.len() - 1] + dx / 2.0,
        );
        let (y0, y1) = (map.y_m[0] - dy / 2.0, map.y_m[map.y_m.len() - 1] + dy / 2.0);
        for (panel, (caption, values)) in panels.iter().zip([
            ("fixed design (nominal listener)", &map.fixed_db),
            ("design following the listener", &map.following_db),
        ]) {
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, ("sans-serif", 20))
                .margin(15)
                .x_label_area_size(40)
                .y_label_area_size(55)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc("listener sideways (cm, + = right)")
                .y_desc("distance (m)")
                .label_style(("sans-serif", 16))
                .draw()
                .map_err(|e| e.to_string())?;
            let cells = values.iter().enumerate().flat_map(|(j, row)| {
                row.iter().enumerate().map(move |(i, v)| {
                    let (x, y) = (map.x_cm[i], map.y_m[j]);
                    let colour = v.map_or(RGBColor(0xbb, 0xbb, 0xbb), separation_colour);
                    Rectangle::new(
                        [(x - dx / 2.0, y - dy / 2.0), (x + dx / 2.0, y + dy / 2.0)],
                        colour.filled(),
                    )
                })
            });
            chart.draw_series(cells).map_err(|e| e.to_string())?;
            // The nominal listener, at the distance of the fifth row, and ±5, ±10 cm from it.
            let nominal = (map.nominal_x_cm, map.y_m[4]);
            chart
                .draw_series([Circle::new(nominal, 6, WHITE.stroke_width(2))])
                .map_err(|e| e.to_string())?;
            for x in [-10.0, -5.0, 5.0, 10.0].map(|d| map.nominal_x_cm + d) {
                chart
                    .draw_series(DashedLineSeries::new(
                        [(x, y0), (x, y1)],
                        6,
                        4,
                        WHITE.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?;
            }
        }
        colour_bar(&key, 0.0..SWEET_SPOT_TOP_DB, "dB", separation_colour)
    })
}
