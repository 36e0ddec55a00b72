// The AGOP of a kernel machine, blocked over AGOP points (kernels.h; REFERENCE.md sections 2
// and 4).
//
// For a block J of b AGOP points the Jacobian factors H_j (d, c) are stacked into
// Hs (b*c, d): row j + b*cc, column k holds H_j[k, cc]. Then sum_j H_j H_j^T = Hs^T Hs is one
// SYRK. The sums B_j = X^T diag(w_j) alpha are computed
//   dense:  per input coordinate k, B[:, k] = W_J^T (X[:, k] o alpha): one (b,n)x(n,c) GEMM per
//           k, 2 n m c d flops in all (the reference code's cost, without its n*c*d temporary);
//   onehot: per coordinate k, only the training points with x_ik = 1 contribute:
//           B[:, k] = W_J[S_k, :]^T alpha[S_k, :], 2 n m c flops per one-hot slot.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <numeric>

#include "kernels/kernels.h"

namespace rfm {

const char* to_string(AgopPath p) {
  switch (p) {
    case AgopPath::automatic:
      return "auto";
    case AgopPath::dense:
      return "dense";
    case AgopPath::onehot:
      return "onehot";
    case AgopPath::hadamard:
      return "hadamard";
  }
  return "?";
}

AgopPath agop_path_from_string(const std::string& name) {
  for (AgopPath p : {AgopPath::automatic, AgopPath::dense, AgopPath::onehot, AgopPath::hadamard})
    if (name == to_string(p)) return p;
  RFM_CHECK(false, "unknown AGOP path '%s' (known: auto, dense, onehot, hadamard)", name.c_str());
  return AgopPath::automatic;
}

namespace {

// Training points grouped by their hot coordinate, per slot: rows[off[k]..off[k+1]) of slot s
// are the points i with hot(i, s) = k. in_order[s]: rows[s] is 0..n-1 (the points are already
// grouped, as the sorted training pairs of a binary task are by slot 0).
struct HotGroups {
  std::vector<std::vector<int>> rows, off;
  std::vector<MatrixXd> alpha;  // alpha gathered in that order, per slot: (n, c)
  std::vector<bool> in_order;
  std::vector<int> first, last;  // per coordinate: the first and last slot it is hot in, or -1

  HotGroups(const Inputs& X, const MatrixXd& alpha_in) {
    const int n = X.n(), slots = static_cast<int>(X.hot.cols());
    for (int s = 0; s < slots; ++s) {
      std::vector<int> r(n), o(X.d + 1, 0);
      for (int i = 0; i < n; ++i) ++o[X.hot(i, s) + 1];
      std::partial_sum(o.begin(), o.end(), o.begin());
      std::vector<int> next(o.begin(), o.end() - 1);
      for (int i = 0; i < n; ++i) r[next[X.hot(i, s)]++] = i;
      MatrixXd a(n, alpha_in.cols());
      for (int t = 0; t < n; ++t) a.row(t) = alpha_in.row(r[t]);
      bool ordered = true;
      for (int t = 0; t < n && ordered; ++t) ordered = r[t] == t;
      rows.push_back(std::move(r));
      off.push_back(std::move(o));
      alpha.push_back(std::move(a));
      in_order.push_back(ordered);
    }
    first.assign(X.d, -1);
    last.assign(X.d, -1);
    for (int s = 0; s < slots; ++s)
      for (int k = 0; k < X.d; ++k)
        if (count(s, k) > 0) {
          if (first[k] < 0) first[k] = s;
          last[k] = s;
        }
  }
  int count(int s, int k) const { return off[s][k + 1] - off[s][k]; }
};

using ConstRef = Eigen::Ref<const MatrixXd>;
using Ref = Eigen::Ref<MatrixXd>;

// Hs[:, k] viewed as (b, c) += W_J^T (X[:, k] o alpha), dense X.
void jacobian_sums_dense(const MatrixXd& X, const MatrixXd& alpha, ConstRef WJ, Ref Hs) {
  const int n = static_cast<int>(X.rows()), c = static_cast<int>(alpha.cols());
  const int b = static_cast<int>(WJ.cols());
  MatrixXd T(n, c);
  for (Eigen::Index k = 0; k < X.cols(); ++k) {
    if (X.col(k).isZero(0)) continue;
    T = X.col(k).asDiagonal() * alpha;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, b, c, n, 1.0, WJ.data(), n, T.data(), n,
                1.0, Hs.col(k).data(), b);
  }
}

// Hs[:, k] viewed as (b, c) starts at -shift[k] (or 0).
void start_column(const MatrixXd* shift, int k, Eigen::Map<MatrixXd>& H) {
  if (shift)
    H.rowwise() = -shift->row(k);
  else
    H.setZero();
}

// The same for one-hot X, one column (coordinate k) at a time while it is in cache: the column
// starts at -shift[k] (or 0), one small GEMM per slot adds the points that have k hot, and once
// the last slot has added, the column's sum goes to *D (when given). Returns V = W_J^T alpha
// (b, c) when radial, summed from slot 0's GEMMs as they finish: every training point is in
// exactly one slot-0 group, and no other slot has added to the column yet (user data may put
// a coordinate in slot 0 of one point and slot 1 of another). The weights' rows are gathered
// into group order first, unless they are in that order already.
MatrixXd jacobian_sums_onehot(const HotGroups& g, ConstRef WJ, const MatrixXd* shift, bool radial,
                              Scratch& gathered, Ref Hs, MatrixXd* D) {
  const int n = static_cast<int>(WJ.rows()), b = static_cast<int>(WJ.cols());
  const int c = static_cast<int>(g.alpha[0].cols()), d = static_cast<int>(Hs.cols());
  MatrixXd V = MatrixXd::Zero(radial ? b : 0, c);
  Eigen::RowVectorXd added = Eigen::RowVectorXd::Zero(c);  // shift rows under V's columns
  Eigen::Map<MatrixXd> Wg = gathered.matrix(n, b);
  for (size_t s = 0; s < g.rows.size(); ++s) {
    const double* W = WJ.data();
    int ldw = static_cast<int>(WJ.outerStride());
    if (!g.in_order[s]) {
      for (int j = 0; j < b; ++j)
        for (int t = 0; t < n; ++t) Wg(t, j) = WJ(g.rows[s][t], j);
      W = Wg.data();
      ldw = n;
    }
    for (int k = 0; k < d; ++k) {
      const int cnt = g.count(static_cast<int>(s), k), row0 = g.off[s][k];
      if (cnt == 0) continue;
      Eigen::Map<MatrixXd> H(Hs.col(k).data(), b, c);
      if (g.first[k] == static_cast<int>(s)) start_column(shift, k, H);
      cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, b, c, cnt, 1.0, W + row0, ldw,
                  g.alpha[s].data() + row0, n, 1.0, H.data(), b);
      const bool add_v = radial && s == 0, add_d = D && g.last[k] == static_cast<int>(s);
      if (add_v && shift) added += shift->row(k);
      for (int cc = 0; (add_v || add_d) && cc < c; ++cc) {  // a class at a time: one read from L2
        if (add_v) V.col(cc) += H.col(cc);
        if (add_d) (*D)(k, cc) += H.col(cc).sum();
      }
    }
  }
  for (int k = 0; k < d; ++k) {  // coordinates no training point has
    if (g.first[k] >= 0) continue;
    Eigen::Map<MatrixXd> H(Hs.col(k).data(), b, c);
    start_column(shift, k, H);
    if (D) D->row(k) += H.colwise().sum();
  }
  if (radial) V.rowwise() += added;
  return V;
}

// Hs[(j, cc), k] -= z_jk V[j, cc]: the -r z_j (w_j^T alpha)^T term of radial kernels; and, when
// D holds Hs's column sums (d, c) from before, the same term from them: D -= Z_J^T V.
void subtract_radial_term(const Inputs& ZJ, const MatrixXd& VJ, Ref Hs, MatrixXd* D) {
  const Eigen::Index b = VJ.rows(), c = VJ.cols();
  if (ZJ.one_hot()) {
    for (Eigen::Index t = 0; t < ZJ.hot.cols(); ++t) {
      for (Eigen::Index cc = 0; cc < c; ++cc)
        for (Eigen::Index j = 0; j < b; ++j) Hs(j + b * cc, ZJ.hot(j, t)) -= VJ(j, cc);
      for (Eigen::Index j = 0; D && j < b; ++j) D->row(ZJ.hot(j, t)) -= VJ.row(j);
    }
    return;
  }
  for (Eigen::Index k = 0; k < ZJ.X.cols(); ++k) {
    Eigen::Map<MatrixXd> H(Hs.col(k).data(), b, c);
    H -= ZJ.X.col(k).asDiagonal() * VJ;
  }
  if (D) *D -= ZJ.X.transpose() * VJ;
}

// Sums of one block of the blocked AGOP.
struct AgopSums {
  MatrixXd G, D;  // sum of Hs^T Hs (d, d, upper triangle), sum of H_j - C (d, c)
};

// The Hadamard route for dense inputs (file comment of kernels.h for the notation):
//   sum_j H_j H_j^T = X^T [(alpha alpha^T) o (W W^T)] X
//                     - r (X^T Q Z + (X^T Q Z)^T) + r Z^T diag(|v_j|^2) Z,
//   Q = W o (alpha V^T), V = W^T alpha,
// then centering subtracts m Hbar Hbar^T, Hbar = (X^T (alpha o W 1) - r Z^T V) / m.
// Costs n^2 m (the SYRK W W^T) + 2 n^2 d + 4 n m c + 2 n m d instead of 2 n m c d.
// P = W W^T lives in the workspace (n, n), allocated once per run; alpha alpha^T and Q are
// formed a column block at a time, so the route needs n^2 + 2 n b doubles besides W.
MatrixXd agop_inner_hadamard(const Kernel& k, const MatrixXd& X, const MatrixXd& alpha,
                             const MatrixXd& M, const MatrixXd& Z, bool centering,
                             const MatrixXd* weights, KernelWorkspace& ws, int block,
                             MatrixXd* weighted_alpha) {
  const int n = static_cast<int>(X.rows()), m = static_cast<int>(Z.rows());
  const int c = static_cast<int>(alpha.cols()), d = static_cast<int>(X.cols());
  Eigen::Map<MatrixXd> Wbuf = ws.W.matrix(n, weights ? 0 : m);
  if (!weights) {
    pair_stats_dense(k, X, Z, M, Wbuf);
    apply_weights(k, Wbuf);
  }
  const ConstRef W = weights ? ConstRef(*weights) : ConstRef(Wbuf);  // (n, m)
  Eigen::Map<MatrixXd> P = ws.P.matrix(n, n);
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, n, m, 1.0, W.data(), n, 0.0, P.data(), n);
  // P o (alpha alpha^T), upper triangle, one column block of alpha alpha^T at a time.
  for (int j0 = 0; j0 < n; j0 += block) {
    const int b = std::min(block, n - j0), rows = j0 + b;
    Eigen::Map<MatrixXd> A = ws.Pblock.matrix(rows, b);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, rows, b, c, 1.0, alpha.data(), n,
                alpha.data() + j0, n, 0.0, A.data(), rows);
    for (int j = 0; j < b; ++j)
      P.col(j0 + j).head(j0 + j + 1).array() *= A.col(j).head(j0 + j + 1).array();
  }
  MatrixXd PX(n, d);  // P X with P symmetric (upper triangle stored)
  cblas_dsymm(CblasColMajor, CblasLeft, CblasUpper, n, d, 1.0, P.data(), n, X.data(), n, 0.0,
              PX.data(), n);
  MatrixXd G = X.transpose() * PX;           // (d, d)
  const MatrixXd V = W.transpose() * alpha;  // (m, c)
  if (weighted_alpha) *weighted_alpha = V;
  if (k.radial()) {
    MatrixXd QZ = MatrixXd::Zero(n, d);  // sum over column blocks of Q_J Z_J
    for (int j0 = 0; j0 < m; j0 += block) {
      const int b = std::min(block, m - j0);
      Eigen::Map<MatrixXd> Q = ws.Pblock.matrix(n, b);
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, n, b, c, 1.0, alpha.data(), n,
                  V.data() + j0, m, 0.0, Q.data(), n);
      Q.array() *= W.middleCols(j0, b).array();
      cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, d, b, 1.0, Q.data(), n,
                  Z.data() + j0, m, 1.0, QZ.data(), n);
    }
    const MatrixXd C1 = X.transpose() * QZ;
    G -= C1 + C1.transpose();
    const VectorXd vnorm2 = V.rowwise().squaredNorm();
    G += Z.transpose() * vnorm2.asDiagonal() * Z;
  }
  if (centering) {
    // Evaluated first: inside the product Eigen would redo the n x m sum for every entry.
    const VectorXd wsum = W.rowwise().sum();
    MatrixXd Hbar = X.transpose() * (wsum.asDiagonal() * alpha);  // (d, c)
    if (k.radial()) Hbar -= Z.transpose() * V;
    Hbar /= double(m);
    G -= double(m) * Hbar * Hbar.transpose();
  }
  return 0.5 * (G + G.transpose()) / double(m);
}

}  // namespace

AgopPath choose_agop_path(AgopPath requested, bool one_hot, double n, double m, double c,
                          double d) {
  if (requested != AgopPath::automatic) return requested;
  if (one_hot) return AgopPath::onehot;
  const double direct = 2 * n * m * c * d + m * c * d * d;
  const double hadamard = n * n * m + 2 * n * n * d + n * n * c;
  return hadamard < direct ? AgopPath::hadamard : AgopPath::dense;
}

// The blocked AGOP (file comment). Blocks run in parallel, one per OpenMP thread with
// single-threaded BLAS inside: the d x d SYRK of one block does not thread well in OpenBLAS
// (d is small), but independent blocks do. Centering uses the shifted-data identity
//   sum_j (H_j - Hbar)(H_j - Hbar)^T = sum_j (H_j - C)(H_j - C)^T - D D^T / m,
//   D = sum_j (H_j - C),
// with C the mean of a small first block (computed alone, before the others), so that no second
// pass over the weights is needed and the correction stays small (C is already close to Hbar).
// The other blocks start their sums from -C instead of 0, so the shift costs no extra pass.
MatrixXd agop_inner(const Kernel& k, const Inputs& X, const MatrixXd& alpha, const MatrixXd& M,
                    const Inputs& Z, const AgopOptions& opt, const MatrixXd* weights,
                    KernelWorkspace* ws, MatrixXd* weighted_alpha) {
  const int n = X.n(), m = Z.n(), d = X.d, c = static_cast<int>(alpha.cols());
  const int block = std::max(1, std::min(opt.block, m));
  RFM_ASSERT(alpha.rows() == n && Z.d == d && m > 0);
  RFM_ASSERT(!weights || (weights->rows() == n && weights->cols() == m));
  RFM_ASSERT(!weighted_alpha || k.radial());
  if (weighted_alpha) weighted_alpha->resize(m, c);
  RFM_CHECK(opt.path != AgopPath::onehot || X.one_hot(),
            "--agop-path onehot needs one-hot training inputs");
  const AgopPath path = choose_agop_path(opt.path, X.one_hot(), n, m, c, d);
  KernelWorkspace local;
  if (!ws) ws = &local;
  if (path == AgopPath::hadamard)
    return agop_inner_hadamard(k, X.one_hot() ? X.dense() : X.X, alpha, M,
                               Z.one_hot() ? Z.dense() : Z.X, opt.centering, weights, *ws, block,
                               weighted_alpha);
  const bool onehot = path == AgopPath::onehot;
  const MatrixXd Xd = onehot || !X.one_hot() ? MatrixXd() : X.dense();
  const MatrixXd& Xdense = X.one_hot() ? Xd : X.X;
  std::unique_ptr<HotGroups> groups = onehot ? std::make_unique<HotGroups>(X, alpha) : nullptr;

  // The first block is small: it runs alone, to give the shift C to all the others. The rest is
  // cut into a multiple of 4 blocks of one size (at most opt.block points), so that 2 or 4
  // threads get the same work (add mod 61 in blocks of 256 was 7 + 1 small block, one of 2
  // threads idle for a block's time). The cut does not depend on the thread count.
  const int first = std::min(std::min(block, 32), m), rest = m - first;
  int blocks = (rest + block - 1) / block;
  if (blocks > 1) blocks = (blocks + 3) / 4 * 4;
  const int size = blocks > 0 ? (rest + blocks - 1) / blocks : block;
  blocks = (rest + size - 1) / size;
  const int threads = std::max(1, std::min(omp_get_max_threads(), std::max(blocks, 1)));
  if (ws->threads.size() < size_t(threads)) ws->threads.resize(threads);
  // One sum per block, added up in block order: the result does not depend on which thread
  // ran which block (runs are reproducible bit for bit, with any schedule).
  std::vector<AgopSums> sums(blocks + 1, AgopSums{MatrixXd::Zero(d, d), MatrixXd::Zero(d, c)});

  // Hs of block [j0, j0 + b): Jacobian sums minus the radial term, minus the shift when given;
  // adds Hs's column sums to *D when D is given.
  auto block_sums = [&](int j0, int b, const MatrixXd* shift, KernelWorkspace::PerThread& t,
                        MatrixXd* D) {
    const Inputs ZJ = Z.range(j0, b);
    Eigen::Map<MatrixXd> Wbuf = t.W.matrix(n, weights ? 0 : b);
    if (!weights) pair_matrix(k, X, ZJ, M, Wbuf, PairMap::weights);  // (n, b)
    ConstRef W = weights ? ConstRef(weights->middleCols(j0, b)) : ConstRef(Wbuf);
    Eigen::Map<MatrixXd> Hs = t.Hs.matrix(static_cast<Eigen::Index>(b) * c, d);
    if (onehot) {
      const MatrixXd V = jacobian_sums_onehot(*groups, W, shift, k.radial(), t.Wg, Hs, D);
      if (k.radial()) subtract_radial_term(ZJ, V, Hs, D);
      if (weighted_alpha) weighted_alpha->middleRows(j0, b) = V;
      return Hs;
    }
    for (int kk = 0; kk < d; ++kk) {
      Eigen::Map<MatrixXd> H(Hs.col(kk).data(), b, c);
      start_column(shift, kk, H);
    }
    jacobian_sums_dense(Xdense, alpha, W, Hs);
    if (k.radial()) {
      const MatrixXd V = W.transpose() * alpha;
      subtract_radial_term(ZJ, V, Hs, nullptr);
      if (weighted_alpha) weighted_alpha->middleRows(j0, b) = V;
    }
    for (int kk = 0; D && kk < d; ++kk)
      D->row(kk) += Eigen::Map<const MatrixXd>(Hs.col(kk).data(), b, c).colwise().sum();
    return Hs;
  };
  // Adds the block's Hs^T Hs to G (upper triangle).
  auto accumulate = [&](int b, Ref Hs, AgopSums& s) {
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, d, b * c, 1.0, Hs.data(), b * c, 1.0,
                s.G.data(), d);
  };

  const int blas_before = blas_threads();
  set_blas_threads(1);
  // The first block's sum of H_j - C is 0 but for rounding: kept, as the other blocks' sums are.
  Eigen::Map<MatrixXd> Hs0 = block_sums(0, first, nullptr, ws->threads[0], nullptr);
  MatrixXd C = MatrixXd::Zero(d, c);
  for (int kk = 0; opt.centering && kk < d; ++kk) {
    Eigen::Map<MatrixXd> H(Hs0.col(kk).data(), first, c);
    C.row(kk) = H.colwise().mean();
    H.rowwise() -= C.row(kk);
    sums[0].D.row(kk) = H.colwise().sum();
  }
  accumulate(first, Hs0, sums[0]);
  const MatrixXd* shift = opt.centering ? &C : nullptr;
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int blk = 0; blk < blocks; ++blk) {
    const int tid = omp_get_thread_num(), j0 = first + blk * size, b = std::min(size, m - j0);
    AgopSums& s = sums[blk + 1];
    accumulate(b, block_sums(j0, b, shift, ws->threads[tid], opt.centering ? &s.D : nullptr), s);
  }
  set_blas_threads(blas_before);

  MatrixXd Ghat = MatrixXd::Zero(d, d), D = MatrixXd::Zero(d, c);
  for (const AgopSums& s : sums) {
    Ghat += s.G;
    D += s.D;
  }
  Ghat.triangularView<Eigen::StrictlyLower>() = Ghat.transpose();
  if (opt.centering) Ghat -= D * D.transpose() / double(m);
  return Ghat / double(m);
}

MatrixXd agop(const Kernel& k, const Inputs& X, const MatrixXd& alpha, const MatrixXd& M,
              const Inputs& Z, const AgopOptions& opt, const MatrixXd* weights, KernelWorkspace* ws,
              MatrixXd* weighted_alpha) {
  const MatrixXd Ghat = agop_inner(k, X, alpha, M, Z, opt, weights, ws, weighted_alpha);
  return M * Ghat * M;
}

}  // namespace rfm
