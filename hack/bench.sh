#!/usr/bin/env bash
# Runs the benchmarks that compare nomad-iis with the tools an operator would
# otherwise use, and writes bench/REPORT.md (machine, Go version, date, one
# row per measurement with ours, theirs, the ratio, the target and whether
# it is met). Takes about 3-5 minutes on 2 cores and about 5 GiB of temporary disk.
#
#   ./hack/bench.sh                  # full run, writes bench/REPORT.md
#   BENCH_QUICK=1 ./hack/bench.sh    # smaller data, fewer runs: a smoke run
#   ./hack/bench.sh -only 2,3 -v     # some items only, every sample logged
#
# Needs zip and unzip (Info-ZIP), curl (the deploy row), and for the screenshot row Chromium and
# the Playwright driver that hack/install-deps.sh installs.
# BENCH_OUT overrides the report path (BENCH_QUICK=1 defaults to
# build/REPORT-quick.md, so that a smoke run never replaces the report).
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
BIN=${BENCH_BIN:-build/benchreport}
if [ "${BENCH_QUICK:-}" = "1" ]; then
	OUT=${BENCH_OUT:-build/REPORT-quick.md}
else
	OUT=${BENCH_OUT:-bench/REPORT.md}
fi
for tool in zip unzip curl; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install zip unzip curl)" >&2; exit 1; }
done
export NOMAD_IIS_PLAYWRIGHT_DRIVER=${NOMAD_IIS_PLAYWRIGHT_DRIVER:-$PWD/.cache/playwright}
export NOMAD_IIS_BROWSER=${NOMAD_IIS_BROWSER:-/usr/bin/chromium}

mkdir -p "$(dirname "$BIN")" "$(dirname "$OUT")"
"$GO" build -o "$BIN" ./bench/cmd/benchreport
"$GO" build -o build/nomad-iis ./cmd/nomad-iis
"$BIN" -out "$OUT" -cli build/nomad-iis "$@"
echo "bench: wrote $OUT"
