//! `soundstage report`: what a simulated listener hears with the given settings, as
//! `metrics.json` and PNG plots.

use super::audio_file::write_text;
use super::settings::{from_args, plant_from};
use super::{plots, CliError, SettingsArgs};
use serde_json::json;
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::analysis::{analyse, BEAM_BAND};
use soundstage::design::evaluate::metrics::{self, SEPARATION_BAND};
use soundstage::design::filters::chain::{design, DesignInput};
use soundstage::design::model::geometry::Geometry;
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::offline::measure;
use std::path::Path;
use std::time::Instant;

/// Sample rate the report designs and measures at, Hz.
const SAMPLE_RATE: f64 = 48_000.0;

/// Writes `metrics.json` and the plots for the settings `args` describe into `outdir`.
///
/// NOTE: long because `metrics.json` is one document, built here key by key in the order it
/// reads; each key is one expression over the shared analysis.
pub fn report(outdir: &Path, args: &SettingsArgs) -> Result<(), CliError> {
    let (settings, outputs) = from_args(args)?;
    let head = plant_from(args, &settings, outputs)?;
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
    let upmix = measure::upmix_figures(SAMPLE_RATE);
    let (latency, impulse_delay) = measure::impulse_latency(&settings, outputs, SAMPLE_RATE);
    let transparency = measure::transparency_db(&settings, outputs, SAMPLE_RATE);

    let separation = analysis.separation.as_ref().map(|sep| {
        let tracking = metrics::target_tracking(
            &design(&DesignInput { settings: Settings { mode: Mode::Binaural, ..settings }, outputs, sample_rate: SAMPLE_RATE }, plant),
            plant,
        );
        let worst_tracking = tracking.iter().filter(|t| !t.3).map(|t| (t.2 - t.1).abs()).fold(0.0, f64::max);
        let mut perturbed = serde_json::Map::new();
        for (p, s) in &sep.perturbed {
            perturbed.insert(p.label.to_string(), json!(s.mean_db));
        }
        let bound = (outputs == 2).then(|| {
            let g: Geometry = settings.geometry(2);
            metrics::two_driver_robustness_bound(&g, plant, metrics::NEARBY_OFFSET_M, 19.5, SEPARATION_BAND)
        });
        json!({
            "what": "canceller alone (the binaural-mode design of these settings), left input, third-octave mean of ipsilateral/contralateral dB over 300 Hz-6 kHz",
            "nominal_mean_db": sep.nominal().map(|s| s.mean_db),
            "bands": sep.nominal().map(|s| &s.bands),
            "target_tracking": tracking.iter().map(|(f, t, a, l)| json!({"hz": f, "target_db": t, "achieved_db": a, "boost_limited": l})).collect::<Vec<_>>(),
            "worst_tracking_error_db": worst_tracking,
            "max_filter_gain_db": sep.max_gain_db,
            "boost_limit_db": sep.boost_limit_db,
            "perturbed_mean_db": perturbed,
            "two_driver_bound_5cm_db": bound.as_ref().map(|b| soundstage::design::filters::bands::mean_db(b)),
        })
    });
    let beam = match &analysis.beam {
        Ok(b) => json!({
            "available": true,
            "band_hz": [b.band.0, b.band.1],
            "front_to_side_db": b.figures.front_to_side_db,
            "response_45_db": b.figures.response_45_db,
            "min_white_noise_gain_db": b.figures.min_white_noise_gain_db,
            "reference_band_hz": [BEAM_BAND.0, BEAM_BAND.1],
            "reference_front_to_side_db": b.reference_figures.front_to_side_db,
            "reference_response_45_db": b.reference_figures.response_45_db,
            "white_noise_gain_limit_db": made.beam.min_white_noise_gain_db,
            "aliasing_hz": made.beam.aliasing_hz(),
        }),
        Err(reason) => json!({ "available": false, "reason": reason }),
    };
    let cues = analysis.virtual_cues.as_ref().map(|c| {
        json!({
            "angle_deg": settings.virtual_angle_deg,
            "itd_us": c.itd_s * 1e6,
            "model_itd_us": c.model_itd_s * 1e6,
            "ild_bands": c.ild_bands.iter().map(|(f, a, m)| json!({"hz": f, "achieved_db": a, "model_db": m})).collect::<Vec<_>>(),
        })
    });
    // With a measured head: what designing for it buys over the sphere, on that head.
    let measured = (args.sofa.is_some() && settings.mode != Mode::Headphones).then(|| {
        let canceller = Settings {
            mode: Mode::Binaural,
            ..settings
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
    });
    let measured_json = measured.map(|(matched, sphere)| {
        let figures = |v: [f64; 3]| json!({"nominal_db": v[0], "plus_5cm_db": v[1], "minus_5cm_db": v[2]});
        json!({
            "what": "canceller alone, heard through the measured head: designed for it, and designed for the built-in sphere",
            "matched": figures(matched),
            "sphere_design": figures(sphere),
        })
    });
    let metrics_json = json!({
        "settings": {
            "mode": settings.mode.id(), "outputs": outputs, "width": settings.width, "depth": settings.depth,
            "cancellation_db": settings.cancellation_db, "boost_limit_db": settings.boost_limit_db,
            "driver_spacing_m": settings.spacing_m, "listening_distance_m": settings.distance_m,
            "virtual_angle_deg": settings.virtual_angle_deg, "listener_offset_m": settings.offset_m,
            "bass_crossover_hz": settings.bass_crossover_hz,
        },
        "plant": analysis.plant_name,
        "sample_rate": SAMPLE_RATE,
        "latency_samples": latency,
        "latency_ms": latency as f64 * 1e3 / SAMPLE_RATE,
        "impulse_delay_samples": impulse_delay,
        "design_time_ms": design_ms,
        "transparency_db": transparency,
        "upmix": upmix,
        "canceller": separation,
        "measured_head": measured_json,
        "virtual_speakers": cues,
        "beam": beam,
        "mono_sum": analysis.mono_sum.iter().map(|(f, s, c)| json!({"hz": f, "sides_db": s, "centre_db": c})).collect::<Vec<_>>(),
        "notes": analysis.notes,
    });
    write_text(
        &outdir.join("metrics.json"),
        &serde_json::to_string_pretty(&metrics_json).expect("JSON values serialise"),
    )?;
    plots::cancellation(&outdir.join("cancellation.png"), &analysis)?;
    plots::ear_responses(&outdir.join("ear_responses.png"), &analysis)?;
    plots::beam_map(&outdir.join("beam_map.png"), &analysis)?;
    plots::beam_polar(&outdir.join("beam_polar.png"), &analysis)?;
    plots::virtual_cues(&outdir.join("virtual_cues.png"), &analysis)?;
    plots::mono_sum(&outdir.join("mono_sum.png"), &analysis)?;

    println!(
        "{} mode, {} outputs, latency {latency} samples ({:.1} ms), designed in {design_ms:.1} ms",
        settings.mode.id(),
        outputs,
        latency as f64 * 1e3 / SAMPLE_RATE
    );
    if let Some(sep) = &analysis.separation {
        let line: Vec<String> = sep
            .perturbed
            .iter()
            .map(|(p, s)| format!("{} {:.1}", p.label, s.mean_db))
            .collect();
        println!("separation (dB, 300 Hz-6 kHz): {}", line.join(", "));
    }
    if let Some((matched, sphere)) = measured {
        println!(
            "on the measured head: designed for it {:.1} dB (±5 cm {:.1} / {:.1}), designed for the sphere {:.1} dB (±5 cm {:.1} / {:.1})",
            matched[0], matched[1], matched[2], sphere[0], sphere[1], sphere[2]
        );
    }
    if let Ok(b) = &analysis.beam {
        println!(
            "centre beam {:.0} Hz-{:.0} Hz: front/side {:.1} dB, ±45° {:.1} dB, min WNG {:.1} dB",
            b.band.0,
            b.band.1,
            b.figures.front_to_side_db,
            b.figures.response_45_db,
            b.figures.min_white_noise_gain_db
        );
    }
    for note in &analysis.notes {
        println!("note: {note}");
    }
    println!("wrote {}", outdir.display());
    Ok(())
}
