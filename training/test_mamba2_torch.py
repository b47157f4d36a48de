"""Checks of mamba2_torch (CPU is enough; the transformers check runs where transformers is installed).

    python3 training/test_mamba2_torch.py [--require-hf]

1. the chunked SSD scan against the token-by-token recurrence in float64 (values and gradients, < 1e-9);
2. the model against a token-by-token float64 restatement of transformers' Mamba2ForCausalLM (< 1e-9), and
   continuing from a returned state (including right-padded rows) against reading the whole sequence;
3. against transformers' Mamba2ForCausalLM on random weights in float64 (needs transformers): once with
   transformers' float32 islands neutralised (its RMSNorms, the `.float()` casts of torch_forward and
   residual_in_fp32), where the two must agree to < 1e-9, and once as shipped, where they agree to float32
   rounding (< 1e-5 relative);
4. against the committed transformers fixtures tests/fixtures/m2-tiny-{a,b,c} (logits, greedy continuations and
   m2-tiny-a's continuation from a stored state), and any further folder given in M2_FIXTURES (':'-separated;
   there also states, ΣΔ, mixes and A-decay where the fixture holds them). Fixture tolerance: 1e-5 relative to
   max(1, max |expected|), since transformers' "float64" keeps float32 islands (see 3).
Prints one PASS/FAIL line per check and exits 1 if any failed.
"""
import json
import math
import os
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from mamba2_torch import Mamba2, Mamba2Args, ssd_chunked, ssd_sequential  # noqa: E402

FAILED: list[str] = []


def check(name: str, err: float, tol: float) -> None:
    ok = err <= tol  # NaN fails
    print(f'{"PASS" if ok else "FAIL"} {name}: max diff {err:.3e} (tol {tol:g})', flush=True)
    if not ok:
        FAILED.append(name)


def read_safetensors(path: Path, meta: bool = False):
    data = path.read_bytes()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    dt = {'F16': np.float16, 'F32': np.float32, 'F64': np.float64, 'I32': np.int32, 'I64': np.int64}
    out = {}
    for name, info in header.items():
        if name != '__metadata__':
            a, b = info['data_offsets']
            out[name] = np.frombuffer(data[8 + n + a:8 + n + b], dtype=dt[info['dtype']]).reshape(info['shape'])
    return (out, header.get('__metadata__') or {}) if meta else out


def randomise(model: torch.nn.Module, seed: int) -> None:
    """Weights where nothing can be skipped: norm weights, D and biases away from 0 and 1."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            u = torch.rand(p.shape, generator=g, dtype=torch.float64)
            if n.endswith('norm.weight') or n.endswith('norm_f.weight') or n.endswith('.D'):
                v = 0.5 + u
            elif n.endswith('A_log'):
                v = -1.0 + 2.5 * u
            elif n.endswith('dt_bias'):
                v = -4.0 + 4.0 * u
            elif 'embeddings' in n or 'lm_head' in n:
                v = (2 * u - 1) * 1.5
            elif p.dim() >= 2:
                v = (2 * u - 1) * (1.7 / p.shape[-1] ** 0.5)
            else:
                v = (2 * u - 1) * 0.5
            p.copy_(v.to(p.dtype))


# ---------------------------------------------------------------- 1. the scan
def scan_checks() -> None:
    torch.manual_seed(0)
    for L, chunk, G, with_h0 in ((37, 8, 1, True), (16, 16, 2, False), (1, 64, 1, True), (70, 16, 4, True),
                                 (64, 4, 2, False)):
        b, H, P, N = 2, 4, 3, 5
        x = torch.randn(b, L, H, P, dtype=torch.float64, requires_grad=True)
        dt = (torch.rand(b, L, H, dtype=torch.float64) * 0.5).requires_grad_()
        A = (-torch.rand(H, dtype=torch.float64) * 3 - 0.1).requires_grad_()
        B = torch.randn(b, L, G, N, dtype=torch.float64, requires_grad=True)
        C = torch.randn(b, L, G, N, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(b, H, P, N, dtype=torch.float64, requires_grad=True) if with_h0 else None
        y1, h1 = ssd_chunked(x, dt, A, B, C, chunk, h0)
        y2, h2 = ssd_sequential(x, dt, A, B, C, h0)
        err = max((y1 - y2).abs().max().item(), (h1 - h2).abs().max().item())
        check(f'chunked SSD vs sequential recurrence, float64, L={L} chunk={chunk} groups={G} h0={with_h0}', err, 1e-9)
        wy, wh = torch.randn_like(y1), torch.randn_like(h1)
        inputs = [x, dt, A, B, C] + ([h0] if with_h0 else [])
        g1 = torch.autograd.grad((y1 * wy).sum() + (h1 * wh).sum(), inputs)
        g2 = torch.autograd.grad((y2 * wy).sum() + (h2 * wh).sum(), inputs)
        check(f'  its gradients (x, dt, A, B, C{", h0" if with_h0 else ""})',
              max((u - v).abs().max().item() for u, v in zip(g1, g2)), 1e-9)


# ---------------------------------------------------------------- 2. the model against a token loop
def naive_forward(model: Mamba2, ids: torch.Tensor) -> torch.Tensor:
    """Token by token in float64, written from transformers' Mamba2ForCausalLM (slow path, one token at a time)."""
    a = model.args
    sd = {k: v.double() for k, v in model.state_dict().items()}
    Bsz, L = ids.shape
    H, P, G, N, K, Di = a.num_heads, a.head_dim, a.n_groups, a.state_size, a.d_conv, a.d_inner

    def rms(v, w):
        return v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + a.eps) * w

    hs = sd['backbone.embeddings.weight'][ids]
    for i in range(a.n_layer):
        p = f'backbone.layers.{i}.mixer.'
        proj = rms(hs, sd[f'backbone.layers.{i}.norm.weight']) @ sd[p + 'in_proj.weight'].T
        if p + 'in_proj.bias' in sd:
            proj = proj + sd[p + 'in_proj.bias']
        window = torch.zeros(Bsz, a.conv_dim, K, dtype=torch.float64)
        h = torch.zeros(Bsz, H, P, N, dtype=torch.float64)
        A = -torch.exp(sd[p + 'A_log'])
        outs = []
        for t in range(L):
            z, xbc, dt = proj[:, t, :Di], proj[:, t, Di:Di + a.conv_dim], proj[:, t, Di + a.conv_dim:]
            window = torch.cat([window[:, :, 1:], xbc.unsqueeze(-1)], 2)
            c = (window * sd[p + 'conv1d.weight'][:, 0]).sum(-1)
            if p + 'conv1d.bias' in sd:
                c = c + sd[p + 'conv1d.bias']
            c = c * torch.sigmoid(c)
            x, Bv, Cv = c[:, :Di].view(Bsz, H, P), c[:, Di:Di + G * N], c[:, Di + G * N:]
            delta = F.softplus(dt + sd[p + 'dt_bias']).clamp(*a.time_step_limit)
            y = torch.zeros(Bsz, H, P, dtype=torch.float64)
            for hh in range(H):
                g = hh // (H // G)
                Bg, Cg = Bv[:, g * N:(g + 1) * N], Cv[:, g * N:(g + 1) * N]
                h[:, hh] = torch.exp(delta[:, hh] * A[hh])[:, None, None] * h[:, hh] \
                    + (delta[:, hh, None] * x[:, hh])[:, :, None] * Bg[:, None, :]
                y[:, hh] = (h[:, hh] * Cg[:, None, :]).sum(-1) + sd[p + 'D'][hh] * x[:, hh]
            v = y.reshape(Bsz, Di) * F.silu(z)
            o = rms(v, sd[p + 'norm.weight']) @ sd[p + 'out_proj.weight'].T
            if p + 'out_proj.bias' in sd:
                o = o + sd[p + 'out_proj.bias']
            outs.append(o)
        hs = hs + torch.stack(outs, 1)
    head = sd['backbone.embeddings.weight'] if a.tie else sd['lm_head.weight']
    return rms(hs, sd['backbone.norm_f.weight']) @ head.T


SMALL = [
    Mamba2Args(vocab_size=61, d_model=16, n_layer=2, head_dim=8, state_size=6, n_groups=1, d_conv=4, chunk=8),
    Mamba2Args(vocab_size=50, d_model=12, n_layer=2, head_dim=4, state_size=5, n_groups=2, d_conv=3, chunk=5,
               use_bias=True, use_conv_bias=False, tie=False, time_step_limit=(0.02, 0.6)),
]


def model_checks() -> None:
    for k, args in enumerate(SMALL):
        model = Mamba2(args).double()
        randomise(model, 10 + k)
        ids = torch.randint(0, args.vocab_size, (2, 23), generator=torch.Generator().manual_seed(k))
        with torch.no_grad():
            fast, _ = model(ids)
            ref = naive_forward(model, ids)
            check(f'model {k} (groups {args.n_groups}, d_conv {args.d_conv}, tie {args.tie}) vs token loop, float64',
                  (fast - ref).abs().max().item(), 1e-9)
            # Continue from states taken after 10 and 17 tokens (rows right-padded to 17).
            lens = torch.tensor([10, 17])
            _, st = model(ids[:, :17], lengths=lens)
            for row, n in enumerate(lens.tolist()):
                s_row = [(c[row:row + 1], h[row:row + 1]) for c, h, _ in st]
                cont, _ = model(ids[row:row + 1, n:], states=s_row)
                check(f'  continue row {row} after {n} tokens vs whole', (cont[0] - fast[row, n:]).abs().max().item(), 1e-9)
            one, _ = model(ids[:1, :1])
            check('  one-token sequence', (one[0] - fast[0, :1]).abs().max().item(), 1e-9)
    # float32 (training precision) against float64
    args = SMALL[0]
    m64 = Mamba2(args).double()
    randomise(m64, 3)
    m32 = Mamba2(args)
    m32.load_state_dict({k: v.float() for k, v in m64.state_dict().items()})
    ids = torch.randint(0, args.vocab_size, (3, 40))
    with torch.no_grad():
        d = (m32(ids)[0].double() - m64(ids)[0]).abs().max().item()
    check('float32 model vs float64 model', d, 1e-4)


# ---------------------------------------------------------------- 3. against transformers
def hf_model_from(mine: Mamba2, residual_in_fp32: bool = True):
    """transformers' Mamba2ForCausalLM in float64 holding `mine`'s weights. residual_in_fp32 rounds the residual
    stream to float32 in each block (what the export says; a no-op in float32): False keeps it float64."""
    from transformers import Mamba2Config, Mamba2ForCausalLM

    a = mine.args
    cfg = Mamba2Config(vocab_size=a.vocab_size, hidden_size=a.d_model, num_hidden_layers=a.n_layer,
                       num_heads=a.num_heads, head_dim=a.head_dim, state_size=a.state_size, n_groups=a.n_groups,
                       expand=a.expand, conv_kernel=a.d_conv, chunk_size=a.chunk, layer_norm_epsilon=a.eps,
                       use_bias=a.use_bias, use_conv_bias=a.use_conv_bias, tie_word_embeddings=a.tie,
                       time_step_limit=tuple(a.time_step_limit), residual_in_fp32=residual_in_fp32)
    hf = Mamba2ForCausalLM(cfg).double().eval()
    sd = dict(mine.state_dict())
    if a.tie:
        sd['lm_head.weight'] = sd['backbone.embeddings.weight']
    missing, unexpected = hf.load_state_dict(sd, strict=False)
    if unexpected or [m for m in missing if m != 'lm_head.weight']:
        raise RuntimeError(f'transformers names differ: missing {missing}, unexpected {unexpected}')
    return hf


class PureFloat64:
    """transformers' Mamba-2 in float64 kept in float64 throughout: its RMSNorms normally compute in float32 and
    torch_forward casts x, B, C and A_log with `.float()`; both are patched out here (for float64 tensors only).
    The third float32 island, the residual stream's residual_in_fp32, is a config flag (hf_model_from)."""

    def __enter__(self):
        from transformers.models.mamba2 import modeling_mamba2 as mm

        self.saved = []

        def norm_forward(mod, hidden_states, gate=None):
            x = hidden_states
            if gate is not None:
                x = x * F.silu(gate)
            eps = getattr(mod, 'variance_epsilon', getattr(mod, 'eps', None))
            return mod.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))

        for name in dir(mm):
            cls = getattr(mm, name)
            if isinstance(cls, type) and issubclass(cls, torch.nn.Module) and 'RMSNorm' in name:
                self.saved.append((cls, 'forward', cls.forward))
                cls.forward = norm_forward
        orig_float = torch.Tensor.float
        self.saved.append((torch.Tensor, 'float', orig_float))

        def keep64(t, *args, **kw):
            return t if t.dtype == torch.float64 else orig_float(t, *args, **kw)

        torch.Tensor.float = keep64
        return self

    def __exit__(self, *exc):
        for obj, attr, fn in reversed(self.saved):
            setattr(obj, attr, fn)


def hf_logits(hf, ids):
    """Logits as float64: transformers' head ends in `.float()`, so apply its (tied or untied) head here."""
    hs = hf.backbone(ids, use_cache=False).last_hidden_state
    return hs.double() @ hf.lm_head.weight.double().T


def hf_checks() -> None:
    for k, args in enumerate(SMALL):
        mine = Mamba2(args).double().eval()
        randomise(mine, 20 + k)
        hf = hf_model_from(mine)
        ids = torch.randint(0, args.vocab_size, (2, 29), generator=torch.Generator().manual_seed(5 + k))
        with torch.no_grad():
            ours, _ = mine(ids)
            with PureFloat64():
                pure = hf_logits(hf_model_from(mine, residual_in_fp32=False), ids)
            shipped = hf_logits(hf, ids)
            full = hf(ids, use_cache=False).logits
        scale = max(1.0, pure.abs().max().item())
        check(f'vs transformers Mamba2ForCausalLM, float64 with its float32 islands patched out, model {k}',
              (ours - pure).abs().max().item() / scale, 1e-9)
        check(f'  vs transformers as shipped (float32 inside its norms and casts), relative',
              (ours - shipped).abs().max().item() / scale, 1e-5)
        check('  its own logits equal the head applied here (float32 rounding)',
              (full.double() - shipped).abs().max().item() / scale, 1e-6)


# ---------------------------------------------------------------- 4. the committed fixtures
def load_folder(folder: Path) -> Mamba2:
    cfg = json.loads((folder / 'config.json').read_text())
    model = Mamba2(Mamba2Args.from_hf_config(cfg)).double().eval()
    st = {k: torch.from_numpy(v.astype(np.float64)) for k, v in read_safetensors(folder / 'model.safetensors').items()}
    missing, unexpected = model.load_state_dict(st, strict=False)
    if missing or unexpected:
        raise RuntimeError(f'{folder}: missing {missing}, unexpected {unexpected}')
    return model


def fixture_checks(folders) -> None:
    for folder in folders:
        if not (folder / 'expected.safetensors').exists():
            print(f'FAIL {folder}: no expected.safetensors')
            FAILED.append(str(folder))
            continue
        model = load_folder(folder)
        exp, meta = read_safetensors(folder / 'expected.safetensors', meta=True)
        note = json.loads(meta.get('note', '{}'))
        seqs = note.get('sequences') or [k[:-7] for k in exp if k.endswith('.tokens')]
        states = {}
        for s in seqs:
            ids = torch.from_numpy(exp[f'{s}.tokens'].astype(np.int64))[None]
            with torch.no_grad():
                logits, st = model(ids, lengths=torch.tensor([ids.shape[1]]))
            want = torch.from_numpy(exp[f'{s}.logits'].astype(np.float64))
            check(f'{folder.name} {s} ({ids.shape[1]} tokens) logits, relative',
                  (logits[0] - want).abs().max().item() / max(1.0, want.abs().max().item()), 1e-5)
            states[s] = st
            for layer, (conv, ssm, dsum) in enumerate(st):
                for key, mine in (('ssm_state', ssm[0]), ('conv_state', conv[0]), ('dt_sum', dsum[0])):
                    name = f'{s}.{key}.{layer}'
                    if name in exp:
                        w = torch.from_numpy(exp[name].astype(np.float64))
                        check(f'  {name} {list(w.shape)}, relative', (mine - w).abs().max().item() / max(1.0, w.abs().max().item()), 1e-5)
            if f'{s}.greedy' in exp:
                cur, got = ids, []
                with torch.no_grad():
                    for _ in range(len(exp[f'{s}.greedy'])):
                        nxt = int(model(cur)[0][0, -1].argmax())
                        got.append(nxt)
                        cur = torch.cat([cur, torch.tensor([[nxt]])], 1)
                same = got == exp[f'{s}.greedy'].tolist()
                print(f'{"PASS" if same else "FAIL"} {folder.name} {s} greedy continuation of {len(got)} tokens equal')
                if not same:
                    FAILED.append(f'{folder.name} {s} greedy')
        if 'mix.query_logits' in exp:
            src = [seqs[i] for i in exp['mix.sources'].tolist()]
            wts = exp['mix.weights'].astype(np.float64).tolist()
            mixed = [(sum(w * states[s][l][0] for s, w in zip(src, wts)), sum(w * states[s][l][1] for s, w in zip(src, wts)))
                     for l in range(model.args.n_layer)]
            q = torch.from_numpy(exp['mix.query_tokens'].astype(np.int64))[None]
            with torch.no_grad():
                got = model(q, states=mixed)[0][0]
            want = torch.from_numpy(exp['mix.query_logits'].astype(np.float64))
            check(f'{folder.name} mix {src} x {wts} then {q.shape[1]} query tokens, relative',
                  (got - want).abs().max().item() / max(1.0, want.abs().max().item()), 1e-5)
        if 'adecay.query_logits' in exp:
            src = [seqs[i] for i in exp['mix.sources'].tolist()]
            composed = []
            for l, blk in enumerate(model.backbone.layers):
                A = -torch.exp(blk.mixer.A_log)
                h = 0
                for i, s in enumerate(src):
                    later = sum((states[t][l][2][0] for t in src[i + 1:]), torch.zeros_like(A))
                    h = h + torch.exp(A * later)[:, None, None] * states[s][l][1]
                want = torch.from_numpy(exp[f'adecay.ssm_state.{l}'].astype(np.float64))
                check(f'{folder.name} adecay.ssm_state.{l}, relative', (h[0] - want).abs().max().item() / max(1.0, want.abs().max().item()), 1e-5)
                composed.append((states[src[-1]][l][0], h))
            q = torch.from_numpy(exp['mix.query_tokens'].astype(np.int64))[None]
            with torch.no_grad():
                got = model(q, states=composed)[0][0]
            want = torch.from_numpy(exp['adecay.query_logits'].astype(np.float64))
            check(f'{folder.name} adecay {src} then the query, relative',
                  (got - want).abs().max().item() / max(1.0, want.abs().max().item()), 1e-5)


def main() -> None:
    require_hf = '--require-hf' in sys.argv
    torch.set_num_threads(max(1, min(8, os.cpu_count() or 1)))
    scan_checks()
    model_checks()
    try:
        import transformers  # noqa: F401
        have_hf = True
    except ImportError:
        have_hf = False
    if have_hf:
        hf_checks()
    else:
        print(('FAIL' if require_hf else 'SKIP') + ' transformers is not installed: no check against Mamba2ForCausalLM')
        if require_hf:
            FAILED.append('transformers missing')
    root = HERE.parent / 'tests' / 'fixtures'
    folders = [root / n for n in ('m2-tiny-a', 'm2-tiny-b', 'm2-tiny-c')]
    folders += [Path(p) for p in os.environ.get('M2_FIXTURES', '').split(':') if p]
    fixture_checks(folders)
    if FAILED:
        print(f'FAILED {len(FAILED)} checks: {FAILED}')
        sys.exit(1)
    print('all mamba2_torch checks passed')


if __name__ == '__main__':
    main()
