//! The search for each column's regularisation: a bracket from a grid of β or from a nearby
//! pose's β, refined to the boundary where the target ratio (or the gain cap) is met; and,
//! for a listening zone, the reweighing of its poses towards the minimax solution.

use super::{Candidate, Column, LOG_BETA_RANGE, LOG_BETA_STEP};

/// Picks β for one column: the most regularised solution that still reaches the target
/// ratio, then more regularised still if its gain exceeds the cap. Each boundary is found
/// from a bracket by the Illinois variant of regula falsi (a handful of solves where
/// bisection took sixteen: designs must be fast enough to follow a moving head). The bracket
/// comes from the grid, or from widening steps around `start` (log β) when one is given.
/// Returns the candidate, whether the cap limited it, and the log β that reached the target
/// (NaN if none did).
pub(super) fn choose(
    column: &Column,
    target_db: f64,
    cap: f64,
    start: Option<f64>,
) -> Option<(Candidate, bool, f64)> {
    let eval = |log_beta: f64| column.solve(10f64.powf(log_beta));
    let target = 10f64.powf(target_db / 10.0);
    let reaches = |c: &Candidate| c.ratio_db() - target_db;
    let within_cap = |c: &Candidate| 1.0 - c.gain / cap;
    let near = start.filter(|s| s.is_finite()).and_then(|s| {
        let holds = |c: &Option<Candidate>| c.as_ref().is_some_and(|c| c.ratio >= target);
        reach_near(s, eval, holds, reaches)
    });
    let (chosen, reached) = match near {
        Some(found) => (found, true),
        None => reach_on_grid(column, target, reaches, eval)?,
    };
    // Where the target is out of reach there is no boundary for the next design to start
    // from: it scans the grid again (NaN is no start).
    let start_next = if reached { chosen.0 } else { f64::NAN };
    if within_cap(&chosen.1) >= 0.0 {
        return Some((chosen.1, false, start_next));
    }
    // The least regularisation above the chosen β that respects the cap: widening steps up
    // from it, then the boundary between the last step that broke the cap and the first
    // that kept it.
    let mut failing = (chosen.0, Some(chosen.1));
    let mut step = WARM_STEP;
    let capped = loop {
        let up = (failing.0 + step).min(LOG_BETA_RANGE.1);
        let c = eval(up);
        if c.as_ref().is_some_and(|c| within_cap(c) >= 0.0) {
            break boundary(&(up, c), &failing, within_cap, GAIN_TOLERANCE, eval)?.1;
        }
        if up >= LOG_BETA_RANGE.1 {
            break c?;
        }
        failing = (up, c);
        step *= WARM_GROWTH;
    };
    Some((capped, true, start_next))
}

/// Most weighted designs a zone's column tries: the first weighs every pose alike, each
/// further one reweighs them; they stop once the worst pose reaches the target.
const ZONE_REWEIGHTS: usize = 8;

/// [`choose`] for a column held at `poses` poses (`column` builds it for a set of
/// weights): where the worst pose does not reach the target, the poses are reweighed by
/// how much each leaks (Lawson's iteration towards the minimax solution: the worst poses
/// gain weight) and the column designed again, keeping the design whose worst pose
/// separates best.
pub(super) fn choose_for_zone(
    column: impl Fn(&[f64]) -> Column,
    poses: usize,
    target_db: f64,
    cap: f64,
    start: Option<f64>,
) -> Option<(Candidate, bool, f64)> {
    let mut weights = vec![1.0; poses];
    let mut best: Option<(Candidate, bool, f64)> = None;
    for _ in 0..ZONE_REWEIGHTS {
        let problem = column(&weights);
        // A reweighed problem without a solution keeps the best of the rounds before it.
        let Some(found) = choose(&problem, target_db, cap, start) else {
            break;
        };
        let reached = found.2.is_finite();
        let leakage = problem.leakage(&problem.blend(&found.0.filters));
        if best.as_ref().is_none_or(|b| found.0.ratio > b.0.ratio) {
            best = Some(found);
        }
        if reached {
            break;
        }
        let total: f64 = weights.iter().zip(&leakage).map(|(w, e)| w * e).sum();
        if !(total > 0.0 && total.is_finite()) {
            break;
        }
        for (w, e) in weights.iter_mut().zip(&leakage) {
            *w *= e * poses as f64 / total;
        }
    }
    best
}

/// The largest grid β still reaching the target, refined to the boundary: scanned from the
/// top, so the grid below it is never solved (nothing below is looked at, except when none
/// reaches: then the best ratio the plant allows, and `false`).
fn reach_on_grid(
    column: &Column,
    target: f64,
    reaches: impl Fn(&Candidate) -> f64,
    eval: impl Fn(f64) -> Option<Candidate>,
) -> Option<((f64, Candidate), bool)> {
    let mut grid: [(f64, Option<Candidate>); GRID_POINTS] =
        std::array::from_fn(|i| (LOG_BETA_RANGE.0 + i as f64 * LOG_BETA_STEP, None));
    let steps = GRID_POINTS - 1;
    let mut reaching = None;
    for i in (0..GRID_POINTS).rev() {
        grid[i].1 = column.solve(GRID_BETAS[i]);
        if grid[i].1.as_ref().is_some_and(|c| c.ratio >= target) {
            reaching = Some(i);
            break;
        }
    }
    match reaching {
        Some(i) if i == steps => Some(((grid[i].0, grid[i].1?), true)),
        Some(i) => boundary(&grid[i], &grid[i + 1], reaches, RATIO_TOLERANCE_DB, eval)
            .map(|found| (found, true)),
        None => {
            let lb = grid
                .iter()
                .filter_map(|(lb, c)| c.as_ref().map(|c| (*lb, c.ratio)))
                .max_by(|a, b| a.1.total_cmp(&b.1))?
                .0;
            Some(((lb, eval(lb)?), false))
        }
    }
}

/// The reaching boundary found from `start` (log β): widening steps up while the target
/// holds, or down until it does, then the boundary of the last two. `None` when nothing
/// down to the range's bottom reaches (the grid then finds the best the plant allows).
fn reach_near(
    start: f64,
    eval: impl Fn(f64) -> Option<Candidate>,
    holds: impl Fn(&Option<Candidate>) -> bool,
    reaches: impl Fn(&Candidate) -> f64,
) -> Option<(f64, Candidate)> {
    let (bottom, top) = LOG_BETA_RANGE;
    let mut at = (start.clamp(bottom, top), None);
    at.1 = eval(at.0);
    let mut step = WARM_STEP;
    if holds(&at.1) {
        loop {
            if at.0 >= top {
                return Some((at.0, at.1?));
            }
            let up = (at.0 + step).min(top);
            let c = eval(up);
            if !holds(&c) {
                return boundary(&at, &(up, c), reaches, RATIO_TOLERANCE_DB, eval);
            }
            at = (up, c);
            step *= WARM_GROWTH;
        }
    }
    loop {
        if at.0 <= bottom {
            return None;
        }
        let down = (at.0 - step).max(bottom);
        let c = eval(down);
        if holds(&c) {
            return boundary(&(down, c), &at, reaches, RATIO_TOLERANCE_DB, eval);
        }
        at = (down, c);
        step *= WARM_GROWTH;
    }
}

/// First step from a search's start, decades: about how far β moves between the designs
/// of two tracker poses a few millimetres apart (measured: 0.001–0.003 for 5 mm and 0.5°).
const WARM_STEP: f64 = 0.01;

/// How much each further step widens (a start far off reaches the range's end in a dozen).
const WARM_GROWTH: f64 = 3.0;

/// Points of the β grid scanned before each boundary is refined.
const GRID_POINTS: usize = 15;

/// The grid's β values, 10^-9 to 10^5 (the search's range in whole decades).
const GRID_BETAS: [f64; GRID_POINTS] = [
    1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5,
];

/// How far above the target ratio the chosen solution may be, dB (far below what anyone
/// hears or any figure reports; a looser one saves no solves).
const RATIO_TOLERANCE_DB: f64 = 1e-4;

/// How far below the gain cap the capped solution may be, as a fraction of it.
const GAIN_TOLERANCE: f64 = 1e-6;

/// The boundary between `holding` (where `value` ≥ 0) and `failing` (where it is negative,
/// not a number, or no solution exists) in log β: the Illinois method (regula falsi whose
/// kept end has its value halved each time it is kept again, so both ends close in), aimed at
/// the middle of the accepted window, while both ends have finite values and the aim lies
/// inside the bracket; bisection otherwise. Returns the holding end once its value is within `tolerance` of the
/// boundary, or the bracket narrower than [`BRACKET_TOLERANCE`].
fn boundary(
    holding: &(f64, Option<Candidate>),
    failing: &(f64, Option<Candidate>),
    value: impl Fn(&Candidate) -> f64,
    tolerance: f64,
    eval: impl Fn(f64) -> Option<Candidate>,
) -> Option<(f64, Candidate)> {
    let finite = |v: f64| v.is_finite().then_some(v);
    let mut hold = (holding.0, holding.1?);
    // The holding end's value (to stop on) and the values the interpolation uses (halved
    // while an end is kept).
    let mut h_value = value(&hold.1);
    let mut h_weight = h_value;
    let mut fail = (failing.0, failing.1.as_ref().map(&value).and_then(finite));
    // Which end the last step replaced, to halve the other when it is kept again.
    let mut last_replaced_hold = None;
    for _ in 0..MAX_BOUNDARY_STEPS {
        if h_value <= tolerance || (fail.0 - hold.0).abs() < BRACKET_TOLERANCE {
            break;
        }
        let mid = 0.5 * (hold.0 + fail.0);
        let next = match fail.1 {
            Some(f_weight) if f_weight < 0.0 && h_weight.is_finite() => {
                // Aimed at the middle of the accepted window (a value in [0, tolerance]),
                // so that one good interpolation ends the search from either side.
                let t = (h_weight - 0.5 * tolerance) / (h_weight - f_weight);
                if t > 0.0 && t < 1.0 {
                    hold.0 + (fail.0 - hold.0) * t
                } else {
                    mid
                }
            }
            _ => mid,
        };
        match eval(next) {
            Some(c) if value(&c) >= 0.0 => {
                h_value = value(&c);
                h_weight = h_value;
                hold = (next, c);
                if last_replaced_hold == Some(true) {
                    fail.1 = fail.1.map(|v| 0.5 * v);
                }
                last_replaced_hold = Some(true);
            }
            c => {
                fail = (next, c.as_ref().map(&value).and_then(finite));
                if last_replaced_hold == Some(false) {
                    h_weight *= 0.5;
                }
                last_replaced_hold = Some(false);
            }
        }
    }
    Some(hold)
}

/// Width in log β below which a bracket counts as found (the 16 halvings of a decade that
/// bisection took).
const BRACKET_TOLERANCE: f64 = 1.0 / 65_536.0;

/// Most solves one boundary may take.
const MAX_BOUNDARY_STEPS: usize = 40;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::filters::ctc::MAX_DRIVERS;
    use crate::design::C64;

    #[test]
    fn the_grid_is_the_search_range_in_its_steps() {
        let steps = ((LOG_BETA_RANGE.1 - LOG_BETA_RANGE.0) / LOG_BETA_STEP).round() as usize;
        assert_eq!(GRID_POINTS, steps + 1);
        for (i, beta) in GRID_BETAS.iter().enumerate() {
            let expected = 10f64.powf(LOG_BETA_RANGE.0 + i as f64 * LOG_BETA_STEP);
            assert!(
                (beta / expected - 1.0).abs() < 1e-12,
                "{i}: {beta} vs {expected}"
            );
        }
    }

    /// A steep boundary (the review's case: 1 − 10^(5(0.5 − x)), crossing 0 at 0.5) is found
    /// to the bracket tolerance, holding side, as bisection would.
    #[test]
    fn the_boundary_search_closes_in_on_a_steep_function() {
        let candidate = |x: f64| Candidate {
            filters: [C64::new(x, 0.0); MAX_DRIVERS],
            ratio: 1.0,
            gain: 1.0,
        };
        let f = |c: &Candidate| 1.0 - 10f64.powf(5.0 * (0.5 - c.filters[0].re));
        let solves = std::cell::Cell::new(0);
        let eval = |x: f64| {
            solves.set(solves.get() + 1);
            Some(candidate(x))
        };
        let (x, _) = boundary(
            &(1.0, Some(candidate(1.0))),
            &(0.0, Some(candidate(0.0))),
            f,
            1e-9,
            eval,
        )
        .unwrap();
        assert!(
            x >= 0.5 && x - 0.5 < 2.0 * BRACKET_TOLERANCE,
            "{x} after {} solves",
            solves.get()
        );
        assert!(solves.get() <= 20, "{} solves", solves.get());
    }
}
