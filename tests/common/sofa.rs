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
    match head {
        Head::Sphere => {
            SphereHead::default().source_to_ears(source, (0.0, 0.0), 0.0, freqs)[ear].clone()
        }
        Head::Synthetic => {
            // The right ear sits on a slightly larger head: no mirror symmetry.
            let radius = if ear == 0 { 0.0875 } else { 0.0920 };
            let base =
                SphereHead { radius_m: radius }.source_to_ears(source, (0.0, 0.0), 0.0, freqs)[ear]
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

/// Impulse responses of `head` on a horizontal ring every `step` degrees at
/// [`SOFA_RADIUS`], plus a few measurements off the plane (which the reader must leave out).
pub fn measurements(head: Head, step: f64) -> Vec<Written> {
    measurements_at(head, step, SOFA_RADIUS)
}

/// [`measurements`] with the loudspeaker `radius` metres from the head centre.
pub fn measurements_at(head: Head, step: f64, radius: f64) -> Vec<Written> {
    let fft_len = 8 * SOFA_TAPS;
    let freqs: Vec<f64> = (0..=fft_len / 2)
        .map(|k| k as f64 * SOFA_RATE / fft_len as f64)
        .collect();
    let inverse = RealFftPlanner::<f64>::new().plan_fft_inverse(fft_len);
    let ir = |azimuth: f64, ear: usize| {
        let mut spectrum: Vec<Complex<f64>> = response(head, azimuth, radius, ear, &freqs)
            .into_iter()
            .zip(&freqs)
            .map(|(h, &f)| h * soundstage::design::evaluate::simulate::listening_band(f, SOFA_RATE))
            .collect();
        spectrum[0].im = 0.0;
        let last = spectrum.len() - 1;
        spectrum[last].im = 0.0;
        let mut time = vec![0.0; fft_len];
        inverse.process(&mut spectrum, &mut time).unwrap();
        time[..SOFA_TAPS]
            .iter()
            .map(|v| v / fft_len as f64)
            .collect::<Vec<f64>>()
    };
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
