//! A measured device in the form the plugin state stores it: its line of drivers, every
//! measured listener and their responses, trimmed to where they have decayed, so that a
//! session designed from a prototype's measurement reopens on another machine without the
//! SOFA file.

use crate::design::model::sofa_device::{DeviceConvention, DeviceSet, ListenerMeasurement};
use crate::design::HeadDamage;
use crate::limits::{
    DEVICE_DRIVERS, MAX_DEVICE_COORDINATE_M, MAX_DEVICE_IR_SECONDS, MAX_DEVICE_POSITIONS,
    MAX_STORED_DEVICE_RESPONSES, MAX_STORED_DEVICE_VALUES, SAMPLE_RATES_HZ,
};
use base64::Engine as _;

/// Taps below this fraction of the loudest tap, at the end of every response, are not
/// stored (silence after the responses have decayed).
const TRIM_BELOW: f32 = 1e-5;

/// Nearest a stored listener may be to the drivers' line, metres (the reader's bound).
const NEAREST_LISTENER_M: f64 = 0.15;

/// One measured listener in the state.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredListener {
    /// Head centre along the line, metres, positive to the listener's right.
    pub offset_m: f64,
    /// Head centre in front of the line, metres.
    pub distance_m: f64,
    /// Head turn, degrees, positive to the listener's left.
    pub yaw_deg: f64,
    /// `Data.Delay` of each response, samples, `[ear][driver]`.
    pub delays: [Vec<f64>; 2],
}

/// A measured device's data in the state.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredDevice {
    /// The measurement's name.
    pub name: String,
    /// The `SOFAConventions` the file followed.
    pub convention: String,
    /// Sample rate of the responses, Hz.
    pub sample_rate: f64,
    /// Distance between neighbouring drivers, metres.
    pub spacing_m: f64,
    /// The file's emitter index of each driver, leftmost first.
    pub emitters: Vec<usize>,
    /// Each driver's place along the line, metres, leftmost first.
    pub driver_x_m: Vec<f64>,
    /// Every measured listener, in the file's order.
    pub listeners: Vec<StoredListener>,
    /// The listener designed for by default.
    pub nominal: usize,
    /// Taps per response.
    pub taps: usize,
    /// The responses as little-endian f32, `[listener][ear][driver][tap]`, base64.
    pub irs: String,
}

/// Why a device cannot be kept in the session.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("its {responses} responses of {taps} taps (after trimming the silence) are more than a session keeps ({max_responses} responses, {max_values} values): measure fewer positions or window the responses shorter", max_responses = MAX_STORED_DEVICE_RESPONSES, max_values = MAX_STORED_DEVICE_VALUES)]
pub struct TooLargeToStore {
    /// How many responses it holds.
    pub responses: usize,
    /// Taps it would keep of each.
    pub taps: usize,
}

impl StoredDevice {
    /// What the state keeps of `set`, or why it is too large to keep.
    pub fn from_set(set: &DeviceSet) -> Result<Self, TooLargeToStore> {
        let responses = || set.listeners.iter().flat_map(|l| l.irs.iter().flatten());
        let peak = responses().flatten().fold(0.0f32, |a, v| a.max(v.abs()));
        let taps = responses()
            .filter_map(|ir| ir.iter().rposition(|v| v.abs() > peak * TRIM_BELOW))
            .max()
            .map_or(1, |last| last + 1);
        let count = responses().count();
        let values = count.saturating_mul(taps);
        if values > MAX_STORED_DEVICE_VALUES || count > MAX_STORED_DEVICE_RESPONSES {
            return Err(TooLargeToStore {
                responses: count,
                taps,
            });
        }
        let mut bytes = Vec::with_capacity(values * 4);
        for ir in responses() {
            for t in 0..taps {
                bytes.extend_from_slice(&ir.get(t).copied().unwrap_or(0.0).to_le_bytes());
            }
        }
        Ok(Self {
            name: set.name.clone(),
            convention: set.convention.attribute().to_string(),
            sample_rate: set.sample_rate,
            spacing_m: set.spacing_m,
            emitters: set.emitters.clone(),
            driver_x_m: set.driver_x_m.clone(),
            listeners: set
                .listeners
                .iter()
                .map(|l| StoredListener {
                    offset_m: l.offset_m,
                    distance_m: l.distance_m,
                    yaw_deg: l.yaw_deg,
                    delays: l.delays.clone(),
                })
                .collect(),
            nominal: set.nominal,
            taps,
            irs: base64::engine::general_purpose::STANDARD.encode(bytes),
        })
    }

    /// The measurement back, or why the stored data is unusable (a damaged or hand-edited
    /// state): every count within the reader's limits before any arithmetic or decoding,
    /// every number finite, the line ordered and every listener in front of it.
    pub fn to_set(&self) -> Result<DeviceSet, HeadDamage> {
        let drivers = self.driver_x_m.len();
        let listeners = self.listeners.len();
        let max_taps = (MAX_DEVICE_IR_SECONDS * SAMPLE_RATES_HZ.end()) as usize;
        if !DEVICE_DRIVERS.contains(&(drivers as u64))
            || !(1..=MAX_DEVICE_POSITIONS).contains(&(listeners as u64))
            || !(1..=max_taps).contains(&self.taps)
            || self.emitters.len() != drivers
            || self.nominal >= listeners
            || self
                .listeners
                .iter()
                .any(|l| l.delays.iter().any(|d| d.len() != drivers))
        {
            return Err(HeadDamage::Sizes);
        }
        let responses = listeners * 2 * drivers;
        let values = responses
            .checked_mul(self.taps)
            .filter(|&n| n <= MAX_STORED_DEVICE_VALUES && responses <= MAX_STORED_DEVICE_RESPONSES)
            .ok_or(HeadDamage::Sizes)?;
        if self.irs.len() != (values * 4).div_ceil(3) * 4 {
            return Err(HeadDamage::Sizes);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.irs)
            .map_err(|e| HeadDamage::Encoding(e.to_string()))?;
        if bytes.len() != values * 4 {
            return Err(HeadDamage::Sizes);
        }
        let samples: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let within = |v: f64| v.is_finite() && v.abs() <= MAX_DEVICE_COORDINATE_M;
        let line_ok = self.driver_x_m.iter().all(|&x| within(x))
            && self.driver_x_m.windows(2).all(|w| w[1] > w[0])
            && self.spacing_m > 0.0
            && within(self.spacing_m);
        let listeners_ok = self.listeners.iter().all(|l| {
            within(l.offset_m)
                && within(l.distance_m)
                && l.distance_m >= NEAREST_LISTENER_M
                && l.yaw_deg.is_finite()
                && l.delays
                    .iter()
                    .flatten()
                    .all(|d| d.is_finite() && d.abs() <= 1e6)
        });
        let convention = DeviceConvention::from_attribute(&self.convention);
        // As the reader refuses it: a driver silent at both ears in every measurement.
        let response = |i: usize| &samples[i * self.taps..(i + 1) * self.taps];
        let silent_driver = (0..drivers).any(|d| {
            (0..listeners * 2).all(|pair| response(pair * drivers + d).iter().all(|&v| v == 0.0))
        });
        if samples.iter().any(|v| !v.is_finite())
            || silent_driver
            || !SAMPLE_RATES_HZ.contains(&self.sample_rate)
            || !line_ok
            || !listeners_ok
            || convention.is_none()
        {
            return Err(HeadDamage::Values);
        }
        let mut responses = samples.chunks_exact(self.taps).map(<[f32]>::to_vec);
        let mut take =
            || -> Vec<Vec<f32>> { (0..drivers).filter_map(|_| responses.next()).collect() };
        let listeners = self
            .listeners
            .iter()
            .map(|l| ListenerMeasurement {
                offset_m: l.offset_m,
                distance_m: l.distance_m,
                yaw_deg: l.yaw_deg,
                irs: [take(), take()],
                delays: l.delays.clone(),
            })
            .collect();
        Ok(DeviceSet {
            name: self.name.clone(),
            convention: convention.ok_or(HeadDamage::Values)?,
            sample_rate: self.sample_rate,
            taps: self.taps,
            spacing_m: self.spacing_m,
            emitters: self.emitters.clone(),
            driver_x_m: self.driver_x_m.clone(),
            listeners,
            nominal: self.nominal,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(taps: usize, listeners: usize) -> StoredDevice {
        let values = listeners * 2 * 2 * taps;
        let bytes: Vec<u8> = (0..values)
            .flat_map(|i| (i as f32 * 0.01).to_le_bytes())
            .collect();
        let irs = base64::engine::general_purpose::STANDARD.encode(bytes);
        StoredDevice {
            name: "hostile".into(),
            convention: "SingleRoomMIMOSRIR".into(),
            sample_rate: 48_000.0,
            spacing_m: 0.2,
            emitters: vec![1, 0],
            driver_x_m: vec![-0.1, 0.1],
            listeners: (0..listeners)
                .map(|_| StoredListener {
                    offset_m: 0.0,
                    distance_m: 0.6,
                    yaw_deg: 0.0,
                    delays: [vec![0.0; 2], vec![0.0; 2]],
                })
                .collect(),
            nominal: 0,
            taps,
            irs,
        }
    }

    #[test]
    fn a_stored_device_within_the_limits_reads_back() {
        let set = device(3, 2).to_set().expect("a valid device");
        assert_eq!(set.listeners.len(), 2);
        // Listener 1, ear 1 is the fourth pair of two drivers' responses of three taps.
        let expected: Vec<f32> = (18..21).map(|i| i as f32 * 0.01).collect();
        assert_eq!(set.listeners[1].irs[1][0], expected);
        let again = StoredDevice::from_set(&set).unwrap().to_set().unwrap();
        assert_eq!(again.listeners.len(), 2);
        assert_eq!(again.driver_x_m, set.driver_x_m);
    }

    #[test]
    fn counts_and_values_a_reader_would_refuse_are_refused_before_decoding() {
        let sizes = [
            StoredDevice {
                taps: usize::MAX,
                ..device(1, 1)
            },
            StoredDevice {
                taps: 0,
                ..device(1, 1)
            },
            StoredDevice {
                nominal: 1,
                ..device(1, 1)
            },
            StoredDevice {
                emitters: vec![0],
                ..device(1, 1)
            },
            StoredDevice {
                driver_x_m: vec![0.0; 9],
                ..device(1, 1)
            },
            StoredDevice {
                irs: String::new(),
                ..device(4, 1)
            },
        ];
        for d in sizes {
            assert_eq!(d.to_set(), Err(HeadDamage::Sizes), "{d:?}");
        }
        let mut behind = device(2, 1);
        behind.listeners[0].distance_m = -0.6;
        let mut nan = device(2, 1);
        nan.spacing_m = f64::NAN;
        let mut unordered = device(2, 1);
        unordered.driver_x_m = vec![0.1, -0.1];
        let mut convention = device(2, 1);
        convention.convention = "SimpleFreeFieldHRIR".into();
        let silent = StoredDevice {
            irs: base64::engine::general_purpose::STANDARD.encode([0u8; 2 * 2 * 2 * 4]),
            ..device(2, 1)
        };
        for d in [behind, nan, unordered, convention, silent] {
            assert_eq!(d.to_set(), Err(HeadDamage::Values), "{d:?}");
        }
    }
}
