"""The device scripts' summary of `soup bench --json` lines (bench/session7_run*.sh): one line per run, medians
over its rounds, each figure's rounds in brackets where there are several.

    python3 bench/engine_summary.py RESULTS.jsonl

Each line is a `soup bench --json` result the script tagged with "run" (what ran: model, options) and, where it
repeats, "round"; a "chunk" tag (the prefill chunk length) is part of the run's name. Printed: prefill tok/s at
the first prefill length, GPU ms per prefill chunk and µs per prefill token, with in_proj's, out_proj's, the scan's (the SSD pair or passes for
Mamba-2, the selective scan for Mamba-1), the conv's and Mamba-2's gated norm's shares, decode tok/s and GPU
ms per token, the prefill GEMM kernel, and the page's path (mix + score through the engine service) where the
result has it.
"""

import json
import statistics
import sys

SCAN = ("ssd_fused", "chunk_cb", "chunk_state", "state_pass", "chunk_scan", "scan")


def phase(d, name):
    return next((p for p in d.get("profiles", []) if p["phase"] == name), None)


def figures(d):
    pre = phase(d, "prefill chunk")
    dec = phase(d, "decode")
    kernels = {k["kernel"]: k["ms"] for k in pre["kernels"]} if pre else {}
    out = {
        "prefill tok/s": d["prefill"][0]["tokPerS"],
        "decode tok/s": d["decode"]["tokPerS"],
    }
    if pre:
        out["GPU ms/chunk"] = pre["gpuMs"]
        out["GPU us/prefill token"] = 1000 * pre["gpuMs"] / pre["tokens"]
        out["in_proj ms"] = sum(v for k, v in kernels.items() if k.startswith("in_proj."))
        out["out_proj ms"] = sum(v for k, v in kernels.items() if k.startswith("out_proj."))
        out["scan ms"] = sum(kernels.get(k, 0) for k in SCAN)
        out["conv ms"] = kernels.get("conv", 0)
        if "gated_norm" in kernels:
            out["gated norm ms"] = kernels["gated_norm"]
    if dec:
        out["GPU ms/token"] = dec["gpuMs"]
    if d.get("servicePath"):
        out["page path ms"] = d["servicePath"]["totalMs"]
    return out


def main(path):
    runs = {}
    for line in open(path):
        if not line.strip():
            continue
        d = json.loads(line)
        name = d["run"] + (f" chunk {d['chunk']}" if "chunk" in d else "")
        entry = runs.setdefault(name, {"gemm": d.get("prefillGemm", "?"), "values": {}})
        for k, v in figures(d).items():
            entry["values"].setdefault(k, []).append(v)
    width = max((len(n) for n in runs), default=0)
    for name, entry in runs.items():
        parts = []
        for k, vs in entry["values"].items():
            digits = 0 if "tok/s" in k else 3 if k == "GPU ms/token" else 2
            text = f"{statistics.median(vs):.{digits}f}"
            if len(vs) > 1:
                text += " [" + ", ".join(f"{v:.{digits}f}" for v in vs) + "]"
            parts.append(f"{k} {text}")
        print(f"{name:{width}s} ({entry['gemm']}): " + "; ".join(parts))


if __name__ == "__main__":
    main(sys.argv[1])
