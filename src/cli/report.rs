//! `soundstage report`: what a simulated listener hears with the given settings, as
//! `metrics.json` and PNG plots.

use super::audio_file::write_text;
use super::settings::{origin, target_from, Target};
use super::{plots, say, CliError, SettingsArgs};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::analysis::{analyse, Analysis};
use soundstage::design::evaluate::metrics;
use soundstage::design::evaluate::sweet_spot::sweet_spot;
use soundstage::design::evaluate::zone::zone_figures;
use soundstage::design::filters::chain::{design, DesignInput};
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::offline::measure;
use soundstage::offline::report::{EngineFigures, Metrics};
use soundstage::params::describe;
use std::path::Path;
use std::time::Instant;

/// Sample rate the report designs and measures at, Hz.
const SAMPLE_RATE: f64 = 48_000.0;

/// Writes `metrics.json` and the plots for the settings `args` describe into `outdir`.
pub fn report(outdir: &Path, args: &SettingsArgs) -> Result<(), CliError> {
    if outdir.is_file() {
        return Err(CliError::DirectoryIsFile {
            path: outdir.to_path_buf(),
            command: "report",
        });
    }
    let Target {
        settings,
        outputs,
        plant: head,
    } = target_from(args)?;
    std::fs::create_dir_all(outdir).map_err(|source| CliError::Write {
        path: outdir.to_path_buf(),
        source,
    })?;
    let plant = head.as_ref();
    let started = Instant::now();
    let made = design(
        &DesignInput {
            settings,
            outputs,
            sample_rate: SAMPLE_RATE,
        },
        plant,
    );
    let design_ms = started.elapsed().as_secs_f64() * 1e3;
    let analysis = analyse(&made, plant);
    let (latency, impulse_delay) = measure::impulse_latency(&settings, outputs, SAMPLE_RATE);
    let engine = EngineFigures {
        latency,
        impulse_delay,
        transparency_db: measure::transparency_db(&settings, outputs, SAMPLE_RATE),
        upmix: measure::upmix_figures(SAMPLE_RATE, settings.latency),
        design_ms,
    };
    let measured = (args.sofa.is_some() && settings.mode != Mode::Headphones)
        .then(|| measured_head_figures(&settings, outputs, plant));
    let mut metrics = Metrics::new(&made, &analysis, plant, engine, measured);
    if settings.mode != Mode::Headphones {
        metrics.sweet_spot = Some(sweet_spot(&made.input, plant));
        metrics.zone = zone_figures(&made.input, plant);
    }
    let text = serde_json::to_string_pretty(&metrics).map_err(|e| CliError::Encode {
        path: outdir.join("metrics.json"),
        reason: e.to_string(),
    })?;
    let context = plots::Context {
        settings: format!(
            "{} · {} mode, {} drivers, {} · {}",
            origin(args),
            settings.mode.id(),
            outputs,
            plant.name(),
            describe(&settings)
        ),
    };
    // The summary first: it is the one a reader opens.
    plots::summary(
        &outdir.join("summary.png"),
        &analysis,
        &context,
        &headline(&metrics, &analysis),
    )?;
    write_text(&outdir.join("metrics.json"), &text)?;
    plots::cancellation(&outdir.join("cancellation.png"), &analysis, &context)?;
    plots::ear_responses(&outdir.join("ear_responses.png"), &analysis, &context)?;
    plots::plant(&outdir.join("plant.png"), &analysis, &context)?;
    plots::beam_map(&outdir.join("beam_map.png"), &analysis, &context)?;
    plots::beam_polar(&outdir.join("beam_polar.png"), &analysis, &context)?;
    plots::virtual_cues(&outdir.join("virtual_cues.png"), &analysis, &context)?;
    plots::mono_sum(&outdir.join("mono_sum.png"), &analysis, &context)?;
    plots::sweet_spot(
        &outdir.join("sweet_spot.png"),
        metrics.sweet_spot.as_ref(),
        &context,
    )?;
    plots::zone(
        &outdir.join("zone.png"),
        metrics.zone.as_ref(),
        settings.mode == Mode::Headphones,
        &context,
    )?;
    print_summary(&metrics, &analysis)?;
    say!("wrote {}", outdir.display());
    Ok(())
}

/// The canceller alone designed for the measured head `plant` and for the sphere, both heard
/// through `plant` at the nominal listener and 5 cm either side: `(matched, sphere)`.
fn measured_head_figures(
    settings: &Settings,
    outputs: usize,
    plant: &dyn Plant,
) -> ([f64; 3], [f64; 3]) {
    let canceller = Settings {
        mode: Mode::Binaural,
        ..*settings
    };
    let on = |design_plant: &dyn Plant| {
        let d = design(
            &DesignInput {
                settings: canceller,
                outputs,
                sample_rate: SAMPLE_RATE,
            },
            design_plant,
        );
        let g = canceller.geometry(outputs);
        [0.0, metrics::NEARBY_OFFSET_M, -metrics::NEARBY_OFFSET_M].map(|o| {
            metrics::worst_separation(&d, plant, &g.with_offset(g.offset_m + o), 1.0).mean_db
        })
    };
    (on(plant), on(&SphereHead::default()))
}

/// The report's figures in one line, for the summary figure.
fn headline(m: &Metrics, analysis: &Analysis) -> String {
    let separation = analysis.separation.as_ref().map_or_else(
        || "no cancellation (headphones)".to_string(),
        |sep| {
            format!(
                "separation {:.1} dB at the listener, {:.1} dB 5 cm off",
                sep.nominal().map_or(f64::NAN, |s| s.mean_db),
                sep.nearby_worst_db()
            )
        },
    );
    let (low, high) = metrics::SEPARATION_BAND;
    format!(
        "{separation} ({low:.0} Hz-{:.0} kHz); latency {} samples ({:.1} ms at {:.0} kHz)",
        high / 1000.0,
        m.latency_samples,
        m.latency_ms,
        SAMPLE_RATE / 1000.0
    )
}

/// The report's headline figures on standard output.
fn print_summary(m: &Metrics, analysis: &Analysis) -> Result<(), CliError> {
    say!(
        "{} mode, {} outputs, latency {} samples ({:.1} ms), designed in {:.1} ms",
        m.settings.mode,
        m.settings.outputs,
        m.latency_samples,
        m.latency_ms,
        m.design_time_ms
    );
    if let Some(sep) = &analysis.separation {
        let line: Vec<String> = sep
            .perturbed
            .iter()
            .map(|(p, s)| format!("{} {:.1}", p.label, s.mean_db))
            .collect();
        say!("separation (dB, 300 Hz-6 kHz): {}", line.join(", "));
    }
    if let Some(h) = &m.measured_head {
        let (a, b) = (h.matched, h.sphere_design);
        say!(
            "through the measured plant: designed for it {:.1} dB (±5 cm {:.1} / {:.1}), designed for the sphere {:.1} dB (±5 cm {:.1} / {:.1})",
            a.nominal_db, a.plus_5cm_db, a.minus_5cm_db, b.nominal_db, b.plus_5cm_db, b.minus_5cm_db
        );
    }
    if let Some(z) = &m.zone {
        say!(
            "listening zone ±{:.1} cm ({} poses): worst {:.1} dB designed for the listener, {:.1} dB designed for the zone; at the listener {:.1} and {:.1} dB",
            z.half_width_cm,
            z.poses.len(),
            z.nominal_design.worst_db,
            z.zone_design.worst_db,
            z.nominal_design.at_listener_db,
            z.zone_design.at_listener_db
        );
    }
    if let Ok(b) = &analysis.beam {
        say!(
            "centre beam {:.0} Hz-{:.0} Hz: front/side {:.1} dB, ±45° {:.1} dB, min WNG {:.1} dB",
            b.band.0,
            b.band.1,
            b.figures.front_to_side_db,
            b.figures.response_45_db,
            b.figures.min_white_noise_gain_db
        );
    }
    for note in &analysis.notes {
        say!("note: {note}");
    }
    Ok(())
}
