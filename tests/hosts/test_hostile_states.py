"""Hostile plugin states through a real VST3 host: the host must survive every one of them.

A saved session is data from outside: a damaged file, a hand-edited preset, a state written by
a future version. `setState` must refuse what it cannot use and carry on; it must never panic
(a panic across the VST3 boundary aborts the host and loses the user's session), hang, run out
of memory or leave non-finite audio behind. It must also leave the plugin able to load a good
state afterwards and sound exactly like a fresh instance with that state.

Each case runs in its own child process, so that a crash or a hang is one failed case rather
than a dead test run. The child loads the plugin in pedalboard, sets `raw_state` to the hostile
bytes (a Python exception there is a refusal, which is fine), processes a second of noise,
then loads the good state and processes the same noise again.

pedalboard's `raw_state` is JUCE's envelope around what the plugin's `setState` receives:
"VC2!", a little-endian u32 length, then the XML
`<VST3PluginState><IComponent>SIZE.DATA</IComponent>...` where DATA is the component state in
JUCE's own base64 (see `juce_base64_encode`). The component state is nice-plug's JSON
`PluginState`: `{"version", "params": {id: {"f32"|"bool"|"string": value}}, "fields": {key:
JSON text}}`, where the persisted fields are "editor-size", "preset", "state-version" and
"head", the last a `HeadChoice` (`src/design/model/head.rs`) serialised to a JSON string.
"""

import base64
import copy
import json
import re
import signal
import struct
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

SR = 48_000
BLOCK = 512
# The good state differs from the defaults, so that loading it visibly changes the sound.
GOOD_WIDTH = 37.0
CHILD_TIMEOUT_S = 60
# Caps each child's address space: a state that makes the plugin allocate without bound must
# fail that case, not push the machine into swap. A normal child peaks below 0.5 GiB.
CHILD_MEMORY_LIMIT = 4 << 30
# The loudest a legal state can make a second of 0.1-rms noise is a few units; far beyond that
# a state has driven the engine past its ranges.
MAX_PEAK = 100.0
# The quietest: the noise through the lowest gain (-24 dB) still peaks near 0.02.
MIN_PEAK = 1e-3
# How far the good state's output may be from a fresh instance's.
GOOD_TOLERANCE = 1e-6
FINDINGS_PREFIX = "FINDINGS "

CHILD_SCRIPT = r'''
import json
import resource
import sys

config = json.loads(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (config["memory_limit"], config["memory_limit"]))

import numpy as np
import pedalboard


def noise():
    rng = np.random.default_rng(config["seed"])
    return (0.1 * rng.standard_normal((2, config["sample_rate"]))).astype(np.float32)


def process(plugin, x):
    return plugin.process(x, sample_rate=config["sample_rate"], buffer_size=config["block"], reset=True)


def capture():
    """Saves a good state and what a fresh instance with it makes of the noise."""
    plugin = pedalboard.load_plugin(config["vst3"])
    plugin.width = config["width"]
    # A VST3 host hands parameter changes to the plugin with audio: process once to deliver.
    process(plugin, np.zeros((2, config["block"]), dtype=np.float32))
    good = plugin.raw_state
    fresh = pedalboard.load_plugin(config["vst3"])
    fresh.raw_state = good
    np.save(config["reference"], process(fresh, noise()))
    with open(config["good"], "wb") as f:
        f.write(good)
    return {}


def hostile():
    """Loads the hostile state, plays, then loads the good state and plays again."""
    plugin = pedalboard.load_plugin(config["vst3"])
    x = noise()
    with open(config["hostile"], "rb") as f:
        state = f.read()
    refused = None
    try:
        plugin.raw_state = state
    except Exception as e:
        refused = f"{type(e).__name__}: {e}"
    y = process(plugin, x)
    findings = {
        "refused": refused,
        "shape": list(y.shape),
        "finite": bool(np.isfinite(y).all()),
        "peak": float(np.max(np.abs(y))),
    }
    # Saving the session again: the host's getState, where a value the loader let through
    # can still panic inside the framework.
    with open(config["saved"], "wb") as f:
        f.write(plugin.raw_state)
    with open(config["good"], "rb") as f:
        plugin.raw_state = f.read()
    reference = np.load(config["reference"])
    y = process(plugin, x)
    findings["good_max_diff"] = float(np.max(np.abs(y - reference)))
    return findings


findings = {"capture": capture, "hostile": hostile}[config["mode"]]()
print(config["findings_prefix"] + json.dumps(findings), flush=True)
'''


# --- The host's envelope -------------------------------------------------------------------

JUCE_BASE64 = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
JUCE_BASE64_INDEX = {c: i for i, c in enumerate(JUCE_BASE64)}


def juce_base64_encode(data: bytes) -> str:
    """JUCE's `MemoryBlock::toBase64Encoding`: "SIZE." then the bytes as a little-endian bit
    stream, six bits a character, from JUCE's own alphabet."""
    padded = np.frombuffer(data + bytes(-len(data) % 3), dtype=np.uint8).reshape(-1, 3).astype(np.uint32)
    words = padded[:, 0] | padded[:, 1] << 8 | padded[:, 2] << 16
    sextets = np.stack([(words >> shift) & 63 for shift in (0, 6, 12, 18)], axis=1).ravel()
    alphabet = np.frombuffer(JUCE_BASE64.encode(), dtype=np.uint8)
    chars = alphabet[sextets[: (len(data) * 8 + 5) // 6]]
    return f"{len(data)}." + chars.tobytes().decode()


def juce_base64_decode(text: str) -> bytes:
    """The inverse of `juce_base64_encode`."""
    size, chars = text.split(".", 1)
    lookup = np.zeros(256, dtype=np.uint32)
    lookup[np.frombuffer(JUCE_BASE64.encode(), dtype=np.uint8)] = np.arange(64, dtype=np.uint32)
    sextets = lookup[np.frombuffer(chars.encode(), dtype=np.uint8)]
    sextets = np.concatenate([sextets, np.zeros(-len(sextets) % 4, dtype=np.uint32)]).reshape(-1, 4)
    words = sextets[:, 0] | sextets[:, 1] << 6 | sextets[:, 2] << 12 | sextets[:, 3] << 18
    data = np.stack([(words >> shift) & 255 for shift in (0, 8, 16)], axis=1).astype(np.uint8)
    return data.tobytes()[: int(size)]


COMPONENT = re.compile(r"<IComponent>(.*?)</IComponent>", re.S)


def envelope_xml(raw: bytes) -> str:
    magic, size = struct.unpack_from("<4sI", raw)
    assert magic == b"VC2!", f"not a JUCE state envelope: {raw[:16]!r}"
    return raw[8 : 8 + size].decode()


def component_state(raw: bytes) -> bytes:
    """What the plugin's `setState` receives, out of a pedalboard `raw_state`."""
    match = COMPONENT.search(envelope_xml(raw))
    assert match, f"no IComponent in {envelope_xml(raw)[:200]}"
    return juce_base64_decode(match.group(1))


def with_component_state(raw: bytes, component: bytes) -> bytes:
    """`raw` with its component state replaced by `component`."""
    encoded = f"<IComponent>{juce_base64_encode(component)}</IComponent>"
    body = COMPONENT.sub(lambda _: encoded, envelope_xml(raw)).encode()
    return b"VC2!" + struct.pack("<I", len(body)) + body + b"\0"


# --- The good state and the child processes ------------------------------------------------


@dataclass(frozen=True)
class GoodState:
    """A state with width GOOD_WIDTH, and what a fresh instance with it makes of the noise."""

    raw: bytes  # pedalboard's `raw_state`
    json: dict  # its component state, parsed
    path: str  # where `raw` is, for the children
    reference_path: str  # the fresh instance's output (.npy)


def crash_report(done: subprocess.CompletedProcess) -> str:
    """What a dead child said. Killed by a signal (a Rust abort): its stderr without the
    backtrace frames nice-plug prints for every panic, leaving the panic messages, allocation
    failures and the abort. Otherwise the tail of its stderr (a Python traceback)."""
    if done.returncode > 0:
        return done.stderr[-3000:]
    return "\n".join(line for line in done.stderr.splitlines() if line and not line[0].isspace())[-3000:]


def describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def run_child(config: dict) -> dict:
    """Runs CHILD_SCRIPT with `config`; fails the test if the child crashes or hangs."""
    config = {"sample_rate": SR, "block": BLOCK, "seed": 1, "memory_limit": CHILD_MEMORY_LIMIT,
              "findings_prefix": FINDINGS_PREFIX, **config}
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD_SCRIPT, json.dumps(config)],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=CHILD_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the host hung: no answer within {CHILD_TIMEOUT_S} s")
    code = done.returncode
    assert code == 0, f"the host died ({describe_exit(code)}):\n{crash_report(done)}"
    lines = [line for line in done.stdout.splitlines() if line.startswith(FINDINGS_PREFIX)]
    assert lines, f"the child reported nothing:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return json.loads(lines[-1][len(FINDINGS_PREFIX) :])


@pytest.fixture(scope="module")
def good(vst3_path, tmp_path_factory) -> GoodState:
    pytest.importorskip("pedalboard")
    folder = tmp_path_factory.mktemp("hostile-states")
    path, reference_path = folder / "good.bin", folder / "reference.npy"
    run_child({"mode": "capture", "vst3": vst3_path, "width": GOOD_WIDTH,
               "good": str(path), "reference": str(reference_path)})
    raw = path.read_bytes()
    state = json.loads(component_state(raw))
    assert state["params"]["width"] == {"f32": GOOD_WIDTH}, f"the good state has {state['params']['width']}"
    return GoodState(raw=raw, json=state, path=str(path), reference_path=str(reference_path))


# --- Crafting states ------------------------------------------------------------------------

# A measured head that passes every check: 10° steps all round, an impulse per ear.
VALID_AZIMUTHS = [float(a) for a in range(0, 360, 10)]
VALID_TAPS = 32


def irs_base64(irs: np.ndarray) -> str:
    """Responses `[measurement][ear][tap]` as the state stores them."""
    return base64.b64encode(np.ascontiguousarray(irs, dtype="<f4").tobytes()).decode()


def impulses(directions: int, taps: int) -> np.ndarray:
    irs = np.zeros((directions, 2, taps), dtype=np.float32)
    irs[:, 0, 0] = 1.0
    irs[:, 1, min(3, taps - 1)] = 0.8
    return irs


def stored_set(**changes) -> dict:
    """A valid `StoredSet`, with `changes`."""
    return {
        "name": "hostile test head",
        "sample_rate": 48_000.0,
        "radius_m": 1.2,
        "azimuths_deg": VALID_AZIMUTHS,
        "taps": VALID_TAPS,
        "irs": irs_base64(impulses(len(VALID_AZIMUTHS), VALID_TAPS)),
        **changes,
    }


# A measured device that passes every check: two drivers 20 cm apart, two listeners.
DEVICE_TAPS = 32


def device_irs(listeners: int, taps: int) -> np.ndarray:
    """Responses `[listener][ear][driver][tap]`: each driver louder at its own side's ear."""
    irs = np.zeros((listeners, 2, 2, taps), dtype=np.float32)
    for ear in range(2):
        for driver in range(2):
            irs[:, ear, driver, min(ear != driver and 3 or 1, taps - 1)] = 1.0 if ear == driver else 0.5
    return irs


def stored_device(listeners=2, **changes) -> dict:
    """A valid `StoredDevice` (src/design/model/stored_device.rs) measured at `listeners`
    positions (a count, or the positions themselves, or any JSON value for a mistyped
    field), with `changes`."""
    count = listeners if isinstance(listeners, int) else len(listeners) if isinstance(listeners, list) else 2
    positions = [{"offset_m": 0.05 * i, "distance_m": 0.6, "yaw_deg": 0.0,
                  "delays": [[0.0, 0.0], [0.0, 0.0]]} for i in range(count)]
    return {
        "name": "hostile test device",
        "convention": "SingleRoomMIMOSRIR",
        "sample_rate": 48_000.0,
        "spacing_m": 0.2,
        "emitters": [0, 1],
        "driver_x_m": [-0.1, 0.1],
        "listeners": positions if isinstance(listeners, int) else listeners,
        "nominal": 0,
        "taps": DEVICE_TAPS,
        "irs": irs_base64(device_irs(count, DEVICE_TAPS)),
        **changes,
    }


def with_device(good: GoodState, **changes) -> bytes:
    """The good state designing for the valid measured device (its "device" field), with
    `changes` to it."""
    return with_fields(good, {"device": json.dumps({"chosen": True, "device": stored_device(**changes)})})


def nan_irs() -> str:
    irs = impulses(len(VALID_AZIMUTHS), VALID_TAPS)
    irs[5, 1, 7] = np.nan
    return irs_base64(irs)


def encode(state) -> bytes:
    """JSON as serde_json reads it (Python writes NaN and Infinity as bare tokens)."""
    return json.dumps(state).encode()


def with_params(good: GoodState, **params) -> bytes:
    state = copy.deepcopy(good.json)
    state["params"].update(params)
    return encode(state)


def with_fields(good: GoodState, fields: dict[str, str]) -> bytes:
    """The good state with these persisted fields (key: JSON text) replaced."""
    state = copy.deepcopy(good.json)
    state["fields"].update(fields)
    return encode(state)


def with_head(good: GoodState, head) -> bytes:
    """The good state with this `HeadChoice` (any JSON value) in its "head" field."""
    return with_fields(good, {"head": json.dumps(head)})


def with_measured_set(good: GoodState, **changes) -> bytes:
    """The good state designing for the valid measured head, with `changes` to the set."""
    return with_head(good, {"measured": True, "set": stored_set(**changes)})


def with_top_level(good: GoodState, **changes) -> bytes:
    state = copy.deepcopy(good.json)
    state.update(changes)
    return encode(state)


def random_bytes(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def truncated(good: GoodState, fraction: float) -> bytes:
    data = encode(good.json)
    return data[: int(len(data) * fraction)]


# Makes hostile bytes out of the good state.
Craft = Callable[[GoodState], bytes]

MANY_DIRECTIONS = [float(i % 220) - 110.0 + i * 1e-6 for i in range(200_000)]
FRONT_PAIR = [330.0, 30.0]
HUGE_TAPS = 1 << 20

# Wrong JSON types for each kind of value the state holds.
WRONG_FOR = {
    "number": {"string": '"48000"', "null": "null"},
    "string": {"number": "42", "null": "null"},
    "array": {"string": '"0,30"', "null": "null"},
    "bool": {"string": '"true"', "null": "null"},
    "object": {"array": "[]", "null": "null"},
    "optional object": {"array": "[]", "string": '"set"'},  # null is a valid `set`
}
STORED_SET_TYPES = {"name": "string", "sample_rate": "number", "radius_m": "number",
                    "azimuths_deg": "array", "taps": "number", "irs": "string"}
STORED_DEVICE_TYPES = {"name": "string", "convention": "string", "sample_rate": "number",
                       "spacing_m": "number", "emitters": "array", "driver_x_m": "array",
                       "listeners": "array", "nominal": "number", "taps": "number", "irs": "string"}
FIELD_TYPES = {"editor-size": "array", "preset": "string", "state-version": "number", "head": "object",
               "device": "object"}


def wrong_type_cases() -> dict[str, Craft]:
    """Every key of the measured set, the head choice and the persisted fields, mistyped."""
    cases: dict[str, Craft] = {}
    for key, kind in STORED_SET_TYPES.items():
        for wrong, text in WRONG_FOR[kind].items():
            cases[f"set.{key}-{wrong}"] = lambda g, k=key, t=text: with_measured_set(g, **{k: json.loads(t)})
    for key, kind in {"measured": "bool", "set": "optional object"}.items():
        for wrong, text in WRONG_FOR[kind].items():
            head = {"measured": True, "set": stored_set(), key: json.loads(text)}
            cases[f"head.{key}-{wrong}"] = lambda g, h=head: with_head(g, h)
    for key, kind in STORED_DEVICE_TYPES.items():
        for wrong, text in WRONG_FOR[kind].items():
            cases[f"device.{key}-{wrong}"] = lambda g, k=key, t=text: with_device(g, **{k: json.loads(t)})
    for key, kind in FIELD_TYPES.items():
        for wrong, text in {**WRONG_FOR[kind], "not-json": "{"}.items():
            cases[f"field.{key}-{wrong}"] = lambda g, k=key, t=text: with_fields(g, {k: t})
    return cases


# Component states: what the plugin's `setState` receives.
COMPONENT_CASES: dict[str, Craft] = {
    # Sizes that overflow `2 * taps * 4` in usize, or disagree with the data.
    "taps-2^61-empty-irs": lambda g: with_measured_set(g, taps=1 << 61, irs=""),
    "taps-2^62-empty-irs": lambda g: with_measured_set(g, taps=1 << 62, irs=""),
    "taps-2^63-empty-irs": lambda g: with_measured_set(g, taps=1 << 63, irs=""),
    "taps-2^61+1-8-bytes-a-direction": lambda g: with_measured_set(
        g, taps=(1 << 61) + 1, irs=irs_base64(impulses(len(VALID_AZIMUTHS), 1))),
    "taps-usize-max": lambda g: with_measured_set(g, taps=(1 << 64) - 1, irs=""),
    "taps-2^64": lambda g: with_measured_set(g, taps=1 << 64, irs=""),
    "taps-negative": lambda g: with_measured_set(g, taps=-1),
    "taps-0-empty-irs": lambda g: with_measured_set(g, taps=0, irs=""),
    "taps-0": lambda g: with_measured_set(g, taps=0),
    "taps-more-than-data": lambda g: with_measured_set(g, taps=VALID_TAPS + 1),
    "irs-not-base64": lambda g: with_measured_set(g, irs="not base64!"),
    "no-azimuths": lambda g: with_measured_set(g, azimuths_deg=[], irs=""),
    # Many directions: tiny data that does not match, then data that does.
    "200k-directions-tiny-irs": lambda g: with_measured_set(
        g, azimuths_deg=MANY_DIRECTIONS, taps=1, irs=irs_base64(impulses(1, 1))),
    "200k-directions-consistent": lambda g: with_measured_set(
        g, azimuths_deg=MANY_DIRECTIONS, taps=1, irs=irs_base64(impulses(len(MANY_DIRECTIONS), 1))),
    "2^20-taps-consistent": lambda g: with_measured_set(
        g, azimuths_deg=FRONT_PAIR, taps=HUGE_TAPS, irs=irs_base64(impulses(len(FRONT_PAIR), HUGE_TAPS))),
    # Values a measured head cannot have.
    "irs-nan": lambda g: with_measured_set(g, irs=nan_irs()),
    "radius-0": lambda g: with_measured_set(g, radius_m=0.0),
    "radius-negative": lambda g: with_measured_set(g, radius_m=-1.2),
    "sample-rate-0": lambda g: with_measured_set(g, sample_rate=0.0),
    "sample-rate-1e12": lambda g: with_measured_set(g, sample_rate=1e12),
    "azimuths-1e308": lambda g: with_measured_set(g, azimuths_deg=[1e308, -1e308] * 18),
    "azimuths-all-equal": lambda g: with_measured_set(g, azimuths_deg=[0.0] * len(VALID_AZIMUTHS)),
    "measured-without-set": lambda g: with_head(g, {"measured": True, "set": None}),
    # A measured device's sizes and values, as damaged or hand-edited states carry them.
    "device-taps-2^61-empty-irs": lambda g: with_device(g, taps=1 << 61, irs=""),
    "device-taps-usize-max": lambda g: with_device(g, taps=(1 << 64) - 1, irs=""),
    "device-taps-0": lambda g: with_device(g, taps=0, irs=""),
    "device-2^20-taps-consistent": lambda g: with_device(
        g, listeners=1, taps=HUGE_TAPS, irs=irs_base64(device_irs(1, HUGE_TAPS))),
    "device-5000-listeners-consistent": lambda g: with_device(
        g, listeners=5000, taps=1, irs=irs_base64(device_irs(5000, 1))),
    "device-no-listeners": lambda g: with_device(g, listeners=0, irs=""),
    "device-nominal-out-of-range": lambda g: with_device(g, nominal=7),
    "device-nine-drivers": lambda g: with_device(g, driver_x_m=[0.1 * i for i in range(9)]),
    "device-irs-nan": lambda g: with_device(g, irs=irs_base64(np.full((2, 2, 2, DEVICE_TAPS), np.nan))),
    "device-silent": lambda g: with_device(g, irs=irs_base64(np.zeros((2, 2, 2, DEVICE_TAPS)))),
    "device-listener-behind": lambda g: with_device(g, listeners=[
        {"offset_m": 0.0, "distance_m": -0.6, "yaw_deg": 0.0, "delays": [[0.0, 0.0], [0.0, 0.0]]}] * 2),
    "device-spacing-1e308": lambda g: with_device(g, spacing_m=1e308),
    "device-delays-short": lambda g: with_device(g, listeners=[
        {"offset_m": 0.0, "distance_m": 0.6, "yaw_deg": 0.0, "delays": [[0.0], [0.0]]}] * 2),
    "device-unknown-convention": lambda g: with_device(g, convention="SimpleFreeFieldHRIR"),
    "valid-measured-device": lambda g: with_device(g),
    "valid-measured-head": lambda g: with_measured_set(g),
    **wrong_type_cases(),
    # Parameters out of range, or of the wrong type.
    **{f"{p}-{v:g}": (lambda g, p=p, v=v: with_params(g, **{p: {"f32": v}}))
       for p in ["width", "dist", "gain", "spacing", "vangle", "bassx"] for v in [1e30, -1e30]},
    "all-floats-1e39": lambda g: with_params(
        g, **{p: {"f32": 1e39} for p, v in g.json["params"].items() if "f32" in v}),
    "width-nan-string": lambda g: with_params(g, width={"f32": "NaN"}),
    "width-nan-token": lambda g: with_params(g, width={"f32": float("nan")}),
    "width-infinity-token": lambda g: with_params(g, width={"f32": float("inf")}),
    "width-untagged": lambda g: with_params(g, width=37.0),
    "width-bool": lambda g: with_params(g, width={"bool": True}),
    "width-null": lambda g: with_params(g, width=None),
    "bypass-f32": lambda g: with_params(g, bypass={"f32": 0.5}),
    "mode-unknown": lambda g: with_params(g, mode={"string": "surround"}),
    "mode-empty": lambda g: with_params(g, mode={"string": ""}),
    "mode-uppercase": lambda g: with_params(g, mode={"string": "SPEAKERS"}),
    "mode-index-99": lambda g: with_params(g, mode={"i32": 99}),
    "mode-index-negative": lambda g: with_params(g, mode={"i32": -1}),
    "mode-f32": lambda g: with_params(g, mode={"f32": 1.0}),
    # A state from the future.
    "future-version": lambda g: encode({
        **g.json,
        "version": "99.0.0",
        "future": {"what": "ever"},
        "params": {**g.json["params"], "future-param": {"f32": 1.0}},
        "fields": {**g.json["fields"], "state-version": "99", "future-field": '{"a": [1, 2]}'},
    }),
    "state-version-u32-overflow": lambda g: with_fields(g, {"state-version": "4294967296"}),
    # The whole document damaged.
    "params-array": lambda g: with_top_level(g, params=[]),
    "params-null": lambda g: with_top_level(g, params=None),
    "fields-array": lambda g: with_top_level(g, fields=[]),
    "fields-null": lambda g: with_top_level(g, fields=None),
    "field-not-a-string": lambda g: with_top_level(
        g, fields={**g.json["fields"], "head": {"measured": False}}),
    "version-number": lambda g: with_top_level(g, version=42),
    "document-array": lambda g: b"[]",
    "document-null": lambda g: b"null",
    **{f"truncated-{f:g}": (lambda g, f=f: truncated(g, f)) for f in [0.01, 0.25, 0.5, 0.9, 0.999]},
    "random-64": lambda g: random_bytes(64, seed=1),
    "random-64k": lambda g: random_bytes(65_536, seed=2),
    "empty": lambda g: b"",
}

# Damage to the host's envelope rather than to what the plugin receives.
ENVELOPE_CASES: dict[str, Craft] = {
    "envelope-empty": lambda g: b"",
    "envelope-truncated": lambda g: g.raw[: len(g.raw) // 2],
    "envelope-random": lambda g: random_bytes(len(g.raw), seed=3),
}

CASES: dict[str, Craft] = {
    **{name: (lambda g, craft=craft: with_component_state(g.raw, craft(g)))
       for name, craft in COMPONENT_CASES.items()},
    **ENVELOPE_CASES,
}


@pytest.mark.parametrize("case", CASES)
def test_host_survives_hostile_state(case, good, vst3_path, tmp_path):
    hostile = tmp_path / "hostile.bin"
    hostile.write_bytes(CASES[case](good))
    saved = tmp_path / "saved.bin"
    findings = run_child({"mode": "hostile", "vst3": vst3_path, "hostile": str(hostile),
                          "saved": str(saved), "good": good.path,
                          "reference": good.reference_path})
    assert findings["shape"] == [2, SR], findings
    assert findings["finite"], f"non-finite output after the hostile state: {findings}"
    assert findings["peak"] < MAX_PEAK, f"the hostile state drove the output to {findings['peak']:g}"
    # Every parameter is clamped to its range, so no state can silence the plugin (+1e30 dB
    # of gain used to).
    assert findings["peak"] > MIN_PEAK, f"the hostile state silenced the output: {findings}"
    state = json.loads(component_state(saved.read_bytes()))
    for id, value in state["params"].items():
        assert value != {"i32": 99} and value != {"i32": -1}, f"{id} saved as {value}"
    if case == "future-version":
        kept = json.loads(state["fields"]["kept-from-newer"])
        assert kept["version"] == 99, kept
        # The unknown parameter, and the newer version's own values of the known ones.
        assert kept["params"]["future-param"] == {"f32": 1.0}, kept
        assert kept["params"]["width"] == good.json["params"]["width"], kept
        assert kept["fields"] == {"future-field": '{"a": [1, 2]}'}, kept
        assert state["fields"]["state-version"] == "1"
    assert findings["good_max_diff"] < GOOD_TOLERANCE, (
        f"after the hostile state, the good state sounds {findings['good_max_diff']:g} "
        "away from a fresh instance"
    )
