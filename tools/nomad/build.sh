#!/usr/bin/env bash
# Build the Nomad agent that `make run` and the end-to-end suites start.
#
# The agent is built from the Go module proxy in this directory's own module
# (go.mod pins github.com/hashicorp/nomad and the replace lines it needs), so
# that its dependencies (over 1 GB) stay out of the plugin's go.mod.
#
#   NOMAD_BIN      where the binary goes (default: <repo>/build/nomad). When it
#                  already exists and reports the pinned version, nothing is
#                  done; an existing binary of another version at a path other
#                  than the default is used as it is, with a warning (this is
#                  how an official release binary is used, on Windows say).
#   NOMAD_VERSION  the version the binary must report (default: the one pinned
#                  in go.mod).
#
# A cold build downloads over 1 GB of modules and takes a few minutes on two
# cores; a line reports progress while it runs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
default_bin="$repo/build/nomad"
bin="${NOMAD_BIN:-$default_bin}"
want="${NOMAD_VERSION:-$(awk '{ for (i = 1; i < NF; i++) if ($i == "github.com/hashicorp/nomad") { v = $(i + 1); sub(/^v/, "", v); print v; exit } }' "$here/go.mod")}"
go="${GO:-go}"

if [[ -z "$want" ]]; then
	echo "nomad: cannot read the pinned Nomad version from $here/go.mod" >&2
	exit 1
fi

# version_of prints the version a Nomad binary reports ("1.6.3"), or nothing.
version_of() {
	"$1" version 2>/dev/null | awk 'NR == 1 && $1 == "Nomad" { sub(/^v/, "", $2); print $2 }'
}

if [[ -x "$bin" ]]; then
	have="$(version_of "$bin")"
	if [[ "$have" == "$want" ]]; then
		echo "nomad: $bin is v$have (up to date)"
		exit 0
	fi
	if [[ "$bin" != "$default_bin" ]]; then
		echo "nomad: warning: $bin reports v${have:-unknown}, the suites are written for v$want; using it as it is" >&2
		exit 0
	fi
	echo "nomad: $bin reports v${have:-unknown}, rebuilding v$want"
fi

mkdir -p "$(dirname "$bin")"
tmp="$(mktemp "$(dirname "$bin")/.nomad-build.XXXXXX")"
log="$(mktemp "${TMPDIR:-/tmp}/nomad-build-log.XXXXXX")"
cleanup() {
	[[ -n "${progress_pid:-}" ]] && kill "$progress_pid" 2>/dev/null || true
	rm -f "$tmp" "$log"
}
trap cleanup EXIT

# progress prints one line every 15 s (rewritten in place on a terminal) so a
# cold build, which is silent for minutes, visibly makes progress.
progress() {
	local start=$SECONDS mods
	while sleep 15; do
		mods="$(grep -c '^go: downloading' "$log" 2>/dev/null || true)"
		if [[ -t 1 ]]; then
			printf '\rnomad: building v%s: %ds, %s modules downloaded ' "$want" $((SECONDS - start)) "${mods:-0}"
		else
			printf 'nomad: building v%s: %ds, %s modules downloaded\n' "$want" $((SECONDS - start)) "${mods:-0}"
		fi
	done
}

echo "nomad: building v$want into $bin (the first build downloads over 1 GB of modules and takes a few minutes)"
progress &
progress_pid=$!
start=$SECONDS
if ! (cd "$here" && "$go" build -trimpath -ldflags='-s -w' -o "$tmp" github.com/hashicorp/nomad) >"$log" 2>&1; then
	kill "$progress_pid" 2>/dev/null || true
	[[ -t 1 ]] && echo
	echo "nomad: build failed:" >&2
	grep -v '^go: downloading' "$log" >&2 || true
	exit 1
fi
kill "$progress_pid" 2>/dev/null || true
progress_pid=
[[ -t 1 ]] && echo

have="$(version_of "$tmp")"
if [[ "$have" != "$want" ]]; then
	echo "nomad: the binary built reports v${have:-unknown}, want v$want" >&2
	exit 1
fi
chmod 0755 "$tmp"
mv -f "$tmp" "$bin"
echo "nomad: built $bin (v$have) in $((SECONDS - start))s"
