#!/bin/sh
# The network flow of docs/network.md on the demo network (50,000 patients, 8 hospitals,
# seed 1) split by hospital: a request package, an extraction at each hospital, seven
# approved and one rejected, the data center's pooling, the researcher's analysis over the
# pooled data and the reviewed release. Everything is written under ${WORK:-out/network}.
# `MID` is the mid command (default: cargo run); `PATIENTS` makes the network smaller.
set -eu
MID=${MID:-"cargo run -q --"}
WORK=${WORK:-out/network}
PATIENTS=${PATIENTS:-50000}
STUDY=$(cd "$(dirname "$0")/.." && pwd)/thiamazole_granulocytopenia/study.mid
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

# The researcher (on-site center).
$MID synth --patients "$PATIENTS" --hospitals 8 --seed 1 --out net --split
$MID package "$STUDY" --out request.midpkg --audit center-audit.jsonl
# Each hospital: its key (once), the request, the officer's decision.
for h in H01 H02 H03 H04 H05 H06 H07 H08; do
  $MID site key --out $h.key
  $MID site run request.midpkg --data net/$h --key $h.key --audit $h-audit.jsonl --out extract-$h
done
for h in H01 H02 H03 H04 H05 H06 H07; do
  $MID site approve extract-$h --officer Sato --audit $h-audit.jsonl
done
$MID site approve extract-H08 --officer Suzuki --audit H08-audit.jsonl --reject --reason "outside the hospital's agreement"
# The data center.
$MID center combine extract-H0? --package request.midpkg --audit center-audit.jsonl --out pooled \
  --expect H01,H02,H03,H04,H05,H06,H07,H08
$MID center run "$STUDY" --data pooled --out results --audit center-audit.jsonl
$MID center release pooled --by-hospital --out release --audit center-audit.jsonl
$MID audit verify center-audit.jsonl
