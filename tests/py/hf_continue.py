"""The docs/states.md recipe with real transformers: load an exported state into MambaForCausalLM's cache and
continue there. Reads the tiny-a mix written by export_tiny_a_mix.ts, feeds the fixture's mix.query_tokens one
at a time on transformers' decode path, and prints the max |logits - mix.query_logits| / max(1, max |expected|).
Needs torch, transformers and safetensors (the GPU machine has them; this machine does not).

The cache object is the one transformers itself returns from a forward pass with use_cache=True, so the recipe
does not depend on the name of its class (MambaCache in 4.x; transformers 5 reorganised its caches). Its
per-layer conv window [1, d_inner, d_conv] and SSM state [1, d_inner, d_state] are found by shape and filled.
"""
import json
import sys

import torch
from safetensors import safe_open
from transformers import MambaForCausalLM

state_file, model_dir = sys.argv[1], sys.argv[2]
model = MambaForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
cfg = model.config
with safe_open(state_file, framework="pt") as f:
    assert f.metadata()["format"] == "state-soup.states"
    ssm = f.get_tensor("states.0.ssm")  # [layers, d_inner, d_state]
    conv = f.get_tensor("states.0.conv")  # [layers, d_inner, d_conv-1], oldest first
with safe_open(f"{model_dir}/expected.safetensors", framework="pt") as f:
    query = f.get_tensor("mix.query_tokens").tolist()
    expected = f.get_tensor("mix.query_logits")


def layer_tensors(cache, want):
    """Every tensor reachable from the cache with the shape `want`, in layer order."""
    found = []
    seen = set()

    def visit(obj, depth):
        if depth > 4 or id(obj) in seen:
            return
        seen.add(id(obj))
        if torch.is_tensor(obj):
            if tuple(obj.shape) == want:
                found.append(obj)
            return
        if isinstance(obj, (list, tuple)):
            for x in obj:
                visit(x, depth + 1)
            return
        if isinstance(obj, dict):
            for x in obj.values():
                visit(x, depth + 1)
            return
        for name in sorted(vars(obj)) if hasattr(obj, "__dict__") else []:
            visit(getattr(obj, name), depth + 1)

    visit(cache, 0)
    return found


def fresh_cache():
    out = model(input_ids=torch.tensor([[0]]), use_cache=True)
    cache = getattr(out, "cache_params", None) or getattr(out, "past_key_values", None)
    convs = layer_tensors(cache, (1, cfg.intermediate_size, cfg.conv_kernel))
    ssms = layer_tensors(cache, (1, cfg.intermediate_size, cfg.state_size))
    assert len(convs) == cfg.num_hidden_layers and len(ssms) == cfg.num_hidden_layers, (type(cache), len(convs), len(ssms))
    for l in range(cfg.num_hidden_layers):
        ssms[l].copy_(ssm[l].unsqueeze(0))
        convs[l].zero_()
        convs[l][0, :, 1:] = conv[l]  # slot 0 is rolled out before it is read
    return cache


def run(use_position):
    cache = fresh_cache()
    rows = []
    for i, t in enumerate(query):
        kwargs = dict(input_ids=torch.tensor([[t]]), cache_params=cache, use_cache=True)
        if use_position:
            kwargs["cache_position"] = torch.tensor([cfg.conv_kernel - 1 + i])
        out = model(**kwargs)
        cache = getattr(out, "cache_params", None) or cache
        rows.append(out.logits[0, -1])
    got = torch.stack(rows)
    return (got - expected).abs().max().item() / max(1.0, expected.abs().max().item())


with torch.no_grad():
    cache_type = type(fresh_cache()).__module__ + "." + type(fresh_cache()).__name__
    results = {"cache_class": cache_type, "tokens": len(query)}
    for use_position in (True, False):
        try:
            results[f"rel_max_diff_cache_position_{use_position}"] = run(use_position)
        except Exception as e:  # report, do not hide: the doc must name the variant that works
            results[f"error_cache_position_{use_position}"] = repr(e)[:300]
print(json.dumps(results))
