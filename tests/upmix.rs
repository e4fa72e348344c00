//! The upmix's promised behaviour, measured on real signals through the engine's own upmix
//! (the figures `soundstage report` prints).

use soundstage::offline::measure::upmix_figures;

#[test]
fn upmix_meets_every_figure_of_the_brief() {
    for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
        let f = upmix_figures(sample_rate);
        println!("{sample_rate} Hz: {f:?}");
        assert!(
            f.centre_only_c_error_db <= -60.0,
            "centre only: C differs from M by {:.1} dB",
            f.centre_only_c_error_db
        );
        assert!(
            f.centre_only_sides_db <= -60.0,
            "centre only: L'/R' at {:.1} dB",
            f.centre_only_sides_db
        );
        assert!(
            f.hard_panned_c_db <= -30.0,
            "hard panned: C at {:.1} dB",
            f.hard_panned_c_db
        );
        assert!(
            f.uncorrelated_c_db <= -15.0,
            "uncorrelated: C at {:.1} dB",
            f.uncorrelated_c_db
        );
        assert!(
            f.mix_corr_c_voice >= 0.9,
            "corr(C, voice) = {:.3}",
            f.mix_corr_c_voice
        );
        assert!(
            f.mix_corr_c_side.abs() <= 0.1,
            "corr(C, L-R) = {:.3}",
            f.mix_corr_c_side
        );
        assert!(
            f.reconstruction_db <= -80.0,
            "L' + C misses L by {:.1} dB",
            f.reconstruction_db
        );
    }
}
