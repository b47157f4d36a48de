"""Merges the side-by-side run's JSON lines (bench/hf_bench.py and `soup bench --json`) into one Markdown table.

usage: python3 bench/merge_results.py HF.jsonl OURS.jsonl > table.md
Rows are matched by size (d_model and layers for our runs) and dtype; ratio = ours / transformers.
"""
import json
import sys

SIZES = {(768, 24): "130m", (1024, 48): "370m", (1536, 48): "790m", (2048, 48): "1.4b", (2560, 64): "2.8b"}
MAMBA2_SIZES = {(768, 24): "mamba2-130m", (1024, 48): "mamba2-370m", (1536, 48): "mamba2-780m",
                (2048, 48): "mamba2-1.3b", (2560, 64): "mamba2-2.7b"}
ORDER = [s for pair in zip(SIZES.values(), MAMBA2_SIZES.values()) for s in pair]


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return rows


def fmt(x, digits=0):
    return "–" if x is None else f"{x:,.{digits}f}"


def ratio(a, b):
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def main():
    hf = {(r["size"], r["dtype"]): r for r in load(sys.argv[1])}
    ours_rows = load(sys.argv[2])
    ours = {}
    for r in ours_rows:
        sizes = MAMBA2_SIZES if r["config"].get("family") == "mamba2" else SIZES
        size = sizes.get((r["config"]["dModel"], r["config"]["layers"]), r["model"])
        key = (size, r["dtype"])
        # The same size may run twice (transformers' saved weights and random:): keep the saved-weights run.
        if key not in ours or r.get("check"):
            ours[key] = r
    keys = sorted(set(hf) | set(ours), key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99, k[1]))
    out = []
    out.append("| size | dtype | prefill 512 tok/s: transformers / ours (ratio) | prefill 2048 tok/s | decode tok/s |")
    out.append("| --- | --- | --- | --- | --- |")
    for k in keys:
        h, o = hf.get(k, {}), ours.get(k)
        opre = {p["tokens"]: p["tokPerS"] for p in o["prefill"]} if o else {}
        cells = []
        for n in (512, 2048):
            a, b = h.get(f"prefill_{n}_tok_s"), opre.get(n)
            cells.append(f"{fmt(a)} / {fmt(b)} ({ratio(b, a)})")
        a, b = h.get("decode_tok_s"), (o["decode"]["tokPerS"] if o else None)
        cells.append(f"{fmt(a, 1)} / {fmt(b, 1)} ({ratio(b, a)})")
        out.append(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Ours in detail (Dawn/Vulkan):")
    out.append("")
    out.append("| size | dtype | model | upload ms | prefill 128 | mix + rescore 256 ms (mix / score) | decode GB/s | dispatches / decode token | GPU ms / decode token (timestamps) | wall ms / decode token |")
    out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for k in keys:
        o = ours.get(k)
        if not o:
            continue
        opre = {p["tokens"]: p["tokPerS"] for p in o["prefill"]}
        m = o["mixRescore"]
        prof = {p["phase"]: p for p in (o.get("profiles") or [])}
        gpu = prof.get("decode", {}).get("gpuMs")
        out.append(
            f"| {k[0]} | {k[1]} | {o['model']} | {fmt(o['uploadMs'])} | {fmt(opre.get(128))} | "
            f"{fmt(m['totalMs'], 1)} ({fmt(m['mixMs'], 2)} / {fmt(m['scoreMs'], 1)}) | {fmt(o['decodeBandwidthGBs'], 1)} | "
            f"{o['dispatchesPerDecodeToken']} | {fmt(gpu, 3)} | {fmt(o['decode']['msPerToken'], 3)} |"
        )
    pairs = [(m1, m2) for m1, m2 in zip(SIZES.values(), MAMBA2_SIZES.values())]
    rows = []
    for m1, m2 in pairs:
        for dtype in ("f32", "f16"):
            a, b = ours.get((m1, dtype)), ours.get((m2, dtype))
            if not a or not b:
                continue
            pa = {p["tokens"]: p["tokPerS"] for p in a["prefill"]}
            pb = {p["tokens"]: p["tokPerS"] for p in b["prefill"]}
            rows.append(
                f"| {m1} / {m2} | {dtype} | {fmt(pa.get(2048))} / {fmt(pb.get(2048))} ({ratio(pb.get(2048), pa.get(2048))}) | "
                f"{fmt(a['decode']['tokPerS'], 1)} / {fmt(b['decode']['tokPerS'], 1)} ({ratio(b['decode']['tokPerS'], a['decode']['tokPerS'])}) |"
            )
    if rows:
        out.append("")
        out.append("This engine, Mamba-1 / Mamba-2 at the same size (ratio = Mamba-2 / Mamba-1; the target is ≥ 1):")
        out.append("")
        out.append("| sizes | dtype | prefill 2048 tok/s | decode tok/s |")
        out.append("| --- | --- | --- | --- |")
        out.extend(rows)
    checks = [r for r in ours_rows if r.get("check")]
    if checks:
        out.append("")
        for r in checks:
            c = r["check"]
            out.append(
                f"- logits of transformers' saved weights ({r['model']}, ours in {r['dtype']}) over {c['tokens']} positions: "
                f"max |diff| {c['maxAbsDiff']:.3e}, relative {c['relMaxDiff']:.3e}, argmax agreement {100 * c['argmaxAgreement']:.1f} %"
            )
    for r in ours_rows:
        for p in r.get("profiles") or []:
            top = ", ".join(f"{k['kernel']} ×{k['calls']} {k['ms']:.3f} ms ({100 * k['share']:.0f} %)" for k in p["kernels"][:6])
            out.append(f"- kernels, {r['model']} {r['dtype']}, {p['phase']} ({p['tokens']} tok, {p['gpuMs']:.3f} ms GPU): {top}")
    print("\n".join(out))


if __name__ == "__main__":
    main()
