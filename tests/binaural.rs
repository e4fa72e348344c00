//! Binaural mode: crosstalk cancellation alone, for binaural recordings on speakers. The
//! target at the ears is the identity (each ear its own channel), reached by the same
//! regularised inversion and gain cap as speakers mode, with no upmix and no centre beam.

mod common;

use common::{design_for, error_db, noise, speaker_presets};
use soundstage::design::config::presets::{self, Preset};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics::{self, standard_perturbations};
use soundstage::design::evaluate::simulate::{chain_ear_responses, ears_at_bins};
use soundstage::design::filters::bands::band_ratio_db;
use soundstage::design::filters::chain::Design;
use soundstage::design::model::plant::SphereHead;
use soundstage::offline::render::{engine_for, stream};

const SR: f64 = 48_000.0;

fn binaural(preset: &Preset, cancellation_db: f64) -> Settings {
    Settings {
        mode: Mode::Binaural,
        cancellation_db,
        ..preset.apply(&Settings::default())
    }
}

/// Per third-octave band, the near ear's level for a one-sided input relative to the level
/// the canceller promises it (the plain feed's level at that ear), dB, for `side` 0 or 1.
fn ipsilateral_bands(d: &Design, side: usize, lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let g = d.input.settings.geometry(d.filters.outputs);
    let ears = ears_at_bins(
        &SphereHead::default(),
        &g,
        g.reference().distance_m,
        &d.filters,
        SR,
    );
    let chain = chain_ear_responses(&d.filters, &ears, Mode::Binaural, 1.0);
    let level = d
        .mode
        .ctc()
        .expect("binaural designs a canceller")
        .ipsi_target[side]
        .0;
    let near: Vec<f64> = chain.iter().map(|e| e[side][side].norm_sqr()).collect();
    let flat = vec![level * level; near.len()];
    band_ratio_db(&d.freqs, &near, &flat, lo, hi)
}

#[test]
fn the_canceller_follows_its_target_and_does_not_colour_the_near_ear_on_every_preset() {
    let cap_db = Settings::default().boost_limit_db;
    let mut failures = Vec::new();
    for preset in speaker_presets() {
        for outputs in [2, preset.outputs] {
            let d = design_for(binaural(&preset, 20.0), outputs);
            let tracking = metrics::target_tracking(&d, &SphereHead::default());
            let free: Vec<_> = tracking.iter().filter(|t| !t.3).collect();
            let worst = free.iter().map(|t| (t.2 - t.1).abs()).fold(0.0, f64::max);
            let nominal = metrics::perturbed_separation(&d, &standard_perturbations()[0]);
            let gain = metrics::max_side_filter_gain_db(&d.filters);
            let colour = (0..2)
                .flat_map(|side| ipsilateral_bands(&d, side, 200.0, 8000.0))
                .map(|(_, db)| db.abs())
                .fold(0.0, f64::max);
            let perturbed: Vec<String> = standard_perturbations()[1..]
                .iter()
                .map(|p| {
                    format!(
                        "{} {:.1}",
                        p.label,
                        metrics::perturbed_separation(&d, p).mean_db
                    )
                })
                .collect();
            println!(
                "{} ({outputs} drivers), binaural at 20 dB: nominal {:.1} dB, |achieved - target| <= {worst:.2} dB \
                 over {} of {} bands, near ear within ±{colour:.2} dB (200 Hz-8 kHz), max filter gain {gain:.1} dB; {}",
                preset.id,
                nominal.mean_db,
                free.len(),
                tracking.len(),
                perturbed.join(", ")
            );
            let id = format!("{} ({outputs} drivers)", preset.id);
            if free.len() * 2 < tracking.len() {
                failures.push(format!("{id}: the cap binds in most bands"));
            }
            if worst > 2.0 {
                failures.push(format!(
                    "{id}: achieved strays {worst:.2} dB from the target"
                ));
            }
            if nominal.mean_db < 18.0 {
                failures.push(format!("{id}: separation {:.1} dB", nominal.mean_db));
            }
            if colour > 1.5 {
                failures.push(format!("{id}: the near ear is coloured by {colour:.2} dB"));
            }
            if gain > cap_db {
                failures.push(format!("{id}: filter gain {gain:.2} dB"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn width_scales_the_cancellation_from_none_to_full() {
    let preset = presets::find("desktop").unwrap();
    let d = design_for(binaural(&preset, 20.0), 2);
    let g = d.input.settings.geometry(2);
    let at = |width: f64| metrics::worst_separation(&d, &SphereHead::default(), &g, width).mean_db;
    let plain = {
        let plain_feed = Settings {
            width: 0.0,
            ..binaural(&preset, 20.0)
        };
        let p = design_for(plain_feed, 2);
        metrics::worst_separation(&p, &SphereHead::default(), &g, 0.0).mean_db
    };
    let (none, half, full) = (at(0.0), at(0.5), at(1.0));
    println!("desktop binaural: separation {none:.1} dB at width 0 (plain stereo {plain:.1}), {half:.1} at 50 %, {full:.1} at 100 %");
    assert!(
        (none - plain).abs() < 0.1,
        "width 0 is plain stereo to the drivers"
    );
    assert!(none < half && half < full, "separation grows with width");
    assert!(full >= 18.0);
}

#[test]
fn binaural_mode_is_linear_because_upmix_and_beam_are_bypassed() {
    // The upmix is signal-dependent; a chain without it is linear: the output of a sum is
    // the sum of the outputs, even for a correlated (phantom-centre-like) input.
    let preset = presets::find("soundbar").unwrap();
    let settings = binaural(&preset, 20.0);
    let a = noise(1, 48_000, 0.1);
    let b = noise(2, 48_000, 0.1);
    let centre: Vec<f32> = a.iter().zip(&b).map(|(x, y)| 0.5 * (x + y)).collect();
    let run = |l: &[f32], r: &[f32]| {
        let (mut engine, _) = engine_for(&settings, 3, SR, &SphereHead::default());
        stream(&mut engine, l, r, &[512], |_| {})
    };
    let sum_in: (Vec<f32>, Vec<f32>) = (
        a.iter().zip(&centre).map(|(x, c)| x + c).collect(),
        b.iter().zip(&centre).map(|(x, c)| x + c).collect(),
    );
    let whole = run(&sum_in.0, &sum_in.1);
    let parts = [run(&a, &b), run(&centre, &centre)];
    for out in 0..3 {
        let sum: Vec<f32> = parts[0][out]
            .iter()
            .zip(&parts[1][out])
            .map(|(x, y)| x + y)
            .collect();
        let err = error_db(&whole[out], &sum);
        assert!(
            err <= -100.0,
            "output {out}: superposition fails by {err:.1} dB"
        );
    }
}
