//! PNG plots of an [`Analysis`] (plotters, with egui's embedded font so that no system font
//! is needed).

use super::CliError;
use plotters::prelude::*;
use plotters::style::FontStyle;
use soundstage::design::evaluate::analysis::{Analysis, BEAM_AZIMUTHS, POLAR_FREQUENCIES};
use soundstage::design::evaluate::sweet_spot::SweetSpot;
use std::io::Write;
use std::path::Path;
use std::sync::Once;

const SIZE: (u32, u32) = (1100, 650);
const ACHIEVED: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const TARGET: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const MOVED: RGBColor = RGBColor(0x88, 0x88, 0x88);
const LIMITED: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const FAR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);

/// Makes plotters' "sans-serif" resolve to the font egui embeds.
fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is a valid TrueType file shipped inside epaint; registration cannot fail.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

fn draw_error(path: &Path, e: impl std::fmt::Display) -> CliError {
    CliError::Encode {
        path: path.to_path_buf(),
        reason: format!("cannot draw the plot: {e}"),
    }
}

/// Draws in memory and writes the PNG atomically: nothing but the one temporary file of the
/// atomic write ever exists on disk, whatever fails.
fn png(
    path: &Path,
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<(), CliError> {
    register_font();
    let (width, height) = SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(path, e))?;
        draw(&root).map_err(|e| draw_error(path, e))?;
        root.present().map_err(|e| draw_error(path, e))?;
    }
    let image = image::RgbImage::from_raw(width, height, pixels)
        .ok_or_else(|| draw_error(path, "the picture has the wrong size"))?;
    super::audio_file::write_atomically(path, |file| {
        let mut out = std::io::BufWriter::new(file);
        image
            .write_to(&mut out, image::ImageOutputFormat::Png)
            .map_err(|e| draw_error(path, e))?;
        out.flush().map_err(|source| CliError::Write {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Points of a per-bin curve between `lo` and `hi` Hz.
fn curve<'a>(
    freqs: &'a [f64],
    values: &'a [f64],
    lo: f64,
    hi: f64,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    freqs
        .iter()
        .zip(values)
        .filter(move |(f, _)| **f >= lo && **f <= hi)
        .map(|(f, v)| (*f, *v))
}

/// Target vs achieved separation.
pub fn cancellation(path: &Path, a: &Analysis) -> Result<(), CliError> {
    let Some(sep) = &a.separation else {
        return message(
            path,
            "Cancellation",
            "headphone mode cancels nothing: no separation to show",
        );
    };
    png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Canceller: ipsilateral / contralateral ratio at the ears (left input)",
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((50f64..20_000f64).log_scale(), -5f64..45f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .y_desc("separation (dB)")
            .draw()
            .map_err(|e| e.to_string())?;
        let limited: Vec<(f64, f64)> = a
            .freqs
            .iter()
            .zip(&sep.limited)
            .filter(|(f, l)| **l && **f >= 50.0)
            .map(|(f, _)| (*f, -4.0))
            .collect();
        chart
            .draw_series(limited.iter().map(|p| Circle::new(*p, 2, LIMITED.filled())))
            .map_err(|e| e.to_string())?
            .label(format!(
                "boost limit ({:.0} dB) reached",
                sep.boost_limit_db
            ))
            .legend(|(x, y)| Circle::new((x + 10, y), 3, LIMITED.filled()));
        chart
            .draw_series(LineSeries::new(
                curve(&a.freqs, &sep.moved_5cm_db, 50.0, 20_000.0),
                MOVED.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label("achieved, listener 5 cm off (worse side)")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MOVED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                curve(&a.freqs, &sep.target_db, 50.0, 20_000.0),
                TARGET.stroke_width(3),
            ))
            .map_err(|e| e.to_string())?
            .label("target")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], TARGET.stroke_width(3)));
        chart
            .draw_series(LineSeries::new(
                curve(&a.freqs, &sep.achieved_db, 50.0, 20_000.0),
                ACHIEVED.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label("achieved, nominal listener")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ACHIEVED.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())
    })
}

/// Near- and far-ear responses for a left-only input.
pub fn ear_responses(path: &Path, a: &Analysis) -> Result<(), CliError> {
    png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Ears for a left-only input (re the plain feed's near-ear level)",
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((20f64..20_000f64).log_scale(), -50f64..15f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .y_desc("level (dB)")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                curve(&a.freqs, &a.ears_db.0, 20.0, 20_000.0),
                ACHIEVED.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label("left (near) ear")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ACHIEVED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                curve(&a.freqs, &a.ears_db.1, 20.0, 20_000.0),
                FAR.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label("right (far) ear")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], FAR.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())
    })
}

/// A plot that only states why there is nothing to plot.
fn message(path: &Path, title: &str, text: &str) -> Result<(), CliError> {
    png(path, |root| {
        root.draw(&Text::new(
            title.to_string(),
            (40, 40),
            ("sans-serif", 30).into_font(),
        ))
        .map_err(|e| e.to_string())?;
        root.draw(&Text::new(
            text.to_string(),
            (40, 100),
            ("sans-serif", 22).into_font(),
        ))
        .map_err(|e| e.to_string())
    })
}

/// dB to a colour of the beam map (0 dB yellow, -30 dB dark blue).
fn heat(db: f64) -> RGBColor {
    let x = ((db + 30.0) / 30.0).clamp(0.0, 1.0);
    let c = plotters::style::colors::colormaps::ViridisRGB::get_color(x as f32);
    RGBColor(c.0, c.1, c.2)
}

/// Centre beam: azimuth × frequency map.
pub fn beam_map(path: &Path, a: &Analysis) -> Result<(), CliError> {
    let beam = match &a.beam {
        Ok(b) => b,
        Err(reason) => return message(path, "Centre beam unavailable", reason),
    };
    png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Centre channel re on-axis over azimuth and frequency (yellow 0 dB ... dark blue -30 dB)",
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((100f64..20_000f64).log_scale(), -90f64..90f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .y_desc("azimuth (°)")
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
                let az = azimuths[j] as f64;
                cells.push(Rectangle::new(
                    [(f - df / 2.0, az - 0.5), (f + df / 2.0, az + 0.5)],
                    heat(*v).filled(),
                ));
            }
        }
        chart.draw_series(cells).map_err(|e| e.to_string())?;
        Ok(())
    })
}

/// Centre beam: polar plots at a few frequencies.
pub fn beam_polar(path: &Path, a: &Analysis) -> Result<(), CliError> {
    let beam = match &a.beam {
        Ok(b) => b,
        Err(reason) => return message(path, "Centre beam unavailable", reason),
    };
    png(path, |root| {
        let panels = root.split_evenly((1, POLAR_FREQUENCIES.len()));
        for (panel, &f) in panels.iter().zip(&POLAR_FREQUENCIES) {
            let k = a
                .freqs
                .iter()
                .position(|x| *x >= f)
                .unwrap_or(a.freqs.len() - 1);
            let (w, h) = panel.dim_in_pixel();
            let (cx, cy, r) = (
                w as i32 / 2,
                h as i32 / 2 + 20,
                (w.min(h) as f64 / 2.0 - 40.0).max(10.0),
            );
            panel
                .draw(&Text::new(
                    format!("{f:.0} Hz"),
                    (cx - 30, 20),
                    ("sans-serif", 22).into_font(),
                ))
                .map_err(|e| e.to_string())?;
            for ring in [0.0, -10.0, -20.0] {
                let rr = r * (ring + 30.0) / 30.0;
                panel
                    .draw(&Circle::new((cx, cy), rr as i32, BLACK.mix(0.2)))
                    .map_err(|e| e.to_string())?;
                let label = Text::new(
                    format!("{ring:.0} dB"),
                    (cx + 4, cy - rr as i32 + 2),
                    ("sans-serif", 14).into_font(),
                );
                panel.draw(&label).map_err(|e| e.to_string())?;
            }
            let to_xy = |az_deg: f64, db: f64| {
                let rr = r * ((db.max(-30.0) + 30.0) / 30.0);
                let t = az_deg.to_radians();
                (cx + (rr * t.sin()) as i32, cy - (rr * t.cos()) as i32)
            };
            let points: Vec<(i32, i32)> = BEAM_AZIMUTHS
                .zip(&beam.map_db[k])
                .map(|(az, db)| to_xy(az as f64, *db))
                .collect();
            panel
                .draw(&PathElement::new(points, ACHIEVED.stroke_width(3)))
                .map_err(|e| e.to_string())?;
            for az in [-90.0, -45.0, 0.0, 45.0, 90.0] {
                panel
                    .draw(&PathElement::new(
                        vec![(cx, cy), to_xy(az, 0.0)],
                        BLACK.mix(0.15),
                    ))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    })
}

/// Virtual-speaker ILD against the head model (ITD in the caption).
pub fn virtual_cues(path: &Path, a: &Analysis) -> Result<(), CliError> {
    let Some(cues) = &a.virtual_cues else {
        return message(
            path,
            "Virtual speakers",
            "binaural mode has no virtual speakers: the input already carries the ears' cues",
        );
    };
    png(path, |root| {
        let caption = format!(
            "Virtual speaker at {:.0}°: ITD {:.0} µs (head model {:.0} µs); ILD below",
            a.input.settings.virtual_angle_deg,
            cues.itd_s * 1e6,
            cues.model_itd_s * 1e6
        );
        let mut chart = ChartBuilder::on(root)
            .caption(caption, ("sans-serif", 24))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((100f64..16_000f64).log_scale(), -30f64..5f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .y_desc("far ear re near ear (dB)")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                cues.ild_bands.iter().map(|(f, _, m)| (*f, *m)),
                TARGET.stroke_width(3),
            ))
            .map_err(|e| e.to_string())?
            .label("sphere head model")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], TARGET.stroke_width(3)));
        chart
            .draw_series(LineSeries::new(
                cues.ild_bands.iter().map(|(f, v, _)| (*f, *v)),
                ACHIEVED.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label("achieved at the ears")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ACHIEVED.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())
    })
}

/// How the mono sum of all outputs departs from the input's.
pub fn mono_sum(path: &Path, a: &Analysis) -> Result<(), CliError> {
    png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                "Mono sum of all outputs re the input's mono sum",
                ("sans-serif", 24),
            )
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((50f64..16_000f64).log_scale(), -20f64..20f64)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("frequency (Hz)")
            .y_desc("deviation (dB)")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(LineSeries::new(
                a.mono_sum.iter().map(|(f, s, _)| (*f, *s)),
                ACHIEVED.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label("decorrelated sides")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], ACHIEVED.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(
                a.mono_sum.iter().map(|(f, _, c)| (*f, *c)),
                TARGET.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label("centred source")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], TARGET.stroke_width(2)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())
    })
}

/// Separation to a colour of the sweet-spot map: dark blue at 0 dB or less, yellow at 25 dB.
fn separation_colour(db: f64) -> RGBColor {
    let x = (db / 25.0).clamp(0.0, 1.0);
    let c = plotters::style::colors::colormaps::ViridisRGB::get_color(x as f32);
    RGBColor(c.0, c.1, c.2)
}

/// The sweet spot: separation over listener positions, the fixed design beside the one that
/// follows the listener, with a ring at the nominal listener and lines ±5 and ±10 cm
/// sideways from it (grey: no value there).
pub fn sweet_spot(path: &Path, map: &SweetSpot) -> Result<(), CliError> {
    png(path, |root| {
        root.draw(&Text::new(
            "Separation (dB) over listener positions: dark blue 0 dB ... yellow 25 dB",
            (20, 12),
            ("sans-serif", 22).into_font(),
        ))
        .map_err(|e| e.to_string())?;
        let panels = root.margin(40, 0, 0, 0).split_evenly((1, 2));
        let dx = map.x_cm[1] - map.x_cm[0];
        let dy = map.y_m[1] - map.y_m[0];
        let (x0, x1) = (
            map.x_cm[0] - dx / 2.0,
            map.x_cm[map.x_cm.len() - 1] + dx / 2.0,
        );
        let (y0, y1) = (map.y_m[0] - dy / 2.0, map.y_m[map.y_m.len() - 1] + dy / 2.0);
        for (panel, (title, values)) in panels.iter().zip([
            ("fixed design (nominal listener)", &map.fixed_db),
            ("design following the listener", &map.following_db),
        ]) {
            let mut chart = ChartBuilder::on(panel)
                .caption(title, ("sans-serif", 20))
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
        Ok(())
    })
}

/// The sweet-spot plot of a mode without cancellation.
pub fn no_sweet_spot(path: &Path) -> Result<(), CliError> {
    message(
        path,
        "No sweet spot",
        "Headphone mode cancels nothing: the separation does not depend on where the listener sits.",
    )
}
