"""Shared fixtures for the real-host tests: where the built bundles are."""

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUNDLED = pathlib.Path(os.environ.get("SOUNDSTAGE_BUNDLED", ROOT / "target" / "bundled"))


@pytest.fixture(scope="session")
def vst3_path() -> str:
    path = BUNDLED / "Soundstage.vst3"
    assert (path / "Contents" / "x86_64-linux" / "Soundstage.so").is_file(), (
        f"{path} is missing: build it with `cargo xtask bundle soundstage --release`"
    )
    return str(path)


@pytest.fixture(scope="session")
def clap_path() -> str:
    path = BUNDLED / "Soundstage.clap"
    assert path.is_file(), f"{path} is missing: build it with `cargo xtask bundle soundstage --release`"
    return str(path)
