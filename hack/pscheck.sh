#!/usr/bin/env bash
# Checks the PowerShell files of the repository with the tree-sitter
# PowerShell grammar (no PowerShell needed), after proving on fixtures that
# the checker catches what it must.
#
#   hack/pscheck.sh          the self-test, then the syntax of every file
#   hack/pscheck.sh --lint   the self-test, then the lint rules on the module
#                            (scripts/: the module, its host, the examples)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ ! -d tools/pscheck/node_modules/web-tree-sitter ]]; then
  (cd tools/pscheck && npm ci --no-audit --no-fund --ignore-scripts --silent)
fi
case "${1:-}" in
  "")
    node tools/pscheck/check.js --self-test
    node tools/pscheck/check.js --syntax-only .
    ;;
  --lint)
    node tools/pscheck/check.js --self-test
    node tools/pscheck/check.js scripts
    ;;
  *)
    echo "usage: hack/pscheck.sh [--lint]" >&2
    exit 2
    ;;
esac
