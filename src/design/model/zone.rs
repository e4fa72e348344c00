//! The listening zone: the poses a canceller is designed to hold at, beside the nominal one.
//!
//! A zone of half-width z is the square of positions within z of the nominal listener
//! sideways and in depth, at the nominal yaw (head turns are what tracking follows; a zone of
//! turns would need its own size). Where the plant is a measured device with positions
//! measured inside that square, those positions are the zone: what the engineer measured is
//! what the design holds to. Elsewhere the zone is the square's corners, edge midpoints and
//! centre, and poses the plant cannot describe (outside a measured head's directions, or
//! too far from any measured position) are left out.

use crate::design::model::geometry::Geometry;
use crate::design::model::plant::Plant;

/// How far a measured position may lie outside the square and still count as inside it,
/// metres (positions are written with a millimetre's rounding).
const MEASURED_TOLERANCE_M: f64 = 0.001;

/// How far a measured position's yaw may differ from the nominal's and still count as at
/// it, degrees.
const MEASURED_YAW_TOLERANCE_DEG: f64 = 0.5;

/// Nearest a pose of the grid may be to the drivers' line, metres (a device reader's bound):
/// a small distance with a large zone would otherwise put a head on the drivers.
const NEAREST_POSE_M: f64 = 0.15;

/// Most poses a zone holds (the nominal one included): each adds a plant to every β
/// solve, so a device file with a thousand positions inside the square must not make a
/// design a thousand times slower. The nearest are kept.
pub const MAX_ZONE_POSES: usize = 25;

/// One pose of a zone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZonePose {
    /// Where the listener is.
    pub geometry: Geometry,
    /// Whether it is a position of the device file (not a grid point).
    pub measured: bool,
}

/// The poses a design for `nominal` with a zone of half-width `half_width_m` holds at,
/// the nominal pose first. A zone of 0 (or one no other pose of which the plant can
/// describe) is the nominal pose alone: today's design.
pub fn poses(nominal: &Geometry, half_width_m: f64, plant: &dyn Plant) -> Vec<ZonePose> {
    let mut out = vec![ZonePose {
        geometry: *nominal,
        measured: false,
    }];
    if !half_width_m.is_finite() || half_width_m <= 0.0 {
        return out;
    }
    let inside = |g: &Geometry| {
        (g.offset_m - nominal.offset_m).abs() <= half_width_m + MEASURED_TOLERANCE_M
            && (g.distance_m - nominal.distance_m).abs() <= half_width_m + MEASURED_TOLERANCE_M
            && (g.yaw_deg - nominal.yaw_deg).abs() <= MEASURED_YAW_TOLERANCE_DEG
    };
    let same_place = |g: &Geometry| {
        (g.offset_m - nominal.offset_m).abs() <= MEASURED_TOLERANCE_M
            && (g.distance_m - nominal.distance_m).abs() <= MEASURED_TOLERANCE_M
    };
    let mut measured: Vec<Geometry> = plant
        .measured_poses()
        .into_iter()
        .map(|g| Geometry {
            drivers: nominal.drivers,
            spacing_m: nominal.spacing_m,
            ..g
        })
        .filter(|g| inside(g) && !same_place(g))
        .collect();
    if measured.is_empty() {
        let steps = [-half_width_m, 0.0, half_width_m];
        let grid = steps.iter().flat_map(|&dy| {
            steps.iter().map(move |&dx| Geometry {
                offset_m: nominal.offset_m + dx,
                distance_m: nominal.distance_m + dy,
                ..*nominal
            })
        });
        out.extend(
            grid.filter(|g| {
                !same_place(g) && g.distance_m >= NEAREST_POSE_M && plant.check(g).is_ok()
            })
            .map(|geometry| ZonePose {
                geometry,
                measured: false,
            }),
        );
        return out;
    }
    let gap =
        |g: &Geometry| (g.offset_m - nominal.offset_m).hypot(g.distance_m - nominal.distance_m);
    measured.sort_by(|a, b| gap(a).total_cmp(&gap(b)));
    measured.truncate(MAX_ZONE_POSES - 1);
    out.extend(measured.into_iter().map(|geometry| ZonePose {
        geometry,
        measured: true,
    }));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::model::plant::SphereHead;

    fn nominal() -> Geometry {
        Geometry {
            drivers: 2,
            spacing_m: 0.2,
            distance_m: 0.6,
            offset_m: 0.01,
            yaw_deg: 0.0,
        }
    }

    #[test]
    fn no_zone_is_the_nominal_pose_alone() {
        let g = nominal();
        for z in [0.0, -0.1, f64::NAN, f64::INFINITY] {
            let p = poses(&g, z, &SphereHead::default());
            assert_eq!(p.len(), 1, "{z}");
            assert_eq!(p[0].geometry, g);
        }
    }

    #[test]
    fn no_pose_of_the_grid_puts_the_head_on_the_drivers() {
        let near = Geometry {
            distance_m: 0.3,
            ..nominal()
        };
        let p = poses(&near, 0.2, &SphereHead::default());
        assert_eq!(p.len(), 6, "the row at 10 cm is left out");
        assert!(p
            .iter()
            .all(|pose| pose.geometry.distance_m >= NEAREST_POSE_M));
    }

    #[test]
    fn a_zone_on_the_sphere_is_the_square_around_the_listener() {
        let g = nominal();
        let p = poses(&g, 0.05, &SphereHead::default());
        assert_eq!(p.len(), 9);
        assert_eq!(p[0].geometry, g);
        for pose in &p[1..] {
            let (dx, dy) = (
                pose.geometry.offset_m - g.offset_m,
                pose.geometry.distance_m - g.distance_m,
            );
            assert!(dx.abs().max(dy.abs()) > 0.049, "{dx} {dy}");
            assert!(dx.abs() < 0.0501 && dy.abs() < 0.0501, "{dx} {dy}");
            assert!(!pose.measured);
        }
    }
}
