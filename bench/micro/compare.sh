#!/usr/bin/env bash
# Per-record micro-benchmarks before and after a change. Runs each bench of bench/micro/ in
# <before-dir> and <after-dir> in turn (B A B A …), so that load from other work falls on both alike,
# pools each side's rounds and prints a markdown table: median [min–max] of CPU ns per item, and the
# ratio after ÷ before of the medians (below 1 is faster).
#
#   bench/micro/compare.sh <before-dir> <after-dir>  > table.md
#
# Both are checkouts of Sluice, built (node_modules/.bin/tsc -p tsconfig.json), with the same benches
# in bench/micro/ (import paths adjusted to each layout). The benches' own output goes to stderr.
# MICRO_BENCHES (encoder batch-pack decode), MICRO_PAIRS (2: B A B A); MICRO_ROUNDS, MICRO_SECONDS
# and the rest pass through to the benches. Needs node and jq.
set -euo pipefail

before=${1:?usage: compare.sh <before-dir> <after-dir>}
after=${2:?usage: compare.sh <before-dir> <after-dir>}
benches=${MICRO_BENCHES:-encoder batch-pack decode}
pairs=${MICRO_PAIRS:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for b in $benches; do
  for dir in "$before" "$after"; do
    [[ -f $dir/dist/bench/micro/$b.js ]] || { echo "compare.sh: no $dir/dist/bench/micro/$b.js (build $dir first)" >&2; exit 1; }
  done
done

# run <side> <dir> <bench> <n>: one run of a bench; keeps its JSON result as $out/<bench>.<side>.<n>.json
run() {
  echo "== $3 $1 run $4 ($2)" >&2
  local file
  file=$(cd "$2" && node "dist/bench/micro/$3.js" | tee /dev/stderr | sed -n 's/^written: //p')
  cp "$file" "$out/$3.$1.$4.json"
}

# stats <case> <files…>: median, min and max of the case's per-round CPU ns over the files
stats() {
  local name=$1
  shift
  jq -rs --arg n "$name" '[.[].results[] | select(.name == $n) | .cpuNs[]] | sort | length as $l
    | if $l == 0 then "n/a" else [(if $l % 2 == 1 then .[($l - 1) / 2] else (.[$l / 2 - 1] + .[$l / 2]) / 2 end), .[0], .[-1]] | @tsv end' "$@"
}

for b in $benches; do
  for ((i = 1; i <= pairs; i++)); do
    run before "$before" "$b" "$i"
    run after "$after" "$b" "$i"
  done
done

first=$(ls "$out"/*.after.1.json | head -1)
echo "Micro-benchmarks, CPU ns per item: median [min–max] of $(jq -r '.config.rounds' "$first") rounds × $pairs runs of $(jq -r '.config.seconds' "$first") s per side, runs alternating before/after"
echo "before: $before at $(jq -r '.machine.sluiceCommit' "$out"/*.before.1.json | head -1); after: $after at $(jq -r '.machine.sluiceCommit' "$first"); $(jq -r '"\(.machine.cpuModel), \(.machine.cores) cores, Node \(.machine.node)"' "$first")"
echo
echo '| bench | before | after | after ÷ before |'
echo '|---|--:|--:|--:|'
for b in $benches; do
  # Cases of the after side, in its order.
  jq -r '.results[].name' "$out/$b.after.1.json" | while IFS= read -r name; do
    bs=$(stats "$name" "$out/$b".before.*.json)
    as=$(stats "$name" "$out/$b".after.*.json)
    awk -F'\t' -v bench="$b: $name" -v bs="$bs" -v as="$as" 'BEGIN {
      nb = split(bs, x, "\t"); na = split(as, y, "\t")
      fb = nb == 3 ? sprintf("%.0f [%.0f–%.0f]", x[1], x[2], x[3]) : "n/a"
      fa = na == 3 ? sprintf("%.0f [%.0f–%.0f]", y[1], y[2], y[3]) : "n/a"
      r = nb == 3 && na == 3 ? sprintf("%.3f", y[1] / x[1]) : "n/a"
      printf "| %s | %s | %s | %s |\n", bench, fb, fa, r
    }'
  done
done
