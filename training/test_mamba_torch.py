"""Checks of mamba_torch (CPU is enough): the chunked scan and its backward against autograd through a plain
loop, the fast forward against a token-by-token float64 restatement of the HF slow path, and that continuing
from a returned state equals reading the whole sequence. Run: python3 training/test_mamba_torch.py"""
import sys

import torch

sys.path.insert(0, __file__.rsplit('/', 1)[0])
from mamba_torch import Mamba, MambaArgs, linear_scan, naive_forward  # noqa: E402


def loop_scan(a, b, h0):
    h = h0 if h0 is not None else torch.zeros_like(a[:, 0])
    out = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, 1)


def check(name, err, tol):
    print(f'{name}: max abs diff {err:.3e} (tol {tol:g})')
    if not err <= tol:
        raise SystemExit(f'FAIL {name}')


def main():
    torch.manual_seed(0)
    for L, chunk, with_h0 in ((37, 8, True), (16, 16, False), (5, 16, True), (64, 4, False)):
        a = torch.rand(2, L, 3, 4, dtype=torch.float64, requires_grad=True)
        b = torch.randn(2, L, 3, 4, dtype=torch.float64, requires_grad=True)
        h0 = torch.randn(2, 3, 4, dtype=torch.float64, requires_grad=True) if with_h0 else None
        w = torch.randn(2, L, 3, 4, dtype=torch.float64)
        h1 = linear_scan(a, b, h0, chunk)
        h2 = loop_scan(a, b, h0)
        check(f'scan L={L} chunk={chunk}', (h1 - h2).abs().max().item(), 1e-12)
        inputs = [a, b] + ([h0] if with_h0 else [])
        g1 = torch.autograd.grad((h1 * w).sum(), inputs)
        g2 = torch.autograd.grad((h2 * w).sum(), inputs)
        for i, (x, y) in enumerate(zip(g1, g2)):
            check(f'  grad {i}', (x - y).abs().max().item(), 1e-10)

    args = MambaArgs(vocab_size=50, d_model=16, n_layer=2, d_state=4)
    model = Mamba(args)
    with torch.no_grad():  # make A_log, D and the norms non-trivial
        for n, p in model.named_parameters():
            if 'A_log' in n or n.endswith('.D') or 'norm' in n:
                p.add_(0.1 * torch.randn_like(p))
    ids = torch.randint(0, 50, (2, 23))
    ref = naive_forward(model, ids)
    with torch.no_grad():
        fast, _ = model(ids, chunk=8)
    # The fast path keeps the scan in float32 by design; compare at float32 precision.
    check('forward vs naive float64', (fast.double() - ref).abs().max().item(), 1e-4)

    with torch.no_grad():
        full, _ = model(ids)
        lens = torch.tensor([10, 15])
        _, st = model(ids[:, :15], lengths=lens)
        # Row 0 continues after 10 tokens, row 1 after 15: feed each its own remainder separately.
        for row, n in enumerate(lens.tolist()):
            s_row = [(c[row:row + 1], h[row:row + 1]) for c, h, _ in st]
            cont, _ = model(ids[row:row + 1, n:], states=s_row)
            check(f'continue row {row} after {n}', (cont[0] - full[row, n:]).abs().max().item(), 1e-4)
    print('all mamba_torch checks passed')


if __name__ == '__main__':
    main()
