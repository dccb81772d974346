#!/bin/sh
# causerie against its peers (docs/benchmarks.md, "Peers"), about 6 minutes. Results land in
# bench/results/peers-*.json. Needs `pip install -e '.[bench]'` and `npm ci --prefix bench/node`;
# the workers comparison needs PostgreSQL (PG_URL) and Redis on 127.0.0.1:6379.
set -e
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
PG_URL="${PG_URL:-postgresql+asyncpg://postgres@127.0.0.1:5432/test}"
cat /proc/loadavg
"$PYTHON" -m bench.peers first --peers causerie --repeat 30 "$@"
"$PYTHON" -m bench.peers rate --peers causerie,causerie-nomod,websockets,socketio,node \
    --rooms 5 --members 20 --rate 200 --duration 15 "$@"
"$PYTHON" -m bench.peers idle --peers causerie,websockets,socketio,node --connections 2000 "$@"
"$PYTHON" -m bench.peers rate --peers causerie-w1,causerie-w2 --server-cpu -1 \
    --rooms 5 --members 20 --rate 200,400,800 --duration 12 --database-url "$PG_URL" "$@"
cat /proc/loadavg
