//! Soundstage in a CLAP host of our own (clack-host): loads the built plugin, checks its
//! identity, selects each output layout, activates at several sample rates, processes blocks
//! of varying size with parameter events, measures latency against an impulse, saves and
//! restores state, loads state from an older layout, and automates width at audio rate.
//!
//! The host is `clack/mod.rs`; the editor's open/close test is `editor_host.rs`, a binary of
//! its own so that its heap measurement counts no other test. Built with
//! `--features assert_process_allocs` in a debug build, every `process()` call here is also
//! checked for allocations by the framework (a violation aborts the test).

mod clack;
#[path = "common/threads.rs"]
mod threads;

// Only the SOFA writer of the shared test helpers: the rest installs a counting global
// allocator, which a build with `assert_process_allocs` (whose own allocator checks the
// plugin) must not have twice.
#[allow(dead_code)]
#[path = "common/sofa.rs"]
mod sofa;

use std::io::Cursor;

use clack::*;
use clack_extensions::params::ParamInfoFlags;
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

#[test]
fn identity_and_extensions() {
    let (entry, _) = shared_entry();
    let factory = entry.get_plugin_factory().expect("plugin factory");
    let descriptors: Vec<_> = factory.plugin_descriptors().collect();
    assert_eq!(descriptors.len(), 1);
    let d = descriptors[0];
    assert_eq!(
        d.id().unwrap().to_str().unwrap(),
        "audio.soundstage.spatial"
    );
    assert_eq!(d.name().unwrap().to_str().unwrap(), "Soundstage");
    let features: Vec<String> = d
        .features()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    for wanted in ["audio-effect", "stereo", "surround", "soundstage:spatial"] {
        assert!(
            features.iter().any(|f| f == wanted),
            "feature {wanted} missing from {features:?}"
        );
    }
    let session = Session::new();
    assert!(session.exts.state.is_some());
    let names: Vec<&str> = session.params.iter().map(|p| p.name.as_str()).collect();
    for wanted in [
        "Width",
        "Depth",
        "Cancellation",
        "Mode",
        "Driver spacing",
        "Listening distance",
        "Virtual angle",
        "Listener offset",
        "Bass crossover",
        "Boost limit",
        "Output gain",
        "Loudness match",
        "Bypass",
        "Headphone preview",
    ] {
        assert!(
            names.contains(&wanted),
            "parameter {wanted} missing from {names:?}"
        );
    }
    for spec in &soundstage::params::FLOAT_PARAMS {
        let p = session.param(spec.name);
        assert!(
            (p.default - clap_value(spec.name, spec.default as f64)).abs() < 1e-6,
            "{} default",
            spec.name
        );
        assert_eq!(
            (p.min, p.max),
            (0.0, 1.0),
            "{} is exposed normalised",
            spec.name
        );
        assert!(
            p.flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
            "{} is automatable",
            spec.name
        );
    }
    assert!(
        session
            .param("Bypass")
            .flags
            .contains(ParamInfoFlags::IS_BYPASS),
        "the host's bypass is ours"
    );
    assert_eq!(session.param("Mode").max, 2.0, "three modes");
    let latency = session.param("Latency");
    assert_eq!(latency.max, 1.0, "two latency modes");
    assert!(
        !latency.flags.contains(ParamInfoFlags::IS_AUTOMATABLE),
        "the latency mode is not automatable: a change restarts the plugin"
    );
    let layouts: Vec<(String, Option<u32>)> = session
        .configs
        .iter()
        .map(|c| (c.name.clone(), c.main_input_channels))
        .collect();
    assert_eq!(
        layouts,
        vec![
            ("Stereo".to_string(), Some(2)),
            ("Stereo to L/C/R line".to_string(), Some(2)),
            ("Stereo to 4-driver line".to_string(), Some(2))
        ]
    );
}

#[test]
fn every_layout_and_rate_processes_varying_blocks_with_events() {
    let mut session = Session::new();
    let offered: Vec<u32> = session
        .configs
        .iter()
        .filter_map(|c| c.main_output_channels)
        .collect();
    assert_eq!(offered, vec![2, 3, 4], "output layouts offered");
    let width = session.param("Width");
    let depth = session.param("Depth");
    let mode = session.param("Mode");
    let blocks = vec![
        1, 2, 3, 4096, 7, 64, 100, 1, 128, 255, 256, 480, 512, 1000, 1024, 2047, 2048, 4095, 13,
        4096,
    ];
    for outputs in [2, 3, 4] {
        let layout = session.select(outputs);
        assert_eq!(layout.inputs, vec![2], "stereo input");
        assert_eq!(layout.outputs[layout.main_output.unwrap()], outputs);
        for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
            let len = 30_000;
            let job = Job {
                input: [
                    sine(220.0, sample_rate, len, 0.4),
                    sine(330.0, sample_rate, len, 0.3),
                ],
                blocks: blocks.clone(),
                events: vec![
                    (1000, width.id, clap_value("Width", 35.0)),
                    (5000, depth.id, clap_value("Depth", 90.0)),
                    (9000, mode.id, 1.0),
                    (20_000, width.id, clap_value("Width", 77.0)),
                ],
                realtime: false,
            };
            let (latency, out) = session.run(&layout, sample_rate, &job);
            assert_eq!(
                latency,
                expected_latency(sample_rate),
                "{outputs} outputs at {sample_rate} Hz"
            );
            assert_eq!(out.len(), outputs as usize);
            let energy: f32 = out.iter().flatten().map(|v| v * v).sum();
            assert!(
                energy > 1.0,
                "{outputs} outputs at {sample_rate} Hz: silent output"
            );
            let values = session.values();
            let i = session
                .params
                .iter()
                .position(|p| p.id == width.id)
                .unwrap();
            assert!(
                (plain_value("Width", values[i]) - 77.0).abs() < 1e-3,
                "the last width event took effect"
            );
        }
    }
}

#[test]
fn reported_latency_is_the_delay_of_an_impulse() {
    let mut session = Session::new();
    for outputs in [2, 3, 4] {
        let layout = session.select(outputs);
        for sample_rate in [44_100.0, 48_000.0] {
            // A one-sided impulse: on a driver line the centre driver is delayed further so that
            // it reaches the listener with the outer ones, which carry the sides.
            let mut left = vec![0.0f32; 8192];
            left[100] = 1.0;
            let job = Job {
                input: [left, vec![0.0; 8192]],
                blocks: vec![256],
                events: vec![],
                realtime: false,
            };
            let (latency, out) = session.run(&layout, sample_rate, &job);
            let sum: Vec<f32> = (0..out[0].len())
                .map(|i| out.iter().map(|o| o[i].abs()).sum())
                .collect();
            let peak = (0..sum.len())
                .max_by(|&a, &b| sum[a].total_cmp(&sum[b]))
                .unwrap();
            assert_eq!(
                peak as u32 - 100,
                latency,
                "{outputs} outputs at {sample_rate} Hz"
            );
        }
    }
}

#[test]
fn state_round_trips_into_a_fresh_instance() {
    let mut a = Session::new();
    let defaults = a.values();
    let changes: Vec<(String, f64)> = vec![
        ("Width".into(), 42.0),
        ("Depth".into(), 77.0),
        ("Cancellation".into(), 13.5),
        ("Mode".into(), 2.0),
        ("Driver spacing".into(), 16.0),
        ("Listening distance".into(), 2.0),
        ("Virtual angle".into(), 35.0),
        ("Listener offset".into(), -7.5),
        ("Bass crossover".into(), 150.0),
        ("Boost limit".into(), 12.0),
        ("Output gain".into(), -3.5),
        ("Loudness match".into(), 0.0),
    ];
    let events: Vec<ParamValueEvent> = changes
        .iter()
        .map(|(name, v)| {
            ParamValueEvent::new(0, a.param(name).id, Pckn::match_all(), clap_value(name, *v))
        })
        .collect();
    {
        let params = a.exts.params.unwrap();
        let mut inactive = a.instance.inactive_plugin_handle().expect("inactive");
        params.flush(
            &mut inactive,
            &InputEvents::from_buffer(&events),
            &mut OutputEvents::void(),
        );
    }
    pump_main_thread(&mut a.instance);
    let values_a = a.values();
    for (name, v) in &changes {
        let i = a.params.iter().position(|p| &p.name == name).unwrap();
        assert!(
            (plain_value(name, values_a[i]) - v).abs() < 1e-3,
            "{name}: {} after flush",
            plain_value(name, values_a[i])
        );
        assert!(
            (values_a[i] - defaults[i]).abs() > 1e-6,
            "{name}: the change must differ from the default"
        );
    }
    let mut saved = Vec::new();
    a.exts
        .state
        .unwrap()
        .save(&a.instance.plugin_handle(), &mut saved)
        .expect("state save");

    let mut b = Session::new();
    b.exts
        .state
        .unwrap()
        .load(&b.instance.plugin_handle(), &mut Cursor::new(&saved))
        .expect("state load");
    pump_main_thread(&mut b.instance);
    let values_b = b.values();
    for (d, (x, y)) in a.params.iter().zip(values_a.iter().zip(&values_b)) {
        assert!((x - y).abs() < 1e-6, "{}: {x} saved, {y} restored", d.name);
    }
    // The restored state is complete: saving it again gives the same bytes.
    let mut again = Vec::new();
    b.exts
        .state
        .unwrap()
        .save(&b.instance.plugin_handle(), &mut again)
        .expect("state save");
    assert_eq!(
        String::from_utf8_lossy(&saved[8..]),
        String::from_utf8_lossy(&again[8..])
    );
    let json: serde_json::Value =
        serde_json::from_slice(&saved[8..]).expect("state is JSON after its length");
    assert_eq!(json["fields"]["state-version"], "1");
    assert!(
        json["fields"]["editor-size"].is_string(),
        "editor size is part of the state"
    );
}

/// A state as the plugin wrote it before later parameters and fields existed: every value it
/// holds must load, and what it lacks must stay at its default.
#[test]
fn state_from_an_older_layout_loads_without_losing_values() {
    let fixture = include_str!("fixtures/state-v1-early.json");
    let mut s = Session::new();
    let defaults = s.values();
    load_state(&mut s, fixture);
    let values = s.values();
    let expect = [
        ("Width", 64.0),
        ("Depth", 20.0),
        ("Cancellation", 17.0),
        ("Mode", 1.0),
        ("Driver spacing", 30.0),
        ("Listening distance", 0.5),
        ("Virtual angle", 40.0),
    ];
    for (name, v) in expect {
        let i = s.params.iter().position(|p| p.name == name).unwrap();
        assert!(
            (plain_value(name, values[i]) - v).abs() < 1e-3,
            "{name}: {} loaded, {v} stored",
            plain_value(name, values[i])
        );
    }
    for name in ["Boost limit", "Loudness match"] {
        let i = s.params.iter().position(|p| p.name == name).unwrap();
        assert_eq!(
            values[i], defaults[i],
            "{name} was not in the old state and keeps its default"
        );
    }
    let mut saved = Vec::new();
    s.exts
        .state
        .unwrap()
        .save(&s.instance.plugin_handle(), &mut saved)
        .expect("state save");
    let json: serde_json::Value = serde_json::from_slice(&saved[8..]).unwrap();
    assert_eq!(
        json["fields"]["state-version"], "1",
        "the migrated state carries the current layout version"
    );
    assert_eq!(
        json["fields"]["editor-size"], "[820.0,560.0]",
        "the old editor size is kept"
    );
}

/// Random automation of every automatable parameter at random block sizes, on every layout:
/// the output stays finite, and in a debug build with `assert_process_allocs` the framework
/// aborts on any allocation inside `process()` (the README's test command runs this file
/// that way too).
#[test]
fn random_automation_at_random_block_sizes_on_every_layout() {
    use rand::{RngExt, SeedableRng};
    let mut session = Session::new();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let params: Vec<ParamDesc> = session
        .params
        .iter()
        .filter(|p| p.flags.contains(ParamInfoFlags::IS_AUTOMATABLE))
        .cloned()
        .collect();
    for outputs in [2, 3, 4] {
        let layout = session.select(outputs);
        let len = 5 * 48_000;
        let blocks: Vec<usize> = (0..300)
            .map(|_| match rng.random_range(0..8) {
                0 => 1,
                1 => rng.random_range(1..32),
                _ => rng.random_range(32..=MAX_FRAMES as usize),
            })
            .collect();
        let mut events: Vec<(usize, ClapId, f64)> = (0..400)
            .map(|_| {
                let p = &params[rng.random_range(0..params.len())];
                let value = if p.max > 1.0 {
                    rng.random_range(0..=p.max as u32) as f64
                } else {
                    rng.random_range(p.min..=p.max)
                };
                (rng.random_range(0..len), p.id, value)
            })
            .collect();
        events.sort_by_key(|e| e.0);
        let job = Job {
            input: [
                sine(220.0, 48_000.0, len, 0.4),
                sine(330.0, 48_000.0, len, 0.3),
            ],
            blocks,
            events,
            realtime: false,
        };
        let (latency, out) = session.run(&layout, 48_000.0, &job);
        assert_eq!(latency, expected_latency(48_000.0), "latency moved");
        assert_eq!(out[0].len(), len);
    }
}

/// Largest sample-to-sample step of a signal.
fn max_step(x: &[f32]) -> f32 {
    x.windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

/// Energy per third-octave band between `lo` and `hi` Hz of a Hann-windowed segment.
fn band_energies(x: &[f32], sample_rate: f64, lo: f64, hi: f64) -> Vec<(f64, f64)> {
    let n = x.len();
    let mut planner = realfft::RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut t: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, &v)| v as f64 * (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()))
        .collect();
    let mut s = fft.make_output_vec();
    fft.process(&mut t, &mut s).unwrap();
    let centres: Vec<f64> = (-10..=13)
        .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
        .filter(|&f| f >= lo && f <= hi)
        .collect();
    centres
        .into_iter()
        .map(|fc| {
            let (a, b) = (fc * 2f64.powf(-1.0 / 6.0), fc * 2f64.powf(1.0 / 6.0));
            let energy = s
                .iter()
                .enumerate()
                .filter(|(k, _)| {
                    let f = *k as f64 * sample_rate / n as f64;
                    f >= a && f < b
                })
                .map(|(_, v)| v.norm_sqr())
                .sum::<f64>();
            (fc, energy)
        })
        .collect()
}

/// Click figures of `automated` against the steady states it moves between: the largest step
/// relative to the largest steady step, and the worst band (2–20 kHz, far from the tone: a
/// click is broadband, a smooth level change is not) relative to the louder steady floor, dB.
fn click_figures(
    automated: &[Vec<f32>],
    steady: &[&[Vec<f32>]],
    range: std::ops::Range<usize>,
) -> (f32, f64) {
    let mut step_ratio = 0.0f32;
    let mut band_excess = f64::NEG_INFINITY;
    for (c, out) in automated.iter().enumerate() {
        let steady_step = steady
            .iter()
            .map(|s| max_step(&s[c][range.clone()]))
            .fold(0.0, f32::max);
        step_ratio = step_ratio.max(max_step(&out[range.clone()]) / steady_step);
        let bands = band_energies(&out[range.clone()], 48_000.0, 2000.0, 20_000.0);
        let floors: Vec<Vec<(f64, f64)>> = steady
            .iter()
            .map(|s| band_energies(&s[c][range.clone()], 48_000.0, 2000.0, 20_000.0))
            .collect();
        for (b, (_, e)) in bands.iter().enumerate() {
            let floor = floors.iter().map(|f| f[b].1).fold(0.0, f64::max);
            band_excess = band_excess.max(10.0 * (e / floor).log10());
        }
    }
    (step_ratio, band_excess)
}

/// Width at audio rate: a fast ramp (0 → 100 % in 5 ms, one sample-accurate event per
/// sample) and a square wave (0 ↔ 100 % every 100 ms, one jump each). Neither may click.
///
/// The step bound: the output moves between two steady states whose steps are at most
/// A·2π·440/48000; a level change by interpolation between them cannot exceed the larger one
/// except by the envelope's own slope, a few per cent here, so 1.25× leaves margin for that
/// while a click (a step of the order of the amplitude A) is 17× the steady step.
#[test]
fn width_automation_by_fast_ramps_and_square_waves_does_not_click() {
    let mut session = Session::new();
    let width = session.param("Width");
    let layout = session.select(2);
    let len = 3 * 48_000;
    let input = tone_on_a_floor(len);
    let steady = |session: &mut Session, value: f64| {
        let job = Job {
            input: input.clone(),
            blocks: vec![512],
            events: vec![(0, width.id, clap_value("Width", value))],
            realtime: false,
        };
        session.run(&layout, 48_000.0, &job).1
    };
    let narrow = steady(&mut session, 0.0);
    let wide = steady(&mut session, 100.0);
    let mut square = vec![(0, width.id, clap_value("Width", 0.0))];
    for (i, at) in (24_000..len).step_by(4_800).enumerate() {
        let value = if i % 2 == 0 { 100.0 } else { 0.0 };
        square.push((at, width.id, clap_value("Width", value)));
    }
    let mut ramp = vec![(0, width.id, clap_value("Width", 0.0))];
    for (i, start) in (24_000..len - 480).step_by(9_600).enumerate() {
        for k in 0..=240 {
            let x = k as f64 / 240.0 * 100.0;
            let value = if i % 2 == 0 { x } else { 100.0 - x };
            ramp.push((start + k, width.id, clap_value("Width", value)));
        }
    }
    // Analyse from 0.5 s on: the start-up fill of the latency is not part of the test.
    let range = 24_000 + expected_latency(48_000.0) as usize..len - 2048;
    for (name, events) in [("square wave", square), ("fast ramp", ramp)] {
        let job = Job {
            input: input.clone(),
            blocks: vec![480, 64, 1, 1024, 333],
            events,
            realtime: false,
        };
        let (_, out) = session.run(&layout, 48_000.0, &job);
        let (step, excess) = click_figures(&out, &[&narrow, &wide], range.clone());
        println!("width {name}: largest step {step:.3}x the steady one, worst band 2-20 kHz {excess:+.1} dB over the steady floor");
        assert!(
            step <= 1.25,
            "{name}: a step {step:.2}x the steady one is a click"
        );
        assert!(
            excess <= 6.0,
            "{name}: broadband energy {excess:.1} dB over the floor"
        );
    }
}

/// Depth and cancellation move the filters: each change is a redesign on the designer thread
/// that the audio thread crossfades to. Played in real time, as a host would, the changes are
/// heard within a few frames and never click.
#[test]
fn redesigns_crossfade_without_clicks_and_are_heard_promptly() {
    let mut session = Session::new();
    let depth = session.param("Depth");
    let cancel = session.param("Cancellation");
    let layout = session.select(3);
    let len = 2 * 48_000;
    let input = tone_on_a_floor(len);
    let run = |session: &mut Session, events: Vec<(usize, ClapId, f64)>| {
        let job = Job {
            input: input.clone(),
            blocks: vec![256],
            events,
            realtime: true,
        };
        session.run(&layout, 48_000.0, &job).1
    };
    let start = vec![
        (0, depth.id, clap_value("Depth", 0.0)),
        (0, cancel.id, clap_value("Cancellation", 30.0)),
    ];
    let before = run(&mut session, start.clone());
    let after = run(
        &mut session,
        vec![
            (0, depth.id, clap_value("Depth", 100.0)),
            (0, cancel.id, clap_value("Cancellation", 5.0)),
        ],
    );
    let change_at = 48_000;
    let mut events = start;
    events.push((change_at, depth.id, clap_value("Depth", 100.0)));
    events.push((change_at, cancel.id, clap_value("Cancellation", 5.0)));
    let changed = run(&mut session, events);
    let range = 24_000..len - 2048;
    let (step, excess) = click_figures(&changed, &[&before, &after], range);
    // When the change is heard: the first output sample that leaves the old steady state.
    let heard = (change_at..len)
        .find(|&i| (0..changed.len()).any(|c| (changed[c][i] - before[c][i]).abs() > 1e-4))
        .expect("the change must be heard");
    let delay_ms = (heard - change_at) as f64 / 48.0;
    println!("depth 0 -> 100 % and cancellation 30 -> 5 dB: heard after {delay_ms:.1} ms (real-time pacing), largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
    assert!(
        step <= 1.25,
        "redesign: a step {step:.2}x the steady one is a click"
    );
    assert!(
        excess <= 6.0,
        "redesign: broadband energy {excess:.1} dB over the floor"
    );
    assert!(
        delay_ms < 250.0,
        "a redesign took {delay_ms:.0} ms to be heard (the target is 50 ms; this bound only catches a stalled designer)"
    );
}

/// Switching modes during playback (speakers → binaural → headphones → speakers) keeps the
/// latency and crossfades between the designs: no click. Paced in real time, so that the
/// designer thread delivers each mode's design as it would in a host.
#[test]
fn switching_modes_during_playback_crossfades_without_a_click() {
    let switches = [(36_000, 2.0), (72_000, 1.0), (108_000, 0.0)];
    let (step, excess) = switching_figures("Mode", &[0.0, 1.0, 2.0], &switches, true);
    println!("mode switches: largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
    assert!(step <= 1.25, "a mode switch clicks: step {step:.2}x");
    assert!(
        excess <= 6.0,
        "a mode switch clicks: {excess:.1} dB broadband"
    );
}

/// The parameter `name` switched during playback between the host values `states` (first
/// at the start, then `switches`: sample and value): every state has the same latency, each
/// changes the sound, and the click figures of the switched run against the steady states.
fn switching_figures(
    name: &str,
    states: &[f64],
    switches: &[(usize, f64)],
    realtime: bool,
) -> (f32, f64) {
    let mut session = Session::new();
    let switch = session.param(name);
    let layout = session.select(2);
    let len = 3 * 48_000;
    let input = tone_on_a_floor(len);
    let mut run = |events: Vec<(usize, ClapId, f64)>| {
        let job = Job {
            input: input.clone(),
            blocks: vec![480],
            events,
            realtime,
        };
        session.run(&layout, 48_000.0, &job)
    };
    let steady: Vec<(u32, Vec<Vec<f32>>)> = states
        .iter()
        .map(|&v| run(vec![(0, switch.id, v)]))
        .collect();
    let events = std::iter::once((0, switch.id, states[0]))
        .chain(switches.iter().map(|&(at, v)| (at, switch.id, v)))
        .collect();
    let (latency, switched) = run(events);
    assert!(
        steady.iter().all(|(l, _)| *l == latency),
        "every {name} state has the same latency"
    );
    for (v, (_, out)) in states.iter().zip(&steady).skip(1) {
        let differs = out[0]
            .iter()
            .zip(&steady[0].1[0])
            .skip(24_000)
            .any(|(a, b)| (a - b).abs() > 1e-3);
        assert!(differs, "{name} = {v} changes what comes out");
    }
    let outs: Vec<&[Vec<f32>]> = steady.iter().map(|(_, o)| o.as_slice()).collect();
    click_figures(&switched, &outs, 24_000..len - 2048)
}

/// Automation lanes are a tracker too: the listener's offset (±10 cm) and yaw (±15°) moving
/// continuously, one value per 480-sample block as many hosts send it, played in real time
/// so that the designer follows pose after pose. The output stays between the steady states
/// of the poses it moves through: no click.
#[test]
fn a_continuously_moving_listener_is_followed_without_a_click() {
    let mut session = Session::new();
    let offset = session.param("Listener offset");
    let yaw = session.param("Listener yaw");
    let layout = session.select(2);
    let len = 3 * 48_000;
    let input = tone_on_a_floor(len);
    let mut run = |events: Vec<(usize, ClapId, f64)>| {
        let job = Job {
            input: input.clone(),
            blocks: vec![480],
            events,
            realtime: true,
        };
        session.run(&layout, 48_000.0, &job).1
    };
    let pose = |at: usize, x_cm: f64, yaw_deg: f64| {
        [
            (at, offset.id, clap_value("Listener offset", x_cm)),
            (at, yaw.id, clap_value("Listener yaw", yaw_deg)),
        ]
    };
    let corners = [
        (-10.0, -15.0),
        (-10.0, 15.0),
        (0.0, 0.0),
        (10.0, -15.0),
        (10.0, 15.0),
    ];
    let steady: Vec<Vec<Vec<f32>>> = corners
        .iter()
        .map(|&(x, y)| run(pose(0, x, y).to_vec()))
        .collect();
    let moving: Vec<(usize, ClapId, f64)> = (0..len)
        .step_by(480)
        .flat_map(|at| {
            let t = at as f64 / 48_000.0;
            let x = 10.0 * (std::f64::consts::TAU * 0.4 * t).sin();
            let y = 15.0 * (std::f64::consts::TAU * 0.3 * t).sin();
            pose(at, x, y)
        })
        .collect();
    let moved = run(moving);
    let differs = moved[0]
        .iter()
        .zip(&steady[2][0])
        .skip(48_000)
        .any(|(a, b)| (a - b).abs() > 1e-3);
    assert!(differs, "the moving pose changes what comes out");
    let outs: Vec<&[Vec<f32>]> = steady.iter().map(|o| o.as_slice()).collect();
    let (step, excess) = click_figures(&moved, &outs, 24_000..len - 2048);
    println!("offset ±10 cm and yaw ±15° moving: largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
    assert!(step <= 1.25, "a moving pose clicks: step {step:.2}x");
    assert!(
        excess <= 6.0,
        "a moving pose clicks: {excess:.1} dB broadband"
    );
}

/// The headphone preview and bypass, switched during playback, crossfade without a click.
#[test]
fn switching_the_headphone_preview_or_bypass_during_playback_does_not_click() {
    let toggles: Vec<(usize, f64)> = (0..5)
        .map(|i| (30_000 + i * 20_000, ((i + 1) % 2) as f64))
        .collect();
    for name in ["Headphone preview", "Bypass"] {
        let (step, excess) = switching_figures(name, &[0.0, 1.0], &toggles, false);
        println!("{name} switches: largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
        assert!(step <= 1.25, "{name} clicks: step {step:.2}x");
        assert!(excess <= 6.0, "{name} clicks: {excess:.1} dB broadband");
    }
}

/// A session saved with a measured head reopens on a machine without the SOFA file: the state
/// carries the head's data, and the plugin plays exactly what the offline render designed for
/// that head plays.
#[test]
fn a_session_with_a_measured_head_reopens_without_the_file() {
    use sofa::{Extras, Head};
    use soundstage::design::config::settings::Settings;
    use soundstage::design::model::head::{HeadChoice, StoredSet};
    use soundstage::design::model::measured::MeasuredHead;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("head.sofa");
    sofa::write(
        &file,
        "synthetic",
        &sofa::measurements(Head::Synthetic, 5.0),
        &Extras::default(),
    );
    let set = soundstage::design::model::sofa::read(&file).unwrap();
    let choice = HeadChoice {
        measured: true,
        set: Some(Arc::new(StoredSet::from_set(&set))),
        ..HeadChoice::default()
    };
    // The laptop preset's geometry, as a host would have saved it.
    let laptop = soundstage::design::config::presets::find("laptop").unwrap();
    let settings = laptop.apply(&Settings::default());
    let state = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "params": {
            "spacing": {"f32": 30.0}, "dist": {"f32": 0.5}, "vangle": {"f32": 30.0},
            "bassx": {"f32": 150.0}, "mode": {"string": "speakers"},
        },
        "fields": {
            "head": serde_json::to_string(&choice).unwrap(),
            "state-version": "1",
        },
    })
    .to_string();
    std::fs::remove_file(&file).unwrap();
    // The head as the state carries it (its responses trimmed where they have decayed).
    let stored = choice.set.as_ref().unwrap().to_set().unwrap();
    let (null, kept, saved) = replayed(&state, &settings, 2, &MeasuredHead::new(&stored));
    println!(
        "measured head in the state: {saved} bytes of state in all, plugin against the offline render {null:.1} dB"
    );
    assert!(
        null <= -100.0,
        "the plugin plays another design: {null:.1} dB"
    );
    assert_eq!(kept, choice, "saving again keeps the measured head");
    assert!(saved < 250_000, "{saved} bytes");
}

#[test]
fn a_damaged_stored_head_falls_back_to_the_sphere_and_still_follows_parameters() {
    use soundstage::design::config::settings::Settings;
    // A measured head whose responses are not base64: the session cannot use it.
    let state = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "params": {},
        "fields": {
            "head": serde_json::json!({
                "measured": true,
                "set": {"name": "damaged", "sample_rate": 48000.0, "radius_m": 1.0,
                        "azimuths_deg": [0.0], "taps": 1, "irs": "!!!!!!!!!!!!"},
            })
            .to_string(),
            "state-version": "1",
        },
    })
    .to_string();
    let mut session = Session::new();
    let depth = session.param("Depth");
    load_state(&mut session, &state);
    let layout = session.select(2);
    let input = tone_on_a_floor(24_000);
    // Half a second at real-time pacing: a designer that gave up on the damaged head would
    // leave the old design playing. From `settled` on (a quarter of a second after the change,
    // ten times what a redesign takes to be heard) only the new design may play.
    let settled = 12_000;
    let job = Job {
        input: input.clone(),
        blocks: vec![512],
        events: vec![(0, depth.id, clap_value("Depth", 100.0))],
        realtime: true,
    };
    let (latency, heard) = session.run(&layout, 48_000.0, &job);
    let settings = Settings {
        depth: 1.0,
        ..Settings::default()
    };
    let offline = sphere_render(&settings, &input);
    let null = null_db(&heard, latency as usize, &offline, settled);
    println!("damaged head: the sphere plays depth 100 % against the offline render {null:.1} dB");
    assert!(null <= -100.0, "the change was not designed: {null:.1} dB");
}

/// What the engine makes of `input` offline with `settings` on the sphere, in 512-sample
/// blocks.
fn sphere_render(
    settings: &soundstage::design::config::settings::Settings,
    input: &[Vec<f32>; 2],
) -> Vec<Vec<f32>> {
    let (mut engine, _) = soundstage::offline::render::engine_for(
        settings,
        2,
        48_000.0,
        &soundstage::design::model::plant::SphereHead::default(),
    );
    soundstage::offline::render::stream(&mut engine, &input[0], &input[1], &[512], |_| {})
}

/// How far `heard` (delayed by `latency`) is from `reference` from sample `from` on, dB of
/// the error's power relative to the reference's.
fn null_db(heard: &[Vec<f32>], latency: usize, reference: &[Vec<f32>], from: usize) -> f64 {
    let (mut err, mut power) = (0.0f64, 0.0f64);
    for c in 0..2 {
        for (a, b) in heard[c][latency + from..].iter().zip(&reference[c][from..]) {
            err += ((a - b) as f64).powi(2);
            power += (*b as f64).powi(2);
        }
    }
    10.0 * (err / power).log10()
}

/// Loads the state document `state` (nice-plug's JSON, behind the length prefix its CLAP
/// wrapper reads) into `session`, as a host reopening a session does.
fn load_state(session: &mut Session, state: &str) {
    let mut blob = (state.len() as u64).to_le_bytes().to_vec();
    blob.extend_from_slice(state.as_bytes());
    session
        .exts
        .state
        .unwrap()
        .load(&session.instance.plugin_handle(), &mut Cursor::new(&blob))
        .expect("the state loads");
    pump_main_thread(&mut session.instance);
}

/// Head tracking in a running instance: with tracking on (a session setting), opentrack and
/// OSC poses sent to the plugin's UDP port while it plays, among bad packets and a flood, end
/// in the output of a render made with that pose set as parameters.
#[test]
fn tracker_poses_sent_over_udp_steer_the_design_like_the_same_pose_as_parameters() {
    use soundstage::design::config::settings::Settings;
    let port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tracking = format!(r#"{{"enabled":true,"port":{port},"all_interfaces":false}}"#);
    let state = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "params": {},
        "fields": {"tracking": tracking, "state-version": "1"},
    })
    .to_string();
    // The listener 6 cm to the right, 10 cm further away and turned 8° to the left: as
    // opentrack says it (x to the user's left, z away from the camera, yaw to the right, cm)
    // and as OSC does (SPARTA's frame: x forward, y left, metres; yaw to the left).
    let opentrack: Vec<u8> = [-6.0f64, 0.0, 10.0, -8.0, 4.0, 2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let osc = |addr: &str, args: [f32; 3]| {
        rosc::encoder::encode(&rosc::OscPacket::Message(rosc::OscMessage {
            addr: addr.into(),
            args: args.into_iter().map(rosc::OscType::Float).collect(),
        }))
        .unwrap()
    };
    let bad: [Vec<u8>; 3] = [
        opentrack[..47].to_vec(),
        osc("/ypr", [f32::NAN, 0.0, 0.0]),
        vec![0x2f; 900],
    ];
    let expected = Settings {
        offset_m: 0.06,
        distance_m: Settings::default().distance_m + 0.10,
        yaw_deg: 8.0,
        ..Settings::default()
    };
    for (protocol, packets) in [
        ("opentrack", vec![opentrack.clone()]),
        (
            "OSC",
            vec![
                osc("/xyz", [-0.10, -0.06, 0.0]),
                osc("/ypr", [8.0, 4.0, 2.0]),
            ],
        ),
    ] {
        let mut session = Session::new();
        load_state(&mut session, &state);
        let layout = session.select(2);
        let seconds = 5;
        let input = tone_on_a_floor(seconds * 48_000);
        let job = Job {
            input: input.clone(),
            blocks: vec![512],
            events: vec![],
            realtime: true,
        };
        let stop = std::sync::atomic::AtomicBool::new(false);
        let heard = std::thread::scope(|s| {
            s.spawn(|| {
                let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                let mut n = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    for p in &packets {
                        let _ = socket.send_to(p, ("127.0.0.1", port));
                    }
                    let _ = socket.send_to(&bad[n as usize % 3], ("127.0.0.1", port));
                    // Half a second in, a flood of 20,000 bad datagrams.
                    if n == 50 {
                        for i in 0..20_000 {
                            let _ = socket.send_to(&bad[i % 3], ("127.0.0.1", port));
                        }
                    }
                    n += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
            });
            let heard = session.run(&layout, 48_000.0, &job);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            heard
        });
        let (latency, heard) = heard;
        let offline = sphere_render(&expected, &input);
        // The pose glides in over a second, settles, and is designed for once more where it
        // settled a second later: compare the last second and a half.
        let settled = (seconds * 48_000) - 72_000;
        let null = null_db(&heard, latency as usize, &offline, settled);
        let untracked = sphere_render(&Settings::default(), &input);
        let moved = null_db(&untracked, 0, &offline, settled);
        println!(
            "{protocol}: the tracked output against the render at the same pose {null:.1} dB \
             (the untracked design differs by {moved:.1} dB)"
        );
        assert!(
            moved > -30.0,
            "the pose hardly changes the design: {moved:.1} dB"
        );
        assert!(
            null <= -60.0,
            "{protocol}: the tracked output is {null:.1} dB from the render at its pose"
        );
    }
}

/// Width and gain play at audio rate: automating them, block after block in real time, must
/// leave the designer asleep (it designs for the pose and the design parameters, not for
/// every setting), not redesigning and crossfading without end.
#[test]
fn automating_width_and_gain_leaves_the_designer_asleep() {
    let mut session = Session::new();
    let (width, gain) = (session.param("Width"), session.param("Output gain"));
    let layout = session.select(2);
    let seconds = 3;
    let len = seconds * 48_000;
    let mut events = Vec::new();
    for (i, at) in (0..len).step_by(512).enumerate() {
        let x = (i % 20) as f64 / 19.0;
        events.push((at, width.id, clap_value("Width", 100.0 * x)));
        events.push((at, gain.id, clap_value("Output gain", -6.0 * x)));
    }
    let job = Job {
        input: tone_on_a_floor(len),
        blocks: vec![512],
        events,
        realtime: true,
    };
    let designer = std::sync::Mutex::new(None::<f64>);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            // The designer's CPU time from one second in (after the first designs) to the end.
            std::thread::sleep(std::time::Duration::from_secs(1));
            let start = threads::thread_cpu_s("soundstage-desi");
            let begun = std::time::Instant::now();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(20));
                if let (Some(a), Some(b)) = (start, threads::thread_cpu_s("soundstage-desi")) {
                    *designer.lock().unwrap() = Some((b - a) / begun.elapsed().as_secs_f64());
                }
            }
        });
        session.run(&layout, 48_000.0, &job);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let share = designer
        .lock()
        .unwrap()
        .expect("the designer thread was seen");
    println!(
        "width and gain automated every block: the designer used {:.1} % of a core",
        100.0 * share
    );
    assert!(
        share < 0.05,
        "the designer used {:.0} % of a core",
        100.0 * share
    );
}

/// The latency mode through a real host: switching it during playback takes effect at once,
/// the engine that was playing fading out and the other fading in once its latency has
/// passed (no click), and the host is told (a restart request while active; its next
/// activation reports 256 samples through `latency.changed` and plays the low-latency engine
/// the CLI runs). Switching back restores 1584.
#[test]
fn switching_the_latency_mode_fades_at_once_and_reports_the_new_latency() {
    use soundstage::design::config::settings::Settings;
    use soundstage::dsp::contract::LatencyMode;
    use soundstage::offline::render::engine_for;
    let mut session = Session::new();
    let layout = session.select(2);
    let latency_id = session.param("Latency").id;
    let len = 3 * 48_000;
    let switch_at = len / 2;
    let input = tone_on_a_floor(len);
    let job = |events: Vec<(usize, ClapId, f64)>, realtime| Job {
        input: input.clone(),
        blocks: vec![480],
        events,
        realtime,
    };
    // The first activation's report (from the wrapper's initial 0) reaches the host on the
    // second: count from there.
    session.run(&layout, 48_000.0, &job(vec![], false));
    let (latency, normal) = session.run(&layout, 48_000.0, &job(vec![], false));
    assert_eq!(latency, 1584);
    session.take_restart_request();
    let told = session.latency_changes();

    // Paced like a live host, so that the host sees the change while the plugin is active.
    let switching = job(vec![(switch_at, latency_id, 1.0)], true);
    let (latency, switched) = session.run(&layout, 48_000.0, &switching);
    assert_eq!(latency, 1584, "activated in normal mode");
    assert!(
        session.take_restart_request(),
        "the new latency is reported while active: the host is asked to restart"
    );
    let error = |a: &[f32], b: &[f32]| {
        let e: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
        let p: f64 = b.iter().map(|&y| (y as f64).powi(2)).sum();
        10.0 * (e / p).max(1e-30).log10()
    };
    let before = 24_000..switch_at;
    let untouched = error(&switched[0][before.clone()], &normal[0][before]);
    assert!(untouched <= -90.0, "before the switch: {untouched:.1} dB");

    let (latency, low) = session.run(&layout, 48_000.0, &job(vec![], false));
    assert_eq!(latency, 256, "the restart activates the low-latency engine");
    assert_eq!(
        session.latency_changes(),
        told + 1,
        "latency.changed on the restart"
    );
    // What it plays is the low-latency engine the CLI runs, sample for sample.
    let settings = Settings {
        latency: LatencyMode::Low,
        ..Settings::default()
    };
    let (mut engine, _) = engine_for(
        &settings,
        2,
        48_000.0,
        &soundstage::design::model::plant::SphereHead::default(),
    );
    let mut expected = vec![vec![0.0f32; len]; 2];
    for at in (0..len).step_by(480) {
        let end = (at + 480).min(len);
        let [l, r] = &mut expected[..] else {
            unreachable!()
        };
        engine.process(
            [&input[0][at..end], &input[1][at..end]],
            &mut [&mut l[at..end], &mut r[at..end]],
        );
    }
    let off = error(&low[0], &expected[0]).max(error(&low[1], &expected[1]));
    println!("the plugin's low-latency output differs from the offline engine's by {off:.1} dB");
    assert!(off <= -90.0, "{off:.1} dB");

    let (step, excess) = click_figures(
        &switched,
        &[&normal, &low],
        switch_at - 4_800..switch_at + 9_600,
    );
    println!("latency switch: largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
    assert!(step <= 1.25, "the latency switch clicks: step {step:.2}x");
    // A switch fades through silence (the two engines play different moments of the input),
    // and a 10 ms fade of the tone has sidebands of its own: 10 dB over the -100 dB floor is
    // still 90 dB under the tone. A click is far above it.
    assert!(
        excess <= 10.0,
        "the latency switch clicks: {excess:.1} dB broadband"
    );

    // Both ways in one run, starting in low mode: to normal (whose longer latency gates the
    // fade-in for 54 ms) and back, each without a click.
    let there_and_back = vec![(len / 3, latency_id, 0.0), (2 * len / 3, latency_id, 1.0)];
    let (_, both) = session.run(&layout, 48_000.0, &job(there_and_back, true));
    for at in [len / 3, 2 * len / 3] {
        let (step, excess) = click_figures(&both, &[&normal, &low], at - 4_800..at + 9_600);
        println!("latency switch at {at}: largest step {step:.3}x the steady one, worst band {excess:+.1} dB over the floor");
        assert!(step <= 1.25, "switch at {at} clicks: step {step:.2}x");
        assert!(
            excess <= 10.0,
            "switch at {at} clicks: {excess:.1} dB broadband"
        );
    }

    session.run(&layout, 48_000.0, &job(vec![(0, latency_id, 0.0)], true));
    assert!(session.take_restart_request());
    let (latency, _) = session.run(&layout, 48_000.0, &job(vec![], false));
    assert_eq!(latency, 1584, "switching back restores the normal latency");
}

/// A session designed from a measured device (its responses in the state) reopens without
/// the SOFA file, on an instance with as many outputs as the device has drivers, and plays
/// that device's design; saving again keeps the device.
#[test]
fn a_session_with_a_measured_device_reopens_without_the_file() {
    use soundstage::design::config::settings::Settings;
    use soundstage::design::model::device::MeasuredDevice;
    use soundstage::design::model::head::HeadChoice;
    use soundstage::design::model::sofa::{read_any, SofaSet};
    use soundstage::design::model::stored_device::StoredDevice;
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("device.sofa");
    let pose = |offset| sofa::Pose {
        offset,
        distance: 0.5,
        yaw: 0.0,
    };
    let device = sofa::Device {
        head: sofa::Head::Synthetic,
        drivers: 3,
        spacing: 0.125,
        poses: vec![pose(0.0), pose(0.05)],
        file: sofa::DeviceFile::Mimo,
    };
    sofa::write_device(&file, "prototype", &device, sofa::DeviceFaults::default());
    let SofaSet::Device(set) = read_any(&file).unwrap() else {
        panic!("a device file");
    };
    let choice = HeadChoice {
        device_chosen: true,
        device: Some(Arc::new(StoredDevice::from_set(&set).unwrap())),
        ..HeadChoice::default()
    };
    let settings = Settings {
        spacing_m: 0.125,
        distance_m: 0.5,
        ..Settings::default()
    };
    let state = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "params": {"spacing": {"f32": 12.5}, "dist": {"f32": 0.5}, "mode": {"string": "speakers"}},
        "fields": {
            "head": serde_json::to_string(&choice).unwrap(),
            "device": serde_json::to_string(&choice.device_choice()).unwrap(),
            "state-version": "1",
        },
    })
    .to_string();
    std::fs::remove_file(&file).unwrap();
    let stored = choice.device.as_ref().unwrap().to_set().unwrap();
    let (null, kept, saved) = replayed(&state, &settings, 3, &MeasuredDevice::new(&stored));
    println!(
        "measured device in the state: {saved} bytes of state in all, plugin against the offline render {null:.1} dB"
    );
    assert!(
        null <= -100.0,
        "the plugin plays another design: {null:.1} dB"
    );
    assert_eq!(kept, choice, "saving again keeps the measured device");
}

/// Loads `state` into a fresh instance with `outputs` outputs, plays a tone through it, and
/// returns how far that is from the offline engine of `settings` on `plant` (dB of error
/// against signal), the head choice the instance saves again, and the saved state's size.
fn replayed(
    state: &str,
    settings: &soundstage::design::config::settings::Settings,
    outputs: u32,
    plant: &dyn soundstage::design::model::plant::Plant,
) -> (f64, soundstage::design::model::head::HeadChoice, usize) {
    let mut session = Session::new();
    load_state(&mut session, state);
    let layout = session.select(outputs);
    let input = tone_on_a_floor(48_000);
    let job = Job {
        input: input.clone(),
        blocks: vec![512, 77, 1024],
        events: vec![],
        realtime: false,
    };
    let (latency, heard) = session.run(&layout, 48_000.0, &job);
    let (mut engine, _) =
        soundstage::offline::render::engine_for(settings, outputs as usize, 48_000.0, plant);
    let offline =
        soundstage::offline::render::stream(&mut engine, &input[0], &input[1], &[512], |_| {});
    let latency = latency as usize;
    let (mut err, mut power) = (0.0f64, 0.0f64);
    for (heard, offline) in heard.iter().zip(&offline) {
        for (a, b) in heard[latency..].iter().zip(offline) {
            err += ((a - b) as f64).powi(2);
            power += (*b as f64).powi(2);
        }
    }
    let mut saved = Vec::new();
    session
        .exts
        .state
        .unwrap()
        .save(&session.instance.plugin_handle(), &mut saved)
        .expect("state save");
    let json: serde_json::Value = serde_json::from_slice(&saved[8..]).unwrap();
    let field = |key: &str| json["fields"][key].as_str().unwrap().to_string();
    let head: soundstage::design::model::head::HeadChoice =
        serde_json::from_str(&field("head")).unwrap();
    let kept = head.with_device(serde_json::from_str(&field("device")).unwrap());
    (10.0 * (err / power).log10(), kept, saved.len())
}
