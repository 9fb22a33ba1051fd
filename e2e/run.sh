#!/usr/bin/env bash
# The browser tests, end to end: installs what is missing (Debian's chromium,
# the npm packages), builds palaver, then runs every scenario against a real
# server on a free port with a fresh data dir. Exits non-zero if any
# scenario failed; the last line reads "N passed, M failed".
#
#   bash e2e/run.sh              every scenario
#   bash e2e/run.sh restart xss  only scenarios whose name contains a word
#
# The unit tests of the client's pure parts need none of this:
#   npm --prefix e2e run unit
set -euo pipefail

E2E="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$E2E/.." && pwd)"
cd "$ROOT"

if [ ! -x /usr/bin/chromium ]; then
  echo "e2e: installing Debian's chromium" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi

if [ ! -d "$E2E/node_modules/playwright-core" ] || [ ! -d "$E2E/node_modules/ws" ]; then
  echo "e2e: installing npm packages" >&2
  if [ -f "$E2E/package-lock.json" ]; then
    (cd "$E2E" && npm ci --no-audit --no-fund)
  else
    (cd "$E2E" && npm install --no-audit --no-fund)
  fi
fi

# Never let a test tool fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

echo "e2e: building palaver" >&2
cargo build --bin palaver
# Where cargo put it: target/, or CARGO_TARGET_DIR, or build.target-dir.
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))')"
export PALAVER_BIN="$TARGET_DIR/debug/palaver"

# The runner starts palaver and chromium and stops them itself (also on
# SIGTERM, e2e/lib/server.mjs); this makes sure it gets that SIGTERM
# whatever ends this script (Ctrl-C, a kill, a failed step).
RUNNER_PID=""
stop_runner() {
  if [ -n "$RUNNER_PID" ] && kill -0 "$RUNNER_PID" 2>/dev/null; then
    kill -TERM "$RUNNER_PID" 2>/dev/null || true
    wait "$RUNNER_PID" 2>/dev/null || true
  fi
}
trap stop_runner EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

node "$E2E/run.mjs" "$@" &
RUNNER_PID=$!
wait "$RUNNER_PID"
