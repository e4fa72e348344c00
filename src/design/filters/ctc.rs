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
    /// Per frequency and column, the ratio these filters reach on the design plant, dB.
    pub achieved_db: Vec<[f64; 2]>,
    /// Per frequency and column, whether the boost limit stopped the target being reached.
    pub limited: Vec<[bool; 2]>,
    /// The all-pass each ipsilateral ear receives: (level, delay in seconds), left then right.
    pub ipsi_target: [(f64, f64); 2],
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
    [0, 1].map(|ear| plant.arrival(ear, side_output(ear, plant.drivers)))
}

/// Most drivers a canceller is designed for (stack-allocated per-frequency systems).
pub const MAX_DRIVERS: usize = 8;

/// One candidate solution of the regularised inversion, already blended with the plain
/// feed by the bass crossover share, as the listener will get it.
struct Candidate {
    filters: [C64; MAX_DRIVERS],
    ratio_db: f64,
    gain: f64,
}

/// The per-frequency, per-column problem, precomputed once for every β tried.
struct Column {
    n: usize,
    j: usize,
    plant: [[C64; MAX_DRIVERS]; 2],
    normal: [[C64; MAX_DRIVERS]; MAX_DRIVERS],
    plant_h_target: [C64; MAX_DRIVERS],
    prior: [C64; MAX_DRIVERS],
    target: C64,
    scale: f64,
    plain_share: f64,
}

impl Column {
    fn new(p: &CMatrix, j: usize, target: C64, prior: &[C64], plain_share: f64) -> Self {
        let n = p.cols;
        assert!(n <= MAX_DRIVERS, "at most {MAX_DRIVERS} drivers");
        let zero = C64::new(0.0, 0.0);
        let mut plant = [[zero; MAX_DRIVERS]; 2];
        for (ear, row) in plant.iter_mut().enumerate() {
            for (d, v) in row.iter_mut().enumerate().take(n) {
                *v = p[(ear, d)];
            }
        }
        let mut normal = [[zero; MAX_DRIVERS]; MAX_DRIVERS];
        for (r, row) in normal.iter_mut().enumerate().take(n) {
            for (c, v) in row.iter_mut().enumerate().take(n) {
                *v = plant[0][r].conj() * plant[0][c] + plant[1][r].conj() * plant[1][c];
            }
        }
        let scale = ((0..n).map(|i| normal[i][i].re).sum::<f64>() / n as f64).max(1e-30);
        let mut plant_h_target = [zero; MAX_DRIVERS];
        for (r, v) in plant_h_target.iter_mut().enumerate().take(n) {
            *v = plant[j][r].conj() * target;
        }
        let mut prior_arr = [zero; MAX_DRIVERS];
        prior_arr[..n].copy_from_slice(prior);
        Self {
            n,
            j,
            plant,
            normal,
            plant_h_target,
            prior: prior_arr,
            target,
            scale,
            plain_share,
        }
    }

    /// Ear signals of driver filters `c`.
    fn ears(&self, c: &[C64; MAX_DRIVERS]) -> [C64; 2] {
        std::array::from_fn(|ear| (0..self.n).map(|d| self.plant[ear][d] * c[d]).sum())
    }

    /// The normalised solution for one β (relative to the plant's mean power).
    fn solve(&self, beta: f64) -> Option<Candidate> {
        let n = self.n;
        let b = beta * self.scale;
        let mut a = self.normal;
        let mut x = [C64::new(0.0, 0.0); MAX_DRIVERS];
        for i in 0..n {
            a[i][i] += b;
            x[i] = self.plant_h_target[i] + self.prior[i] * b;
        }
        solve_in_place(&mut a, &mut x, n)?;
        let e = self.ears(&x);
        if e[self.j].norm() < 1e-12 {
            return None;
        }
        let norm = self.target / e[self.j];
        let mut filters = [C64::new(0.0, 0.0); MAX_DRIVERS];
        for d in 0..n {
            filters[d] = x[d] * norm;
        }
        // What the listener gets: the crossover's plain share plus the processed share.
        let mut blended = [C64::new(0.0, 0.0); MAX_DRIVERS];
        for d in 0..n {
            blended[d] = self.prior[d] * self.plain_share + filters[d] * (1.0 - self.plain_share);
        }
        let e = self.ears(&blended);
        let ratio_db = 10.0 * (e[self.j].norm_sqr() / e[1 - self.j].norm_sqr().max(1e-30)).log10();
        let gain = blended[..n].iter().map(|v| v.norm()).fold(0.0, f64::max);
        Some(Candidate {
            filters,
            ratio_db,
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
/// Bisection steps after the scan (2^-16 of a decade: far finer than audible).
const BISECTION_STEPS: usize = 16;

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
pub fn design(
    plant: &EarResponses,
    spec: &CtcSpec,
    top_share: &[f64],
    plain_share: &[f64],
) -> CtcDesign {
    let n = plant.drivers;
    let prior = plain_feed(n);
    let cap = 10f64.powf(spec.boost_limit_db / 20.0);
    let ipsi_target = ipsilateral_all_pass(plant);
    let count = plant.freqs.len();
    let mut out = CtcDesign {
        freqs: plant.freqs.clone(),
        filters: Vec::with_capacity(count),
        target_db: Vec::with_capacity(count),
        plain_db: Vec::with_capacity(count),
        achieved_db: Vec::with_capacity(count),
        limited: Vec::with_capacity(count),
        ipsi_target,
    };
    for k in 0..count {
        let f = plant.freqs[k];
        let w = 2.0 * PI * f;

        let p = plant.matrix(k);
        let mut filters = CMatrix::zeros(n, 2);
        let mut target_db = [0.0; 2];
        let mut plain_db = [0.0; 2];
        let mut achieved_db = [0.0; 2];
        let mut limited = [false; 2];
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
            let column = Column::new(&p, j, target, &prior_col, x);
            let (cand, was_limited) = choose(&column, target_db[j], cap).unwrap_or_else(|| {
                // Numerically hopeless frequency (e.g. DC of a degenerate plant): plain feed.
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
                        ratio_db: plain_db[j],
                        gain: norm.norm(),
                    },
                    false,
                )
            });
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
            achieved_db[j] = cand.ratio_db;
            limited[j] = was_limited || scale < 1.0;
        }
        out.filters.push(filters);
        out.target_db.push(target_db);
        out.plain_db.push(plain_db);
        out.achieved_db.push(achieved_db);
        out.limited.push(limited);
    }
    out
}

/// Picks β for one column: the most regularised solution that still reaches the target
/// ratio, then more regularised still if its gain exceeds the cap.
fn choose(column: &Column, target_db: f64, cap: f64) -> Option<(Candidate, bool)> {
    let eval = |log_beta: f64| column.solve(10f64.powf(log_beta));
    let steps = ((LOG_BETA_RANGE.1 - LOG_BETA_RANGE.0) / LOG_BETA_STEP).round() as usize;
    let grid: Vec<(f64, Option<Candidate>)> = (0..=steps)
        .map(|i| {
            let lb = LOG_BETA_RANGE.0 + i as f64 * LOG_BETA_STEP;
            (lb, eval(lb))
        })
        .collect();
    // Largest grid β still reaching the target.
    let reaching = grid
        .iter()
        .rposition(|(_, c)| c.as_ref().is_some_and(|c| c.ratio_db >= target_db));
    let mut log_beta = match reaching {
        Some(i) if i == steps => grid[i].0,
        Some(i) => bisect(grid[i].0, grid[i + 1].0, |lb| {
            eval(lb).is_some_and(|c| c.ratio_db >= target_db)
        }),
        None => {
            // Target out of reach: the best ratio the plant allows.
            grid.iter()
                .filter_map(|(lb, c)| c.as_ref().map(|c| (*lb, c.ratio_db)))
                .max_by(|a, b| a.1.total_cmp(&b.1))?
                .0
        }
    };
    let within_cap = |lb: f64| eval(lb).is_some_and(|c| c.gain <= cap);
    let limited = !within_cap(log_beta);
    if limited {
        // The least regularisation above the chosen β that respects the cap.
        let safe = grid
            .iter()
            .position(|(lb, _)| *lb > log_beta && within_cap(*lb));
        log_beta = match safe {
            Some(i) => bisect(grid[i].0, grid[i - 1].0.max(log_beta), within_cap),
            None => LOG_BETA_RANGE.1,
        };
    }
    eval(log_beta).map(|c| (c, limited))
}

/// Bisection between a point where `holds` is true and one where it is false; returns the
/// point nearest the boundary on the side where it holds.
fn bisect(mut holding: f64, mut failing: f64, holds: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..BISECTION_STEPS {
        let mid = 0.5 * (holding + failing);
        if holds(mid) {
            holding = mid;
        } else {
            failing = mid;
        }
    }
    holding
}
