//! The editor's views of a design, painted with egui from an [`Analysis`]: separation
//! (target against achieved, with the filter-gain cap marked), ear responses, the beam as an
//! azimuth × frequency map and as a polar plot, and the geometry seen from above.

use super::theme;
use crate::design::config::settings::{Mode, Settings};
use crate::design::evaluate::analysis::{Analysis, BEAM_AZIMUTHS};
use crate::design::evaluate::sweet_spot::{SweetSpot, Y_FACTORS};
use crate::design::model::geometry::{Geometry, DEFAULT_HEAD_RADIUS_M, EAR_AZIMUTH_DEG};
use egui::{pos2, vec2, Align2, Color32, FontId, Pos2, Rect, Shape, Stroke, StrokeKind, Ui};

/// Frequency range of every frequency plot, Hz.
const F_RANGE: (f64, f64) = (50.0, 20_000.0);
/// Dynamic range of the beam views, dB below on-axis.
const BEAM_RANGE_DB: f64 = 30.0;

/// A plot's frame: maps log frequency and a linear value range into a rectangle.
struct Frame {
    rect: Rect,
    y_range: (f64, f64),
}

impl Frame {
    fn x(&self, f: f64) -> f32 {
        let t = (f.max(F_RANGE.0) / F_RANGE.0).ln() / (F_RANGE.1 / F_RANGE.0).ln();
        self.rect.left() + self.rect.width() * t.clamp(0.0, 1.0) as f32
    }

    fn y(&self, v: f64) -> f32 {
        let (lo, hi) = self.y_range;
        let t = ((v - lo) / (hi - lo)).clamp(0.0, 1.0);
        self.rect.bottom() - self.rect.height() * t as f32
    }

    /// Background, grid and axis labels every `step` on the value axis, labelled in `unit`.
    fn draw_axes(&self, painter: &egui::Painter, step: f64, unit: &str) {
        painter.rect_filled(self.rect, 4.0, theme::PANEL);
        let font = FontId::proportional(11.0);
        for f in [
            100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10_000.0, 20_000.0,
        ] {
            let x = self.x(f);
            painter.vline(x, self.rect.y_range(), Stroke::new(1.0, theme::GRID));
            let label = if f >= 1000.0 {
                format!("{}k", f / 1000.0)
            } else {
                format!("{f}")
            };
            painter.text(
                pos2(x, self.rect.bottom() + 2.0),
                Align2::CENTER_TOP,
                label,
                font.clone(),
                theme::TEXT_DIM,
            );
        }
        let (lo, hi) = self.y_range;
        let mut v = (lo / step).ceil() * step;
        while v <= hi + 1e-9 {
            let y = self.y(v);
            painter.hline(self.rect.x_range(), y, Stroke::new(1.0, theme::GRID));
            painter.text(
                pos2(self.rect.left() - 4.0, y),
                Align2::RIGHT_CENTER,
                // Adding zero turns −0 into 0.
                format!("{:.0}{unit}", v + 0.0),
                font.clone(),
                theme::TEXT_DIM,
            );
            v += step;
        }
        painter.rect_stroke(
            self.rect,
            4.0,
            Stroke::new(1.0, theme::TRACK),
            StrokeKind::Inside,
        );
    }

    /// A per-bin curve between the plot's frequency limits; non-finite values (where the
    /// quantity does not exist) break it.
    fn curve(&self, painter: &egui::Painter, freqs: &[f64], values: &[f64], stroke: Stroke) {
        let mut run: Vec<Pos2> = Vec::new();
        let flush = |run: &mut Vec<Pos2>| {
            if run.len() > 1 {
                painter.add(Shape::line(std::mem::take(run), stroke));
            }
            run.clear();
        };
        for (f, v) in freqs.iter().zip(values) {
            if *f < F_RANGE.0 || *f > F_RANGE.1 {
                continue;
            }
            if v.is_finite() {
                run.push(pos2(self.x(*f), self.y(*v)));
            } else {
                flush(&mut run);
            }
        }
        flush(&mut run);
    }
}

/// Room for axis labels around a plot rectangle.
fn plot_rect(outer: Rect) -> Rect {
    Rect::from_min_max(outer.min + vec2(44.0, 22.0), outer.max - vec2(10.0, 18.0))
}

fn title(painter: &egui::Painter, outer: Rect, text: &str) {
    painter.text(
        outer.left_top() + vec2(44.0, 2.0),
        Align2::LEFT_TOP,
        text,
        FontId::proportional(13.0),
        theme::TEXT,
    );
}

/// Legend entries, right-aligned at the top of the plot.
fn legend(painter: &egui::Painter, rect: Rect, entries: &[(&str, Color32)]) {
    let mut y = rect.top() + 6.0;
    for (name, colour) in entries {
        let right = rect.right() - 8.0;
        painter.line_segment(
            [pos2(right - 18.0, y + 6.0), pos2(right, y + 6.0)],
            Stroke::new(3.0, *colour),
        );
        painter.text(
            pos2(right - 24.0, y + 6.0),
            Align2::RIGHT_CENTER,
            *name,
            FontId::proportional(11.0),
            theme::TEXT,
        );
        y += 15.0;
    }
}

/// A centred note in place of a plot that does not apply.
pub fn unavailable(ui: &mut Ui, size: egui::Vec2, heading: &str, why: &str) {
    let (rect, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, theme::PANEL);
    title(&painter, rect, heading);
    let galley = painter.layout(
        why.to_owned(),
        FontId::proportional(13.0),
        theme::TEXT_DIM,
        (rect.width() - 60.0).max(100.0),
    );
    painter.galley(rect.center() - galley.size() / 2.0, galley, theme::TEXT_DIM);
}

/// Target and achieved separation (left input) over frequency, the listener 5 cm off, and
/// the frequencies where the filter-gain cap kept the target out of reach.
///
/// NOTE: long because it is one drawing in painting order: title, axes, gain under its cap,
/// limited bands, curves, legend.
pub fn cancellation(ui: &mut Ui, size: egui::Vec2, a: &Analysis) {
    let Some(sep) = &a.separation else {
        unavailable(
            ui,
            size,
            "Cancellation",
            "Headphones: nothing is cancelled, each ear has its own driver.",
        );
        return;
    };
    let (outer, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(outer);
    let frame = Frame {
        rect: plot_rect(outer),
        y_range: (-5.0, 40.0),
    };
    title(
        &painter,
        outer,
        &format!(
            "Separation at the ears: nominal {:.1} dB, 5 cm off {:.1} dB (300 Hz–6 kHz)",
            sep.nominal().map_or(f64::NAN, |s| s.mean_db),
            sep.nearby_worst_db()
        ),
    );
    frame.draw_axes(&painter, 10.0, " dB");
    // The gain the filters use, on the same dB axis as the separation, where they act.
    let gain: Vec<f64> = sep
        .filter_gain_db
        .iter()
        .map(|&g| if g > -60.0 { g } else { f64::NAN })
        .collect();
    frame.curve(&painter, &a.freqs, &gain, Stroke::new(1.5, theme::LIMIT));
    frame.curve(
        &painter,
        &a.freqs,
        &sep.moved_5cm_db,
        Stroke::new(1.5, theme::MOVED),
    );
    frame.curve(
        &painter,
        &a.freqs,
        &sep.target_db,
        Stroke::new(2.5, theme::TARGET),
    );
    frame.curve(
        &painter,
        &a.freqs,
        &sep.achieved_db,
        Stroke::new(2.0, theme::ACCENT),
    );
    // The cap itself, over the curves so that it stays visible where they meet it.
    let cap_y = frame.y(sep.boost_limit_db);
    for shape in Shape::dashed_line(
        &[
            pos2(frame.rect.left(), cap_y),
            pos2(frame.rect.right(), cap_y),
        ],
        Stroke::new(1.5, theme::LIMIT),
        6.0,
        6.0,
    ) {
        painter.add(shape);
    }
    painter.text(
        pos2(frame.rect.left() + 6.0, cap_y - 2.0),
        Align2::LEFT_BOTTOM,
        format!("filter-gain cap {:.0} dB", sep.boost_limit_db),
        FontId::proportional(11.0),
        theme::LIMIT,
    );
    for ((f, t), limited) in a.freqs.iter().zip(&sep.target_db).zip(&sep.limited) {
        if *limited && *f >= F_RANGE.0 && *f <= F_RANGE.1 {
            painter.circle_filled(pos2(frame.x(*f), frame.y(*t)), 2.5, theme::LIMIT);
        }
    }
    legend(
        &painter,
        frame.rect,
        &[
            ("target", theme::TARGET),
            ("achieved", theme::ACCENT),
            ("listener 5 cm off", theme::MOVED),
            (
                &format!(
                    "filter gain, max {:.1} dB (dots: the cap keeps the target out of reach)",
                    sep.max_gain_db
                ),
                theme::LIMIT,
            ),
        ],
    );
}

/// Near and far ear magnitude for a left-only input, relative to the plain feed's near ear.
pub fn ear_responses(ui: &mut Ui, size: egui::Vec2, a: &Analysis) {
    let (outer, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(outer);
    let frame = Frame {
        rect: plot_rect(outer),
        y_range: (-40.0, 10.0),
    };
    let what = if a.input.settings.mode == Mode::Headphones {
        "Ear responses, left-only input (headphones)"
    } else {
        "Ear responses at the listener, left-only input"
    };
    title(&painter, outer, what);
    frame.draw_axes(&painter, 10.0, " dB");
    frame.curve(
        &painter,
        &a.freqs,
        &a.ears_db.1,
        Stroke::new(2.0, theme::FAR),
    );
    frame.curve(
        &painter,
        &a.freqs,
        &a.ears_db.0,
        Stroke::new(2.0, theme::ACCENT),
    );
    legend(
        &painter,
        frame.rect,
        &[
            ("left (near) ear", theme::ACCENT),
            ("right (far) ear", theme::FAR),
        ],
    );
}

/// One colour per driver of the plant view.
const DRIVER_COLOURS: [Color32; 4] = [theme::ACCENT, theme::TARGET, theme::FAR, theme::LIMIT];

/// The plant itself at the design's listener: each driver at the left ear (thick) and the
/// right ear (thin), with each driver's ITD in the legend.
pub fn plant(ui: &mut Ui, size: egui::Vec2, a: &Analysis) {
    let (outer, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(outer);
    let frame = Frame {
        rect: plot_rect(outer),
        y_range: (-40.0, 10.0),
    };
    title(
        &painter,
        outer,
        &format!("The plant: each driver at each ear ({})", a.plant_name),
    );
    frame.draw_axes(&painter, 10.0, " dB");
    let mut labels = Vec::new();
    for (d, ears) in a.plant.magnitude_db.iter().enumerate() {
        let colour = DRIVER_COLOURS[d % DRIVER_COLOURS.len()];
        frame.curve(&painter, &a.freqs, &ears[1], Stroke::new(1.0, colour));
        frame.curve(&painter, &a.freqs, &ears[0], Stroke::new(2.5, colour));
        labels.push((
            format!(
                "driver {}: left ear thick, right thin; ITD {:+.3} ms",
                d + 1,
                a.plant.itd_s(d) * 1e3
            ),
            colour,
        ));
    }
    let entries: Vec<(&str, Color32)> = labels.iter().map(|(l, c)| (l.as_str(), *c)).collect();
    legend(&painter, frame.rect, &entries);
}

/// Why the beam views are empty, or `None` when there is a beam to show.
pub fn beam_unavailable(a: &Analysis) -> Option<&str> {
    a.beam.as_ref().err().map(String::as_str)
}

/// The beam map as RGBA pixels: azimuth across (−90° to 90°), log frequency up.
pub fn beam_image(a: &Analysis) -> Option<egui::ColorImage> {
    let beam = a.beam.as_ref().ok()?;
    let (width, height) = (BEAM_AZIMUTHS.clone().count(), 160usize);
    let mut pixels = Vec::with_capacity(width * height);
    for row in 0..height {
        // Top row is the highest frequency.
        let t = 1.0 - row as f64 / (height - 1) as f64;
        let f = 100.0 * (16_000.0f64 / 100.0).powf(t);
        let bin = a
            .freqs
            .iter()
            .position(|&x| x >= f)
            .unwrap_or(a.freqs.len() - 1);
        for db in &beam.map_db[bin] {
            pixels.push(theme::heat((1.0 + db / BEAM_RANGE_DB) as f32));
        }
    }
    Some(egui::ColorImage::new([width, height], pixels))
}

/// Paints the beam map texture with its axes.
///
/// NOTE: long because it is one drawing: the texture, both axes with their ticks, the band
/// markers and the labels.
pub fn beam_map(ui: &mut Ui, size: egui::Vec2, texture: &egui::TextureHandle, a: &Analysis) {
    let (outer, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(outer);
    let rect = plot_rect(outer);
    title(
        &painter,
        outer,
        &format!("Centre beam, dB re on-axis (0 to −{BEAM_RANGE_DB:.0})"),
    );
    painter.image(
        texture.id(),
        rect,
        Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
        Color32::WHITE,
    );
    let font = FontId::proportional(11.0);
    for az in [-90, -45, 0, 45, 90] {
        let x = rect.left() + rect.width() * (az + 90) as f32 / 180.0;
        painter.vline(
            x,
            rect.y_range(),
            Stroke::new(1.0, Color32::from_white_alpha(40)),
        );
        painter.text(
            pos2(x, rect.bottom() + 2.0),
            Align2::CENTER_TOP,
            format!("{az}°"),
            font.clone(),
            theme::TEXT_DIM,
        );
    }
    for f in [100.0f64, 300.0, 1000.0, 3000.0, 10_000.0] {
        let t = (f / 100.0).ln() / (16_000.0f64 / 100.0).ln();
        let y = rect.bottom() - rect.height() * t as f32;
        painter.text(
            pos2(rect.left() - 4.0, y),
            Align2::RIGHT_CENTER,
            if f >= 1000.0 {
                format!("{}k", f / 1000.0)
            } else {
                format!("{f}")
            },
            font.clone(),
            theme::TEXT_DIM,
        );
    }
    if let Ok(beam) = &a.beam {
        painter.text(
            rect.right_top() + vec2(-6.0, 4.0),
            Align2::RIGHT_TOP,
            format!(
                "{:.0} Hz–{:.0} Hz: front/side {:.1} dB, ±45° {:.1} dB",
                beam.band.0,
                beam.band.1,
                beam.figures.front_to_side_db,
                beam.figures.response_45_db
            ),
            font.clone(),
            Color32::WHITE,
        );
    }
    // Colour scale.
    let bar = Rect::from_min_size(rect.right_top() + vec2(-22.0, 24.0), vec2(12.0, 90.0));
    let mut mesh = egui::Mesh::default();
    for k in 0..30 {
        let t0 = k as f32 / 30.0;
        let cell = Rect::from_min_max(
            pos2(bar.left(), bar.bottom() - bar.height() * (t0 + 1.0 / 30.0)),
            pos2(bar.right(), bar.bottom() - bar.height() * t0),
        );
        mesh.add_colored_rect(cell, theme::heat(t0 + 0.5 / 30.0));
    }
    painter.add(Shape::mesh(mesh));
    painter.text(
        bar.left_top(),
        Align2::RIGHT_TOP,
        "0 dB ",
        font.clone(),
        Color32::WHITE,
    );
    painter.text(
        bar.left_bottom(),
        Align2::RIGHT_BOTTOM,
        format!("−{BEAM_RANGE_DB:.0} dB "),
        font,
        Color32::WHITE,
    );
}

/// The beam's polar pattern at `freq_hz` (dB re on-axis, front up).
pub fn beam_polar(ui: &mut Ui, size: egui::Vec2, a: &Analysis, freq_hz: f64) {
    let (outer, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(outer);
    let Ok(beam) = &a.beam else { return };
    title(
        &painter,
        outer,
        &format!("Polar pattern at {freq_hz:.0} Hz"),
    );
    let centre = pos2(outer.center().x, outer.bottom() - 16.0);
    let radius = (outer.height() - 44.0)
        .min(outer.width() * 0.5 - 20.0)
        .max(10.0);
    let font = FontId::proportional(10.0);
    for ring in [0.0, 10.0, 20.0, 30.0] {
        let r = radius * (1.0 - ring / BEAM_RANGE_DB) as f32;
        let arc: Vec<Pos2> = (0..=36)
            .map(|k| {
                let az = (-90.0 + 5.0 * k as f32).to_radians();
                centre + r * vec2(az.sin(), -az.cos())
            })
            .collect();
        painter.add(Shape::line(arc, Stroke::new(1.0, theme::GRID)));
        painter.text(
            centre + vec2(2.0, -r),
            Align2::LEFT_BOTTOM,
            format!("−{ring:.0}"),
            font.clone(),
            theme::TEXT_DIM,
        );
    }
    for az in [-90.0f32, -45.0, 0.0, 45.0, 90.0] {
        let d = vec2(az.to_radians().sin(), -az.to_radians().cos());
        painter.line_segment([centre, centre + radius * d], Stroke::new(1.0, theme::GRID));
    }
    let bin = a
        .freqs
        .iter()
        .position(|&x| x >= freq_hz)
        .unwrap_or(a.freqs.len() - 1);
    let points: Vec<Pos2> = BEAM_AZIMUTHS
        .clone()
        .zip(&beam.map_db[bin])
        .map(|(az, db)| {
            let r = radius * (1.0 + db / BEAM_RANGE_DB).clamp(0.0, 1.0) as f32;
            let az = (az as f32).to_radians();
            centre + r * vec2(az.sin(), -az.cos())
        })
        .collect();
    painter.add(Shape::line(points, Stroke::new(2.5, theme::TARGET)));
}

/// The drivers, the listener's head and the listening zone around it, the virtual speakers
/// and (on a line) the centre beam's main lobe, seen from above, scaled to fit.
///
/// NOTE: long because it is one drawing, in painting order: scale, beam lobe, zone,
/// virtual speakers, drivers, listener, labels.
pub fn geometry(
    ui: &mut Ui,
    size: egui::Vec2,
    settings: &Settings,
    outputs: usize,
    beam: bool,
    tracked: Option<&TrackedHead>,
) {
    let (outer, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(outer);
    painter.rect_filled(outer, 4.0, theme::PANEL);
    let g: Geometry = settings.geometry(outputs);
    let xs = g.driver_x();
    let head = g.head_centre();
    let virtual_distance = g.distance_m.max(0.3) * 0.6;
    let angle = settings.virtual_angle_deg.to_radians();
    let virtuals = [-1.0, 1.0].map(|side: f64| {
        (
            head.0 + side * virtual_distance * angle.sin(),
            head.1 - virtual_distance * angle.cos(),
        )
    });
    // World extent: every point drawn, with a margin.
    let mut lo = (f64::INFINITY, f64::INFINITY);
    let mut hi = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    let radius = DEFAULT_HEAD_RADIUS_M;
    // The zone the canceller holds over (none in headphone mode, which cancels nothing).
    let zone =
        (settings.zone_m > 0.0 && settings.mode != Mode::Headphones).then_some(settings.zone_m);
    let zone_corners = zone.map(|z| [(head.0 - z, head.1 - z), (head.0 + z, head.1 + z)]);
    for p in xs
        .iter()
        .map(|&x| (x, 0.0))
        .chain([
            head,
            (head.0 - radius, head.1 + radius),
            (head.0 + radius, head.1 - radius),
        ])
        .chain(tracked.map(|t| (t.x_m, t.y_m)))
        .chain(zone_corners.into_iter().flatten())
        .chain(if settings.mode == Mode::Binaural {
            Vec::new()
        } else {
            virtuals.to_vec()
        })
    {
        lo = (lo.0.min(p.0), lo.1.min(p.1));
        hi = (hi.0.max(p.0), hi.1.max(p.1));
    }
    let inner = outer.shrink(28.0);
    let span = ((hi.0 - lo.0) / inner.width() as f64).max((hi.1 - lo.1) / inner.height() as f64);
    let scale = (1.0 / span.max(1e-6)) as f32;
    let mid = ((lo.0 + hi.0) / 2.0, (lo.1 + hi.1) / 2.0);
    // The listener faces the drivers: drivers at the top, the listener below them.
    let to_screen = |p: (f64, f64)| {
        inner.center()
            + vec2(
                ((p.0 - mid.0) as f32) * scale,
                ((p.1 - mid.1) as f32) * scale,
            )
    };
    let font = FontId::proportional(11.0);
    if beam && settings.mode == Mode::Speakers {
        // The main lobe: ±45° around the axis from the array towards the listener.
        let origin = to_screen((0.0, 0.0));
        let reach = (g.distance_m as f32 * scale * 1.05).max(20.0);
        let lobe: Vec<Pos2> = std::iter::once(origin)
            .chain((0..=18).map(|k| {
                let a = (-45.0 + 5.0 * k as f32).to_radians();
                origin + reach * vec2(a.sin(), a.cos())
            }))
            .collect();
        painter.add(Shape::convex_polygon(
            lobe,
            theme::TARGET.gamma_multiply(0.18),
            Stroke::new(1.0, theme::TARGET.gamma_multiply(0.6)),
        ));
    }
    if let Some([a, b]) = zone_corners {
        let rect = Rect::from_two_pos(to_screen(a), to_screen(b));
        painter.rect_filled(rect, 2.0, theme::TARGET.gamma_multiply(0.12));
        painter.rect_stroke(
            rect,
            2.0,
            Stroke::new(1.0, theme::TARGET.gamma_multiply(0.7)),
            egui::StrokeKind::Inside,
        );
        painter.text(
            rect.right_bottom() + vec2(4.0, 0.0),
            Align2::LEFT_BOTTOM,
            format!("zone ±{:.0} cm", settings.zone_m * 100.0),
            font.clone(),
            theme::TARGET,
        );
    }
    if settings.mode != Mode::Binaural {
        for (v, name) in virtuals.iter().zip(["virtual L", "virtual R"]) {
            let p = to_screen(*v);
            painter.line_segment(
                [to_screen(head), p],
                Stroke::new(1.0, theme::FAR.gamma_multiply(0.5)),
            );
            painter.circle_stroke(p, 7.0, Stroke::new(2.0, theme::FAR));
            painter.text(
                p + vec2(0.0, -10.0),
                Align2::CENTER_BOTTOM,
                name,
                font.clone(),
                theme::FAR,
            );
        }
    }
    for (n, &x) in xs.iter().enumerate() {
        let p = to_screen((x, 0.0));
        let box_ = Rect::from_center_size(p, vec2(14.0, 10.0));
        painter.rect_filled(box_, 2.0, theme::ACCENT);
        painter.text(
            p + vec2(0.0, -8.0),
            Align2::CENTER_BOTTOM,
            format!("{}", n + 1),
            font.clone(),
            theme::TEXT,
        );
    }
    let r = (radius as f32 * scale).max(8.0);
    draw_head(
        &painter,
        to_screen(head),
        r,
        settings.yaw_deg,
        theme::PANEL_LIGHT,
        theme::TEXT,
    );
    if let Some(t) = tracked {
        let h = to_screen((t.x_m, t.y_m));
        draw_head(
            &painter,
            h,
            r,
            t.yaw_deg,
            theme::ACCENT.gamma_multiply(0.25),
            theme::ACCENT,
        );
        let separation = t
            .separation_db
            .map_or("no canceller".into(), |db| format!("{db:.1} dB predicted"));
        painter.text(
            h + vec2(r + 6.0, 0.0),
            Align2::LEFT_CENTER,
            format!("tracked · {separation}"),
            font.clone(),
            theme::ACCENT,
        );
    }
    painter.text(
        outer.left_bottom() + vec2(8.0, -6.0),
        Align2::LEFT_BOTTOM,
        format!(
            "{outputs} drivers, {:.0} cm apart · listener at {:.2} m, {:+.0} cm, {:+.0}°",
            settings.spacing_m * 100.0,
            settings.distance_m,
            settings.offset_m * 100.0,
            settings.yaw_deg
        ),
        font,
        theme::TEXT_DIM,
    );
}

/// Where the tracker has the listener's head, as the designer last designed for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackedHead {
    /// Sideways, metres (the sign of `offset`).
    pub x_m: f64,
    /// Distance from the drivers, metres.
    pub y_m: f64,
    /// Head turn, degrees (+ = to its own left).
    pub yaw_deg: f64,
    /// The separation its design predicts at this pose (300 Hz–6 kHz, worse side), dB; none
    /// in headphone mode.
    pub separation_db: Option<f64>,
}

/// A head seen from above at `centre`, radius `r` pixels, turned `yaw_deg` (+ = to its own
/// left, counter-clockwise on screen with the drivers at the top): outline, nose and ears.
fn draw_head(
    painter: &egui::Painter,
    centre: Pos2,
    r: f32,
    yaw_deg: f64,
    fill: Color32,
    line: Color32,
) {
    painter.circle(centre, r, fill, Stroke::new(2.0, line));
    // Facing the drivers (up on screen) at yaw 0. The listener faces the screen's top, so
    // their left is the screen's left: a turn to the left (+yaw) turns the nose left.
    let facing = -(yaw_deg as f32).to_radians();
    let at = |a: f32| vec2(a.sin(), -a.cos());
    painter.line_segment(
        [centre + r * at(facing), centre + (r + 6.0) * at(facing)],
        Stroke::new(2.0, line),
    );
    for side in [-1.0f32, 1.0] {
        let a = facing + (EAR_AZIMUTH_DEG as f32).to_radians() * side;
        painter.circle_filled(centre + r * at(a), 3.0, line);
    }
}

/// Separation range of the sweet-spot map's colours, dB (dark at 0, bright at the top).
const SWEET_SPOT_RANGE_DB: f64 = 25.0;

/// The sweet-spot map: predicted separation over listener positions, for the fixed design
/// and for a design that follows the listener, side by side, with the nominal listener (and
/// the tracked head, when there is one) marked. The same map as the report's
/// `sweet_spot.png`.
pub fn sweet_spot_map(
    ui: &mut Ui,
    size: egui::Vec2,
    map: &SweetSpot,
    tracked: Option<&TrackedHead>,
) {
    let (outer, _) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter_at(outer);
    painter.rect_filled(outer, 4.0, theme::PANEL);
    let font = FontId::proportional(11.0);
    let (cols, rows) = (map.x_cm.len(), map.y_m.len());
    let (Some(&x_lo), Some(&x_hi)) = (map.x_cm.first(), map.x_cm.last()) else {
        return;
    };
    if cols < 2 || rows < 2 || x_hi <= x_lo {
        return;
    }
    let (y_lo, y_hi) = (map.y_m[0], map.y_m[rows - 1]);
    let half = (outer.width() - 24.0) / 2.0;
    for (panel, (grid, title)) in [
        (&map.fixed_db, "fixed design"),
        (&map.following_db, "following the listener"),
    ]
    .into_iter()
    .enumerate()
    {
        let area = Rect::from_min_size(
            outer.min + vec2(36.0 + panel as f32 * (half + 8.0), 22.0),
            vec2(half - 36.0, outer.height() - 60.0),
        );
        let (cw, ch) = (area.width() / cols as f32, area.height() / rows as f32);
        for (row, values) in grid.iter().enumerate() {
            for (col, v) in values.iter().enumerate() {
                let cell = Rect::from_min_size(
                    area.min + vec2(col as f32 * cw, row as f32 * ch),
                    vec2(cw + 0.5, ch + 0.5),
                );
                let colour = v.map_or(theme::PANEL_LIGHT, |db| {
                    theme::heat((db / SWEET_SPOT_RANGE_DB).clamp(0.0, 1.0) as f32)
                });
                painter.rect_filled(cell, 0.0, colour);
                if let Some(db) = v {
                    if cw > 26.0 && ch > 12.0 {
                        painter.text(
                            cell.center(),
                            Align2::CENTER_CENTER,
                            format!("{db:.0}"),
                            FontId::proportional(9.0),
                            Color32::BLACK,
                        );
                    }
                }
            }
        }
        // Markers go by the grid's rows and columns (its distances may repeat where the
        // parameter's range clamps them); a point off the grid has no place on it.
        let to_screen = |x_cm: f64, row: f64| {
            let col = (x_cm - x_lo) / (x_hi - x_lo) * (cols - 1) as f64;
            pos2(
                area.left() + (col as f32 + 0.5) * cw,
                area.top() + (row as f32 + 0.5) * ch,
            )
        };
        let on_grid = |x_cm: f64, y_m: f64| {
            let row = map.y_m.windows(2).enumerate().find_map(|(i, pair)| {
                let (a, b) = (pair[0], pair[1]);
                (b > a && (a..=b).contains(&y_m)).then(|| i as f64 + (y_m - a) / (b - a))
            })?;
            (x_lo..=x_hi).contains(&x_cm).then(|| to_screen(x_cm, row))
        };
        painter.text(
            area.center_top() - vec2(0.0, 4.0),
            Align2::CENTER_BOTTOM,
            title,
            font.clone(),
            theme::TEXT,
        );
        for off_cm in [-10.0, -5.0, 5.0, 10.0] {
            let line_cm = map.nominal_x_cm + off_cm;
            if !(x_lo..=x_hi).contains(&line_cm) {
                continue;
            }
            let x = to_screen(line_cm, 0.0).x;
            painter.line_segment(
                [pos2(x, area.top()), pos2(x, area.bottom())],
                Stroke::new(1.0, theme::TEXT_DIM.gamma_multiply(0.5)),
            );
        }
        let nominal_row = Y_FACTORS.iter().position(|&f| f == 1.0).unwrap_or(rows / 2);
        painter.circle_stroke(
            to_screen(map.nominal_x_cm, nominal_row.min(rows - 1) as f64),
            5.0,
            Stroke::new(2.0, theme::TEXT),
        );
        if let Some(p) = tracked.and_then(|t| on_grid(t.x_m * 100.0, t.y_m)) {
            painter.circle_stroke(p, 5.0, Stroke::new(2.0, theme::ACCENT));
        }
        painter.text(
            area.left_bottom() + vec2(0.0, 3.0),
            Align2::LEFT_TOP,
            format!("{x_lo:+.0} cm"),
            font.clone(),
            theme::TEXT_DIM,
        );
        painter.text(
            area.right_bottom() + vec2(0.0, 3.0),
            Align2::RIGHT_TOP,
            format!("{x_hi:+.0} cm"),
            font.clone(),
            theme::TEXT_DIM,
        );
        painter.text(
            area.left_top() - vec2(3.0, 0.0),
            Align2::RIGHT_TOP,
            format!("{y_lo:.1} m"),
            font.clone(),
            theme::TEXT_DIM,
        );
        painter.text(
            area.left_bottom() - vec2(3.0, 0.0),
            Align2::RIGHT_BOTTOM,
            format!("{y_hi:.1} m"),
            font.clone(),
            theme::TEXT_DIM,
        );
    }
    painter.text(
        outer.center_bottom() - vec2(0.0, 4.0),
        Align2::CENTER_BOTTOM,
        format!(
            "separation, dark 0 to bright {SWEET_SPOT_RANGE_DB:.0} dB · ring: nominal listener, \
             blue: tracked head · lines ±5, ±10 cm"
        ),
        font,
        theme::TEXT_DIM,
    );
}
