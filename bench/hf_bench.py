"""transformers' MambaForCausalLM and Mamba2ForCausalLM on CUDA: the baselines the WebGPU engine is measured against.

Run on the GPU machine (torch + transformers, no mamba_ssm kernels, so transformers takes its PyTorch path).
For each size and dtype it builds the model with random weights on the GPU, times prefill (one forward over
N tokens, logits of the last position) and greedy decode of 128 tokens with the recurrent cache, and prints one
JSON object per line. With --save DIR it also saves the 130m-size f32 weights in the Hugging Face layout and the
logits of a fixed token sequence, so the engine can load the very same weights and compare its logits (the
Mamba-2 130m size saves into DIR-mamba2 the same way). Mamba-2 sizes are named mamba2-130m … mamba2-2.7b, as
the state-spaces/mamba2-* checkpoints (head_dim 64, state 128, one group, chunk 256).
"""
import argparse
import json
import os
import time

import torch
from transformers import Mamba2Config, Mamba2ForCausalLM, MambaConfig, MambaForCausalLM

SIZES = {
    # name: (d_model, layers), as the state-spaces/mamba-*-hf configs
    "130m": (768, 24),
    "370m": (1024, 48),
    "790m": (1536, 48),
    "1.4b": (2048, 48),
    "2.8b": (2560, 64),
}

MAMBA2_SIZES = {
    # name: (d_model, layers), as the state-spaces/mamba2-* checkpoints
    "mamba2-130m": (768, 24),
    "mamba2-370m": (1024, 48),
    "mamba2-780m": (1536, 48),
    "mamba2-1.3b": (2048, 48),
    "mamba2-2.7b": (2560, 64),
}


def make_mamba2_config(size: str) -> Mamba2Config:
    d_model, layers = MAMBA2_SIZES[size]
    return Mamba2Config(
        vocab_size=50288,
        hidden_size=d_model,
        num_hidden_layers=layers,
        num_heads=2 * d_model // 64,
        head_dim=64,
        n_groups=1,
        state_size=128,
        expand=2,
        conv_kernel=4,
        chunk_size=256,
        use_conv_bias=True,
        use_bias=False,
        tie_word_embeddings=True,
        residual_in_fp32=True,
    )


def make_model(size: str):
    if size in MAMBA2_SIZES:
        return make_mamba2_config(size), Mamba2ForCausalLM
    return make_config(size), MambaForCausalLM


def make_config(size: str) -> MambaConfig:
    d_model, layers = SIZES[size]
    return MambaConfig(
        vocab_size=50280,
        hidden_size=d_model,
        num_hidden_layers=layers,
        state_size=16,
        conv_kernel=4,
        expand=2,
        time_step_rank=(d_model + 15) // 16,
        use_conv_bias=True,
        use_bias=False,
        tie_word_embeddings=True,
        residual_in_fp32=True,
    )


def sync():
    torch.cuda.synchronize()


def forward(model, ids):
    """One prefill forward that keeps only the last position's logits (as the engine's prefill does)."""
    try:
        return model(ids, logits_to_keep=1)
    except TypeError:  # transformers without logits_to_keep
        return model(ids)


@torch.inference_mode()
def bench_one(size: str, dtype: str, prefill_lengths, decode_tokens: int, save_dir: str | None, reps: int):
    torch.manual_seed(0)
    cfg, cls = make_model(size)
    tdtype = torch.float32 if dtype == "f32" else torch.float16
    with torch.device("cuda"):
        model = cls(cfg).to(tdtype).eval()
    result = {"engine": "transformers", "model": cls.__name__, "size": size, "dtype": dtype,
              "device": torch.cuda.get_device_name()}
    gen = torch.Generator(device="cuda").manual_seed(1)
    for n in prefill_lengths:
        ids = torch.randint(0, cfg.vocab_size, (1, n), device="cuda", generator=gen)
        forward(model, ids)  # warm-up
        sync()
        t0 = time.perf_counter()
        for _ in range(reps):
            forward(model, ids)
        sync()
        result[f"prefill_{n}_tok_s"] = n * reps / (time.perf_counter() - t0)
    prompt = torch.randint(0, cfg.vocab_size, (1, 8), device="cuda", generator=gen)
    model.generate(prompt, max_new_tokens=4, do_sample=False, min_new_tokens=4)  # warm-up
    sync()
    t0 = time.perf_counter()
    out = model.generate(prompt, max_new_tokens=decode_tokens, min_new_tokens=decode_tokens, do_sample=False)
    sync()
    elapsed = time.perf_counter() - t0
    result["decode_tok_s"] = (out.shape[1] - prompt.shape[1]) / elapsed
    if save_dir and dtype == "f32":
        from safetensors.torch import save_file

        os.makedirs(save_dir, exist_ok=True)
        cfg.save_pretrained(save_dir)
        state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items() if k != "lm_head.weight"}
        save_file(state, os.path.join(save_dir, "model.safetensors"), metadata={"format": "pt"})
        ids = torch.arange(0, 64, device="cuda").unsqueeze(0) * 7 % cfg.vocab_size
        # Full f32 for the reference logits: cuDNN's conv may otherwise use TF32 (10-bit mantissa).
        tf32 = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        logits = model(ids).logits[0].float().cpu()
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
        save_file({"check.tokens": ids[0].to(torch.int32).cpu(), "check.logits": logits},
                  os.path.join(save_dir, "check.safetensors"))
        result["saved"] = save_dir
    del model
    torch.cuda.empty_cache()
    return result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="130m,1.4b,2.8b")
    ap.add_argument("--dtypes", default="f32,f16")
    ap.add_argument("--prefill", default="128,512,2048")
    ap.add_argument("--decode", type=int, default=128)
    ap.add_argument("--reps", type=int, default=3, help="timed prefill runs per length (after one warm-up)")
    ap.add_argument("--save", default=None, help="folder for the 130m f32 weights and check logits")
    a = ap.parse_args()
    for size in a.sizes.split(","):
        for dtype in a.dtypes.split(","):
            save = a.save if size == "130m" else (f"{a.save}-mamba2" if a.save and size == "mamba2-130m" else None)
            r = bench_one(size, dtype, [int(x) for x in a.prefill.split(",")], a.decode, save, a.reps)
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
