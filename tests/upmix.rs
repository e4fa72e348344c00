//! The upmix's promised behaviour, measured on real signals through the engine's own upmix
//! (the figures `soundstage report` prints).

use soundstage::dsp::contract::LatencyMode;
use soundstage::offline::measure::upmix_figures;

#[test]
fn upmix_meets_every_figure_of_the_brief_in_both_latency_modes() {
    for (sample_rate, mode) in [44_100.0, 48_000.0, 96_000.0]
        .into_iter()
        .flat_map(|rate| LatencyMode::ALL.map(|mode| (rate, mode)))
    {
        let f = upmix_figures(sample_rate, mode);
        println!("{sample_rate} Hz, {mode:?}: {f:?}");
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

/// The low-latency mode's shorter frames loosen no upmix figure by more than 3 dB.
#[test]
fn low_latency_upmix_is_within_3_db_of_normal() {
    let normal = upmix_figures(48_000.0, LatencyMode::Normal);
    let low = upmix_figures(48_000.0, LatencyMode::Low);
    for (name, n, l) in [
        (
            "centre-only C error",
            normal.centre_only_c_error_db,
            low.centre_only_c_error_db,
        ),
        (
            "centre-only sides",
            normal.centre_only_sides_db,
            low.centre_only_sides_db,
        ),
        (
            "hard-panned C",
            normal.hard_panned_c_db,
            low.hard_panned_c_db,
        ),
        (
            "uncorrelated C",
            normal.uncorrelated_c_db,
            low.uncorrelated_c_db,
        ),
        (
            "reconstruction",
            normal.reconstruction_db,
            low.reconstruction_db,
        ),
    ] {
        println!("{name}: normal {n:.1} dB, low {l:.1} dB");
        assert!(
            l <= n + 3.0,
            "{name}: low {l:.1} dB against normal {n:.1} dB"
        );
    }
    println!(
        "corr(C, voice): normal {:.3}, low {:.3}; corr(C, L-R): normal {:.3}, low {:.3}",
        normal.mix_corr_c_voice, low.mix_corr_c_voice, normal.mix_corr_c_side, low.mix_corr_c_side
    );
    assert!(low.mix_corr_c_voice >= normal.mix_corr_c_voice - 0.05);
}
