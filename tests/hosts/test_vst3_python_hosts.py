"""Soundstage.vst3 in two real VST3 hosts from PyPI: pedalboard and dawdreamer.

pedalboard compensates the latency a plugin reports, so an impulse that comes out where it
went in proves the report is right; dawdreamer does not compensate, so the raw delay it
measures must equal the reported latency.
"""

import numpy as np
import pytest

SR = 48_000
# What the engine reports at 44.1/48 kHz: a 1024-sample frame, 512 samples of bulk delay and
# the 48-sample output stage.
LATENCY_48K = 1584


def impulse(n: int, at: int, left_only: bool = True) -> np.ndarray:
    x = np.zeros((2, n), dtype=np.float32)
    x[0, at] = 1.0
    if not left_only:
        x[1, at] = 1.0
    return x


def test_pedalboard_lists_sets_processes_and_reports_latency(vst3_path):
    pedalboard = pytest.importorskip("pedalboard")
    plugin = pedalboard.load_plugin(vst3_path)
    assert plugin.name == "Soundstage"
    names = {p.name for p in plugin.parameters.values()}
    for wanted in ["Width", "Depth", "Cancellation", "Mode", "Driver spacing", "Listening distance",
                   "Virtual angle", "Listener offset", "Listener yaw", "Bass crossover", "Output gain",
                   "Bypass"]:
        assert wanted in names, f"{wanted} not in {sorted(names)}"
    width = plugin.parameters["width"]
    assert width.units.strip() == "%"
    assert plugin.reported_latency_samples == LATENCY_48K

    # Width 0, depth 0: the plugin is transparent; pedalboard removes the reported latency,
    # so the output equals the input sample for sample.
    plugin.width = 0.0
    plugin.depth = 0.0
    assert abs(float(plugin.width)) < 1e-6
    rng = np.random.default_rng(1)
    x = (0.1 * rng.standard_normal((2, SR))).astype(np.float32)
    y = plugin.process(x, sample_rate=SR, buffer_size=512, reset=True)
    assert y.shape == x.shape
    err = 10 * np.log10(np.mean((y - x) ** 2) / np.mean(x**2))
    assert err < -80, f"width 0 output differs from the input by {err:.1f} dB"

    # Full width: the output changes, and an impulse still comes out where it went in.
    plugin.width = 100.0
    y = plugin.process(x, sample_rate=SR, buffer_size=512, reset=True)
    assert 10 * np.log10(np.mean((y - x) ** 2) / np.mean(x**2)) > -40, "width 100 must change the sound"
    y = plugin.process(impulse(SR, 5000), sample_rate=SR, buffer_size=480, reset=True)
    assert int(np.argmax(np.abs(y[0]))) == 5000, "reported latency does not match the actual delay"


def test_dawdreamer_measures_the_reported_latency(vst3_path):
    daw = pytest.importorskip("dawdreamer")
    engine = daw.RenderEngine(SR, 512)
    plugin = engine.make_plugin_processor("soundstage", vst3_path)
    assert plugin.get_num_input_channels() == 2 and plugin.get_num_output_channels() == 2
    params = {d["name"]: d for d in plugin.get_parameters_description()}
    assert {"Width", "Depth", "Cancellation", "Mode", "Bypass"} <= set(params)
    latency = plugin.get_latency_samples()
    assert latency == LATENCY_48K
    # Width to 50 % through the host (normalised value), read back as text.
    assert plugin.set_parameter(params["Width"]["index"], 0.5)
    assert plugin.get_parameter_text(params["Width"]["index"]).startswith("50")
    at = 1000
    source = engine.make_playback_processor("src", impulse(SR, at))
    engine.load_graph([(source, []), (plugin, ["src"])])
    engine.render(1.0)
    y = engine.get_audio()
    assert y.shape[0] == 2
    measured = int(np.argmax(np.abs(y[0]))) - at
    assert measured == latency, f"impulse delayed {measured} samples, plugin reports {latency}"


def test_pedalboard_switches_the_latency_mode_at_once(vst3_path):
    """The latency mode is a host parameter (not automatable): set in pedalboard, it plays
    from the next call, the new latency is reported (restartComponent(kLatencyChanged)), and
    pedalboard's compensation keeps an impulse where it went in, in the very call after the
    switch and after it."""
    pedalboard = pytest.importorskip("pedalboard")
    plugin = pedalboard.load_plugin(vst3_path)
    at = 5000
    for mode, latency in [("Low", 256), ("Low", 256), ("Normal", LATENCY_48K)]:
        plugin.latency = mode
        y = plugin.process(impulse(SR, at), sample_rate=SR, buffer_size=480, reset=True)
        assert plugin.reported_latency_samples == latency, mode
        peak = int(np.argmax(np.abs(y[0])))
        assert peak == at, f"{mode}: the impulse came out at {peak}, not {at}"
