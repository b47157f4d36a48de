"""Medians of bench/before_after.sh's interleaved runs: per size and dtype, transformers once, then ours before
and after (median of the rounds, with min–max as the run-to-run spread), the dispatches per decode token, which
f16 kernels ran (native shader-f16 or packed; bundles from before the native path report none: packed), and
the logits check against transformers where the run made one."""
import json
import statistics
import sys

SIZES = {(768, 24): "130m", (1024, 48): "370m", (1536, 48): "790m", (2048, 48): "1.4b", (2560, 64): "2.8b"}


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def key(r):
    return SIZES.get((r["config"]["dModel"], r["config"]["layers"]), r["model"]), r["dtype"]


def metrics(r):
    pre = {p["tokens"]: p["tokPerS"] for p in r["prefill"]}
    return {
        "prefill 2048 tok/s": pre.get(2048),
        "decode tok/s": r["decode"]["tokPerS"],
        "mix + score 256 ms": r["mixRescore"]["totalMs"],
    }


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return "—"
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}–{max(values):,.1f})"


def main():
    hf = {(r["size"], r["dtype"]): r for r in load(sys.argv[1])}
    runs = {"before": load(sys.argv[2]), "after": load(sys.argv[3])}
    keys = sorted({key(r) for rs in runs.values() for r in rs})
    print("| size | dtype | metric | transformers | before: median (min–max) | after: median (min–max) | after / before |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for k in keys:
        h = hf.get(k, {})
        hfv = {"prefill 2048 tok/s": h.get("prefill_2048_tok_s"), "decode tok/s": h.get("decode_tok_s")}
        per = {w: [metrics(r) for r in rs if key(r) == k] for w, rs in runs.items()}
        for m in ["prefill 2048 tok/s", "decode tok/s", "mix + score 256 ms"]:
            b = [x[m] for x in per["before"] if x[m] is not None]
            a = [x[m] for x in per["after"] if x[m] is not None]
            ratio = f"{statistics.median(a) / statistics.median(b):.3f}" if a and b else "—"
            t = f"{hfv[m]:,.1f}" if hfv.get(m) else "—"
            print(f"| {k[0]} | {k[1]} | {m} (n={len(b)}/{len(a)}) | {t} | {spread(b)} | {spread(a)} | {ratio} |")
        for w, rs in runs.items():
            d = sorted({r["dispatchesPerDecodeToken"] for r in rs if key(r) == k})
            checks = [r["check"] for r in rs if key(r) == k and r.get("check")]
            c = checks[-1] if checks else None
            f16 = sorted({r.get("f16Kernels", "packed (not reported)") for r in rs if key(r) == k and r["dtype"] == "f16"})
            gemms = sorted({r.get("prefillGemm", "not reported") for r in rs if key(r) == k})
            line = f"- {k[0]} {k[1]} {w}: prefill GEMM {', '.join(gemms)}; dispatches per decode token {d}"
            if f16:
                line += f"; f16 kernels {', '.join(f16)}"
            if c:
                line += f"; logits vs transformers rel {c['relMaxDiff']:.3e}, argmax {100 * c['argmaxAgreement']:.1f} %"
            print(line)


main()
