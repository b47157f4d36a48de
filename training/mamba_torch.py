"""Mamba-1 in PyTorch, computing exactly what Hugging Face `MambaForCausalLM` computes, with a fast scan.

Parameter names and layouts are those of the HF checkpoint (backbone.embeddings.weight,
backbone.layers.{i}.norm.weight, .mixer.in_proj.weight, .mixer.conv1d.weight [d_inner, 1, d_conv],
.mixer.conv1d.bias, .mixer.x_proj.weight, .mixer.dt_proj.weight/.bias, .mixer.A_log, .mixer.D,
.mixer.out_proj.weight, backbone.norm_f.weight; the LM head is tied to the embedding), so `state_dict()` is the
export. The HF slow path loops over tokens in Python; here the recurrence h_t = a_t * h_{t-1} + b_t is a chunked
scan (sequential inside chunks of `chunk` steps, all chunks at once, then one carry pass), in float32 always,
with a hand-written backward (one reverse scan) so autograd stores only a and h.

Per layer the recurrent state is (conv [B, d_inner, d_conv-1] oldest first, ssm [B, d_inner, d_state]), the
fixtures' layout; `forward` can start from a state and return the state after position lengths[b]-1 of each row.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class MambaArgs:
    vocab_size: int
    d_model: int
    n_layer: int
    d_state: int = 16
    expand: int = 2
    d_conv: int = 4
    dt_rank: int = 0  # 0 -> ceil(d_model / 16), as HF "auto"
    eps: float = 1e-5

    @property
    def d_inner(self) -> int:
        return self.expand * self.d_model

    @property
    def rank(self) -> int:
        return self.dt_rank or math.ceil(self.d_model / 16)


def _scan_fwd(a: torch.Tensor, b: torch.Tensor, h0: torch.Tensor | None, chunk: int) -> torch.Tensor:
    """h_t = a_t * h_{t-1} + b_t along dim 1 of [B, L, ...]; h_{-1} = h0 (zeros if None)."""
    Bsz, L = a.shape[:2]
    rest = a.shape[2:]
    T = max(1, min(chunk, L))
    C = (L + T - 1) // T
    pad = C * T - L
    if pad:
        a = torch.cat([a, a.new_ones((Bsz, pad, *rest))], 1)
        b = torch.cat([b, b.new_zeros((Bsz, pad, *rest))], 1)
    a4 = a.reshape(Bsz, C, T, *rest)
    b4 = b.reshape(Bsz, C, T, *rest)
    h = torch.empty_like(b4)
    P = torch.empty_like(a4)
    h[:, :, 0] = b4[:, :, 0]
    P[:, :, 0] = a4[:, :, 0]
    for t in range(1, T):
        h[:, :, t] = torch.addcmul(b4[:, :, t], a4[:, :, t], h[:, :, t - 1])
        P[:, :, t] = a4[:, :, t] * P[:, :, t - 1]
    # State entering each chunk, sequential over chunks (C is small).
    carry = h0 if h0 is not None else a.new_zeros((Bsz, *rest))
    carries = []
    for c in range(C):
        carries.append(carry)
        carry = torch.addcmul(h[:, c, T - 1], P[:, c, T - 1], carry)
    cin = torch.stack(carries, 1).unsqueeze(2)  # [B, C, 1, ...]
    h = torch.addcmul(h, P, cin)
    return h.reshape(Bsz, C * T, *rest)[:, :L]


class LinearScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b, h0, chunk):  # type: ignore[override]
        h = _scan_fwd(a, b, h0, chunk)
        ctx.chunk = chunk
        ctx.has_h0 = h0 is not None
        ctx.save_for_backward(a, h, h0 if h0 is not None else h)
        return h

    @staticmethod
    def backward(ctx, gh):  # type: ignore[override]
        a, h, h0 = ctx.saved_tensors
        # g_t = dL/dh_t (total) = gh_t + a_{t+1} g_{t+1}: the same scan run backwards in time.
        a_next = torch.cat([a[:, 1:], a.new_zeros(a[:, :1].shape)], 1)
        g = _scan_fwd(a_next.flip(1), gh.contiguous().flip(1), None, ctx.chunk).flip(1)
        if ctx.has_h0:
            h_prev = torch.cat([h0.unsqueeze(1), h[:, :-1]], 1)
        else:
            h_prev = torch.cat([h.new_zeros(h[:, :1].shape), h[:, :-1]], 1)
        grad_a = g * h_prev
        grad_h0 = (a[:, 0] * g[:, 0]) if ctx.has_h0 else None
        return grad_a, g, grad_h0, None


def linear_scan(a, b, h0=None, chunk: int = 16):
    return LinearScan.apply(a, b, h0, chunk)


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        x = x.float()
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Mixer(nn.Module):
    def __init__(self, args: MambaArgs):
        super().__init__()
        D, N, R = args.d_inner, args.d_state, args.rank
        self.args = args
        self.in_proj = nn.Linear(args.d_model, 2 * D, bias=False)
        self.conv1d = nn.Conv1d(D, D, args.d_conv, groups=D, padding=args.d_conv - 1, bias=True)
        self.x_proj = nn.Linear(D, R + 2 * N, bias=False)
        self.dt_proj = nn.Linear(R, D, bias=True)
        self.A_log = nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=torch.float32)).repeat(D, 1))
        self.D = nn.Parameter(torch.ones(D))
        self.out_proj = nn.Linear(D, args.d_model, bias=False)

    def forward(self, u, state=None, lengths=None, chunk: int = 16):
        """u [B, L, d_model] (normed). state: (conv [B, D, K-1], ssm [B, D, N]) or None.
        Returns y [B, L, d_model] and, if lengths is given, the state after position lengths[b]-1."""
        args = self.args
        Bsz, L, _ = u.shape
        K = args.d_conv
        xz = self.in_proj(u)
        x, z = xz.float().chunk(2, dim=-1)  # [B, L, D]
        xt = x.transpose(1, 2)  # [B, D, L]
        conv0 = state[0] if state is not None else xt.new_zeros((Bsz, args.d_inner, K - 1))
        xpad = torch.cat([conv0.to(xt.dtype), xt], 2)  # [B, D, K-1+L]
        w = self.conv1d.weight.float()
        xc = F.conv1d(xpad, w, self.conv1d.bias.float(), groups=args.d_inner)  # [B, D, L]
        xc = F.silu(xc).transpose(1, 2)  # [B, L, D]
        dbc = self.x_proj(xc)
        R, N = args.rank, args.d_state
        dt, Bm, Cm = dbc.float().split([R, N, N], dim=-1)
        delta = F.softplus(self.dt_proj(dt).float())  # [B, L, D]
        A = -torch.exp(self.A_log.float())  # [D, N]
        a = torch.exp(delta.unsqueeze(-1) * A)  # [B, L, D, N]
        b = (delta * xc).unsqueeze(-1) * Bm.unsqueeze(2)  # [B, L, D, N]
        h0 = state[1] if state is not None else None
        h = linear_scan(a, b, h0, chunk)
        # Elementwise product and sum rather than a matmul, so autocast cannot move the readout to bf16.
        y = (h * Cm.unsqueeze(2)).sum(-1) + xc * self.D.float()
        y = y * F.silu(z)
        out = self.out_proj(y)
        new_state = None
        if lengths is not None:
            idx = (lengths - 1).clamp(min=0)
            ar = torch.arange(Bsz, device=u.device)
            ssm = h[ar, idx]  # [B, D, N]
            # conv state after reading lengths[b] tokens: xpad[:, :, lengths[b] : lengths[b]+K-1]
            gidx = lengths.view(Bsz, 1, 1) + torch.arange(K - 1, device=u.device).view(1, 1, K - 1)
            conv = torch.gather(xpad, 2, gidx.expand(Bsz, args.d_inner, K - 1))
            dsum = (delta * (torch.arange(L, device=u.device).view(1, L, 1) < lengths.view(Bsz, 1, 1))).sum(1)
            new_state = (conv, ssm, dsum)
        return out, new_state


class Block(nn.Module):
    def __init__(self, args: MambaArgs):
        super().__init__()
        self.norm = RMSNorm(args.d_model, args.eps)
        self.mixer = Mixer(args)


class Backbone(nn.Module):
    def __init__(self, args: MambaArgs):
        super().__init__()
        self.embeddings = nn.Embedding(args.vocab_size, args.d_model)
        self.layers = nn.ModuleList([Block(args) for _ in range(args.n_layer)])
        self.norm_f = RMSNorm(args.d_model, args.eps)


class Mamba(nn.Module):
    def __init__(self, args: MambaArgs):
        super().__init__()
        self.args = args
        self.backbone = Backbone(args)
        self._init()

    def _init(self):
        """The reference Mamba initialisation (dt bias from log-uniform [1e-3, 1e-1], S4D-real A, D = 1,
        out_proj scaled by 1/sqrt(n_layer), embeddings N(0, 0.02))."""
        args = self.args
        nn.init.normal_(self.backbone.embeddings.weight, std=0.02)
        for blk in self.backbone.layers:
            m = blk.mixer
            std = args.rank**-0.5
            nn.init.uniform_(m.dt_proj.weight, -std, std)
            dt = torch.exp(torch.rand(args.d_inner) * (math.log(0.1) - math.log(1e-3)) + math.log(1e-3))
            dt = dt.clamp(min=1e-4)
            with torch.no_grad():
                m.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
                m.out_proj.weight /= math.sqrt(args.n_layer)

    def forward(self, ids, states=None, lengths=None, chunk: int = 16):
        """ids [B, L] -> logits [B, L, V] (float32) and, if lengths given, per-layer (conv, ssm, dt_sum)."""
        hs = self.backbone.embeddings(ids)
        new_states = []
        for i, blk in enumerate(self.backbone.layers):
            residual = hs.float()
            y, st = blk.mixer(blk.norm(hs), None if states is None else states[i], lengths, chunk)
            hs = residual + y.float()
            new_states.append(st)
        hs = self.backbone.norm_f(hs)
        logits = F.linear(hs, self.backbone.embeddings.weight)
        return logits.float(), (new_states if lengths is not None else None)

    def hf_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items()}

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def naive_forward(model: Mamba, ids: torch.Tensor) -> torch.Tensor:
    """Token-by-token float64 re-statement of the HF slow path, for tests of the fast forward."""
    args = model.args
    sd = {k: v.double() for k, v in model.state_dict().items()}
    Bsz, L = ids.shape
    D, N, K, R = args.d_inner, args.d_state, args.d_conv, args.rank
    hs = sd['backbone.embeddings.weight'][ids]
    for i in range(args.n_layer):
        p = f'backbone.layers.{i}.'
        x0 = hs
        hn = x0 * torch.rsqrt(x0.pow(2).mean(-1, keepdim=True) + args.eps) * sd[p + 'norm.weight']
        xz = hn @ sd[p + 'mixer.in_proj.weight'].T
        x, z = xz[..., :D], xz[..., D:]
        conv = torch.zeros(Bsz, D, K, dtype=torch.float64)
        h = torch.zeros(Bsz, D, N, dtype=torch.float64)
        ys = []
        A = -torch.exp(sd[p + 'mixer.A_log'])
        for t in range(L):
            conv = torch.cat([conv[:, :, 1:], x[:, t].unsqueeze(-1)], 2)
            xc = (conv * sd[p + 'mixer.conv1d.weight'][:, 0]).sum(-1) + sd[p + 'mixer.conv1d.bias']
            xc = xc * torch.sigmoid(xc)
            dbc = xc @ sd[p + 'mixer.x_proj.weight'].T
            dt, Bm, Cm = dbc[:, :R], dbc[:, R:R + N], dbc[:, R + N:]
            delta = F.softplus(dt @ sd[p + 'mixer.dt_proj.weight'].T + sd[p + 'mixer.dt_proj.bias'])
            h = torch.exp(delta.unsqueeze(-1) * A) * h + (delta * xc).unsqueeze(-1) * Bm.unsqueeze(1)
            y = (h * Cm.unsqueeze(1)).sum(-1) + sd[p + 'mixer.D'] * xc
            zt = z[:, t]
            ys.append(y * zt * torch.sigmoid(zt))
        y = torch.stack(ys, 1)
        hs = x0 + y @ sd[p + 'mixer.out_proj.weight'].T
    hs = hs * torch.rsqrt(hs.pow(2).mean(-1, keepdim=True) + args.eps) * sd['backbone.norm_f.weight']
    return hs @ sd['backbone.embeddings.weight'].T
