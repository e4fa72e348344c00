//! Reading measured heads from SOFA files (AES69), convention SimpleFreeFieldHRIR, through
//! the pure-Rust HDF5 library `hdf5-pure`. What comes out is an [`HrirSet`]: the impulse
//! responses of the horizontal-plane measurements (the ring the drivers of a line lie in),
//! with their directions, the measurement radius and the sample rate. Everything a SOFA file
//! can get wrong becomes a [`SofaError`] that says what, so that the CLI and the editor can
//! tell the user in one line, and nothing half-read is ever used.

use crate::design::model::sofa_device::{self, DeviceConvention, DeviceSet};
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
    #[error("its convention is {0:?}; Soundstage reads heads (SimpleFreeFieldHRIR) and, on the command line, devices (SingleRoomMIMOSRIR, MultiSpeakerBRIR)")]
    Convention(String),
    /// A device measurement where a head is needed.
    #[error("it measures a device ({0}); here a head is needed (SimpleFreeFieldHRIR); design from a device with the command line's --sofa")]
    NotAHead(String),
    /// A device whose drivers or listener positions Soundstage cannot lay out.
    #[error("{0}")]
    Layout(String),
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

pub(crate) fn attr(attrs: &HashMap<String, AttrValue>, name: &str) -> Option<String> {
    attrs
        .get(name)
        .and_then(AttrValue::as_str)
        .map(str::to_owned)
}

pub(crate) fn corrupt(e: hdf5_pure::Error) -> SofaError {
    match e {
        hdf5_pure::Error::Io(io) => SofaError::Read(io),
        hdf5_pure::Error::Format(hdf5_pure::FormatError::SignatureNotFound) => SofaError::NotHdf5,
        other => SofaError::Corrupt(other.to_string()),
    }
}

/// A dataset, or why not: also refused, before anything is read, when its elements are not
/// numbers of at most 8 bytes or a chunk of it decodes to more than [`MAX_SOFA_CHUNK_BYTES`]
/// (the reader decodes whole chunks, so a chunk is what one read can cost).
pub(crate) fn dataset(file: &File, name: &'static str) -> Result<Dataset, SofaError> {
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
pub(crate) fn declared_values(
    name: &'static str,
    shape: &[u64],
    limit: u64,
) -> Result<u64, SofaError> {
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
pub(crate) fn variable(file: &File, name: &'static str) -> Result<(Vec<u64>, Vec<f64>), SofaError> {
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

/// The row of a variable that holds one row for all `rows` measurements, or one per
/// measurement, that measurement `i` reads.
pub(crate) fn row_of(rows: usize, i: usize) -> usize {
    if rows == 1 {
        0
    } else {
        i
    }
}

/// Refuses a variable that declares more than `limit` `things`.
pub(crate) fn at_most(
    what: &'static str,
    count: u64,
    limit: u64,
    things: &str,
) -> Result<(), SofaError> {
    if count > limit {
        return Err(SofaError::Declared {
            what,
            found: format!("{count} {things}"),
            limit: format!("{limit} {things}"),
        });
    }
    Ok(())
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
    at_most("Data.IR", m, MAX_SOFA_MEASUREMENTS, "measurements")?;
    at_most("Data.IR", n, MAX_SOFA_TAPS, "taps")?;
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

/// What a SOFA file holds, by its `SOFAConventions`.
#[derive(Clone, Debug, PartialEq)]
pub enum SofaSet {
    /// A head's responses from many directions (SimpleFreeFieldHRIR).
    Head(HrirSet),
    /// A device's drivers measured at a dummy head's ears (SingleRoomMIMOSRIR or
    /// MultiSpeakerBRIR).
    Device(DeviceSet),
}

/// The bytes of a SOFA file and the name its file stem gives it, refusing anything larger
/// than [`MAX_SOFA_FILE_BYTES`] before reading it.
fn file_bytes(path: &Path) -> Result<(Vec<u8>, String), SofaError> {
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
    Ok((std::fs::read(path)?, name))
}

/// Reads a SOFA file of a measured head (a device measurement is refused, saying so).
pub fn read(path: &Path) -> Result<HrirSet, SofaError> {
    let (bytes, name) = file_bytes(path)?;
    parse(bytes, &name)
}

/// Reads a SOFA file of either kind: a measured head or a measured device.
pub fn read_any(path: &Path) -> Result<SofaSet, SofaError> {
    let (bytes, name) = file_bytes(path)?;
    parse_any(bytes, &name)
}

/// Parses the bytes of a SOFA file of a measured head; `fallback_name` names the set if the
/// file does not.
pub fn parse(bytes: Vec<u8>, fallback_name: &str) -> Result<HrirSet, SofaError> {
    let (file, convention, name) = open(bytes, fallback_name)?;
    match convention.as_str() {
        "SimpleFreeFieldHRIR" => parse_head(&file, name),
        device if DeviceConvention::from_attribute(device).is_some() => {
            Err(SofaError::NotAHead(convention))
        }
        _ => Err(SofaError::Convention(convention)),
    }
}

/// Parses the bytes of a SOFA file of either kind, by its convention.
pub fn parse_any(bytes: Vec<u8>, fallback_name: &str) -> Result<SofaSet, SofaError> {
    let (file, convention, name) = open(bytes, fallback_name)?;
    if convention == "SimpleFreeFieldHRIR" {
        return parse_head(&file, name).map(SofaSet::Head);
    }
    match DeviceConvention::from_attribute(&convention) {
        Some(kind) => sofa_device::parse(&file, name, kind).map(SofaSet::Device),
        None => Err(SofaError::Convention(convention)),
    }
}

/// Opens the bytes of a SOFA file: the HDF5 file, its `SOFAConventions` and the set's name
/// (its title, database or listener name, else `fallback_name`).
fn open(bytes: Vec<u8>, fallback_name: &str) -> Result<(File, String, String), SofaError> {
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
    let name = ["Title", "DatabaseName", "ListenerShortName"]
        .iter()
        .filter_map(|k| attr(&globals, k))
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| fallback_name.to_string());
    Ok((file, convention, name))
}

/// Data.SamplingRate: one rate, in hertz, that audio systems use.
pub(crate) fn sample_rate(file: &File) -> Result<f64, SofaError> {
    let (_, rates) = variable(file, "Data.SamplingRate")?;
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
    Ok(sample_rate)
}

/// Reads a SimpleFreeFieldHRIR file's horizontal-plane measurements.
///
/// NOTE: long because it reads the file's variables in the order the convention defines them,
/// each checked against its limits before the next is read.
fn parse_head(file: &File, name: String) -> Result<HrirSet, SofaError> {
    let ir = dataset(file, "Data.IR")?;
    let [m, _, n] = response_shape(&ir)?;
    let sample_rate = sample_rate(file)?;
    let positions = source_positions(file, m)?;
    let ears = ear_order(file)?;
    let delays = broadband_delays(file, m)?;

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
    let frame = coordinates(&attrs, "SourcePosition", "spherical")?;
    Ok((0..m)
        .map(|i| {
            let j = row_of(rows, i);
            frame.spherical([values[3 * j], values[3 * j + 1], values[3 * j + 2]])
        })
        .collect())
}

/// How a SOFA position variable's numbers are to be read: its `Type` and its `Units`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Coordinates {
    /// x, y, z in a length unit (`metres` of them make a metre).
    Cartesian {
        /// Metres per unit.
        metres: f64,
    },
    /// Azimuth (counter-clockwise), elevation, distance.
    Spherical {
        /// Degrees per angle unit.
        degrees: f64,
        /// Metres per distance unit.
        metres: f64,
    },
}

/// Metres per `unit` ("metre", "cm", …), if it is a length.
fn length_unit(unit: &str) -> Option<f64> {
    match unit {
        "" | "m" | "metre" | "metres" | "meter" | "meters" => Some(1.0),
        "cm" | "centimetre" | "centimetres" | "centimeter" | "centimeters" => Some(0.01),
        "mm" | "millimetre" | "millimetres" | "millimeter" | "millimeters" => Some(0.001),
        _ => None,
    }
}

/// Degrees per `unit` ("degree", "radian"), if it is an angle.
fn angle_unit(unit: &str) -> Option<f64> {
    match unit {
        "" | "deg" | "degree" | "degrees" => Some(1.0),
        "rad" | "radian" | "radians" => Some(180.0 / std::f64::consts::PI),
        _ => None,
    }
}

/// Reads a position variable's `Type` (`default_type` when absent) and `Units` (its type's
/// SOFA default when absent), refusing units that are not lengths and angles.
pub(crate) fn coordinates(
    attrs: &HashMap<String, AttrValue>,
    what: &'static str,
    default_type: &str,
) -> Result<Coordinates, SofaError> {
    let kind = attr(attrs, "Type")
        .unwrap_or_else(|| default_type.into())
        .to_ascii_lowercase();
    let units = attr(attrs, "Units")
        .unwrap_or_default()
        .to_ascii_lowercase();
    // "degree, degree, metre", also without commas.
    let parts: Vec<&str> = units
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .collect();
    match kind.as_str() {
        "spherical" => {
            let (azimuth, elevation) = (
                angle_unit(parts.first().copied().unwrap_or("")),
                parts.get(1).map(|p| angle_unit(p)),
            );
            let degrees = match (azimuth, elevation) {
                (Some(a), None) => Some(a),
                (Some(a), Some(Some(e))) if a == e => Some(a),
                _ => None,
            };
            let metres = match parts.as_slice() {
                [_, _, distance] => length_unit(distance),
                [] | [_] | [_, _] => Some(1.0),
                _ => None,
            };
            match (degrees, metres) {
                (Some(degrees), Some(metres)) => Ok(Coordinates::Spherical { degrees, metres }),
                _ => Err(SofaError::Units {
                    what,
                    found: units,
                    expected: "degree, degree, metre",
                }),
            }
        }
        "cartesian" => {
            let scales: Option<Vec<f64>> = parts.iter().map(|p| length_unit(p)).collect();
            match scales.as_deref() {
                Some([]) => Ok(Coordinates::Cartesian { metres: 1.0 }),
                Some([metres, rest @ ..]) if rest.iter().all(|r| r == metres) => {
                    Ok(Coordinates::Cartesian { metres: *metres })
                }
                _ => Err(SofaError::Units {
                    what,
                    found: units,
                    expected: "metre",
                }),
            }
        }
        other => Err(SofaError::Units {
            what,
            found: other.to_string(),
            expected: "Type spherical or cartesian",
        }),
    }
}

impl Coordinates {
    /// Azimuth (degrees, counter-clockwise), elevation (degrees) and distance (metres).
    pub(crate) fn spherical(self, [a, b, c]: [f64; 3]) -> (f64, f64, f64) {
        match self {
            Coordinates::Spherical { degrees, metres } => (a * degrees, b * degrees, c * metres),
            Coordinates::Cartesian { metres } => {
                let (x, y, z) = (a * metres, b * metres, c * metres);
                let r = (x * x + y * y + z * z).sqrt();
                (y.atan2(x).to_degrees(), z.atan2(x.hypot(y)).to_degrees(), r)
            }
        }
    }

    /// x (front), y (left), z (up), metres.
    pub(crate) fn cartesian(self, [a, b, c]: [f64; 3]) -> [f64; 3] {
        match self {
            Coordinates::Cartesian { metres } => [a * metres, b * metres, c * metres],
            Coordinates::Spherical { degrees, metres } => {
                let (az, el) = ((a * degrees).to_radians(), (b * degrees).to_radians());
                let r = c * metres;
                [
                    r * el.cos() * az.cos(),
                    r * el.cos() * az.sin(),
                    r * el.sin(),
                ]
            }
        }
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

/// Most samples of Data.Delay read: beyond this a delay is not a measurement's.
const MAX_DELAY_SAMPLES: f64 = 1e6;

/// Refuses Data.Delay values that are negative or beyond [`MAX_DELAY_SAMPLES`].
pub(crate) fn check_delays(values: &[f64]) -> Result<(), SofaError> {
    if values
        .iter()
        .any(|v| !(0.0..=MAX_DELAY_SAMPLES).contains(v))
    {
        return Err(SofaError::Units {
            what: "Data.Delay",
            found: "negative or absurd delays".into(),
            expected: "delays of 0 to 10^6 samples",
        });
    }
    Ok(())
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
    check_delays(&values)?;
    Ok((0..m)
        .map(|i| {
            let j = row_of(rows, i);
            [
                values[2 * j].round() as usize,
                values[2 * j + 1].round() as usize,
            ]
        })
        .collect())
}
