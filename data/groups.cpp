// Abelian product tasks, the dihedral invariance group Dih(A) of every task as index maps, and
// the symmetric splits built from it (data.h; REFERENCE.md sections 1, 1.1 and 3; Bernal,
// Mallinar, Belkin, arXiv 2604.00316).
//
// Every group element permutes the 2q input coordinates slot by slot, so it is stored as one
// column of coordinate images; a pair (u, v) maps to the images of coordinates u and q + v.
// Project choices, where the table of REFERENCE.md 1.1 is silent:
// - mul: the maps also act on residue 0 (0 * k = 0), so (0, 0) is a fixed point of every
//   reflection and a degenerate split of mul tests p pairs; the group algebra is analysed on
//   the coordinates of Z_p^* only (coords), where the R_g tile the grid.
// - div: reflections are undefined on u = 0 (no inverse); such pairs are never fixed points.
#include <algorithm>
#include <functional>
#include <iterator>
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
  return make_pair_task("group", G.order(), 0,
                        [&](int a, int b) { return PairExample{a, b, G.add(a, b)}; });
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
               const std::function<std::pair<int, int>(int, int, int, bool)>& map) {
  G.n = static_cast<int>(params.size());
  G.param = params;
  G.image = IndexMatrix::Constant(2 * G.q, 2 * G.n, -1);
  for (int e = 0; e < 2 * G.n; ++e)
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

DihedralGroup dihedral_group_of(const Dataset& ds, const AbelianGroup* A) {
  if (ds.task == "group") {
    RFM_CHECK(A != nullptr && A->order() == ds.p,
              "the invariance group of a group task needs its factors (--group)");
    return dihedral_group(*A);
  }
  return dihedral_group(op_from_string(ds.task), ds.p);
}

std::string DihedralGroup::name(int e) const {
  RFM_ASSERT(e >= 0 && e < 2 * n);
  const int k = param[e % n];
  if (e < n) return "r^" + std::to_string(k);
  return k == identity_param ? "s" : "sr^" + std::to_string(k);
}

int DihedralGroup::find(const std::string& s) const {
  for (int e = 0; e < 2 * n; ++e)
    if (name(e) == s) return e;
  if (s == "sr^" + std::to_string(identity_param)) return reflection(identity_param);
  RFM_CHECK(false, "no group element '%s' in Dih(A) of %s (names: r^k, sr^k, s; k = %d..%d)",
            s.c_str(), task.c_str(), param.front(), param.back());
  return -1;
}

int DihedralGroup::reflection(int k) const {
  for (int e = 0; e < n; ++e)
    if (param[e] == k) return n + e;
  RFM_CHECK(false, "reflection sr^%d does not exist for %s (k must be in %d..%d)", k, task.c_str(),
            param.front(), param.back());
  return -1;
}

std::pair<int, int> DihedralGroup::apply(int e, int u, int v) const {
  const int i0 = image(u, e), i1 = image(q + v, e);
  if (i0 < 0 || i1 < 0) return {-1, -1};
  return i0 < q ? std::make_pair(i0, i1 - q) : std::make_pair(i1, i0 - q);
}

int DihedralGroup::compose(int g, int h) const {
  const int target = image(image(coords[0], h), g);
  for (int e = 0; e < 2 * n; ++e)
    if (image(coords[0], e) == target) return e;
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
