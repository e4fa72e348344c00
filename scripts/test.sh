#!/usr/bin/env bash
# Runs every Soundstage test: formatting and lints, the Rust test suite (DSP, acoustics,
# real-time contract, CLI, our CLAP host with the editor embedded in an X11 window), the CLAP
# host again on a debug build with the framework's allocation checks inside process(), and
# the real hosts (pedalboard, dawdreamer, Ardour's scanner and headless session, qtractor's
# scanner), then the standalone editor under Xvfb, screenshotted.
# Installs what it needs: Debian packages when run as root (otherwise it names them), and a
# Python virtual environment in .venv for the Python hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step_start=$(date +%s)
step() {
    local now
    now=$(date +%s)
    echo "==> [$((now - step_start)) s] $*"
}

packages=(build-essential pkg-config libasound2-dev libjack-jackd2-dev ardour qtractor xvfb
          xauth x11-utils imagemagick libgl1-mesa-dri libegl1 libgl1 libxcursor1 libxrandr2 libxi6
          python3-venv)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        step "installing Debian packages: ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "error: missing Debian packages; install them with:" >&2
        echo "  sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

step "setting up the Python hosts in .venv"
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r tests/hosts/requirements.txt

step "checking formatting and lints"
cargo fmt --check
cargo clippy --release --all-targets -- -D warnings

step "building the CLAP and VST3 bundles"
cargo xtask bundle soundstage --release --no-default-features

step "building the standalone (for the editor screenshot)"
cargo build --release --features standalone --bin soundstage-standalone

# The editor tests need an X display; Xvfb provides one (its screen holds the 2x editor).
xvfb=(xvfb-run -a -s "-screen 0 2400x1600x24 -nolisten tcp")

step "running the Rust test suite (the CLAP host test loads target/bundled/Soundstage.clap)"
CLAP_PLUGIN_PATH="$root/target/bundled/Soundstage.clap" "${xvfb[@]}" cargo test --release

step "running the CLAP host and editor tests on a debug build with allocation checks in process()"
"${xvfb[@]}" cargo test --features assert_process_allocs --test clap_host --test editor_host

step "running the real-host and editor tests (pedalboard, dawdreamer, Ardour, qtractor, standalone)"
.venv/bin/python -m pytest -q tests/hosts

step "test artifacts (editor screenshots) are in target/test-artifacts"

step "all tests passed"
