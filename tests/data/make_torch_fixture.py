#!/usr/bin/env python3
"""PyTorch reference fixtures for the neural trainers (tests/test_neural.cpp, "PyTorch fixture").

Builds three small models in PyTorch (float64), each in its own published convention:
  * the one-layer transformer of Nanda et al. 2023 (their progress-measures code: W_E (d_model,
    d_vocab), W_pos (n_ctx, d_model), per-head W_Q/W_K/W_V (n_heads, d_head, d_model), W_O
    (d_model, n_heads*d_head), MLP W_in/b_in/W_out/b_out, W_U (d_model, d_vocab), causal
    attention on every position, logits of the last position), p = 7, tokens [a, b, =],
    d_model 16, 2 heads, d_mlp 32;
  * the quadratic MLP f(x) = W2 (W1 x)^2 of Mallinar et al. (nn.Linear, bias=False) on one-hot
    pairs of add mod 7, width 16, with MSE (nn.MSELoss on one-hot targets) and cross-entropy;
  * the 2-D embedding model of Musat 2024 (nn.Embedding(N, 2), h = e_a + e_b, nn.Linear(2, 16),
    ReLU, nn.Linear(16, N)), N = 7;
runs one forward and backward on a fixed batch and writes, into tests/data/torch/, the weights
converted to OUR layouts (neural/neural.h: column-major Eigen shapes, saved as .npy of the same
(rows, cols)), the batch, the logits, the loss and every gradient (converted the same way).
Conversions (ours <- PyTorch):
  W_E   (C, Vin)  <- W_E as is                 W_pos (C, T) <- W_pos^T
  W_QKV (3C, C)   <- [W_Q; W_K; W_V] with head h in rows h*HS..(h+1)*HS-1 of each block
                     (W_Q.reshape(n_heads*d_head, d_model): head-major, as Nanda's z_flat)
  W_O, W_in, b_in, W_out, b_out as is          W_U (V, C) <- W_U^T
  embed2d W_E (C, N) <- nn.Embedding.weight^T; nn.Linear weights (out, in) as is.
meta.json holds format_version (checked by the test) and the versions used.

Regenerate (torch is needed only here, never by the test):
    python3 -m venv .venv-torch && .venv-torch/bin/pip install numpy torch
    .venv-torch/bin/python tests/data/make_torch_fixture.py
Two runs give identical bytes (float64 on the CPU, fixed seeds).
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

FORMAT_VERSION = 1
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")
torch.set_default_dtype(torch.float64)


def save(name, a):
    a = a.detach().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    if a.dtype.kind == "f":
        a = np.ascontiguousarray(a, dtype="<f8")
    else:
        a = np.ascontiguousarray(a, dtype="<i8")
    np.save(os.path.join(OUT, name + ".npy"), a)


def pairs_batch(p, B, gen):
    a = torch.randint(0, p, (B,), generator=gen)
    b = torch.randint(0, p, (B,), generator=gen)
    return a, b, (a + b) % p


# --- transformer (Nanda et al. 2023, progress-measures code conventions) ----------------------

def transformer_fixture():
    p, d_model, n_heads, d_mlp, n_ctx, B = 7, 16, 2, 32, 3, 10
    d_head, d_vocab = d_model // n_heads, p + 1
    gen = torch.Generator().manual_seed(1)
    r = lambda *shape, s: (torch.randn(*shape, generator=gen) * s).requires_grad_()
    W = {
        "W_E": r(d_model, d_vocab, s=d_model ** -0.5),
        "W_pos": r(n_ctx, d_model, s=d_model ** -0.5),
        "W_Q": r(n_heads, d_head, d_model, s=d_model ** -0.5),
        "W_K": r(n_heads, d_head, d_model, s=d_model ** -0.5),
        "W_V": r(n_heads, d_head, d_model, s=d_model ** -0.5),
        "W_O": r(d_model, n_heads * d_head, s=d_model ** -0.5),
        "W_in": r(d_mlp, d_model, s=d_model ** -0.5),
        "b_in": r(d_mlp, s=0.1),  # Nanda et al. start the biases at 0; random to test them
        "W_out": r(d_model, d_mlp, s=d_mlp ** -0.5),
        "b_out": r(d_model, s=0.1),
        "W_U": r(d_model, d_vocab, s=d_vocab ** -0.5),
    }
    a, b, y = pairs_batch(p, B, gen)
    x = torch.stack([a, b, torch.full_like(a, p)], dim=1)  # (B, 3)

    resid = torch.einsum("dbp -> bpd", W["W_E"][:, x]) + W["W_pos"][:n_ctx]
    k = torch.einsum("ihd,bpd->biph", W["W_K"], resid)
    q = torch.einsum("ihd,bpd->biph", W["W_Q"], resid)
    v = torch.einsum("ihd,bpd->biph", W["W_V"], resid)
    scores = torch.einsum("biph,biqh->biqp", k, q)
    mask = torch.tril(torch.ones(n_ctx, n_ctx))
    scores = torch.tril(scores) - 1e10 * (1 - mask)
    attn = F.softmax(scores / np.sqrt(d_head), dim=-1)
    z = torch.einsum("biph,biqp->biqh", v, attn)
    z_flat = z.permute(0, 2, 1, 3).reshape(B, n_ctx, n_heads * d_head)  # b q (i h)
    resid = resid + torch.einsum("df,bqf->bqd", W["W_O"], z_flat)
    pre = torch.einsum("md,bpd->bpm", W["W_in"], resid) + W["b_in"]
    resid = resid + torch.einsum("dm,bpm->bpd", W["W_out"], F.relu(pre)) + W["b_out"]
    logits = (resid @ W["W_U"])[:, -1]  # (B, d_vocab)
    loss = F.cross_entropy(logits, y)
    loss.backward()

    def ours(get):  # our parameter layouts from PyTorch tensors (see the docstring)
        qkv = torch.cat([get("W_Q").reshape(d_model, d_model), get("W_K").reshape(d_model, d_model),
                         get("W_V").reshape(d_model, d_model)], dim=0)
        return {"W_E": get("W_E"), "W_pos": get("W_pos").T, "W_QKV": qkv, "W_O": get("W_O"),
                "W_in": get("W_in"), "b_in": get("b_in"), "W_out": get("W_out"),
                "b_out": get("b_out"), "W_U": get("W_U").T}

    for name, t in ours(lambda n: W[n].detach()).items():
        save("tf_" + name, t)
    for name, t in ours(lambda n: W[n].grad).items():
        save("tf_grad_" + name, t)
    save("tf_tokens", x.reshape(-1))
    save("tf_targets", y)
    save("tf_logits", logits)
    save("tf_loss", loss.reshape(1))
    return {"p": p, "T": n_ctx, "Vin": d_vocab, "V": d_vocab, "C": d_model, "NH": n_heads,
            "F": d_mlp, "B": B, "loss": loss.item()}


# --- quadratic MLP (Mallinar et al. App. D) ---------------------------------------------------

def mlp_fixture():
    p, H, B = 7, 16, 10
    D = 2 * p
    gen = torch.Generator().manual_seed(2)
    a, b, y = pairs_batch(p, B, gen)
    x = torch.cat([F.one_hot(a, p), F.one_hot(b, p)], dim=1).double()  # (B, 2p)
    fc1 = torch.nn.Linear(D, H, bias=False)
    fc2 = torch.nn.Linear(H, p, bias=False)
    with torch.no_grad():
        fc1.weight.copy_(torch.randn(H, D, generator=gen) * D ** -0.5)
        fc2.weight.copy_(torch.randn(p, H, generator=gen) * H ** -0.5)
    save("mlp_W1", fc1.weight)
    save("mlp_W2", fc2.weight)
    save("mlp_x", x)  # (B, D): row j is point j (the model takes its transpose, (D, B))
    save("mlp_targets", y)
    losses = {}
    for tag, fn in (("mse", lambda o: F.mse_loss(o, F.one_hot(y, p).double())),
                    ("ce", lambda o: F.cross_entropy(o, y))):
        fc1.zero_grad()
        fc2.zero_grad()
        out = fc2(fc1(x) ** 2)  # (B, p)
        loss = fn(out)
        loss.backward()
        save(f"mlp_{tag}_out", out)
        save(f"mlp_{tag}_loss", loss.reshape(1))
        save(f"mlp_{tag}_grad_W1", fc1.weight.grad)
        save(f"mlp_{tag}_grad_W2", fc2.weight.grad)
        losses[tag] = loss.item()
    return {"p": p, "D": D, "H": H, "V": p, "B": B, "loss_mse": losses["mse"],
            "loss_ce": losses["ce"]}


# --- 2-D embedding model (Musat 2024) ---------------------------------------------------------

def embed2d_fixture():
    N, C, Fh, B = 7, 2, 16, 12
    gen = torch.Generator().manual_seed(3)
    emb = torch.nn.Embedding(N, C)
    fc1, fc2 = torch.nn.Linear(C, Fh), torch.nn.Linear(Fh, N)
    with torch.no_grad():
        emb.weight.copy_(torch.randn(N, C, generator=gen))
        for fc in (fc1, fc2):
            bound = fc.in_features ** -0.5
            fc.weight.copy_((torch.rand(fc.weight.shape, generator=gen) * 2 - 1) * bound)
            fc.bias.copy_((torch.rand(fc.bias.shape, generator=gen) * 2 - 1) * bound)
    a, b, y = pairs_batch(N, B, gen)
    h = emb(a) + emb(b)  # (B, 2)
    logits = fc2(F.relu(fc1(h)))  # (B, N)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    params = {"W_E": emb.weight, "W_1": fc1.weight, "b_1": fc1.bias, "W_2": fc2.weight,
              "b_2": fc2.bias}
    for name, t in params.items():  # W_E: nn.Embedding (N, C) -> ours (C, N)
        save("e2d_" + name, t.T if name == "W_E" else t)
        save("e2d_grad_" + name, t.grad.T if name == "W_E" else t.grad)
    save("e2d_tokens", torch.stack([a, b], dim=1).reshape(-1))
    save("e2d_targets", y)
    save("e2d_logits", logits)
    save("e2d_loss", loss.reshape(1))
    return {"N": N, "C": C, "F": Fh, "B": B, "loss": loss.item()}


def main():
    os.makedirs(OUT, exist_ok=True)
    meta = {
        "format_version": FORMAT_VERSION,
        "script": "tests/data/make_torch_fixture.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "dtype": "float64",
        "transformer": transformer_fixture(),
        "mlp": mlp_fixture(),
        "embed2d": embed2d_fixture(),
    }
    with open(os.path.join(OUT, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    files = sorted(os.listdir(OUT))
    size = sum(os.path.getsize(os.path.join(OUT, n)) for n in files)
    print(f"wrote {len(files)} files, {size / 1024:.1f} KiB, to {OUT}")


if __name__ == "__main__":
    main()
