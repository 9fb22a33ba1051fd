#!/usr/bin/env bash
# One node against two, both on PostgreSQL with the Redis bus: the cost of
# going through Redis, and what a second node buys on this 2-core machine.
# Also measures how long a SIGKILLed node's users stay in presence with the
# default --node-ttl. Results in bench/results/cluster-*.json.
set -euo pipefail
# The load comes from one machine, many users at once: the per-address and
# per-user budgets meant for people are off here.
export PALAVER_REGISTRATIONS_PER_ADDRESS=0 PALAVER_MAX_CONNECTIONS_PER_USER=0 PALAVER_MAX_CONNECTIONS_PER_ADDRESS=0 PALAVER_REPLAY_RATE=0
cd "$(dirname "$0")/.."
# Both binaries, built where cargo puts them (CARGO_TARGET_DIR respected).
cargo build --release --quiet -p palaver -p palaver-bench
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
BIN=$TARGET_DIR/release/palaver
BENCH=$TARGET_DIR/release/palaver-bench
OUT=${OUT:-bench/results}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
RATE=${RATE:-100}
mkdir -p "$OUT"
export PALAVER_JWT_SECRET="bench-cluster-secret-0123456789-0123456789"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=()
dirs=()
# Stops every node started so far (also when a step fails) and removes their data dirs.
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    for d in "${dirs[@]}"; do rm -rf "$d"; done
    pids=() dirs=()
}
trap cleanup EXIT

node() {  # schema cluster [extra flags] -> prints URL, appends pid
    local port; port=$(free_port)
    local data; data=$(mktemp -d)
    dirs+=("$data")
    "$BIN" --port "$port" --data-dir "$data" --database-url "$PG_URL?options=-c%20search_path%3D$1" \
        --bus "$REDIS_URL" --cluster "$2" --rate-limit 0 "${@:3}" >"$data/log" 2>&1 &
    pids+=($!)
    URL="http://127.0.0.1:$port"
    for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done
    curl -sf "$URL/healthz" >/dev/null || { echo "node on $port did not start:" >&2; cat "$data/log" >&2; exit 1; }
}
schema() { psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $1 CASCADE; CREATE SCHEMA $1" 2>/dev/null; }
load=(fanout --rooms 4 --members 50 --senders 5 --rate "$RATE" --warmup 2s --duration 8s)

# One node, PostgreSQL + Redis bus.
schema bench_one; node bench_one one-$$; ONE=$URL; ONE_PID=${pids[-1]}
"$BENCH" --url "$ONE" --server-pid "$ONE_PID" --json "${load[@]}" >"$OUT/cluster-1node.json"
cleanup

# Two nodes, clients spread over both.
schema bench_two; node bench_two two-$$; A=$URL; node bench_two two-$$; B=$URL
"$BENCH" --url "$A,$B" --json "${load[@]}" >"$OUT/cluster-2nodes.json"

# Presence expiry after SIGKILL, default --node-ttl (15 s).
node bench_two two-$$; C=$URL; C_PID=${pids[-1]}
python3 - "$A" "$C" "$C_PID" "$BIN" >"$OUT/cluster-expiry.json" <<'PY'
import json, os, signal, subprocess, sys, time, urllib.request
a, c, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
def post(url, body, form=False):
    data = (body if form else json.dumps(body)).encode()
    ct = "application/x-www-form-urlencoded" if form else "application/json"
    req = urllib.request.Request(url, data=data, headers={"content-type": ct})
    try:
        return json.load(urllib.request.urlopen(req))
    except Exception:
        return None
post(a + "/register", {"username": "expiry-probe", "password": "expiry-password"})
token = post(a + "/token", "username=expiry-probe&password=expiry-password", form=True)["access_token"]
# A socket on node C (through the bench's own client would be overkill: use websocat-free python).
import socket, base64
host, port = c.replace("http://", "").split(":")
s = socket.create_connection((host, int(port)))
key = base64.b64encode(os.urandom(16)).decode()
s.sendall((f"GET /ws/general?token={token} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
s.recv(4096)
def online():
    return json.load(urllib.request.urlopen(a + "/rooms/general"))["online"]
deadline = time.time() + 10
while "expiry-probe" not in online() and time.time() < deadline:
    time.sleep(0.1)
seen = "expiry-probe" in online()
os.kill(pid, signal.SIGKILL)
killed = time.time()
while "expiry-probe" in online() and time.time() < killed + 60:
    time.sleep(0.1)
print(json.dumps({"seen_on_other_node": seen, "node_ttl_s": 15, "gone_after_s": round(time.time() - killed, 2)}))
PY
cat "$OUT/cluster-expiry.json"
