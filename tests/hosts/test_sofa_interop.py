"""A SOFA file written by another tool: python's sofar (netCDF4 underneath), with several kB of
global comment and history and a non-ASCII title, on a 5° grid. Soundstage must read it with the
very responses sofar wrote, and design for it."""

import json
import pathlib
import subprocess

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOUNDSTAGE = ROOT / "target" / "release" / "soundstage"


def synthetic_set():
    """A 5° horizontal ring of decaying, direction-dependent responses, plus off-plane ones."""
    rng = np.random.default_rng(7)
    fs, n = 48_000.0, 256
    az = np.arange(0, 360, 5, dtype=float)
    positions = [(a, 0.0, 1.2) for a in az] + [(a, 45.0, 1.2) for a in (0.0, 90.0, 180.0, 270.0)]
    ir = np.zeros((len(positions), 2, n))
    t = np.arange(n)
    for m, (a, _, _) in enumerate(positions):
        for ear, sign in ((0, 1.0), (1, -1.0)):
            onset = 40 + int(round(12 * sign * np.sin(np.radians(a))))
            decay = np.exp(-(t - onset).clip(0) / 12.0) * (t >= onset)
            ir[m, ear] = decay * rng.standard_normal(n) * (0.6 + 0.4 * np.cos(np.radians(a)) * sign)
            ir[m, ear, onset] = 1.0
    return fs, np.array(positions), ir


def test_a_sofar_written_file_reads_with_the_written_responses(tmp_path):
    import sofar as sf

    assert SOUNDSTAGE.is_file(), f"{SOUNDSTAGE} is missing: cargo build --release"
    fs, positions, ir = synthetic_set()
    s = sf.Sofa("SimpleFreeFieldHRIR")
    s.Data_IR = ir
    s.Data_SamplingRate = fs
    s.Data_Delay = np.zeros((1, 2))
    s.SourcePosition = positions
    s.GLOBAL_Comment = "A long comment line, as measurement labs write them. " * 120
    s.GLOBAL_History = "".join(f"{i}: resampled, windowed and equalised, step {i}\n" for i in range(150))
    s.GLOBAL_Title = "Kopf äöü, 5° grid"
    s.GLOBAL_DatabaseName = "soundstage interop"
    s.GLOBAL_ListenerShortName = "synthetic"
    s.GLOBAL_AuthorContact = "test@example.org"
    s.GLOBAL_Organization = "soundstage"
    s.GLOBAL_License = "CC0"
    path = tmp_path / "sofar.sofa"
    sf.write_sofa(str(path), s)
    assert len(s.GLOBAL_Comment) + len(s.GLOBAL_History) > 8000

    r = subprocess.run([str(SOUNDSTAGE), "sofa", str(path), "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    read = json.loads(r.stdout)
    assert read["name"] == "Kopf äöü, 5° grid"
    assert read["sample_rate"] == fs
    assert abs(read["radius_m"] - 1.2) < 1e-9
    rows = read["horizontal_measurements"]
    horizontal = [m for m, p in enumerate(positions) if p[1] == 0.0]
    assert len(rows) == len(horizontal) == 72, "the off-plane measurements are left out"
    worst = 0.0
    for row, m in zip(rows, horizontal):
        assert row["azimuth_deg"] == positions[m][0]
        for ear, key in ((0, "left"), (1, "right")):
            got = np.array(row[key])
            worst = max(worst, float(np.max(np.abs(got - ir[m, ear, : len(got)]))))
    print(f"sofar file read back: largest sample error {worst:.2e}")
    assert worst <= 1e-5

    report = tmp_path / "report"
    r = subprocess.run([str(SOUNDSTAGE), "report", str(report), "--preset", "smart-speaker",
                        "--sofa", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    metrics = json.loads((report / "metrics.json").read_text())
    assert "Kopf" in metrics["plant"]
    assert metrics["measured_head"]["matched"]["nominal_db"] > 10.0
