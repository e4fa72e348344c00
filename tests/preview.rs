//! The headphone preview: the speakers chain rendered through the plant to the two ears, in
//! the engine itself. It must be what the simulated listener hears, sample for sample.

mod common;

use common::{error_db, noise};
use soundstage::design::config::presets;
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::simulate::ear_signals;
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::offline::render::{engine_for, stream};

const SR: f64 = 48_000.0;

/// The preview's worst ear against the simulated ears of the same chain's driver feeds, dB.
fn preview_error_db(settings: Settings, outputs: usize, plant: &dyn Plant) -> f64 {
    // Half a second of silence either side: the filters ring ahead of their bulk delay and
    // after it, and the simulated listener must hear all of that too (a render keeps only
    // the input's own span).
    let lead = SR as usize / 2;
    let with_lead = |x: Vec<f32>| [vec![0.0; lead], x, vec![0.0; lead]].concat();
    let left = noise(21, 3 * SR as usize, 0.1);
    let right: Vec<f32> = noise(22, left.len(), 0.1)
        .iter()
        .zip(&left)
        .map(|(r, l)| 0.5 * r + 0.5 * l)
        .collect();
    let (left, right) = (with_lead(left), with_lead(right));
    let (mut engine, _) = engine_for(&settings, outputs, SR, plant);
    let feeds = stream(&mut engine, &left, &right, &[512], |_| {});
    let geometry = settings.geometry(outputs);
    let ears = ear_signals(
        plant,
        &geometry,
        geometry.reference().distance_m,
        SR,
        &feeds,
    );
    let preview = Settings {
        preview: true,
        ..settings
    };
    let (mut engine, _) = engine_for(&preview, outputs, SR, plant);
    let heard = stream(&mut engine, &left, &right, &[333], |_| {});
    for inner in &heard[1..outputs - 1] {
        assert!(inner.iter().all(|v| *v == 0.0), "inner outputs are silent");
    }
    let as32 = |x: &[f64]| x.iter().map(|&v| v as f32).collect::<Vec<f32>>();
    error_db(&heard[0], &as32(&ears[0])).max(error_db(&heard[outputs - 1], &as32(&ears[1])))
}

#[test]
fn the_preview_is_what_the_simulated_listener_hears() {
    for (id, outputs) in [
        ("studio-monitors", 2),
        ("laptop", 2),
        ("smart-speaker", 2),
        ("soundbar", 3),
        ("smart-speaker", 4),
    ] {
        for mode in [Mode::Speakers, Mode::Binaural] {
            let settings = Settings {
                mode,
                ..presets::find(id).unwrap().apply(&Settings::default())
            };
            let err = preview_error_db(settings, outputs, &SphereHead::default());
            println!(
                "{id} ({outputs} drivers, {}): preview against simulated ears {err:.1} dB",
                mode.id()
            );
            assert!(err <= -120.0, "{id} {}: {err:.1} dB", mode.id());
        }
    }
}

#[test]
fn the_ear_responses_are_the_head_model() {
    // The simulated listener (and the preview) hear through 4 ms ear FIRs: over the audible
    // band they are the plant model to within a hundredth of a decibel.
    use soundstage::design::evaluate::simulate::ear_firs;
    use soundstage::dsp::contract::{FrameLayout, LatencyMode};
    let layout = FrameLayout::new(SR, LatencyMode::Normal);
    let taps = layout.ear_taps();
    let speaker_presets = presets::with_mode(Mode::Speakers);
    assert_eq!(speaker_presets.len(), 5, "every speaker preset is checked");
    for preset in &speaker_presets {
        let id = preset.id.as_str();
        let settings = preset.apply(&Settings::default());
        let geometry = settings.geometry(preset.outputs);
        let fine = 8192;
        let freqs: Vec<f64> = (0..=fine / 2)
            .map(|k| k as f64 * SR / fine as f64)
            .collect();
        let exact = SphereHead::default()
            .ear_responses(&geometry, &freqs)
            .relative_to(geometry.reference().distance_m);
        let coarse = SphereHead::default()
            .ear_responses(&geometry, &layout.bin_freqs(SR))
            .relative_to(geometry.reference().distance_m);
        let firs = ear_firs(&coarse, layout, SR, Mode::Speakers);
        let mut worst: f64 = 0.0;
        for ear in 0..2 {
            for d in 0..preset.outputs {
                let fir = &firs[(ear * preset.outputs + d) * taps..][..taps];
                for (k, &f) in freqs.iter().enumerate() {
                    if !(20.0..=16_000.0).contains(&f) {
                        continue;
                    }
                    // Reversed tap u has delay taps − 1 − u; the output delay is time zero.
                    let h: realfft::num_complex::Complex<f64> = fir
                        .iter()
                        .enumerate()
                        .map(|(u, &v)| {
                            let t = (taps - 1 - u) as f64 - layout.output_delay as f64;
                            realfft::num_complex::Complex::from_polar(
                                v as f64,
                                -2.0 * std::f64::consts::PI * f * t / SR,
                            )
                        })
                        .sum();
                    let e = exact.get(k, ear, d);
                    worst =
                        worst.max(20.0 * ((h - e).norm() / e.norm()).log10().max(-200.0) + 200.0);
                }
            }
        }
        let worst = worst - 200.0;
        println!(
            "{id}: ear FIRs against the sphere model, 20 Hz-16 kHz: worst error {worst:.1} dB"
        );
        assert!(worst <= -60.0, "{id}: {worst:.1} dB");
    }
}
