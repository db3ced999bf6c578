#!/usr/bin/env bash
# What the browser check needs, each installed only when missing: Debian's chromium (apt-get; never
# a downloaded browser) and playwright-core (npm, into tests/deployment/ui/node_modules).
#
# `run.sh --ui` runs this before pytest starts, bounded by `timeout` (which ends the whole process
# group: apt-get, dpkg, npm); test_ui.py only checks that both are there.
set -euo pipefail
cd "$(dirname "$0")"
chromium=/usr/bin/chromium

if [[ ! -x "$chromium" ]]; then
    if [[ "$(id -u)" -ne 0 ]]; then
        echo "$chromium is missing and installing it needs root: apt-get install -y chromium" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q </dev/null
    apt-get install -y -q chromium </dev/null
fi
"$chromium" --version 2>/dev/null  # (Debian's wrapper script warns on stderr)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "node and npm are needed for the browser check (playwright-core)" >&2
    exit 1
fi
if [[ ! -f node_modules/playwright-core/package.json ]]; then
    npm install --no-audit --no-fund --no-package-lock </dev/null
fi
echo "playwright-core $(node -p "require('./node_modules/playwright-core/package.json').version"), node $(node --version)"
