#!/bin/bash
# Runs examples on a Ballista cluster of this machine (one scheduler, two executors of one
# core each, all `mid cluster` processes) and in process, times both, and compares every
# output (docs/performance.md, "On a Ballista cluster").
#   bench/cluster.sh MID DATA OUT example...
# e.g. bench/cluster.sh target/release/mid /tmp/bench/net-1m /tmp/clb thiamazole_granulocytopenia
set -u
MID=$(realpath "$1"); DATA=$2; OUT=$3; shift 3
cd "$(dirname "$0")/.."
mkdir -p "$OUT/shared" "$OUT/w1" "$OUT/w2"
/usr/bin/time -f "scheduler peak %M KB" -o "$OUT/scheduler.peak" \
  "$MID" cluster scheduler --bind 127.0.0.1:50250 > "$OUT/scheduler.log" 2>&1 &
sleep 2
for i in 1 2; do
  /usr/bin/time -f "executor $i peak %M KB" -o "$OUT/executor-$i.peak" \
    "$MID" cluster executor --scheduler 127.0.0.1:50250 --port $((50249 + 2 * i)) \
    --grpc-port $((50250 + 2 * i)) --cores 1 --work-dir "$OUT/w$i" > "$OUT/executor-$i.log" 2>&1 &
done
sleep 3
for ex in "$@"; do
  /usr/bin/time -f "$ex cluster %e s, client peak %M KB" -o "$OUT/$ex.cluster.time" \
    "$MID" run "examples/$ex/study.mid" --data "$DATA" --out "$OUT/$ex-cluster" \
    --engine ballista --scheduler 127.0.0.1:50250 --shared-dir "$OUT/shared" > /dev/null 2>&1
  cat "$OUT/$ex.cluster.time"
done
pkill -f "^$MID cluster"
sleep 2
cat "$OUT"/*.peak
for ex in "$@"; do
  /usr/bin/time -f "$ex in process %e s, peak %M KB" -o "$OUT/$ex.local.time" \
    "$MID" run "examples/$ex/study.mid" --data "$DATA" --out "$OUT/$ex-local" > /dev/null 2>&1
  cat "$OUT/$ex.local.time"
  if diff -r "$OUT/$ex-local" "$OUT/$ex-cluster" | grep '^[<>]' | grep -qv '"started"\|"finished"'; then
    echo "$ex: outputs DIFFER"
  else
    echo "$ex: outputs identical (run.json apart from its times)"
  fi
done
