//! Virtual speakers: the ear responses a loudspeaker at ±theta_v would produce, relative to
//! its ipsilateral ear. Ipsilateral: all-pass (tonal balance untouched). Contralateral: the
//! head-shadow level difference of the sphere as a zero-phase low-pass, delayed by
//! Woodworth's ITD, so that the ITD at the ears is exactly Woodworth's at theta_v.

use crate::design::model::geometry::{woodworth_itd_s, DEFAULT_HEAD_RADIUS_M, EAR_AZIMUTH_DEG};
use crate::design::model::plant::SphereHead;
use crate::design::C64;
use std::f64::consts::PI;

/// The contralateral/ipsilateral transfer of a virtual speaker at `angle_deg` from the front.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VirtualSpeaker {
    /// Azimuth of the virtual speaker from the nose, degrees (0 to 90).
    pub angle_deg: f64,
    /// The head the cues are taken from.
    pub head: SphereHead,
}

impl VirtualSpeaker {
    /// A virtual speaker for the default head.
    pub fn new(angle_deg: f64) -> Self {
        Self {
            angle_deg: angle_deg.clamp(0.0, 90.0),
            head: SphereHead {
                radius_m: DEFAULT_HEAD_RADIUS_M,
            },
        }
    }

    /// Interaural time difference the virtual speaker must produce (Woodworth).
    pub fn itd_s(&self) -> f64 {
        woodworth_itd_s(self.angle_deg.to_radians(), self.head.radius_m)
    }

    /// Interaural level difference (contra/ipsi magnitude, linear) at `freq_hz`: the sphere's
    /// shadow at the far ear over the shadow at the near ear.
    pub fn ild(&self, freq_hz: f64) -> f64 {
        let near = (EAR_AZIMUTH_DEG - self.angle_deg).to_radians();
        let far = (EAR_AZIMUTH_DEG + self.angle_deg).to_radians();
        self.head.shadow(far, freq_hz).norm() / self.head.shadow(near, freq_hz).norm()
    }

    /// Contralateral response relative to the ipsilateral one at `freq_hz`.
    pub fn contralateral(&self, freq_hz: f64) -> C64 {
        C64::from_polar(self.ild(freq_hz), -2.0 * PI * freq_hz * self.itd_s())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contralateral_is_a_delayed_low_pass() {
        let v = VirtualSpeaker::new(30.0);
        assert!((v.ild(20.0) - 1.0).abs() < 1e-3);
        assert!(v.ild(8000.0) < 0.6, "{}", v.ild(8000.0));
        let expected = C64::from_polar(1.0, -2.0 * PI * 1000.0 * v.itd_s());
        assert!((v.contralateral(1000.0) / expected).arg().abs() < 1e-9);
    }

    #[test]
    fn wider_angle_means_more_delay_and_more_shadow() {
        let narrow = VirtualSpeaker::new(30.0);
        let wide = VirtualSpeaker::new(80.0);
        assert!(wide.itd_s() > narrow.itd_s());
        assert!(wide.ild(4000.0) < narrow.ild(4000.0));
    }
}
