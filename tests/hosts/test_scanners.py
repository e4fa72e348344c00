"""The bundles pass the plugin scanners of two real DAWs from Debian: Ardour (VST3) and
qtractor (CLAP). Both load and initialise the plugin and query its ports and parameters."""

import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

import pytest

ARDOUR_SCANNER = "/usr/lib/ardour7/ardour-vst3-scanner"
ARDOUR_LUA = "/usr/bin/ardour7-lua"
QTRACTOR_SCANNER = "/usr/lib/x86_64-linux-gnu/qtractor/qtractor_plugin_scan"
PARAMETER_NAMES = ["Width", "Depth", "Cancellation", "Mode", "Driver spacing", "Listening distance",
                   "Virtual angle", "Listener offset", "Listener yaw", "Bass crossover", "Boost limit", "Output gain",
                   "Listening zone",
                   "Loudness match", "Bypass", "Headphone preview", "Latency"]


def require(path: str) -> None:
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: install the Debian package (the test command does this)")


def test_ardour_vst3_scanner(vst3_path):
    require(ARDOUR_SCANNER)
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, LD_LIBRARY_PATH="/usr/lib/ardour7", XDG_CACHE_HOME=cache)
        r = subprocess.run([ARDOUR_SCANNER, "-f", "-v", vst3_path], env=env, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, (r.stdout, r.stderr)
        m = re.search(r"Saved VST3 plugin cache to (\S+\.v3i)", r.stdout)
        assert m, r.stdout
        infos = [i.attrib for i in ET.parse(m.group(1)).getroot().iter("VST3Info")]
    assert len(infos) == 1, infos
    info = infos[0]
    assert info["name"] == "Soundstage"
    assert (info["n_inputs"], info["n_outputs"]) == ("2", "2")
    assert info["category"].split("|")[:2] == ["Fx", "Spatial"]


def test_ardour_session_lists_parameters_and_latency(vst3_path):
    """Headless Ardour (Lua, dummy backend) puts the plugin on a track and lists its parameters."""
    require(ARDOUR_LUA)
    with tempfile.TemporaryDirectory() as home:
        vst3_dir = pathlib.Path(home) / ".vst3"
        vst3_dir.mkdir()
        link = vst3_dir / "Soundstage.vst3"
        link.symlink_to(vst3_path)
        env = dict(os.environ, HOME=home, XDG_CACHE_HOME=str(pathlib.Path(home) / ".cache"),
                   XDG_CONFIG_HOME=str(pathlib.Path(home) / ".config"),
                   LD_LIBRARY_PATH="/usr/lib/ardour7")
        scan = subprocess.run([ARDOUR_SCANNER, "-f", str(link)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert scan.returncode == 0, scan.stderr
        script = pathlib.Path(home) / "probe.lua"
        script.write_text(f"""
AudioEngine:set_backend("None (Dummy)", "", "")
local s = create_session("{home}/session", "probe", 48000)
local tr = s:new_audio_track(2, 2, nil, 1, "T", ARDOUR.PresentationInfo.max_order, ARDOUR.TrackMode.Normal, true):front()
local plug = ARDOUR.LuaAPI.new_plugin(s, "Soundstage", ARDOUR.PluginType.VST3, "")
assert(not plug:isnil(), "Soundstage not found")
tr:add_processor_by_index(plug, 0, nil, true)
print("latency", plug:signal_latency())
local pp = plug:to_insert():plugin(0)
for i = 0, pp:parameter_count() - 1 do
  if pp:parameter_is_input(i) then print("param", pp:parameter_label(i)) end
end
close_session()
""")
        env.pop("LD_LIBRARY_PATH")
        r = subprocess.run([ARDOUR_LUA, str(script)], env=env, capture_output=True, text=True,
                           timeout=240)
    out = r.stdout
    assert r.returncode == 0, (out[-2000:], r.stderr[-2000:])
    labels = re.findall(r"^param\s+(.+?)\s*$", out, re.M)
    # Ardour lists the automatable controls: the latency mode is not one (it is set in the
    # plugin's own editor there).
    for name in PARAMETER_NAMES:
        if name != "Latency":
            assert name in labels, f"{name} not in {labels}"
    assert "Latency" not in labels, labels
    latency = re.search(r"^latency\s+(\d+)", out, re.M)
    assert latency and int(latency.group(1)) == 1584, out[-2000:]


def test_qtractor_clap_scanner(clap_path):
    require(QTRACTOR_SCANNER)
    # qtractor stops at a ':' in the path; scan a copy under a plain path if needed.
    with tempfile.TemporaryDirectory() as tmp:
        path = clap_path
        if ":" in path:
            path = shutil.copy(clap_path, pathlib.Path(tmp) / "Soundstage.clap")
        r = subprocess.run([QTRACTOR_SCANNER], input=f"CLAP:{path}\n", capture_output=True,
                           text=True, timeout=120)
    rows = [line.split("|") for line in r.stdout.splitlines() if line.startswith("CLAP|")]
    assert rows, f"qtractor could not load the plugin: {r.stdout!r} {r.stderr!r}"
    assert len(rows) == 1
    _, name, audio, midi, controls, flags, _, index, _ = rows[0]
    assert name == "Soundstage"
    assert audio == "2:2", "stereo in, stereo out by default"
    assert midi == "0:0"
    assert controls == f"{len(PARAMETER_NAMES)}:0", controls
    assert "EXT" in flags.split(","), "state extension (save and load) present"
    assert index == "0"
