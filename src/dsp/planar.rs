//! Complex spectra stored as separate real and imaginary arrays: the layout in which the
//! engine's per-bin loops are plain `f32` arithmetic on contiguous slices, so the compiler
//! turns them into SIMD. (Interleaved `Complex32` multiplies need shuffles and stay scalar.)

use realfft::num_complex::Complex32;

/// A run of complex values, real parts and imaginary parts in two arrays.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Planar {
    /// Real parts.
    pub re: Vec<f32>,
    /// Imaginary parts.
    pub im: Vec<f32>,
}

impl Planar {
    /// `len` zeros.
    pub fn zeros(len: usize) -> Self {
        Self {
            re: vec![0.0; len],
            im: vec![0.0; len],
        }
    }

    /// The values of an iterator, in order.
    pub fn collect(values: impl IntoIterator<Item = Complex32>) -> Self {
        let (re, im) = values.into_iter().map(|v| (v.re, v.im)).unzip();
        Self { re, im }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.re.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.re.is_empty()
    }

    /// Value `i`.
    pub fn get(&self, i: usize) -> Complex32 {
        Complex32::new(self.re[i], self.im[i])
    }

    /// Sets value `i`.
    pub fn set(&mut self, i: usize, value: Complex32) {
        self.re[i] = value.re;
        self.im[i] = value.im;
    }

    /// All values set to zero.
    pub fn clear(&mut self) {
        self.re.fill(0.0);
        self.im.fill(0.0);
    }

    /// The `len` values from `start` on.
    pub fn range(&self, start: usize, len: usize) -> PlanarSlice<'_> {
        PlanarSlice {
            re: &self.re[start..start + len],
            im: &self.im[start..start + len],
        }
    }

    /// Every value.
    pub fn all(&self) -> PlanarSlice<'_> {
        self.range(0, self.len())
    }
}

/// A borrowed run of planar complex values.
#[derive(Clone, Copy, Debug)]
pub struct PlanarSlice<'a> {
    /// Real parts.
    pub re: &'a [f32],
    /// Imaginary parts.
    pub im: &'a [f32],
}

impl<'a> PlanarSlice<'a> {
    /// The first `len` real and imaginary parts: slices of exactly the loop's length, so the
    /// loop needs no bounds checks.
    pub fn parts(self, len: usize) -> (&'a [f32], &'a [f32]) {
        (&self.re[..len], &self.im[..len])
    }
}
