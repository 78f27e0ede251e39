#!/usr/bin/env bash
# Syntax-checks every PowerShell file of the repository with the tree-sitter
# PowerShell grammar (no PowerShell needed), after proving on fixtures that
# the checker catches real syntax errors.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ ! -d tools/pscheck/node_modules/web-tree-sitter ]]; then
  (cd tools/pscheck && npm ci --no-audit --no-fund --ignore-scripts --silent)
fi
node tools/pscheck/check.js --self-test
node tools/pscheck/check.js .
