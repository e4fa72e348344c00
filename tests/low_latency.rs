//! The low-latency mode against the normal one, on the design's sphere and through the real
//! engine: its latency, what width 0 gives, and how much separation and what ear responses
//! it keeps, preset by preset (its bass: `acoustics.rs`, which runs both modes).

mod common;

use common::{design_for, speaker_presets};
use realfft::RealFftPlanner;
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics::{self, standard_perturbations, SEPARATION_BAND};
use soundstage::design::evaluate::simulate::ear_signals;
use soundstage::design::filters::bands::{band_ratio_db, mean_db};
use soundstage::design::model::plant::SphereHead;
use soundstage::dsp::contract::{FilterSet, FrameLayout, LatencyMode};
use soundstage::dsp::engine::Engine;
use soundstage::offline::measure::transparency_db;
use soundstage::offline::render::{engine_for, stream, stream_with};

const SR: f64 = 48_000.0;

/// `settings` in latency mode `latency`.
fn in_mode(settings: Settings, latency: LatencyMode) -> Settings {
    Settings {
        latency,
        ..settings
    }
}

/// Power spectrum of `x`, and its bin frequencies.
fn psd(x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(x.len());
    let mut t = x.to_vec();
    let mut s = fft.make_output_vec();
    fft.process(&mut t, &mut s).unwrap();
    let freqs = (0..s.len())
        .map(|k| k as f64 * SR / x.len() as f64)
        .collect();
    (freqs, s.iter().map(|v| v.norm_sqr()).collect())
}

/// The simulated ears of the sphere listener for noise on the left input only, through the
/// engine in `settings`' mode: `[ipsilateral, contralateral]`.
fn ears_for_left_noise(settings: &Settings, outputs: usize) -> [Vec<f64>; 2] {
    let x = common::noise(21, 4 * SR as usize, 0.1);
    let silent = vec![0.0f32; x.len()];
    let (mut engine, _) = engine_for(settings, outputs, SR, &SphereHead::default());
    let feeds = stream(&mut engine, &x, &silent, &[256], |_| {});
    let geometry = settings.geometry(outputs);
    ear_signals(
        &SphereHead::default(),
        &geometry,
        geometry.reference().distance_m,
        SR,
        &feeds,
    )
}

#[test]
fn low_latency_is_256_samples_at_48_khz_and_as_long_at_every_rate() {
    let low = FrameLayout::new(SR, LatencyMode::Low);
    assert_eq!(low.latency(), 256);
    assert_eq!(FrameLayout::new(SR, LatencyMode::Normal).latency(), 1584);
    for rate in [
        8_000.0, 22_050.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0, 768_000.0,
    ] {
        let (low, normal) = (
            FrameLayout::new(rate, LatencyMode::Low),
            FrameLayout::new(rate, LatencyMode::Normal),
        );
        let ms = low.latency() as f64 / rate * 1e3;
        assert!((4.0..=5.81).contains(&ms), "{rate} Hz: {ms:.2} ms");
        // A new design fades in over the same time in both modes.
        assert_eq!(
            low.crossfade_frames() * low.hop,
            normal.crossfade_frames() * normal.hop,
            "{rate} Hz"
        );
        // The filters fill the convolution's room without wrapping.
        assert_eq!(low.design_taps(), low.fft_len - low.frame_len + 1);
        assert!(low.bulk_delay < low.design_taps());
    }
    let settings = in_mode(Settings::default(), LatencyMode::Low);
    let (engine, _) = engine_for(&settings, 2, SR, &SphereHead::default());
    assert_eq!(engine.latency(), 256);
}

#[test]
fn at_width_zero_the_output_is_the_input_through_the_crossovers_allpass() {
    // Transparency is judged against the input through the time-domain crossover's allpass,
    // delayed by exactly the reported latency: one sample off and this is -10 dB, not -80.
    for preset in speaker_presets() {
        for mode in [Mode::Speakers, Mode::Binaural] {
            let settings = Settings {
                mode,
                ..in_mode(preset.apply(&Settings::default()), LatencyMode::Low)
            };
            let err = transparency_db(&settings, 2, SR);
            println!(
                "{} {mode:?}: width 0 differs from the allpassed input by {err:.1} dB",
                preset.id
            );
            assert!(err <= -80.0, "{} {mode:?}: {err:.1} dB", preset.id);
        }
    }
}

#[test]
fn separation_is_within_2_db_of_normal_mode_for_every_preset() {
    for preset in speaker_presets() {
        let canceller = |latency| {
            let settings = Settings {
                mode: Mode::Binaural,
                cancellation_db: 20.0,
                ..in_mode(preset.apply(&Settings::default()), latency)
            };
            design_for(settings, 2)
        };
        let (normal, low) = (canceller(LatencyMode::Normal), canceller(LatencyMode::Low));
        for perturbation in standard_perturbations() {
            let figure = |d| metrics::perturbed_separation(d, &perturbation).mean_db;
            let (n, l) = (figure(&normal), figure(&low));
            println!(
                "{} {}: normal {n:.2} dB, low {l:.2} dB",
                preset.id, perturbation.label
            );
            assert!(
                l >= n - 2.0,
                "{} {}: low {l:.2} dB against normal {n:.2} dB",
                preset.id,
                perturbation.label
            );
        }
        let gain = metrics::max_side_filter_gain_db(&low.filters);
        assert!(
            gain <= Settings::default().boost_limit_db,
            "{}: {gain:.1} dB",
            preset.id
        );
    }
}

#[test]
fn simulated_ears_confirm_the_analysis_and_stay_within_2_db_of_normal_mode() {
    for preset in speaker_presets() {
        let base = Settings {
            mode: Mode::Binaural,
            cancellation_db: 20.0,
            ..preset.apply(&Settings::default())
        };
        let [low_ipsi, low_contra] = ears_for_left_noise(&in_mode(base, LatencyMode::Low), 2);
        let [normal_ipsi, normal_contra] = ears_for_left_noise(&base, 2);
        let (freqs, low_i) = psd(&low_ipsi);
        let (_, low_c) = psd(&low_contra);
        let (_, normal_i) = psd(&normal_ipsi);
        let (_, normal_c) = psd(&normal_contra);
        let (lo, hi) = SEPARATION_BAND;
        let separation = mean_db(&band_ratio_db(&freqs, &low_i, &low_c, lo, hi));
        let analysed = metrics::perturbed_separation(
            &design_for(in_mode(base, LatencyMode::Low), 2),
            &standard_perturbations()[0],
        )
        .mean_db;
        println!(
            "{}: simulated ears {separation:.1} dB, filter analysis {analysed:.1} dB",
            preset.id
        );
        assert!((separation - analysed).abs() <= 1.0, "{}", preset.id);
        // The near ear's response, band by band, against normal mode's, above the crossover's
        // transition (the far ear is the cancelled residue: the separation above bounds it).
        let bands = band_ratio_db(&freqs, &low_i, &normal_i, 500.0, 16_000.0);
        let worst = bands.iter().map(|(_, d)| d.abs()).fold(0.0, f64::max);
        println!(
            "{}: near ear within {worst:.2} dB of normal mode",
            preset.id
        );
        assert!(worst <= 2.0, "{}: {bands:?}", preset.id);
        let far = mean_db(&band_ratio_db(&freqs, &low_c, &normal_c, lo, hi));
        assert!(
            far <= 2.0,
            "{}: far ear {far:.2} dB above normal mode's",
            preset.id
        );
    }
}

/// Magnitude of the `freq` component of `x` over each whole period, period by period.
fn magnitude_per_period(x: &[f32], freq: f64) -> Vec<f64> {
    let period = (SR / freq).round() as usize;
    x.chunks_exact(period)
        .map(|p| {
            let (re, im) = p.iter().enumerate().fold((0.0, 0.0), |(re, im), (n, &v)| {
                let phase = 2.0 * std::f64::consts::PI * freq * n as f64 / SR;
                (
                    re + f64::from(v) * phase.cos(),
                    im - f64::from(v) * phase.sin(),
                )
            });
            2.0 * (re * re + im * im).sqrt() / period as f64
        })
        .collect()
}

#[test]
fn a_designed_set_after_a_failed_designs_plain_one_plays_the_bass_without_a_gap() {
    // A failed design leaves a low-latency engine playing a plain set, which does not split
    // off the bass; when a design then succeeds, its set plays the low band from the plain
    // feed's own line, which must already hold the recent past.
    let settings = in_mode(Settings::default(), LatencyMode::Low);
    let layout = FrameLayout::new(SR, LatencyMode::Low);
    let designed = design_for(settings, 2);
    let mut engine = Engine::new(
        Box::new(FilterSet::plain(layout, 2)),
        SR,
        settings.controls(),
    );
    engine.settle_controls();
    let freq = 150.0;
    let tone: Vec<f32> = (0..2 * SR as usize)
        .map(|n| (0.5 * (2.0 * std::f64::consts::PI * freq * n as f64 / SR).sin()) as f32)
        .collect();
    let switch_at = SR as usize;
    let mut pending = Some(Box::new(designed.filters));
    let out = stream_with(
        &mut engine,
        &tone,
        &tone,
        &[256],
        |engine, pos| {
            if pos >= switch_at {
                if let Some(set) = pending.take() {
                    assert!(engine.install(set).is_ok());
                }
            }
        },
        |_| {},
    );
    let periods = magnitude_per_period(&out[0], freq);
    let per_second = periods.len() / 2;
    let steady = |range: std::ops::Range<usize>| -> f64 {
        range.clone().map(|i| periods[i]).sum::<f64>() / range.len() as f64
    };
    let (before, after) = (
        steady(per_second / 2..per_second - 2),
        steady(per_second + per_second / 2..2 * per_second - 2),
    );
    let (lowest, at) = (per_second - 2..per_second + per_second / 2)
        .map(|i| (periods[i], i))
        .fold((f64::INFINITY, 0), |m, p| if p.0 < m.0 { p } else { m });
    let dip_db = 20.0 * (lowest / before.min(after)).log10();
    println!(
        "150 Hz through the switch: {:.3} before, {:.3} after, lowest {:.3} ({dip_db:+.1} dB) in period {at}",
        before, after, lowest
    );
    assert!(
        (20.0 * (after / before).log10()).abs() < 1.0,
        "the designed set plays the bass as the plain one did"
    );
    // The plain set's feed is the input itself, the designed set's the split's low band,
    // well behind it in phase at 150 Hz: the period that holds the switch sums the two
    // phases and reads about 5 dB low. Without the low band's line kept written, the bass
    // is silence there (-40 dB).
    assert!(dip_db > -6.0, "{dip_db:.1} dB dip at the switch");
}
