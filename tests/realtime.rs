//! The audio thread's real-time contract, driven through [`Processor`] (exactly what the
//! plugin's `process()` runs) with the real designer thread behind it: no allocation ever,
//! denormal-proof decays, and every sample rate from 8 to 768 kHz.

mod common;

use common::{activate, argmax_abs, counted, error_db, noise, HostParams};
use rand::{RngExt, SeedableRng};
use realfft::num_complex::Complex;
use soundstage::design::config::presets;
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics::{self, standard_perturbations};
use soundstage::design::filters::chain::{design, DesignInput};
use soundstage::design::model::geometry::Geometry;
use soundstage::design::model::plant::SphereHead;
use soundstage::design::model::plant::{EarResponses, Plant};
use soundstage::design::worker::{DesignEvents, DesignJob, DesignWorker, Waited};
use soundstage::design::DesignError;
use soundstage::dsp::contract::Controls;
use soundstage::dsp::contract::{FrameLayout, LatencyMode};
use soundstage::dsp::engine::Engine;
use soundstage::dsp::handover;
use soundstage::dsp::meters::Meters;
use soundstage::dsp::processor::Processor;
use soundstage::offline::render::{engine_for, stream};
use soundstage::offline::test_mix::TestMix;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SR: f64 = 48_000.0;

#[test]
fn ten_minutes_of_random_automation_allocate_nothing_on_the_audio_thread() {
    let base = presets::find("smart-speaker")
        .unwrap()
        .apply(&Settings::default());
    let params = HostParams::new(&base);
    let max_block = 4096;
    let (mut processor, _worker) = activate(base, 3, max_block, SR, &params);
    let meters = Meters::default();
    let mut rng = rand::rngs::StdRng::seed_from_u64(77);
    let source = TestMix::generate(SR, 4.0, 2);
    let mut buffers = vec![vec![0.0f32; max_block]; 3];
    let total = (600.0 * SR) as usize;
    let (mut done, mut calls, mut redesigns, mut installed) = (0usize, 0u64, 0u64, 0u64);
    let mut last_generation = processor.engine().newest_generation();
    let mut width = 1.0f32;
    let mut allocations = 0;
    while done < total {
        let n = match rng.random_range(0..10) {
            0 => 1,
            1 => rng.random_range(1..64),
            _ => rng.random_range(64..=max_block),
        }
        .min(total - done);
        let at = done % (source.left.len() - max_block);
        buffers[0][..n].copy_from_slice(&source.left[at..at + n]);
        buffers[1][..n].copy_from_slice(&source.right[at..at + n]);
        allocations += counted(|| {
            // Automation as a host applies it on the audio thread: width at audio rate, the
            // design parameters through atomics and the generation counter.
            let mut redesign = |store: &dyn Fn()| {
                store();
                params.changed();
                redesigns += 1;
            };
            match rng.random_range(0..40) {
                0 => {
                    let v = rng.random_range(0.0..=1.0);
                    redesign(&|| params.depth.store(v, Ordering::Relaxed));
                }
                1 => {
                    let v = rng.random_range(0.0..=30.0);
                    redesign(&|| params.cancellation_db.store(v, Ordering::Relaxed));
                }
                2 => {
                    let v = rng.random_range(0..3u64);
                    redesign(&|| params.mode.store(v, Ordering::Relaxed));
                }
                3..=12 => width = rng.random_range(0.0..=1.0),
                _ => {}
            }
            let controls = Controls {
                width,
                gain: 1.0,
                bypass: false,
                preview: false,
            };
            let mut channels: [&mut [f32]; 3] = {
                let [a, b, c] = &mut buffers[..] else {
                    unreachable!("three buffers")
                };
                [&mut a[..n], &mut b[..n], &mut c[..n]]
            };
            processor.process(controls, &mut channels, (calls % 2 == 0).then_some(&meters));
        });
        let generation = processor.engine().newest_generation();
        if generation != last_generation {
            installed += 1;
            last_generation = generation;
        }
        assert!(
            buffers.iter().all(|b| b[..n].iter().all(|v| v.is_finite())),
            "non-finite output"
        );
        done += n;
        calls += 1;
    }
    println!(
        "{:.0} s of audio in {calls} calls, {redesigns} parameter changes needing a design, \
         {installed} new designs installed: {allocations} allocations on the audio thread",
        done as f64 / SR
    );
    assert!(
        installed >= 10,
        "the designer must have delivered designs during the run ({installed})"
    );
    assert_eq!(allocations, 0, "the audio thread allocated or freed memory");
}

#[test]
fn a_decaying_tail_into_silence_costs_no_more_per_block_than_music() {
    // The upmix's smoothed spectra and the overlap-add decay exponentially in silence; without
    // flush-to-zero they would spend seconds in subnormal numbers, which cost 10-100 times more
    // per operation. Blocks are timed alternately (music, tail) so that machine noise hits both.
    let settings = Settings::default();
    let (mut music_engine, _) = engine_for(&settings, 2, SR, &SphereHead::default());
    let (mut tail_engine, _) = engine_for(&settings, 2, SR, &SphereHead::default());
    let mix = TestMix::generate(SR, 30.0, 4);
    let block = 512;
    let mut out = [vec![0.0f32; block], vec![0.0f32; block]];
    let silence = vec![0.0f32; block];
    // A loud burst, then ten seconds of silence before timing starts: the tail is deep in the
    // range where its state would be subnormal.
    for start in (0..SR as usize).step_by(block) {
        let [a, b] = &mut out;
        let mut outs: [&mut [f32]; 2] = [a, b];
        tail_engine.process(
            [
                &mix.left[start..start + block],
                &mix.right[start..start + block],
            ],
            &mut outs,
        );
    }
    for _ in 0..(10.0 * SR) as usize / block {
        let [a, b] = &mut out;
        let mut outs: [&mut [f32]; 2] = [a, b];
        tail_engine.process([&silence, &silence], &mut outs);
    }
    let mut music = Vec::new();
    let mut tail = Vec::new();
    for (i, start) in (0..mix.left.len() - block).step_by(block).enumerate() {
        let [a, b] = &mut out;
        let mut outs: [&mut [f32]; 2] = [a, b];
        let t = Instant::now();
        music_engine.process(
            [
                &mix.left[start..start + block],
                &mix.right[start..start + block],
            ],
            &mut outs,
        );
        music.push(t.elapsed().as_secs_f64());
        let [a, b] = &mut out;
        let mut outs: [&mut [f32]; 2] = [a, b];
        let t = Instant::now();
        tail_engine.process([&silence, &silence], &mut outs);
        tail.push(t.elapsed().as_secs_f64());
        if i > 2000 {
            break;
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (m, t) = (median(&mut music), median(&mut tail));
    println!(
        "median per 512-sample block: music {:.1} µs, decaying tail {:.1} µs (ratio {:.2})",
        m * 1e6,
        t * 1e6,
        t / m
    );
    assert!(
        t <= 1.5 * m,
        "the tail costs {:.2}x music per block: denormals are not flushed",
        t / m
    );
}

#[test]
fn every_sample_rate_from_8_to_768_khz_designs_processes_and_reports_its_latency() {
    let mix_seconds = 1.0;
    let preset = presets::find("smart-speaker").unwrap();
    for rate in [
        8_000.0, 11_025.0, 16_000.0, 22_050.0, 32_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0,
        176_400.0, 192_000.0, 384_000.0, 768_000.0,
    ] {
        let layout = FrameLayout::new(rate, LatencyMode::Normal);
        let latency_ms = layout.latency() as f64 * 1e3 / rate;
        // Width and depth 0: the input, delayed by exactly the reported latency.
        let transparent = Settings {
            width: 0.0,
            depth: 0.0,
            ..preset.apply(&Settings::default())
        };
        let mix = TestMix::generate(rate, mix_seconds, 9);
        let (mut engine, _) = engine_for(&transparent, 2, rate, &SphereHead::default());
        assert_eq!(engine.latency(), layout.latency());
        let out = stream(&mut engine, &mix.left, &mix.right, &[700], |_| {});
        let null = error_db(&out[0], &mix.left).max(error_db(&out[1], &mix.right));
        // An impulse through the full chain peaks at the reported latency.
        let full = preset.apply(&Settings::default());
        let (mut engine, made) = engine_for(&full, 2, rate, &SphereHead::default());
        let mut x = vec![0.0f32; layout.latency() * 3];
        x[100] = 1.0;
        let mut outs = vec![vec![0.0f32; x.len()]; 2];
        let mut slices: Vec<&mut [f32]> = outs.iter_mut().map(|o| o.as_mut_slice()).collect();
        engine.process([&x, &x], &mut slices);
        let sum: Vec<f32> = (0..x.len()).map(|i| outs[0][i] + outs[1][i]).collect();
        let peak = argmax_abs(&sum) - 100;
        // The canceller is designed for the rate: its separation holds at every rate.
        let canceller = design(
            &DesignInput {
                settings: Settings {
                    mode: Mode::Binaural,
                    ..full
                },
                outputs: 2,
                sample_rate: rate,
            },
            &SphereHead::default(),
        );
        let separation =
            metrics::perturbed_separation(&canceller, &standard_perturbations()[0]).mean_db;
        println!(
            "{rate} Hz: latency {} samples ({latency_ms:.1} ms), impulse peak {peak}, null {null:.1} dB, \
             separation {separation:.1} dB, {} bins",
            layout.latency(),
            made.freqs.len()
        );
        assert_eq!(peak, layout.latency(), "{rate} Hz: impulse delay");
        assert!(
            (20.0..=36.0).contains(&latency_ms),
            "{rate} Hz: {latency_ms} ms"
        );
        assert!(null <= -80.0, "{rate} Hz: width 0 differs by {null:.1} dB");
        assert!(
            separation >= 18.0,
            "{rate} Hz: separation {separation:.1} dB"
        );
    }
}

#[test]
fn corrupt_samples_inside_a_host_block_are_recovered_from_within_that_block() {
    // Through the processor, at a host block size: NaN at one sample, normal input after it.
    let settings = Settings::default();
    let params = HostParams::new(&settings);
    let (mut processor, _worker) = activate(settings, 2, 512, SR, &params);
    let x = noise(3, 512 * 40, 0.1);
    let mut out = Vec::new();
    for (b, chunk) in x.chunks(512).enumerate() {
        let mut l = chunk.to_vec();
        let mut r = chunk.to_vec();
        if b == 10 {
            l[17] = f32::NAN;
            r[300] = f32::INFINITY;
        }
        let mut channels: [&mut [f32]; 2] = [&mut l, &mut r];
        processor.process(settings.controls(), &mut channels, None);
        assert!(l.iter().chain(&r).all(|v| v.is_finite()));
        out.extend_from_slice(&l);
    }
    // The two corrupt samples are 283 samples apart, within one corrupt run: one reset, the
    // second sample is played as silence.
    assert_eq!(
        processor.engine().resets(),
        1,
        "one reset for the corrupt run"
    );
    let tail = &out[512 * 30..];
    assert!(
        tail.iter().map(|v| v * v).sum::<f32>() > 1.0,
        "the processor recovered and plays the input again"
    );
}

/// A head that fails on purpose, as a damaged measurement or a bug in the design would.
#[derive(Debug)]
enum FaultyHead {
    /// Every response is NaN.
    NotANumber,
    /// Asking for a response panics.
    Panics,
}

impl Plant for FaultyHead {
    fn ear_responses(&self, geometry: &Geometry, freqs: &[f64]) -> EarResponses {
        match self {
            FaultyHead::NotANumber => {
                let drivers = geometry.drivers;
                let nan = Complex::new(f64::NAN, f64::NAN);
                EarResponses::new(
                    freqs.to_vec(),
                    drivers,
                    vec![nan; freqs.len() * 2 * drivers],
                )
            }
            FaultyHead::Panics => panic!("a test head that panics inside the design"),
        }
    }

    fn name(&self) -> String {
        format!("{self:?}")
    }

    fn resized(&self, _factor: f64) -> Option<Box<dyn Plant>> {
        None
    }
}

#[test]
fn an_offline_wait_ends_at_once_when_no_design_can_come() {
    // It used to wait its whole limit (5 s in the plugin) in every process() call: a
    // 3-minute bounce at 512-sample blocks took about a day.
    let settings = Settings::default();
    let sphere: Arc<dyn Plant> = Arc::new(SphereHead::default());
    let input = DesignInput {
        settings,
        outputs: 2,
        sample_rate: SR,
    };
    let first = design(&input, sphere.as_ref());
    let engine = Engine::new(Box::new(first.filters), SR, settings.controls());
    let (designer, audio) = handover::channel();
    let generation = Arc::new(AtomicU64::new(0));
    let events = DesignEvents::default();
    let head = Arc::new(Mutex::new(sphere.clone()));
    let errors = Arc::new(Mutex::new(Vec::new()));
    let (source_generation, source_head, heard) =
        (generation.clone(), head.clone(), errors.clone());
    let worker = DesignWorker::spawn(
        move || {
            let generation = source_generation.load(Ordering::Acquire);
            assert_ne!(
                generation, 7,
                "a source that panics: the designer thread dies"
            );
            DesignJob {
                generation,
                input,
                plant: source_head.lock().unwrap().clone(),
                stand_in: None,
            }
        },
        &events,
        designer,
        |_| {},
        move |why| heard.lock().unwrap().push(why.clone()),
        DesignJob {
            generation: 0,
            input,
            plant: sphere.clone(),
            stand_in: None,
        },
    )
    .expect("the designer thread starts");
    let mut processor = Processor::new(engine, audio, 512, SR);
    let limit = Duration::from_secs(60);
    // (generation set, generation waited for, head, outcome): a new generation whose input
    // and head are those already playing is answered too (a parameter moved and back, the
    // same head picked again); a wait for 5 while the parameters have moved on to 6 ends
    // when 6 plays (the designer skips 5).
    let cases: [(u64, u64, Arc<dyn Plant>, Waited); 6] = [
        (1, 1, sphere.clone(), Waited::Playing),
        (2, 2, Arc::new(FaultyHead::NotANumber), Waited::Refused),
        (3, 3, Arc::new(FaultyHead::Panics), Waited::Refused),
        (4, 4, sphere, Waited::Playing),
        (6, 5, Arc::new(SphereHead::default()), Waited::Playing),
        (7, 7, Arc::new(SphereHead::default()), Waited::DesignerGone),
    ];
    for (set, g, plant, expected) in cases {
        *head.lock().unwrap() = plant.clone();
        generation.store(set, Ordering::Release);
        events.notify();
        let start = Instant::now();
        let waited = worker.wait_for(&mut processor, g, limit);
        println!("{plant:?}: {waited:?} after {:?}", start.elapsed());
        assert_eq!(waited, expected, "generation {g} with {plant:?}");
    }
    let errors = errors.lock().unwrap();
    assert_eq!(errors[0], DesignError::NotFinite);
    assert!(
        matches!(&errors[1], DesignError::Panicked(m) if m.contains("panics inside the design")),
        "{:?}",
        errors[1]
    );
    assert_eq!(
        processor.engine().newest_generation(),
        6,
        "the last good design plays"
    );
}
