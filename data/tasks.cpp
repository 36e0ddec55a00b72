// Tasks, encodings, splits and number theory mod p (docs/algorithms.md 1.1, 1.3, 1.4, 1.6).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "data/data.h"

namespace rfm {

// --- Inputs ---------------------------------------------------------------------------------

MatrixXd Inputs::dense() const {
  if (!one_hot()) return X;
  MatrixXd out = MatrixXd::Zero(hot.rows(), d);
  for (int i = 0; i < hot.rows(); ++i)
    for (int s = 0; s < hot.cols(); ++s) out(i, hot(i, s)) += 1.0;
  return out;
}

Inputs Inputs::range(int start, int count) const {
  std::vector<int> idx(count);
  std::iota(idx.begin(), idx.end(), start);
  return rows(idx);
}

bool Inputs::same_points(const Inputs& o) const {
  return d == o.d && hot.rows() == o.hot.rows() && hot.cols() == o.hot.cols() &&
         X.rows() == o.X.rows() && X.cols() == o.X.cols() && hot == o.hot && X == o.X;
}

Inputs Inputs::rows(const std::vector<int>& idx) const {
  Inputs out;
  out.d = d;
  if (one_hot()) {
    out.hot.resize(idx.size(), hot.cols());
    for (size_t k = 0; k < idx.size(); ++k) out.hot.row(k) = hot.row(idx[k]);
  } else {
    out.X.resize(idx.size(), X.cols());
    for (size_t k = 0; k < idx.size(); ++k) out.X.row(k) = X.row(idx[k]);
  }
  return out;
}

Inputs Inputs::from_dense(MatrixXd X) {
  Inputs out;
  out.d = static_cast<int>(X.cols());
  out.X = std::move(X);
  return out;
}

Inputs Inputs::from_hot(IndexMatrix hot, int d) {
  Inputs out;
  out.d = d;
  out.hot = std::move(hot);
  return out;
}

Inputs Inputs::detect(MatrixXd X) {
  const int n = static_cast<int>(X.rows()), d = static_cast<int>(X.cols());
  if (n == 0) return from_dense(std::move(X));
  const int ones = static_cast<int>((X.row(0).array() == 1.0).count());
  bool binary = ones > 0 && (X.array() == 0.0 || X.array() == 1.0).all();
  for (int i = 0; binary && i < n; ++i) binary = (X.row(i).array() == 1.0).count() == ones;
  if (!binary) return from_dense(std::move(X));
  IndexMatrix hot(n, ones);
  for (int i = 0; i < n; ++i)
    for (int k = 0, s = 0; k < d; ++k)
      if (X(i, k) == 1.0) hot(i, s++) = k;
  return from_hot(std::move(hot), d);
}

// --- Tasks ----------------------------------------------------------------------------------

const char* to_string(Op op) {
  switch (op) {
    case Op::add:
      return "add";
    case Op::sub:
      return "sub";
    case Op::mul:
      return "mul";
    case Op::div:
      return "div";
  }
  return "?";
}

bool is_op_name(const std::string& name) {
  for (Op op : {Op::add, Op::sub, Op::mul, Op::div})
    if (name == to_string(op)) return true;
  return false;
}

Op op_from_string(const std::string& name) {
  for (Op op : {Op::add, Op::sub, Op::mul, Op::div})
    if (name == to_string(op)) return op;
  RFM_CHECK(false, "unknown task '%s' (known: add, sub, mul, div)", name.c_str());
  return Op::add;
}

Dataset make_pair_task(const std::string& name, int q, int b0,
                       const std::function<PairExample(int a, int b)>& example) {
  Dataset ds;
  ds.task = name;
  ds.p = ds.c = q;
  const int N = q * (q - b0);
  ds.inputs = Inputs::from_hot(IndexMatrix(N, 2), 2 * q);
  ds.operands.resize(N, 2);
  ds.labels.resize(N);
  int i = 0;
  for (int a = 0; a < q; ++a)
    for (int b = b0; b < q; ++b, ++i) {
      const PairExample e = example(a, b);
      ds.operands(i, 0) = ds.inputs.hot(i, 0) = e.x;
      ds.operands(i, 1) = e.y;
      ds.inputs.hot(i, 1) = q + e.y;
      ds.labels[i] = e.label;
    }
  return ds;
}

Dataset make_modular_task(Op op, int p) {
  RFM_CHECK(p >= 2 && p <= 100000, "--p %d is out of range (2..100000)", p);
  RFM_CHECK(is_prime(p), "--p %d is not prime (task %s works in the field Z_p)", p, to_string(op));
  auto mod = [p](int64_t v) { return static_cast<int>(((v % p) + p) % p); };
  return make_pair_task(to_string(op), p, op == Op::div ? 1 : 0, [&](int a, int b) {
    switch (op) {
      case Op::add:
        return PairExample{a, b, mod(a + b)};
      case Op::sub:
        return PairExample{a, b, mod(a - b)};
      case Op::mul:
        return PairExample{a, b, mod(int64_t(a) * b)};
      case Op::div:
        break;
    }
    return PairExample{mod(int64_t(a) * b), b, a};  // div: (a*b, b) -> a, no inverse needed
  });
}

MatrixXd one_hot_labels(const std::vector<int>& labels, const std::vector<int>& idx, int c) {
  MatrixXd Y = MatrixXd::Zero(idx.size(), c);
  for (size_t k = 0; k < idx.size(); ++k) Y(k, labels[idx[k]]) = 1.0;
  return Y;
}

// --- Splits ---------------------------------------------------------------------------------

// A seeded permutation of 0..N-1.
static std::vector<int> seeded_permutation(int N, uint64_t seed) {
  std::vector<int> perm(N);
  for (int i = 0; i < N; ++i) perm[i] = i;
  // Fisher-Yates with our own index draw: std::shuffle and uniform_int_distribution are
  // implementation-defined, and a split must be the same everywhere for a given seed.
  std::mt19937_64 gen(seed);
  for (int i = N - 1; i > 0; --i) {
    uint64_t bound = uint64_t(i) + 1, limit = UINT64_MAX - UINT64_MAX % bound, r;
    do r = gen();
    while (r >= limit);
    std::swap(perm[i], perm[r % bound]);
  }
  return perm;
}

std::vector<int> random_subset(int N, int k, uint64_t seed) {
  RFM_CHECK(k >= 1 && k <= N, "cannot draw %d of %d points", k, N);
  std::vector<int> perm = seeded_permutation(N, seed);
  perm.resize(k);
  std::sort(perm.begin(), perm.end());
  return perm;
}

Split random_split(int N, double frac, uint64_t seed) {
  RFM_CHECK(frac > 0.0 && frac <= 1.0, "--frac %g is outside (0, 1]", frac);
  const std::vector<int> perm = seeded_permutation(N, seed);
  const int n_train = static_cast<int>(std::floor(frac * N + 1e-9));
  RFM_CHECK(n_train >= 1, "--frac %g leaves no training points out of %d", frac, N);
  RFM_CHECK(frac == 1.0 || n_train < N, "--frac %g leaves no test points out of %d", frac, N);
  Split s;
  s.train.assign(perm.begin(), perm.begin() + n_train);
  s.test.assign(perm.begin() + n_train, perm.end());
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

// --- Number theory --------------------------------------------------------------------------

bool is_prime(int p) {
  if (p < 2) return false;
  for (int q = 2; int64_t(q) * q <= p; ++q)
    if (p % q == 0) return false;
  return true;
}

int mod_pow(int base, int exp, int p) {
  int64_t result = 1, b = ((int64_t(base) % p) + p) % p;
  for (; exp > 0; exp >>= 1, b = b * b % p)
    if (exp & 1) result = result * b % p;
  return static_cast<int>(result);
}

int mod_inverse(int a, int p) {
  RFM_ASSERT(a % p != 0);
  return mod_pow(a, p - 2, p);
}

int primitive_root(int p) {
  RFM_CHECK(is_prime(p), "%d is not prime: Z_%d^* has no primitive root here", p, p);
  if (p == 2) return 1;
  std::vector<int> factors;
  for (int n = p - 1, q = 2; n > 1; ++q) {
    if (int64_t(q) * q > n) q = n;
    if (n % q == 0) factors.push_back(q);
    while (n % q == 0) n /= q;
  }
  for (int g = 2; g < p; ++g) {
    bool ok = true;
    for (int q : factors) ok = ok && mod_pow(g, (p - 1) / q, p) != 1;
    if (ok) return g;
  }
  RFM_ASSERT(false);
  return 0;
}

std::vector<int> discrete_log_order(int p) {
  const int g = primitive_root(p);
  std::vector<int> order(p - 1);
  for (int i = 0, r = 1; i < p - 1; ++i, r = static_cast<int>(int64_t(r) * g % p)) order[i] = r;
  return order;
}

}  // namespace rfm
