//! The per-bin loops of a frame, as kernels that the SIMD dispatch compiles for the CPU's
//! widest instruction set: the upmix, building the frame's filter matrix from the weighted
//! filter sets, and applying it.

use crate::dsp::contract::{FilterSet, UPMIX_CHANNELS};
use crate::dsp::planar::Planar;
use crate::dsp::simd::Kernel;
use crate::dsp::upmix::Upmix;
use realfft::num_complex::Complex32;

/// How much of each part of a filter set goes into one frame's output.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights {
    /// Of the processed chain at width 0 (loudness gain × crossfade).
    pub base: f32,
    /// Of the width delta (the same × width).
    pub width: f32,
    /// Of the sides, the terms on the input's L and R (the crossfade).
    pub plain: f32,
}

/// The upmix of one frame, as a kernel.
pub struct UpmixFrame<'a> {
    /// The upmix and its state.
    pub upmix: &'a mut Upmix,
    /// The frame's left spectrum.
    pub left: &'a [Complex32],
    /// The frame's right spectrum.
    pub right: &'a [Complex32],
    /// Per bin, how much of the centre is extracted.
    pub share: &'a [f32],
    /// L', R' and C.
    pub out: &'a mut [Planar; UPMIX_CHANNELS],
}

impl Kernel for UpmixFrame<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        self.upmix
            .process(self.left, self.right, self.share, self.out)
    }
}

/// Builds every output's row of the frame's filter matrix from the weighted filter sets:
/// `M_c = Σ_sets w.base·base_c + w.width·delta_c + w.plain·sides_c`, where the sides, which
/// act on the input's L = L' + C and R = R' + C, land on channel L' or R' and on C.
pub struct BuildMatrix<'a> {
    /// The playing sets (the current one, the previous one while it fades out).
    pub sets: [Option<(&'a FilterSet, Weights)>; 2],
    /// Per output and upmix channel, the frame's whole filter.
    pub matrix: &'a mut [[Planar; UPMIX_CHANNELS]],
}

impl Kernel for BuildMatrix<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        for (output, rows) in self.matrix.iter_mut().enumerate() {
            for (i, (set, w)) in self.sets.iter().flatten().enumerate() {
                // The first set overwrites, the second adds to it. A select, not a product
                // with zero: whatever the row held before (NaN·0 is NaN) is never read.
                let adds = i != 0;
                let base = set.base_row(output);
                let delta = set.delta_row(output);
                let used = set.sides_used[output];
                for (c, ((row, b), d)) in rows.iter_mut().zip(base).zip(delta).enumerate() {
                    // Side 0 acts on L = L' + C, side 1 on R = R' + C.
                    let on = |side: usize| used[side] && (c == side || c == 2);
                    let [p0, p1] = [0, 1].map(|side| if on(side) { w.plain } else { 0.0 });
                    let bins = row.len();
                    let ((br, bi), (dr, di)) = (b.parts(bins), d.parts(bins));
                    let (s0r, s0i) = set.side_row(0, output).parts(bins);
                    let (s1r, s1i) = set.side_row(1, output).parts(bins);
                    let (mr, mi) = (&mut row.re[..bins], &mut row.im[..bins]);
                    for k in 0..bins {
                        let (prior_r, prior_i) = if adds { (mr[k], mi[k]) } else { (0.0, 0.0) };
                        mr[k] =
                            prior_r + br[k] * w.base + dr[k] * w.width + s0r[k] * p0 + s1r[k] * p1;
                        mi[k] =
                            prior_i + bi[k] * w.base + di[k] * w.width + s0i[k] * p0 + s1i[k] * p1;
                    }
                }
            }
        }
    }
}

/// One output's spectrum: `out = Σ_c M_c·x_c` over the upmix channels, from planar rows
/// (pre-sliced to the bin count, so the loop compiles to SIMD) into the interleaved
/// spectrum the inverse FFT takes.
pub struct ApplyMatrix<'a> {
    /// One output's row of the frame's filter matrix.
    pub matrix: &'a [Planar; UPMIX_CHANNELS],
    /// The frame's upmix channels.
    pub channels: &'a [Planar; UPMIX_CHANNELS],
    /// The output's spectrum, interleaved for the inverse FFT.
    pub out: &'a mut [Complex32],
}

impl Kernel for ApplyMatrix<'_> {
    type Output = ();

    #[inline(always)]
    fn run(self) {
        let bins = self.out.len();
        let [m0, m1, m2] = self.matrix.each_ref().map(|p| p.all().parts(bins));
        let [x0, x1, x2] = self.channels.each_ref().map(|p| p.all().parts(bins));
        let ((m0r, m0i), (m1r, m1i), (m2r, m2i)) = (m0, m1, m2);
        let ((x0r, x0i), (x1r, x1i), (x2r, x2i)) = (x0, x1, x2);
        for (k, o) in self.out.iter_mut().enumerate() {
            let re = m0r[k] * x0r[k] - m0i[k] * x0i[k] + m1r[k] * x1r[k] - m1i[k] * x1i[k]
                + m2r[k] * x2r[k]
                - m2i[k] * x2i[k];
            let im = m0r[k] * x0i[k]
                + m0i[k] * x0r[k]
                + m1r[k] * x1i[k]
                + m1i[k] * x1r[k]
                + m2r[k] * x2i[k]
                + m2i[k] * x2r[k];
            *o = Complex32::new(re, im);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::contract::tests::filter_set;

    /// A row left holding NaN (by a set that should never have played) does not survive the
    /// next build: the first set overwrites it rather than scaling it by zero.
    #[test]
    fn the_first_set_overwrites_whatever_the_matrix_held() {
        let mut set = filter_set(1);
        set.base.re.fill(0.5);
        let bins = set.layout.bins();
        let poisoned = || {
            let mut p = Planar::zeros(bins);
            p.re.fill(f32::NAN);
            p.im.fill(f32::INFINITY);
            p
        };
        let mut matrix: Vec<[Planar; UPMIX_CHANNELS]> = (0..set.outputs)
            .map(|_| std::array::from_fn(|_| poisoned()))
            .collect();
        let weights = Weights {
            base: 1.0,
            width: 0.0,
            plain: 1.0,
        };
        BuildMatrix {
            sets: [Some((&set, weights)), None],
            matrix: &mut matrix,
        }
        .run();
        let values = matrix
            .iter()
            .flatten()
            .flat_map(|p| p.re.iter().chain(&p.im));
        let not_finite = values.filter(|v| !v.is_finite()).count();
        assert_eq!(
            not_finite, 0,
            "{not_finite} matrix values stayed non-finite"
        );
        assert_eq!(matrix[0][0].re[0], 0.5);
    }
}
