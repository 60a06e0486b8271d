#!/usr/bin/env bash
# Runs each fuzz target for a while (default 60 s each): fuzz/run.sh [SECONDS]
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). Crashes land in
# fuzz/artifacts/<target>/; turn each into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
for target in request urldefense; do
    mkdir -p "corpus/$target"
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- -max_total_time="$seconds"
done
