"""The editor drawn for real: the standalone binary (nice-plug's standalone wrapper, dummy audio
backend) under Xvfb, screenshotted with ImageMagick. The window must not be blank, and the plot
regions must carry the colours their curves are drawn in. The screenshot is kept as a test
artifact (target/test-artifacts/editor.png); docs/editor.png in the README is a copy of it."""

import os
import pathlib
import re
import shutil
import signal
import subprocess
import time

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STANDALONE = ROOT / "target" / "release" / "soundstage-standalone"
ARTIFACTS = ROOT / "target" / "test-artifacts"
# How long Xvfb may take to answer its first client.
X_SERVER_WAIT_S = 30

# The editor's palette (src/editor/theme.rs).
ACCENT = (0x4F, 0xC3, 0xF7)  # achieved separation, knobs, drivers
TARGET = (0xFF, 0xB7, 0x4D)  # the target curve
FAR = (0x81, 0xC7, 0x84)  # virtual speakers in the geometry view
BACKGROUND = (0x16, 0x19, 0x1F)


def free_display() -> int:
    for n in range(90, 140):
        if not pathlib.Path(f"/tmp/.X11-unix/X{n}").exists() and not pathlib.Path(f"/tmp/.X{n}-lock").exists():
            return n
    pytest.fail("no free X display number")


def window_geometry(env: dict, name: str):
    """(x, y, width, height) of the first top-level window called `name`, or None."""
    r = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if f'"{name}"' in line:
            m = re.search(r"(\d+)x(\d+)\+(-?\d+)\+(-?\d+)\s+\+(-?\d+)\+(-?\d+)", line)
            if m:
                w, h, _, _, x, y = map(int, m.groups())
                return x, y, w, h
    return None


def pixels(png: pathlib.Path) -> np.ndarray:
    raw = subprocess.run(["convert", str(png), "-depth", "8", "rgb:-"], capture_output=True, check=True).stdout
    size = subprocess.run(["identify", "-format", "%w %h", str(png)], capture_output=True, text=True, check=True)
    w, h = map(int, size.stdout.split())
    return np.frombuffer(raw, dtype=np.uint8).reshape(h, w, 3).astype(int)


def near(img: np.ndarray, colour, tolerance: int = 40) -> int:
    return int((np.abs(img - np.array(colour)).sum(axis=2) < tolerance).sum())


def test_standalone_editor_draws_controls_plots_and_geometry():
    for tool in ["Xvfb", "import", "convert", "identify", "xwininfo", "xdpyinfo"]:
        assert shutil.which(tool), f"{tool} is missing (the test command installs xvfb, imagemagick, x11-utils)"
    assert STANDALONE.is_file(), f"{STANDALONE} is missing: cargo build --release --features standalone"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    display = free_display()
    env = dict(os.environ, DISPLAY=f":{display}")
    xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    app = None
    try:
        # The socket appears before the server answers: wait until it answers a client (a
        # window opened earlier fails, and the standalone then runs without its editor).
        deadline = time.monotonic() + X_SERVER_WAIT_S
        while time.monotonic() < deadline:
            answered = subprocess.run(["xdpyinfo"], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL).returncode == 0
            if answered:
                break
            time.sleep(0.1)
        assert answered, f"Xvfb :{display} did not answer within {X_SERVER_WAIT_S} s"
        log = open(ARTIFACTS / "standalone.log", "w")
        app = subprocess.Popen([str(STANDALONE), "--backend", "dummy", "--sample-rate", "48000",
                                "--period-size", "512"], env=env, stdout=log, stderr=subprocess.STDOUT)
        geometry = None
        for _ in range(200):
            geometry = window_geometry(env, "Soundstage")
            if geometry or app.poll() is not None:
                break
            time.sleep(0.05)
        assert app.poll() is None, f"the standalone exited: {(ARTIFACTS / 'standalone.log').read_text()}"
        assert geometry, "no Soundstage window appeared"
        # The predictions are computed off the GUI thread; give them a moment to arrive.
        time.sleep(3.0)
        full = ARTIFACTS / "editor-screen.png"
        subprocess.run(["import", "-window", "root", str(full)], env=env, check=True)
        x, y, w, h = geometry
        shot = ARTIFACTS / "editor.png"
        subprocess.run(["convert", str(full), "-crop", f"{w}x{h}+{x}+{y}", "+repage", str(shot)], check=True)
    finally:
        if app is not None and app.poll() is None:
            app.send_signal(signal.SIGTERM)
            app.wait(timeout=10)
        xvfb.terminate()
        xvfb.wait(timeout=10)

    img = pixels(shot)
    h, w, _ = img.shape
    assert (w, h) == (1000, 680), f"the editor opens at its default size, not {w}x{h}"
    colours = len(np.unique(img.reshape(-1, 3), axis=0))
    background = near(img, BACKGROUND, 6) / (w * h)
    print(f"editor screenshot {w}x{h}: {colours} colours, {background:.0%} background")
    assert colours > 500, f"the window looks blank ({colours} colours)"
    assert background < 0.8, "the window is mostly empty background"
    # Regions (see src/editor.rs): controls on the left, predictions in the middle, meters on the right.
    left = img[:, : int(w * 0.27)]
    middle = img[:, int(w * 0.28) : int(w * 0.86)]
    upper_middle, lower_middle = middle[: int(h * 0.42)], middle[int(h * 0.42) :]
    assert near(left, ACCENT) > 200, "the knobs and sliders are drawn"
    assert near(upper_middle, FAR) > 30, "the geometry view shows the virtual speakers"
    assert near(upper_middle, ACCENT) > 20, "the geometry view shows the drivers"
    assert near(lower_middle, TARGET) > 60, "the cancellation plot shows its target curve"
    assert near(lower_middle, ACCENT) > 150, "the cancellation plot shows the achieved curve"
