"""The command line against files made by another encoder: pedalboard (JUCE, libFLAC) writes
WAV, FLAC and AIFF of the same samples, and every one renders to the same output; the files
`soundstage render` writes open in pedalboard with the channels in the order printed. And the
bundle step leaves no copy of the command-line tool posing as the standalone."""

import pathlib
import subprocess
import tempfile

import numpy as np
from pedalboard.io import AudioFile

from conftest import ROOT

CLI = ROOT / "target" / "release" / "soundstage"


def render(source: pathlib.Path, target: pathlib.Path, *extra: str) -> str:
    assert CLI.is_file(), f"{CLI} is missing: build it with `cargo build --release`"
    r = subprocess.run([str(CLI), "render", str(source), str(target), *extra], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def read(path: pathlib.Path) -> np.ndarray:
    with AudioFile(str(path)) as f:
        return f.read(f.frames)


def test_wav_flac_and_aiff_from_another_encoder_render_alike():
    rng = np.random.default_rng(5)
    # Samples 16 bits hold exactly, so that every container holds the same values.
    samples = (np.round(rng.normal(0.0, 0.1, (2, 24_000)).clip(-0.9, 0.9) * 32768) / 32768).astype(np.float32)
    outputs = {}
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        for name in ["in.wav", "in.flac", "in.aiff"]:
            with AudioFile(str(d / name), "w", 48_000, 2, bit_depth=16) as f:
                f.write(samples)
            said = render(d / name, d / f"out-{name}.wav")
            outputs[name] = read(d / f"out-{name}.wav")
            print(said.splitlines()[0])
            assert "read as" in said
        assert "Free Lossless Audio Codec" in render(d / "in.flac", d / "again.wav")
        for name in ["in.flac", "in.aiff"]:
            assert np.array_equal(outputs[name], outputs["in.wav"]), name


def test_pedalboard_reads_each_output_format_with_the_drivers_in_line_order():
    rng = np.random.default_rng(6)
    centre = rng.normal(0.0, 0.1, 24_000).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        with AudioFile(str(d / "centre.wav"), "w", 48_000, 2, bit_depth=24) as f:
            f.write(np.stack([centre, centre]))
        reference = None
        for fmt in ["f32", "s24", "s16"]:
            said = render(d / "centre.wav", d / f"{fmt}.wav", "--preset", "soundbar", "--format", fmt)
            assert "in line order, leftmost first: L, C, R" in said, said
            out = read(d / f"{fmt}.wav")
            assert out.shape == (3, 24_000), out.shape
            rms = np.sqrt(np.mean(out.astype(np.float64) ** 2, axis=1))
            assert rms[1] > 2 * max(rms[0], rms[2]), f"{fmt}: the centre is the second channel: {rms}"
            if reference is None:
                reference = out
            else:
                lsb = 2.0 ** -15 if fmt == "s16" else 2.0 ** -23
                assert np.max(np.abs(out - reference)) < 4 * lsb, fmt


def test_the_bundle_step_leaves_no_command_line_tool_posing_as_the_standalone():
    # The command-line tool is built (the Rust suite built it); bundling again must not copy it.
    assert CLI.is_file()
    r = subprocess.run(["cargo", "xtask", "bundle", "soundstage", "--release", "--no-default-features"],
                       cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr
    names = sorted(p.name for p in (ROOT / "target" / "bundled").iterdir())
    assert names == ["Soundstage.clap", "Soundstage.vst3"], names
