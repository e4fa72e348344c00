//! Which head the filters are designed for, in the form the plugin state stores it: the
//! built-in sphere, a measured head whose horizontal-plane HRIRs travel inside the state, or
//! a measured device (see [`StoredDevice`]), so that a session reopens on another machine
//! without the SOFA file.

use crate::design::model::device::MeasuredDevice;
use crate::design::model::geometry::Geometry;
use crate::design::model::measured::{to_right, MeasuredHead, MAX_GAP_DEG};
use crate::design::model::plant::{Plant, SphereHead};
use crate::design::model::sofa::{HrirSet, Measurement};
use crate::design::model::stored_device::StoredDevice;
use crate::design::{DesignError, HeadDamage};
use crate::limits::{MAX_STORED_DIRECTIONS, MAX_STORED_TAPS, MEASUREMENT_RADII_M, SAMPLE_RATES_HZ};
use base64::Engine as _;
use std::sync::Arc;

/// Taps below this fraction of the loudest tap, at the end of every response, are not
/// stored (silence after the response has decayed).
const TRIM_BELOW: f32 = 1e-5;

/// What the filters are designed for. The state carries it in two fields: the head choice
/// (`measured`, `set`) as "head", and the device (see [`DeviceChoice`]) as "device".
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct HeadChoice {
    /// Design for the measured head (when one is stored) instead of the sphere.
    pub measured: bool,
    /// The measured head last loaded, kept while the sphere is chosen so that switching back
    /// needs no file.
    pub set: Option<Arc<StoredSet>>,
    /// Design for the measured device (when one is stored) instead of either head (stored
    /// in the "device" field).
    #[serde(skip)]
    pub device_chosen: bool,
    /// The measured device last loaded, kept while a head is chosen (stored in the
    /// "device" field).
    #[serde(skip)]
    pub device: Option<Arc<StoredDevice>>,
}

/// The measured device part of a [`HeadChoice`], persisted in a field of its own so that a
/// version that knows no devices keeps it, as it keeps every field it does not know, and
/// saves it again with the session.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeviceChoice {
    /// Design for the device (when one is stored).
    pub chosen: bool,
    /// The device last loaded.
    pub device: Option<Arc<StoredDevice>>,
}

/// What a [`HeadChoice`] designs for.
#[derive(Clone, Copy, Debug)]
pub enum Chosen<'a> {
    /// The built-in sphere.
    Sphere,
    /// The stored measured head.
    Head(&'a Arc<StoredSet>),
    /// The stored measured device.
    Device(&'a Arc<StoredDevice>),
}

/// A measured head's data in the state: the directions in front of the listener (drivers are
/// never behind), their responses trimmed to where they have decayed.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredSet {
    /// The set's name.
    pub name: String,
    /// Sample rate of the responses, Hz.
    pub sample_rate: f64,
    /// Measurement radius, metres.
    pub radius_m: f64,
    /// Azimuth of each measurement (SOFA convention), degrees.
    pub azimuths_deg: Vec<f64>,
    /// Taps per response.
    pub taps: usize,
    /// The responses as little-endian f32, `[measurement][ear][tap]`, base64.
    pub irs: String,
}

impl StoredSet {
    /// What the state keeps of `set`.
    pub fn from_set(set: &HrirSet) -> Self {
        let kept: Vec<&Measurement> = set
            .measurements
            .iter()
            .filter(|m| to_right(m.azimuth_deg).abs() <= 90.0 + MAX_GAP_DEG)
            .collect();
        let peak = kept
            .iter()
            .flat_map(|m| m.irs.iter().flatten())
            .fold(0.0f32, |a, v| a.max(v.abs()));
        let taps = kept
            .iter()
            .flat_map(|m| m.irs.iter())
            .filter_map(|ir| ir.iter().rposition(|v| v.abs() > peak * TRIM_BELOW))
            .max()
            .map_or(1, |last| last + 1);
        let mut bytes = Vec::with_capacity(kept.len() * 2 * taps * 4);
        for m in &kept {
            for ir in &m.irs {
                for t in 0..taps {
                    bytes.extend_from_slice(&ir.get(t).copied().unwrap_or(0.0).to_le_bytes());
                }
            }
        }
        Self {
            name: set.name.clone(),
            sample_rate: set.sample_rate,
            radius_m: set.radius_m,
            azimuths_deg: kept.iter().map(|m| m.azimuth_deg).collect(),
            taps,
            irs: base64::engine::general_purpose::STANDARD.encode(bytes),
        }
    }

    /// The set back, or why the stored data is unusable (a damaged or hand-edited state).
    pub fn to_set(&self) -> Result<HrirSet, HeadDamage> {
        // The counts come from outside: bound them before any arithmetic or decoding, so
        // that no product can wrap and nothing larger than they allow is decoded.
        let directions = self.azimuths_deg.len();
        if !(1..=MAX_STORED_TAPS).contains(&self.taps)
            || !(1..=MAX_STORED_DIRECTIONS).contains(&directions)
        {
            return Err(HeadDamage::Sizes);
        }
        let expected = directions * 2 * self.taps * 4;
        if self.irs.len() != expected.div_ceil(3) * 4 {
            return Err(HeadDamage::Sizes);
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.irs)
            .map_err(|e| HeadDamage::Encoding(e.to_string()))?;
        if bytes.len() != expected {
            return Err(HeadDamage::Sizes);
        }
        let values: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if values.iter().any(|v| !v.is_finite())
            || self.azimuths_deg.iter().any(|a| !a.is_finite())
            || !SAMPLE_RATES_HZ.contains(&self.sample_rate)
            || !MEASUREMENT_RADII_M.contains(&self.radius_m)
        {
            return Err(HeadDamage::Values);
        }
        let measurements = self
            .azimuths_deg
            .iter()
            .enumerate()
            .map(|(i, &azimuth_deg)| {
                let ir = |ear: usize| {
                    let start = (i * 2 + ear) * self.taps;
                    values[start..start + self.taps].to_vec()
                };
                Measurement {
                    azimuth_deg,
                    irs: [ir(0), ir(1)],
                }
            })
            .collect();
        Ok(HrirSet {
            name: self.name.clone(),
            sample_rate: self.sample_rate,
            radius_m: self.radius_m,
            measurements,
        })
    }
}

impl HeadChoice {
    /// The device part, as the "device" field stores it.
    pub fn device_choice(&self) -> DeviceChoice {
        DeviceChoice {
            chosen: self.device_chosen,
            device: self.device.clone(),
        }
    }

    /// This head choice with the device part `device`.
    pub fn with_device(self, device: DeviceChoice) -> Self {
        Self {
            device_chosen: device.chosen,
            device: device.device,
            ..self
        }
    }

    /// What this choice designs for: the device when it is chosen and stored, else the
    /// measured head when it is chosen and stored, else the sphere.
    pub fn chosen(&self) -> Chosen<'_> {
        match (&self.device, &self.set) {
            (Some(device), _) if self.device_chosen => Chosen::Device(device),
            (_, Some(set)) if self.measured => Chosen::Head(set),
            _ => Chosen::Sphere,
        }
    }

    /// The plant this choice designs for.
    pub fn plant(&self) -> Result<Arc<dyn Plant>, DesignError> {
        Ok(match self.chosen() {
            Chosen::Sphere => Arc::new(SphereHead::default()),
            Chosen::Head(set) => Arc::new(MeasuredHead::new(&set.to_set()?)),
            Chosen::Device(device) => Arc::new(MeasuredDevice::new(&device.to_set()?)),
        })
    }

    /// Whether two choices design for the same head (cheap: the stored data is shared).
    pub fn same_head(&self, other: &HeadChoice) -> bool {
        let data = |c: &HeadChoice| match c.chosen() {
            Chosen::Sphere => None,
            Chosen::Head(set) => Some(Arc::as_ptr(set).cast::<()>()),
            Chosen::Device(device) => Some(Arc::as_ptr(device).cast::<()>()),
        };
        data(self) == data(other)
    }
}

/// Turns head choices into plants, rebuilding only when the head changes (building a
/// measured head analyses its responses: milliseconds, too much for every poll).
pub struct PlantCache {
    /// The choice last asked for and what it gave.
    last: Option<(HeadChoice, PlantOrWhyNot)>,
    /// The sphere that stands in whenever the chosen head cannot serve: always the same
    /// plant, so that whoever caches by plant sees no change while the fallback lasts.
    sphere: Arc<dyn Plant>,
}

impl Default for PlantCache {
    fn default() -> Self {
        Self {
            last: None,
            sphere: Arc::new(SphereHead::default()),
        }
    }
}

/// A plant, or why the head's data gives none.
type PlantOrWhyNot = Result<Arc<dyn Plant>, DesignError>;

impl PlantCache {
    /// The plant for `choice` (or why its stored data is unusable).
    pub fn get(&mut self, choice: &HeadChoice) -> Result<Arc<dyn Plant>, DesignError> {
        if let Some((last, plant)) = &self.last {
            if last.same_head(choice) {
                return plant.clone();
            }
        }
        let plant = choice.plant();
        self.last = Some((choice.clone(), plant.clone()));
        plant
    }

    /// The plant that serves `geometry`: the chosen head, or else the sphere, with why the
    /// chosen head cannot (damaged data, a direction it does not cover).
    pub fn serving(
        &mut self,
        choice: &HeadChoice,
        geometry: &Geometry,
    ) -> (Arc<dyn Plant>, Option<DesignError>) {
        match self.get(choice).and_then(|p| p.check(geometry).map(|()| p)) {
            Ok(plant) => (plant, None),
            Err(why) => (self.sphere.clone(), Some(why)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(taps: usize, directions: usize, irs: &str) -> StoredSet {
        StoredSet {
            name: "hostile".into(),
            sample_rate: 48_000.0,
            radius_m: 1.0,
            azimuths_deg: vec![0.0; directions],
            taps,
            irs: irs.into(),
        }
    }

    #[test]
    fn counts_that_would_wrap_or_pass_the_limits_are_refused_before_decoding() {
        // 2·2^61·4 wraps to 0 in 64 bits: with empty data the old size check passed.
        for set in [
            stored(1 << 61, 1, ""),
            stored((1 << 61) + 1, 1, "AAAAAAAAAAA="),
            stored(usize::MAX, 1, ""),
            stored(0, 1, ""),
            stored(MAX_STORED_TAPS + 1, 1, ""),
            stored(1, MAX_STORED_DIRECTIONS + 1, ""),
            stored(1, 0, ""),
        ] {
            assert!(
                matches!(set.to_set(), Err(HeadDamage::Sizes)),
                "{} taps, {} directions",
                set.taps,
                set.azimuths_deg.len()
            );
        }
    }

    #[test]
    fn the_device_travels_in_its_own_field() {
        let irs = base64::engine::general_purpose::STANDARD.encode([0u8; 2 * 3 * 4]);
        let choice = HeadChoice {
            measured: true,
            set: Some(Arc::new(stored(3, 1, &irs))),
            device_chosen: true,
            device: None,
        };
        let head: serde_json::Value = serde_json::to_value(&choice).unwrap();
        assert_eq!(head.as_object().unwrap().len(), 2, "{head}");
        let back: HeadChoice = serde_json::from_value(head).unwrap();
        assert_eq!(back.with_device(choice.device_choice()), choice);
    }

    #[test]
    fn a_state_from_before_devices_reads_as_it_was_saved() {
        let irs = base64::engine::general_purpose::STANDARD.encode([0u8; 2 * 3 * 4]);
        let set = serde_json::to_string(&stored(3, 1, &irs)).unwrap();
        let old: HeadChoice =
            serde_json::from_str(&format!(r#"{{"measured":true,"set":{set}}}"#)).unwrap();
        assert!(old.device.is_none() && !old.device_chosen);
        assert!(matches!(old.chosen(), Chosen::Head(_)));
        let sphere: HeadChoice = serde_json::from_str(r#"{"measured":false,"set":null}"#).unwrap();
        assert!(matches!(sphere.chosen(), Chosen::Sphere));
    }

    #[test]
    fn a_chosen_device_without_data_designs_for_the_head_choice_beneath_it() {
        let choice = HeadChoice {
            device_chosen: true,
            ..HeadChoice::default()
        };
        assert!(matches!(choice.chosen(), Chosen::Sphere));
    }

    #[test]
    fn a_stored_set_within_the_limits_reads_back() {
        let irs = base64::engine::general_purpose::STANDARD.encode([0u8; 2 * 3 * 4]);
        let set = stored(3, 1, &irs).to_set().expect("a valid set");
        assert_eq!(set.measurements[0].irs[1], vec![0.0; 3]);
    }
}
