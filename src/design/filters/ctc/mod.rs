//! Crosstalk cancellation by regularised inversion of the 2 × N plant, normalised to a target
//! cancellation-gain curve.
//!
//! For each input channel j (the signal meant for ear j) and each frequency, the driver
//! filters are the Tikhonov solution with the plain stereo feed as prior,
//! `c(β) = argmin ‖P c − t‖² + β·s·‖c − c_plain‖²` (s: the plant's mean power), so that β
//! slides from exact inversion (β → 0) to the plain feed (β → ∞). β is chosen per frequency
//! so that the ipsilateral/contralateral power ratio at the ears equals the target curve,
//! then raised further wherever the filter gain would exceed the boost limit. Finally the
//! filters are normalised so the ipsilateral ear receives an all-pass: the plain feed's
//! level and arrival time with a flat magnitude (tonal balance untouched). Normalisation
//! does not change the ratio, which is what makes the achieved curve follow the target.
//!
//! The relative-transfer-function form of the brief (left driver through one filter, right
//! driver through C_RL/C_LL) is a factorisation of these same filters; our engine applies
//! every filter as one complex gain per STFT bin, where the factorisation saves nothing, so
//! the filters are kept in direct form.

use crate::design::filters::linalg::CMatrix;
use crate::design::model::plant::EarResponses;
use crate::design::C64;
use crate::dsp::contract::side_output;
use std::f64::consts::PI;

mod search;

use search::{choose, choose_for_zone};

/// What a crosstalk canceller is asked for.
#[derive(Clone, Copy, Debug)]
pub struct CtcSpec {
    /// Target ipsilateral/contralateral ratio in the working band, dB.
    pub cancellation_db: f64,
    /// Highest allowed magnitude of any driver filter, dB re the plain feed.
    pub boost_limit_db: f64,
}

/// A designed canceller and what it achieves on the plant it was designed for.
#[derive(Clone, Debug)]
pub struct CtcDesign {
    /// Frequencies, Hz.
    pub freqs: Vec<f64>,
    /// Per frequency, the N × 2 driver filters: column j carries the signal meant for ear j.
    pub filters: Vec<CMatrix>,
    /// Per frequency and column, the target ratio, dB.
    pub target_db: Vec<[f64; 2]>,
    /// Per frequency and column, the ratio the plain feed already has, dB.
    pub plain_db: Vec<[f64; 2]>,
    /// Per frequency and column, the ratio these filters reach on the design plant, dB (at
    /// the worst pose of a listening zone where β was searched; where the plain feed is the
    /// answer, its ratio at the nominal pose).
    pub achieved_db: Vec<[f64; 2]>,
    /// Per frequency and column, whether the boost limit stopped the target being reached.
    pub limited: Vec<[bool; 2]>,
    /// The all-pass each ipsilateral ear receives: (level, delay in seconds), left then right.
    pub ipsi_target: [(f64, f64); 2],
    /// Per frequency and column, log10 of the regularisation that reaches the target (before
    /// any gain cap): where the next design for a nearby pose starts its search. NaN where
    /// the target was out of reach (no start: the next search scans the grid).
    pub log_beta: Vec<[f64; 2]>,
}

/// The plain stereo feed for `drivers` outputs: left input to the leftmost driver, right
/// input to the rightmost (N × 2).
pub fn plain_feed(drivers: usize) -> CMatrix {
    let mut m = CMatrix::zeros(drivers, 2);
    for side in 0..2 {
        m[(side_output(side, drivers), side)] = C64::new(1.0, 0.0);
    }
    m
}

/// Level and arrival time of the plain feed at each ipsilateral ear (see
/// [`EarResponses::arrival`]): the all-pass each ear is to receive.
pub fn ipsilateral_all_pass(plant: &EarResponses) -> [(f64, f64); 2] {
    let mut planner = realfft::RealFftPlanner::new();
    [0, 1].map(|ear| plant.arrival_with(&mut planner, ear, side_output(ear, plant.drivers)))
}

/// Most drivers a canceller is designed for (stack-allocated per-frequency systems).
pub const MAX_DRIVERS: usize = 8;

/// One candidate solution of the regularised inversion, already blended with the plain
/// feed by the bass crossover share, as the listener will get it.
#[derive(Clone, Copy)]
struct Candidate {
    filters: [C64; MAX_DRIVERS],
    /// Wanted over unwanted ear power at the worst pose of the zone (linear: the search
    /// compares it; dB only at the end).
    ratio: f64,
    gain: f64,
}

impl Candidate {
    /// The separation it gives, dB.
    fn ratio_db(&self) -> f64 {
        10.0 * self.ratio.log10()
    }
}

/// One pose's 2 × N plant at one frequency, in the fixed-size form the solves use.
type PosePlant = [[C64; MAX_DRIVERS]; 2];

/// `p` (2 × N) as a [`PosePlant`].
fn pose_plant(p: &CMatrix) -> PosePlant {
    let mut plant = [[C64::new(0.0, 0.0); MAX_DRIVERS]; 2];
    for (ear, row) in plant.iter_mut().enumerate() {
        for (d, v) in row.iter_mut().enumerate().take(p.cols) {
            *v = p[(ear, d)];
        }
    }
    plant
}

/// Ear signals of driver filters `c` through `plant`.
fn ears_of(plant: &PosePlant, n: usize, c: &[C64; MAX_DRIVERS]) -> [C64; 2] {
    std::array::from_fn(|ear| (0..n).map(|d| plant[ear][d] * c[d]).sum())
}

/// One more pose a zone design holds to: its plant at this frequency and what its
/// ipsilateral ear is to receive there.
#[derive(Clone, Copy)]
struct ZoneColumnPose {
    /// The pose's plant at this frequency.
    plant: PosePlant,
    /// What the pose's ipsilateral ear is to receive: the plain feed's level and arrival
    /// there.
    target: C64,
}

/// The per-frequency, per-column problem, precomputed once for every β tried.
struct Column {
    n: usize,
    j: usize,
    plant: PosePlant,
    /// The zone's other poses (none for a design of the nominal pose alone).
    zone: Vec<ZoneColumnPose>,
    normal: [[C64; MAX_DRIVERS]; MAX_DRIVERS],
    plant_h_target: [C64; MAX_DRIVERS],
    prior: [C64; MAX_DRIVERS],
    target: C64,
    scale: f64,
    plain_share: f64,
}

impl Column {
    /// The problem of column `j` on plant `p`, held at the `zone` poses too: their squared
    /// errors are added to the nominal pose's, weighed by `weights` (the nominal pose's
    /// first), so that the solution is the weighted least-squares compromise between them.
    fn new(
        p: &CMatrix,
        zone: &[ZoneColumnPose],
        weights: &[f64],
        j: usize,
        target: C64,
        prior: &[C64],
        plain_share: f64,
    ) -> Self {
        let n = p.cols;
        assert!(n <= MAX_DRIVERS, "at most {MAX_DRIVERS} drivers");
        let zero = C64::new(0.0, 0.0);
        let plant = pose_plant(p);
        let mut normal = [[zero; MAX_DRIVERS]; MAX_DRIVERS];
        let mut plant_h_target = [zero; MAX_DRIVERS];
        let poses =
            std::iter::once((&plant, target)).chain(zone.iter().map(|z| (&z.plant, z.target)));
        for (at, ((pose, pose_target), &weight)) in poses.zip(weights).enumerate() {
            for (r, row) in normal.iter_mut().enumerate().take(n) {
                for (c, v) in row.iter_mut().enumerate().take(n) {
                    let term =
                        (pose[0][r].conj() * pose[0][c] + pose[1][r].conj() * pose[1][c]) * weight;
                    *v = if at == 0 { term } else { *v + term };
                }
            }
            for (r, v) in plant_h_target.iter_mut().enumerate().take(n) {
                let term = pose[j][r].conj() * pose_target * weight;
                *v = if at == 0 { term } else { *v + term };
            }
        }
        let scale = ((0..n).map(|i| normal[i][i].re).sum::<f64>() / n as f64).max(1e-30);
        let mut prior_arr = [zero; MAX_DRIVERS];
        prior_arr[..n].copy_from_slice(prior);
        Self {
            n,
            j,
            plant,
            zone: zone.to_vec(),
            normal,
            plant_h_target,
            prior: prior_arr,
            target,
            scale,
            plain_share,
        }
    }

    /// Ear signals of driver filters `c` at the nominal pose.
    fn ears(&self, c: &[C64; MAX_DRIVERS]) -> [C64; 2] {
        ears_of(&self.plant, self.n, c)
    }

    /// Wanted over unwanted ear power of driver filters `c` at the worst pose of the zone
    /// (the nominal pose alone without one).
    fn worst_ratio(&self, c: &[C64; MAX_DRIVERS]) -> f64 {
        let ratio = |e: [C64; 2]| e[self.j].norm_sqr() / e[1 - self.j].norm_sqr().max(1e-30);
        self.zone
            .iter()
            .map(|z| ratio(ears_of(&z.plant, self.n, c)))
            .fold(ratio(self.ears(c)), f64::min)
    }

    /// Unwanted over wanted ear amplitude of driver filters `c` at each pose, the nominal
    /// pose first: the error a zone design's reweighting evens out.
    fn leakage(&self, c: &[C64; MAX_DRIVERS]) -> Vec<f64> {
        let leak = |e: [C64; 2]| e[1 - self.j].norm() / e[self.j].norm().max(1e-15);
        std::iter::once(leak(self.ears(c)))
            .chain(self.zone.iter().map(|z| leak(ears_of(&z.plant, self.n, c))))
            .collect()
    }

    /// What the listener gets from `filters`: the crossover's plain share plus the processed
    /// share.
    fn blend(&self, filters: &[C64; MAX_DRIVERS]) -> [C64; MAX_DRIVERS] {
        let mut blended = [C64::new(0.0, 0.0); MAX_DRIVERS];
        for d in 0..self.n {
            blended[d] = self.prior[d] * self.plain_share + filters[d] * (1.0 - self.plain_share);
        }
        blended
    }

    /// The normalised solution for one β (relative to the plant's mean power).
    fn solve(&self, beta: f64) -> Option<Candidate> {
        let n = self.n;
        let b = beta * self.scale;
        let mut x = [C64::new(0.0, 0.0); MAX_DRIVERS];
        for ((x, target), prior) in x
            .iter_mut()
            .zip(&self.plant_h_target)
            .zip(&self.prior)
            .take(n)
        {
            *x = target + prior * b;
        }
        if n == 2 {
            // The pair (most designs): Cramer's rule, without the general elimination.
            let [[a, bb, ..], [c, d, ..], ..] = self.normal;
            let (a, d) = (a + b, d + b);
            let det = a * d - bb * c;
            if det.norm_sqr() < 1e-300 {
                return None;
            }
            let (x0, x1) = (x[0], x[1]);
            x[0] = (d * x0 - bb * x1) / det;
            x[1] = (a * x1 - c * x0) / det;
            if !x[..2].iter().all(|v| v.re.is_finite() && v.im.is_finite()) {
                return None;
            }
        } else {
            let mut a = self.normal;
            for (i, row) in a.iter_mut().enumerate().take(n) {
                row[i] += b;
            }
            solve_in_place(&mut a, &mut x, n)?;
        }
        let e = self.ears(&x);
        if e[self.j].norm_sqr() < 1e-24 {
            return None;
        }
        let norm = self.target / e[self.j];
        let mut filters = [C64::new(0.0, 0.0); MAX_DRIVERS];
        for d in 0..n {
            filters[d] = x[d] * norm;
        }
        let blended = self.blend(&filters);
        let ratio = self.worst_ratio(&blended);
        let gain = blended[..n]
            .iter()
            .map(|v| v.norm_sqr())
            .fold(0.0, f64::max)
            .sqrt();
        Some(Candidate {
            filters,
            ratio,
            gain,
        })
    }
}

/// Gaussian elimination with partial pivoting on the leading `n` × `n` block.
fn solve_in_place(
    a: &mut [[C64; MAX_DRIVERS]; MAX_DRIVERS],
    x: &mut [C64; MAX_DRIVERS],
    n: usize,
) -> Option<()> {
    for col in 0..n {
        let pivot =
            (col..n).max_by(|&i, &j| a[i][col].norm_sqr().total_cmp(&a[j][col].norm_sqr()))?;
        if a[pivot][col].norm_sqr() < 1e-300 {
            return None;
        }
        a.swap(pivot, col);
        x.swap(pivot, col);
        let inv = C64::new(1.0, 0.0) / a[col][col];
        let pivot_row = a[col];
        for row in col + 1..n {
            let factor = a[row][col] * inv;
            for (dst, src) in a[row][col..n].iter_mut().zip(&pivot_row[col..n]) {
                *dst -= factor * src;
            }
            let v = x[col];
            x[row] -= factor * v;
        }
    }
    for row in (0..n).rev() {
        let mut acc = x[row];
        for k in row + 1..n {
            acc -= a[row][k] * x[k];
        }
        x[row] = acc / a[row][row];
    }
    x[..n]
        .iter()
        .all(|v| v.re.is_finite() && v.im.is_finite())
        .then_some(())
}

/// Regularisation range searched, as log10 of β (relative to the plant's mean power).
const LOG_BETA_RANGE: (f64, f64) = (-9.0, 5.0);
/// Coarse scan step in decades before bisection (the ratio is nearly monotone in β; the
/// scan only guards against the exceptions).
const LOG_BETA_STEP: f64 = 1.0;

/// Designs the canceller on `plant` (relative to the reference path).
///
/// The target curve: `spec.cancellation_db` in the working band, falling back to the ratio
/// the plain feed already has (never below it) where `top_share[k]` fades to 0 at the top.
/// `plain_share[k]` is the bass crossover's share of the plain feed, which the chain blends
/// in after this design; the target there is what a canceller meeting the band target
/// gives once blended (contralateral amplitudes add), and β is chosen so that the blend,
/// as heard, meets it. Both fall to the plain ratio, i.e. 0 dB at low frequencies.
///
/// NOTE: long because the per-frequency inversion, its β search and the bookkeeping of what
/// each frequency reached belong to one loop; the write-up above walks through it.
///
/// `zone` holds the plant at the listening zone's other poses (none: the nominal pose
/// alone, today's design). The filters are then the least-squares compromise over every
/// pose, and β is chosen as above on the worst pose's ratio: the most regularised solution
/// whose worst pose still reaches the target, or, where none does, the one whose worst pose
/// separates best. The ipsilateral normalisation stays the nominal pose's.
///
/// `start`, when given (one entry per frequency: a previous design's [`CtcDesign::log_beta`]),
/// is where each β search begins: a design for a nearby pose then brackets its β within a
/// few solves instead of scanning the whole range. Where the ratio falls steadily with β (as
/// it does on every plant we have) both searches find the same boundary.
pub fn design(
    plant: &EarResponses,
    zone: &[EarResponses],
    spec: &CtcSpec,
    top_share: &[f64],
    plain_share: &[f64],
    start: Option<&[[f64; 2]]>,
) -> CtcDesign {
    let start = start.filter(|s| s.len() == plant.freqs.len());
    let n = plant.drivers;
    let prior = plain_feed(n);
    let cap = 10f64.powf(spec.boost_limit_db / 20.0);
    let ipsi_target = ipsilateral_all_pass(plant);
    let zone_ipsi: Vec<[(f64, f64); 2]> = zone.iter().map(ipsilateral_all_pass).collect();
    let count = plant.freqs.len();
    let mut out = CtcDesign {
        freqs: plant.freqs.clone(),
        filters: Vec::with_capacity(count),
        target_db: Vec::with_capacity(count),
        plain_db: Vec::with_capacity(count),
        achieved_db: Vec::with_capacity(count),
        limited: Vec::with_capacity(count),
        ipsi_target,
        log_beta: Vec::with_capacity(count),
    };
    for k in 0..count {
        let f = plant.freqs[k];
        let w = 2.0 * PI * f;

        let p = plant.matrix(k);
        let zone_p: Vec<PosePlant> = zone.iter().map(|z| pose_plant(&z.matrix(k))).collect();
        let mut filters = CMatrix::zeros(n, 2);
        let mut target_db = [0.0; 2];
        let mut plain_db = [0.0; 2];
        let mut achieved_db = [0.0; 2];
        let mut limited = [false; 2];
        let mut log_beta = [LOG_BETA_RANGE.1; 2];
        for j in 0..2 {
            let (level, delay) = ipsi_target[j];
            let target = C64::new(level, 0.0) * C64::from_polar(1.0, -w * delay);
            let prior_col: Vec<C64> = (0..n).map(|r| prior[(r, j)]).collect();
            let e_plain = p.mul_vec(&prior_col);
            plain_db[j] =
                10.0 * (e_plain[j].norm_sqr() / e_plain[1 - j].norm_sqr().max(1e-30)).log10();
            let band_db = plain_db[j]
                + (spec.cancellation_db - plain_db[j]).max(0.0) * top_share[k].clamp(0.0, 1.0);
            let x = plain_share[k].clamp(0.0, 1.0);
            let contra =
                x * 10f64.powf(-plain_db[j] / 20.0) + (1.0 - x) * 10f64.powf(-band_db / 20.0);
            target_db[j] = -20.0 * contra.log10();
            // Where the target is the plain feed's own ratio (above the working band, or a
            // plant that separates enough unaided), the most regularised solution reaching
            // it is the plain feed itself: no search (whose answer there would hang on
            // rounding, between the plain feed and a solution of the same ratio).
            let searched = (band_db > plain_db[j])
                .then(|| {
                    let zone_column: Vec<ZoneColumnPose> = zone_p
                        .iter()
                        .zip(&zone_ipsi)
                        .map(|(plant, ipsi)| ZoneColumnPose {
                            plant: *plant,
                            target: C64::new(ipsi[j].0, 0.0) * C64::from_polar(1.0, -w * ipsi[j].1),
                        })
                        .collect();
                    let column = |weights: &[f64]| {
                        Column::new(&p, &zone_column, weights, j, target, &prior_col, x)
                    };
                    let start = start.map(|s| s[k][j]);
                    if zone_column.is_empty() {
                        choose(&column(&[1.0]), target_db[j], cap, start)
                    } else {
                        choose_for_zone(column, zone_column.len() + 1, target_db[j], cap, start)
                    }
                })
                .flatten();
            let (cand, was_limited, chosen_log_beta) = searched.unwrap_or_else(|| {
                // The plain feed (also for a numerically hopeless frequency, e.g. DC of a
                // degenerate plant).
                let norm = if e_plain[j].norm() > 1e-12 {
                    target / e_plain[j]
                } else {
                    C64::new(1.0, 0.0)
                };
                let mut filters = [C64::new(0.0, 0.0); MAX_DRIVERS];
                for (d, v) in prior_col.iter().enumerate() {
                    filters[d] = v * norm;
                }
                (
                    Candidate {
                        filters,
                        ratio: 10f64.powf(plain_db[j] / 10.0),
                        gain: norm.norm(),
                    },
                    false,
                    LOG_BETA_RANGE.1,
                )
            });
            log_beta[j] = chosen_log_beta;
            // Where the head hardly passes sound at all (a measured set's band edge, a deep
            // notch), reaching the ipsilateral level would take more gain than any cap: give
            // up level there rather than exceed the cap. Scaling keeps the ratio.
            let scale = if cand.gain > cap {
                cap / cand.gain
            } else {
                1.0
            };
            for r in 0..n {
                filters[(r, j)] = cand.filters[r] * scale;
            }
            achieved_db[j] = cand.ratio_db();
            limited[j] = was_limited || scale < 1.0;
        }
        out.filters.push(filters);
        out.target_db.push(target_db);
        out.plain_db.push(plain_db);
        out.achieved_db.push(achieved_db);
        out.limited.push(limited);
        out.log_beta.push(log_beta);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pair's closed-form solve and the general elimination agree.
    #[test]
    fn the_pair_solve_matches_the_general_one() {
        let p = CMatrix {
            rows: 2,
            cols: 2,
            data: vec![
                C64::new(0.9, 0.1),
                C64::new(0.3, -0.4),
                C64::new(0.25, 0.35),
                C64::new(1.1, -0.2),
            ],
        };
        let prior = [C64::new(1.0, 0.0), C64::new(0.0, 0.0)];
        let column = Column::new(&p, &[], &[1.0], 0, C64::new(1.0, 0.0), &prior, 0.2);
        for beta in [1e-6, 1e-2, 1.0, 100.0] {
            let pair = column.solve(beta).unwrap();
            let b = beta * column.scale;
            let mut a = column.normal;
            let mut x = [C64::new(0.0, 0.0); MAX_DRIVERS];
            for i in 0..2 {
                a[i][i] += b;
                x[i] = column.plant_h_target[i] + column.prior[i] * b;
            }
            solve_in_place(&mut a, &mut x, 2).unwrap();
            let e = column.ears(&x);
            let norm = column.target / e[0];
            for (d, (got, general)) in pair.filters.iter().zip(&x).take(2).enumerate() {
                assert!(
                    (got - general * norm).norm() < 1e-12,
                    "β {beta}, driver {d}"
                );
            }
        }
    }
}
