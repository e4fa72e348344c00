//! The upmix: L, R → L', R', C per STFT bin.
//!
//! C is the part of the mix that is common and equal in both channels and uncorrelated with
//! the side signal S = (L − R)/2. Per bin, with cross-spectra smoothed over time (one pole,
//! [`UPMIX_TIME_CONSTANT_S`]) and over three neighbouring bins:
//! 1. project out of the mid M = (L + R)/2 everything correlated with S:
//!    M⊥ = M − (Φ_MS / Φ_SS)·S. Any amplitude-panned source is fully correlated with S, so
//!    it leaves M⊥ entirely, wherever it is panned;
//! 2. estimate the common power Φ_CC = max(Re Φ_LR, 0) and apply the Wiener gain
//!    ρ = Φ_CC / Φ_M⊥M⊥ (1 for a centred source, 0 for uncorrelated ambience);
//! 3. gate it softly, mask = clamp((ρ − ρ0)/(1 − ρ0), 0, 1), so the residual coherence of
//!    finite smoothing does not pull decorrelated ambience into the centre.
//!
//! Then C = mask·M⊥, L' = L − C, R' = R − C: lossless by construction.

use super::planar::Planar;
use realfft::num_complex::Complex32;

/// Time constant of the cross-spectrum smoothing, seconds.
pub const UPMIX_TIME_CONSTANT_S: f64 = 0.065;

/// Coherence below which nothing is taken into the centre.
pub const COHERENCE_GATE: f32 = 0.25;

/// Smoothed cross-spectra and scratch space for one stereo stream, all planar (one array per
/// real quantity) so that every per-bin loop vectorises.
pub struct Upmix {
    /// This frame's spectra.
    input: [Planar; 2],
    ll: Vec<f32>,
    rr: Vec<f32>,
    lr: Planar,
    smoothed_ll: Vec<f32>,
    smoothed_rr: Vec<f32>,
    smoothed_lr: Planar,
    decay: f32,
}

impl Upmix {
    /// State for `bins` bins, updated once per `hop` samples at `sample_rate`.
    pub fn new(bins: usize, hop: usize, sample_rate: f64) -> Self {
        let decay = (-(hop as f64) / (UPMIX_TIME_CONSTANT_S * sample_rate)).exp() as f32;
        Self {
            input: [Planar::zeros(bins), Planar::zeros(bins)],
            ll: vec![0.0; bins],
            rr: vec![0.0; bins],
            lr: Planar::zeros(bins),
            smoothed_ll: vec![0.0; bins],
            smoothed_rr: vec![0.0; bins],
            smoothed_lr: Planar::zeros(bins),
            decay,
        }
    }

    /// Forgets the signal history (after invalid input or a transport jump).
    pub fn reset(&mut self) {
        self.ll.fill(0.0);
        self.rr.fill(0.0);
        self.lr.clear();
    }

    /// Splits one frame's spectra `left`, `right` into `[L', R', C]`; `share[k]` scales the
    /// centre taken at bin k (0 leaves the bin to the sides).
    #[inline(always)]
    pub fn process(
        &mut self,
        left: &[Complex32],
        right: &[Complex32],
        share: &[f32],
        out: &mut [Planar; 3],
    ) {
        let bins = left.len();
        for (planar, spectrum) in self.input.iter_mut().zip([left, right]) {
            // Zipped slices of one length: no bounds checks, so the copy vectorises.
            let (re, im) = (&mut planar.re[..bins], &mut planar.im[..bins]);
            for ((r, i), v) in re.iter_mut().zip(im.iter_mut()).zip(spectrum) {
                *r = v.re;
                *i = v.im;
            }
        }
        let a = self.decay;
        let b = 1.0 - a;
        let [l, r] = &self.input;
        let (lre, lim, rre, rim) = (&l.re[..bins], &l.im[..bins], &r.re[..bins], &r.im[..bins]);
        let (ll, rr) = (&mut self.ll[..bins], &mut self.rr[..bins]);
        let (xre, xim) = (&mut self.lr.re[..bins], &mut self.lr.im[..bins]);
        for k in 0..bins {
            ll[k] = a * ll[k] + b * (lre[k] * lre[k] + lim[k] * lim[k]);
            rr[k] = a * rr[k] + b * (rre[k] * rre[k] + rim[k] * rim[k]);
            // L·conj(R)
            xre[k] = a * xre[k] + b * (lre[k] * rre[k] + lim[k] * rim[k]);
            xim[k] = a * xim[k] + b * (lim[k] * rre[k] - lre[k] * rim[k]);
        }
        smooth3(&self.ll, &mut self.smoothed_ll);
        smooth3(&self.rr, &mut self.smoothed_rr);
        smooth3(&self.lr.re, &mut self.smoothed_lr.re);
        smooth3(&self.lr.im, &mut self.smoothed_lr.im);
        let (sll, srr) = (&self.smoothed_ll[..bins], &self.smoothed_rr[..bins]);
        let (sre, sim) = (&self.smoothed_lr.re[..bins], &self.smoothed_lr.im[..bins]);
        let share = &share[..bins];
        let [out_l, out_r, out_c] = out;
        let (olr, oli) = (&mut out_l.re[..bins], &mut out_l.im[..bins]);
        let (orr, ori) = (&mut out_r.re[..bins], &mut out_r.im[..bins]);
        let (ocr, oci) = (&mut out_c.re[..bins], &mut out_c.im[..bins]);
        for k in 0..bins {
            let (ll, rr, lr_re, lr_im) = (sll[k], srr[k], sre[k], sim[k]);
            let power = ll + rr;
            let eps = 1e-30 + 1e-6 * power;
            let mm = 0.25 * (power + 2.0 * lr_re);
            let ss = 0.25 * (power - 2.0 * lr_re);
            // Φ_MS = (ll − rr)/4 − j·Im(Φ_LR)/2
            let (ms_re, ms_im) = (0.25 * (ll - rr), -0.5 * lr_im);
            let inv_ss = 1.0 / (ss.max(0.0) + eps);
            let (beta_re, beta_im) = (ms_re * inv_ss, ms_im * inv_ss);
            let m_perp = (mm - (ms_re * ms_re + ms_im * ms_im) * inv_ss).max(0.0);
            let common = lr_re.max(0.0);
            let rho = (common / m_perp.max(eps)).min(1.0);
            let mask = ((rho - COHERENCE_GATE) / (1.0 - COHERENCE_GATE)).clamp(0.0, 1.0) * share[k];
            let (mid_re, mid_im) = (0.5 * (lre[k] + rre[k]), 0.5 * (lim[k] + rim[k]));
            let (side_re, side_im) = (0.5 * (lre[k] - rre[k]), 0.5 * (lim[k] - rim[k]));
            let c_re = (mid_re - (beta_re * side_re - beta_im * side_im)) * mask;
            let c_im = (mid_im - (beta_re * side_im + beta_im * side_re)) * mask;
            ocr[k] = c_re;
            oci[k] = c_im;
            olr[k] = lre[k] - c_re;
            oli[k] = lim[k] - c_im;
            orr[k] = rre[k] - c_re;
            ori[k] = rim[k] - c_im;
        }
    }
}

/// Three-bin moving average (edges average what exists).
#[inline(always)]
fn smooth3(src: &[f32], dst: &mut [f32]) {
    let n = src.len();
    if n < 3 {
        dst.copy_from_slice(src);
        return;
    }
    dst[0] = (src[0] + src[1]) * 0.5;
    for k in 1..n - 1 {
        dst[k] = (src[k - 1] + src[k] + src[k + 1]) * (1.0 / 3.0);
    }
    dst[n - 1] = (src[n - 2] + src[n - 1]) * 0.5;
}
