//! Where the drivers and the listener are. Every model and every design starts here.
//!
//! Conventions (one set, used everywhere): drivers lie on the x axis, centred on the origin,
//! facing +y; driver 0 is the listener's leftmost. The listener's head centre is at
//! (`offset_m`, `distance_m`), facing the array; +x is the listener's right. The head may be
//! turned by `yaw_deg`, positive to the listener's own left (counter-clockwise seen from
//! above, the way head trackers count it). Azimuths are measured at the head from the nose,
//! positive to the listener's right.

use crate::design::SPEED_OF_SOUND;

/// Mean adult head radius of the sphere model (Brown & Duda 1998), in metres.
pub const DEFAULT_HEAD_RADIUS_M: f64 = 0.0875;

/// Angle of each ear from the nose in the sphere model, in degrees (Brown & Duda: ±100°).
pub const EAR_AZIMUTH_DEG: f64 = 100.0;

/// A driver line and a listener pose: the physical facts a design is made for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geometry {
    /// Number of drivers (= output channels), 2 or more.
    pub drivers: usize,
    /// Distance between neighbouring drivers, in metres.
    pub spacing_m: f64,
    /// Distance from the array's centre to the listener's head centre along the facing axis.
    pub distance_m: f64,
    /// Lateral position of the head centre; positive is to the listener's right.
    pub offset_m: f64,
    /// Head rotation in degrees, positive with the nose turned to the listener's left.
    pub yaw_deg: f64,
}

impl Geometry {
    /// x positions of the drivers, leftmost first.
    pub fn driver_x(&self) -> Vec<f64> {
        let centre = (self.drivers as f64 - 1.0) / 2.0;
        (0..self.drivers)
            .map(|n| (n as f64 - centre) * self.spacing_m)
            .collect()
    }

    /// The head centre in the array's coordinates.
    pub fn head_centre(&self) -> (f64, f64) {
        (self.offset_m, self.distance_m)
    }

    /// The same geometry with the listener moved sideways: the perturbation listeners make.
    pub fn with_offset(&self, offset_m: f64) -> Self {
        Self { offset_m, ..*self }
    }

    /// The same drivers and listener with a different driver count (a layout change).
    pub fn with_drivers(&self, drivers: usize) -> Self {
        Self { drivers, ..*self }
    }

    /// Azimuth (radians) at which the listener sees driver `n`, from the nose as it points.
    pub fn driver_azimuth(&self, n: usize) -> f64 {
        let x = self.driver_x()[n];
        (x - self.offset_m).atan2(self.distance_m) + self.yaw_deg.to_radians()
    }

    /// Where an ear points in the array's frame, as an azimuth from the array's facing axis
    /// (radians, positive to the listener's right): the head's turn moves both ears with it.
    /// `ear` is 0 (left) or 1.
    pub fn ear_azimuth(&self, ear: usize) -> f64 {
        let side = if ear == 0 {
            -EAR_AZIMUTH_DEG
        } else {
            EAR_AZIMUTH_DEG
        };
        (side - self.yaw_deg).to_radians()
    }

    /// Where ear `ear` (0 left) is, in the array's coordinates: on the default head's
    /// surface at [`EAR_AZIMUTH_DEG`] from the nose as the pose turns it.
    pub fn ear_position(&self, ear: usize) -> (f64, f64) {
        let head = self.head_centre();
        let side = self.ear_azimuth(ear);
        (
            head.0 + DEFAULT_HEAD_RADIUS_M * side.sin(),
            head.1 - DEFAULT_HEAD_RADIUS_M * side.cos(),
        )
    }

    /// The reference path every design is normalised to: from the array centre to the head
    /// centre of this (design) geometry.
    pub fn reference(&self) -> Reference {
        Reference {
            distance_m: self.offset_m.hypot(self.distance_m),
        }
    }
}

/// The propagation that is common to all drivers and therefore not worth equalising: 1/r and
/// r/c from the array centre to the head centre. Ear responses are expressed relative to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reference {
    /// Length of the reference path in metres.
    pub distance_m: f64,
}

impl Reference {
    /// Travel time of the reference path, seconds.
    pub fn delay_s(&self) -> f64 {
        self.distance_m / SPEED_OF_SOUND
    }
}

/// Woodworth's interaural time difference for a far source at `azimuth_rad` (|azimuth| ≤ 90°)
/// from a sphere of radius `radius_m`: (a/c)(θ + sin θ). The virtualiser's ITD target.
pub fn woodworth_itd_s(azimuth_rad: f64, radius_m: f64) -> f64 {
    let theta = azimuth_rad.abs().min(std::f64::consts::FRAC_PI_2);
    radius_m / SPEED_OF_SOUND * (theta + theta.sin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drivers_are_centred_and_ordered_left_to_right() {
        let g = Geometry {
            drivers: 3,
            spacing_m: 0.08,
            distance_m: 2.0,
            offset_m: 0.0,
            yaw_deg: 0.0,
        };
        assert_eq!(g.driver_x(), vec![-0.08, 0.0, 0.08]);
        assert!(g.driver_azimuth(0) < 0.0 && g.driver_azimuth(2) > 0.0);
    }

    #[test]
    fn a_head_turned_left_sees_the_drivers_further_right_and_turns_its_ears() {
        let ahead = Geometry {
            drivers: 2,
            spacing_m: 0.2,
            distance_m: 1.0,
            offset_m: 0.0,
            yaw_deg: 0.0,
        };
        let turned = Geometry {
            yaw_deg: 20.0,
            ..ahead
        };
        for n in 0..2 {
            let moved = (turned.driver_azimuth(n) - ahead.driver_azimuth(n)).to_degrees();
            assert!((moved - 20.0).abs() < 1e-9, "driver {n}: {moved}");
        }
        for ear in 0..2 {
            let moved = (turned.ear_azimuth(ear) - ahead.ear_azimuth(ear)).to_degrees();
            assert!((moved + 20.0).abs() < 1e-9, "ear {ear}: {moved}");
        }
    }

    #[test]
    fn woodworth_matches_its_known_maximum() {
        let itd = woodworth_itd_s(std::f64::consts::FRAC_PI_2, DEFAULT_HEAD_RADIUS_M);
        assert!((itd - 0.000656).abs() < 2e-6, "{itd}");
    }
}
