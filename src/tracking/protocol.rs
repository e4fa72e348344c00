//! The datagrams Soundstage understands, and how each maps onto the design's pose (x to the
//! listener's right, y away from the array, yaw with the nose to the listener's left; see
//! [`super`]). Anything else (malformed, truncated, not finite, beyond
//! [`MAX_TRACKED_POSITION_M`] or [`MAX_TRACKED_ANGLE_DEG`], another protocol) is `None`:
//! the listener counts it as dropped.
//!
//! - opentrack's "UDP over network" output (`proto-udp`): exactly 48 bytes, six
//!   little-endian f64: x, y, z in centimetres, yaw, pitch, roll in degrees, after
//!   opentrack's own centring, filter and mapping curves. opentrack's frame, as its trackers
//!   fill it (SteamVR, Tobii and the neural-net tracker agree): +x the user's own left, +y up,
//!   +z away from the camera, +yaw the head turned to the user's right. With the camera on
//!   the drivers: our x = −x, our distance = +z, our yaw = −yaw.
//! - OSC (decoded by `rosc`; a bundle's messages are read in order), numbers as float32,
//!   float64 or int32:
//!   - `/ypr yaw pitch roll`, degrees, SPARTA's rotator convention (x front, y left, z up,
//!     right-handed: +yaw the head turned left): our yaw = +yaw. The IEM SceneRotator's
//!     angles turn the scene, the opposite way: a tracker set up for it needs its yaw
//!     inverted.
//!   - `/xyz x y z`, metres, the same frame (x towards the drivers the listener faces, y to
//!     the listener's left): a displacement; our x = −y, our distance = −x.
//!   - `/soundstage/pose x y yaw` (metres, metres, degrees): the design's own pose, a place
//!     rather than a displacement; and `/soundstage/centre`.

use super::Pose;
use crate::limits::{MAX_TRACKED_ANGLE_DEG, MAX_TRACKED_POSITION_M};
use rosc::{OscMessage, OscPacket, OscType};

/// Size of an opentrack datagram.
pub const OPENTRACK_BYTES: usize = 48;

/// Which protocol a datagram spoke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Open Sound Control.
    Osc,
    /// opentrack's "UDP over network".
    Opentrack,
}

impl Protocol {
    /// A small number for an atomic (0 is "none yet").
    pub fn code(self) -> u8 {
        match self {
            Protocol::Osc => 1,
            Protocol::Opentrack => 2,
        }
    }

    /// The protocol with this code.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Protocol::Osc),
            2 => Some(Protocol::Opentrack),
            _ => None,
        }
    }

    /// The name users know it by.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Osc => "OSC",
            Protocol::Opentrack => "opentrack",
        }
    }
}

/// What one message says of the listener, in the design's axes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reading {
    /// A tracker's full reading: a displacement from the tracker's own centre.
    Tracker(Pose),
    /// Yaw alone (degrees; `/ypr`'s pitch and roll are ignored).
    Yaw(f64),
    /// Position alone: a displacement, metres (`/xyz`).
    Position {
        /// Sideways, positive to the listener's right.
        x_m: f64,
        /// Away from the array.
        y_m: f64,
    },
    /// A place in the design's own frame (`/soundstage/pose`).
    Pose(Pose),
    /// Make the current reading the nominal listener.
    Centre,
}

impl Reading {
    /// The reading of a tracker whose yaw turns the other way (see
    /// `TrackingSettings::invert_yaw`): a tracker's yaw negated; positions, our own
    /// `/soundstage/pose` and "Centre" unchanged.
    pub fn yaw_inverted(self) -> Self {
        match self {
            Reading::Tracker(p) => Reading::Tracker(Pose {
                yaw_deg: -p.yaw_deg,
                ..p
            }),
            Reading::Yaw(yaw_deg) => Reading::Yaw(-yaw_deg),
            other => other,
        }
    }
}

/// Parses one datagram: its protocol and what it says, or `None` if it is not a pose.
/// A 48-byte OSC message could also read as six doubles: it is tried as OSC first (OSC
/// always starts with `/` or `#bundle`), and as opentrack if it is not a pose.
pub fn parse(bytes: &[u8]) -> Option<(Protocol, Vec<Reading>)> {
    let as_opentrack = || {
        (bytes.len() == OPENTRACK_BYTES)
            .then(|| opentrack(bytes))
            .flatten()
            .map(|r| (Protocol::Opentrack, vec![r]))
    };
    let as_osc = || {
        let (rest, packet) = rosc::decoder::decode_udp(bytes).ok()?;
        if !rest.is_empty() {
            return None;
        }
        let mut readings = Vec::new();
        collect(&packet, &mut readings)?;
        (!readings.is_empty()).then_some((Protocol::Osc, readings))
    };
    if bytes.first().is_some_and(|&b| b == b'/' || b == b'#') {
        as_osc().or_else(as_opentrack)
    } else {
        as_opentrack().or_else(as_osc)
    }
}

/// opentrack's six doubles: x, y, z (cm), yaw, pitch, roll (°), mapped as the module says.
fn opentrack(bytes: &[u8]) -> Option<Reading> {
    let value = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        f64::from_le_bytes(b)
    };
    let v: [f64; 6] = std::array::from_fn(value);
    let position = [v[0], v[1], v[2]].map(|cm| cm / 100.0);
    if !position.iter().all(|&m| within(m, MAX_TRACKED_POSITION_M))
        || !v[3..].iter().all(|&d| within(d, MAX_TRACKED_ANGLE_DEG))
    {
        return None;
    }
    Some(Reading::Tracker(Pose {
        x_m: OPENTRACK_X_SIGN * position[0],
        y_m: OPENTRACK_Z_SIGN * position[2],
        yaw_deg: OPENTRACK_YAW_SIGN * v[3],
    }))
}

/// The sign that turns opentrack's x (the user's left) into ours (their right).
const OPENTRACK_X_SIGN: f64 = -1.0;
/// The sign that turns opentrack's z (away from the camera) into our distance.
const OPENTRACK_Z_SIGN: f64 = 1.0;
/// The sign that turns opentrack's yaw (to the user's right) into ours (to their left).
const OPENTRACK_YAW_SIGN: f64 = -1.0;

fn within(value: f64, limit: f64) -> bool {
    value.is_finite() && value.abs() <= limit
}

/// Adds what `packet` says to `readings`; `None` if any message in it is not a pose.
fn collect(packet: &OscPacket, readings: &mut Vec<Reading>) -> Option<()> {
    match packet {
        OscPacket::Message(m) => readings.push(message(m)?),
        OscPacket::Bundle(b) => {
            for p in &b.content {
                collect(p, readings)?;
            }
        }
    }
    Some(())
}

/// One OSC message as a reading.
fn message(m: &OscMessage) -> Option<Reading> {
    let numbers = numbers(&m.args)?;
    match (m.addr.as_str(), numbers.as_slice()) {
        ("/ypr", &[yaw, pitch, roll]) => {
            angles(&[yaw, pitch, roll])?;
            Some(Reading::Yaw(YPR_YAW_SIGN * yaw))
        }
        ("/xyz", &[x, y, z]) => {
            positions(&[x, y, z])?;
            Some(Reading::Position {
                x_m: XYZ_SIDEWAYS.0 * [x, y, z][XYZ_SIDEWAYS.1],
                y_m: XYZ_AWAY.0 * [x, y, z][XYZ_AWAY.1],
            })
        }
        ("/soundstage/pose", &[x, y, yaw]) => {
            positions(&[x, y])?;
            angles(&[yaw])?;
            Some(Reading::Pose(Pose {
                x_m: x,
                y_m: y,
                yaw_deg: yaw,
            }))
        }
        ("/soundstage/centre", &[]) => Some(Reading::Centre),
        _ => None,
    }
}

/// `/ypr`'s yaw sign in ours (both count a turn to the left positive).
const YPR_YAW_SIGN: f64 = 1.0;
/// Which `/xyz` axis, with its sign, is our sideways axis: −y (y is to the left).
const XYZ_SIDEWAYS: (f64, usize) = (-1.0, 1);
/// Which `/xyz` axis, with its sign, is our distance from the drivers: −x (x is forward).
const XYZ_AWAY: (f64, usize) = (-1.0, 0);

fn angles(values: &[f64]) -> Option<()> {
    values
        .iter()
        .all(|&d| within(d, MAX_TRACKED_ANGLE_DEG))
        .then_some(())
}

fn positions(values: &[f64]) -> Option<()> {
    values
        .iter()
        .all(|&m| within(m, MAX_TRACKED_POSITION_M))
        .then_some(())
}

/// The arguments as numbers (floats, doubles or integers, as senders differ), or `None` if
/// any is something else.
fn numbers(args: &[OscType]) -> Option<Vec<f64>> {
    args.iter()
        .map(|a| match a {
            OscType::Float(v) => Some(*v as f64),
            OscType::Double(v) => Some(*v),
            OscType::Int(v) => Some(*v as f64),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rosc::encoder::encode;

    fn osc(addr: &str, args: Vec<OscType>) -> Vec<u8> {
        encode(&OscPacket::Message(OscMessage {
            addr: addr.into(),
            args,
        }))
        .expect("encodes")
    }

    fn opentrack_bytes(v: [f64; 6]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn each_protocol_maps_onto_the_designs_axes() {
        // opentrack: 4 cm to the user's left, 10 cm back, head turned 20° to the right.
        let (p, r) = parse(&opentrack_bytes([4.0, 7.0, 10.0, 20.0, 5.0, 3.0])).unwrap();
        assert_eq!(p, Protocol::Opentrack);
        let Reading::Tracker(pose) = r[0] else {
            panic!("{r:?}")
        };
        assert!((pose.x_m + 0.04).abs() < 1e-12 && (pose.y_m - 0.10).abs() < 1e-12);
        assert_eq!(pose.yaw_deg, -20.0);
        let f = OscType::Float;
        let (p, r) = parse(&osc("/ypr", vec![f(15.0), f(30.0), f(-5.0)])).unwrap();
        assert_eq!((p, r), (Protocol::Osc, vec![Reading::Yaw(15.0)]));
        // 0.2 m forward (towards the drivers) and 0.1 m to the listener's left.
        let (_, r) = parse(&osc("/xyz", vec![f(0.2), f(0.1), f(1.5)])).unwrap();
        let Reading::Position { x_m, y_m } = r[0] else {
            panic!("{r:?}")
        };
        assert!(
            (x_m + 0.1).abs() < 1e-7 && (y_m + 0.2).abs() < 1e-7,
            "{x_m} {y_m}"
        );
        let args = vec![OscType::Double(0.05), OscType::Int(1), f(-10.0)];
        let (_, r) = parse(&osc("/soundstage/pose", args)).unwrap();
        assert_eq!(
            r,
            vec![Reading::Pose(Pose {
                x_m: 0.05,
                y_m: 1.0,
                yaw_deg: -10.0
            })]
        );
        assert_eq!(
            parse(&osc("/soundstage/centre", vec![])).unwrap().1,
            vec![Reading::Centre]
        );
    }

    #[test]
    fn a_bundle_is_read_in_order_and_spoils_whole_if_one_message_is_not_a_pose() {
        let message = |addr: &str, yaw: f32| {
            OscPacket::Message(OscMessage {
                addr: addr.into(),
                args: vec![
                    OscType::Float(yaw),
                    OscType::Float(0.0),
                    OscType::Float(0.0),
                ],
            })
        };
        let bundle = |content| {
            encode(&OscPacket::Bundle(rosc::OscBundle {
                timetag: (0, 1).into(),
                content,
            }))
            .unwrap()
        };
        let good = bundle(vec![message("/ypr", 1.0), message("/ypr", 2.0)]);
        assert_eq!(
            parse(&good).unwrap().1,
            vec![Reading::Yaw(1.0), Reading::Yaw(2.0)]
        );
        assert_eq!(
            parse(&bundle(vec![message("/ypr", 1.0), message("/volume", 2.0)])),
            None
        );
    }

    #[test]
    fn what_is_not_a_pose_is_dropped() {
        let f = OscType::Float;
        let nan = opentrack_bytes([f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let far = opentrack_bytes([1e6, 0.0, 0.0, 0.0, 0.0, 0.0]);
        let spun = opentrack_bytes([0.0, 0.0, 0.0, 1e4, 0.0, 0.0]);
        let valid = opentrack_bytes([0.0; 6]);
        let mut garbage = vec![0u8; 200];
        garbage[..7].copy_from_slice(b"#bundle");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("opentrack NaN", nan),
            ("opentrack 10 km", far),
            ("opentrack 10,000°", spun),
            ("47 bytes", valid[..47].to_vec()),
            ("49 bytes", [valid.clone(), vec![0]].concat()),
            ("two numbers", osc("/ypr", vec![f(1.0), f(2.0)])),
            (
                "a string",
                osc("/ypr", vec![OscType::String("x".into()), f(0.0), f(0.0)]),
            ),
            ("NaN yaw", osc("/ypr", vec![f(f32::NAN), f(0.0), f(0.0)])),
            (
                "infinite x",
                osc("/xyz", vec![f(f32::INFINITY), f(0.0), f(0.0)]),
            ),
            (
                "100 m",
                osc("/soundstage/pose", vec![f(100.0), f(1.0), f(0.0)]),
            ),
            (
                "another address",
                osc("/volume", vec![f(1.0), f(0.0), f(0.0)]),
            ),
            (
                "centre with arguments",
                osc("/soundstage/centre", vec![f(1.0)]),
            ),
            (
                "truncated",
                osc("/ypr", vec![f(1.0), f(2.0), f(3.0)])[..20].to_vec(),
            ),
            ("a broken bundle", garbage),
            ("text", b"hello world, this is not OSC".to_vec()),
        ];
        for (what, bytes) in cases {
            assert_eq!(parse(&bytes), None, "{what}");
        }
    }
}
