// The AGOP of a kernel machine, blocked over AGOP points (kernels.h; docs/algorithms.md 2.3
// and 2.6).
//
// For a block J of b AGOP points the Jacobian factors H_j (d, c) are stacked into
// Hs (b*c, d): row j + b*cc, column k holds H_j[k, cc]. Then sum_j H_j H_j^T = Hs^T Hs is one
// SYRK. The sums B_j = X^T diag(w_j) alpha are computed
//   dense:  per input coordinate k, B[:, k] = W_J^T (X[:, k] o alpha): one (b,n)x(n,c) GEMM per
//           k, 2 n m c d flops in all (the reference code's cost, without its n*c*d temporary);
//   onehot: per coordinate k, only the training points with x_ik = 1 contribute:
//           B[:, k] = W_J[S_k, :]^T alpha[S_k, :], 2 n m c flops per one-hot slot. While the
//           Hs of 16 AGOP points fits in the core's L2 cache, they are summed in registers by
//           a kernel of our own (coord_tile), 16 points at a time, and the SYRK is another
//           (syrk_upper) that reads Hs in cache: OpenBLAS spent a third of its SYRK time packing
//           Hs, and its small GEMMs with k ~ n / p had the same overhead. Larger problems
//           (add mod 97: 2.4 MB) use one small GEMM per coordinate and slot, and BLAS's SYRK.
#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
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
  // alpha gathered in that order, per slot, row-major (n, c): a point's classes are adjacent.
  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  std::vector<RowMatrix> alpha;
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
      RowMatrix a(n, alpha_in.cols());
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

  // D += X^T diag(r) alpha (d, c): r_i alpha_i added to the row of each of x_i's hot
  // coordinates.
  void add_weighted(const Eigen::Ref<const VectorXd>& r, MatrixXd& D) const {
    const Eigen::Index c = alpha[0].cols();
    Eigen::RowVectorXd sum(c);
    for (size_t s = 0; s < rows.size(); ++s)
      for (int k = 0; k + 1 < static_cast<int>(off[s].size()); ++k) {
        if (count(static_cast<int>(s), k) == 0) continue;
        sum.setZero();
        for (int t = off[s][k]; t < off[s][k + 1]; ++t) sum += r(rows[s][t]) * alpha[s].row(t);
        D.row(k) += sum;
      }
  }
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

// The L2 cache of one core (1 MB when the system does not say).
size_t l2_cache_bytes() {
  const long bytes = sysconf(_SC_LEVEL2_CACHE_SIZE);
  return bytes > 0 ? size_t(bytes) : size_t(1) << 20;
}

// --- One-hot route: each coordinate's Jacobian sums in registers ---------------------------
//
// A block of b AGOP points is laid out in bp lanes (b rounded up to whole vectors; the padding
// lanes have weight 0, so their rows of Hs stay 0 and add nothing to the SYRK). The weights
// arrive transposed, Wt (bp, n): lane j of training point i is w(x_i, z_j), so that one load
// gives a vector of lanes. Blocks are small (kOnehotBlock points), so that Hs (bp c, d) stays
// in the core's L2 cache from the sums to the SYRK that reads it.

// Eight doubles: one AVX-512 register under -march=native (narrower registers elsewhere). Vecs
// pass only between these inlined helpers, so the note GCC gives without AVX-512 (a 64-byte
// vector's calling convention differs) concerns no call that exists.
#pragma GCC diagnostic ignored "-Wpsabi"
using Vec = double __attribute__((vector_size(64)));
constexpr int kLanes = 8;
constexpr int kOnehotBlock = 16;

// Points per register block: kOnehotBlock, or one vector of lanes, whichever lets Hs (points c,
// d) fit in the cache; 0 when neither does (the route sums with BLAS).
int register_points(int c, int d, size_t cache) {
  for (int points = kOnehotBlock; points >= kLanes; points -= kLanes)
    if (size_t(points) * c * d * sizeof(double) <= cache) return points;
  return 0;
}

inline Vec load(const double* p) {
  Vec v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(double* p, const Vec& v) {
  std::memcpy(p, &v, sizeof v);
}
inline double lane_sum(const Vec& v) {
  double s = 0;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

// The sums of one coordinate k over one slot's group of training points (those with k hot in
// that slot), for all lanes and classes:
//   H[j + ldh q] (+)= sum_t Wt[ldwt rows[t] + j] alpha[t c + q].
struct CoordSums {
  const double* Wt;
  ptrdiff_t ldwt;
  const int* rows;      // the group's cnt training points
  const double* alpha;  // their rows of alpha, row-major (cnt, c)
  int cnt, c;
  double* H;  // Hs's column k, (bp, c) with leading dimension ldh = bp
  int ldh;
  bool start;           // k's first slot: the column starts from 0 instead of its contents
  double* V;            // when given: V[j + ldh q] += the sums (slot 0, before the shift)
  const double* shift;  // when given: H -= shift[lds q] on the live lanes, after V
  const double* live;   // 1 on the block's lanes, 0 on padding (bp entries)
  ptrdiff_t lds;        // stride of a row of the (d, c) matrix shift
};

// Lanes j0 .. j0 + 8 NJ, classes q0 .. q0 + CC: NJ * CC accumulators.
template <int NJ, int CC>
void coord_tile(const CoordSums& a, int j0, int q0) {
  Vec acc[NJ][CC];
  for (int q = 0; q < CC; ++q)
    for (int v = 0; v < NJ; ++v)
      acc[v][q] = a.start ? Vec{} : load(a.H + j0 + kLanes * v + a.ldh * (q0 + q));
  const double* al = a.alpha + q0;
  for (int t = 0; t < a.cnt; ++t, al += a.c) {
    const double* w = a.Wt + a.ldwt * a.rows[t] + j0;
    Vec wv[NJ];
    for (int v = 0; v < NJ; ++v) wv[v] = load(w + kLanes * v);
    for (int q = 0; q < CC; ++q)
      for (int v = 0; v < NJ; ++v) acc[v][q] += wv[v] * al[q];
  }
  for (int q = 0; q < CC; ++q)
    for (int v = 0; v < NJ; ++v) {
      const int at = j0 + kLanes * v + a.ldh * (q0 + q);
      if (a.V) store(a.V + at, load(a.V + at) + acc[v][q]);
      if (a.shift) acc[v][q] -= load(a.live + j0 + kLanes * v) * a.shift[a.lds * (q0 + q)];
      store(a.H + at, acc[v][q]);
    }
}

// A tile of cc <= kClassTile classes (cc known at compile time below).
constexpr int kClassTile = 12;  // 2 x 12 accumulators + 2 weight vectors: 26 of 32 registers

template <int NJ, int CC = kClassTile>
void coord_tile_of(const CoordSums& a, int j0, int q0, int cc) {
  if constexpr (CC > 0) {
    if (cc == CC) return coord_tile<NJ, CC>(a, j0, q0);
    coord_tile_of<NJ, CC - 1>(a, j0, q0, cc);
  }
}

// The classes are cut into the fewest tiles of at most kClassTile, of sizes that differ by at
// most one (61 classes: 11 + 4 x 10 + 10, not 5 x 12 + 1, whose last tile would wait on loads).
void coord_sums(const CoordSums& a) {
  const int tiles = (a.c + kClassTile - 1) / kClassTile, base = a.c / tiles;
  for (int j0 = 0; j0 < a.ldh; j0 += 2 * kLanes) {
    const bool pair = j0 + 2 * kLanes <= a.ldh;
    for (int tile = 0, q0 = 0; tile < tiles; ++tile) {
      const int cc = base + (tile < a.c % tiles);
      pair ? coord_tile_of<2>(a, j0, q0, cc) : coord_tile_of<1>(a, j0, q0, cc);
      q0 += cc;
    }
  }
}

// G (d, d, upper triangle) += Hs^T Hs, Hs (R, d) with R a multiple of kLanes: dot products of
// Hs's columns, a 4 x 6 tile of G at a time in registers. The columns are read in place, from the
// L2 cache where the Jacobian sums left them; BLAS's SYRK would first copy them into its packed
// layout (a third of its time on these shapes).
void gram_tile(const double* Hs, int R, int d, int k1, int k2, double* G, int ldg) {
  constexpr int A = 4, B = 6;
  const double* a[A];
  const double* b[B];
  for (int i = 0; i < A; ++i) a[i] = Hs + ptrdiff_t(R) * std::min(k1 + i, d - 1);
  for (int j = 0; j < B; ++j) b[j] = Hs + ptrdiff_t(R) * std::min(k2 + j, d - 1);
  Vec acc[A][B] = {};
  for (int r = 0; r < R; r += kLanes) {
    Vec x[A];
    for (int i = 0; i < A; ++i) x[i] = load(a[i] + r);
    for (int j = 0; j < B; ++j) {
      Vec y = load(b[j] + r);
      // y in a register: unasked, GCC 12 folds its load into each of the A FMAs, 24 loads
      // instead of 10 per step (AMD Zen 4: 25 against 49 GFLOP/s on one core).
#ifdef __AVX512F__
      asm("" : "+v"(y));  // one zmm register
#endif
      for (int i = 0; i < A; ++i) acc[i][j] += x[i] * y;
    }
  }
  for (int j = 0; j < B && k2 + j < d; ++j)
    for (int i = 0; i < A && k1 + i <= k2 + j; ++i)
      G[k1 + i + ptrdiff_t(ldg) * (k2 + j)] += lane_sum(acc[i][j]);
}

void syrk_upper(const double* Hs, int R, int d, double* G) {
  for (int k2 = 0; k2 < d; k2 += 6)
    for (int k1 = 0; k1 < std::min(k2 + 6, d); k1 += 4) gram_tile(Hs, R, d, k1, k2, G, d);
}

// Hs (bp c, d) of one block from its transposed weights: every column starts at -shift[k] on
// the live lanes (or 0) and gets each slot's group sums. Fills V = W_J^T alpha (bp, c) when
// radial, from slot 0 before any shift: every training point is in exactly one slot-0 group
// (user data may put a coordinate in slot 0 of one point and slot 1 of another, so slot 1 must
// not add to V).
void jacobian_sums_registers(const HotGroups& g, const double* Wt, ptrdiff_t ldwt,
                             const double* live, const MatrixXd* shift, bool radial, Ref Hs,
                             Ref V) {
  const int d = static_cast<int>(Hs.cols()), c = static_cast<int>(V.cols());
  const int bp = static_cast<int>(V.rows());
  if (radial) V.setZero();
  CoordSums a{};
  a.Wt = Wt;
  a.ldwt = ldwt;
  a.c = c;
  a.ldh = bp;
  a.live = live;
  a.lds = d;
  for (int k = 0; k < d; ++k)  // a column's slots one after the other, while it is in cache
    for (int s = 0; s < static_cast<int>(g.rows.size()); ++s) {
      const int row0 = g.off[s][k];
      a.cnt = g.count(s, k);
      if (a.cnt == 0) continue;
      a.rows = g.rows[s].data() + row0;
      a.alpha = g.alpha[s].data() + ptrdiff_t(row0) * c;
      a.H = Hs.col(k).data();
      a.start = g.first[k] == s;
      a.V = radial && s == 0 ? V.data() : nullptr;
      a.shift = a.start && shift ? shift->data() + k : nullptr;
      coord_sums(a);
    }
  const Eigen::Map<const VectorXd> lanes(live, bp);
  for (int k = 0; k < d; ++k) {  // coordinates no training point has
    if (g.first[k] >= 0) continue;
    Eigen::Map<MatrixXd> H(Hs.col(k).data(), bp, c);
    for (int q = 0; q < c; ++q)
      H.col(q) = shift ? VectorXd(-(*shift)(k, q) * lanes) : VectorXd::Zero(bp);
  }
}

// The one-hot sums by BLAS, for blocks whose Hs would not fit in the core's cache (there the
// register kernels wait on memory; p = 151: 4.3 s against 3.2 s per AGOP). One column
// (coordinate k) at a time while it is in cache: the column starts at -shift[k] (or 0), one
// small GEMM per slot adds the points that have k hot, and once the last slot has added, the
// column's sum goes to *D (when given). Returns V = W_J^T alpha (b, c) when radial, summed from
// slot 0's GEMMs as they finish (see jacobian_sums_registers). The weights' rows are gathered into
// group order first, unless they are in that order already.
MatrixXd jacobian_sums_gemm(const HotGroups& g, ConstRef WJ, const MatrixXd* shift, bool radial,
                            Scratch& gathered, Ref Hs, MatrixXd* D) {
  const int n = static_cast<int>(WJ.rows()), b = static_cast<int>(WJ.cols());
  const int c = static_cast<int>(g.alpha[0].cols()), d = static_cast<int>(Hs.cols());
  MatrixXd V = MatrixXd::Zero(radial ? b : 0, c);
  Eigen::RowVectorXd added = Eigen::RowVectorXd::Zero(c);  // shift rows under V's columns
  Eigen::Map<MatrixXd> Wg = gathered.matrix(n, b);
  for (int s = 0; s < static_cast<int>(g.rows.size()); ++s) {
    const double* W = WJ.data();
    int ldw = static_cast<int>(WJ.outerStride());
    if (!g.in_order[s]) {
      for (int j = 0; j < b; ++j)
        for (int t = 0; t < n; ++t) Wg(t, j) = WJ(g.rows[s][t], j);
      W = Wg.data();
      ldw = n;
    }
    for (int k = 0; k < d; ++k) {
      const int cnt = g.count(s, k), row0 = g.off[s][k];
      if (cnt == 0) continue;
      Eigen::Map<MatrixXd> H(Hs.col(k).data(), b, c);
      if (g.first[k] == s) start_column(shift, k, H);
      cblas_dgemm(CblasColMajor, CblasTrans, CblasTrans, b, c, cnt, 1.0, W + row0, ldw,
                  g.alpha[s].data() + ptrdiff_t(row0) * c, c, 1.0, H.data(), b);
      const bool add_v = radial && s == 0, add_d = D && g.last[k] == s;
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
// Row j + ld cc of Hs is point j's class cc (ld >= b: the one-hot route pads its lanes).
void subtract_radial_term(const Inputs& ZJ, ConstRef VJ, Eigen::Index ld, Ref Hs, MatrixXd* D) {
  const Eigen::Index b = VJ.rows(), c = VJ.cols();
  if (ZJ.one_hot()) {
    for (Eigen::Index t = 0; t < ZJ.hot.cols(); ++t) {
      for (Eigen::Index cc = 0; cc < c; ++cc)
        for (Eigen::Index j = 0; j < b; ++j) Hs(j + ld * cc, ZJ.hot(j, t)) -= VJ(j, cc);
      for (Eigen::Index j = 0; D && j < b; ++j) D->row(ZJ.hot(j, t)) -= VJ.row(j);
    }
    return;
  }
  RFM_ASSERT(ld == b);
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
  // The one-hot route sums in registers while the Hs of 16 or 8 points fits in the core's L2
  // cache (add mod 61: 0.95 MB for 16; add mod 97: 1.2 MB for 8, 0.27 s per AGOP against 0.31 s
  // by BLAS with a 2 MB L2), and with BLAS beyond (add mod 151: 2.9 MB for 8).
  const size_t cache = opt.cache_bytes ? opt.cache_bytes : l2_cache_bytes();
  const int reg_points = onehot ? register_points(c, d, cache) : 0;
  const bool registers = reg_points > 0;

  // The first block is small (16 points; 32 made add mod 61's AGOP 10 % slower, the other
  // thread idle meanwhile): it runs alone, to give the shift C to all the others. The rest is
  // cut into a multiple of 4 blocks of one size (at most opt.block points), so that 2 or 4
  // threads get the same work (add mod 61 in blocks of 256 was 7 + 1 small block, one of 2
  // threads idle for a block's time). The cut does not depend on the thread count. The one-hot
  // route works through its blocks 16 or 8 points at a time, in whole vectors of lanes.
  const int first = std::min({block, 16, m}), rest = m - first;
  int blocks = (rest + block - 1) / block;
  if (blocks > 1) blocks = (blocks + 3) / 4 * 4;
  int size = blocks > 0 ? (rest + blocks - 1) / blocks : block;
  if (registers && size > kLanes) size = std::min(block, (size + kLanes - 1) / kLanes * kLanes);
  blocks = (rest + size - 1) / size;
  const int threads = std::max(1, std::min(omp_get_max_threads(), std::max(blocks, 1)));
  if (ws->threads.size() < size_t(threads)) ws->threads.resize(threads);
  // One sum per block, added up in block order: the result does not depend on which thread
  // ran which block (runs are reproducible bit for bit, with any schedule).
  std::vector<AgopSums> sums(blocks + 1, AgopSums{MatrixXd::Zero(d, d), MatrixXd::Zero(d, c)});

  // Hs (ld c, d) of block [j0, j0 + b) in t.Hs: Jacobian sums minus the radial term, minus the
  // shift when given; adds Hs's column sums to *D when D is given. Returns ld, the stride of a
  // class in Hs's rows: b, or b padded to whole vectors by the register kernels.
  auto blas_sums = [&](int j0, int b, const MatrixXd* shift, KernelWorkspace::PerThread& t,
                       MatrixXd* D) {
    const Inputs ZJ = Z.range(j0, b);
    Eigen::Map<MatrixXd> Wbuf = t.W.matrix(n, weights ? 0 : b);
    if (!weights) pair_matrix(k, X, ZJ, M, Wbuf, PairMap::weights);  // (n, b)
    ConstRef W = weights ? ConstRef(weights->middleCols(j0, b)) : ConstRef(Wbuf);
    Eigen::Map<MatrixXd> Hs = t.Hs.matrix(static_cast<Eigen::Index>(b) * c, d);
    if (onehot) {
      const MatrixXd V = jacobian_sums_gemm(*groups, W, shift, k.radial(), t.Wg, Hs, D);
      if (k.radial()) subtract_radial_term(ZJ, V, b, Hs, D);
      if (weighted_alpha) weighted_alpha->middleRows(j0, b) = V;
      return b;
    }
    for (int kk = 0; kk < d; ++kk) {
      Eigen::Map<MatrixXd> H(Hs.col(kk).data(), b, c);
      start_column(shift, kk, H);
    }
    jacobian_sums_dense(Xdense, alpha, W, Hs);
    if (k.radial()) {
      const MatrixXd V = W.transpose() * alpha;
      subtract_radial_term(ZJ, V, b, Hs, nullptr);
      if (weighted_alpha) weighted_alpha->middleRows(j0, b) = V;
    }
    for (int kk = 0; D && kk < d; ++kk)
      D->row(kk) += Eigen::Map<const MatrixXd>(Hs.col(kk).data(), b, c).colwise().sum();
    return b;
  };
  auto register_sums = [&](int j0, int b, const MatrixXd* shift, KernelWorkspace::PerThread& t,
                           MatrixXd* D) {
    const int bp = (b + kLanes - 1) / kLanes * kLanes;
    const Inputs ZJ = Z.range(j0, b);
    // The block's weights, transposed, in one piece that stays in cache: the kernel reads a
    // column per training point, and columns far apart in memory each cost a cache miss.
    Eigen::Map<MatrixXd> Wt = t.Wg.matrix(bp, n);
    if (weights)
      Wt.topRows(b) = weights->middleCols(j0, b).transpose();
    else
      pair_matrix(k, ZJ, X, M, Wt.topRows(b), PairMap::weights);
    Wt.bottomRows(bp - b).setZero();
    Eigen::Map<MatrixXd> live = t.live.matrix(bp, 1);
    live.topRows(b).setOnes();
    live.bottomRows(bp - b).setZero();
    Eigen::Map<MatrixXd> Hs = t.Hs.matrix(static_cast<Eigen::Index>(bp) * c, d);
    Eigen::Map<MatrixXd> V = t.V.matrix(bp, c);
    jacobian_sums_registers(*groups, Wt.data(), bp, live.data(), shift, k.radial(), Hs, V);
    // Hs's column sums come without a pass over Hs: sum_j H_j = X^T diag(W_J 1) alpha - b shift
    // - Z_J^T V. The first two terms are added once per block of blocks (below), from the
    // weights' sums in t.R; the radial term follows here.
    if (D) t.R.matrix(n, 1) += Wt.colwise().sum().transpose();
    if (k.radial()) {
      subtract_radial_term(ZJ, V.topRows(b), bp, Hs, D);
      if (weighted_alpha) weighted_alpha->middleRows(j0, b) = V.topRows(b);
    }
    return bp;
  };
  auto block_sums = [&](int j0, int b, const MatrixXd* shift, KernelWorkspace::PerThread& t,
                        MatrixXd* D) {
    return registers ? register_sums(j0, b, shift, t, D) : blas_sums(j0, b, shift, t, D);
  };
  // Adds Hs^T Hs (rows: ld c) to G (upper triangle).
  auto accumulate = [&](int ld, const double* Hs, AgopSums& s) {
    if (registers) return syrk_upper(Hs, ld * c, d, s.G.data());
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, d, ld * c, 1.0, Hs, ld * c, 1.0, s.G.data(),
                d);
  };

  SerialBlas serial;
  // The first block's sum of H_j - C is 0 but for rounding: kept, as the other blocks' sums are.
  KernelWorkspace::PerThread& t0 = ws->threads[0];
  const int ld0 = block_sums(0, first, nullptr, t0, nullptr);
  double* Hs0 = t0.Hs.matrix(0, 0).data();
  MatrixXd C = MatrixXd::Zero(d, c);
  for (int kk = 0; opt.centering && kk < d; ++kk) {
    Eigen::Map<MatrixXd, 0, Eigen::OuterStride<>> H(Hs0 + ptrdiff_t(ld0) * c * kk, first, c,
                                                    Eigen::OuterStride<>(ld0));
    C.row(kk) = H.colwise().mean();
    H.rowwise() -= C.row(kk);
    sums[0].D.row(kk) = H.colwise().sum();
  }
  accumulate(ld0, Hs0, sums[0]);
  const MatrixXd* shift = opt.centering ? &C : nullptr;
  const int step = registers ? reg_points : size;
#pragma omp parallel for num_threads(threads) schedule(dynamic)
  for (int blk = 0; blk < blocks; ++blk) {
    const int tid = omp_get_thread_num(), j0 = first + blk * size, b = std::min(size, m - j0);
    AgopSums& s = sums[blk + 1];
    KernelWorkspace::PerThread& t = ws->threads[tid];
    MatrixXd* D = opt.centering ? &s.D : nullptr;
    if (registers && D) t.R.matrix(n, 1).setZero();
    for (int part = 0; part < b; part += step) {
      const int ld = block_sums(j0 + part, std::min(step, b - part), shift, t, D);
      accumulate(ld, t.Hs.matrix(0, 0).data(), s);
    }
    if (registers && D) {  // the first terms of the column sums (register_sums)
      groups->add_weighted(t.R.matrix(n, 1), *D);
      *D -= double(b) * C;
    }
  }

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
