"""How far transformers' own f16 model is from its f32 logits, on the weights bench/hf_bench.py --save wrote.

This is the yardstick for the engine's f16 check: f16 weights of a random-init model move the logits by some
amount in PyTorch too, and the engine's f16 difference should be judged against that, not against zero.
usage: python3 bench/hf_f16_check.py DIR   (DIR holds config.json, model.safetensors, check.safetensors)
Prints one JSON line.
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file
from transformers import MambaForCausalLM


@torch.inference_mode()
def main():
    d = sys.argv[1]
    check = load_file(os.path.join(d, "check.safetensors"))
    ids = check["check.tokens"].long().unsqueeze(0).cuda()
    want = check["check.logits"].float()
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    model = MambaForCausalLM.from_pretrained(d).float().cuda().eval()
    out = {"engine": "transformers", "check": d}
    for name in ("f32", "f16"):
        # One after the other: .half() converts the model in place.
        m = model if name == "f32" else model.half()
        got = m(ids).logits[0].float().cpu()
        diff = (got - want).abs().max().item()
        out[name] = {
            "maxAbsDiff": diff,
            "relMaxDiff": diff / max(1.0, want.abs().max().item()),
            "argmaxAgreement": (got.argmax(-1) == want.argmax(-1)).float().mean().item(),
        }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
