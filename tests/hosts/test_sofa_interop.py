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


SPEED_OF_SOUND = 343.0
HEAD_RADIUS = 0.0875
EAR_AZIMUTH = np.radians(100.0)


def sphere_to_ear(source, head, ear, freqs):
    """The crate's rigid sphere (ray path around the head, 1/r, Brown & Duda's shadow), for a
    listener at `head` facing -y in the crate's frame, written out again here so that a file
    sofar writes can be checked against the built-in model."""
    azimuth = -EAR_AZIMUTH if ear == 0 else EAR_AZIMUTH
    ear_dir = np.array([np.sin(azimuth), -np.cos(azimuth)])
    v = np.asarray(source) - np.asarray(head)
    dist = np.hypot(*v)
    psi = np.arccos(np.clip(v @ ear_dir / dist, -1.0, 1.0))
    tangent = np.arccos(np.clip(HEAD_RADIUS / dist, -1.0, 1.0))
    if psi <= tangent:
        length = np.hypot(*(np.asarray(source) - (np.asarray(head) + HEAD_RADIUS * ear_dir)))
    else:
        length = np.sqrt(max(dist**2 - HEAD_RADIUS**2, 0.0)) + HEAD_RADIUS * (psi - tangent)
    alpha = 1.05 + 0.95 * np.cos(np.radians(np.degrees(psi) * 180.0 / 150.0))
    x = 2 * np.pi * freqs / (2 * SPEED_OF_SOUND / HEAD_RADIUS)
    shadow = (1 + 1j * alpha * x) / (1 + 1j * x)
    return shadow * np.exp(-2j * np.pi * freqs * length / SPEED_OF_SOUND) / length


def device_irs(xs, pose, fs, taps):
    """[ear][driver][tap] of drivers at crate x positions `xs` for a listener at `pose`
    (offset, distance), band-limited below 80 % of Nyquist."""
    n_fft = 8 * taps
    freqs = np.arange(n_fft // 2 + 1) * fs / n_fft
    band = np.clip((0.95 * fs / 2 - freqs) / (0.15 * fs / 2), 0.0, 1.0)
    irs = np.zeros((2, len(xs), taps))
    for ear in range(2):
        for k, x in enumerate(xs):
            h = sphere_to_ear((x, 0.0), pose, ear, freqs) * band
            irs[ear, k] = np.fft.irfft(h, n_fft)[:taps]
    return irs


def test_a_sofar_written_device_reads_its_geometry_and_designs_as_the_sphere(tmp_path):
    import sofar as sf

    assert SOUNDSTAGE.is_file(), f"{SOUNDSTAGE} is missing: cargo build --release"
    fs, taps = 48_000.0, 512
    xs = [-0.12, 0.0, 0.12]
    poses = [(0.0, 0.6), (0.05, 0.6)]
    M, R, E = len(poses), 2, len(xs)
    ir = np.zeros((M, R, taps, E))
    for m, pose in enumerate(poses):
        ir[m] = device_irs(xs, pose, fs, taps).transpose(0, 2, 1)
    s = sf.Sofa("SingleRoomMIMOSRIR")
    s.Data_IR = ir
    s.Data_SamplingRate = fs
    s.Data_Delay = np.zeros((1, R))
    # The room's frame: the drivers along +y, the listener at +x facing them (its right is +y).
    s.ListenerPosition = np.array([[d, o, 0.0] for o, d in poses])
    s.ListenerView = np.array([[-1.0, 0.0, 0.0]] * M)
    s.ListenerUp = np.array([0.0, 0.0, 1.0])
    s.ReceiverPosition = np.array([[[0.0], [0.09], [0.0]], [[0.0], [-0.09], [0.0]]])
    s.ReceiverPosition_Type, s.ReceiverPosition_Units = "cartesian", "metre"
    s.ReceiverView = np.array([[[1.0], [0.0], [0.0]]] * R)
    s.ReceiverUp = np.array([[[0.0], [0.0], [1.0]]] * R)
    s.SourcePosition = np.zeros((M, 3))
    s.EmitterPosition = np.array([[[0.0], [x], [0.0]] for x in xs])
    s.EmitterPosition_Type, s.EmitterPosition_Units = "cartesian", "metre"
    s.EmitterView = np.array([[[1.0], [0.0], [0.0]]] * E)
    s.EmitterUp = np.array([[[0.0], [0.0], [1.0]]] * E)
    s.delete("EmitterDescriptions")
    s.delete("ReceiverDescriptions")
    s.MeasurementDate = np.zeros(M)
    s.GLOBAL_Title = "prototype bar, sofar"
    s.GLOBAL_DatabaseName = "soundstage interop"
    s.GLOBAL_AuthorContact = "test@example.org"
    s.GLOBAL_Organization = "soundstage"
    s.GLOBAL_License = "CC0"
    path = tmp_path / "device.sofa"
    sf.write_sofa(str(path), s)

    r = subprocess.run([str(SOUNDSTAGE), "sofa", str(path), "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    read = json.loads(r.stdout)
    assert read["kind"] == "device" and read["convention"] == "SingleRoomMIMOSRIR"
    assert read["drivers"] == 3 and read["emitters_from_left"] == [1, 2, 3]
    assert abs(read["spacing_m"] - 0.12) < 1e-9
    got = [(l["offset_m"], l["distance_m"], l["yaw_deg"]) for l in read["listeners"]]
    assert np.allclose(got, [(o, d, 0.0) for o, d in poses], atol=1e-9), got
    assert read["nominal_listener"] == 1

    report = tmp_path / "report"
    r = subprocess.run([str(SOUNDSTAGE), "report", str(report), "--sofa", str(path),
                        "--set", "cancel=30"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    metrics = json.loads((report / "metrics.json").read_text())
    assert "prototype bar" in metrics["plant"]
    matched = metrics["measured_head"]["matched"]["nominal_db"]
    sphere = metrics["measured_head"]["sphere_design"]["nominal_db"]
    print(f"sofar device file: designed from it {matched:.2f} dB, designed for the built-in sphere {sphere:.2f} dB")
    assert abs(matched - sphere) <= 0.5
    assert matched > 25.0
