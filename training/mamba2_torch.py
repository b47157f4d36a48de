"""Mamba-2 in PyTorch, computing what transformers' `Mamba2ForCausalLM` computes, with a chunked SSD scan.

Parameter names and layouts are transformers' (backbone.embeddings.weight, backbone.layers.{i}.norm.weight,
.mixer.in_proj.weight [d_inner + conv_dim + num_heads, d_model] split as z | xBC | dt, .mixer.conv1d.weight
[conv_dim, 1, d_conv] and .bias, .mixer.dt_bias, .mixer.A_log, .mixer.D (one per head), .mixer.norm.weight
[d_inner], .mixer.out_proj.weight, backbone.norm_f.weight, and lm_head.weight only when the head is untied), so
`state_dict()` is the export. One layer, as src/engine/reference/mamba2.ts states it:

    z | xBC | dt = in_proj(rmsnorm(u));  xBC = silu(causal depthwise conv(xBC));  x | B | C = xBC
    Δ = clamp(softplus(dt + dt_bias), time_step_limit);  A = −exp(A_log)            (scalars per head)
    h = exp(Δ·A)·h + Δ·x ⊗ B[group of head];  y = h·C[group] + D·x
    u = u + out_proj(norm.weight · rmsnorm(y · silu(z)))   (the gated norm over ALL of d_inner, as transformers)

The scan is the SSD chunked form (matrix form inside chunks of `chunk` tokens, state passing between chunks),
in float32 (float64 when the model is float64) whatever autocast says; autograd differentiates it.

Per layer the recurrent state is (conv [B, conv_dim, d_conv-1] oldest first, ssm [B, num_heads, head_dim,
state_size]); `forward` can start from a state and, given lengths, returns the state after position lengths[b]-1
of each row and the per-head sum of Δ. Padded positions get Δ = 0, which makes them identity steps of the scan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Mamba2Args:
    vocab_size: int
    d_model: int = 256
    n_layer: int = 8
    head_dim: int = 64
    state_size: int = 64
    n_groups: int = 1
    expand: int = 2
    d_conv: int = 4
    chunk: int = 64
    eps: float = 1e-5
    time_step_limit: tuple = (0.0, math.inf)
    use_bias: bool = False
    use_conv_bias: bool = True
    tie: bool = True

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def num_heads(self) -> int:
        if self.d_inner % self.head_dim:
            raise ValueError(f'expand x d_model = {self.d_inner} is not a multiple of head_dim {self.head_dim}')
        return self.d_inner // self.head_dim

    @property
    def conv_dim(self) -> int:
        return self.d_inner + 2 * self.n_groups * self.state_size

    @classmethod
    def from_hf_config(cls, cfg: dict) -> 'Mamba2Args':
        """From a transformers config.json (time_step_limit as [lo, hi] or [lo, {"__float__": "Infinity"}])."""
        def num(v):
            return float(v['__float__']) if isinstance(v, dict) else float(v)
        hidden, expand = cfg['hidden_size'], cfg.get('expand', 2)
        if cfg['num_heads'] * cfg['head_dim'] != expand * hidden:
            raise ValueError('num_heads x head_dim != expand x hidden_size in the config')
        lim = cfg.get('time_step_limit', [0.0, math.inf])
        return cls(vocab_size=cfg['vocab_size'], d_model=hidden, n_layer=cfg['num_hidden_layers'],
                   head_dim=cfg['head_dim'], state_size=cfg['state_size'], n_groups=cfg.get('n_groups', 1),
                   expand=expand, d_conv=cfg.get('conv_kernel', 4), chunk=cfg.get('chunk_size', 256),
                   eps=cfg.get('layer_norm_epsilon', 1e-5), time_step_limit=(num(lim[0]), num(lim[1])),
                   use_bias=cfg.get('use_bias', False), use_conv_bias=cfg.get('use_conv_bias', True),
                   tie=cfg.get('tie_word_embeddings', True))


def ssd_chunked(x, dt, A, B, C, chunk: int, h0=None):
    """The SSD scan in chunked matrix form. x [b, L, H, P], dt [b, L, H] (Δ, final), A [H] (negative),
    B, C [b, L, G, N], h0 [b, H, P, N] or None. Returns y [b, L, H, P] (no D term) and the final state.

    Inside a chunk, with cum_t the running sum of Δ·A: y_t = Σ_{s≤t} exp(cum_t − cum_s)·(C_t·B_s)·Δ_s·x_s
    + exp(cum_t)·C_t·h_in; the state leaving it is exp(cum_last)·h_in + Σ_s exp(cum_last − cum_s)·Δ_s·x_s ⊗ B_s.
    """
    b, L, H, P = x.shape
    G, N = B.shape[2], B.shape[3]
    rep = H // G
    Q = max(1, min(chunk, L))
    nc = (L + Q - 1) // Q
    pad = nc * Q - L
    if pad:  # Δ = 0 on the padding: identity steps, so the final state is the state after position L-1
        x, B, C = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (x, B, C))
        dt = F.pad(dt, (0, 0, 0, pad))
    x = x.reshape(b, nc, Q, H, P)
    B = B.reshape(b, nc, Q, G, N)
    C = C.reshape(b, nc, Q, G, N)
    dth = dt.reshape(b, nc, Q, H).permute(0, 1, 3, 2)  # [b, nc, H, Q]
    cum = torch.cumsum(dth * A.view(1, 1, H, 1), dim=-1)  # [b, nc, H, Q]

    # Intra-chunk (diagonal blocks): M[l, s] = exp(cum_l − cum_s)·(C_l·B_s)·Δ_s for s ≤ l.
    CB = torch.einsum('bclgn,bcsgn->bcgls', C, B).repeat_interleave(rep, dim=2)  # [b, nc, H, Q, Q]
    causal = torch.ones(Q, Q, dtype=torch.bool, device=x.device).tril()
    seg = (cum.unsqueeze(-1) - cum.unsqueeze(-2)).masked_fill(~causal, -math.inf)  # exp of the mask is 0
    M = CB * torch.exp(seg) * dth.unsqueeze(-2)
    y = torch.einsum('bchls,bcshp->bclhp', M, x)

    # The state each chunk adds, then the pass over chunks (few, so a loop).
    w = torch.exp(cum[..., -1:] - cum) * dth  # [b, nc, H, Q]
    Bh = B.repeat_interleave(rep, dim=3)  # [b, nc, Q, H, N]
    S = torch.einsum('bchs,bcshp,bcshn->bchpn', w, x, Bh)
    h = h0.to(x.dtype) if h0 is not None else x.new_zeros(b, H, P, N)
    decay = torch.exp(cum[..., -1])  # [b, nc, H]
    entering = []
    for c in range(nc):
        entering.append(h)
        h = decay[:, c, :, None, None] * h + S[:, c]
    hin = torch.stack(entering, 1)  # [b, nc, H, P, N]
    Ch = C.repeat_interleave(rep, dim=3)  # [b, nc, Q, H, N]
    y = y + torch.einsum('bclhn,bchpn->bclhp', Ch, hin) * torch.exp(cum).permute(0, 1, 3, 2).unsqueeze(-1)
    return y.reshape(b, nc * Q, H, P)[:, :L], h


def ssd_sequential(x, dt, A, B, C, h0=None):
    """The same recurrence token by token (the oracle of ssd_chunked in the tests)."""
    b, L, H, P = x.shape
    rep = H // B.shape[2]
    h = h0.clone() if h0 is not None else x.new_zeros(b, H, P, B.shape[3])
    ys = []
    for t in range(L):
        Bt = B[:, t].repeat_interleave(rep, dim=1)  # [b, H, N]
        Ct = C[:, t].repeat_interleave(rep, dim=1)
        h = torch.exp(dt[:, t] * A)[:, :, None, None] * h + (dt[:, t, :, None] * x[:, t])[..., None] * Bt[:, :, None]
        ys.append((h * Ct[:, :, None]).sum(-1))
    return torch.stack(ys, 1), h


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x, gate=None):
        x = x.to(self.weight.dtype)
        if gate is not None:  # transformers' MambaRMSNormGated: the gate before the norm, no groups
            x = x * F.silu(gate.to(x.dtype))
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Mixer(nn.Module):
    def __init__(self, args: Mamba2Args):
        super().__init__()
        self.args = args
        H, K = args.num_heads, args.d_conv
        self.in_proj = nn.Linear(args.d_model, args.d_inner + args.conv_dim + H, bias=args.use_bias)
        self.conv1d = nn.Conv1d(args.conv_dim, args.conv_dim, K, groups=args.conv_dim, padding=K - 1,
                                bias=args.use_conv_bias)
        self.dt_bias = nn.Parameter(torch.zeros(H))
        self.A_log = nn.Parameter(torch.zeros(H))
        self.D = nn.Parameter(torch.ones(H))
        self.norm = RMSNorm(args.d_inner, args.eps)
        self.out_proj = nn.Linear(args.d_inner, args.d_model, bias=args.use_bias)

    def forward(self, u, state=None, lengths=None, chunk=None):
        a = self.args
        ct = self.A_log.dtype  # float32 in training (whatever autocast does to the projections), float64 in tests
        Bsz, L, _ = u.shape
        H, P, G, N, K = a.num_heads, a.head_dim, a.n_groups, a.state_size, a.d_conv
        z, xbc, dt = self.in_proj(u).to(ct).split([a.d_inner, a.conv_dim, H], dim=-1)
        xt = xbc.transpose(1, 2)  # [B, conv_dim, L]
        conv0 = state[0] if state is not None else xt.new_zeros(Bsz, a.conv_dim, K - 1)
        xpad = torch.cat([conv0.to(ct), xt], 2)  # [B, conv_dim, K-1+L]
        # The depthwise conv as K shifted products (elementwise, so autocast leaves it in float32).
        w = self.conv1d.weight.to(ct)[:, 0]  # [conv_dim, K]
        acc = sum(w[:, j, None] * xpad[:, :, j:j + L] for j in range(K))
        if self.conv1d.bias is not None:
            acc = acc + self.conv1d.bias.to(ct)[:, None]
        x, Bm, Cm = F.silu(acc).transpose(1, 2).split([a.d_inner, G * N, G * N], dim=-1)
        lo, hi = a.time_step_limit
        delta = F.softplus(dt + self.dt_bias.to(ct)).clamp(min=lo, max=hi)  # [B, L, H]
        if lengths is not None:  # identity steps past each row's end
            delta = delta * (torch.arange(L, device=u.device).view(1, L, 1) < lengths.view(Bsz, 1, 1)).to(ct)
        A = -torch.exp(self.A_log.to(ct))
        xh = x.reshape(Bsz, L, H, P)
        with torch.autocast(device_type=u.device.type, enabled=False):
            y, h = ssd_chunked(xh, delta, A, Bm.reshape(Bsz, L, G, N), Cm.reshape(Bsz, L, G, N),
                               chunk or a.chunk, None if state is None else state[1])
        y = (y + self.D.to(ct).view(1, 1, H, 1) * xh).reshape(Bsz, L, a.d_inner)
        out = self.out_proj(self.norm(y, z))
        new_state = None
        if lengths is not None:
            gidx = lengths.view(Bsz, 1, 1) + torch.arange(K - 1, device=u.device).view(1, 1, K - 1)
            conv = torch.gather(xpad, 2, gidx.expand(Bsz, a.conv_dim, K - 1))
            new_state = (conv, h, delta.sum(1))
        return out, new_state


class Block(nn.Module):
    def __init__(self, args: Mamba2Args):
        super().__init__()
        self.norm = RMSNorm(args.d_model, args.eps)
        self.mixer = Mixer(args)


class Backbone(nn.Module):
    def __init__(self, args: Mamba2Args):
        super().__init__()
        self.embeddings = nn.Embedding(args.vocab_size, args.d_model)
        self.layers = nn.ModuleList([Block(args) for _ in range(args.n_layer)])
        self.norm_f = RMSNorm(args.d_model, args.eps)


class Mamba2(nn.Module):
    def __init__(self, args: Mamba2Args):
        super().__init__()
        self.args = args
        self.backbone = Backbone(args)
        if not args.tie:
            self.lm_head = nn.Linear(args.d_model, args.vocab_size, bias=False)
        self._init()

    def _init(self):
        """mamba_ssm's Mamba-2 initialisation: Δ from log-uniform [1e-3, 1e-1] through the inverse softplus,
        A uniform in [1, 16], D = 1, out_proj scaled by 1/sqrt(n_layer), embeddings N(0, 0.02)."""
        a = self.args
        nn.init.normal_(self.backbone.embeddings.weight, std=0.02)
        with torch.no_grad():
            for blk in self.backbone.layers:
                m = blk.mixer
                H = a.num_heads
                dt = torch.exp(torch.rand(H) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3)).clamp(min=1e-4)
                m.dt_bias.copy_(dt + torch.log(-torch.expm1(-dt)))
                m.A_log.copy_(torch.log(torch.empty(H).uniform_(1, 16)))
                m.D.fill_(1.0)
                m.out_proj.weight /= math.sqrt(a.n_layer)
                for lin in (m.in_proj, m.out_proj):
                    if lin.bias is not None:
                        lin.bias.zero_()

    def head_weight(self):
        return self.backbone.embeddings.weight if self.args.tie else self.lm_head.weight

    def forward(self, ids, states=None, lengths=None, chunk=None):
        """ids [B, L] -> logits [B, L, V] (float32, float64 for a float64 model) and, given lengths, per layer
        (conv, ssm, dt_sum)."""
        ct = self.backbone.norm_f.weight.dtype
        hs = self.backbone.embeddings(ids).to(ct)
        new_states = []
        for i, blk in enumerate(self.backbone.layers):
            y, st = blk.mixer(blk.norm(hs), None if states is None else states[i], lengths, chunk)
            hs = hs + y.to(ct)  # residual_in_fp32
            new_states.append(st)
        logits = F.linear(self.backbone.norm_f(hs), self.head_weight())
        return logits.to(ct), (new_states if lengths is not None else None)

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        return dict(self.state_dict())

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
