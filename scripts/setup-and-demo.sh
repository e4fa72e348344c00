#!/usr/bin/env bash
# Builds the Soundstage plugin bundles (CLAP, VST3) and the `soundstage` command, renders the
# demo, and says where everything is and how to install it. Run from anywhere.
#   scripts/setup-and-demo.sh            build and render the demo into out/demo
#   scripts/setup-and-demo.sh --install  also copy the bundles into ~/.clap and ~/.vst3
set -euo pipefail
cd "$(dirname "$0")/.."

install=false
for arg in "$@"; do
    case "$arg" in
        --install) install=true ;;
        *) echo "usage: $0 [--install]" >&2; exit 2 ;;
    esac
done

if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo (Rust) is needed. Install it with:" >&2
    echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh" >&2
    exit 1
fi
if ! command -v cc >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq build-essential
    else
        echo "error: a C toolchain is needed for linking: sudo apt-get install build-essential" >&2
        exit 1
    fi
fi

echo "==> building the CLAP and VST3 bundles"
cargo xtask bundle soundstage --release --no-default-features
echo "==> building the soundstage command"
cargo build --release --bin soundstage
echo "==> rendering the demo"
target/release/soundstage demo out/demo

clap="$PWD/target/bundled/Soundstage.clap"
vst3="$PWD/target/bundled/Soundstage.vst3"
if $install; then
    mkdir -p "$HOME/.clap" "$HOME/.vst3"
    cp -f "$clap" "$HOME/.clap/"
    rm -rf "$HOME/.vst3/Soundstage.vst3"
    cp -r "$vst3" "$HOME/.vst3/"
    echo "==> installed into $HOME/.clap and $HOME/.vst3"
fi

cat <<EOF2

Done.
  CLAP bundle:  $clap
  VST3 bundle:  $vst3
  Command:      $PWD/target/release/soundstage   (try: soundstage --help)
  Demo:         $PWD/out/demo/{input.wav,output.wav,summary.txt}

Install the plugin for your DAW (per user, no root needed):
  mkdir -p ~/.clap ~/.vst3
  cp "$clap" ~/.clap/
  cp -r "$vst3" ~/.vst3/
or run: $0 --install
EOF2
