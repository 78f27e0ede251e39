#!/usr/bin/env bash
# Installs what nomad-iis needs to build and test on a Debian/Ubuntu machine:
# Debian packages (Chromium for screenshots, gdb for process dumps, zip/unzip
# for the benchmarks and the release archives, jq, openssl and osslsigncode
# for make dist's SBOMs and Authenticode signing), the PowerShell grammar for
# the syntax check, the Playwright driver (playwright-core from npm, never a
# browser download), staticcheck and cyclonedx-gomod. Each step is skipped
# when its result is already there.
set -euo pipefail

quiet=0
[[ "${1:-}" == "--quiet" ]] && quiet=1
say() { [[ $quiet == 1 ]] || echo "install-deps: $*"; }

root=$(cd "$(dirname "$0")/.." && pwd)
cache="$root/.cache"
mkdir -p "$cache"

apt_pkgs=(chromium gdb zip unzip jq openssl osslsigncode)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "apt-get install ${missing[*]}"
  sudo_cmd=""
  [[ $(id -u) == 0 ]] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -d "$root/tools/pscheck/node_modules/web-tree-sitter" ]]; then
  say "npm ci (PowerShell grammar)"
  (cd "$root/tools/pscheck" && npm ci --no-audit --no-fund --ignore-scripts --silent)
fi

pw="$cache/playwright"
if [[ ! -f "$pw/package/cli.js" ]]; then
  say "npm install playwright-core@1.52.0 (driver only; the browser is Debian's chromium)"
  mkdir -p "$pw"
  npm install --prefix "$pw" --no-audit --no-fund --silent --ignore-scripts playwright-core@1.52.0
  ln -sfn node_modules/playwright-core "$pw/package"
fi
ln -sfn "$(command -v node)" "$pw/node"

gobin=$(go env GOPATH)/bin
if [[ ! -x "$gobin/staticcheck" ]]; then
  say "go install staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.7.0
fi
if [[ ! -x "$gobin/cyclonedx-gomod" ]]; then
  say "go install cyclonedx-gomod (SBOMs of make dist)"
  go install github.com/CycloneDX/cyclonedx-gomod/cmd/cyclonedx-gomod@v1.10.0
fi
say "done"
