#!/bin/sh
# Runs a command inside a memory cgroup capped at SIZE bytes (issue: "every example inside
# a 2 GB cgroup"): under cgroup v2 with systemd, a transient scope (`systemd-run --scope -p
# MemoryMax=`); under cgroup v1, a group of its own under /sys/fs/cgroup/memory (needs root).
# The kernel kills the command if it goes over; mid reads the cap and sizes its memory pool
# to three quarters of it (docs/reliability.md).
#
#   bench/capped.sh 2147483648 target/release/mid run examples/statins_liver/study.mid --data DIR
set -eu
size=$1
shift
if [ -f /sys/fs/cgroup/cgroup.controllers ] && command -v systemd-run >/dev/null; then
    exec systemd-run --quiet --scope -p MemoryMax="$size" -p MemorySwapMax=0 "$@"
fi
group=/sys/fs/cgroup/memory/mid-capped-$$
mkdir "$group"
trap 'rmdir "$group" 2>/dev/null || true' EXIT
echo "$size" > "$group/memory.limit_in_bytes"
# No swap either, where the kernel accounts it.
[ -f "$group/memory.memsw.limit_in_bytes" ] && echo "$size" > "$group/memory.memsw.limit_in_bytes" || true
status=0
sh -c 'echo $$ > "$1/cgroup.procs"; shift; exec "$@"' capped "$group" "$@" || status=$?
echo "capped.sh: peak $(cat "$group/memory.max_usage_in_bytes") bytes (page cache included); $(grep oom_kill "$group/memory.oom_control" | tr '\n' ' ')" >&2
exit $status
