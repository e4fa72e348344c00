//! Reading a device measured at a dummy head from SOFA files: `SingleRoomMIMOSRIR` (SOFA 2.1,
//! `Data.IR` is M × R × N × E) and its deprecated predecessor `MultiSpeakerBRIR`
//! (M × R × E × N). The E emitters are the device's drivers, the R = 2 receivers the ears and
//! each of the M measurements one listener position and orientation.
//!
//! The reader lays the file's room out in the crate's frame (see
//! [`crate::design::model::geometry`]): the drivers on a line through their centre, facing
//! the first measurement's listener, numbered from the left as a listener facing the line sees
//! them (whichever way that listener looks); each listener's head centre
//! (`ListenerPosition`) as an offset along that line and a distance in front of it; each
//! listener's `ListenerView` as a yaw. Emitters sit in their source's frame
//! (`SourcePosition`, turned by `SourceView` and `SourceUp`), receivers in the listener's. The
//! horizontal plane is the file's x–y plane: heights are not part of the geometry (the
//! responses carry them). What it cannot lay out (drivers off a line or unevenly spaced,
//! drivers that move between measurements, a listener behind the drivers) is refused with
//! the numbers.

use crate::design::model::geometry::{Geometry, DEFAULT_HEAD_RADIUS_M};
use crate::design::model::sofa::{
    at_most, check_delays, coordinates, corrupt, dataset, declared_values, row_of, sample_rate,
    variable, Coordinates, SofaError,
};
use crate::limits::{
    DEVICE_DRIVERS, MAX_DEVICE_COORDINATE_M, MAX_DEVICE_IR_SECONDS, MAX_DEVICE_POSITIONS,
    MAX_SOFA_DECODE_BYTES, MAX_SOFA_TAPS,
};
use hdf5_pure::File;

/// How far a driver may lie from its place on an evenly spaced line and still be read as on
/// it, metres.
pub const DRIVER_LINE_TOLERANCE_M: f64 = 0.005;

/// Drivers that move less than this between measurements count as staying put, metres.
const DRIVERS_STAY_PUT_M: f64 = 0.001;

/// Shortest line of drivers read, metres.
const SHORTEST_LINE_M: f64 = 0.01;

/// Nearest a listener's head centre may be to the drivers' line, metres: the head's radius
/// and a margin, so that no ear touches the line.
const NEAREST_LISTENER_M: f64 = 0.15;

/// The two SOFA conventions of a device measured at binaural receivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceConvention {
    /// SOFA 2.1's convention: `Data.IR` is M × R × N × E.
    SingleRoomMimoSrir,
    /// The deprecated predecessor many tools still write: `Data.IR` is M × R × E × N.
    MultiSpeakerBrir,
}

impl DeviceConvention {
    /// The convention a `SOFAConventions` attribute names, if it is a device convention.
    pub fn from_attribute(value: &str) -> Option<Self> {
        match value {
            "SingleRoomMIMOSRIR" => Some(Self::SingleRoomMimoSrir),
            "MultiSpeakerBRIR" => Some(Self::MultiSpeakerBrir),
            _ => None,
        }
    }

    /// The `SOFAConventions` attribute, as files spell it.
    pub fn attribute(self) -> &'static str {
        match self {
            Self::SingleRoomMimoSrir => "SingleRoomMIMOSRIR",
            Self::MultiSpeakerBrir => "MultiSpeakerBRIR",
        }
    }

    /// Index of tap `t` of emitter `e`, receiver `r`, measurement `i` in `Data.IR` (C order).
    fn index(self, [i, r, t, e]: [usize; 4], [taps, emitters]: [usize; 2]) -> usize {
        match self {
            Self::SingleRoomMimoSrir => ((i * 2 + r) * taps + t) * emitters + e,
            Self::MultiSpeakerBrir => ((i * 2 + r) * emitters + e) * taps + t,
        }
    }
}

impl std::fmt::Display for DeviceConvention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.attribute())
    }
}

/// A device's drivers measured at a dummy head's ears, laid out in the crate's frame.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceSet {
    /// A short name for reports (the file's title or database name).
    pub name: String,
    /// The convention the file follows.
    pub convention: DeviceConvention,
    /// Sample rate of the responses, Hz.
    pub sample_rate: f64,
    /// Taps kept per response (at most [`MAX_DEVICE_IR_SECONDS`]).
    pub taps: usize,
    /// Distance between neighbouring drivers, metres: the line's length over its gaps.
    pub spacing_m: f64,
    /// The file's emitter index (from 0) of each driver, leftmost first.
    pub emitters: Vec<usize>,
    /// Each driver's measured place along the line, metres from its centre, leftmost first.
    pub driver_x_m: Vec<f64>,
    /// One per measurement, in the file's order.
    pub listeners: Vec<ListenerMeasurement>,
    /// The measurement a design is made for unless told otherwise: the listener nearest to
    /// straight on (on the line's axis, facing it), a turn counting as the distance it moves
    /// the ears.
    pub nominal: usize,
}

/// One listener position and orientation, and what its ears received from each driver.
#[derive(Clone, Debug, PartialEq)]
pub struct ListenerMeasurement {
    /// Head centre along the line from its centre, metres, positive to the listener's right.
    pub offset_m: f64,
    /// Head centre in front of the line, metres.
    pub distance_m: f64,
    /// Head turn, degrees, positive with the nose to the listener's left.
    pub yaw_deg: f64,
    /// Impulse responses `[ear][driver]`, ear 0 left, drivers leftmost first.
    pub irs: [Vec<Vec<f32>>; 2],
    /// `Data.Delay` of each response, samples, `[ear][driver]`.
    pub delays: [Vec<f64>; 2],
}

impl DeviceSet {
    /// Number of drivers.
    pub fn drivers(&self) -> usize {
        self.driver_x_m.len()
    }

    /// The geometry of measurement `index`: the line of drivers and that listener's pose.
    pub fn geometry(&self, index: usize) -> Geometry {
        let at = &self.listeners[index];
        Geometry {
            drivers: self.drivers(),
            spacing_m: self.spacing_m,
            distance_m: at.distance_m,
            offset_m: at.offset_m,
            yaw_deg: at.yaw_deg,
        }
    }
}

type Vec3 = [f64; 3];

fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn scale(a: Vec3, k: f64) -> Vec3 {
    a.map(|v| v * k)
}

fn length(a: Vec3) -> f64 {
    dot(a, a).sqrt()
}

/// `a` with its height dropped.
fn horizontal(a: Vec3) -> Vec3 {
    [a[0], a[1], 0.0]
}

/// Data.IR's shape as (measurements, drivers, taps), checked against the limits before any
/// response is read.
fn device_shape(ir: &hdf5_pure::Dataset, kind: DeviceConvention) -> Result<[usize; 3], SofaError> {
    let shape = ir.shape().map_err(corrupt)?;
    let (expected, dims) = match kind {
        DeviceConvention::SingleRoomMimoSrir => (
            "(M listener positions, 2 ears, N taps, E drivers)",
            shape
                .as_slice()
                .try_into()
                .ok()
                .map(|[m, r, n, e]: [u64; 4]| [m, r, e, n]),
        ),
        DeviceConvention::MultiSpeakerBrir => (
            "(M listener positions, 2 ears, E drivers, N taps)",
            shape.as_slice().try_into().ok(),
        ),
    };
    let Some([m, 2, e, n]) = dims.filter(|[m, _, _, n]| *m > 0 && *n > 0) else {
        return Err(SofaError::Shape {
            what: "Data.IR",
            found: shape,
            expected: expected.into(),
        });
    };
    if !DEVICE_DRIVERS.contains(&e) {
        return Err(SofaError::Declared {
            what: "Data.IR",
            found: format!("{e} drivers"),
            limit: format!(
                "{} to {} drivers",
                DEVICE_DRIVERS.start(),
                DEVICE_DRIVERS.end()
            ),
        });
    }
    at_most("Data.IR", m, MAX_DEVICE_POSITIONS, "listener positions")?;
    at_most("Data.IR", n, MAX_SOFA_TAPS, "taps")?;
    // Read whole, as 8-byte numbers.
    declared_values("Data.IR", &shape, MAX_SOFA_DECODE_BYTES / 8)?;
    // Each bounded above, so these fit.
    Ok([m as usize, e as usize, n as usize])
}

/// A position variable as one cartesian point (metres) per measurement, from `rows` of 1 or
/// `m`; `fallback` when the file leaves it out (`None`: it must be there).
fn points(
    file: &File,
    name: &'static str,
    m: usize,
    default_type: &str,
    fallback: Option<Vec3>,
) -> Result<Vec<Vec3>, SofaError> {
    let (shape, values) = match (variable(file, name), fallback) {
        (Ok(v), _) => v,
        (Err(SofaError::Missing(_)), Some(point)) => return Ok(vec![point; m]),
        (Err(e), _) => return Err(e),
    };
    let rows = match shape.as_slice() {
        &[rows, 3] if rows as usize == m || rows == 1 => rows as usize,
        _ => {
            return Err(SofaError::Shape {
                what: name,
                found: shape,
                expected: format!("(1, 3) or ({m}, 3)"),
            })
        }
    };
    let frame = frame_of(file, name, default_type)?;
    (0..m)
        .map(|i| {
            let j = row_of(rows, i);
            within_room(
                name,
                frame.cartesian([values[3 * j], values[3 * j + 1], values[3 * j + 2]]),
            )
        })
        .collect()
}

/// `point`, if it lies within [`MAX_DEVICE_COORDINATE_M`] of the origin along every axis.
fn within_room(name: &'static str, point: Vec3) -> Result<Vec3, SofaError> {
    match point.iter().find(|v| v.abs() > MAX_DEVICE_COORDINATE_M) {
        Some(v) => Err(SofaError::Layout(format!(
            "{name} places a point {v:.3e} m from the origin; Soundstage reads positions within \
             {MAX_DEVICE_COORDINATE_M:.0} m"
        ))),
        None => Ok(point),
    }
}

/// The coordinates a variable's attributes declare.
fn frame_of(file: &File, name: &'static str, default_type: &str) -> Result<Coordinates, SofaError> {
    let attrs = file
        .dataset(name)
        .and_then(|d| d.attrs())
        .map_err(corrupt)?;
    coordinates(&attrs, name, default_type)
}

/// A direction variable (`ListenerView`, `SourceView`, `SourceUp`) as unit vectors, one per
/// measurement.
fn directions(
    file: &File,
    name: &'static str,
    m: usize,
    fallback: Vec3,
) -> Result<Vec<Vec3>, SofaError> {
    points(file, name, m, "cartesian", Some(fallback))?
        .into_iter()
        .map(|v| {
            let n = length(v);
            (n > 1e-9)
                .then(|| scale(v, 1.0 / n))
                .ok_or_else(|| SofaError::Layout(format!("{name} holds a direction of length 0")))
        })
        .collect()
}

/// Each emitter's position in its source's frame, `[measurement][emitter]`, from
/// `EmitterPosition` of shape (E, 3), (E, 3, 1) or (E, 3, M).
fn emitter_points(file: &File, e: usize, m: usize) -> Result<Vec<Vec<Vec3>>, SofaError> {
    let (shape, values) = variable(file, "EmitterPosition")?;
    let per_measurement = match *shape.as_slice() {
        [rows, 3] | [rows, 3, 1] if rows as usize == e => 1,
        [rows, 3, count] if rows as usize == e && count as usize == m => m,
        _ => {
            return Err(SofaError::Shape {
                what: "EmitterPosition",
                found: shape,
                expected: format!("({e}, 3) or ({e}, 3, {m}): one position per driver"),
            })
        }
    };
    let frame = frame_of(file, "EmitterPosition", "cartesian")?;
    (0..m)
        .map(|i| {
            let j = if per_measurement == 1 { 0 } else { i };
            (0..e)
                .map(|k| {
                    let at = |c: usize| values[(k * 3 + c) * per_measurement + j];
                    within_room("EmitterPosition", frame.cartesian([at(0), at(1), at(2)]))
                })
                .collect()
        })
        .collect()
}

/// Which receiver is the left ear (the listener's left is +y), from the first measurement's
/// `ReceiverPosition`; the convention's order (left, right) when it does not tell.
fn ear_order(file: &File) -> Result<[usize; 2], SofaError> {
    let (shape, values) = match variable(file, "ReceiverPosition") {
        Ok(v) => v,
        Err(SofaError::Missing(_)) => return Ok([0, 1]),
        Err(e) => return Err(e),
    };
    let rest = match shape.as_slice() {
        [2, 3] => 1,
        [2, 3, rest] if *rest > 0 => *rest as usize,
        _ => {
            return Err(SofaError::Shape {
                what: "ReceiverPosition",
                found: shape,
                expected: "(2, 3), (2, 3, 1) or (2, 3, M)".into(),
            })
        }
    };
    let frame = frame_of(file, "ReceiverPosition", "cartesian")?;
    let y = |r: usize| frame.cartesian([0, 1, 2].map(|c| values[(r * 3 + c) * rest]))[1];
    Ok(if y(1) > y(0) + 1e-6 { [1, 0] } else { [0, 1] })
}

/// `Data.Delay` in samples, `[measurement][receiver][emitter]`, from shape (1 or M, 2),
/// (1 or M, 2, 1) or (1 or M, 2, E); none when absent.
fn delays(file: &File, m: usize, e: usize) -> Result<Vec<[Vec<f64>; 2]>, SofaError> {
    let (shape, values) = match variable(file, "Data.Delay") {
        Ok(v) => v,
        Err(SofaError::Missing(_)) => return Ok(vec![[vec![0.0; e], vec![0.0; e]]; m]),
        Err(err) => return Err(err),
    };
    let (rows, per_emitter) = match shape.as_slice() {
        &[rows, 2] | &[rows, 2, 1] if rows as usize == m || rows == 1 => (rows as usize, false),
        &[rows, 2, count] if (rows as usize == m || rows == 1) && count as usize == e => {
            (rows as usize, true)
        }
        _ => {
            return Err(SofaError::Shape {
                what: "Data.Delay",
                found: shape,
                expected: format!("(1 or {m}, 2) or (1 or {m}, 2, {e})"),
            })
        }
    };
    check_delays(&values)?;
    Ok((0..m)
        .map(|i| {
            let j = row_of(rows, i);
            std::array::from_fn(|r| {
                (0..e)
                    .map(|k| {
                        if per_emitter {
                            values[(j * 2 + r) * e + k]
                        } else {
                            values[j * 2 + r]
                        }
                    })
                    .collect()
            })
        })
        .collect())
}

/// Where each emitter is in the room: its source's position plus its own, turned by the
/// source's view (local x) and up (local z).
fn placed(source: Vec3, view: Vec3, up: Vec3, local: Vec3) -> Result<Vec3, SofaError> {
    let z = sub(up, scale(view, dot(up, view)));
    let n = length(z);
    if n < 1e-9 {
        return Err(SofaError::Layout(
            "SourceUp points along SourceView, so the source has no orientation".into(),
        ));
    }
    let z = scale(z, 1.0 / n);
    let y = cross(z, view);
    let mut at = source;
    for (axis, k) in [view, y, z].iter().zip(local) {
        at = [
            at[0] + axis[0] * k,
            at[1] + axis[1] * k,
            at[2] + axis[2] * k,
        ];
    }
    Ok(at)
}

/// The line of drivers and the listeners on it: `(spacing, emitter order, driver places,
/// listener poses)`; see the module for the frame.
struct Layout {
    spacing_m: f64,
    emitters: Vec<usize>,
    driver_x_m: Vec<f64>,
    poses: Vec<(f64, f64, f64)>,
}

/// Lays the file's room out in the crate's frame, or says why it cannot.
fn layout(drivers: &[Vec3], listeners: &[Vec3], views: &[Vec3]) -> Result<Layout, SofaError> {
    let e = drivers.len();
    let flat: Vec<Vec3> = drivers.iter().map(|d| horizontal(*d)).collect();
    let centre = scale(
        flat.iter()
            .fold([0.0; 3], |a, d| [a[0] + d[0], a[1] + d[1], 0.0]),
        1.0 / e as f64,
    );
    let (mut longest, mut along) = (0.0, [1.0, 0.0, 0.0]);
    for a in &flat {
        for b in &flat {
            let d = sub(*b, *a);
            if length(d) > longest {
                longest = length(d);
                along = scale(d, 1.0 / longest);
            }
        }
    }
    if longest < SHORTEST_LINE_M {
        return Err(SofaError::Layout(format!(
            "its drivers lie within {:.1} cm of each other; Soundstage needs a line of drivers",
            longest * 100.0
        )));
    }
    // The y axis points from the line to the first listener; the x axis is then the right
    // of anyone facing the line (SOFA's z is up), whichever way that listener looks.
    let normal = [-along[1], along[0], 0.0];
    let y_axis = if dot(normal, sub(horizontal(listeners[0]), centre)) >= 0.0 {
        normal
    } else {
        scale(normal, -1.0)
    };
    let x_axis = [-y_axis[1], y_axis[0], 0.0];
    let place = |p: Vec3| {
        let d = sub(horizontal(p), centre);
        (dot(d, x_axis), dot(d, y_axis))
    };
    let mut emitters: Vec<usize> = (0..e).collect();
    let xs: Vec<(f64, f64)> = drivers.iter().map(|d| place(*d)).collect();
    emitters.sort_by(|&a, &b| xs[a].0.total_cmp(&xs[b].0));
    let first = xs[emitters[0]].0;
    let spacing_m = (xs[emitters[e - 1]].0 - first) / (e - 1) as f64;
    for (rank, &k) in emitters.iter().enumerate() {
        let stray = (xs[k].0 - (first + rank as f64 * spacing_m)).hypot(xs[k].1);
        if stray > DRIVER_LINE_TOLERANCE_M {
            return Err(SofaError::Layout(format!(
                "its drivers are not evenly spaced on a line: driver {} from the left (emitter {}) \
                 is {:.1} cm from where a {:.1} cm spacing puts it, more than the {:.1} cm allowed",
                rank + 1,
                k + 1,
                stray * 100.0,
                spacing_m * 100.0,
                DRIVER_LINE_TOLERANCE_M * 100.0
            )));
        }
    }
    let mut poses = Vec::with_capacity(listeners.len());
    for (i, (at, view)) in listeners.iter().zip(views).enumerate() {
        let (offset, distance) = place(*at);
        if distance < NEAREST_LISTENER_M {
            return Err(SofaError::Layout(format!(
                "measurement {}'s listener is {:.1} cm in front of the drivers' line; \
                 Soundstage needs listeners at least {:.0} cm in front of it",
                i + 1,
                distance * 100.0,
                NEAREST_LISTENER_M * 100.0
            )));
        }
        let nose = (dot(*view, x_axis), dot(*view, y_axis));
        // Adding 0 turns a −0° (a listener facing the line squarely) into 0°.
        let yaw = (-nose.0).atan2(-nose.1).to_degrees() + 0.0;
        poses.push((offset, distance, yaw));
    }
    Ok(Layout {
        spacing_m,
        driver_x_m: emitters.iter().map(|&k| xs[k].0).collect(),
        emitters,
        poses,
    })
}

/// Reads a device measurement (`kind` names where its emitter dimension is) from an open
/// SOFA file whose convention has been checked.
pub(crate) fn parse(
    file: &File,
    name: String,
    kind: DeviceConvention,
) -> Result<DeviceSet, SofaError> {
    let ir = dataset(file, "Data.IR")?;
    let [m, e, n] = device_shape(&ir, kind)?;
    let sample_rate = sample_rate(file)?;
    let listeners = points(file, "ListenerPosition", m, "cartesian", None)?;
    let views = directions(file, "ListenerView", m, [1.0, 0.0, 0.0])?;
    let sources = points(file, "SourcePosition", m, "cartesian", Some([0.0; 3]))?;
    let source_views = directions(file, "SourceView", m, [1.0, 0.0, 0.0])?;
    let source_ups = directions(file, "SourceUp", m, [0.0, 0.0, 1.0])?;
    let local = emitter_points(file, e, m)?;
    let ears = ear_order(file)?;
    let delays = delays(file, m, e)?;
    let mut drivers: Vec<Vec<Vec3>> = Vec::with_capacity(m);
    for i in 0..m {
        let here = local[i]
            .iter()
            .map(|p| placed(sources[i], source_views[i], source_ups[i], *p))
            .collect::<Result<Vec<_>, _>>()?;
        if let Some((k, moved)) = drivers.first().and_then(|first: &Vec<Vec3>| {
            (0..e)
                .map(|k| (k, length(sub(here[k], first[k]))))
                .find(|(_, d)| *d > DRIVERS_STAY_PUT_M)
        }) {
            return Err(SofaError::Layout(format!(
                "emitter {} moves {:.1} cm between measurements 1 and {}; Soundstage reads a \
                 device that stays put while the listener moves",
                k + 1,
                moved * 100.0,
                i + 1
            )));
        }
        drivers.push(here);
    }
    let laid = layout(&drivers[0], &listeners, &views)?;

    let values = ir.read_f64().map_err(corrupt)?;
    if values.len() != m * 2 * e * n {
        return Err(SofaError::Corrupt(format!(
            "Data.IR holds {} values for {m} × 2 × {e} × {n}",
            values.len()
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(SofaError::NotFinite("Data.IR"));
    }
    let taps = n.min((MAX_DEVICE_IR_SECONDS * sample_rate).ceil() as usize);
    let silent = |k: usize| {
        (0..m).all(|i| {
            (0..2).all(|r| (0..n).all(|t| values[kind.index([i, r, t, k], [n, e])] == 0.0))
        })
    };
    if let Some((rank, &k)) = laid.emitters.iter().enumerate().find(|(_, &k)| silent(k)) {
        return Err(SofaError::Layout(format!(
            "driver {} from the left (emitter {}) is silent at both ears in every measurement",
            rank + 1,
            k + 1
        )));
    }
    let listeners = laid
        .poses
        .iter()
        .enumerate()
        .map(
            |(i, &(offset_m, distance_m, yaw_deg))| ListenerMeasurement {
                offset_m,
                distance_m,
                yaw_deg,
                irs: ears.map(|r| {
                    laid.emitters
                        .iter()
                        .map(|&k| {
                            (0..taps)
                                .map(|t| values[kind.index([i, r, t, k], [n, e])] as f32)
                                .collect()
                        })
                        .collect()
                }),
                delays: ears.map(|r| laid.emitters.iter().map(|&k| delays[i][r][k]).collect()),
            },
        )
        .collect::<Vec<_>>();
    // How far a listener is from straight on: its offset, and its turn as the distance it
    // moves the ears.
    let off_axis = |l: &ListenerMeasurement| {
        l.offset_m.abs() + DEFAULT_HEAD_RADIUS_M * l.yaw_deg.abs().to_radians()
    };
    let nominal = (0..m)
        .min_by(|&a, &b| off_axis(&listeners[a]).total_cmp(&off_axis(&listeners[b])))
        .unwrap_or(0);
    Ok(DeviceSet {
        name,
        convention: kind,
        sample_rate,
        taps,
        spacing_m: laid.spacing_m,
        emitters: laid.emitters,
        driver_x_m: laid.driver_x_m,
        listeners,
        nominal,
    })
}
