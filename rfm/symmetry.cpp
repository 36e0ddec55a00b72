// Symmetry analysis of feature matrices (rfm.h): block decomposition, circulant deviation and
// Fourier spectrum per block over the task's group, the coefficients of M in the group algebra
// of Dih(A), distances to that algebra and to a commutant, feature norms and the orbit test.
// docs/algorithms.md 3.2 and 4 (Mallinar et al. 2407.20199 §3; Bernal, Mallinar, Belkin
// 2604.00316). Every R_g is an index map (DihedralGroup::image); none is built densely.
#include <algorithm>
#include <cmath>
#include <complex>
#include <numeric>
#include <set>

#include "rfm/rfm.h"

namespace rfm {

// --- Blocks ---------------------------------------------------------------------------------

BlockLayout block_layout(const DihedralGroup& G) {
  BlockLayout L;
  L.q = G.q;
  if (G.task == "mul" || G.task == "div") {
    L.symbols = discrete_log_order(G.q);
    L.group.factors = {G.q - 1};
  } else {
    L.symbols.resize(G.q);
    std::iota(L.symbols.begin(), L.symbols.end(), 0);
    if (G.table.order() > 0)
      L.table = G.table;
    else
      L.group = G.task == "group" ? G.abelian : AbelianGroup{{G.q}};
  }
  return L;
}

MatrixXd slot_block(const MatrixXd& M, const BlockLayout& L, int row_slot, int col_slot) {
  RFM_CHECK(M.rows() == 2 * L.q && M.cols() == 2 * L.q,
            "feature matrix is %dx%d, expected %dx%d for %d symbols per slot", int(M.rows()),
            int(M.cols()), 2 * L.q, 2 * L.q, L.q);
  const int m = static_cast<int>(L.symbols.size());
  MatrixXd B(m, m);
  for (int c = 0; c < m; ++c)
    for (int r = 0; r < m; ++r)
      B(r, c) = M(row_slot * L.q + L.symbols[r], col_slot * L.q + L.symbols[c]);
  return B;
}

double keyed_deviation(const MatrixXd& B, const BlockKey& key) {
  const int q = static_cast<int>(B.rows());
  RFM_ASSERT(B.cols() == q);
  const double norm2 = B.squaredNorm();
  if (norm2 == 0) return 0;
  std::vector<double> sum(q, 0.0), sq(q, 0.0);
  for (int c = 0; c < q; ++c)
    for (int r = 0; r < q; ++r) {
      const int k = key(r, c);
      sum[k] += B(r, c);
      sq[k] += B(r, c) * B(r, c);
    }
  double var_sum = 0;  // each class holds q entries: one per row
  for (int k = 0; k < q; ++k) var_sum += std::max(0.0, sq[k] / q - (sum[k] / q) * (sum[k] / q));
  return var_sum / norm2;
}

double group_circulant_deviation(const MatrixXd& B, const AbelianGroup& A, bool reversed) {
  const int q = A.order();
  RFM_CHECK(B.rows() == q && B.cols() == q, "block is %dx%d, the group %s has order %d",
            int(B.rows()), int(B.cols()), A.name().c_str(), q);
  if (reversed) return keyed_deviation(B, [&](int r, int c) { return A.add(r, c); });
  return keyed_deviation(B, [&](int r, int c) { return A.add(c, A.neg(r)); });
}

// --- Fourier spectrum -----------------------------------------------------------------------

namespace {

using MatrixXc = Eigen::MatrixXcd;

// Unitary DFT of A: F(k, r) = exp(-2 pi i sum_j k_j r_j / n_j) / sqrt(|A|).
MatrixXc group_dft(const AbelianGroup& A) {
  const int q = A.order();
  MatrixXc F(q, q);
  for (int k = 0; k < q; ++k) {
    const std::vector<int> dk = A.digits(k);
    for (int r = 0; r < q; ++r) {
      const std::vector<int> dr = A.digits(r);
      double turns = 0;
      for (size_t j = 0; j < dk.size(); ++j)
        turns += double(dk[j] * dr[j] % A.factors[j]) / A.factors[j];
      F(k, r) = std::polar(1.0 / std::sqrt(double(q)), -2 * M_PI * turns);
    }
  }
  return F;
}

// The non-constant classes, strongest first, that together hold `mass` of the energy outside
// class 0 (the constant part).
void dominant_classes(Spectrum& s, double mass) {
  std::vector<int> order(s.freq.size() - 1);
  std::iota(order.begin(), order.end(), 1);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return s.energy[a] > s.energy[b]; });
  const double rest = 1 - s.dc_share;
  double held = 0;
  for (int c : order) {
    if (held >= mass * rest || rest <= 0) break;
    s.dominant.push_back(s.freq[c]);
    held += s.energy[c];
  }
}

}  // namespace

Spectrum fourier_spectrum(const MatrixXd& B, const AbelianGroup& A, double mass) {
  const int q = A.order();
  RFM_CHECK(B.rows() == q && B.cols() == q, "block is %dx%d, the group %s has order %d",
            int(B.rows()), int(B.cols()), A.name().c_str(), q);
  const MatrixXc F = group_dft(A);
  const Eigen::MatrixXd P = (F * B.cast<std::complex<double>>() * F.adjoint()).cwiseAbs2();
  const double total = std::max(P.sum(), 1e-300);
  Spectrum s;
  for (int k = 0; k < q; ++k) {
    const int nk = A.neg(k);
    if (nk < k) continue;  // counted with its partner
    double e = 0.5 * (P.row(k).sum() + P.col(k).sum());
    if (nk != k) e += 0.5 * (P.row(nk).sum() + P.col(nk).sum());
    s.freq.push_back(k);
    s.energy.push_back(e / total);
  }
  s.dc_share = s.energy[0];
  dominant_classes(s, mass);
  return s;
}

Spectrum element_spectrum(const MatrixXd& B, const BlockKey& key, double mass) {
  const int q = static_cast<int>(B.rows());
  VectorXd f = VectorXd::Zero(q);  // class means: the block's group-algebra coefficients
  for (int c = 0; c < q; ++c)
    for (int r = 0; r < q; ++r) f(key(r, c)) += B(r, c) / q;
  const double m = f.mean(), total = std::max(f.squaredNorm(), 1e-300);
  Spectrum s;
  s.freq.push_back(-1);  // the constant part
  s.energy.push_back(q * m * m / total);
  for (int g = 0; g < q; ++g) {
    s.freq.push_back(g);
    s.energy.push_back((f(g) - m) * (f(g) - m) / total);
  }
  s.dc_share = s.energy[0];
  dominant_classes(s, mass);
  return s;
}

namespace {

// The four keys of a block over a Cayley table: quotients r^-1 c, c r^-1 and products r c, c r.
struct TableKeys {
  const FiniteGroup& G;
  std::vector<int> inv;
  explicit TableKeys(const FiniteGroup& g) : G(g), inv(g.order()) {
    for (int a = 0; a < g.order(); ++a) inv[a] = g.inverse(a);
  }
  BlockKey key(int which) const {
    switch (which) {
      case 0:
        return [this](int r, int c) { return G.mul(inv[r], c); };
      case 1:
        return [this](int r, int c) { return G.mul(c, inv[r]); };
      case 2:
        return [this](int r, int c) { return G.mul(r, c); };
      default:
        return [this](int r, int c) { return G.mul(c, r); };
    }
  }
};

const char* kTableKeyNames[4] = {"r^-1 c", "c r^-1", "r c", "c r"};

// circ_dev: the better quotient key (group algebra of the right or left regular
// representation); circ_dev_rev: the better product key; the spectrum over the best of all.
void table_block(BlockReport& r, const MatrixXd& B, const FiniteGroup& G) {
  const TableKeys keys(G);
  double dev[4];
  for (int k = 0; k < 4; ++k) dev[k] = keyed_deviation(B, keys.key(k));
  r.circ_dev = std::min(dev[0], dev[1]);
  r.circ_dev_rev = std::min(dev[2], dev[3]);
  const int best = int(std::min_element(dev, dev + 4) - dev);
  r.key = kTableKeyNames[best];
  r.spectrum = element_spectrum(B, keys.key(best));
}

}  // namespace

std::vector<BlockReport> block_reports(const MatrixXd& M, const BlockLayout& L) {
  std::vector<BlockReport> out;
  double total = 0;
  for (int rs = 0; rs < 2; ++rs)
    for (int cs = 0; cs < 2; ++cs) {
      BlockReport r;
      r.row_slot = rs;
      r.col_slot = cs;
      r.name = std::string(1, "ab"[rs]) + "," + "ab"[cs];
      const MatrixXd B = slot_block(M, L, rs, cs);
      r.norm_share = B.squaredNorm();
      total += r.norm_share;
      if (L.table.order() > 0) {
        table_block(r, B, L.table);
      } else {
        r.circ_dev = group_circulant_deviation(B, L.group, false);
        r.circ_dev_rev = group_circulant_deviation(B, L.group, true);
        r.spectrum = fourier_spectrum(B, L.group);
      }
      out.push_back(r);
    }
  for (BlockReport& r : out) r.norm_share /= std::max(total, 1e-300);
  return out;
}

// --- Group algebra --------------------------------------------------------------------------

MatrixXd normalize_by_diagonal(const MatrixXd& M) {
  VectorXd s = M.diagonal();
  for (Eigen::Index i = 0; i < s.size(); ++i) s(i) = s(i) > 0 ? 1 / std::sqrt(s(i)) : 1.0;
  return s.asDiagonal() * M * s.asDiagonal();
}

namespace {

void check_group_shape(const Eigen::Ref<const MatrixXd>& M, const DihedralGroup& G) {
  RFM_CHECK(M.rows() == 2 * G.q && M.cols() == 2 * G.q,
            "feature matrix is %dx%d, expected %dx%d for %s with %d symbols per slot",
            int(M.rows()), int(M.cols()), 2 * G.q, 2 * G.q, G.task.c_str(), G.q);
}

}  // namespace

MatrixXd restrict_to_group(const MatrixXd& M, const DihedralGroup& G) {
  check_group_shape(M, G);
  const int m = static_cast<int>(G.coords.size());
  MatrixXd S(m, m);
  for (int j = 0; j < m; ++j)
    for (int i = 0; i < m; ++i) S(i, j) = M(G.coords[i], G.coords[j]);
  return S;
}

namespace {

// pos[coordinate] = its position in G.coords, -1 outside.
std::vector<int> coord_positions(const DihedralGroup& G) {
  std::vector<int> pos(2 * G.q, -1);
  for (size_t i = 0; i < G.coords.size(); ++i) pos[G.coords[i]] = static_cast<int>(i);
  return pos;
}

// perm[i] = position of R_e e_{coords[i]} in coords: the permutation of the subspace by e.
std::vector<int> subspace_perm(const DihedralGroup& G, const std::vector<int>& pos, int e) {
  std::vector<int> perm(G.coords.size());
  for (size_t i = 0; i < G.coords.size(); ++i) {
    perm[i] = pos[G.image(G.coords[i], e)];
    RFM_ASSERT(perm[i] >= 0);
  }
  return perm;
}

// The permutations of all elements (2n * 2n ints: one at a time where memory matters).
std::vector<std::vector<int>> subspace_perms(const DihedralGroup& G) {
  const std::vector<int> pos = coord_positions(G);
  std::vector<std::vector<int>> perm;
  for (int e = 0; e < G.elements(); ++e) perm.push_back(subspace_perm(G, pos, e));
  return perm;
}

}  // namespace

VectorXd group_coefficients(const Eigen::Ref<const MatrixXd>& M, const DihedralGroup& G) {
  check_group_shape(M, G);
  const std::vector<int> pos = coord_positions(G);
  const std::vector<int>& at = G.coords;  // read M in place: no copy of the analysed block
  VectorXd alpha(G.elements());
  for (int e = 0; e < G.elements(); ++e) {
    const std::vector<int> perm = subspace_perm(G, pos, e);
    double dot = 0;  // <M, R_e>_F = sum_i M(pi(i), i), since R_e has its ones at (pi(i), i)
    for (size_t i = 0; i < perm.size(); ++i) dot += M(at[perm[i]], at[i]);
    alpha(e) = dot / double(G.coords.size());
  }
  return alpha;
}

MatrixXd group_projection(const VectorXd& alpha, const DihedralGroup& G) {
  const std::vector<int> pos = coord_positions(G);
  const int m = static_cast<int>(G.coords.size());
  MatrixXd P = MatrixXd::Zero(m, m);
  for (int e = 0; e < G.elements(); ++e) {
    const std::vector<int> perm = subspace_perm(G, pos, e);
    for (int i = 0; i < m; ++i) P(perm[i], i) += alpha(e);
  }
  return P;
}

namespace {

// <R_g, R_h>_F for all pairs: the coordinates where g and h agree.
MatrixXd permutation_gram(const DihedralGroup& G) {
  const int E = G.elements();
  MatrixXd gram = MatrixXd::Zero(E, E);
  for (int g = 0; g < E; ++g)
    for (int h = g; h < E; ++h) {
      int agree = 0;
      for (int i : G.coords) agree += G.image(i, g) == G.image(i, h);
      gram(g, h) = gram(h, g) = agree;
    }
  return gram;
}

}  // namespace

double group_algebra_distance(const MatrixXd& M, const DihedralGroup& G) {
  const MatrixXd S = restrict_to_group(M, G);
  const double norm = S.norm();
  if (norm == 0) return 0;
  VectorXd coef = group_coefficients(M, G);
  // Dih(A) acts freely, so its R_g are orthogonal and alpha is the projection's coefficient
  // vector; where some g and h agree on a coordinate (a -> -a fixes 0) they overlap and the
  // projection onto their span is the least-squares fit (R_g may even be dependent).
  const MatrixXd gram = permutation_gram(G);
  const double dim = double(G.coords.size());
  if (!gram.isApprox(dim * MatrixXd::Identity(gram.rows(), gram.cols())))
    coef = gram.completeOrthogonalDecomposition().solve(dim * coef);
  return (S - group_projection(coef, G)).norm() / norm;
}

std::vector<int> generated_subgroup(const DihedralGroup& G, const std::vector<int>& gens) {
  std::set<int> H = {0};  // element 0 is r^(identity)
  std::vector<int> frontier = {0};
  while (!frontier.empty()) {
    const int h = frontier.back();
    frontier.pop_back();
    for (int g : gens) {
      const int gh = G.compose(g, h);
      if (H.insert(gh).second) frontier.push_back(gh);
    }
  }
  return std::vector<int>(H.begin(), H.end());
}

double commutant_distance(const MatrixXd& M, const DihedralGroup& G, const std::vector<int>& H) {
  RFM_CHECK(!H.empty(), "the commutant needs a non-empty subgroup");
  const MatrixXd S = restrict_to_group(M, G);
  const auto perm = subspace_perms(G);
  const int m = static_cast<int>(S.rows());
  MatrixXd avg = MatrixXd::Zero(m, m);
  for (int g : H)  // (R_g^T M R_g)(i, j) = M(pi(i), pi(j))
    for (int j = 0; j < m; ++j)
      for (int i = 0; i < m; ++i) avg(i, j) += S(perm[g][i], perm[g][j]);
  avg /= double(H.size());
  const double norm = S.norm();
  return norm == 0 ? 0 : (S - avg).norm() / norm;
}

// --- The invariance group of a run's task ----------------------------------------------------

RunTask run_task(const std::string& task, int p, const std::string& group) {
  RunTask t;
  if (task == "group") {
    RFM_CHECK(!group.empty(), "--task group needs --group (e.g. 3x7, S4, D5)");
    if (is_abelian_product_spec(group)) {
      t.abelian = parse_abelian_group(group);
      t.ds = make_group_task(t.abelian);
      t.G = dihedral_group(t.abelian);
      t.group_name = "Dih(A)";
    } else {
      const FiniteGroup T = parse_group(group);
      t.ds = make_group_task(T);
      t.G = dihedral_group(T);
      t.group_name = T.is_abelian() ? "Dih(G) from the Cayley table"
                                    : "G by (a, b) -> (a g, g^-1 b), from the Cayley table";
    }
    return t;
  }
  RFM_CHECK(p > 0, "--task %s needs --p", task.c_str());
  if (is_op_name(task)) {
    t.ds = make_modular_task(op_from_string(task), p);
    t.G = dihedral_group_of(t.ds);
    t.group_name = "Dih(A)";
    return t;
  }
  t.ds = make_task(task, p);
  RFM_CHECK(t.ds.inputs.one_hot() && t.ds.inputs.hot.cols() == 2 && t.ds.inputs.d == 2 * p,
            "task %s: the symmetry analysis needs two operand slots of p symbols (a "
            "modular operation, a polynomial, system or group); this task has %d slots and d = %d",
            task.c_str(), int(t.ds.inputs.hot.cols()), t.ds.inputs.d);
  t.G = affine_invariance_group(t.ds);
  t.group_name = "affine slot maps that keep every label";
  return t;
}

DihedralGroup invariance_group(const std::string& task, int p, const std::string& group) {
  if (task == "group" && !group.empty())
    return is_abelian_product_spec(group) ? dihedral_group(parse_abelian_group(group))
                                          : dihedral_group(parse_group(group));
  if (is_op_name(task)) return dihedral_group(op_from_string(task), p);
  return run_task(task, p, group).G;
}

std::string RunTask::name() const {
  if (ds.task != "group") return ds.task + " mod " + std::to_string(ds.p);
  const std::string n = abelian.factors.empty() ? G.table.name : "Z_" + abelian.name();
  return "group " + n + " (order " + std::to_string(ds.p) + ")";
}

// --- Feature norms and the orbit test -------------------------------------------------------

VectorXd feature_norms(const MatrixXd& M, const Inputs& X) {
  RFM_CHECK(M.cols() == X.d, "feature matrix has %d columns, the inputs %d coordinates",
            int(M.cols()), X.d);
  VectorXd out(X.n());
  if (X.one_hot()) {
    VectorXd mx(M.rows());
    for (int i = 0; i < X.n(); ++i) {
      mx.setZero();
      for (int s = 0; s < X.hot.cols(); ++s) mx += M.col(X.hot(i, s));
      out(i) = mx.norm();
    }
  } else {
    out = (X.X * M.transpose()).rowwise().norm();  // rows of X M^T are (M x_i)^T
  }
  return out;
}

std::vector<char> reflected_test_points(const Dataset& ds, const Split& split,
                                        const DihedralGroup& G, int element) {
  const std::vector<int> at = pair_lookup(ds, G.q);
  std::vector<char> in_train(ds.N(), 0), out;
  for (int i : split.train) in_train[i] = 1;
  for (int i : split.test) {
    const auto [u, v] = G.apply(element, ds.operands(i, 0), ds.operands(i, 1));
    const int j = u < 0 ? -1 : at[size_t(u) * G.q + v];
    out.push_back(j >= 0 && in_train[j]);
  }
  return out;
}

OrbitResult orbit_scores(const std::vector<char>& correct, const std::vector<char>& reflected) {
  RFM_ASSERT(correct.size() == reflected.size());
  OrbitResult r;
  r.n_test = static_cast<int>(correct.size());
  for (size_t t = 0; t < correct.size(); ++t) {
    r.correct += correct[t] != 0;
    r.reflected += reflected[t] != 0;
    r.both += correct[t] && reflected[t];
  }
  if (r.correct > 0) r.precision = double(r.both) / r.correct;
  if (r.reflected > 0) r.recall = double(r.both) / r.reflected;
  return r;
}

OrbitResult orbit_test(const MachineOptions& mo, const MatrixXd& M, const Dataset& ds,
                       const Split& split, const DihedralGroup& G, int element) {
  RFM_CHECK(!split.train.empty() && !split.test.empty(),
            "the orbit test needs training and test points (%zu, %zu)", split.train.size(),
            split.test.size());
  std::unique_ptr<KernelMachine> km = KernelMachine::create(mo, Backend::cpu);
  km->set_data(ds.inputs.rows(split.train), one_hot_labels(ds.labels, split.train, ds.c));
  km->fit(M);
  const MatrixXd pred = km->predict(ds.inputs.rows(split.test));  // (n_test, c)
  std::vector<char> correct(split.test.size());
  for (size_t t = 0; t < split.test.size(); ++t) {
    Eigen::Index arg;
    pred.row(t).maxCoeff(&arg);
    correct[t] = arg == ds.labels[split.test[t]];
  }
  return orbit_scores(correct, reflected_test_points(ds, split, G, element));
}

}  // namespace rfm
