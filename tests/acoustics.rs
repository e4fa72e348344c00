//! The spatial chain on a simulated listener: the figures of the brief, measured on the
//! design's own sphere model and on perturbed ones.

mod common;

use common::{design_for, error_db, sine, speaker_presets};
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;
use soundstage::design::config::presets::{self, Preset};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics::{self, standard_perturbations, SEPARATION_BAND};
use soundstage::design::evaluate::simulate::ear_signals;
use soundstage::design::filters::bands::{band_ratio_db, mean_db};
use soundstage::design::filters::beam::{self, BeamSpec};
use soundstage::design::filters::chain::Design;
use soundstage::design::model::geometry::woodworth_itd_s;
use soundstage::design::model::plant::SphereHead;
use soundstage::dsp::contract::LatencyMode;
use soundstage::offline::measure::through_crossover;
use soundstage::offline::render::{engine_for, stream};

const SR: f64 = 48_000.0;

/// The canceller of a preset at cancellation 20 dB, by itself (binaural mode: the same
/// canceller the speakers mode runs, without the virtual speakers' intended crosstalk).
fn canceller(preset: &Preset, outputs: usize) -> Design {
    let settings = Settings {
        mode: Mode::Binaural,
        cancellation_db: 20.0,
        ..preset.apply(&Settings::default())
    };
    design_for(settings, outputs)
}

/// Impulse response of the engine for a one-sided or centred impulse, latency compensated.
fn impulse_response(
    settings: &Settings,
    outputs: usize,
    left: f32,
    right: f32,
    len: usize,
) -> Vec<Vec<f32>> {
    let (mut engine, _) = engine_for(settings, outputs, SR, &SphereHead::default());
    let mut l = vec![0.0f32; len];
    let mut r = vec![0.0f32; len];
    l[0] = left;
    r[0] = right;
    stream(&mut engine, &l, &r, &[512], |_| {})
}

fn spectrum(x: &[f32]) -> Vec<Complex<f64>> {
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(x.len());
    let mut t: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let mut s = fft.make_output_vec();
    fft.process(&mut t, &mut s).unwrap();
    s
}

#[test]
fn canceller_reaches_its_target_on_the_nominal_listener() {
    let cap_db = Settings::default().boost_limit_db;
    for preset in speaker_presets() {
        for outputs in [2, preset.outputs] {
            let d = canceller(&preset, outputs);
            let nominal = metrics::perturbed_separation(&d, &standard_perturbations()[0]);
            let tracking = metrics::target_tracking(&d, &SphereHead::default());
            let worst = tracking
                .iter()
                .filter(|t| !t.3)
                .map(|t| (t.2 - t.1).abs())
                .fold(0.0, f64::max);
            let gain = metrics::max_side_filter_gain_db(&d.filters);
            println!("{} ({outputs} drivers): {:.1} dB mean over 300 Hz-6 kHz, |achieved - target| <= {worst:.2} dB, max filter gain {gain:.1} dB", preset.id, nominal.mean_db);
            assert!(
                nominal.mean_db >= 18.0,
                "{}: {:.1} dB",
                preset.id,
                nominal.mean_db
            );
            assert!(
                worst <= 3.0,
                "{}: achieved strays {worst:.1} dB from the target",
                preset.id
            );
            assert!(
                gain <= cap_db,
                "{}: filter gain {gain:.2} dB above the {cap_db} dB cap",
                preset.id
            );
        }
    }
}

#[test]
fn canceller_figures_on_perturbed_listeners() {
    for preset in speaker_presets() {
        let d = canceller(&preset, 2);
        let figures: Vec<(String, f64)> = standard_perturbations()
            .iter()
            .map(|p| {
                (
                    p.label.to_string(),
                    metrics::perturbed_separation(&d, p).mean_db,
                )
            })
            .collect();
        let line: Vec<String> = figures.iter().map(|(l, v)| format!("{l} {v:.1}")).collect();
        println!("{}: {}", preset.id, line.join(", "));
        let at = |label: &str| figures.iter().find(|(l, _)| l == label).expect("label").1;
        // Every listener keeps a real separation with a bigger head; the model's own
        // ±10 % head is a small change next to a lateral move.
        assert!(
            at("head +10 %") >= 10.0 && at("head -10 %") >= 10.0,
            "{}",
            preset.id
        );
        if preset.id == "smart-speaker" {
            assert!(
                at("+5 cm") >= 10.0 && at("-5 cm") >= 10.0,
                "smart speaker at ±5 cm"
            );
        }
    }
}

#[test]
fn laptop_at_five_centimetres_is_within_a_decibel_and_a_half_of_the_physical_bound() {
    // A 2-driver canceller has one complex degree of freedom per frequency; at 50 cm a 5 cm
    // move changes the contralateral interference by more than any choice of it can absorb.
    // The bound is the best any filter pair can do there while keeping the nominal listener
    // at 19.5 dB (half a decibel under the 20 dB target): our design must be close to it.
    let preset = presets::find("laptop").unwrap();
    let d = canceller(&preset, 2);
    let geometry = d.input.settings.geometry(2);
    let bound = metrics::two_driver_robustness_bound(
        &geometry,
        &SphereHead::default(),
        0.05,
        19.5,
        SEPARATION_BAND,
    );
    let bound_mean = mean_db(&bound);
    let achieved = metrics::perturbed_separation(&d, &standard_perturbations()[3])
        .mean_db
        .min(metrics::perturbed_separation(&d, &standard_perturbations()[4]).mean_db);
    println!("laptop ±5 cm: achieved {achieved:.1} dB, bound {bound_mean:.1} dB");
    assert!(
        bound_mean < 10.0,
        "the bound says 10 dB is reachable ({bound_mean:.1}): the design must reach it"
    );
    assert!(
        achieved >= bound_mean - 1.5,
        "laptop ±5 cm: {achieved:.1} dB, bound {bound_mean:.1} dB"
    );
}

#[test]
fn simulated_ears_confirm_the_frequency_domain_separation() {
    let preset = presets::find("smart-speaker").unwrap();
    let settings = Settings {
        mode: Mode::Binaural,
        cancellation_db: 20.0,
        ..preset.apply(&Settings::default())
    };
    let d = design_for(settings, 2);
    let x = common::noise(12, 4 * SR as usize, 0.1);
    let silent = vec![0.0f32; x.len()];
    let (mut engine, _) = engine_for(&settings, 2, SR, &SphereHead::default());
    let feeds = stream(&mut engine, &x, &silent, &[1024], |_| {});
    let geometry = settings.geometry(2);
    let ears = ear_signals(
        &SphereHead::default(),
        &geometry,
        geometry.reference().distance_m,
        SR,
        &feeds,
    );
    let psd = |e: &[f64]| {
        let s = spectrum(&e.iter().map(|&v| v as f32).collect::<Vec<_>>());
        s.iter().map(|v| v.norm_sqr()).collect::<Vec<f64>>()
    };
    let freqs: Vec<f64> = (0..x.len() / 2 + 1)
        .map(|k| k as f64 * SR / x.len() as f64)
        .collect();
    let bands = band_ratio_db(
        &freqs,
        &psd(&ears[0]),
        &psd(&ears[1]),
        SEPARATION_BAND.0,
        SEPARATION_BAND.1,
    );
    let time_domain = mean_db(&bands);
    let frequency_domain = metrics::perturbed_separation(&d, &standard_perturbations()[0]).mean_db;
    println!("smart speaker: simulated ears {time_domain:.1} dB, filter analysis {frequency_domain:.1} dB");
    assert!((time_domain - frequency_domain).abs() <= 1.0);
}

#[test]
fn virtual_speakers_have_woodworth_itd_and_a_flat_near_ear() {
    for angle in [30.0, 45.0, 60.0, 75.0, 90.0] {
        // The virtualiser itself: loudness compensation (on by default) would only scale it.
        let settings = Settings {
            mode: Mode::Headphones,
            virtual_angle_deg: angle,
            width: 1.0,
            loudness_compensation: false,
            ..presets::find("headphones")
                .unwrap()
                .apply(&Settings::default())
        };
        let ir = impulse_response(&settings, 2, 1.0, 0.0, 8192);
        let (near, far) = (spectrum(&ir[0]), spectrum(&ir[1]));
        let itd = metrics::itd_from_responses(&near, &far, SR);
        let model = woodworth_itd_s(angle.to_radians(), 0.0875);
        let freqs: Vec<f64> = (0..near.len())
            .map(|k| k as f64 * SR / ir[0].len() as f64)
            .collect();
        let near_p: Vec<f64> = near.iter().map(|v| v.norm_sqr()).collect();
        let ones = vec![1.0; near_p.len()];
        let bands = band_ratio_db(&freqs, &near_p, &ones, 50.0, 16_000.0);
        let flat = bands.iter().map(|b| b.1.abs()).fold(0.0, f64::max);
        println!(
            "virtual {angle}°: ITD {:.1} µs (Woodworth {:.1} µs), near ear within ±{flat:.2} dB",
            itd * 1e6,
            model * 1e6
        );
        assert!(
            (itd - model).abs() <= 30e-6,
            "{angle}°: ITD {itd:e} vs {model:e}"
        );
        assert!(flat <= 1.0, "{angle}°: near ear deviates {flat:.2} dB");
    }
}

/// A line of `outputs` drivers, 8 cm apart, full beam.
fn line(outputs: usize) -> Design {
    let settings = Settings {
        depth: 1.0,
        spacing_m: 0.08,
        distance_m: 2.0,
        ..Settings::default()
    };
    design_for(settings, outputs)
}

#[test]
fn centre_beam_keeps_the_listening_window_and_darkens_the_sides() {
    let band = (630.0, 2000.0);
    let d = line(3);
    let figures = metrics::design_beam_figures(&d, band);
    let four = metrics::design_beam_figures(&line(4), band);
    println!("3 drivers: {figures:?}\n4 drivers: {four:?}");
    assert!(
        figures.response_45_db >= -6.0,
        "main lobe: {:.1} dB at ±45°",
        figures.response_45_db
    );
    assert!(
        figures.front_to_side_db >= 12.0,
        "on-axis/±90°: {:.1} dB",
        figures.front_to_side_db
    );
    assert!(
        figures.min_white_noise_gain_db >= d.beam.min_white_noise_gain_db - 0.1,
        "WNG {:.1} dB",
        figures.min_white_noise_gain_db
    );
}

#[test]
fn centre_beam_survives_driver_tolerances() {
    let spec = BeamSpec::new(3, 0.08);
    let layout_freqs: Vec<f64> = (0..1025).map(|k| k as f64 * SR / 2048.0).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(2024);
    let gain = Normal::new(0.0, 0.5).unwrap();
    let phase = Normal::new(0.0, 3.0).unwrap();
    let mut results: Vec<f64> = (0..101)
        .map(|_| {
            let errors: Vec<(f64, f64)> = (0..3)
                .map(|_| (gain.sample(&mut rng), phase.sample(&mut rng)))
                .collect();
            metrics::beam_figures(&layout_freqs, &spec.positions(), (630.0, 2000.0), |k| {
                metrics::perturbed_weights(&spec, layout_freqs[k], &errors)
            })
            .front_to_side_db
        })
        .collect();
    results.sort_by(f64::total_cmp);
    let median = results[results.len() / 2];
    println!(
        "3-driver beam with 0.5 dB / 3° driver errors: median {median:.1} dB, worst {:.1} dB",
        results[0]
    );
    assert!(median >= 12.0, "median {median:.1} dB");
}

#[test]
fn centre_is_matrix_mixed_outside_the_beam_band() {
    let d = line(3);
    let m: Vec<Complex<f64>> = beam::matrix_weights(3)
        .iter()
        .map(|&w| Complex::new(w, 0.0))
        .collect();
    // Above the band (the aliasing fade ends at 3 kHz for 8 cm), in the actual filters.
    for k in [150usize, 300, 600] {
        let f = d.freqs[k];
        assert_eq!(d.beam.band_share(f), 0.0, "{f} Hz is outside the band");
        // Magnitudes: the delay alignment gives each driver its own (tiny) arrival delay.
        let w = metrics::centre_weights_at(&d.filters, k, SR);
        let err = w
            .iter()
            .zip(&m)
            .map(|(a, b)| (a.norm() - b.norm()).abs())
            .fold(0.0, f64::max);
        assert!(err < 1e-3, "{f} Hz: weights {w:?}");
    }
    // Below the band the beam design itself returns matrix mixing (in the chain that region
    // lies below the bass crossover's transition, where the output is the plain input).
    let spec = BeamSpec::new(3, 0.08);
    let bottom = spec.aliasing_hz() / 8.0 / 2f64.sqrt();
    for f in [bottom * 0.5, bottom * 0.99] {
        assert_eq!(
            beam::centre_weights(&spec, f, 1.0),
            beam::matrix_weights(3),
            "{f} Hz"
        );
    }
}

#[test]
fn side_and_centre_arrive_together_at_the_ears() {
    for preset in speaker_presets() {
        for outputs in [2, 3] {
            let settings = preset.apply(&Settings::default());
            let geometry = settings.geometry(outputs);
            let reference = geometry.reference().distance_m;
            let ears_of = |ir: Vec<Vec<f32>>| {
                ear_signals(&SphereHead::default(), &geometry, reference, SR, &ir)
            };
            let side = ears_of(impulse_response(&settings, outputs, 1.0, 0.0, 6000));
            let centre = ears_of(impulse_response(&settings, outputs, 1.0, 1.0, 6000));
            let peak = |x: &[f64]| {
                x.iter()
                    .enumerate()
                    .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
                    .unwrap()
                    .0
            };
            let (s, c) = (peak(&side[0]), peak(&centre[0]));
            println!(
                "{} ({outputs}): side path peaks at {s}, centre path at {c}",
                preset.id
            );
            assert!(s.abs_diff(c) <= 1, "{}: side {s} vs centre {c}", preset.id);
        }
    }
}

#[test]
fn below_the_crossover_the_output_is_the_input() {
    // In the low-latency mode the input through the time-domain crossover's allpass (flat in
    // magnitude): the bass is no less clean of processing there.
    for (preset, latency) in speaker_presets()
        .into_iter()
        .flat_map(|p| LatencyMode::ALL.map(|mode| (p.clone(), mode)))
    {
        let settings = Settings {
            width: 1.0,
            depth: 1.0,
            latency,
            ..preset.apply(&Settings::default())
        };
        let fx = settings.bass_crossover_hz;
        let len = 4 * SR as usize;
        let low: Vec<f32> = sine(fx * 0.4, SR, len, 0.3)
            .iter()
            .zip(sine(fx * 0.75, SR, len, 0.2))
            .map(|(a, b)| a + b)
            .collect();
        let other = sine(fx * 0.55, SR, len, 0.25);
        let (mut engine, _) = engine_for(&settings, 2, SR, &SphereHead::default());
        let out = stream(&mut engine, &low, &other, &[512], |_| {});
        let expected = |x: &[f32]| through_crossover(x, SR, latency, fx);
        let (low, other) = (expected(&low), expected(&other));
        // Steady state: the tones switch on and off abruptly, and those clicks are broadband.
        let (a, b) = (SR as usize / 2, len - SR as usize / 2);
        let worst = error_db(&out[0][a..b], &low[a..b]).max(error_db(&out[1][a..b], &other[a..b]));
        println!(
            "{} {latency:?}: below {fx} Hz the output differs from the input by {worst:.1} dB",
            preset.id
        );
        assert!(worst <= -60.0, "{} {latency:?}: {worst:.1} dB", preset.id);
    }
}
