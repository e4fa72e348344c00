//! A small dense complex matrix for the per-frequency plants and filter matrices.

use crate::design::C64;

/// A row-major complex matrix small enough to live on the heap without a linear-algebra crate.
#[derive(Clone, Debug, PartialEq)]
pub struct CMatrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// Entries, row-major.
    pub data: Vec<C64>,
}

impl CMatrix {
    /// An all-zero matrix, the starting point of every accumulation.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            data: vec![C64::new(0.0, 0.0); rows * cols],
        }
    }

    /// Matrix-vector product.
    pub fn mul_vec(&self, v: &[C64]) -> Vec<C64> {
        assert_eq!(
            self.cols,
            v.len(),
            "vector length does not match the matrix"
        );
        (0..self.rows)
            .map(|r| (0..self.cols).map(|c| self[(r, c)] * v[c]).sum())
            .collect()
    }
}

impl std::ops::Index<(usize, usize)> for CMatrix {
    type Output = C64;
    fn index(&self, (r, c): (usize, usize)) -> &C64 {
        &self.data[r * self.cols + c]
    }
}

impl std::ops::IndexMut<(usize, usize)> for CMatrix {
    fn index_mut(&mut self, (r, c): (usize, usize)) -> &mut C64 {
        &mut self.data[r * self.cols + c]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_with_a_vector() {
        let mut m = CMatrix::zeros(2, 2);
        m[(0, 0)] = C64::new(1.0, 1.0);
        m[(1, 1)] = C64::new(0.0, 2.0);
        m[(0, 1)] = C64::new(3.0, 0.0);
        let v = m.mul_vec(&[C64::new(1.0, 0.0), C64::new(0.0, 1.0)]);
        assert_eq!(v, vec![C64::new(1.0, 4.0), C64::new(-2.0, 0.0)]);
    }
}
