#!/usr/bin/env bash
# Runs each fuzz target for a while (default 60 s each): fuzz/run.sh [SECONDS]
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). Crashes land in
# fuzz/artifacts/<target>/; turn each into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# The unwrap target also starts from every link of the shared corpora (one file each, after the
# byte that picks no prefix), read in place.
shared="../../shared/corpora"
mkdir -p corpus/unwrap-shared
if [ -d "$shared" ]; then
    python3 - "$shared" corpus/unwrap-shared <<'PY'
import pathlib, sys
shared, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for name, column in (("urldefense_real.tsv", 0), ("wrappers_real.tsv", 1)):
    for n, line in enumerate((shared / name).read_text().splitlines()):
        (out / f"{name}-{n}").write_bytes(b"\0" + line.split("\t")[column].encode())
PY
fi
for target in request unwrap; do
    mkdir -p "corpus/$target"
    extra=()
    [ "$target" = unwrap ] && extra=(corpus/unwrap-shared)
    cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" "${extra[@]}" -- -max_total_time="$seconds"
done
