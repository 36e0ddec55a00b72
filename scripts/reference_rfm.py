#!/usr/bin/env python3
"""Independent NumPy reference of the Recursive Feature Machine (test oracle).

Follows docs/algorithms.md 1.1, 1.3, 2.1-2.3, 2.7 and 3.1-3.3 literally, in float64 with dense
matrices, the way the published research code (Mallinar et al., arXiv 2407.20199) works. It is
deliberately plain: the Gram matrix is built from explicit (x - z)^T M (x - z) and the Jacobians
are direct sums over the training points, so it can serve as an oracle for the C++ engine.

    python3 scripts/reference_rfm.py --out tests/data          # write the fixtures
    python3 scripts/reference_rfm.py --curve 61 --iters 30     # p = 61 learning curve + timing

Only NumPy is needed. Conventions (see tests/data/README.md, "Reference RFM fixtures"):
  * Jacobian J(x) in R^{d x c}, J[k, c] = d f_c / d x_k; f_c(x) = sum_i alpha[i, c] k(x, x_i).
  * AGOP G = (1/m) sum_j Jt_j Jt_j^T with Jt_j = J_j - mean_l J_l when centering is on.
  * M_{t+1} = G^{1/2} by symmetric eigendecomposition, negative eigenvalues clamped to 0.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

KERNELS = ("gaussian", "gaussian_paper", "laplace", "quadratic")
KERNEL_ID = {k: i for i, k in enumerate(KERNELS)}
OPS = ("add", "sub", "mul", "div")

# Laplace: a training point at Mahalanobis distance below this from the evaluation point is a
# "self pair" and contributes 0 to the gradient (the published code uses the same 1e-10 cut-off
# on the distance, not on its square).
LAPLACE_ZERO_DIST = 1e-10


# ------------------------------------------------------------------------------------------
# Section 1: tasks, encodings, split
# ------------------------------------------------------------------------------------------

def make_task(op, p):
    """All pairs of a binary operation mod p, enumerated a outer, b inner.

    Returns operands (N, 2) int64 (the input pair), X (N, 2p) float64 one-hot inputs,
    labels (N,) int64. div: input pair ((a*b) % p, b) with label a, b in 1..p-1.
    """
    assert op in OPS
    b0 = 1 if op == "div" else 0
    operands, labels = [], []
    for a in range(p):
        for b in range(b0, p):
            if op == "add":
                pair, lab = (a, b), (a + b) % p
            elif op == "sub":
                pair, lab = (a, b), (a - b) % p
            elif op == "mul":
                pair, lab = (a, b), (a * b) % p
            else:  # div
                pair, lab = ((a * b) % p, b), a
            operands.append(pair)
            labels.append(lab)
    operands = np.array(operands, dtype=np.int64)
    labels = np.array(labels, dtype=np.int64)
    N = len(labels)
    X = np.zeros((N, 2 * p))
    X[np.arange(N), operands[:, 0]] = 1.0
    X[np.arange(N), p + operands[:, 1]] = 1.0
    return operands, X, labels


def one_hot(labels, c):
    Y = np.zeros((len(labels), c))
    Y[np.arange(len(labels)), labels] = 1.0
    return Y


def random_split(N, frac, seed):
    """numpy default_rng(seed).permutation(N); first floor(frac*N) train; both sorted.

    This is NOT the C++ engine's generator: the fixture stores the indices explicitly and the
    C++ test must use them as given.
    """
    perm = np.random.default_rng(seed).permutation(N)
    n_train = int(math.floor(frac * N + 1e-9))
    train = np.sort(perm[:n_train]).astype(np.int64)
    test = np.sort(perm[n_train:]).astype(np.int64)
    return train, test


# ------------------------------------------------------------------------------------------
# Section 2: kernels (brute force, one pair at a time in spirit)
# ------------------------------------------------------------------------------------------

def mahalanobis_sq(X, Z, M):
    """D2[i, j] = (x_i - z_j)^T M (x_i - z_j), computed from the difference, clamped at 0."""
    diff = X[:, None, :] - Z[None, :, :]                      # (nx, nz, d)
    d2 = np.einsum("ijk,kl,ijl->ij", diff, M, diff)
    return np.maximum(d2, 0.0)


def kernel_matrix(X, Z, M, kernel, L):
    """K[i, j] = k(x_i, z_j)."""
    if kernel == "quadratic":
        return (X @ M @ Z.T) ** 2
    d2 = mahalanobis_sq(X, Z, M)
    if kernel == "gaussian":
        return np.exp(-d2 / (2.0 * L * L))
    if kernel == "gaussian_paper":
        return np.exp(-d2 / L)
    if kernel == "laplace":
        return np.exp(-np.sqrt(d2) / L)
    raise ValueError(kernel)


def predict(Xeval, Xtrain, alpha, M, kernel, L):
    """f(x_j) = K(x_j, X) alpha, (m, c)."""
    return kernel_matrix(Xeval, Xtrain, M, kernel, L) @ alpha


def jacobians_bruteforce(Xeval, Xtrain, alpha, M, kernel, L):
    """J[j] in R^{d x c} at every evaluation point, by the gradient table of docs/algorithms.md 2.1.

    Direct double loop over evaluation points j and training points i:
      gaussian        J_j = (1/L^2) sum_i k_ij M (x_i - x_j) alpha_i^T
      gaussian_paper  J_j = (2/L)   sum_i k_ij M (x_i - x_j) alpha_i^T      (k = exp(-d2/L))
      laplace         J_j = (1/L)   sum_i k_ij / ||x_j - x_i||_M M (x_i - x_j) alpha_i^T,
                      pairs at distance < LAPLACE_ZERO_DIST contribute 0
      quadratic       J_j = 2       sum_i (x_j^T M x_i) M x_i alpha_i^T
    Returns (m, d, c).
    """
    m, d = Xeval.shape
    n, c = alpha.shape
    J = np.zeros((m, d, c))
    for j in range(m):
        x = Xeval[j]
        for i in range(n):
            xi = Xtrain[i]
            if kernel == "quadratic":
                w = 2.0 * float(x @ M @ xi)
                J[j] += w * np.outer(M @ xi, alpha[i])
                continue
            diff = xi - x
            d2 = max(float(diff @ M @ diff), 0.0)
            if kernel == "gaussian":
                w = math.exp(-d2 / (2.0 * L * L)) / (L * L)
            elif kernel == "gaussian_paper":
                w = 2.0 * math.exp(-d2 / L) / L
            elif kernel == "laplace":
                dist = math.sqrt(d2)
                if dist < LAPLACE_ZERO_DIST:
                    continue
                w = math.exp(-dist / L) / (L * dist)
            else:
                raise ValueError(kernel)
            J[j] += w * np.outer(M @ diff, alpha[i])
    return J


def agop_from_jacobians(J, centering=True):
    """G = (1/m) sum_j Jt_j Jt_j^T, Jt_j = J_j - mean_l J_l if centering. J: (m, d, c)."""
    m = J.shape[0]
    Jt = J - J.mean(axis=0, keepdims=True) if centering else J
    G = np.zeros((J.shape[1], J.shape[1]))
    for j in range(m):
        G += Jt[j] @ Jt[j].T
    return G / m


def agop_bruteforce(Xeval, Xtrain, alpha, M, kernel, L, centering=True):
    return agop_from_jacobians(jacobians_bruteforce(Xeval, Xtrain, alpha, M, kernel, L), centering)


# ------------------------------------------------------------------------------------------
# Vectorised dense path (published-code einsum style), used for timing at p = 61
# ------------------------------------------------------------------------------------------

def mahalanobis_sq_fast(X, Z, M):
    """D2 by the expansion x^T M x + z^T M z - 2 x^T M z, clamped at 0.

    The expansion loses all relative accuracy for nearly coincident points (a self pair gives
    about 1e-16 instead of 0, whose square root 1e-8 escapes the laplace cut-off), so entries
    below 1e-8 of the norms' scale are recomputed directly from the difference.
    """
    XM = X @ M
    xx = np.einsum("ij,ij->i", XM, X)
    zz = np.einsum("ij,jk,ik->i", Z, M, Z)
    d2 = xx[:, None] + zz[None, :] - 2.0 * (XM @ Z.T)
    scale = np.abs(xx)[:, None] + np.abs(zz)[None, :]
    for i, j in zip(*np.nonzero(d2 <= 1e-8 * scale)):
        diff = X[i] - Z[j]
        d2[i, j] = diff @ M @ diff
    return np.maximum(d2, 0.0)


def kernel_matrix_fast(X, Z, M, kernel, L):
    """Same as kernel_matrix, with d2 from mahalanobis_sq_fast (GEMM based)."""
    if kernel == "quadratic":
        return (X @ M @ Z.T) ** 2
    d2 = mahalanobis_sq_fast(X, Z, M)
    if kernel == "gaussian":
        return np.exp(-d2 / (2.0 * L * L))
    if kernel == "gaussian_paper":
        return np.exp(-d2 / L)
    if kernel == "laplace":
        return np.exp(-np.sqrt(d2) / L)
    raise ValueError(kernel)


def jacobians_dense_fast(Xeval, Xtrain, alpha, M, kernel, L):
    """Vectorised Jacobians, (m, d, c), as in the published code:

    J_j = M [ sum_i W_ij x_i alpha_i^T - x_j (sum_i W_ij alpha_i)^T ]   (distance kernels)
    J_j = M   sum_i W_ij x_i alpha_i^T,  W_ij = 2 x_j^T M x_i             (quadratic)
    The first term is one GEMM W^T (n, m)^T @ (x_i (x) alpha_i) (n, d*c): n m d c multiply-adds.
    """
    n, d = Xtrain.shape
    c = alpha.shape[1]
    m = Xeval.shape[0]
    if kernel == "quadratic":
        W = 2.0 * (Xtrain @ M @ Xeval.T)                                   # (n, m)
    else:
        K = kernel_matrix_fast(Xtrain, Xeval, M, kernel, L)               # (n, m)
        if kernel == "gaussian":
            W = K / (L * L)
        elif kernel == "gaussian_paper":
            W = 2.0 * K / L
        elif kernel == "laplace":
            dist = np.sqrt(mahalanobis_sq_fast(Xtrain, Xeval, M))
            with np.errstate(divide="ignore", invalid="ignore"):
                W = np.where(dist < LAPLACE_ZERO_DIST, 0.0, K / (L * dist))
        else:
            raise ValueError(kernel)
    XA = (Xtrain[:, :, None] * alpha[:, None, :]).reshape(n, d * c)       # x_i (x) alpha_i
    step1 = (W.T @ XA).reshape(m, d, c)                                    # sum_i W_ij x_i a_i^T
    if kernel != "quadratic":
        step1 -= Xeval[:, :, None] * (W.T @ alpha)[:, None, :]             # x_j (W^T alpha)_j^T
    # J_j = M @ step1_j for all j at once
    J = np.einsum("kl,jlc->jkc", M, step1, optimize=True)
    return J


def agop_dense_fast(Xeval, Xtrain, alpha, M, kernel, L, centering=True):
    """AGOP from the vectorised Jacobians: one (d, m*c) x (m*c, d) product."""
    J = jacobians_dense_fast(Xeval, Xtrain, alpha, M, kernel, L)
    if centering:
        J = J - J.mean(axis=0, keepdims=True)
    m, d, c = J.shape
    Jf = J.transpose(1, 0, 2).reshape(d, m * c)
    return (Jf @ Jf.T) / m


# ------------------------------------------------------------------------------------------
# Matrix power and the RFM loop
# ------------------------------------------------------------------------------------------

def psd_power(G, s=0.5):
    """G^s by symmetric eigendecomposition of (G + G^T)/2, negative eigenvalues clamped to 0."""
    w, V = np.linalg.eigh((G + G.T) / 2.0)
    w = np.maximum(w, 0.0) ** s
    return (V * w) @ V.T


def accuracy(pred, labels):
    return float(np.mean(np.argmax(pred, axis=1) == labels))


def mse(pred, Y):
    return float(np.mean((pred - Y) ** 2))


def rfm_run(X, labels, train, test, c, kernel, L, iters, ridge=0.0, centering=True,
            fast=False, verbose=False, p=None, op=None):
    """Algorithm 1 (docs/algorithms.md 2). Returns a dict:

    Ms: list of iters+1 matrices M_0..M_T; alphas: iters arrays (n, c); Gs: iters AGOPs G_t
    (M_{t+1} = G_t^{1/2});
    metrics: (iters, 4) = train_acc, test_acc, train_mse, test_mse of f_t (with M_t);
    kcond: (iters,) 2-norm condition number of K + ridge I; secs: (iters,) wall time.
    """
    Xtr, Xte = X[train], X[test]
    ytr, yte = labels[train], labels[test]
    Ytr, Yte = one_hot(ytr, c), one_hot(yte, c)
    d = X.shape[1]
    M = np.eye(d)
    kmat = kernel_matrix_fast if fast else kernel_matrix
    Ms, alphas, Gs, metrics, kcond, secs = [M], [], [], [], [], []
    for t in range(iters):
        t0 = time.perf_counter()
        K = kmat(Xtr, Xtr, M, kernel, L)
        A = K + ridge * np.eye(len(train))
        alpha = np.linalg.solve(A, Ytr)
        pred_tr = K @ alpha
        pred_te = kmat(Xte, Xtr, M, kernel, L) @ alpha
        metrics.append([accuracy(pred_tr, ytr), accuracy(pred_te, yte),
                        mse(pred_tr, Ytr), mse(pred_te, Yte)])
        if fast:
            G = agop_dense_fast(Xtr, Xtr, alpha, M, kernel, L, centering)
        else:
            G = agop_bruteforce(Xtr, Xtr, alpha, M, kernel, L, centering)
        M = psd_power(G, 0.5)
        secs.append(time.perf_counter() - t0)
        kcond.append(np.linalg.cond(A) if not fast else np.nan)
        Ms.append(M)
        alphas.append(alpha)
        Gs.append(G)
        if verbose:
            cd = circ_dev(Ms[t], p, op) if p is not None else float("nan")
            print(f"iter {t:3d}  train_acc {metrics[-1][0]:.4f}  test_acc {metrics[-1][1]:.4f}  "
                  f"train_mse {metrics[-1][2]:.3e}  test_mse {metrics[-1][3]:.3e}  "
                  f"circ_dev(M_t) {cd[0]:.3e}/{cd[1]:.3e}  {secs[-1]:.2f} s", flush=True)
    return dict(Ms=Ms, alphas=alphas, Gs=Gs, metrics=np.array(metrics), kcond=np.array(kcond),
                secs=np.array(secs))


# ------------------------------------------------------------------------------------------
# Section 2.2: progress measures
# ------------------------------------------------------------------------------------------

def primitive_root(p):
    """The smallest generator of Z_p^*."""
    if p == 2:
        return 1
    n, factors, q = p - 1, [], 2
    while n > 1:
        if q * q > n:
            q = n
        if n % q == 0:
            factors.append(q)
            while n % q == 0:
                n //= q
        q += 1
    for g in range(2, p):
        if all(pow(g, (p - 1) // f, p) != 1 for f in factors):
            return g
    raise AssertionError


def discrete_log_order(p):
    """order[i] = g^i mod p, i = 0..p-2: residue g^i goes to position i."""
    g = primitive_root(p)
    return np.array([pow(g, i, p) for i in range(p - 1)], dtype=np.int64)


def circulant_deviation_block(A):
    """D(A) = sum_k Var(S[:, k]) / ||A||_F^2, S[r, k] = A[r, (r + k) mod q]; 0 if A = 0."""
    q = A.shape[0]
    r = np.arange(q)[:, None]
    k = np.arange(q)[None, :]
    S = A[r, (r + k) % q]
    nrm2 = float(np.sum(A * A))
    if nrm2 == 0.0:
        return 0.0
    return float(np.sum(np.var(S, axis=0))) / nrm2   # np.var: population variance (ddof=0)


def circ_dev(M, p, op):
    """(D, D_reversed) of the bottom-left block A = M[p:2p, 0:p] (rows b, columns a).

    mul/div: drop residue 0 (row and column 0), reorder rows and columns by discrete log,
    A'[i, j] = A[g^i, g^j]. Reversed orientation: columns reversed (A[:, ::-1]) after that.
    """
    A = M[p:2 * p, 0:p]
    if op in ("mul", "div"):
        order = discrete_log_order(p)
        A = A[np.ix_(order, order)]
    return circulant_deviation_block(A), circulant_deviation_block(A[:, ::-1])


def cosine(a, b):
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(a @ b / (na * nb))


def agop_alignment(M, M_final):
    """(cosine of vec(M), vec(M_final); the same with both diagonals zeroed)."""
    A, B = M.copy(), M_final.copy()
    full = cosine(A.ravel(), B.ravel())
    np.fill_diagonal(A, 0.0)
    np.fill_diagonal(B, 0.0)
    return full, cosine(A.ravel(), B.ravel())


def progress(Ms, p, op):
    """circ_dev, circ_dev_rev, align, align_offdiag for every M_t, t = 0..T (M_final = M_T)."""
    cd = np.array([circ_dev(M, p, op) for M in Ms])
    al = np.array([agop_alignment(M, Ms[-1]) for M in Ms])
    return cd[:, 0].copy(), cd[:, 1].copy(), al[:, 0].copy(), al[:, 1].copy()


# ------------------------------------------------------------------------------------------
# Fixtures
# ------------------------------------------------------------------------------------------

DENSE_L = 1.7
RFM_RUNS = [
    # tag, op, p, frac, kernel, L, ridge, iters, seed
    dict(tag="add11_gaussian", op="add", p=11, frac=0.5, kernel="gaussian", L=2.5, ridge=0.0,
         iters=4, seed=0),
    dict(tag="mul7_quadratic", op="mul", p=7, frac=0.6, kernel="quadratic", L=1.0, ridge=0.0,
         iters=3, seed=0),
    dict(tag="sub7_laplace", op="sub", p=7, frac=0.5, kernel="laplace", L=2.0, ridge=0.0,
         iters=3, seed=0),
]
# Condition number of K + ridge I above which ridge 0 counts as singular and the run is
# regenerated with ridge 1e-3 (recorded in the params file).
SINGULAR_COND = 1e12


def dense_problem():
    rng = np.random.default_rng(0)
    n, m, d, c = 9, 5, 4, 3
    X = rng.standard_normal((n, d))
    Z = rng.standard_normal((m, d))
    alpha = rng.standard_normal((n, c))
    A = rng.standard_normal((d, d))
    M = A @ A.T / d + 0.5 * np.eye(d)
    return X, Z, alpha, M


def save(out, name, arr, written):
    arr = np.ascontiguousarray(arr)
    if arr.dtype.kind == "f":
        arr = arr.astype(np.float64)
    elif arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    path = os.path.join(out, name + ".npy")
    np.save(path, arr)
    written.append((name + ".npy", arr.shape, arr.dtype.str))


def max_rel_diff(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def write_dense_fixtures(out, written):
    X, Z, alpha, M = dense_problem()
    save(out, "ref_dense_X", X, written)
    save(out, "ref_dense_Z", Z, written)
    save(out, "ref_dense_alpha", alpha, written)
    save(out, "ref_dense_M", M, written)
    m, d = Z.shape
    n = X.shape[0]
    c = alpha.shape[1]
    worst = 0.0
    for kernel in KERNELS:
        K = kernel_matrix(X, X, M, kernel, DENSE_L)
        Kzx = kernel_matrix(Z, X, M, kernel, DENSE_L)
        J = jacobians_bruteforce(Z, X, alpha, M, kernel, DENSE_L)
        Jtr = jacobians_bruteforce(X, X, alpha, M, kernel, DENSE_L)
        G_c = agop_from_jacobians(J, True)
        G_u = agop_from_jacobians(J, False)
        Gtr_c = agop_from_jacobians(Jtr, True)
        pre = f"ref_dense_{kernel}_"
        save(out, pre + "K", K, written)
        save(out, pre + "Kzx", Kzx, written)
        save(out, pre + "pred", Kzx @ alpha, written)
        save(out, pre + "jac", J.reshape(m * d, c), written)
        save(out, pre + "agop_centered", G_c, written)
        save(out, pre + "agop_uncentered", G_u, written)
        save(out, pre + "jac_train", Jtr.reshape(n * d, c), written)
        save(out, pre + "agop_train_centered", Gtr_c, written)
        # Cross-check: fast path vs brute force, and the Jacobian vs finite differences.
        Jf = jacobians_dense_fast(Z, X, alpha, M, kernel, DENSE_L)
        for cen, G in ((True, G_c), (False, G_u)):
            worst = max(worst, max_rel_diff(agop_dense_fast(Z, X, alpha, M, kernel, DENSE_L, cen), G))
        worst = max(worst, max_rel_diff(Jf, J))
        worst = max(worst, max_rel_diff(agop_dense_fast(X, X, alpha, M, kernel, DENSE_L, True), Gtr_c))
        h = 1e-6
        fd = np.zeros_like(J)
        for k in range(d):
            e = np.zeros(d)
            e[k] = h
            fd[:, k, :] = (predict(Z + e, X, alpha, M, kernel, DENSE_L)
                           - predict(Z - e, X, alpha, M, kernel, DENSE_L)) / (2 * h)
        fd_err = max_rel_diff(fd, J)
        assert fd_err < 1e-7, (kernel, fd_err)
        print(f"dense {kernel:15s} jacobian vs central differences: rel err {fd_err:.1e}")
    print(f"agop_dense_fast vs brute force (dense fixtures, all kernels): max rel diff {worst:.1e}")
    assert worst < 1e-12, worst
    return worst


def write_rfm_fixtures(out, written):
    notes = []
    for cfg in RFM_RUNS:
        cfg = dict(cfg)
        operands, X, labels = make_task(cfg["op"], cfg["p"])
        train, test = random_split(len(labels), cfg["frac"], cfg["seed"])
        res = rfm_run(X, labels, train, test, cfg["p"], cfg["kernel"], cfg["L"], cfg["iters"],
                      cfg["ridge"], centering=True)
        if cfg["ridge"] == 0.0 and np.max(res["kcond"]) > SINGULAR_COND:
            print(f"{cfg['tag']}: K singular at ridge 0 (cond {np.max(res['kcond']):.2e}); "
                  "using ridge 1e-3")
            cfg["ridge"] = 1e-3
            res = rfm_run(X, labels, train, test, cfg["p"], cfg["kernel"], cfg["L"],
                          cfg["iters"], cfg["ridge"], centering=True)
        # Same run through the vectorised path: the oracle must agree with itself.
        res_fast = rfm_run(X, labels, train, test, cfg["p"], cfg["kernel"], cfg["L"],
                           cfg["iters"], cfg["ridge"], centering=True, fast=True)
        dM = max(max_rel_diff(a, b) for a, b in zip(res_fast["Ms"], res["Ms"]))
        dG = max(max_rel_diff(a, b) for a, b in zip(res_fast["Gs"], res["Gs"]))
        dmet = float(np.max(np.abs(res_fast["metrics"] - res["metrics"])))
        cd, cdr, al, alo = progress(res["Ms"], cfg["p"], cfg["op"])
        pre = f"ref_rfm_{cfg['tag']}_"
        save(out, pre + "train_idx", train, written)
        save(out, pre + "test_idx", test, written)
        for t, M in enumerate(res["Ms"]):
            save(out, pre + f"M{t}", M, written)
        for t, a in enumerate(res["alphas"]):
            save(out, pre + f"alpha{t}", a, written)
        for t, G in enumerate(res["Gs"]):
            save(out, pre + f"agop{t}", G, written)
        save(out, pre + "metrics", res["metrics"], written)
        save(out, pre + "circ_dev", cd, written)
        save(out, pre + "circ_dev_rev", cdr, written)
        save(out, pre + "align", al, written)
        save(out, pre + "align_offdiag", alo, written)
        save(out, pre + "kcond", res["kcond"], written)
        params = np.array([cfg["p"], cfg["frac"], KERNEL_ID[cfg["kernel"]], cfg["L"],
                           cfg["ridge"], cfg["iters"], cfg["seed"], 1.0, OPS.index(cfg["op"])])
        save(out, pre + "params", params, written)
        # Smallest Mahalanobis distance between distinct training points at each M_t
        # (laplace self-pair cut-off sanity: far above LAPLACE_ZERO_DIST means no ambiguity).
        Xtr = X[train]
        mind = []
        for M in res["Ms"][:-1]:
            D2 = mahalanobis_sq(Xtr, Xtr, M)
            np.fill_diagonal(D2, np.inf)
            mind.append(math.sqrt(np.min(D2)))
        line = (f"{cfg['tag']}: n_train {len(train)} n_test {len(test)} ridge {cfg['ridge']} "
                f"cond(K) {np.array2string(res['kcond'], precision=2)} "
                f"min dist {np.array2string(np.array(mind), precision=3)} "
                f"fast-vs-brute max rel diff: M_t {dM:.1e}, G_t {dG:.1e}, metrics (abs) {dmet:.1e}")
        print(line)
        print("  metrics (train_acc, test_acc, train_mse, test_mse):")
        print("  " + np.array2string(res["metrics"], precision=4).replace("\n", "\n  "))
        print(f"  circ_dev {np.array2string(cd, precision=4)}")
        print(f"  circ_dev_rev {np.array2string(cdr, precision=4)}")
        print(f"  align {np.array2string(al, precision=4)} offdiag {np.array2string(alo, precision=4)}")
        notes.append(line)
    return notes


def curve(p, iters, op="add", frac=0.5, kernel="gaussian", L=2.5, seed=0):
    operands, X, labels = make_task(op, p)
    train, test = random_split(len(labels), frac, seed)
    print(f"{op} mod {p}, frac {frac}, {kernel} L={L}, ridge 0, centering on, seed {seed}: "
          f"n_train {len(train)}, n_test {len(test)}")
    res = rfm_run(X, labels, train, test, p, kernel, L, iters, 0.0, True, fast=True,
                  verbose=True, p=p, op=op)
    cd, cdr, al, alo = progress(res["Ms"], p, op)
    print("t  train_acc test_acc circ_dev circ_dev_rev align align_offdiag secs")
    for t in range(iters):
        m = res["metrics"][t]
        print(f"{t:2d} {m[0]:.4f} {m[1]:.4f} {cd[t]:.3e} {cdr[t]:.3e} {al[t]:.4f} {alo[t]:.4f} "
              f"{res['secs'][t]:.2f}")
    print(f"M_T (t={iters}): circ_dev {cd[-1]:.3e}")
    print(f"mean seconds per iteration: {np.mean(res['secs']):.2f} "
          f"(total {np.sum(res['secs']):.1f} s)")
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", help="write the fixtures to this folder (e.g. tests/data)")
    ap.add_argument("--curve", type=int, metavar="P", help="run add mod P (vectorised) and print the curve")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--op", default="add", choices=OPS)
    ap.add_argument("--kernel", default="gaussian", choices=KERNELS)
    ap.add_argument("--L", type=float, default=2.5)
    ap.add_argument("--frac", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.out is None and args.curve is None:
        ap.error("give --out and/or --curve")
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        written = []
        write_dense_fixtures(args.out, written)
        write_rfm_fixtures(args.out, written)
        total = 0
        for name, shape, dt in written:
            total += os.path.getsize(os.path.join(args.out, name))
            print(f"  {name:45s} {str(shape):12s} {dt}")
        print(f"{len(written)} files, {total / 1024:.1f} KiB, numpy {np.__version__}")
    if args.curve:
        curve(args.curve, args.iters, args.op, args.frac, args.kernel, args.L, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
