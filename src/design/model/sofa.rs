//! Reading measured heads from SOFA files (AES69), convention SimpleFreeFieldHRIR, through
//! the pure-Rust HDF5 library `hdf5-pure`. What comes out is an [`HrirSet`]: the impulse
//! responses of the horizontal-plane measurements (the ring the drivers of a line lie in),
//! with their directions, the measurement radius and the sample rate. Everything a SOFA file
//! can get wrong becomes a [`SofaError`] that says what, so that the CLI and the editor can
//! tell the user in one line, and nothing half-read is ever used.

use crate::limits::{
    MAX_HORIZONTAL_DIRECTIONS, MAX_IR_SECONDS, MAX_SOFA_CHUNK_BYTES, MAX_SOFA_DECODE_BYTES,
    MAX_SOFA_FILE_BYTES, MAX_SOFA_MEASUREMENTS, MAX_SOFA_TAPS, MAX_SOFA_VARIABLE_VALUES,
    MEASUREMENT_RADII_M, SAMPLE_RATES_HZ,
};
use hdf5_pure::{AttrValue, Dataset, File};
use std::collections::HashMap;
use std::path::Path;

/// Elevations within this of the plane the drivers lie in count as that plane, degrees.
pub const HORIZONTAL_TOLERANCE_DEG: f64 = 2.0;

/// What can be wrong with a SOFA file.
#[derive(Debug, thiserror::Error)]
pub enum SofaError {
    /// The file could not be read.
    #[error("cannot read it: {0}")]
    Read(#[from] std::io::Error),
    /// Larger than [`MAX_SOFA_FILE_BYTES`].
    #[error("it is {bytes} bytes; SOFA sets larger than {limit} bytes are refused")]
    TooLarge {
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// Not an HDF5 file at all.
    #[error("it is not an HDF5 file (SOFA files are HDF5/netCDF-4)")]
    NotHdf5,
    /// HDF5, but damaged or cut short.
    #[error("the HDF5 data is damaged or cut short ({0})")]
    Corrupt(String),
    /// HDF5 without the SOFA marker.
    #[error("it is HDF5 but not SOFA (no Conventions = \"SOFA\" attribute)")]
    NotSofa,
    /// Another SOFA convention.
    #[error("its convention is {0:?}; Soundstage reads SimpleFreeFieldHRIR")]
    Convention(String),
    /// A required variable is absent.
    #[error("the variable {0} is missing")]
    Missing(&'static str),
    /// A variable has the wrong dimensions.
    #[error("{what} has shape {found:?}, expected {expected}")]
    Shape {
        /// The variable.
        what: &'static str,
        /// What it has.
        found: Vec<u64>,
        /// What it should have.
        expected: String,
    },
    /// NaN or infinite values.
    #[error("{0} holds NaN or infinite values")]
    NotFinite(&'static str),
    /// A measurement radius that is not a real distance outside the head.
    #[error(
        "its measurement radius is {0} m; Soundstage reads sets measured 0.1 to 10 m from the head"
    )]
    Radius(f64),
    /// More distinct directions in the horizontal plane than Soundstage keeps.
    #[error("it measures {found} directions in the horizontal plane; Soundstage keeps at most {limit} (a 0.25° grid)")]
    TooManyDirections {
        /// Distinct horizontal directions in the file.
        found: usize,
        /// [`MAX_HORIZONTAL_DIRECTIONS`].
        limit: usize,
    },
    /// A variable declares more data than Soundstage reads (checked before reading it).
    #[error("{what} declares {found}; Soundstage reads at most {limit}")]
    Declared {
        /// The variable.
        what: &'static str,
        /// What it declares, in words.
        found: String,
        /// The limit, in words.
        limit: String,
    },
    /// A sample rate no audio system uses.
    #[error("its sample rate is {0} Hz; 8 kHz to 768 kHz are accepted")]
    SampleRate(f64),
    /// Units or coordinate types we do not know.
    #[error("{what} uses {found:?}, expected {expected}")]
    Units {
        /// The variable.
        what: &'static str,
        /// What it says.
        found: String,
        /// What we read.
        expected: &'static str,
    },
    /// No measurement lies in the plane of the drivers.
    #[error("none of its {0} measurements lies in the horizontal plane (elevation 0°), where the drivers are")]
    NoHorizontalPlane(usize),
}

/// A measured head: the horizontal-plane HRIRs of one SOFA file.
#[derive(Clone, Debug, PartialEq)]
pub struct HrirSet {
    /// A short name for the editor and reports (the file's title or database name).
    pub name: String,
    /// Sample rate of the responses, Hz.
    pub sample_rate: f64,
    /// Distance of the measurement loudspeaker from the head centre, metres.
    pub radius_m: f64,
    /// One entry per horizontal-plane measurement, in the file's order.
    pub measurements: Vec<Measurement>,
}

/// One measured direction.
#[derive(Clone, Debug, PartialEq)]
pub struct Measurement {
    /// Azimuth in SOFA's convention: degrees counter-clockwise from the front (to the left),
    /// normalised to [0, 360).
    pub azimuth_deg: f64,
    /// Left-ear and right-ear impulse responses (the file's broadband delay applied).
    pub irs: [Vec<f32>; 2],
}

fn attr(attrs: &HashMap<String, AttrValue>, name: &str) -> Option<String> {
    attrs
        .get(name)
        .and_then(AttrValue::as_str)
        .map(str::to_owned)
}

fn corrupt(e: hdf5_pure::Error) -> SofaError {
    match e {
        hdf5_pure::Error::Io(io) => SofaError::Read(io),
        hdf5_pure::Error::Format(hdf5_pure::FormatError::SignatureNotFound) => SofaError::NotHdf5,
        other => SofaError::Corrupt(other.to_string()),
    }
}

/// A dataset, or why not: also refused, before anything is read, when its elements are not
/// numbers of at most 8 bytes or a chunk of it decodes to more than [`MAX_SOFA_CHUNK_BYTES`]
/// (the reader decodes whole chunks, so a chunk is what one read can cost).
fn dataset(file: &File, name: &'static str) -> Result<Dataset, SofaError> {
    let ds = file.dataset(name).map_err(|e| match e {
        hdf5_pure::Error::Format(hdf5_pure::FormatError::PathNotFound(_))
        | hdf5_pure::Error::NotADataset(_) => SofaError::Missing(name),
        other => corrupt(other),
    })?;
    let element = ds.element_size().map_err(corrupt)?;
    if !(1..=8).contains(&element) {
        return Err(SofaError::Declared {
            what: name,
            found: format!("elements of {element} bytes"),
            limit: "numbers of 1 to 8 bytes".into(),
        });
    }
    if let Some(chunk) = ds.chunk_shape().map_err(corrupt)? {
        let bytes = chunk
            .iter()
            .try_fold(element, |b, d| b.checked_mul(*d))
            .filter(|b| *b <= MAX_SOFA_CHUNK_BYTES);
        if bytes.is_none() {
            return Err(SofaError::Declared {
                what: name,
                found: format!("chunks of {chunk:?} values"),
                limit: format!("chunks of {MAX_SOFA_CHUNK_BYTES} bytes"),
            });
        }
    }
    Ok(ds)
}

/// The number of values `shape` declares, if it is at most `limit`.
fn declared_values(name: &'static str, shape: &[u64], limit: u64) -> Result<u64, SofaError> {
    let count = shape
        .iter()
        .try_fold(1u64, |n, d| n.checked_mul(*d))
        .filter(|n| *n <= limit);
    count.ok_or_else(|| SofaError::Declared {
        what: name,
        found: format!("shape {shape:?}"),
        limit: format!("{limit} values"),
    })
}

/// A small variable's shape and values (C order), or why not: its declared size is checked
/// against [`MAX_SOFA_VARIABLE_VALUES`] before anything is read.
fn variable(file: &File, name: &'static str) -> Result<(Vec<u64>, Vec<f64>), SofaError> {
    let ds = dataset(file, name)?;
    let shape = ds.shape().map_err(corrupt)?;
    let expected = declared_values(name, &shape, MAX_SOFA_VARIABLE_VALUES)?.max(1);
    let values = ds.read_f64().map_err(corrupt)?;
    if values.len() as u64 != expected {
        return Err(SofaError::Corrupt(format!(
            "{name} holds {} values for shape {shape:?}",
            values.len()
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(SofaError::NotFinite(name));
    }
    Ok((shape, values))
}

/// Data.IR's shape (M measurements, 2 ears, N taps), checked against the limits before any
/// response is read: [`MAX_SOFA_MEASUREMENTS`] and [`MAX_SOFA_TAPS`].
fn response_shape(ir: &Dataset) -> Result<[usize; 3], SofaError> {
    let shape = ir.shape().map_err(corrupt)?;
    let [m, r, n] = match shape.as_slice() {
        &[m, r, n] if m > 0 && r == 2 && n > 0 => [m, r, n],
        _ => {
            return Err(SofaError::Shape {
                what: "Data.IR",
                found: shape,
                expected: "(M measurements, 2 ears, N taps)".into(),
            })
        }
    };
    let declared = |found: String, limit: String| SofaError::Declared {
        what: "Data.IR",
        found,
        limit,
    };
    if m > MAX_SOFA_MEASUREMENTS {
        return Err(declared(
            format!("{m} measurements"),
            format!("{MAX_SOFA_MEASUREMENTS} measurements"),
        ));
    }
    if n > MAX_SOFA_TAPS {
        return Err(declared(
            format!("{n} taps"),
            format!("{MAX_SOFA_TAPS} taps"),
        ));
    }
    // Each bounded above, so these fit.
    Ok([m as usize, r as usize, n as usize])
}

/// How the kept responses are read: measurement by measurement, or, when that would decode
/// the same chunks over and over, the whole dataset at once.
enum ResponseRead {
    /// One row per kept measurement.
    Rows,
    /// The whole dataset, `[measurement][ear][tap]`.
    Whole(Vec<f64>),
}

/// Chooses how to read `rows` measurements of Data.IR (shape `m` × 2 × `n`) for the least
/// decoding, refusing a file for which even that exceeds [`MAX_SOFA_DECODE_BYTES`].
fn plan_response_read(
    ir: &Dataset,
    rows: usize,
    m: usize,
    n: usize,
) -> Result<ResponseRead, SofaError> {
    let element = ir.element_size().map_err(corrupt)?;
    let row_bytes = 2 * n as u64 * element;
    // What decoding one row costs: the chunks it crosses, whole.
    let per_row = match ir.chunk_shape().map_err(corrupt)? {
        Some(chunk) if chunk.len() == 3 && chunk.iter().all(|d| *d > 0) => {
            let crossed = 2u64.div_ceil(chunk[1]) * (n as u64).div_ceil(chunk[2]);
            chunk
                .iter()
                .fold(element, |b, d| b.saturating_mul(*d))
                .saturating_mul(crossed)
        }
        _ => row_bytes,
    };
    let by_rows = per_row.saturating_mul(rows as u64);
    let whole = row_bytes.saturating_mul(m as u64);
    if by_rows.min(whole) > MAX_SOFA_DECODE_BYTES {
        return Err(SofaError::Declared {
            what: "Data.IR",
            found: format!(
                "a layout whose kept responses decode to {} bytes",
                by_rows.min(whole)
            ),
            limit: format!("{MAX_SOFA_DECODE_BYTES} bytes"),
        });
    }
    if by_rows <= whole {
        return Ok(ResponseRead::Rows);
    }
    let values = ir.read_f64().map_err(corrupt)?;
    if values.len() != 2 * m * n {
        return Err(SofaError::Corrupt(format!(
            "Data.IR holds {} values for shape [{m}, 2, {n}]",
            values.len()
        )));
    }
    Ok(ResponseRead::Whole(values))
}

/// The responses of measurement `i` ([ear][tap], 2 × `n` values).
fn responses_of(
    ir: &Dataset,
    read: &ResponseRead,
    i: usize,
    n: usize,
) -> Result<Vec<f64>, SofaError> {
    let values = match read {
        ResponseRead::Rows => ir.read_f64_rows(i as u64, 1).map_err(corrupt)?,
        ResponseRead::Whole(all) => all[2 * n * i..2 * n * (i + 1)].to_vec(),
    };
    if values.len() != 2 * n {
        return Err(SofaError::Corrupt(format!(
            "Data.IR holds {} values for measurement {i}, expected {}",
            values.len(),
            2 * n
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(SofaError::NotFinite("Data.IR"));
    }
    Ok(values)
}

/// Reads a SOFA file (refusing anything larger than [`MAX_SOFA_FILE_BYTES`] before reading it).
pub fn read(path: &Path) -> Result<HrirSet, SofaError> {
    let bytes = std::fs::metadata(path)?.len();
    if bytes > MAX_SOFA_FILE_BYTES {
        return Err(SofaError::TooLarge {
            bytes,
            limit: MAX_SOFA_FILE_BYTES,
        });
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse(std::fs::read(path)?, &name)
}

/// Parses the bytes of a SOFA file; `fallback_name` names the set if the file does not.
///
/// NOTE: long because it reads the file's variables in the order the convention defines them,
/// each checked against its limits before the next is read.
pub fn parse(bytes: Vec<u8>, fallback_name: &str) -> Result<HrirSet, SofaError> {
    if bytes.len() as u64 > MAX_SOFA_FILE_BYTES {
        return Err(SofaError::TooLarge {
            bytes: bytes.len() as u64,
            limit: MAX_SOFA_FILE_BYTES,
        });
    }
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(SofaError::NotHdf5);
    }
    let file = File::from_bytes(bytes).map_err(corrupt)?;
    let globals = file.root().attrs().map_err(corrupt)?;
    if attr(&globals, "Conventions").as_deref() != Some("SOFA") {
        return Err(SofaError::NotSofa);
    }
    let convention = attr(&globals, "SOFAConventions").unwrap_or_default();
    if convention != "SimpleFreeFieldHRIR" {
        return Err(SofaError::Convention(convention));
    }
    let name = ["Title", "DatabaseName", "ListenerShortName"]
        .iter()
        .filter_map(|k| attr(&globals, k))
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| fallback_name.to_string());

    let ir = dataset(&file, "Data.IR")?;
    let [m, _, n] = response_shape(&ir)?;
    let (_, rates) = variable(&file, "Data.SamplingRate")?;
    let sample_rate = rates[0];
    if !SAMPLE_RATES_HZ.contains(&sample_rate) || rates.iter().any(|r| *r != sample_rate) {
        return Err(SofaError::SampleRate(sample_rate));
    }
    if let Ok(ds) = file.dataset("Data.SamplingRate") {
        if let Some(units) = ds.attrs().ok().and_then(|a| attr(&a, "Units")) {
            if !units.eq_ignore_ascii_case("hertz") && !units.eq_ignore_ascii_case("hz") {
                return Err(SofaError::Units {
                    what: "Data.SamplingRate",
                    found: units,
                    expected: "hertz",
                });
            }
        }
    }
    let positions = source_positions(&file, m)?;
    let ears = ear_order(&file)?;
    let delays = broadband_delays(&file, m)?;

    let keep = n.min((MAX_IR_SECONDS * sample_rate).ceil() as usize);
    let azimuth = |i: usize| positions[i].0.rem_euclid(360.0);
    // One measurement per horizontal direction: of those at one azimuth, the one nearest the
    // plane.
    let mut horizontal: Vec<usize> = (0..positions.len())
        .filter(|&i| positions[i].1.abs() <= HORIZONTAL_TOLERANCE_DEG)
        .collect();
    horizontal.sort_by(|&a, &b| {
        azimuth(a)
            .total_cmp(&azimuth(b))
            .then(positions[a].1.abs().total_cmp(&positions[b].1.abs()))
    });
    horizontal.dedup_by(|later, kept| (azimuth(*later) - azimuth(*kept)).abs() < 1e-9);
    if horizontal.len() > MAX_HORIZONTAL_DIRECTIONS {
        return Err(SofaError::TooManyDirections {
            found: horizontal.len(),
            limit: MAX_HORIZONTAL_DIRECTIONS,
        });
    }
    // Only the kept measurements are read, one at a time, and only their first `keep` taps
    // are kept.
    // Read in the file's order (a chunk is then decoded once while its rows are read), each
    // row cut to its first `keep` taps at once; then put in azimuth order.
    let read = plan_response_read(&ir, horizontal.len(), m, n)?;
    let mut in_file_order = horizontal.clone();
    in_file_order.sort_unstable();
    let mut measurements: Vec<(usize, Measurement)> = Vec::with_capacity(horizontal.len());
    for i in in_file_order {
        let values = responses_of(&ir, &read, i, n)?;
        let irs = ears.map(|ear| {
            let start = ear * n;
            let shift = delays[i][ear];
            let mut out = vec![0.0f32; keep];
            for (t, v) in out.iter_mut().enumerate() {
                if let Some(src) = t.checked_sub(shift).filter(|s| *s < n) {
                    *v = values[start + src] as f32;
                }
            }
            out
        });
        let azimuth_deg = azimuth(i);
        measurements.push((i, Measurement { azimuth_deg, irs }));
    }
    let rank: HashMap<usize, usize> = horizontal
        .iter()
        .enumerate()
        .map(|(r, i)| (*i, r))
        .collect();
    measurements.sort_by_key(|(i, _)| rank[i]);
    let measurements: Vec<Measurement> = measurements.into_iter().map(|(_, m)| m).collect();
    if measurements.is_empty() {
        return Err(SofaError::NoHorizontalPlane(m));
    }
    let radius_m = median(positions.iter().map(|p| p.2).collect());
    if !MEASUREMENT_RADII_M.contains(&radius_m) {
        return Err(SofaError::Radius(radius_m));
    }
    Ok(HrirSet {
        name,
        sample_rate,
        radius_m,
        measurements,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Azimuth (degrees, counter-clockwise), elevation (degrees) and distance (metres) of every
/// measurement, from SourcePosition in spherical or cartesian coordinates.
fn source_positions(file: &File, m: usize) -> Result<Vec<(f64, f64, f64)>, SofaError> {
    let (shape, values) = variable(file, "SourcePosition")?;
    let rows = match shape.as_slice() {
        &[rows, 3] if rows as usize == m || rows == 1 => rows as usize,
        _ => {
            return Err(SofaError::Shape {
                what: "SourcePosition",
                found: shape,
                expected: format!("({m}, 3)"),
            })
        }
    };
    let attrs = file
        .dataset("SourcePosition")
        .and_then(|d| d.attrs())
        .map_err(corrupt)?;
    let kind = attr(&attrs, "Type").unwrap_or_else(|| "spherical".into());
    let units = attr(&attrs, "Units")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let metres = if units.contains("centimet") {
        0.01
    } else {
        1.0
    };
    let row = |i: usize| {
        let j = if rows == 1 { 0 } else { i };
        (values[3 * j], values[3 * j + 1], values[3 * j + 2])
    };
    match kind.to_ascii_lowercase().as_str() {
        "spherical" => {
            let degrees = units.is_empty() || units.starts_with("degree");
            let radians = units.starts_with("radian");
            if !degrees && !radians {
                return Err(SofaError::Units {
                    what: "SourcePosition",
                    found: units,
                    expected: "degree, degree, metre",
                });
            }
            let to_deg = if radians {
                180.0 / std::f64::consts::PI
            } else {
                1.0
            };
            Ok((0..m)
                .map(|i| {
                    let (az, el, r) = row(i);
                    (az * to_deg, el * to_deg, r * metres)
                })
                .collect())
        }
        "cartesian" => Ok((0..m)
            .map(|i| {
                let (x, y, z) = row(i);
                let (x, y, z) = (x * metres, y * metres, z * metres);
                let r = (x * x + y * y + z * z).sqrt();
                let az = y.atan2(x).to_degrees();
                let el = z.atan2(x.hypot(y)).to_degrees();
                (az, el, r)
            })
            .collect()),
        other => Err(SofaError::Units {
            what: "SourcePosition",
            found: other.to_string(),
            expected: "Type spherical or cartesian",
        }),
    }
}

/// Which receiver is the left ear: SOFA puts the listener's left at +y.
fn ear_order(file: &File) -> Result<[usize; 2], SofaError> {
    let Ok((shape, values)) = variable(file, "ReceiverPosition") else {
        // Without receiver positions, SimpleFreeFieldHRIR's order is left, right.
        return Ok([0, 1]);
    };
    if shape.first() != Some(&2) || values.len() < 6 {
        return Err(SofaError::Shape {
            what: "ReceiverPosition",
            found: shape,
            expected: "(2, 3) or (2, 3, 1)".into(),
        });
    }
    // (2, 3, ...) in C order: receiver r's y is at index (r·3 + 1)·rest.
    let rest = values.len() / 6;
    let y = |r: usize| values[(r * 3 + 1) * rest];
    Ok(if y(1) > y(0) { [1, 0] } else { [0, 1] })
}

/// Data.Delay in whole samples per measurement and ear (absent: none).
fn broadband_delays(file: &File, m: usize) -> Result<Vec<[usize; 2]>, SofaError> {
    let Ok((shape, values)) = variable(file, "Data.Delay") else {
        return Ok(vec![[0, 0]; m]);
    };
    let rows = match shape.as_slice() {
        [rows, 2] if *rows as usize == m || *rows == 1 => *rows as usize,
        _ => {
            return Err(SofaError::Shape {
                what: "Data.Delay",
                found: shape,
                expected: format!("(1, 2) or ({m}, 2)"),
            })
        }
    };
    if values.iter().any(|v| *v < 0.0 || *v > 1e6) {
        return Err(SofaError::Units {
            what: "Data.Delay",
            found: "negative or absurd delays".into(),
            expected: "delays of 0 to 10^6 samples",
        });
    }
    Ok((0..m)
        .map(|i| {
            let j = if rows == 1 { 0 } else { i };
            [
                values[2 * j].round() as usize,
                values[2 * j + 1].round() as usize,
            ]
        })
        .collect())
}
