#!/usr/bin/env bash
# Fourth pass on the GPU machine (bench/RESULTS.md): this engine alone, 130m and 2.8b f16 with timestamps, the
# prefill-GEMM tuning swept (--big-tiles / --split-target / --chunk of `soup bench`), the engine against the
# CPU reference at 130m (bench/check-random.ts), then 370m and 790m f16 once. Needs dist-bench/soup.mjs
# (scripts/bundle-node.mjs) and dist-bench/check-random.mjs (bench/bundle-check.sh). Writes into $OUT.
# STAGE picks a part:
#   final  the figures of record: 130m f16 twice, 130m f32, 2.8b and 1.4b f16, the check, 370m and 790m f16;
#   sweep  130m/2.8b with the tuning options varied; tune: 130m defaults twice, chunk and split-K variants, 2.8b;
#   ab     the engine before this pass against this one, alternating (needs dist-bench/old/soup.mjs: made by
#          `git archive 7b85e7c | tar -x -C /tmp/old`, a node_modules link there, `node scripts/bundle-node.mjs`
#          in it, and its dist-bench/soup.mjs copied to dist-bench/old/);
#   check, sizes (370m/790m), all (sweep + check + sizes, the default), dry (tiny-b --quick, SwiftShader).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out}
BUDGET_S=${BUDGET_S:-300}
STAGE=${STAGE:-all}
mkdir -p "$OUT"
left() { echo $((BUDGET_S - SECONDS)); }
cap() { local l; l=$(($(left) - 5)); ((l < $1)) && echo $((l > 0 ? l : 1)) || echo "$1"; }
bench() { # tag model dtype timeout [extra...]
  local tag=$1 model=$2 dtype=$3 t=$4
  shift 4
  (($(left) < 15)) && { echo "== budget spent: skipping $tag"; return; }
  echo "== $tag: $model $dtype $* (t=${SECONDS}s)"
  if timeout "$(cap "$t")" node "${SOUP:-dist-bench/soup.mjs}" bench --model "$model" --dtype "$dtype" --json "$@" \
    > "$OUT/cur.json" 2>> "$OUT/ours.err"; then
    node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));r.tag=process.argv[2];
      require("fs").appendFileSync(process.argv[3],JSON.stringify(r)+"\n");
      const p=r.prefill.map(x=>x.tokens+":"+Math.round(x.tokPerS)).join(" ");
      const pc=(r.profiles||[]).find(x=>x.phase!=="decode");
      console.log("   prefill "+p+" | decode "+r.decode.tokPerS.toFixed(1)+" | mix+rescore "+r.mixRescore.totalMs.toFixed(2)+" ms");
      if(pc)console.log("   chunk "+pc.tokens+": "+pc.gpuMs.toFixed(2)+" ms: "+pc.kernels.slice(0,9).map(k=>k.kernel+" "+k.ms.toFixed(2)).join(", "));' \
      "$OUT/cur.json" "$tag" "$OUT/ours.jsonl"
  else
    echo "   failed or cut short (rc $?): see ours.err"
  fi
}
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null; node --version; } \
  | tee "$OUT/device.txt"
if [[ $STAGE == dry ]]; then
  bench dry-tiny-b tests/fixtures/tiny-b f32 120 --quick --big-tiles 1
fi
if [[ $STAGE == all || $STAGE == sweep ]]; then
  bench 130m-default random:130m f16 60 --prefill 256,512,2048
  bench 130m-chunk2048 random:130m f16 60 --prefill 2048 --chunk 2048
  bench 130m-split132 random:130m f16 60 --prefill 512,2048 --split-target 132
  bench 130m-split528 random:130m f16 60 --prefill 512,2048 --split-target 528
  bench 130m-big1 random:130m f16 60 --prefill 512,2048 --big-tiles 1
  bench 2.8b-default random:2.8b f16 90 --prefill 512,2048
  bench 2.8b-big1 random:2.8b f16 90 --prefill 512,2048 --big-tiles 1
  bench 2.8b-mid random:2.8b f16 90 --prefill 512,2048 --big-tiles 1000000
fi
if [[ $STAGE == tune ]]; then
  bench 130m-default random:130m f16 60 --prefill 256,512,2048
  bench 130m-default-b random:130m f16 60 --prefill 256,512,2048
  bench 130m-chunk2048 random:130m f16 60 --prefill 2048 --chunk 2048
  bench 130m-split132 random:130m f16 60 --prefill 256,512,2048 --split-target 132
  bench 130m-split528 random:130m f16 60 --prefill 256,512,2048 --split-target 528
  bench 2.8b-default random:2.8b f16 90 --prefill 512,2048
fi
if [[ $STAGE == ab ]]; then
  # Decode is dispatch-bound at 130m and the host's dispatch cost varies between runs: the engine before this
  # pass (dist-bench/old/soup.mjs, bundled from commit 7b85e7c) and this one, alternating, on the same machine.
  for i in 1 2; do
    SOUP=dist-bench/old/soup.mjs bench "130m-old-$i" random:130m f16 60 --prefill 256,2048
    bench "130m-new-$i" random:130m f16 60 --prefill 256,2048
  done
  SOUP=dist-bench/old/soup.mjs bench 2.8b-old random:2.8b f16 90 --prefill 2048
  bench 2.8b-new random:2.8b f16 90 --prefill 2048
fi
if [[ $STAGE == final ]]; then
  bench 130m-f16 random:130m f16 60 --prefill 128,256,512,2048
  bench 130m-f16-b random:130m f16 60 --prefill 128,256,512,2048
  bench 130m-f32 random:130m f32 60 --prefill 512,2048
  bench 2.8b-f16 random:2.8b f16 90 --prefill 128,512,2048
  bench 1.4b-f16 random:1.4b f16 60 --prefill 512,2048
fi
if [[ $STAGE == all || $STAGE == final || $STAGE == check ]]; then
  echo "== check-random 130m (t=${SECONDS}s)"
  timeout "$(cap 60)" node dist-bench/check-random.mjs --size 130m --dtypes f32,f16 2>> "$OUT/check.err" \
    | tee "$OUT/check.jsonl"
fi
if [[ $STAGE == all || $STAGE == final || $STAGE == sizes ]]; then
  bench 370m random:370m f16 60 --prefill 512,2048
  bench 790m random:790m f16 60 --prefill 512,2048
fi
echo "== done (t=${SECONDS}s)"
