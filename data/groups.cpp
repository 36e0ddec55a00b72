// Abelian product tasks, the dihedral invariance group Dih(A) of every task as index maps, and
// the symmetric splits built from it (data.h; docs/algorithms.md 1.2, 1.5 and 4.1; Bernal,
// Mallinar, Belkin, arXiv 2604.00316).
//
// Every group element permutes the 2q input coordinates slot by slot, so it is stored as one
// column of coordinate images; a pair (u, v) maps to the images of coordinates u and q + v.
// Project choices, where the table of docs/algorithms.md 4.1 is silent:
// - mul: the maps also act on residue 0 (0 * k = 0), so (0, 0) is a fixed point of every
//   reflection and a degenerate split of mul tests p pairs; the group algebra is analysed on
//   the coordinates of Z_p^* only (coords), where the R_g tile the grid.
// - div: reflections are undefined on u = 0 (no inverse); such pairs are never fixed points.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <sstream>

#include "data/data.h"

namespace rfm {

// --- Abelian product groups -----------------------------------------------------------------

int AbelianGroup::order() const {
  int n = 1;
  for (int f : factors) n *= f;
  return n;
}

std::vector<int> AbelianGroup::digits(int x) const {
  std::vector<int> d(factors.size());
  for (int i = static_cast<int>(factors.size()) - 1; i >= 0; --i) {
    d[i] = x % factors[i];
    x /= factors[i];
  }
  return d;
}

int AbelianGroup::index(const std::vector<int>& d) const {
  int x = 0;
  for (size_t i = 0; i < factors.size(); ++i) x = x * factors[i] + d[i];
  return x;
}

int AbelianGroup::add(int x, int y) const {
  std::vector<int> dx = digits(x), dy = digits(y);
  for (size_t i = 0; i < factors.size(); ++i) dx[i] = (dx[i] + dy[i]) % factors[i];
  return index(dx);
}

int AbelianGroup::neg(int x) const {
  std::vector<int> d = digits(x);
  for (size_t i = 0; i < factors.size(); ++i) d[i] = (factors[i] - d[i]) % factors[i];
  return index(d);
}

std::string AbelianGroup::name() const {
  std::string s;
  for (size_t i = 0; i < factors.size(); ++i) s += (i ? "x" : "") + std::to_string(factors[i]);
  return s;
}

AbelianGroup parse_abelian_group(const std::string& spec) {
  AbelianGroup G;
  std::string text = spec;
  std::replace(text.begin(), text.end(), ',', 'x');
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, 'x');) {
    size_t used = 0;
    int f = 0;
    try {
      f = std::stoi(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    RFM_CHECK(used == part.size() && !part.empty() && f >= 2,
              "--group '%s': factor '%s' is not an integer >= 2 (expected e.g. 3x7)", spec.c_str(),
              part.c_str());
    G.factors.push_back(f);
  }
  RFM_CHECK(!G.factors.empty() && text.back() != 'x',
            "--group '%s' has an empty factor (expected e.g. 3x7)", spec.c_str());
  RFM_CHECK(G.order() <= 20000, "--group '%s' has order %d, more than 20000", spec.c_str(),
            G.order());
  return G;
}

Dataset make_group_task(const AbelianGroup& G) {
  return make_pair_task("group", G.order(), 0, [&](int a, int b) {
    return PairExample{a, b, G.add(a, b)};
  });
}

// --- Finite groups as Cayley tables ----------------------------------------------------------

namespace {

constexpr int kMaxGroupOrder = 2000;  // built-in and generated groups: 4M pairs, 16 MB table
constexpr int kMaxTableOrder = 1000;  // table:FILE, whose associativity check is O(N^3)

using Perm = std::vector<int>;

// (a * b)(i) = a(b(i)): b is applied first.
Perm compose_perms(const Perm& a, const Perm& b) {
  Perm c(b.size());
  for (size_t i = 0; i < b.size(); ++i) c[i] = a[b[i]];
  return c;
}

// The Cayley table of a list of permutations closed under composition, identity first.
FiniteGroup perm_table(const std::vector<Perm>& elems, const std::string& name) {
  std::map<Perm, int> index;
  for (size_t i = 0; i < elems.size(); ++i) index[elems[i]] = static_cast<int>(i);
  const int N = static_cast<int>(elems.size());
  FiniteGroup G;
  G.name = name;
  G.table.resize(N, N);
  for (int a = 0; a < N; ++a)
    for (int b = 0; b < N; ++b) G.table(a, b) = index.at(compose_perms(elems[a], elems[b]));
  G.identity = 0;  // both callers list the identity permutation first
  return G;
}

// A whole decimal integer, or throws InputError with `what` naming the context.
int parse_int(const std::string& text, const std::string& what) {
  size_t used = 0;
  int v = -1;
  try {
    v = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  RFM_CHECK(used == text.size() && !text.empty(), "%s: '%s' is not an integer", what.c_str(),
            text.c_str());
  return v;
}

}  // namespace

int FiniteGroup::inverse(int a) const {
  for (int b = 0; b < order(); ++b)
    if (table(a, b) == identity) return b;
  RFM_ASSERT(false);
  return -1;
}

bool FiniteGroup::is_abelian() const {
  return table == table.transpose();
}

FiniteGroup symmetric_group(int n) {
  RFM_CHECK(n >= 2 && n <= 6, "--group S%d: S_n is available for n = 2..6", n);
  std::vector<Perm> elems;
  Perm p(n);
  for (int i = 0; i < n; ++i) p[i] = i;
  do elems.push_back(p);
  while (std::next_permutation(p.begin(), p.end()));
  return perm_table(elems, "S" + std::to_string(n));
}

FiniteGroup dihedral_cayley_group(int n) {
  RFM_CHECK(n >= 1 && 2 * n <= kMaxGroupOrder, "--group D%d: D_n is available for n = 1..%d", n,
            kMaxGroupOrder / 2);
  FiniteGroup G;
  G.name = "D" + std::to_string(n);
  G.table.resize(2 * n, 2 * n);
  // r^i r^j = r^(i+j), r^i s r^j = s r^(j-i), s r^i r^j = s r^(i+j), s r^i s r^j = r^(j-i).
  for (int a = 0; a < 2 * n; ++a)
    for (int b = 0; b < 2 * n; ++b) {
      const int i = a % n, j = b % n;
      const bool sa = a >= n, sb = b >= n;
      const int k = sb ? (j - i + n) % n : (i + j) % n;
      G.table(a, b) = (sa != sb ? n : 0) + k;
    }
  return G;
}

FiniteGroup permutation_group(const std::string& text) {
  const std::string what = "--group perm:" + text;
  std::vector<Perm> gens;
  std::stringstream ss(text);
  for (std::string part; std::getline(ss, part, ';');) {
    Perm g;
    std::stringstream ps(part);
    for (std::string field; std::getline(ps, field, ',');) g.push_back(parse_int(field, what));
    Perm sorted = g;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i)
      RFM_CHECK(sorted[i] == static_cast<int>(i),
                "%s: generator '%s' is not a permutation of 0..%zu (image list, e.g. 1,2,0)",
                what.c_str(), part.c_str(), g.size() - 1);
    RFM_CHECK(!g.empty() && (gens.empty() || g.size() == gens[0].size()),
              "%s: generator '%s' does not act on %zu points like the first", what.c_str(),
              part.c_str(), gens.empty() ? size_t(0) : gens[0].size());
    gens.push_back(g);
  }
  RFM_CHECK(!gens.empty(), "%s: no generators (expected e.g. perm:1,0,2;1,2,0)", what.c_str());
  Perm id(gens[0].size());
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<int>(i);
  std::vector<Perm> elems{id};
  std::map<Perm, int> seen{{id, 0}};
  for (size_t x = 0; x < elems.size(); ++x)
    for (const Perm& g : gens) {
      Perm y = compose_perms(elems[x], g);
      if (seen.count(y)) continue;
      RFM_CHECK(static_cast<int>(elems.size()) < kMaxGroupOrder,
                "%s generates a group of order more than %d", what.c_str(), kMaxGroupOrder);
      seen[y] = static_cast<int>(elems.size());
      elems.push_back(std::move(y));
    }
  return perm_table(elems, "perm:" + text);
}

FiniteGroup cayley_group(const IndexMatrix& T, const std::string& name) {
  const int N = static_cast<int>(T.rows());
  RFM_CHECK(N >= 1 && T.cols() == N,
            "%s: a Cayley table must be a square N x N matrix, not %d x %d", name.c_str(), N,
            static_cast<int>(T.cols()));
  RFM_CHECK(N <= kMaxTableOrder, "%s: order %d is more than %d", name.c_str(), N, kMaxTableOrder);
  for (int a = 0; a < N; ++a)
    for (int b = 0; b < N; ++b)
      RFM_CHECK(T(a, b) >= 0 && T(a, b) < N,
                "%s is not closed: entry (row %d, column %d) = %d is not an index in 0..%d",
                name.c_str(), a, b, T(a, b), N - 1);
  int e = -1;
  for (int c = 0; c < N && e < 0; ++c) {
    bool ok = true;
    for (int x = 0; x < N && ok; ++x) ok = T(c, x) == x && T(x, c) == x;
    if (ok) e = c;
  }
  RFM_CHECK(e >= 0, "%s has no identity (no e with e*x = x*e = x for every x)", name.c_str());
  for (int a = 0; a < N; ++a) {
    bool found = false;
    for (int b = 0; b < N && !found; ++b) found = T(a, b) == e && T(b, a) == e;
    RFM_CHECK(found, "%s: element %d has no inverse (no b with %d*b = b*%d = %d, the identity)",
              name.c_str(), a, a, a, e);
  }
  for (int a = 0; a < N; ++a)
    for (int b = 0; b < N; ++b)
      for (int c = 0; c < N; ++c)
        RFM_CHECK(T(T(a, b), c) == T(a, T(b, c)),
                  "%s is not associative: (%d*%d)*%d = %d but %d*(%d*%d) = %d", name.c_str(), a, b,
                  c, T(T(a, b), c), a, b, c, T(a, T(b, c)));
  FiniteGroup G;
  G.name = name;
  G.table = T;
  G.identity = e;
  return G;
}

FiniteGroup load_cayley_table(const std::string& path) {
  const std::string name = "table:" + path;
  const MatrixXd M = load_matrix(path);
  const Eigen::Index N = M.rows();
  RFM_CHECK(N >= 1 && M.cols() == N,
            "%s: a Cayley table must be a square N x N matrix, not %d x %d", name.c_str(),
            static_cast<int>(N), static_cast<int>(M.cols()));
  IndexMatrix T(N, N);
  for (Eigen::Index a = 0; a < N; ++a)
    for (Eigen::Index b = 0; b < N; ++b) {
      const double v = M(a, b);
      RFM_CHECK(v == std::floor(v) && v >= 0 && v < double(N),
                "%s is not closed: entry (row %d, column %d) = %g is not an index in 0..%d",
                name.c_str(), static_cast<int>(a), static_cast<int>(b), v, static_cast<int>(N) - 1);
      T(a, b) = static_cast<int>(v);
    }
  return cayley_group(T, name);
}

bool is_abelian_product_spec(const std::string& spec) {
  return !spec.empty() && std::isdigit(static_cast<unsigned char>(spec[0]));
}

FiniteGroup parse_group(const std::string& spec) {
  if (spec.rfind("table:", 0) == 0) return load_cayley_table(spec.substr(6));
  if (spec.rfind("perm:", 0) == 0) return permutation_group(spec.substr(5));
  if (is_abelian_product_spec(spec)) {
    const AbelianGroup A = parse_abelian_group(spec);
    RFM_CHECK(A.order() <= kMaxGroupOrder, "--group '%s': order %d is more than %d as a table",
              spec.c_str(), A.order(), kMaxGroupOrder);
    FiniteGroup G;
    G.name = A.name();
    G.table.resize(A.order(), A.order());
    for (int a = 0; a < A.order(); ++a)
      for (int b = 0; b < A.order(); ++b) G.table(a, b) = A.add(a, b);
    return G;
  }
  const bool named = spec.size() >= 2 && (spec[0] == 'S' || spec[0] == 'D') &&
                     std::all_of(spec.begin() + 1, spec.end(), [](char ch) {
                       return std::isdigit(static_cast<unsigned char>(ch));
                     });
  RFM_CHECK(named && spec.size() <= 6,
            "--group '%s': expected an abelian product (3x7), S<n> (S4), D<n> (D5), "
            "perm:GENERATORS (perm:1,0,2;1,2,0) or table:FILE (.npy or .csv)",
            spec.c_str());
  const int n = std::stoi(spec.substr(1));
  return spec[0] == 'S' ? symmetric_group(n) : dihedral_cayley_group(n);
}

Dataset make_group_task(const FiniteGroup& G) {
  return make_pair_task("group", G.order(), 0, [&](int a, int b) {
    return PairExample{a, b, G.mul(a, b)};
  });
}

// --- Dih(A) as coordinate maps --------------------------------------------------------------

namespace {

// Symbol map of one slot: (target slot, target symbol) of symbol u of slot `slot` under the
// rotation (refl = false) or reflection with parameter k; target symbol -1 where undefined.
using SymbolMap = std::pair<int, int> (*)(int slot, int u, int k, bool refl, int p);

int mod(int64_t x, int p) {
  return static_cast<int>(((x % p) + p) % p);
}

std::pair<int, int> add_map(int slot, int u, int k, bool refl, int p) {
  const int v = slot == 0 ? mod(int64_t(u) + k, p) : mod(int64_t(u) - k, p);
  return {refl ? 1 - slot : slot, v};
}

std::pair<int, int> sub_map(int slot, int u, int k, bool refl, int p) {
  if (!refl) return {slot, mod(int64_t(u) + k, p)};
  return {1 - slot, mod(-int64_t(u) - k, p)};
}

std::pair<int, int> mul_map(int slot, int u, int k, bool refl, int p) {
  const int v = slot == 0 ? mod(int64_t(u) * k, p) : mod(int64_t(u) * mod_inverse(k, p), p);
  return {refl ? 1 - slot : slot, v};
}

std::pair<int, int> div_map(int slot, int u, int k, bool refl, int p) {
  const int uk = mod(int64_t(u) * k, p);
  if (!refl) return {slot, uk};
  return {1 - slot, uk == 0 ? -1 : mod_inverse(uk, p)};
}

// Fills param, image and coords from a symbol map; first = the first symbol of the analysed
// coordinates (0, or 1 for Z_p^*).
void fill_maps(DihedralGroup& G, const std::vector<int>& params, int first,
               const std::function<std::pair<int, int>(int, int, int, bool)>& map,
               bool reflections = true) {
  G.n = static_cast<int>(params.size());
  G.param = params;
  G.image = IndexMatrix::Constant(2 * G.q, (reflections ? 2 : 1) * G.n, -1);
  for (int e = 0; e < G.elements(); ++e)
    for (int slot = 0; slot < 2; ++slot)
      for (int u = 0; u < G.q; ++u) {
        const auto [ts, tu] = map(slot, u, G.param[e % G.n], e >= G.n);
        if (tu >= 0) G.image(slot * G.q + u, e) = ts * G.q + tu;
      }
  for (int slot = 0; slot < 2; ++slot)
    for (int u = first; u < G.q; ++u) G.coords.push_back(slot * G.q + u);
}

}  // namespace

DihedralGroup dihedral_group(Op op, int p) {
  RFM_CHECK(is_prime(p), "--p %d is not prime (task %s works in the field Z_p)", p, to_string(op));
  DihedralGroup G;
  G.task = to_string(op);
  G.q = p;
  const bool multiplicative = op == Op::mul || op == Op::div;
  G.identity_param = multiplicative ? 1 : 0;
  std::vector<int> params;
  for (int k = G.identity_param; k < p; ++k) params.push_back(k);
  SymbolMap fn = op == Op::add   ? add_map
                 : op == Op::sub ? sub_map
                 : op == Op::mul ? mul_map
                                 : div_map;
  fill_maps(G, params, G.identity_param,
            [fn, p](int slot, int u, int k, bool refl) { return fn(slot, u, k, refl, p); });
  return G;
}

DihedralGroup dihedral_group(const AbelianGroup& A) {
  DihedralGroup G;
  G.task = "group";
  G.q = A.order();
  G.abelian = A;
  std::vector<int> params(G.q);
  for (int k = 0; k < G.q; ++k) params[k] = k;
  fill_maps(G, params, 0, [&A](int slot, int u, int k, bool refl) {
    const int v = slot == 0 ? A.add(u, k) : A.add(u, A.neg(k));
    return std::make_pair(refl ? 1 - slot : slot, v);
  });
  return G;
}

DihedralGroup dihedral_group(const FiniteGroup& T) {
  DihedralGroup G;
  G.task = "group";
  G.q = T.order();
  G.table = T;
  G.identity_param = T.identity;
  std::vector<int> params(G.q);
  for (int k = 0; k < G.q; ++k) params[k] = k;
  std::vector<int> inv(G.q);
  for (int k = 0; k < G.q; ++k) inv[k] = T.inverse(k);
  fill_maps(
      G, params, 0,
      [&](int slot, int u, int k, bool refl) {
        // r^k: a -> a k, b -> k^-1 b; sr^k (abelian only): a -> slot b as a k, b -> slot a as
        // b k^-1, so that (a, b) -> (b k^-1, a k).
        const int v = slot == 0 ? T.mul(u, k) : refl ? T.mul(u, inv[k]) : T.mul(inv[k], u);
        return std::make_pair(refl ? 1 - slot : slot, v);
      },
      T.is_abelian());
  return G;
}

namespace {

// "3a+1", "-b", "b-2": the term s x + t mod p, with t written as the nearer of t and t - p.
std::string affine_term(int s, int t, char x, int p) {
  std::string out = s == 1 ? "" : s == p - 1 ? "-" : std::to_string(s);
  out += x;
  if (t != 0) out += t <= p / 2 ? "+" + std::to_string(t) : std::to_string(t - p);
  return out;
}

struct AffineMap {
  int s0, t0, s1, t1;  // slot 0 symbol u -> s0 u + t0, slot 1 symbol v -> s1 v + t1
  bool swap;           // the images trade slots
};

bool keeps_labels(const AffineMap& m, const Dataset& ds, const std::vector<int>& at, int p) {
  for (int i = 0; i < ds.N(); ++i) {
    const int u = mod(int64_t(m.s0) * ds.operands(i, 0) + m.t0, p);
    const int v = mod(int64_t(m.s1) * ds.operands(i, 1) + m.t1, p);
    const int j = m.swap ? at[size_t(v) * p + u] : at[size_t(u) * p + v];
    if (j < 0 || ds.labels[j] != ds.labels[i]) return false;
  }
  return true;
}

}  // namespace

DihedralGroup affine_invariance_group(const Dataset& ds) {
  const int p = ds.p;
  RFM_CHECK(ds.inputs.one_hot() && ds.inputs.hot.cols() == 2 && ds.inputs.d == 2 * p &&
                ds.operands.cols() == 2,
            "task %s: the affine invariance group needs two slots of %d symbols", ds.task.c_str(),
            p);
  const std::vector<int> at = pair_lookup(ds, p);
  std::vector<AffineMap> kept[2];  // slot-keeping maps, then slot-swapping ones
  for (int swap = 0; swap < 2; ++swap)
    for (int s0 = 1; s0 < p; ++s0)
      for (int s1 = 1; s1 < p; ++s1)
        for (int t0 = 0; t0 < p; ++t0)
          for (int t1 = 0; t1 < p; ++t1) {
            const AffineMap m{s0, t0, s1, t1, swap == 1};
            if (keeps_labels(m, ds, at, p)) kept[swap].push_back(m);
          }
  DihedralGroup G;
  G.task = ds.task;
  G.q = p;
  G.n = static_cast<int>(kept[0].size());
  G.image = IndexMatrix::Constant(2 * p, G.n + int(kept[1].size()), -1);
  int e = 0;
  for (int swap = 0; swap < 2; ++swap)
    for (const AffineMap& m : kept[swap]) {
      G.param.push_back(e % std::max(G.n, 1));
      for (int u = 0; u < p; ++u) {
        G.image(u, e) = (swap ? p : 0) + mod(int64_t(m.s0) * u + m.t0, p);
        G.image(p + u, e) = (swap ? 0 : p) + mod(int64_t(m.s1) * u + m.t1, p);
      }
      const std::string a = affine_term(m.s0, m.t0, 'a', p), b = affine_term(m.s1, m.t1, 'b', p);
      G.names.push_back("(" + (swap ? b + ", " + a : a + ", " + b) + ")");
      ++e;
    }
  G.param.resize(G.n);
  for (int u = 0; u < 2 * p; ++u) G.coords.push_back(u);
  return G;
}

DihedralGroup dihedral_group_of(const Dataset& ds, const AbelianGroup* A) {
  if (ds.task == "group") {
    RFM_CHECK(A != nullptr && A->order() == ds.p,
              "the invariance group of a group task needs its factors (--group)");
    return dihedral_group(*A);
  }
  return dihedral_group(op_from_string(ds.task), ds.p);
}

std::string DihedralGroup::name(int e) const {
  RFM_ASSERT(e >= 0 && e < elements());
  if (!names.empty()) return names[e];
  const int k = param[e % n];
  if (e < n) return "r^" + std::to_string(k);
  return k == identity_param ? "s" : "sr^" + std::to_string(k);
}

int DihedralGroup::find(const std::string& s) const {
  for (int e = 0; e < elements(); ++e)
    if (name(e) == s) return e;
  if (names.empty() && s == "sr^" + std::to_string(identity_param))
    return reflection(identity_param);
  RFM_CHECK(false, "no group element '%s' in the invariance group of %s (names: %s ... %s)",
            s.c_str(), task.c_str(), name(0).c_str(), name(elements() - 1).c_str());
  return -1;
}

int DihedralGroup::reflection(int k) const {
  for (int e = 0; e < n; ++e)
    if (param[e] == k && n + e < elements()) return n + e;
  RFM_CHECK(false, "reflection sr^%d does not exist for %s (%s)", k, task.c_str(),
            elements() > n ? strfmt("k must be in %d..%d", param.front(), param.back()).c_str()
                           : "its invariance group swaps no slots");
  return -1;
}

std::pair<int, int> DihedralGroup::apply(int e, int u, int v) const {
  const int i0 = image(u, e), i1 = image(q + v, e);
  if (i0 < 0 || i1 < 0) return {-1, -1};
  return i0 < q ? std::make_pair(i0, i1 - q) : std::make_pair(i1, i0 - q);
}

int DihedralGroup::compose(int g, int h) const {
  // The element whose map agrees with g after h on every analysed coordinate (one coordinate
  // does not tell the elements apart when the action is not free, e.g. a -> -a fixes 0).
  for (int e = 0; e < elements(); ++e) {
    bool same = true;
    for (size_t i = 0; i < coords.size() && same; ++i)
      same = image(image(coords[i], h), g) == image(coords[i], e);
    if (same) return e;
  }
  RFM_ASSERT(false);
  return -1;
}

// --- Symmetric splits -----------------------------------------------------------------------

std::vector<int> pair_lookup(const Dataset& ds, int q) {
  std::vector<int> at(static_cast<size_t>(q) * q, -1);
  for (int i = 0; i < ds.N(); ++i) at[size_t(ds.operands(i, 0)) * q + ds.operands(i, 1)] = i;
  return at;
}

namespace {

// count distinct positions of 0..N-1 from a seeded partial Fisher-Yates (the same portable draw
// as random_split).
std::vector<int> seeded_choice(int N, int count, uint64_t seed) {
  std::vector<int> perm(N);
  for (int i = 0; i < N; ++i) perm[i] = i;
  std::mt19937_64 gen(seed);
  for (int i = 0; i < count; ++i) {
    const uint64_t bound = uint64_t(N - i), limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t r;
    do r = gen();
    while (r >= limit);
    std::swap(perm[i], perm[i + r % bound]);
  }
  perm.resize(count);
  return perm;
}

// Moves the points `chosen` (dataset indices) from `from` to `to`; both stay sorted.
void move_points(std::vector<int>& from, std::vector<int>& to, std::vector<int> chosen) {
  std::sort(chosen.begin(), chosen.end());
  std::vector<int> rest;
  std::set_difference(from.begin(), from.end(), chosen.begin(), chosen.end(),
                      std::back_inserter(rest));
  from = std::move(rest);
  to.insert(to.end(), chosen.begin(), chosen.end());
  std::sort(to.begin(), to.end());
}

void move_random(std::vector<int>& from, std::vector<int>& to, int count, uint64_t seed,
                 const char* what) {
  RFM_CHECK(count >= 0 && count <= static_cast<int>(from.size()),
            "%s %d: the split has only %zu such points", what, count, from.size());
  std::vector<int> chosen;
  for (int pos : seeded_choice(static_cast<int>(from.size()), count, seed))
    chosen.push_back(from[pos]);
  move_points(from, to, chosen);
}

}  // namespace

Split degenerate_split(const Dataset& ds, const DihedralGroup& G,
                       const std::vector<int>& reflections) {
  RFM_CHECK(!reflections.empty(), "a degenerate split needs at least one reflection");
  std::vector<int> elems;
  for (int k : reflections) elems.push_back(G.reflection(k));
  Split s;
  for (int i = 0; i < ds.N(); ++i) {
    const int u = ds.operands(i, 0), v = ds.operands(i, 1);
    bool fixed = false;
    for (int e : elems) fixed = fixed || G.apply(e, u, v) == std::make_pair(u, v);
    (fixed ? s.test : s.train).push_back(i);
  }
  RFM_CHECK(!s.train.empty() && !s.test.empty(),
            "degenerate split of %s: %zu train and %zu test points (both must be non-empty)",
            G.task.c_str(), s.train.size(), s.test.size());
  return s;
}

void move_train_to_test(Split& s, int count, uint64_t seed) {
  move_random(s.train, s.test, count, seed, "--move-train-to-test");
}

void move_test_to_train(Split& s, int count, uint64_t seed) {
  move_random(s.test, s.train, count, seed, "--move-test-to-train");
}

void move_pairs_to_test(Split& s, const Dataset& ds, const DihedralGroup& G, int element, int count,
                        uint64_t seed) {
  RFM_CHECK(G.is_reflection(element), "--move-pairs-to-test needs a reflection, not %s",
            G.name(element).c_str());
  const std::vector<int> at = pair_lookup(ds, G.q);
  std::vector<char> in_train(ds.N(), 0);
  for (int i : s.train) in_train[i] = 1;
  std::vector<std::pair<int, int>> pairs;  // (x, g x) with x < g x, both in train
  for (int i : s.train) {
    const auto [u, v] = G.apply(element, ds.operands(i, 0), ds.operands(i, 1));
    const int j = u < 0 ? -1 : at[size_t(u) * G.q + v];
    if (j > i && in_train[j]) pairs.push_back({i, j});
  }
  RFM_CHECK(count >= 0 && count <= static_cast<int>(pairs.size()),
            "--move-pairs-to-test %d: the training set has only %zu pairs {x, %s x}", count,
            pairs.size(), G.name(element).c_str());
  std::vector<int> chosen;
  for (int pos : seeded_choice(static_cast<int>(pairs.size()), count, seed)) {
    chosen.push_back(pairs[pos].first);
    chosen.push_back(pairs[pos].second);
  }
  move_points(s.train, s.test, chosen);
}

}  // namespace rfm
