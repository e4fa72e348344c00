//! SOFA files the tests write themselves (SimpleFreeFieldHRIR through hdf5-pure, with every
//! attribute sofar requires): heads made from the sphere model, and a head that is not a
//! sphere (asymmetric ears, a pinna-like notch, a torso reflection).

use hdf5_pure::{AttrValue, FileBuilder};
use realfft::num_complex::Complex;
use realfft::RealFftPlanner;
use soundstage::design::model::plant::SphereHead;
use std::f64::consts::PI;
use std::path::Path;

/// Sample rate of the written sets, Hz.
pub const SOFA_RATE: f64 = 48_000.0;
/// Taps per written response.
pub const SOFA_TAPS: usize = 512;
/// Measurement radius, metres.
pub const SOFA_RADIUS: f64 = 1.5;

/// One written measurement: SOFA azimuth (degrees counter-clockwise), elevation, distance,
/// and the left and right impulse responses.
pub struct Written {
    pub azimuth: f64,
    pub elevation: f64,
    pub radius: f64,
    pub irs: [Vec<f64>; 2],
}

/// Which head the responses come from.
#[derive(Clone, Copy, Debug)]
pub enum Head {
    /// The built-in sphere.
    Sphere,
    /// Asymmetric, with a pinna notch and a torso reflection.
    Synthetic,
}

/// Frequency response of `head` from SOFA azimuth `azimuth` at `radius` to `ear`.
fn response(head: Head, azimuth: f64, radius: f64, ear: usize, freqs: &[f64]) -> Vec<Complex<f64>> {
    let a = azimuth.to_radians();
    // The listener at the origin faces −y (the crate's convention); SOFA's +azimuth is left.
    let source = (-radius * a.sin(), -radius * a.cos());
    heard(head, source, ((0.0, 0.0), 0.0), a, ear, freqs)
}

/// Frequency response of `head`, its centre at `centre` turned by `yaw` degrees (the crate's
/// frame), to `ear` from a point source at `source`, which the head sees at SOFA azimuth
/// `azimuth_rad` (counter-clockwise from the nose).
fn heard(
    head: Head,
    source: (f64, f64),
    (centre, yaw): ((f64, f64), f64),
    azimuth_rad: f64,
    ear: usize,
    freqs: &[f64],
) -> Vec<Complex<f64>> {
    let a = azimuth_rad;
    match head {
        Head::Sphere => {
            SphereHead::default().source_to_ears(source, centre, yaw, freqs)[ear].clone()
        }
        Head::Synthetic => {
            // The right ear sits on a slightly larger head: no mirror symmetry.
            let radius = if ear == 0 { 0.0875 } else { 0.0920 };
            let base = SphereHead { radius_m: radius }.source_to_ears(source, centre, yaw, freqs)
                [ear]
                .clone();
            // Angle of the source from this ear's side, 0 in front of the ear.
            let side = if ear == 0 { a } else { -a };
            let notch_hz = 7_500.0 + 1_500.0 * side.cos() + if ear == 0 { 0.0 } else { 600.0 };
            let torso_s = 0.00055 * (1.0 + 0.25 * side.sin());
            freqs
                .iter()
                .zip(base)
                .map(|(&f, h)| {
                    // A second-order notch, 15 dB deep, Q 3.
                    let (w, w0) = (2.0 * PI * f, 2.0 * PI * notch_hz);
                    let s = Complex::new(0.0, w);
                    let q = 3.0;
                    let depth = 10f64.powf(-15.0 / 20.0);
                    let notch =
                        (s * s + s * (w0 * depth / q) + w0 * w0) / (s * s + s * (w0 / q) + w0 * w0);
                    let torso = Complex::new(1.0, 0.0) + Complex::from_polar(0.3, -w * torso_s);
                    h * notch * torso
                })
                .collect()
        }
    }
}

/// Length of the FFT the written responses are made with.
const WRITE_FFT_LEN: usize = 8 * SOFA_TAPS;

/// The bins of [`WRITE_FFT_LEN`] at [`SOFA_RATE`], DC to Nyquist.
fn analysis_freqs() -> Vec<f64> {
    (0..=WRITE_FFT_LEN / 2)
        .map(|k| k as f64 * SOFA_RATE / WRITE_FFT_LEN as f64)
        .collect()
}

/// The first [`SOFA_TAPS`] of the impulse response of `response` (on [`analysis_freqs`]),
/// band-limited as the simulated listener is.
fn impulse(response: Vec<Complex<f64>>) -> Vec<f64> {
    let freqs = analysis_freqs();
    let mut spectrum: Vec<Complex<f64>> = response
        .into_iter()
        .zip(&freqs)
        .map(|(h, &f)| h * soundstage::design::evaluate::simulate::listening_band(f, SOFA_RATE))
        .collect();
    spectrum[0].im = 0.0;
    let last = spectrum.len() - 1;
    spectrum[last].im = 0.0;
    let mut time = vec![0.0; WRITE_FFT_LEN];
    RealFftPlanner::<f64>::new()
        .plan_fft_inverse(WRITE_FFT_LEN)
        .process(&mut spectrum, &mut time)
        .unwrap();
    time[..SOFA_TAPS]
        .iter()
        .map(|v| v / WRITE_FFT_LEN as f64)
        .collect()
}

/// Impulse responses of `head` on a horizontal ring every `step` degrees at
/// [`SOFA_RADIUS`], plus a few measurements off the plane (which the reader must leave out).
pub fn measurements(head: Head, step: f64) -> Vec<Written> {
    measurements_at(head, step, SOFA_RADIUS)
}

/// [`measurements`] with the loudspeaker `radius` metres from the head centre.
pub fn measurements_at(head: Head, step: f64, radius: f64) -> Vec<Written> {
    let freqs = analysis_freqs();
    let ir = |azimuth: f64, ear: usize| impulse(response(head, azimuth, radius, ear, &freqs));
    let mut out: Vec<Written> = (0..(360.0 / step).round() as usize)
        .map(|i| {
            let azimuth = i as f64 * step;
            Written {
                azimuth,
                elevation: 0.0,
                radius,
                irs: [ir(azimuth, 0), ir(azimuth, 1)],
            }
        })
        .collect();
    for elevation in [-30.0, 30.0] {
        out.push(Written {
            azimuth: 0.0,
            elevation,
            radius,
            irs: [vec![0.5; SOFA_TAPS], vec![0.5; SOFA_TAPS]],
        });
    }
    out
}

/// What to write besides the measurements.
pub struct Extras<'a> {
    /// The SOFAConventions attribute.
    pub convention: &'a str,
    /// Data.SamplingRate.
    pub sample_rate: f64,
    /// Whether Data.IR is written at all.
    pub with_ir: bool,
    /// Data.IR's chunk shape (the library's choice when `None`).
    pub ir_chunks: Option<[u64; 3]>,
}

impl Default for Extras<'_> {
    fn default() -> Self {
        Self {
            convention: "SimpleFreeFieldHRIR",
            sample_rate: SOFA_RATE,
            with_ir: true,
            ir_chunks: None,
        }
    }
}

/// Writes `set` as a SOFA file.
pub fn write(path: &Path, title: &str, set: &[Written], extras: &Extras) {
    let s = |v: &str| AttrValue::AsciiString(v.to_owned());
    let mut b = FileBuilder::new();
    for (k, v) in [
        ("Conventions", "SOFA"),
        ("Version", "2.1"),
        ("SOFAConventions", extras.convention),
        ("SOFAConventionsVersion", "1.0"),
        ("APIName", "soundstage tests"),
        ("APIVersion", "1"),
        ("DataType", "FIR"),
        ("RoomType", "free field"),
        ("Title", title),
        ("DatabaseName", "soundstage"),
        ("ListenerShortName", "test head"),
        ("AuthorContact", ""),
        ("Organization", ""),
        ("License", "CC0"),
        ("DateCreated", "2026-12-01 00:00:00"),
        ("DateModified", "2026-12-01 00:00:00"),
    ] {
        b.set_attr(k, s(v));
    }
    let m = set.len() as u64;
    let n = set[0].irs[0].len() as u64;
    let positions: Vec<f64> = set
        .iter()
        .flat_map(|w| [w.azimuth, w.elevation, w.radius])
        .collect();
    let irs: Vec<f64> = set
        .iter()
        .flat_map(|w| w.irs.iter().flatten().copied())
        .collect();
    b.create_dataset("ListenerPosition")
        .with_f64_data(&[0.0; 3])
        .with_shape(&[1, 3])
        .set_attr("Type", s("cartesian"))
        .set_attr("Units", s("metre"));
    b.create_dataset("ListenerUp")
        .with_f64_data(&[0.0, 0.0, 1.0])
        .with_shape(&[1, 3]);
    b.create_dataset("ListenerView")
        .with_f64_data(&[1.0, 0.0, 0.0])
        .with_shape(&[1, 3])
        .set_attr("Type", s("cartesian"))
        .set_attr("Units", s("metre"));
    b.create_dataset("ReceiverPosition")
        .with_f64_data(&[0.0, 0.09, 0.0, 0.0, -0.09, 0.0])
        .with_shape(&[2, 3, 1])
        .set_attr("Type", s("cartesian"))
        .set_attr("Units", s("metre"));
    b.create_dataset("SourcePosition")
        .with_f64_data(&positions)
        .with_shape(&[m, 3])
        .set_attr("Type", s("spherical"))
        .set_attr("Units", s("degree, degree, metre"));
    b.create_dataset("EmitterPosition")
        .with_f64_data(&[0.0; 3])
        .with_shape(&[1, 3, 1])
        .set_attr("Type", s("cartesian"))
        .set_attr("Units", s("metre"));
    if extras.with_ir {
        let ir = b.create_dataset("Data.IR");
        ir.with_f64_data(&irs).with_shape(&[m, 2, n]);
        if let Some(chunks) = extras.ir_chunks {
            ir.with_chunks(&chunks);
        }
        ir.with_deflate(4);
    }
    b.create_dataset("Data.SamplingRate")
        .with_f64_data(&[extras.sample_rate])
        .set_attr("Units", s("hertz"));
    b.create_dataset("Data.Delay")
        .with_f64_data(&[0.0, 0.0])
        .with_shape(&[1, 2]);
    b.write(path).expect("the SOFA file is written");
}

/// Writes `head.sofa` in `dir`: the synthetic head every 5°, with the default extras.
pub fn write_synthetic_head(dir: &Path) -> std::path::PathBuf {
    let file = dir.join("head.sofa");
    write(
        &file,
        "synthetic head",
        &measurements(Head::Synthetic, 5.0),
        &Extras::default(),
    );
    file
}

/// One listener pose of a device measurement, in the crate's frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pose {
    /// Head centre along the drivers' line, metres, positive to the listener's right.
    pub offset: f64,
    /// Head centre in front of the line, metres.
    pub distance: f64,
    /// Head turn, degrees, positive to the listener's left.
    pub yaw: f64,
}

/// How a device file is written: its convention and the variations of the frame each
/// exercises.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DeviceFile {
    /// SingleRoomMIMOSRIR: M × R × N × E; the source turned by SourceView, the receivers
    /// listed right ear first, and 40 samples of Data.Delay.
    Mimo,
    /// MultiSpeakerBRIR: M × R × E × N; emitters in the room's frame, listeners in spherical
    /// coordinates, and 64 samples of measuring-system latency in the responses themselves.
    MultiSpeaker,
}

/// A device measurement of `head`: `drivers` drivers `spacing` metres apart, measured at
/// `poses`. The file's frame is a room's: the drivers along +y at x = 0, the listeners at
/// +x facing them, so the listener's right is +y; the emitters are listed right to left.
pub struct Device {
    pub head: Head,
    pub drivers: usize,
    pub spacing: f64,
    pub poses: Vec<Pose>,
    pub file: DeviceFile,
}

impl Device {
    /// Driver x positions in the crate's frame, leftmost first.
    pub fn driver_x(&self) -> Vec<f64> {
        let centre = (self.drivers as f64 - 1.0) / 2.0;
        (0..self.drivers)
            .map(|k| (k as f64 - centre) * self.spacing)
            .collect()
    }

    /// Responses `[pose][ear][emitter][tap]`, emitters in the file's order (right to left).
    pub fn responses(&self) -> Vec<[Vec<Vec<f64>>; 2]> {
        let freqs = analysis_freqs();
        let xs = self.driver_x();
        let latency = match self.file {
            DeviceFile::Mimo => 0,
            DeviceFile::MultiSpeaker => 64,
        };
        self.poses
            .iter()
            .map(|p| {
                std::array::from_fn(|ear| {
                    xs.iter()
                        .rev()
                        .map(|&x| {
                            let right = (x - p.offset).atan2(p.distance) + p.yaw.to_radians();
                            let h = heard(
                                self.head,
                                (x, 0.0),
                                ((p.offset, p.distance), p.yaw),
                                -right,
                                ear,
                                &freqs,
                            );
                            let mut ir = vec![0.0; latency];
                            ir.extend(impulse(h));
                            ir.truncate(SOFA_TAPS);
                            ir
                        })
                        .collect()
                })
            })
            .collect()
    }
}

/// What a device file gets wrong on purpose, for the refusal tests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DeviceFaults {
    /// EmitterPosition lists one driver fewer than Data.IR holds.
    pub emitter_rows_short: bool,
    /// No ListenerPosition at all.
    pub no_listener_position: bool,
    /// ListenerPosition claims degrees for cartesian coordinates.
    pub listener_units_degrees: bool,
    /// A NaN in the responses.
    pub nan_response: bool,
    /// The middle driver 2 cm off its place.
    pub uneven_driver: bool,
}

/// Writes `device` as a SOFA file.
/// Writes a cartesian variable in metres.
fn in_metres(b: &mut FileBuilder, name: &str, values: &[f64], shape: &[u64]) {
    b.create_dataset(name)
        .with_f64_data(values)
        .with_shape(shape)
        .set_attr("Type", AttrValue::AsciiString("cartesian".into()))
        .set_attr("Units", AttrValue::AsciiString("metre".into()));
}

pub fn write_device(path: &Path, title: &str, device: &Device, faults: DeviceFaults) {
    let s = |v: &str| AttrValue::AsciiString(v.to_owned());
    let mut b = FileBuilder::new();
    let (convention, version, data_type, room) = match device.file {
        DeviceFile::Mimo => ("SingleRoomMIMOSRIR", "1.0", "FIR-E", "shoebox"),
        DeviceFile::MultiSpeaker => ("MultiSpeakerBRIR", "0.3", "FIRE", "reverberant"),
    };
    for (k, v) in [
        ("Conventions", "SOFA"),
        ("Version", "2.1"),
        ("SOFAConventions", convention),
        ("SOFAConventionsVersion", version),
        ("APIName", "soundstage tests"),
        ("APIVersion", "1"),
        ("DataType", data_type),
        ("RoomType", room),
        ("Title", title),
        ("DatabaseName", "soundstage"),
        ("ListenerShortName", "test head"),
        ("AuthorContact", ""),
        ("Organization", ""),
        ("License", "CC0"),
        ("DateCreated", "2026-12-07 00:00:00"),
        ("DateModified", "2026-12-07 00:00:00"),
    ] {
        b.set_attr(k, s(v));
    }
    let m = device.poses.len();
    let e = device.drivers;
    let n = SOFA_TAPS;
    let responses = device.responses();
    // Receivers: MIMO lists the right ear first.
    let receivers: [usize; 2] = match device.file {
        DeviceFile::Mimo => [1, 0],
        DeviceFile::MultiSpeaker => [0, 1],
    };
    let mut irs = Vec::with_capacity(m * 2 * e * n);
    for pose in &responses {
        for &ear in &receivers {
            match device.file {
                DeviceFile::Mimo => {
                    for t in 0..n {
                        irs.extend(pose[ear].iter().map(|driver| driver[t]));
                    }
                }
                DeviceFile::MultiSpeaker => {
                    for driver in &pose[ear] {
                        irs.extend_from_slice(driver);
                    }
                }
            }
        }
    }
    if faults.nan_response {
        irs[m * 2 * e * n / 2] = f64::NAN;
    }
    let shape = match device.file {
        DeviceFile::Mimo => [m as u64, 2, n as u64, e as u64],
        DeviceFile::MultiSpeaker => [m as u64, 2, e as u64, n as u64],
    };
    b.create_dataset("Data.IR")
        .with_f64_data(&irs)
        .with_shape(&shape)
        .with_deflate(4);
    b.create_dataset("Data.SamplingRate")
        .with_f64_data(&[SOFA_RATE])
        .set_attr("Units", s("hertz"));
    // Room frame: crate (x, y) is the room's (y, x).
    let mut xs: Vec<f64> = device.driver_x().into_iter().rev().collect();
    if faults.uneven_driver {
        xs[e / 2] += 0.02;
    }
    if faults.emitter_rows_short {
        xs.pop();
    }
    let rows = xs.len() as u64;
    let (listener_type, listener_units) = match device.file {
        DeviceFile::Mimo => ("cartesian", "metre"),
        DeviceFile::MultiSpeaker => ("spherical", "degree, degree, metre"),
    };
    let listeners: Vec<f64> = device
        .poses
        .iter()
        .flat_map(|p| match device.file {
            DeviceFile::Mimo => [p.distance, p.offset, 0.0],
            DeviceFile::MultiSpeaker => [
                p.offset.atan2(p.distance).to_degrees(),
                0.0,
                p.offset.hypot(p.distance),
            ],
        })
        .collect();
    if !faults.no_listener_position {
        b.create_dataset("ListenerPosition")
            .with_f64_data(&listeners)
            .with_shape(&[m as u64, 3])
            .set_attr("Type", s(listener_type))
            .set_attr(
                "Units",
                s(if faults.listener_units_degrees {
                    "degree"
                } else {
                    listener_units
                }),
            );
    }
    let views: Vec<f64> = device
        .poses
        .iter()
        .flat_map(|p| {
            let yaw = p.yaw.to_radians();
            [-yaw.cos(), -yaw.sin(), 0.0]
        })
        .collect();
    in_metres(&mut b, "ListenerView", &views, &[m as u64, 3]);
    b.create_dataset("ListenerUp")
        .with_f64_data(&[0.0, 0.0, 1.0])
        .with_shape(&[1, 3]);
    let ears: Vec<f64> = receivers
        .iter()
        .flat_map(|&ear| [0.0, if ear == 0 { 0.09 } else { -0.09 }, 0.0])
        .collect();
    in_metres(&mut b, "ReceiverPosition", &ears, &[2, 3, 1]);
    match device.file {
        DeviceFile::Mimo => {
            // The source sits at room y = 0.1, turned to face +y: its local x is the room's
            // +y, its local y the room's −x.
            in_metres(&mut b, "SourcePosition", &[0.0, 0.1, 0.0], &[1, 3]);
            in_metres(&mut b, "SourceView", &[0.0, 1.0, 0.0], &[1, 3]);
            b.create_dataset("SourceUp")
                .with_f64_data(&[0.0, 0.0, 1.0])
                .with_shape(&[1, 3]);
            let local: Vec<f64> = xs.iter().flat_map(|x| [x - 0.1, 0.0, 0.0]).collect();
            in_metres(&mut b, "EmitterPosition", &local, &[rows, 3, 1]);
            b.create_dataset("Data.Delay")
                .with_f64_data(&[40.0, 40.0])
                .with_shape(&[1, 2]);
        }
        DeviceFile::MultiSpeaker => {
            in_metres(&mut b, "SourcePosition", &[0.0, 0.0, 0.0], &[1, 3]);
            let room: Vec<f64> = xs.iter().flat_map(|x| [0.0, *x, 0.0]).collect();
            in_metres(&mut b, "EmitterPosition", &room, &[rows, 3]);
            b.create_dataset("Data.Delay")
                .with_f64_data(&vec![0.0; 2 * e])
                .with_shape(&[1, 2, e as u64]);
        }
    }
    b.write(path).expect("the SOFA file is written");
}
