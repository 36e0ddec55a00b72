// Fourier progress measures of the transformer (docs/algorithms.md 5.5, after Nanda et al.
// 2023 and Furuta et al.): embedding Fourier norms and their Gini coefficient, frequency
// sparsity and coefficient ratio (project definition), key frequencies of the MLP neurons, and
// the restricted and excluded losses. Everything is in double; all matrices are column-major.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "neural/neural.h"

namespace rfm {

MatrixXd fourier_basis(int p) {
  RFM_CHECK(p >= 3 && p % 2 == 1, "the Fourier measures need an odd modulus >= 3, got p = %d", p);
  MatrixXd F(p, p);
  F.row(0).setConstant(1.0 / std::sqrt(double(p)));
  for (int k = 1; k <= p / 2; ++k)
    for (int x = 0; x < p; ++x) {
      const double w = 2 * M_PI * k * x / p;
      F(2 * k - 1, x) = std::cos(w);
      F(2 * k, x) = std::sin(w);
    }
  for (int r = 1; r < p; ++r) F.row(r).normalize();
  return F;
}

FourierNorms embedding_fourier_norms(const MatrixXd& W_E) {
  // W_E (C, p); coefficients (p, C) = F W_E^T, row r = basis function r's coefficients.
  const int p = int(W_E.cols());
  const MatrixXd coef = fourier_basis(p) * W_E.transpose();
  FourierNorms f;
  f.cos2.resize(p / 2);
  f.sin2.resize(p / 2);
  for (int k = 1; k <= p / 2; ++k) {
    f.cos2(k - 1) = coef.row(2 * k - 1).squaredNorm();
    f.sin2(k - 1) = coef.row(2 * k).squaredNorm();
  }
  return f;
}

double gini_coefficient(const VectorXd& x) {
  const int n = int(x.size());
  const double total = x.sum();
  if (n == 0 || !(total > 0)) return kNaN;
  std::vector<double> v(x.data(), x.data() + n);
  std::sort(v.begin(), v.end());
  double acc = 0;
  for (int i = 0; i < n; ++i) acc += (2.0 * (i + 1) - n - 1) * v[i];
  return acc / (n * total);
}

double frequency_sparsity(const FourierNorms& f, double threshold) {
  const VectorXd n = f.total();
  const double total = n.sum();
  if (n.size() == 0 || !(total > 0)) return kNaN;
  return double((n.array() > threshold * total).count()) / double(n.size());
}

double coefficient_ratio(const FourierNorms& f) {
  const double total = f.total().sum();
  return total > 0 ? f.cos2.sum() / total : kNaN;
}

// --- key frequencies ------------------------------------------------------------------------

namespace {

// 2-D Fourier transforms of every neuron: returns G with G[f + Fn*(j + p*i)] = (F A_f F^T)(i, j).
// acts (Fn, p*p) column a*p + b, i.e. element f + Fn*b + Fn*p*a.
std::vector<double> neuron_transforms(const MatrixXd& acts, const MatrixXd& Fb, int p) {
  const int Fn = int(acts.rows());
  // View acts as X ((Fn*p), p) with row f + Fn*b and column a: Y = X Fb^T transforms a -> i.
  const MatrixXd Y = Eigen::Map<const MatrixXd>(acts.data(), Fn * p, p) * Fb.transpose();
  std::vector<double> G(size_t(Fn) * p * p);
  for (int i = 0; i < p; ++i) {
    // slice (Fn, p) over (f, b) of column i; transform b -> j.
    Eigen::Map<MatrixXd>(G.data() + size_t(Fn) * p * i, Fn, p) =
        Eigen::Map<const MatrixXd>(Y.data() + size_t(Fn) * p * i, Fn, p) * Fb.transpose();
  }
  return G;
}

}  // namespace

std::vector<int> key_frequencies(const MatrixXd& acts, int p, double min_fve, double min_share) {
  RFM_CHECK(acts.cols() == int64_t(p) * p, "activations have %lld columns, expected p^2 = %d",
            (long long)acts.cols(), p * p);
  const int Fn = int(acts.rows()), K = p / 2;
  const std::vector<double> G = neuron_transforms(acts, fourier_basis(p), p);
  auto g = [&](int f, int i, int j) { return G[f + size_t(Fn) * (j + size_t(p) * i)]; };
  std::vector<int> strong(K + 1, 0), any(K + 1, 0);
  int live = 0;
  for (int f = 0; f < Fn; ++f) {
    double total = 0;
    for (int i = 0; i < p; ++i)
      for (int j = 0; j < p; ++j) total += g(f, i, j) * g(f, i, j);
    total -= g(f, 0, 0) * g(f, 0, 0);
    if (!(total > 1e-12)) continue;  // a dead or constant neuron
    live += 1;
    int best = 1;
    double best_e = -1;
    for (int k = 1; k <= K; ++k) {
      const int idx[3] = {0, 2 * k - 1, 2 * k};
      double e = -g(f, 0, 0) * g(f, 0, 0);
      for (int i : idx)
        for (int j : idx) e += g(f, i, j) * g(f, i, j);
      if (e > best_e) best_e = e, best = k;
    }
    any[best] += 1;
    if (best_e >= min_fve * total) strong[best] += 1;
  }
  std::vector<int> keys;
  for (int k = 1; k <= K; ++k)
    if (live > 0 && strong[k] >= min_share * live) keys.push_back(k);
  std::stable_sort(keys.begin(), keys.end(), [&](int a, int b) { return strong[a] > strong[b]; });
  if (keys.empty() && live > 0)
    keys.push_back(int(std::max_element(any.begin() + 1, any.end()) - any.begin()));
  return keys;
}

// --- restricted and excluded loss -----------------------------------------------------------

namespace {

// Mean cross-entropy of the columns of L (p, N) selected by use (all when empty).
double cross_entropy(const MatrixXd& L, const std::vector<int>& labels,
                     const std::vector<char>& use) {
  double sum = 0;
  int n = 0;
  for (int j = 0; j < L.cols(); ++j) {
    if (!use.empty() && !use[j]) continue;
    const double mx = L.col(j).maxCoeff();
    const double lse = mx + std::log((L.col(j).array() - mx).exp().sum());
    sum += lse - L(labels[j], j);
    n += 1;
  }
  return n ? sum / n : kNaN;
}

// P L: the projection of L (p, p*p) onto cos/sin w_k (a + sign*b - c) for k in freqs.
MatrixXd project_frequencies(const MatrixXd& L, const std::vector<int>& freqs, int p, int sign) {
  MatrixXd P = MatrixXd::Zero(p, int64_t(p) * p);
  auto phase = [&](int a, int b, int c) { return (((a + sign * b - c) % p) + p) % p; };
  for (int k : freqs) {
    std::vector<double> cs(p), sn(p);
    for (int m = 0; m < p; ++m) {
      cs[m] = std::cos(2 * M_PI * k * m / p);
      sn[m] = std::sin(2 * M_PI * k * m / p);
    }
    double dc = 0, ds = 0;  // <L, u_cos>, <L, u_sin>; both have squared norm p^3 / 2
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b)
        for (int c = 0; c < p; ++c) {
          const double l = L(c, a * p + b);
          dc += l * cs[phase(a, b, c)];
          ds += l * sn[phase(a, b, c)];
        }
    const double norm2 = 0.5 * double(p) * p * p;
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b)
        for (int c = 0; c < p; ++c)
          P(c, a * p + b) += (dc * cs[phase(a, b, c)] + ds * sn[phase(a, b, c)]) / norm2;
  }
  return P;
}

}  // namespace

FourierLosses fourier_losses(const MatrixXd& logits, const std::vector<int>& labels,
                             const std::vector<char>& in_train, const std::vector<int>& freqs,
                             int p, int sign) {
  const int N = p * p;
  RFM_CHECK(logits.rows() == p && logits.cols() == N, "logits are %lldx%lld, expected %dx%d",
            (long long)logits.rows(), (long long)logits.cols(), p, N);
  RFM_CHECK(int(labels.size()) == N && int(in_train.size()) == N,
            "%zu labels and %zu train flags, expected p^2 = %d", labels.size(), in_train.size(), N);
  RFM_CHECK(sign == 1 || sign == -1, "sign %d must be +1 (add) or -1 (sub)", sign);
  for (int k : freqs)
    RFM_CHECK(k >= 1 && k <= p / 2, "key frequency %d is outside 1..%d", k, p / 2);
  const MatrixXd P = project_frequencies(logits, freqs, p, sign);
  const MatrixXd excluded = logits - P;
  const VectorXd class_mean = excluded.rowwise().mean();  // (p)
  const MatrixXd restricted = P.colwise() + class_mean;
  return {cross_entropy(restricted, labels, {}), cross_entropy(excluded, labels, in_train)};
}

}  // namespace rfm
