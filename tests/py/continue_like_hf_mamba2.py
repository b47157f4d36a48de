"""Continues from an exported Mamba-2 state the way docs/states.md tells transformers to, in numpy.

Loads a version-2 state file and a Mamba-2 fixture model, fills transformers-style caches (conv window of width
d_conv per layer, [conv_dim, d_conv] with slot 0 zero and slots 1.. the file's d_conv-1 inputs; SSM state
[num_heads, head_dim, state_size] as the file has it), then runs the one-token path of transformers'
Mamba2Mixer.torch_forward with a cache (roll the window left, write x|B|C into the last slot, convolve the
window; dA = exp(dt·A) per head; h = h·dA + dt·B·x; y = h·C + D·x; gated RMSNorm over all of d_inner) over the
fixture's mix.query_tokens, and prints the max |logits - <which>.query_logits| / max(1, max |expected|), where
<which> is the optional third argument: "mix" (the default) or "adecay" (the fixture's A-decay composition,
continued by transformers from the same query).
No PyTorch here, so this checks the file layout and the cache recipe, not transformers itself
(tests/py/hf_continue_mamba2.py does that on a machine with transformers).
"""
import json
import struct
import sys

import numpy as np


def load(path):
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n :]
    kinds = {"F32": "<f4", "I32": "<i4"}
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(body[b:e], dtype=kinds[info["dtype"]]).reshape(info["shape"]).astype(np.float64)
    return out, meta


state_path, fixture_dir = sys.argv[1], sys.argv[2]
which = sys.argv[3] if len(sys.argv) > 3 else "mix"
tensors, meta = load(state_path)
assert meta["format_version"] == "2" and meta["architecture"] == "mamba2", meta
weights, _ = load(f"{fixture_dir}/model.safetensors")
expected, _ = load(f"{fixture_dir}/expected.safetensors")
cfg = json.load(open(f"{fixture_dir}/config.json"))
layers, d_conv, eps = cfg["num_hidden_layers"], cfg["conv_kernel"], cfg.get("layer_norm_epsilon", 1e-5)
heads, head_dim, n, groups = cfg["num_heads"], cfg["head_dim"], cfg["state_size"], cfg["n_groups"]
d_inner = heads * head_dim
lo, hi = cfg.get("time_step_limit", [0.0, float("inf")])
hi = float("inf") if isinstance(hi, dict) else hi

ssm = tensors["states.0.ssm"].copy()  # [layers, heads, head_dim, state]: transformers' ssm_states per layer
conv_file = tensors["states.0.conv"]  # [layers, conv_dim, d_conv-1], oldest first
conv = np.zeros(conv_file.shape[:2] + (d_conv,))
conv[:, :, 1:] = conv_file  # as docs/states.md: slot 0 is rolled out before it is read

silu = lambda x: x / (1 + np.exp(-x))
softplus = lambda x: np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


def rms(x, w):
    return w * (x / np.sqrt(np.mean(x * x) + eps))


def W(name):
    return weights[name]


def opt(name):
    return weights.get(name, 0.0)


emb = W("backbone.embeddings.weight")
head_w = weights.get("lm_head.weight", emb)
logits = []
for tok in expected["mix.query_tokens"].astype(int):
    u = emb[tok].copy()
    for l in range(layers):
        p = f"backbone.layers.{l}.mixer"
        proj = W(f"{p}.in_proj.weight") @ rms(u, W(f"backbone.layers.{l}.norm.weight")) + opt(f"{p}.in_proj.bias")
        gate, xbc, dt = proj[:d_inner], proj[d_inner : proj.shape[0] - heads], proj[proj.shape[0] - heads :]
        conv[l] = np.roll(conv[l], -1, axis=-1)
        conv[l][:, -1] = xbc
        xbc = silu(np.sum(conv[l] * W(f"{p}.conv1d.weight")[:, 0, :], axis=-1) + opt(f"{p}.conv1d.bias"))
        x = xbc[:d_inner].reshape(heads, head_dim)
        B = np.repeat(xbc[d_inner : d_inner + groups * n].reshape(groups, n), heads // groups, axis=0)
        C = np.repeat(xbc[d_inner + groups * n :].reshape(groups, n), heads // groups, axis=0)
        dt = np.clip(softplus(dt + W(f"{p}.dt_bias")), lo, hi)  # [heads]
        A = -np.exp(W(f"{p}.A_log"))  # one scalar per head
        ssm[l] = ssm[l] * np.exp(dt * A)[:, None, None] + dt[:, None, None] * x[:, :, None] * B[:, None, :]
        y = np.einsum("hdn,hn->hd", ssm[l], C) + W(f"{p}.D")[:, None] * x
        g = y.reshape(-1) * silu(gate)
        out = W(f"{p}.out_proj.weight") @ rms(g, W(f"{p}.norm.weight")) + opt(f"{p}.out_proj.bias")
        u = u + out
    logits.append(head_w @ rms(u, W("backbone.norm_f.weight")))
got = np.array(logits)
want = expected[f"{which}.query_logits"]
print(json.dumps({"rel_max_diff": float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))}))
