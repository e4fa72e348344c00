//! PNG plots of an [`Analysis`] (plotters, with egui's embedded font so that no system font
//! is needed). Every figure is titled with what it shows and the settings it was made with;
//! legends and colour bars stand beside the data, never on it; frequency axes read 100, 1k,
//! 10k; a figure that does not apply to the settings says why, in a figure of its own.

mod curves;
mod maps;
mod summary;
mod zone;

pub use curves::{cancellation, ear_responses, mono_sum, plant, virtual_cues};
pub use maps::{beam_map, beam_polar, sweet_spot};
pub use summary::summary;
pub use zone::zone;

use super::CliError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::io::Write;
use std::ops::Range;
use std::path::Path;
use std::sync::Once;

/// Pixel size of every figure.
pub const SIZE: (u32, u32) = (1200, 700);
/// Characters of the settings line under a title before it wraps.
const SUBTITLE_CHARS: usize = 160;
/// Width of the strip beside a plot that holds its legend or colour bar, as a share of the
/// plot's width.
const KEY_SHARE: f64 = 0.27;

const ACHIEVED: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
const TARGET: RGBColor = RGBColor(0xff, 0x7f, 0x0e);
const MOVED: RGBColor = RGBColor(0x88, 0x88, 0x88);
const LIMITED: RGBColor = RGBColor(0xd6, 0x27, 0x28);
const FAR: RGBColor = RGBColor(0x2c, 0xa0, 0x2c);
const GAIN: RGBColor = RGBColor(0x94, 0x67, 0xbd);
const TEXT: RGBColor = RGBColor(0x20, 0x20, 0x20);

/// A drawing area of a figure.
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// What every figure is titled with besides its own title: the preset and settings it was
/// made with (`preset soundbar, --set depth=100 · speakers mode, 3 drivers, sphere head`).
pub struct Context {
    /// The line under each title.
    pub settings: String,
}

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

/// Draws a figure in memory, titled, and writes the PNG atomically: nothing but the one
/// temporary file of the atomic write ever exists on disk, whatever fails.
fn figure(
    path: &Path,
    title: &str,
    context: &Context,
    draw: impl FnOnce(&Area) -> Result<(), String>,
) -> Result<(), CliError> {
    register_font();
    let (width, height) = SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_error(path, e))?;
        text(&root, title, (20, 10), 26).map_err(|e| draw_error(path, e))?;
        let lines = wrap(&context.settings, SUBTITLE_CHARS);
        for (i, line) in lines.iter().enumerate() {
            text(&root, line, (20, 42 + 18 * i as i32), 14).map_err(|e| draw_error(path, e))?;
        }
        let top = 50 + 18 * lines.len() as u32;
        draw(&root.margin(top, 0, 0, 0)).map_err(|e| draw_error(path, e))?;
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

/// Draws `line` at `at` (pixels from the area's top left) in `size`-point text.
fn text(area: &Area, line: &str, at: (i32, i32), size: u32) -> Result<(), String> {
    area.draw(&Text::new(
        line.to_string(),
        at,
        ("sans-serif", size).into_font().color(&TEXT),
    ))
    .map_err(|e| e.to_string())
}

/// Splits `text` into lines of at most `width` characters, at spaces.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split_whitespace() {
        let line = lines.last_mut().expect("one line at least");
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(word.to_string());
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    lines
}

/// A figure for settings it does not apply to: its title, the settings, and why, in words.
fn not_applicable(path: &Path, title: &str, context: &Context, why: &str) -> Result<(), CliError> {
    figure(path, title, context, |area| {
        area.draw(&Rectangle::new(
            [(20, 20), (SIZE.0 as i32 - 20, 260)],
            RGBColor(0xf2, 0xf2, 0xf2).filled(),
        ))
        .map_err(|e| e.to_string())?;
        text(area, "Not shown for these settings", (44, 40), 24)?;
        let mut why = why.to_string();
        if let Some(first) = why.get(..1) {
            why = first.to_uppercase() + &why[1..];
        }
        for (i, line) in wrap(&why, 100).iter().enumerate() {
            text(area, line, (44, 84 + 30 * i as i32), 20)?;
        }
        Ok(())
    })
}

/// The label of a frequency axis tick: decades only, as 100, 1k, 10k (the other ticks keep
/// their grid lines without a label).
fn frequency_label(f: &f64) -> String {
    let decade = f.log10().round();
    if (f.log10() - decade).abs() > 1e-6 {
        return String::new();
    }
    match 10f64.powf(decade) {
        v if v >= 1000.0 => format!("{:.0}k", v / 1000.0),
        v => format!("{v:.0}"),
    }
}

/// How a series is drawn, and its legend's sample.
#[derive(Clone, Copy)]
enum Key {
    /// A line of this colour and width.
    Line(RGBColor, u32),
    /// A dashed line.
    Dashed(RGBColor),
    /// Dots.
    Dots(RGBColor),
}

/// One curve of a line plot.
struct Series {
    points: Vec<(f64, f64)>,
    key: Key,
    label: String,
}

impl Series {
    fn new(
        points: impl IntoIterator<Item = (f64, f64)>,
        key: Key,
        label: impl Into<String>,
    ) -> Self {
        Self {
            points: points.into_iter().collect(),
            key,
            label: label.into(),
        }
    }
}

/// The axes of a line plot over frequency.
struct Axes<'a> {
    x_hz: Range<f64>,
    y: Range<f64>,
    y_desc: &'a str,
}

/// Draws `series` over log frequency in the left part of `area` and their legend in the
/// strip to its right. A series with no points gets no legend entry.
fn line_plot(area: &Area, axes: &Axes, series: &[Series]) -> Result<(), String> {
    let (width, _) = area.dim_in_pixel();
    let (plot, key) = area.split_horizontally((f64::from(width) * (1.0 - KEY_SHARE)) as u32);
    let mut chart = ChartBuilder::on(&plot)
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(axes.x_hz.clone().log_scale(), axes.y.clone())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("frequency (Hz)")
        .y_desc(axes.y_desc)
        .x_label_formatter(&frequency_label)
        .y_label_formatter(&|v| format!("{:.0}", v + 0.0))
        .label_style(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    // What lies outside the axes is not drawn (rather than pinned to an edge), a line broken
    // where it leaves them; a series with nothing inside gets no legend entry.
    let inside = |(f, v): &(f64, f64)| axes.x_hz.contains(f) && axes.y.contains(v);
    let mut shown = Vec::new();
    for s in series {
        let runs: Vec<Vec<(f64, f64)>> = s
            .points
            .split(|p| !inside(p))
            .filter(|run| !run.is_empty())
            .map(<[_]>::to_vec)
            .collect();
        if runs.is_empty() {
            continue;
        }
        for run in runs {
            match s.key {
                Key::Line(colour, width) => chart
                    .draw_series(LineSeries::new(run, colour.stroke_width(width)))
                    .map(|_| ()),
                Key::Dashed(colour) => chart
                    .draw_series(DashedLineSeries::new(run, 8, 5, colour.stroke_width(2)))
                    .map(|_| ()),
                Key::Dots(colour) => chart
                    .draw_series(run.into_iter().map(|p| Circle::new(p, 2, colour.filled())))
                    .map(|_| ()),
            }
            .map_err(|e| e.to_string())?;
        }
        shown.push((s.key, s.label.as_str()));
    }
    legend(&key, shown.into_iter())
}

/// A legend at the top of `area`: a sample of each key and its label, wrapped to the strip.
fn legend<'s>(area: &Area, entries: impl Iterator<Item = (Key, &'s str)>) -> Result<(), String> {
    let (width, _) = area.dim_in_pixel();
    let chars = ((width as usize).saturating_sub(50) / 8).max(12);
    let mut y = 30;
    for (key, label) in entries {
        let sample = [(6, y + 9), (36, y + 9)];
        match key {
            Key::Line(colour, w) => area
                .draw(&PathElement::new(sample.to_vec(), colour.stroke_width(w)))
                .map_err(|e| e.to_string())?,
            Key::Dashed(colour) => {
                for (from, to) in [(6, 16), (22, 32)] {
                    area.draw(&PathElement::new(
                        vec![(from, y + 9), (to, y + 9)],
                        colour.stroke_width(2),
                    ))
                    .map_err(|e| e.to_string())?;
                }
            }
            Key::Dots(colour) => area
                .draw(&Circle::new((21, y + 9), 4, colour.filled()))
                .map_err(|e| e.to_string())?,
        }
        for line in wrap(label, chars) {
            text(area, &line, (44, y), 16)?;
            y += 20;
        }
        y += 12;
    }
    Ok(())
}

/// A vertical colour bar from `range.start` (bottom) to `range.end` (top) in `unit`, with
/// `colour` mapping a value to its colour, in the strip `area`.
fn colour_bar(
    area: &Area,
    range: Range<f64>,
    unit: &str,
    colour: impl Fn(f64) -> RGBColor,
) -> Result<(), String> {
    let (_, height) = area.dim_in_pixel();
    let (top, bottom) = (40, height as i32 - 70);
    let steps = (bottom - top).max(1);
    for i in 0..steps {
        let value = range.end - (range.end - range.start) * f64::from(i) / f64::from(steps);
        area.draw(&Rectangle::new(
            [(20, top + i), (50, top + i + 1)],
            colour(value).filled(),
        ))
        .map_err(|e| e.to_string())?;
    }
    area.draw(&Rectangle::new(
        [(20, top), (50, bottom)],
        BLACK.stroke_width(1),
    ))
    .map_err(|e| e.to_string())?;
    text(area, unit, (14, top - 28), 16)?;
    for tick in 0..=5 {
        let value = range.start + (range.end - range.start) * f64::from(tick) / 5.0;
        let y = bottom - (bottom - top) * tick / 5;
        area.draw(&PathElement::new(
            vec![(50, y), (56, y)],
            BLACK.stroke_width(1),
        ))
        .map_err(|e| e.to_string())?;
        text(area, &format!("{value:.0}"), (60, y - 8), 15)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequency_ticks_read_100_1k_10k_and_only_decades_are_labelled() {
        let labels: Vec<String> = [20.0, 100.0, 200.0, 1000.0, 5000.0, 10_000.0, 20_000.0]
            .iter()
            .map(frequency_label)
            .collect();
        assert_eq!(labels, ["", "100", "", "1k", "", "10k", ""]);
    }

    #[test]
    fn long_lines_wrap_at_spaces_within_the_width() {
        let lines = wrap("one two three four five six seven", 10);
        assert_eq!(lines, ["one two", "three four", "five six", "seven"]);
        assert!(wrap("", 10) == [""]);
    }
}
