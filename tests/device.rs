//! Measured devices: SOFA files of a device's drivers at a head's ears, in both conventions
//! (SingleRoomMIMOSRIR and MultiSpeakerBRIR), written by the tests from the sphere model and
//! from a head that is not a sphere; read back with their geometry, designed from, listened
//! through, used by the commands, and refused when they are bad.

mod common;

use common::cli::{assert_error, assert_success, dir, soundstage};
use common::sofa::{self, Device, DeviceFaults, DeviceFile, Head, Pose};
use soundstage::design::config::settings::{Mode, Settings};
use soundstage::design::evaluate::metrics;
use soundstage::design::filters::chain::{design, Design, DesignInput};
use soundstage::design::model::device::MeasuredDevice;
use soundstage::design::model::geometry::Geometry;
use soundstage::design::model::plant::{Plant, SphereHead};
use soundstage::design::model::sofa::{read_any, SofaSet};
use soundstage::design::model::sofa_device::DeviceSet;
use std::path::{Path, PathBuf};

/// The poses the files measure: straight on, 5 cm to the right, and 5 cm to the left turned
/// 10° to the listener's left.
fn poses(distance: f64) -> Vec<Pose> {
    vec![
        Pose {
            offset: 0.05,
            distance,
            yaw: 0.0,
        },
        Pose {
            offset: 0.0,
            distance,
            yaw: 0.0,
        },
        Pose {
            offset: -0.05,
            distance,
            yaw: 10.0,
        },
    ]
}

fn device(head: Head, drivers: usize, spacing: f64, file: DeviceFile) -> Device {
    Device {
        head,
        drivers,
        spacing,
        poses: poses(0.6),
        file,
    }
}

fn written(dir: &Path, name: &str, device: &Device, faults: DeviceFaults) -> PathBuf {
    let path = dir.join(format!("{name}.sofa"));
    sofa::write_device(&path, name, device, faults);
    path
}

fn device_set(path: &Path) -> DeviceSet {
    match read_any(path).unwrap() {
        SofaSet::Device(set) => set,
        SofaSet::Head(_) => panic!("{} read as a head", path.display()),
    }
}

/// The canceller designed for `plant` at `geometry`.
fn canceller(geometry: &Geometry, plant: &dyn Plant) -> Design {
    let settings = Settings {
        mode: Mode::Binaural,
        cancellation_db: 30.0,
        spacing_m: geometry.spacing_m,
        distance_m: geometry.distance_m,
        offset_m: geometry.offset_m,
        yaw_deg: geometry.yaw_deg,
        ..Settings::default()
    };
    design(
        &DesignInput {
            settings,
            outputs: geometry.drivers,
            sample_rate: 48_000.0,
        },
        plant,
    )
}

/// Mean separation (worse ear, 300 Hz-6 kHz) of `design` heard through `plant` by a
/// listener moved `offset` metres from the design's.
fn heard(design: &Design, plant: &dyn Plant, offset: f64) -> f64 {
    let g = design.input.settings.geometry(design.filters.outputs);
    metrics::worst_separation(design, plant, &g.with_offset(g.offset_m + offset), 1.0).mean_db
}

#[test]
fn both_conventions_read_back_the_written_geometry() {
    let dir = dir();
    for file in [DeviceFile::Mimo, DeviceFile::MultiSpeaker] {
        let written_device = device(Head::Sphere, 3, 0.15, file);
        let set = device_set(&written(
            dir.path(),
            "geometry",
            &written_device,
            DeviceFaults::default(),
        ));
        let mut worst: f64 = 0.0;
        for (got, want) in set.listeners.iter().zip(&written_device.poses) {
            worst = worst
                .max((got.offset_m - want.offset).abs())
                .max((got.distance_m - want.distance).abs())
                .max((got.yaw_deg - want.yaw).abs() / 100.0);
        }
        for (got, want) in set.driver_x_m.iter().zip(written_device.driver_x()) {
            worst = worst.max((got - want).abs());
        }
        println!(
            "{}: {} drivers {:.4} m apart, emitters from the left {:?}, nominal listener {}, {} taps; \
             largest error in the read-back geometry {worst:.1e} m",
            set.convention,
            set.drivers(),
            set.spacing_m,
            set.emitters,
            set.nominal + 1,
            set.taps
        );
        assert_eq!(set.listeners.len(), 3);
        assert_eq!(
            set.emitters,
            vec![2, 1, 0],
            "the file lists the drivers right to left"
        );
        assert_eq!(
            set.nominal, 1,
            "the listener straight on is the nominal one"
        );
        assert!((set.spacing_m - 0.15).abs() < 1e-9, "{}", set.spacing_m);
        assert!(worst < 1e-9, "{worst:e}");
        // The right ear's responses are the right ear's, whatever order the file lists them.
        let nominal = &set.listeners[1];
        let energy = |ir: &[f32]| ir.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>();
        assert!(energy(&nominal.irs[1][2]) > energy(&nominal.irs[0][2]));
        assert!(energy(&nominal.irs[0][0]) > energy(&nominal.irs[1][0]));
    }
}

#[test]
fn the_line_is_read_the_same_whichever_way_the_first_listener_looks() {
    // A head-rotation sweep may start facing away from the device.
    let dir = dir();
    let turned = Device {
        poses: vec![
            Pose {
                offset: 0.0,
                distance: 0.6,
                yaw: 180.0,
            },
            Pose {
                offset: 0.03,
                distance: 0.6,
                yaw: 0.0,
            },
        ],
        ..device(Head::Sphere, 3, 0.12, DeviceFile::Mimo)
    };
    let set = device_set(&written(
        dir.path(),
        "turned",
        &turned,
        DeviceFaults::default(),
    ));
    let yaw = set.listeners[0].yaw_deg;
    println!(
        "first listener facing away: emitters from the left {:?}, yaws {yaw:.1}° and {:.1}°, second offset {:.3} m",
        set.emitters, set.listeners[1].yaw_deg, set.listeners[1].offset_m
    );
    assert_eq!(set.emitters, vec![2, 1, 0]);
    assert!((yaw.abs() - 180.0).abs() < 1e-9, "{yaw}");
    assert!((set.listeners[1].offset_m - 0.03).abs() < 1e-9);
    assert_eq!(
        set.nominal, 1,
        "the listener facing the line is the nominal one"
    );
}

#[test]
fn designing_from_the_sphere_written_as_a_device_matches_the_sphere() {
    let dir = dir();
    let sphere = SphereHead::default();
    let mut failures = Vec::new();
    for (file, drivers, spacing) in [
        (DeviceFile::Mimo, 2, 0.20),
        (DeviceFile::MultiSpeaker, 3, 0.12),
        (DeviceFile::Mimo, 4, 0.08),
    ] {
        let path = written(
            dir.path(),
            "sphere",
            &device(Head::Sphere, drivers, spacing, file),
            DeviceFaults::default(),
        );
        let device = MeasuredDevice::new(&device_set(&path));
        let g = device.geometry();
        device.check(&g).unwrap();
        let (gain_db, delay_s) = device.normalisation();
        let on_sphere = heard(&canceller(&g, &sphere), &sphere, 0.0);
        let from_file = heard(&canceller(&g, &device), &sphere, 0.0);
        println!(
            "{file:?}, {drivers} drivers {:.0} cm apart: designed on the sphere {on_sphere:.2} dB, \
             from the file {from_file:.2} dB (both heard by the sphere); made absolute by \
             {gain_db:+.2} dB and {:.3} ms",
            spacing * 100.0,
            delay_s * 1e3,
        );
        if (on_sphere - from_file).abs() > 0.5 {
            failures.push(format!(
                "{file:?} {drivers}: {on_sphere:.2} against {from_file:.2} dB"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("; "));
}

#[test]
fn between_measured_positions_the_nearest_one_moved_by_its_paths_predicts_the_ears() {
    // One measured position only: what the design's ±5 cm and ±10 cm figures hear there is
    // the straight-on measurement, each path moved by its change in length.
    let dir = dir();
    let sphere = SphereHead::default();
    for (drivers, spacing) in [(2, 0.20), (3, 0.12)] {
        let single = Device {
            poses: vec![poses(0.6)[1]],
            ..device(Head::Sphere, drivers, spacing, DeviceFile::Mimo)
        };
        let path = written(dir.path(), "single", &single, DeviceFaults::default());
        let device = MeasuredDevice::new(&device_set(&path));
        let made = canceller(&device.geometry(), &device);
        let mut worst: f64 = 0.0;
        let mut line = Vec::new();
        for offset in [-0.10, -0.05, 0.05, 0.10] {
            let (predicted, truth) = (heard(&made, &device, offset), heard(&made, &sphere, offset));
            worst = worst.max((predicted - truth).abs());
            line.push(format!(
                "{:+.0} cm {predicted:.1} (sphere {truth:.1})",
                offset * 100.0
            ));
        }
        println!(
            "{drivers} drivers, one measured position: separation predicted through the file {}; \
             largest difference {worst:.2} dB",
            line.join(", ")
        );
        assert!(worst <= 2.0, "{drivers}: {worst:.2} dB");
    }
}

#[test]
fn a_design_matched_to_a_device_on_a_head_that_is_not_a_sphere_separates_by_25_db() {
    let dir = dir();
    for (drivers, spacing) in [(2, 0.20), (3, 0.12)] {
        let path = written(
            dir.path(),
            "synthetic",
            &device(Head::Synthetic, drivers, spacing, DeviceFile::Mimo),
            DeviceFaults::default(),
        );
        let device = MeasuredDevice::new(&device_set(&path));
        let g = device.geometry();
        let matched = heard(&canceller(&g, &device), &device, 0.0);
        let generic = heard(&canceller(&g, &SphereHead::default()), &device, 0.0);
        println!(
            "{drivers} drivers {:.0} cm apart on the synthetic head: designed from the file {matched:.1} dB, \
             designed for the sphere {generic:.1} dB (both heard through the file)",
            spacing * 100.0
        );
        assert!(matched >= 25.0, "{drivers}: matched {matched:.1} dB");
        assert!(
            matched > generic + 3.0,
            "{drivers}: {matched:.1} against {generic:.1} dB"
        );
    }
}

#[test]
fn the_commands_take_a_device_file_and_its_geometry() {
    let dir = dir();
    let path = written(
        dir.path(),
        "device",
        &device(Head::Sphere, 3, 0.12, DeviceFile::MultiSpeaker),
        DeviceFaults::default(),
    );
    let file = path.to_str().unwrap();
    let out = soundstage(&["sofa", file]);
    assert_success(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert!(text.contains("MultiSpeakerBRIR") && text.contains("3 drivers 12.0 cm apart"));
    assert!(text.contains("offset +0.0 cm, distance 0.60 m, yaw +0.0° (designed for by default)"));
    let out = soundstage(&["sofa", file, "--json"]);
    assert_success(&out);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["kind"], "device");
    assert_eq!(json["drivers"], 3);
    assert_eq!(json["emitters_from_left"], serde_json::json!([3, 2, 1]));
    assert_eq!(json["listeners"].as_array().unwrap().len(), 3);

    // The export takes the device's three drivers without --outputs.
    let export = dir.path().join("export");
    let out = soundstage(&["export", export.to_str().unwrap(), "--sofa", file]);
    assert_success(&out);
    let filters: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(export.join("filters.json")).unwrap())
            .unwrap();
    assert_eq!(filters["outputs"].as_array().unwrap().len(), 3);
    assert!(filters["plant"]["name"]
        .as_str()
        .unwrap()
        .contains("measured device"));

    // The report listens through the device.
    let report = dir.path().join("report");
    let out = soundstage(&["report", report.to_str().unwrap(), "--sofa", file]);
    assert_success(&out);
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report.join("metrics.json")).unwrap())
            .unwrap();
    let matched = metrics["measured_head"]["matched"]["nominal_db"]
        .as_f64()
        .unwrap();
    println!("report through the device: matched canceller {matched:.1} dB");
    assert!(matched > 15.0, "{matched}");
    assert!(report.join("plant.png").is_file());
    // The plant figures read the file's drivers as the sphere's own at that geometry.
    let sphere_report = dir.path().join("sphere-report");
    let out = soundstage(&[
        "report",
        sphere_report.to_str().unwrap(),
        "--outputs",
        "3",
        "--set",
        "spacing=12cm",
        "--set",
        "dist=0.6m",
    ]);
    assert_success(&out);
    let sphere_metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sphere_report.join("metrics.json")).unwrap())
            .unwrap();
    let figures = |m: &serde_json::Value| -> Vec<(f64, f64)> {
        m["plant_responses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                let level = &d["level_1khz_db"];
                (
                    d["itd_ms"].as_f64().unwrap(),
                    level[0].as_f64().unwrap() - level[1].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (from_file, of_sphere) = (figures(&metrics), figures(&sphere_metrics));
    println!("plant ITD (ms) and ILD at 1 kHz (dB) per driver: from the file {from_file:?}, the sphere {of_sphere:?}");
    assert_eq!(from_file.len(), 3);
    assert!(
        from_file[0].0 > 0.05 && from_file[2].0 < -0.05,
        "{from_file:?}"
    );
    for (a, b) in from_file.iter().zip(&of_sphere) {
        assert!((a.0 - b.0).abs() < 0.005, "ITD {a:?} against {b:?}");
        assert!((a.1 - b.1).abs() < 0.2, "ILD {a:?} against {b:?}");
    }

    // What contradicts the file is refused with the numbers.
    assert_error(
        &soundstage(&[
            "report",
            report.to_str().unwrap(),
            "--sofa",
            file,
            "--outputs",
            "2",
        ]),
        "the device measurement holds 3 drivers, but the layout has 2 outputs",
    );
    assert_error(
        &soundstage(&[
            "report",
            report.to_str().unwrap(),
            "--sofa",
            file,
            "--set",
            "spacing=20cm",
        ]),
        "the device's drivers are 12.0 cm apart, but the layout spaces them 20.0 cm",
    );
    assert_error(
        &soundstage(&[
            "report",
            report.to_str().unwrap(),
            "--sofa",
            file,
            "--set",
            "offset=30cm",
        ]),
        "from the nearest measured position (measurement 1); Soundstage designs within 10 cm",
    );
}

#[test]
fn bad_device_files_are_refused_with_their_reason() {
    let dir = dir();
    let good = device(Head::Sphere, 3, 0.12, DeviceFile::Mimo);
    let cases = [
        (
            "short",
            DeviceFaults {
                emitter_rows_short: true,
                ..DeviceFaults::default()
            },
            "EmitterPosition has shape [2, 3, 1], expected (3, 3) or (3, 3, 3): one position per driver",
        ),
        (
            "unplaced",
            DeviceFaults {
                no_listener_position: true,
                ..DeviceFaults::default()
            },
            "the variable ListenerPosition is missing",
        ),
        (
            "degrees",
            DeviceFaults {
                listener_units_degrees: true,
                ..DeviceFaults::default()
            },
            "ListenerPosition uses \"degree\", expected metre",
        ),
        (
            "nan",
            DeviceFaults {
                nan_response: true,
                ..DeviceFaults::default()
            },
            "Data.IR holds NaN or infinite values",
        ),
        (
            "uneven",
            DeviceFaults {
                uneven_driver: true,
                ..DeviceFaults::default()
            },
            "driver 2 from the left (emitter 2) is 2.0 cm from where a 12.0 cm spacing puts it",
        ),
    ];
    for (name, faults, reason) in cases {
        let path = written(dir.path(), name, &good, faults);
        let out = soundstage(&["sofa", path.to_str().unwrap()]);
        assert_error(&out, reason);
        let out = soundstage(&[
            "export",
            dir.path().join("x").to_str().unwrap(),
            "--sofa",
            path.to_str().unwrap(),
        ]);
        assert_error(&out, reason);
    }
    let behind = Device {
        poses: vec![Pose {
            offset: 0.0,
            distance: 0.02,
            yaw: 0.0,
        }],
        ..device(Head::Sphere, 2, 0.2, DeviceFile::MultiSpeaker)
    };
    let path = written(dir.path(), "behind", &behind, DeviceFaults::default());
    assert_error(
        &soundstage(&["sofa", path.to_str().unwrap()]),
        "measurement 1's listener is 2.0 cm in front of the drivers' line",
    );
}
