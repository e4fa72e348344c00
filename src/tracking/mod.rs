//! Head tracking: where the listener's head is, from trackers people own (OSC head trackers
//! and bridges, opentrack's webcam face trackers), so that the cancellation is designed for
//! the ears where they are. Nothing here knows the design or the framework: a listener thread
//! turns datagrams into [`Tracked`] poses and hands them on through a lock-free channel.
//!
//! The pose is the design's (see [`crate::design::model::geometry`]): x sideways, positive to
//! the listener's right; y the distance from the array; yaw positive with the nose turned to
//! the listener's left. Pitch and roll are ignored: the drivers and the ears stay in one
//! horizontal plane in every model, and a nod moves the ears' line far less than a turn.

pub mod follower;
pub mod listener;
pub mod protocol;
pub mod smoothing;

/// A listener pose, or a displacement of one.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Pose {
    /// Sideways, metres, positive to the listener's right.
    pub x_m: f64,
    /// Distance from the array, metres (for a displacement: positive further away).
    pub y_m: f64,
    /// Head rotation, degrees, positive with the nose turned to the listener's left.
    pub yaw_deg: f64,
}

impl Pose {
    /// `self − other`, axis by axis.
    pub fn minus(self, other: Pose) -> Pose {
        Pose {
            x_m: self.x_m - other.x_m,
            y_m: self.y_m - other.y_m,
            yaw_deg: self.yaw_deg - other.yaw_deg,
        }
    }

    /// `self + weight · d`, axis by axis.
    pub fn plus_scaled(self, d: Pose, weight: f64) -> Pose {
        Pose {
            x_m: self.x_m + weight * d.x_m,
            y_m: self.y_m + weight * d.y_m,
            yaw_deg: self.yaw_deg + weight * d.yaw_deg,
        }
    }
}

/// What the tracker says the design should follow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tracked {
    /// The smoothed pose: where the listener is (`absolute`), or how far they are from the
    /// nominal listener (the parameters' pose).
    pub pose: Pose,
    /// Whether `pose` is a place (our own `/soundstage/pose`) rather than a displacement.
    pub absolute: bool,
    /// How much to follow: 1 while the tracker reports, gliding to 0 when it goes quiet.
    pub weight: f64,
}

impl Tracked {
    /// The pose to design for, given the nominal one (the parameters' offset, distance and
    /// yaw).
    pub fn resolve(&self, nominal: Pose) -> Pose {
        let displacement = if self.absolute {
            self.pose.minus(nominal)
        } else {
            self.pose
        };
        nominal.plus_scaled(displacement, self.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_displacement_adds_to_the_nominal_pose_and_a_place_replaces_it_by_the_weight() {
        let nominal = Pose {
            x_m: 0.05,
            y_m: 1.0,
            yaw_deg: 0.0,
        };
        let moved = Pose {
            x_m: 0.1,
            y_m: -0.2,
            yaw_deg: 10.0,
        };
        let displaced = Tracked {
            pose: moved,
            absolute: false,
            weight: 1.0,
        };
        assert_eq!(
            displaced.resolve(nominal),
            Pose {
                x_m: 0.15000000000000002,
                y_m: 0.8,
                yaw_deg: 10.0
            }
        );
        let place = Tracked {
            absolute: true,
            weight: 0.5,
            ..displaced
        };
        let half = place.resolve(nominal);
        assert!((half.x_m - 0.075).abs() < 1e-12 && (half.y_m - 0.4).abs() < 1e-12);
        assert_eq!(
            Tracked {
                weight: 0.0,
                ..place
            }
            .resolve(nominal),
            nominal
        );
    }
}
