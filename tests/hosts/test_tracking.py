"""Head tracking in a real VST3 host: pedalboard loads the plugin with tracking on (a session
setting, in the state), a thread sends opentrack and OSC poses to its UDP port among bad
datagrams while the host plays noise in real-time-sized chunks, and the output ends up the
same as a fresh instance's with that pose set as parameters."""

import json
import socket
import struct
import threading
import time

import numpy as np
import pytest

from test_hostile_states import component_state, with_component_state

SR = 48_000
CHUNK = 4_800
SECONDS = 5
# The last second and a half: the pose has glided in (1 s), settled and been designed for
# where it settled (1 s after it stopped moving).
COMPARED = int(1.5 * SR)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def osc(address: str, *floats: float) -> bytes:
    """An OSC message of float32 arguments (the format is simple enough to write here)."""

    def padded(b: bytes) -> bytes:
        return b + b"\0" * (4 - len(b) % 4)

    return padded(address.encode()) + padded(b"," + b"f" * len(floats)) + struct.pack(f">{len(floats)}f", *floats)


def play(plugin, x: np.ndarray, paced: bool) -> np.ndarray:
    """Plays `x` in chunks of CHUNK samples, paced at the sample rate if `paced` (as a live
    host's callbacks are), keeping the plugin's state between chunks."""
    out = []
    for start in range(0, x.shape[1], CHUNK):
        began = time.monotonic()
        out.append(plugin.process(x[:, start:start + CHUNK], SR, reset=False))
        if paced:
            time.sleep(max(0.0, CHUNK / SR - (time.monotonic() - began)))
    return np.concatenate(out, axis=1)


@pytest.mark.parametrize("protocol", ["opentrack", "osc"])
def test_poses_over_udp_steer_the_vst3_like_the_same_pose_as_parameters(vst3_path, protocol):
    pedalboard = pytest.importorskip("pedalboard")
    port = free_port()
    plugin = pedalboard.load_plugin(vst3_path)
    state = json.loads(component_state(plugin.raw_state))
    state["fields"]["tracking"] = json.dumps({"enabled": True, "port": port, "all_interfaces": False})
    plugin.raw_state = with_component_state(plugin.raw_state, json.dumps(state).encode())
    # 6 cm to the right, 10 cm further away, turned 8° to the left, in each protocol's axes.
    if protocol == "opentrack":
        packets = [struct.pack("<6d", -6.0, 0.0, 10.0, -8.0, 3.0, 1.0)]
    else:
        packets = [osc("/xyz", -0.10, -0.06, 0.0), osc("/ypr", 8.0, 3.0, 1.0)]
    bad = [packets[0][:-1], osc("/ypr", float("nan"), 0.0, 0.0), b"\xff" * 700]
    rng = np.random.default_rng(5)
    x = (0.1 * rng.standard_normal((2, SECONDS * SR))).astype(np.float32)
    stop = threading.Event()

    def send():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            n = 0
            while not stop.is_set():
                for p in packets + [bad[n % len(bad)]]:
                    s.sendto(p, ("127.0.0.1", port))
                n += 1
                time.sleep(0.01)

    sender = threading.Thread(target=send)
    sender.start()
    try:
        tracked = play(plugin, x, paced=True)
    finally:
        stop.set()
        sender.join()
    reference = pedalboard.load_plugin(vst3_path)
    # The host sets parameters in their plain units: cm, m, degrees.
    reference.listener_offset_cm = 6.0
    reference.listening_distance_m = 1.039 + 0.10
    reference.listener_yaw = 8.0
    # Paced too: a parameter change is designed on the plugin's own thread while it plays.
    expected = play(reference, x, paced=True)
    untracked = play(pedalboard.load_plugin(vst3_path), x, paced=True)
    tail = slice(-COMPARED, None)
    power = np.sum(expected[:, tail].astype(np.float64) ** 2)
    null = 10 * np.log10(np.sum((tracked[:, tail] - expected[:, tail]).astype(np.float64) ** 2) / power)
    moved = 10 * np.log10(np.sum((untracked[:, tail] - expected[:, tail]).astype(np.float64) ** 2) / power)
    print(f"{protocol}: tracked against the same pose as parameters {null:.1f} dB (untracked {moved:.1f} dB)")
    assert moved > -30, f"the pose hardly changes the sound: {moved:.1f} dB"
    assert null <= -60, f"the tracked output is {null:.1f} dB from the same pose set as parameters"
