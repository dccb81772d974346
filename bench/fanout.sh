#!/bin/sh
# The two fan-out scenarios of docs/benchmarks.md, one after the other (about 5 minutes).
# Extra arguments go to both runs, e.g. --duration 10. Results land in bench/results/.
set -e
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
"$PYTHON" -m bench.fanout --connections 1000 --rooms 10 --rate 10,25,50,100,200,400 "$@"
"$PYTHON" -m bench.fanout --connections 1000 --rooms 1 --rate 10,25,50,75,100 "$@"
