//! Measured heads: SOFA files the tests write themselves (from the sphere model, and from a
//! head that is not a sphere), read back, interpolated, designed for and listened through;
//! and every kind of bad file, refused with its reason.

mod common;

use common::sofa::{self, Extras, Head, SOFA_RADIUS, SOFA_RATE, SOFA_TAPS};
use realfft::num_complex::Complex;
use soundstage::design::config::presets;
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics;
use soundstage::design::filters::chain::{design, Design, DesignInput};
use soundstage::design::model::geometry::Geometry;
use soundstage::design::model::head::{HeadChoice, StoredSet};
use soundstage::design::model::measured::{to_right, MeasuredHead};
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::design::model::sofa::{read, SofaError};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

fn written(
    dir: &tempfile::TempDir,
    name: &str,
    head: Head,
    step: f64,
) -> (PathBuf, Vec<sofa::Written>) {
    let set = sofa::measurements(head, step);
    let path = dir.path().join(format!("{name}.sofa"));
    sofa::write(&path, name, &set, &Extras::default());
    (path, set)
}

fn dtft(ir: &[f64], freq: f64) -> Complex<f64> {
    ir.iter()
        .enumerate()
        .map(|(n, v)| {
            Complex::from_polar(
                *v,
                -2.0 * std::f64::consts::PI * freq * n as f64 / SOFA_RATE,
            )
        })
        .sum()
}

#[test]
fn a_written_set_reads_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let (path, set) = written(&dir, "sphere", Head::Sphere, 5.0);
    let read = read(&path).expect("the set reads");
    assert_eq!(read.name, "sphere");
    assert_eq!(read.sample_rate, SOFA_RATE);
    assert!((read.radius_m - SOFA_RADIUS).abs() < 1e-9);
    let horizontal: Vec<&sofa::Written> = set.iter().filter(|w| w.elevation == 0.0).collect();
    assert_eq!(
        read.measurements.len(),
        horizontal.len(),
        "only the horizontal ring"
    );
    let mut worst: f64 = 0.0;
    for (r, w) in read.measurements.iter().zip(&horizontal) {
        assert_eq!(r.azimuth_deg, w.azimuth);
        for ear in 0..2 {
            assert_eq!(r.irs[ear].len(), SOFA_TAPS);
            for (a, b) in r.irs[ear].iter().zip(&w.irs[ear]) {
                worst = worst.max((*a as f64 - b).abs());
            }
        }
    }
    // At the measured directions the head's responses are the written ones.
    let head = MeasuredHead::new(&read);
    let mut worst_response: f64 = 0.0;
    // The head keeps the directions in front of the ear axis (and a margin): drivers are
    // never behind the listener.
    for w in horizontal
        .iter()
        .filter(|w| to_right(w.azimuth).abs() <= 90.0)
    {
        for ear in 0..2 {
            // At the frequencies a 48 kHz design asks for (the engine's FFT bins).
            for f in [11, 43, 128, 341, 700].map(|k| k as f64 * 48_000.0 / 2048.0) {
                let got = head
                    .measured(w.azimuth, ear, f)
                    .expect("a measured direction");
                let want = dtft(&w.irs[ear], f);
                worst_response = worst_response.max((got - want).norm() / want.norm());
            }
        }
    }
    println!("read back: largest sample error {worst:e}, largest relative response error {worst_response:e}");
    assert!(worst <= 1e-5, "samples differ by {worst:e}");
    assert!(
        worst_response <= 1e-5,
        "responses differ by {worst_response:e}"
    );
}

#[test]
fn between_the_directions_of_a_five_degree_grid_the_sphere_stays_within_a_decibel() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = written(&dir, "sphere", Head::Sphere, 5.0);
    let head = MeasuredHead::new(&read(&path).unwrap());
    let freqs: Vec<f64> = (0..200)
        .map(|i| 300.0 * (20f64).powf(i as f64 / 199.0))
        .collect();
    let mut worst: f64 = 0.0;
    for i in 0..36 {
        // Midway between measured directions, all round the front.
        let azimuth = (-87.5 + 5.0 * i as f64).rem_euclid(360.0);
        let a = azimuth.to_radians();
        let source = (-SOFA_RADIUS * a.sin(), -SOFA_RADIUS * a.cos());
        let model = SphereHead::default().source_to_ears(source, (0.0, 0.0), 0.0, &freqs);
        for (ear, model) in model.iter().enumerate() {
            for (&f, m) in freqs.iter().zip(model) {
                let got = head.measured(azimuth, ear, f).expect("covered");
                worst = worst.max((20.0 * (got.norm() / m.norm()).log10()).abs());
            }
        }
    }
    println!("interpolated sphere against the model midway between 5° directions, 300 Hz-6 kHz: within {worst:.2} dB");
    assert!(worst <= 1.0, "{worst:.2} dB");
}

fn design_on(settings: Settings, outputs: usize, plant: &dyn Plant) -> Design {
    design(
        &DesignInput {
            settings,
            outputs,
            sample_rate: 48_000.0,
        },
        plant,
    )
}

/// Mean separation (worse side, 300 Hz-6 kHz) of `design` for its listener moved by `offset`
/// and heard through `plant`.
fn heard(design: &Design, plant: &dyn Plant, offset: f64) -> f64 {
    let g: Geometry = design.input.settings.geometry(design.filters.outputs);
    metrics::worst_separation(design, plant, &g.with_offset(g.offset_m + offset), 1.0).mean_db
}

#[test]
fn designing_from_the_sphere_written_as_sofa_matches_the_built_in_sphere() {
    // A set measured at the listening distance (as one made for a device would be) designs
    // as the model does. One measured at 1.5 m and moved to other distances by the distance
    // correction is reported beside it: far-field responses moved along each ear's line of
    // sight cannot carry the sphere model's own near-field shadow exactly.
    let dir = tempfile::tempdir().unwrap();
    let sphere = SphereHead::default();
    let far = MeasuredHead::new(&read(&written(&dir, "sphere-1.5m", Head::Sphere, 5.0).0).unwrap());
    let mut failures = Vec::new();
    let speaker_presets = presets::with_mode(Mode::Speakers);
    assert_eq!(speaker_presets.len(), 5, "every speaker preset is checked");
    for preset in &speaker_presets {
        let id = preset.id.as_str();
        let settings = Settings {
            mode: Mode::Binaural,
            ..preset.apply(&Settings::default())
        };
        let set = sofa::measurements_at(Head::Sphere, 5.0, settings.distance_m);
        let path = dir.path().join(format!("{id}.sofa"));
        sofa::write(&path, id, &set, &Extras::default());
        let near = MeasuredHead::new(&read(&path).unwrap());
        let built_in = heard(&design_on(settings, preset.outputs, &sphere), &sphere, 0.0);
        let at_distance = heard(&design_on(settings, preset.outputs, &near), &sphere, 0.0);
        let moved = heard(&design_on(settings, preset.outputs, &far), &sphere, 0.0);
        println!(
            "{id}: designed on the built-in sphere {built_in:.2} dB; on the sphere written as SOFA at \
             {:.2} m {at_distance:.2} dB, at 1.5 m and moved {moved:.2} dB (all heard by the sphere)",
            settings.distance_m
        );
        if (built_in - at_distance).abs() > 0.5 {
            failures.push(format!("{id}: {built_in:.2} against {at_distance:.2} dB"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("; "));
}

#[test]
fn a_design_matched_to_a_head_that_is_not_a_sphere_separates_by_25_db() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = written(&dir, "synthetic", Head::Synthetic, 5.0);
    let started = Instant::now();
    let head = MeasuredHead::new(&read(&path).unwrap());
    let loaded_ms = started.elapsed().as_secs_f64() * 1e3;
    let sphere = SphereHead::default();
    for id in ["smart-speaker", "laptop", "desktop"] {
        let settings = Settings {
            mode: Mode::Binaural,
            cancellation_db: 30.0,
            ..presets::find(id).unwrap().apply(&Settings::default())
        };
        let started = Instant::now();
        let matched = design_on(settings, 2, &head);
        let design_ms = started.elapsed().as_secs_f64() * 1e3;
        let generic = design_on(settings, 2, &sphere);
        let figures =
            [0.0, 0.05, -0.05].map(|o| (heard(&matched, &head, o), heard(&generic, &head, o)));
        println!(
            "{id}, synthetic head at cancellation 30 dB (loaded in {loaded_ms:.0} ms, designed in {design_ms:.0} ms): \
             matched design {:.1} dB (+5 cm {:.1}, -5 cm {:.1}); sphere design on the same head {:.1} dB (+5 cm {:.1}, -5 cm {:.1})",
            figures[0].0, figures[1].0, figures[2].0, figures[0].1, figures[1].1, figures[2].1
        );
        assert!(
            figures[0].0 >= 25.0,
            "{id}: matched design {:.1} dB",
            figures[0].0
        );
        assert!(
            figures[0].0 > figures[0].1,
            "{id}: the matched design must beat the sphere's on this head"
        );
    }
}

#[test]
fn the_state_carries_a_measured_head_compactly() {
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = written(&dir, "synthetic", Head::Synthetic, 5.0);
    let set = read(&path).unwrap();
    let stored = StoredSet::from_set(&set);
    let choice = HeadChoice {
        measured: true,
        set: Some(Arc::new(stored.clone())),
        ..HeadChoice::default()
    };
    let json = serde_json::to_string(&choice).unwrap();
    let back: HeadChoice = serde_json::from_str(&json).unwrap();
    let restored = back.set.as_ref().unwrap().to_set().unwrap();
    let (a, b) = (MeasuredHead::new(&set), MeasuredHead::new(&restored));
    let g = presets::find("laptop")
        .unwrap()
        .apply(&Settings::default())
        .geometry(2);
    let freqs: Vec<f64> = (1..100).map(|i| i as f64 * 150.0).collect();
    let (ra, rb) = (a.ear_responses(&g, &freqs), b.ear_responses(&g, &freqs));
    let mut worst: f64 = 0.0;
    for k in 0..freqs.len() {
        for ear in 0..2 {
            for d in 0..2 {
                worst = worst
                    .max((ra.get(k, ear, d) - rb.get(k, ear, d)).norm() / ra.get(k, ear, d).norm());
            }
        }
    }
    println!(
        "a 5° set in the state: {} directions kept of {}, {} taps each, {} bytes of JSON; restored responses within {worst:e}",
        stored.azimuths_deg.len(),
        set.measurements.len(),
        stored.taps,
        json.len()
    );
    assert!(json.len() < 200_000, "{} bytes", json.len());
    // The state drops taps below −100 dB of the loudest at the responses' end.
    assert!(worst < 1e-4, "{worst:e}");
    assert!(back.plant().unwrap().name().contains("synthetic"));
}

#[test]
fn bad_files_are_refused_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let set = sofa::measurements(Head::Sphere, 15.0);
    let path = |name: &str| dir.path().join(name);
    let write = |name: &str, extras: Extras, set: &[sofa::Written]| {
        sofa::write(&path(name), name, set, &extras);
        path(name)
    };
    let not_hdf5 = path("text.sofa");
    std::fs::write(&not_hdf5, "RIFF....WAVEfmt this is not HDF5").unwrap();
    let not_sofa = path("plain.h5");
    let mut plain = hdf5_pure::FileBuilder::new();
    plain.create_dataset("x").with_f64_data(&[1.0, 2.0]);
    plain.write(&not_sofa).unwrap();
    let other = write(
        "other.sofa",
        Extras {
            convention: "GeneralTF",
            ..Extras::default()
        },
        &set,
    );
    let missing = write(
        "missing.sofa",
        Extras {
            with_ir: false,
            ..Extras::default()
        },
        &set,
    );
    let mut nan_set = sofa::measurements(Head::Sphere, 15.0);
    nan_set[3].irs[1][10] = f64::NAN;
    let nan = write("nan.sofa", Extras::default(), &nan_set);
    let absurd = write(
        "rate.sofa",
        Extras {
            sample_rate: 10.0,
            ..Extras::default()
        },
        &set,
    );
    let tilted: Vec<sofa::Written> = sofa::measurements(Head::Sphere, 15.0)
        .into_iter()
        .map(|mut w| {
            w.elevation = 40.0;
            w
        })
        .collect();
    let off_plane = write("tilted.sofa", Extras::default(), &tilted);
    // measured.rs divides by the radius and draws the ears' sight lines from it.
    let at_radius = |radius: f64| -> Vec<sofa::Written> {
        sofa::measurements(Head::Sphere, 15.0)
            .into_iter()
            .map(|mut w| {
                w.radius = radius;
                w
            })
            .collect()
    };
    let inside = write("inside.sofa", Extras::default(), &at_radius(0.05));
    let at_zero = write("zero.sofa", Extras::default(), &at_radius(0.0));
    let huge = path("huge.sofa");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(300 * 1024 * 1024)
        .unwrap();
    let good = write("good.sofa", Extras::default(), &set);
    let truncated = path("truncated.sofa");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (not_hdf5, "not an HDF5 file"),
        (not_sofa, "not SOFA"),
        (other, "GeneralTF"),
        (missing, "Data.IR is missing"),
        (nan, "NaN"),
        (absurd, "10 Hz"),
        (off_plane, "horizontal plane"),
        (inside, "radius is 0.05 m"),
        (at_zero, "radius is 0 m"),
        (huge, "refused"),
        (truncated, "damaged or cut short"),
        (path("absent.sofa"), "cannot read"),
    ];
    for (file, needle) in cases {
        let err: SofaError = read(&file).expect_err("a bad file");
        let text = err.to_string();
        println!("{}: {text}", file.file_name().unwrap().to_string_lossy());
        assert!(text.contains(needle), "{needle:?} not in {text:?}");
    }
    // A set that only measured behind the listener cannot serve drivers in front of them.
    let behind: Vec<sofa::Written> = sofa::measurements(Head::Sphere, 15.0)
        .into_iter()
        .filter(|w| (120.0..=240.0).contains(&w.azimuth))
        .collect();
    let rear = MeasuredHead::new(&read(&write("rear.sofa", Extras::default(), &behind)).unwrap());
    let g = presets::find("studio-monitors")
        .unwrap()
        .apply(&Settings::default())
        .geometry(2);
    let why = rear.check(&g).expect_err("no coverage").to_string();
    println!("rear.sofa on studio monitors: {why}");
    assert!(why.contains("driver 1") && why.contains("covers"), "{why}");
}

#[test]
fn a_set_reads_the_same_whatever_its_chunks() {
    // Row by row for one chunk per measurement; the whole dataset at once when every row
    // would decode one large chunk again.
    let dir = tempfile::tempdir().unwrap();
    let set = sofa::measurements(Head::Sphere, 15.0);
    let m = set.len() as u64;
    let taps = SOFA_TAPS as u64;
    let read_with = |name: &str, chunks: Option<[u64; 3]>| {
        let path = dir.path().join(name);
        let extras = Extras {
            ir_chunks: chunks,
            ..Extras::default()
        };
        sofa::write(&path, "chunked", &set, &extras);
        read(&path).expect("a valid set")
    };
    let by_rows = read_with("rows.sofa", Some([1, 2, taps]));
    let whole = read_with("whole.sofa", Some([m, 2, taps]));
    let by_ear = read_with("ears.sofa", Some([1, 1, taps]));
    let odd = read_with("odd.sofa", Some([5, 1, 100]));
    assert_eq!(by_rows, whole);
    assert_eq!(by_rows, by_ear);
    assert_eq!(by_rows, odd);
}
