//! The plots over frequency: cancellation, ear responses, the plant, virtual-speaker cues,
//! mono sum.

use super::{
    figure, line_plot, not_applicable, Axes, Context, Key, Series, ACHIEVED, FAR, GAIN, LIMITED,
    MOVED, TARGET,
};
use crate::cli::CliError;
use soundstage::design::evaluate::analysis::Analysis;
use std::path::Path;

/// Per-bin points of `values` over `a`'s frequencies.
fn over_frequency<'a>(a: &'a Analysis, values: &'a [f64]) -> impl Iterator<Item = (f64, f64)> + 'a {
    a.freqs.iter().copied().zip(values.iter().copied())
}

/// The cancellation figure's curves: target, achieved (nominal and 5 cm off), the filters'
/// gain under its cap, and where the cap kept the target out of reach. `None` in headphone
/// mode.
pub(super) fn cancellation_series(a: &Analysis) -> Option<Vec<Series>> {
    let sep = a.separation.as_ref()?;
    let limited = a
        .freqs
        .iter()
        .zip(&sep.limited)
        .filter(|(_, l)| **l)
        .map(|(f, _)| (*f, -3.0));
    let [target, achieved] = separation_series(a)?;
    Some(vec![
        Series::new(
            // Where the filters act: far below, the bass path passes the input untouched.
            over_frequency(a, &sep.filter_gain_db).filter(|(_, g)| *g > -60.0),
            Key::Line(GAIN, 2),
            format!("largest filter gain, max {:.1} dB", sep.max_gain_db),
        ),
        Series::new(
            a.freqs.iter().map(|f| (*f, sep.boost_limit_db)),
            Key::Dashed(GAIN),
            format!("filter-gain cap (boost limit) {:.0} dB", sep.boost_limit_db),
        ),
        Series::new(
            over_frequency(a, &sep.moved_5cm_db),
            Key::Line(MOVED, 2),
            "separation, listener 5 cm off (worse side)",
        ),
        target,
        achieved,
        Series::new(
            limited,
            Key::Dots(LIMITED),
            "the cap keeps the target out of reach",
        ),
    ])
}

/// The separation's target and what the nominal listener gets: the summary's curves, and
/// the cancellation figure's main ones. `None` in headphone mode.
pub(super) fn separation_series(a: &Analysis) -> Option<[Series; 2]> {
    let sep = a.separation.as_ref()?;
    Some([
        Series::new(
            over_frequency(a, &sep.target_db),
            Key::Line(TARGET, 3),
            "target separation",
        ),
        Series::new(
            over_frequency(a, &sep.achieved_db),
            Key::Line(ACHIEVED, 2),
            "separation, nominal listener",
        ),
    ])
}

/// The axes of the cancellation plot.
pub(super) const CANCELLATION_AXES: Axes<'static> = Axes {
    x_hz: 50.0..20_000.0,
    y: -5.0..45.0,
    y_desc: "dB",
};

/// Target vs achieved separation, with the filters' gain and its cap.
pub fn cancellation(path: &Path, a: &Analysis, context: &Context) -> Result<(), CliError> {
    let title =
        "Cancellation: near ear over far ear for a left-only input, and the filter gain it takes";
    match cancellation_series(a) {
        Some(series) => figure(path, title, context, |area| line_plot(area, &CANCELLATION_AXES, &series)),
        None => not_applicable(
            path,
            title,
            context,
            "Headphone mode cancels nothing: each ear already hears only its own side, so there is no \
             separation to design or show. Speakers and binaural modes cancel crosstalk.",
        ),
    }
}

/// The ear responses' curves, for the figure and the summary.
pub(super) fn ear_series(a: &Analysis) -> Vec<Series> {
    vec![
        Series::new(
            over_frequency(a, &a.ears_db.0),
            Key::Line(ACHIEVED, 2),
            "left (near) ear",
        ),
        Series::new(
            over_frequency(a, &a.ears_db.1),
            Key::Line(FAR, 2),
            "right (far) ear",
        ),
    ]
}

/// The axes of the ear-response plot.
pub(super) const EAR_AXES: Axes<'static> = Axes {
    x_hz: 20.0..20_000.0,
    y: -50.0..15.0,
    y_desc: "level (dB)",
};

/// Near- and far-ear responses for a left-only input.
pub fn ear_responses(path: &Path, a: &Analysis, context: &Context) -> Result<(), CliError> {
    let series = ear_series(a);
    figure(
        path,
        "Ears for a left-only input, re the plain feed's near-ear level",
        context,
        |area| line_plot(area, &EAR_AXES, &series),
    )
}

/// One colour per driver of the plant figure (four at most).
const DRIVER_COLOURS: [plotters::style::RGBColor; 4] = [ACHIEVED, TARGET, FAR, GAIN];

/// The plant's curves: each driver at the left ear (solid) and the right (dashed), its ITD
/// in the legend.
pub(super) fn plant_series(a: &Analysis) -> Vec<Series> {
    let plant = &a.plant;
    let drivers = plant.magnitude_db.len();
    let mut series = Vec::with_capacity(2 * drivers);
    for (d, ears) in plant.magnitude_db.iter().enumerate() {
        let colour = DRIVER_COLOURS[d % DRIVER_COLOURS.len()];
        series.push(Series::new(
            over_frequency(a, &ears[0]),
            Key::Line(colour, 2),
            format!("driver {} of {drivers} at the left ear", d + 1),
        ));
        series.push(Series::new(
            over_frequency(a, &ears[1]),
            Key::Dashed(colour),
            format!(
                "driver {} at the right ear; ITD {:+.3} ms",
                d + 1,
                plant.itd_s(d) * 1e3
            ),
        ));
    }
    series
}

/// The axes of the plant plot.
const PLANT_AXES: Axes<'static> = Axes {
    x_hz: 20.0..20_000.0,
    y: -40.0..10.0,
    y_desc: "level re free field (dB)",
};

/// The plant itself: each driver at each ear, magnitude, with the ITDs.
pub fn plant(path: &Path, a: &Analysis, context: &Context) -> Result<(), CliError> {
    let series = plant_series(a);
    figure(
        path,
        "The plant: each driver at each ear of the design's listener (ITD: right ear less left)",
        context,
        |area| line_plot(area, &PLANT_AXES, &series),
    )
}

/// Virtual-speaker ILD against the head model (ITD in the title).
pub fn virtual_cues(path: &Path, a: &Analysis, context: &Context) -> Result<(), CliError> {
    let Some(cues) = &a.virtual_cues else {
        return not_applicable(
            path,
            "Virtual speakers",
            context,
            "Binaural mode has no virtual speakers: the input is a binaural recording that already \
             carries the ears' cues, and the canceller delivers it to the ears as it is. Speakers and \
             headphones modes place the sides at the virtual angle.",
        );
    };
    let title = format!(
        "Virtual speaker at {:.0}°: ITD {:.0} µs (head model {:.0} µs); far-ear level below",
        a.input.settings.virtual_angle_deg,
        cues.itd_s * 1e6,
        cues.model_itd_s * 1e6
    );
    let series = [
        Series::new(
            cues.ild_bands.iter().map(|(f, _, m)| (*f, *m)),
            Key::Line(TARGET, 3),
            "the head model",
        ),
        Series::new(
            cues.ild_bands.iter().map(|(f, v, _)| (*f, *v)),
            Key::Line(ACHIEVED, 2),
            "achieved at the ears",
        ),
    ];
    figure(path, &title, context, |area| {
        line_plot(
            area,
            &Axes {
                x_hz: 100.0..16_000.0,
                y: -30.0..5.0,
                y_desc: "far ear re near ear (dB)",
            },
            &series,
        )
    })
}

/// The mono-sum curves, for the figure and the summary.
pub(super) fn mono_series(a: &Analysis) -> Vec<Series> {
    vec![
        Series::new(
            a.mono_sum.iter().map(|(f, s, _)| (*f, *s)),
            Key::Line(ACHIEVED, 2),
            "decorrelated sides",
        ),
        Series::new(
            a.mono_sum.iter().map(|(f, _, c)| (*f, *c)),
            Key::Line(TARGET, 2),
            "centred source",
        ),
    ]
}

/// The axes of the mono-sum plot.
pub(super) const MONO_AXES: Axes<'static> = Axes {
    x_hz: 50.0..16_000.0,
    y: -20.0..20.0,
    y_desc: "deviation (dB)",
};

/// How the mono sum of all outputs departs from the input's.
pub fn mono_sum(path: &Path, a: &Analysis, context: &Context) -> Result<(), CliError> {
    let series = mono_series(a);
    figure(
        path,
        "Mono sum of all outputs re the input's mono sum",
        context,
        |area| line_plot(area, &MONO_AXES, &series),
    )
}
