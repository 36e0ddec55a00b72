// Kernel functions, pair statistics, predictions and the naive Jacobian/AGOP oracles
// (kernels.h; docs/algorithms.md 2.1 and 2.3).
#include <cblas.h>
#include <omp.h>

#include <cmath>

#include "kernels/kernels.h"

namespace rfm {

// --- Kernel functions -----------------------------------------------------------------------

const char* to_string(KernelType k) {
  switch (k) {
    case KernelType::gaussian:
      return "gaussian";
    case KernelType::gaussian_paper:
      return "gaussian-paper";
    case KernelType::laplace:
      return "laplace";
    case KernelType::quadratic:
      return "quadratic";
  }
  return "?";
}

KernelType kernel_from_string(const std::string& name) {
  for (KernelType k : {KernelType::gaussian, KernelType::gaussian_paper, KernelType::laplace,
                       KernelType::quadratic})
    if (name == to_string(k)) return k;
  RFM_CHECK(false, "unknown kernel '%s' (known: gaussian, gaussian-paper, laplace, quadratic)",
            name.c_str());
  return KernelType::gaussian;
}

double Kernel::value(double s) const {
  const double L = bandwidth;
  switch (type) {
    case KernelType::gaussian:
      return std::exp(-s / (2 * L * L));
    case KernelType::gaussian_paper:
      return std::exp(-s / L);
    case KernelType::laplace:
      return std::exp(-std::sqrt(s) / L);
    case KernelType::quadratic:
      return s * s;
  }
  return 0;
}

double Kernel::weight(double s) const {
  const double L = bandwidth;
  switch (type) {
    case KernelType::gaussian:
      return value(s) / (L * L);
    case KernelType::gaussian_paper:
      return 2 * value(s) / L;
    case KernelType::laplace:
      return s > 0 ? value(s) / (L * std::sqrt(s)) : 0.0;
    case KernelType::quadratic:
      return 2 * s;
  }
  return 0;
}

double Kernel::weight_per_value() const {
  const double L = bandwidth;
  if (type == KernelType::gaussian) return 1 / (L * L);
  if (type == KernelType::gaussian_paper) return 2 / L;
  return 0;
}

// Entry-wise maps, vectorised through Eigen's array functions, one column per task.
template <typename F>
static void map_columns(Eigen::Ref<MatrixXd> S, F f) {
  const Eigen::Index cols = S.cols();
#pragma omp parallel for schedule(static)
  for (Eigen::Index j = 0; j < cols; ++j) f(S.col(j).array());
}

// Calls use(f) with f the entry-wise map of `what` for kernel k (a function of a column array).
template <typename Use>
static void with_map(const Kernel& k, PairMap what, Use use) {
  const double L = k.bandwidth;
  const bool values = what == PairMap::values;
  if (what == PairMap::stats) return use([](auto) {});
  switch (k.type) {
    case KernelType::gaussian:
      if (values) return use([L](auto s) { s = (s * (-1.0 / (2 * L * L))).exp(); });
      return use([L](auto s) { s = (s * (-1.0 / (2 * L * L))).exp() / (L * L); });
    case KernelType::gaussian_paper:
      if (values) return use([L](auto s) { s = (s * (-1.0 / L)).exp(); });
      return use([L](auto s) { s = (s * (-1.0 / L)).exp() * (2.0 / L); });
    case KernelType::laplace:
      if (values) return use([L](auto s) { s = (s.sqrt() * (-1.0 / L)).exp(); });
      return use(
          [L](auto s) { s = (s > 0).select((s.sqrt() * (-1.0 / L)).exp() / (L * s.sqrt()), 0.0); });
    case KernelType::quadratic:
      if (values) return use([](auto s) { s = s.square(); });
      return use([](auto s) { s *= 2.0; });
  }
}

void apply_values(const Kernel& k, Eigen::Ref<MatrixXd> S) {
  with_map(k, PairMap::values, [&](auto f) { map_columns(S, f); });
}

void apply_weights(const Kernel& k, Eigen::Ref<MatrixXd> S) {
  with_map(k, PairMap::weights, [&](auto f) { map_columns(S, f); });
}

// --- Pair statistics ------------------------------------------------------------------------

// Squared distances below this share of ||x||_M^2 + ||z||_M^2 are round-off of the expansion
// ||x||^2 + ||z||^2 - 2 x.z and are set to 0 (so a self pair has distance exactly 0, which the
// laplace weight needs).
constexpr double kDistanceRoundoff = 1e-12;

// Column j of the inner products x_i^T M z_j becomes the squared distances.
template <typename Column>
static void finish_distance_column(const VectorXd& nx, double nzj, Column s) {
  s = (nx.array() - 2.0 * s) + nzj;
  s = (s <= kDistanceRoundoff * (nx.array() + nzj)).select(0.0, s);  // NaN stays NaN
}

static void finish_distances(const VectorXd& nx, const VectorXd& nz, Eigen::Ref<MatrixXd> S) {
  const Eigen::Index cols = S.cols();
#pragma omp parallel for schedule(static)
  for (Eigen::Index j = 0; j < cols; ++j) finish_distance_column(nx, nz(j), S.col(j).array());
}

void pair_stats_dense(const Kernel& k, const MatrixXd& X1, const MatrixXd& X2, const MatrixXd& M,
                      Eigen::Ref<MatrixXd> S) {
  const MatrixXd U = X1 * M;  // (n1, d)
  S.noalias() = U * X2.transpose();
  if (!k.radial()) return;
  const VectorXd nx = (U.array() * X1.array()).rowwise().sum();
  const VectorXd nz = ((X2 * M).array() * X2.array()).rowwise().sum();
  finish_distances(nx, nz, S);
}

// x^T M x for a one-hot point, summed in a fixed order so that equal points give equal bits.
static double onehot_norm(const MatrixXd& M, const IndexMatrix& hot, Eigen::Index i) {
  double sum = 0;
  for (Eigen::Index t = 0; t < hot.cols(); ++t) {
    double u = 0;
    for (Eigen::Index s = 0; s < hot.cols(); ++s) u += M(hot(i, s), hot(i, t));
    sum += u;
  }
  return sum;
}

// What the one-hot routes share: U = X1 M, whose row i is a sum of rows of M, so that
// x_i^T M z_j = sum_t U(i, hot2(j, t)); and the squared M-norms of both batches (radial kernels).
struct OnehotProducts {
  MatrixXd U;       // (n1, d)
  VectorXd nx, nz;  // (n1), (n2); empty for the quadratic kernel
};

static OnehotProducts onehot_products(const Kernel& k, const Inputs& X1, const Inputs& X2,
                                      const MatrixXd& M) {
  const Eigen::Index n1 = X1.hot.rows(), n2 = X2.hot.rows();
  OnehotProducts P;
  P.U.resize(n1, M.cols());
#pragma omp parallel for schedule(static)
  for (Eigen::Index c = 0; c < M.cols(); ++c)
    for (Eigen::Index i = 0; i < n1; ++i) {
      double u = 0;
      for (Eigen::Index s = 0; s < X1.hot.cols(); ++s) u += M(X1.hot(i, s), c);
      P.U(i, c) = u;
    }
  P.nx.resize(k.radial() ? n1 : 0);
  P.nz.resize(k.radial() ? n2 : 0);
  for (Eigen::Index i = 0; i < P.nx.size(); ++i) P.nx(i) = onehot_norm(M, X1.hot, i);
  for (Eigen::Index j = 0; j < P.nz.size(); ++j) P.nz(j) = onehot_norm(M, X2.hot, j);
  return P;
}

// One-hot route: each column of S is a sum of columns of U (O(n1 n2 slots), no GEMM). The
// distance expansion and `post` (a kernel map) run on each column while it is in cache: one
// pass over S.
template <typename Post>
static bool pair_stats_onehot(const Kernel& k, const Inputs& X2, const OnehotProducts& P,
                              Eigen::Ref<MatrixXd> S, Post post) {
  bool finite = true;
#pragma omp parallel for schedule(static) reduction(&& : finite)
  for (Eigen::Index j = 0; j < X2.hot.rows(); ++j) {
    auto s = S.col(j).array();
    s = P.U.col(X2.hot(j, 0)).array();
    for (Eigen::Index t = 1; t < X2.hot.cols(); ++t) s += P.U.col(X2.hot(j, t)).array();
    if (k.radial()) finish_distance_column(P.nx, P.nz(j), s);
    post(s);
    // x - x is exactly 0 for finite x and NaN for Inf or NaN: a vectorised sum tells (Eigen's
    // allFinite is a scalar loop, a fifth of this function's time).
    finite = finite && (s - s).sum() == 0.0;
  }
  return finite;
}

// Gaussian values on one-hot inputs without an exponential per pair. With g the kernel's
// exp(-g d^2) and n_i, n_j the squared M-norms, as x_i^T M z_j = sum_t U(i, hot2(j, t)):
//   k(x_i, z_j) = exp(-g n_i) exp(-g n_j) prod_t exp(2 g U(i, hot2(j, t))),
// so n1 d + n1 + n2 exponentials and slots + 1 products per pair (p = 61: 0.23 M exponentials
// instead of 3.5 M, at 1 ns each). The factors are as accurate as the expansion
// n_i + n_j - 2 x.z: exp of an argument y carries a relative error of eps |y|, the expansion an
// absolute one of eps (n_i + n_j + 2 |x.z|). Returns false, computing nothing, unless every
// exponent is finite and small enough that no partial product can leave the normal range; the
// caller then takes the exponential of each distance. U becomes the factors exp(2 g U).
static bool gaussian_onehot(const Kernel& k, double scale, const Inputs& X2, OnehotProducts& P,
                            Eigen::Ref<MatrixXd> S) {
  const double g = k.weight_per_value() / 2;  // the gradient weight of exp(-g d^2) is 2 g times it
  const Eigen::Index slots = X2.hot.cols();
  if (P.U.size() == 0 || P.nz.size() == 0) return false;
  const double largest = std::max({2 * g * P.U.cwiseAbs().maxCoeff<Eigen::PropagateNaN>(),
                                   g * P.nx.cwiseAbs().maxCoeff<Eigen::PropagateNaN>(),
                                   g * P.nz.cwiseAbs().maxCoeff<Eigen::PropagateNaN>()});
  if (!((slots + 2) * largest <= 600)) return false;  // e^600: far from overflow, NaN fails too
  map_columns(P.U, [g](auto u) { u = (u * (2 * g)).exp(); });
  const VectorXd ex = P.nx.unaryExpr([g](double n) { return std::exp(-g * n); });
#pragma omp parallel for schedule(static)
  for (Eigen::Index j = 0; j < X2.hot.rows(); ++j) {
    auto s = S.col(j).array();
    s = ex.array() * P.U.col(X2.hot(j, 0)).array();
    for (Eigen::Index t = 1; t < slots; ++t) s *= P.U.col(X2.hot(j, t)).array();
    s *= scale * std::exp(-g * P.nz(j));
  }
  return true;
}

void pair_stats(const Kernel& k, const Inputs& X1, const Inputs& X2, const MatrixXd& M,
                MatrixXd& S) {
  S.resize(X1.n(), X2.n());
  pair_stats(k, X1, X2, M, Eigen::Ref<MatrixXd>(S));
}

void pair_stats(const Kernel& k, const Inputs& X1, const Inputs& X2, const MatrixXd& M,
                Eigen::Ref<MatrixXd> S) {
  pair_matrix(k, X1, X2, M, S, PairMap::stats);
}

bool pair_matrix(const Kernel& k, const Inputs& X1, const Inputs& X2, const MatrixXd& M,
                 Eigen::Ref<MatrixXd> S, PairMap what) {
  RFM_ASSERT(X1.d == M.rows() && X2.d == M.rows());
  RFM_ASSERT(S.rows() == X1.n() && S.cols() == X2.n());
  bool finite = true;
  if (X1.one_hot() && X2.one_hot()) {
    OnehotProducts P = onehot_products(k, X1, X2, M);
    const double per_value = what == PairMap::values ? 1.0 : k.weight_per_value();
    if (what != PairMap::stats && k.weight_per_value() > 0 &&
        gaussian_onehot(k, per_value, X2, P, S))
      return true;
    with_map(k, what, [&](auto f) { finite = pair_stats_onehot(k, X2, P, S, f); });
    return finite;
  }
  pair_stats_dense(k, X1.one_hot() ? X1.dense() : X1.X, X2.one_hot() ? X2.dense() : X2.X, M, S);
  if (what != PairMap::stats) with_map(k, what, [&](auto f) { map_columns(S, f); });
  return S.allFinite();
}

// --- Predictions ----------------------------------------------------------------------------

size_t KernelWorkspace::bytes() const {
  size_t sum = stats.bytes() + W.bytes() + P.bytes() + Pblock.bytes();
  for (const PerThread& t : threads)
    sum += t.W.bytes() + t.Wg.bytes() + t.Hs.bytes() + t.V.bytes() + t.live.bytes() + t.R.bytes();
  return sum;
}

// One-hot inputs: equal blocks of at most kPredictBlock points run in parallel, each thread
// computing its block's kernel values into its own scratch and multiplying them by alpha with
// single-threaded BLAS (p = 61, microbenchmark minima: 0.0089 s against 0.0122 s for one
// 1861-point block with threaded BLAS; blocks of 64 0.010 s, as alpha is packed once per block).
// Dense inputs: large blocks, each product threaded, as the distance expansion redoes an
// (n, d) x (d, d) product per block.
constexpr int kPredictBlock = 256;

MatrixXd predict(const Kernel& k, const Inputs& X, const MatrixXd& alpha, const MatrixXd& M,
                 const Inputs& Z, KernelWorkspace* ws, int block) {
  const int m = Z.n(), n = X.n(), c = static_cast<int>(alpha.cols());
  KernelWorkspace local;
  if (!ws) ws = &local;
  MatrixXd out(m, c);
  if (!(X.one_hot() && Z.one_hot())) {
    for (int j0 = 0; j0 < m; j0 += block) {
      const int b = std::min(block, m - j0);
      Eigen::Map<MatrixXd> S = ws->stats.matrix(b, n);
      pair_matrix(k, Z.range(j0, b), X, M, S, PairMap::values);
      out.middleRows(j0, b).noalias() = S * alpha;
    }
    return out;
  }
  block = std::min(block, kPredictBlock);
  const int blocks = (m + block - 1) / block;
  block = (m + blocks - 1) / blocks;
  const int threads = std::max(1, std::min(omp_get_max_threads(), blocks));
  if (ws->threads.size() < size_t(threads)) ws->threads.resize(threads);
  SerialBlas serial;
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int blk = 0; blk < blocks; ++blk) {
    const int j0 = blk * block, b = std::min(block, m - j0);
    Eigen::Map<MatrixXd> S = ws->threads[omp_get_thread_num()].W.matrix(b, n);
    pair_matrix(k, Z.range(j0, b), X, M, S, PairMap::values);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, b, c, n, 1.0, S.data(), b, alpha.data(),
                n, 0.0, out.data() + j0, m);
  }
  return out;
}

// --- Naive oracles --------------------------------------------------------------------------

// The gradient table of docs/algorithms.md 2.1, written out per kernel, one point at a time.
std::vector<MatrixXd> jacobians_reference(const Kernel& k, const MatrixXd& X, const MatrixXd& alpha,
                                          const MatrixXd& M, const MatrixXd& Z) {
  const double L = k.bandwidth;
  std::vector<MatrixXd> J;
  for (Eigen::Index j = 0; j < Z.rows(); ++j) {
    const VectorXd z = Z.row(j).transpose();
    MatrixXd Jj = MatrixXd::Zero(X.cols(), alpha.cols());
    for (Eigen::Index i = 0; i < X.rows(); ++i) {
      const VectorXd xi = X.row(i).transpose(), diff = xi - z;
      const double d2 = std::max(0.0, diff.dot(M * diff)), dist = std::sqrt(d2);
      VectorXd g;  // gradient of k(z, x_i) in z
      switch (k.type) {
        case KernelType::gaussian:
          g = std::exp(-d2 / (2 * L * L)) / (L * L) * (M * diff);
          break;
        case KernelType::gaussian_paper:
          g = 2 * std::exp(-d2 / L) / L * (M * diff);
          break;
        case KernelType::laplace:
          g = dist > 0 ? VectorXd(std::exp(-dist / L) / (L * dist) * (M * diff))
                       : VectorXd::Zero(z.size());
          break;
        case KernelType::quadratic:
          g = 2 * z.dot(M * xi) * (M * xi);
          break;
      }
      Jj += g * alpha.row(i);
    }
    J.push_back(Jj);
  }
  return J;
}

MatrixXd agop_reference(const Kernel& k, const MatrixXd& X, const MatrixXd& alpha,
                        const MatrixXd& M, const MatrixXd& Z, bool centering) {
  std::vector<MatrixXd> J = jacobians_reference(k, X, alpha, M, Z);
  MatrixXd mean = MatrixXd::Zero(X.cols(), alpha.cols());
  if (centering)
    for (const MatrixXd& Jj : J) mean += Jj / double(J.size());
  MatrixXd G = MatrixXd::Zero(X.cols(), X.cols());
  for (const MatrixXd& Jj : J) G += (Jj - mean) * (Jj - mean).transpose();
  return G / double(J.size());
}

}  // namespace rfm
