#!/usr/bin/env bash
# Times `bionmda bench --backend cpu` of two builds side by side on this
# machine: for each input, ROUNDS alternating runs (old, new, old, new, ...),
# then the median microseconds per step of each build per precision and size,
# and new/old. A ratio above 1 means the new build is slower.
#
# Usage: bench/compare_cpu.sh OLD_BIONMDA NEW_BIONMDA [ROUNDS] [extra bench args...]
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "Usage: $0 OLD_BIONMDA NEW_BIONMDA [ROUNDS] [extra bench args...]" >&2
  exit 2
fi
old=$1 new=$2 rounds=${3:-3}
shift $(( $# >= 3 ? 3 : 2 ))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for input in dense poisson; do
  for r in $(seq 1 "$rounds"); do
    for which in old new; do
      bin=$old
      [ "$which" = new ] && bin=$new
      "$bin" bench --backend cpu --input "$input" --no-reference "$@" 2>/dev/null |
        awk -v w="$which" -v i="$input" '$1 ~ /^float(32|64)$/ { print i, $1, $2, w, $7 }' >> "$work/times"
    done
  done
done
python3 - "$work/times" <<'PY'
import statistics, sys, collections
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    inp, prec, n, which, us = line.split()
    t[(inp, prec, int(n), which)].append(float(us))
keys = sorted({k[:3] for k in t})
print(f"{'input':8} {'prec':8} {'N':>9} {'old us':>10} {'new us':>10} {'new/old':>8}")
worst = 0.0
for k in keys:
    o = statistics.median(t[k + ('old',)]); n = statistics.median(t[k + ('new',)])
    worst = max(worst, n / o)
    print(f"{k[0]:8} {k[1]:8} {k[2]:9d} {o:10.2f} {n:10.2f} {n / o:8.3f}")
print(f"worst new/old: {worst:.3f}")
PY
