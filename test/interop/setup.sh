#!/usr/bin/env bash
# Installs the exact npm packages the interop test runs (@discordjs/ws and @discordjs/rest, pinned
# in package-lock.json) into test/interop/node_modules. Safe to run from any directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v node >/dev/null || { echo "setup.sh: node is not installed (need Node >= 20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup.sh: npm is not installed" >&2; exit 1; }
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error
