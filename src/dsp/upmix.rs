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

use realfft::num_complex::Complex32;

/// Time constant of the cross-spectrum smoothing, seconds.
pub const UPMIX_TIME_CONSTANT_S: f64 = 0.065;

/// Coherence below which nothing is taken into the centre.
pub const COHERENCE_GATE: f32 = 0.25;

/// Smoothed cross-spectra and scratch space for one stereo stream.
pub struct Upmix {
    ll: Vec<f32>,
    rr: Vec<f32>,
    lr: Vec<Complex32>,
    smoothed_ll: Vec<f32>,
    smoothed_rr: Vec<f32>,
    smoothed_lr: Vec<Complex32>,
    decay: f32,
}

impl Upmix {
    /// State for `bins` bins, updated once per `hop` samples at `sample_rate`.
    pub fn new(bins: usize, hop: usize, sample_rate: f64) -> Self {
        let decay = (-(hop as f64) / (UPMIX_TIME_CONSTANT_S * sample_rate)).exp() as f32;
        Self {
            ll: vec![0.0; bins],
            rr: vec![0.0; bins],
            lr: vec![Complex32::new(0.0, 0.0); bins],
            smoothed_ll: vec![0.0; bins],
            smoothed_rr: vec![0.0; bins],
            smoothed_lr: vec![Complex32::new(0.0, 0.0); bins],
            decay,
        }
    }

    /// Forgets the signal history (after invalid input or a transport jump).
    pub fn reset(&mut self) {
        self.ll.fill(0.0);
        self.rr.fill(0.0);
        self.lr.fill(Complex32::new(0.0, 0.0));
    }

    /// Splits one frame's spectra `left`, `right` into `[L', R', C]`; `share[k]` scales the
    /// centre taken at bin k (0 leaves the bin to the sides).
    pub fn process(
        &mut self,
        left: &[Complex32],
        right: &[Complex32],
        share: &[f32],
        out: &mut [Vec<Complex32>; 3],
    ) {
        let a = self.decay;
        let b = 1.0 - a;
        for k in 0..left.len() {
            let (l, r) = (left[k], right[k]);
            self.ll[k] = a * self.ll[k] + b * l.norm_sqr();
            self.rr[k] = a * self.rr[k] + b * r.norm_sqr();
            self.lr[k] = self.lr[k] * a + l * r.conj() * b;
        }
        smooth3(&self.ll, &mut self.smoothed_ll);
        smooth3(&self.rr, &mut self.smoothed_rr);
        smooth3(&self.lr, &mut self.smoothed_lr);
        let [out_l, out_r, out_c] = out;
        for k in 0..left.len() {
            let (ll, rr, lr) = (
                self.smoothed_ll[k],
                self.smoothed_rr[k],
                self.smoothed_lr[k],
            );
            let power = ll + rr;
            let eps = 1e-30 + 1e-6 * power;
            let mm = 0.25 * (power + 2.0 * lr.re);
            let ss = 0.25 * (power - 2.0 * lr.re);
            let ms = Complex32::new(0.25 * (ll - rr), -0.5 * lr.im);
            let inv_ss = 1.0 / (ss.max(0.0) + eps);
            let beta = ms * inv_ss;
            let m_perp = (mm - ms.norm_sqr() * inv_ss).max(0.0);
            let common = lr.re.max(0.0);
            let rho = (common / m_perp.max(eps)).min(1.0);
            let mask = ((rho - COHERENCE_GATE) / (1.0 - COHERENCE_GATE)).clamp(0.0, 1.0) * share[k];
            let (l, r) = (left[k], right[k]);
            let mid = (l + r) * 0.5;
            let side = (l - r) * 0.5;
            let c = (mid - beta * side) * mask;
            out_c[k] = c;
            out_l[k] = l - c;
            out_r[k] = r - c;
        }
    }
}

/// Three-bin moving average (edges average what exists).
fn smooth3<T>(src: &[T], dst: &mut [T])
where
    T: Copy + std::ops::Add<Output = T> + std::ops::Mul<f32, Output = T>,
{
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
