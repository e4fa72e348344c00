//! Third-octave bands and smooth band edges: how every figure in the reports is averaged and
//! how every design fades its processing in and out across frequency.

/// Centre frequencies (base-ten, ANSI S1.11 nominal grid 1000·2^(k/3)) of the third-octave
/// bands whose centres lie within `[lo_hz, hi_hz]`, with a 6 % tolerance at the top so that
/// "up to 6 kHz" includes the 6.3 kHz band.
pub fn third_octave_centres(lo_hz: f64, hi_hz: f64) -> Vec<f64> {
    (-20..=14)
        .map(|k| 1000.0 * 2f64.powf(k as f64 / 3.0))
        .filter(|&f| f >= lo_hz * 0.99 && f <= hi_hz * 1.06)
        .collect()
}

/// Energy-weighted average of `values` over each third-octave band: `(centre, mean)` pairs.
/// `values[k]` belongs to `freqs[k]`; bands with no bin are skipped.
pub fn band_means(freqs: &[f64], values: &[f64], lo_hz: f64, hi_hz: f64) -> Vec<(f64, f64)> {
    third_octave_centres(lo_hz, hi_hz)
        .into_iter()
        .filter_map(|fc| {
            let (lo, hi) = (fc * 2f64.powf(-1.0 / 6.0), fc * 2f64.powf(1.0 / 6.0));
            let sel: Vec<f64> = freqs
                .iter()
                .zip(values)
                .filter(|(f, _)| **f >= lo && **f < hi)
                .map(|(_, v)| *v)
                .collect();
            (!sel.is_empty()).then(|| (fc, sel.iter().sum::<f64>() / sel.len() as f64))
        })
        .collect()
}

/// The brief's separation figure: per third-octave band, 10·log10 of the wanted ear's energy
/// over the other ear's energy; returns the per-band dB values.
pub fn band_ratio_db(
    freqs: &[f64],
    wanted: &[f64],
    other: &[f64],
    lo_hz: f64,
    hi_hz: f64,
) -> Vec<(f64, f64)> {
    let w = band_means(freqs, wanted, lo_hz, hi_hz);
    let o = band_means(freqs, other, lo_hz, hi_hz);
    w.iter()
        .zip(&o)
        .map(|(&(fc, a), &(_, b))| (fc, 10.0 * (a / b.max(1e-300)).log10()))
        .collect()
}

/// Mean of the dB values of a band list: "mean of third-octave band dB".
pub fn mean_db(bands: &[(f64, f64)]) -> f64 {
    bands.iter().map(|(_, v)| v).sum::<f64>() / bands.len().max(1) as f64
}

/// A raised-cosine step in log frequency: 0 at or below `from_hz`, 1 at or above `to_hz`.
/// Smooth in frequency, so the FIRs that realise it stay short.
pub fn log_step(freq_hz: f64, from_hz: f64, to_hz: f64) -> f64 {
    if freq_hz <= from_hz {
        0.0
    } else if freq_hz >= to_hz {
        1.0
    } else {
        let x = (freq_hz / from_hz).ln() / (to_hz / from_hz).ln();
        0.5 - 0.5 * (std::f64::consts::PI * x).cos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_grid_covers_the_brief_band() {
        let c = third_octave_centres(300.0, 6000.0);
        assert!((c[0] - 315.0).abs() < 1.0, "{c:?}");
        assert!((c.last().unwrap() - 6350.0).abs() < 5.0, "{c:?}");
        assert_eq!(c.len(), 14);
    }

    #[test]
    fn log_step_is_monotone_and_bounded() {
        let mut last = 0.0;
        for i in 0..100 {
            let v = log_step(50.0 + 5.0 * i as f64, 100.0, 200.0);
            assert!((0.0..=1.0).contains(&v) && v >= last);
            last = v;
        }
        assert_eq!(log_step(100.0, 100.0, 200.0), 0.0);
        assert_eq!(log_step(200.0, 100.0, 200.0), 1.0);
    }
}
