#!/usr/bin/env python3
"""Seconds per RFM iteration: the authors' published code against rfm, same task and threads.

Runs the RFM loop of nmallinar/rfm-grokking (train_kernel.py's solve, test kernel and AGOP
update with centering, in float64 torch, and the test accuracy) for --iters iterations, then
`rfm grok` on the same task, p, training fraction, seed and thread count, and prints the
median seconds per iteration of both and their ratio. The first iteration of each is left out
of the medians (it allocates). The two draw their random splits differently, so their
accuracy curves are shown side by side but are not expected to agree point by point.

Needs a checkout of the authors' code (--repo) and torch, numpy, scipy, scikit-learn and
matplotlib in the running Python; their wandb and jax imports are stubbed, as this script
only calls their solve and update functions.

    python3 bench/peer_rfm.py --repo PATH [--p 61] [--iters 6] [--threads 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types


def load_peer(repo):
    """The authors' train_kernel module, with the imports this benchmark does not use stubbed."""
    if not os.path.isfile(os.path.join(repo, "train_kernel.py")):
        sys.exit(f"peer_rfm: {repo} has no train_kernel.py (is it a checkout of rfm-grokking?)")
    sys.path.insert(0, os.path.abspath(repo))
    os.environ.setdefault("MPLBACKEND", "Agg")
    sys.modules.setdefault("wandb", types.ModuleType("wandb"))
    sys.modules.setdefault("models.jax_ntk_nngp", types.ModuleType("models.jax_ntk_nngp"))
    try:
        import train_kernel  # noqa: E402  (their module, found through --repo)
    except ImportError as e:
        sys.exit(f"peer_rfm: cannot import the authors' code: {e}")
    return train_kernel


OPERATIONS = {"add": "x+y", "sub": "x-y", "mul": "x*y", "div": "x/y"}


def run_peer(tk, args):
    """Their loop as their main() runs it; returns per-iteration (seconds, test accuracy)."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    inputs, labels = tk.operation_mod_p_data(OPERATIONS[args.task], args.p)
    X_tr, y_tr, X_te, y_te = tk.make_data_splits(inputs, labels, args.frac)
    X_tr = F.one_hot(X_tr, args.p).view(-1, 2 * args.p).double()
    X_te = F.one_hot(X_te, args.p).view(-1, 2 * args.p).double()
    y_tr = F.one_hot(y_tr, args.p).double()
    y_te = F.one_hot(y_te, args.p).double()
    M = torch.eye(X_tr.shape[1]).double()
    rows = []
    for _ in range(args.iters):
        start = time.perf_counter()
        sol, K_train, dist = tk.solve(X_tr, y_tr, M, args.bandwidth, 2, "gaussian", ridge=0.0)
        K_test = tk.get_test_kernel(X_tr, X_te, M, args.bandwidth, 2, "gaussian")
        # Their eval() also sums a per-example loss in a Python loop; the accuracy alone is
        # what rfm computes, so only that is timed.
        test_acc = float((K_test.T @ sol).argmax(-1).eq(y_te.argmax(-1)).double().mean())
        M, _ = tk.update(X_tr, X_tr, args.bandwidth, M, sol, K_train, dist, "gaussian", 2,
                         centers_bsize=-1, centering=True, agop_power=0.5)
        rows.append((time.perf_counter() - start, test_acc))
    return rows


def run_ours(args):
    """rfm grok on the same problem; per-iteration (seconds, test accuracy) from metrics.csv."""
    with tempfile.TemporaryDirectory(prefix="peer-rfm-") as out:
        cmd = [args.rfm, "grok", "--task", args.task, "--p", str(args.p), "--frac",
               str(args.frac), "--seed", str(args.seed), "--iters", str(args.iters),
               "--threads", str(args.threads), "--bandwidth", str(args.bandwidth),
               "--precision", args.precision, "--out", out, "--force", "--quiet"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "metrics.csv")) as f:
            header = f.readline().strip().split(",")
            cols = [line.strip().split(",") for line in f if line.strip()]
    sec, acc = header.index("seconds"), header.index("test_acc")
    return [(float(r[sec]), float(r[acc])) for r in cols]


def median_after_first(rows):
    times = [t for t, _ in rows[1:]] or [rows[0][0]]
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", required=True, help="checkout of nmallinar/rfm-grokking")
    parser.add_argument("--rfm", default="build/rfm", help="the rfm program (build/rfm)")
    parser.add_argument("--task", default="add", choices=sorted(OPERATIONS))
    parser.add_argument("--p", type=int, default=61)
    parser.add_argument("--frac", type=float, default=0.5)
    parser.add_argument("--bandwidth", type=float, default=2.5)
    parser.add_argument("--iters", type=int, default=6, help="iterations of each (6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp64", choices=["fp64", "fp32", "mixed", "auto"],
                        help="rfm's solve precision (theirs is float64)")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    if args.iters < 2:
        sys.exit("peer_rfm: --iters must be >= 2 (the first iteration is not timed)")
    tk = load_peer(args.repo)
    peer = run_peer(tk, args)
    ours = run_ours(args)
    t_peer, t_ours = median_after_first(peer), median_after_first(ours)
    print(f"peer_rfm: {args.task} mod {args.p}, frac {args.frac}, gaussian, seed {args.seed}, "
          f"{args.threads} threads, {args.iters} iterations each (medians without the first)")
    print(" iter  authors s  test_acc     rfm s  test_acc")
    for i, ((tp, ap), (to, ao)) in enumerate(zip(peer, ours)):
        print(f"{i:5d}  {tp:9.4f}  {ap:8.4f}  {to:8.4f}  {ao:8.4f}")
    print(f"median s/iter: authors {t_peer:.4f}, rfm ({args.precision}) {t_ours:.4f}: "
          f"{t_peer / t_ours:.1f}x")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"authors_s": t_peer, "rfm_s": t_ours, "ratio": t_peer / t_ours,
                       "args": vars(args)}, f, indent=1)


if __name__ == "__main__":
    main()
