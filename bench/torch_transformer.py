#!/usr/bin/env python3
"""Seconds per training epoch of Nanda et al.'s one-layer transformer in PyTorch, to put beside
`rfm bench --cases transformer113` (the same model, data size and optimiser in our C++).

Model (docs/algorithms.md 5.2; Nanda et al. 2023's progress-measures code): p = 113, tokens
[a, b, =] (vocabulary 114), d_model 128, 4 heads of 32, d_mlp 512, ReLU, no LayerNorm, learned
positions, causal attention, unembedding of the last position, cross-entropy; full batch of
int(0.3 * p^2) = 3830 pairs; AdamW lr 1e-3, weight decay 1, betas (0.9, 0.98); float32.
One epoch = forward + backward + optimiser step (no evaluation), timed after --warmup untimed
epochs; the median of --epochs timed epochs is reported, per phase.

--last-only runs the MLP and unembedding on the last position only, as our C++ does (exact for
one layer: only the last position's residual stream reaches the loss); without it the model is
Nanda et al.'s, which computes them on all three positions. Both are worth printing.

Usage (torch on the CPU; the same thread count as `rfm bench --threads 2`):
    python3 -m venv .venv-torch && .venv-torch/bin/pip install numpy torch
    .venv-torch/bin/python bench/torch_transformer.py --threads 2
    .venv-torch/bin/python bench/torch_transformer.py --threads 2 --last-only
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Transformer(nn.Module):
    def __init__(self, p, d_model, n_heads, d_mlp, n_ctx, last_only):
        super().__init__()
        d_vocab, d_head = p + 1, d_model // n_heads
        self.n_heads, self.d_head, self.last_only = n_heads, d_head, last_only
        r = lambda *shape, s: nn.Parameter(torch.randn(*shape) * s)
        self.W_E = r(d_model, d_vocab, s=d_model ** -0.5)
        self.W_pos = r(n_ctx, d_model, s=d_model ** -0.5)
        self.W_Q = r(n_heads, d_head, d_model, s=d_model ** -0.5)
        self.W_K = r(n_heads, d_head, d_model, s=d_model ** -0.5)
        self.W_V = r(n_heads, d_head, d_model, s=d_model ** -0.5)
        self.W_O = r(d_model, n_heads * d_head, s=d_model ** -0.5)
        self.W_in = r(d_mlp, d_model, s=d_model ** -0.5)
        self.b_in = nn.Parameter(torch.zeros(d_mlp))
        self.W_out = r(d_model, d_mlp, s=d_model ** -0.5)
        self.b_out = nn.Parameter(torch.zeros(d_model))
        self.W_U = r(d_model, d_vocab, s=d_vocab ** -0.5)
        self.register_buffer("mask", torch.tril(torch.ones(n_ctx, n_ctx)))

    def forward(self, x):  # x (B, n_ctx) -> logits of the last position (B, d_vocab)
        n_ctx = x.shape[1]
        resid = torch.einsum("dbp -> bpd", self.W_E[:, x]) + self.W_pos[:n_ctx]
        k = torch.einsum("ihd,bpd->biph", self.W_K, resid)
        q = torch.einsum("ihd,bpd->biph", self.W_Q, resid)
        v = torch.einsum("ihd,bpd->biph", self.W_V, resid)
        scores = torch.einsum("biph,biqh->biqp", k, q)
        scores = torch.tril(scores) - 1e10 * (1 - self.mask[:n_ctx, :n_ctx])
        attn = F.softmax(scores / self.d_head ** 0.5, dim=-1)
        z = torch.einsum("biph,biqp->biqh", v, attn)
        z_flat = z.permute(0, 2, 1, 3).reshape(x.shape[0], n_ctx, -1)
        resid = resid + torch.einsum("df,bqf->bqd", self.W_O, z_flat)
        if self.last_only:
            resid = resid[:, -1:]
        pre = torch.einsum("md,bpd->bpm", self.W_in, resid) + self.b_in
        resid = resid + torch.einsum("dm,bpm->bpd", self.W_out, F.relu(pre)) + self.b_out
        return (resid @ self.W_U)[:, -1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=20, help="timed epochs")
    ap.add_argument("--warmup", type=int, default=3, help="untimed epochs first")
    ap.add_argument("--p", type=int, default=113)
    ap.add_argument("--frac", type=float, default=0.3)
    ap.add_argument("--last-only", action="store_true",
                    help="MLP and unembedding on the last position only (as our C++)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    p = a.p
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    idx = torch.randperm(p * p)[: int(a.frac * p * p)]
    x = torch.cat([pairs[idx], torch.full((len(idx), 1), p)], dim=1)  # (n, 3): [a, b, =]
    y = (x[:, 0] + x[:, 1]) % p
    model = Transformer(p, 128, 4, 512, 3, a.last_only)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0, betas=(0.9, 0.98))
    times = {"forward": [], "backward": [], "update": [], "epoch": []}
    for e in range(a.warmup + a.epochs):
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if e >= a.warmup:
            for k, v in zip(times, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
                times[k].append(v)
    n_par = sum(q.numel() for q in model.parameters())
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; transformer add mod {p}, "
          f"{len(x)} training pairs (full batch), d_model 128, 4 heads, d_mlp 512, {n_par} "
          f"parameters, fp32, AdamW; MLP and unembedding on "
          f"{'the last position' if a.last_only else 'all 3 positions (Nanda et al.)'}")
    print(f"  {'phase':8s} {'median s':>9s}")
    for k, v in times.items():
        print(f"  {k:8s} {statistics.median(v):9.4f}")
    print(f"  {a.epochs} epochs timed after {a.warmup} warm-up; final loss {loss.item():.4f}")


if __name__ == "__main__":
    main()
