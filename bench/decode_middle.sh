#!/usr/bin/env bash
# Decode before and after the fused decode middle (issue 14), back to back on one GPU machine with one bundle:
# `--decode-middle scan` runs the decode plan of before the change (x_proj GEMV, then scan_coop: the same kernels
# and 4 dispatches per layer), the default runs the new one (130m: ssm_decode recomputing x_proj, 3 per layer;
# 2.8b: the x_proj GEMV, then ssm_decode), and at 2.8b both new middles are run ('fused' and 'split'). Each
# configuration runs ROUNDS times, interleaved, so drift hits all alike; then a table of medians (min–max),
# dispatches per decode token, and the decode GPU time of the middle kernels from timestamp queries.
# Needs dist-bench/soup.mjs (node scripts/bundle-node.mjs) and, on the GPU machine, .device-kit sourced.
# Writes into $OUT: runs.jsonl (one tagged JSON line per run), table.md, errors.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
ROUNDS=${ROUNDS:-3}
BUDGET_S=${BUDGET_S:-540}
BUNDLE=${BUNDLE:-dist-bench/soup.mjs}
# size dtype middle (auto: the engine's own choice)
CONFIGS=${CONFIGS:-"130m f32 scan;130m f32 auto;130m f16 scan;130m f16 auto;2.8b f16 scan;2.8b f16 split;2.8b f16 fused"}
mkdir -p "$OUT"
: > "$OUT/runs.jsonl"
: > "$OUT/errors.txt"
left() { echo $((BUDGET_S - SECONDS)); }

IFS=';' read -ra configs <<< "$CONFIGS"
for round in $(seq 1 "$ROUNDS"); do
  for cfg in "${configs[@]}"; do
    read -r size dtype middle <<< "$cfg"
    (($(left) < 40)) && { echo "== budget spent in round $round"; break 2; }
    flag=(); [[ $middle != auto ]] && flag=(--decode-middle "$middle")
    echo "== round $round: $size $dtype $middle (t=${SECONDS}s)"
    line=$(timeout $(($(left) - 20)) node "$BUNDLE" bench --model "random:$size" --dtype "$dtype" --prefill 128 \
      --decode-tokens 128 --eval-tokens 32 --json "${flag[@]}" 2>> "$OUT/errors.txt") \
      || { echo "   failed (rc $?)"; continue; }
    echo "{\"middle\":\"$middle\",\"size\":\"$size\",\"result\":$line}" >> "$OUT/runs.jsonl"
  done
done

python3 - "$OUT/runs.jsonl" <<'EOF' | tee "$OUT/table.md"
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
groups = {}
for r in runs:
    groups.setdefault((r["size"], r["result"]["dtype"], r["middle"]), []).append(r["result"])
def med(xs):
    return f"{statistics.median(xs):,.1f} ({min(xs):,.1f}–{max(xs):,.1f})" if xs else "—"
print("| size | dtype | decode middle | runs | decode tok/s median (min–max) | ms/token | decode GB/s | dispatches/token | dispatch floor ms | decode kernels: ms per token (calls), timestamps, last run |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for (size, dtype, middle), rs in sorted(groups.items()):
    tok = [r["decode"]["tokPerS"] for r in rs]
    ms = [r["decode"]["msPerToken"] for r in rs]
    gbs = [r["decodeBandwidthGBs"] for r in rs]
    disp = sorted({r["dispatchesPerDecodeToken"] for r in rs})
    floor = [r["dispatchFloor"]["ms"] for r in rs]
    kern = ""
    prof = [p for r in rs[-1:] for p in (r.get("profiles") or []) if p["phase"] == "decode"]
    if prof:
        kern = ", ".join(f"{k['kernel']} {k['ms']:.3f} ({k['calls']})" for k in prof[0]["kernels"])
    print(f"| {size} | {dtype} | {middle} | {len(rs)} | {med(tok)} | {statistics.median(ms):.3f} | "
          f"{statistics.median(gbs):,.0f} | {disp} | {statistics.median(floor):.3f} | {kern} |")
EOF
