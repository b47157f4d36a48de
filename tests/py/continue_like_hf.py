"""Continues from an exported state the way docs/states.md tells transformers to, in numpy.

Loads a state file and a fixture model, fills transformers-style conv windows of width d_conv (slot 0 zero,
slots 1.. the file's d_conv-1 inputs), then runs the one-token decoding recurrence of MambaMixer.slow_forward
(roll the window left, write the new input into the last slot, convolve the whole window; one SSM step) over
the fixture's mix.query_tokens, and prints the max |logits - mix.query_logits| / max(1, max |expected|).
No PyTorch here, so this checks the file layout and the cache recipe, not transformers itself.
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
tensors, meta = load(state_path)
weights, _ = load(f"{fixture_dir}/model.safetensors")
expected, _ = load(f"{fixture_dir}/expected.safetensors")
cfg = json.load(open(f"{fixture_dir}/config.json"))
layers, d_conv, eps = cfg["num_hidden_layers"], cfg["conv_kernel"], cfg.get("layer_norm_epsilon", 1e-5)

ssm = tensors["states.0.ssm"].copy()  # [layers, d_inner, d_state]
conv_file = tensors["states.0.conv"]  # [layers, d_inner, d_conv-1]
conv = np.zeros(conv_file.shape[:2] + (d_conv,))
conv[:, :, 1:] = conv_file  # as docs/states.md: slot 0 is rolled out before it is read

silu = lambda x: x / (1 + np.exp(-x))
softplus = lambda x: np.where(x > 20, x, np.log1p(np.exp(np.minimum(x, 20))))


def rms(x, w):
    return w * (x / np.sqrt(np.mean(x * x) + eps))


def W(name):
    return weights[name]


emb = W("backbone.embeddings.weight")
rank, d_state = cfg.get("time_step_rank"), cfg["state_size"]
logits = []
for tok in expected["mix.query_tokens"].astype(int):
    u = emb[tok].copy()
    for l in range(layers):
        p = f"backbone.layers.{l}"
        h = rms(u, W(f"{p}.norm.weight"))
        xz = W(f"{p}.mixer.in_proj.weight") @ h
        if f"{p}.mixer.in_proj.bias" in weights:
            xz = xz + W(f"{p}.mixer.in_proj.bias")
        d_inner = xz.shape[0] // 2
        x, z = xz[:d_inner], xz[d_inner:]
        conv[l] = np.roll(conv[l], -1, axis=-1)
        conv[l][:, -1] = x
        xc = np.sum(conv[l] * W(f"{p}.mixer.conv1d.weight")[:, 0, :], axis=-1)
        if f"{p}.mixer.conv1d.bias" in weights:
            xc = xc + W(f"{p}.mixer.conv1d.bias")
        xc = silu(xc)
        dbc = W(f"{p}.mixer.x_proj.weight") @ xc
        r = dbc.shape[0] - 2 * d_state
        delta, B, C = dbc[:r], dbc[r : r + d_state], dbc[r + d_state :]
        dt = softplus(W(f"{p}.mixer.dt_proj.weight") @ delta + W(f"{p}.mixer.dt_proj.bias"))
        A = -np.exp(W(f"{p}.mixer.A_log"))
        ssm[l] = np.exp(dt[:, None] * A) * ssm[l] + dt[:, None] * B[None, :] * xc[:, None]
        y = ssm[l] @ C + W(f"{p}.mixer.D") * xc
        y = y * silu(z)
        out = W(f"{p}.mixer.out_proj.weight") @ y
        if f"{p}.mixer.out_proj.bias" in weights:
            out = out + W(f"{p}.mixer.out_proj.bias")
        u = u + out
    logits.append(emb @ rms(u, W("backbone.norm_f.weight")))
got = np.array(logits)
want = expected["mix.query_logits"]
print(json.dumps({"rel_max_diff": float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))}))
