// kernels/: Jacobians against central finite differences, the AGOP against a brute-force sum
// of J J^T, every fast route against the dense reference.
#include <doctest/doctest.h>

#include <limits>

#include "kernels/kernels.h"
#include "tests/test_util.h"

using namespace rfm;
using rfm::test::random_matrix;
using rfm::test::random_spd;
using rfm::test::rel_error;

static const KernelType kAllKernels[] = {KernelType::gaussian, KernelType::gaussian_paper,
                                         KernelType::laplace, KernelType::quadratic};

TEST_CASE("kernel Jacobians match central finite differences") {
  const int n = 7, d = 4, c = 3, m = 3;
  const MatrixXd X = random_matrix(n, d, 1), alpha = random_matrix(n, c, 2);
  const MatrixXd M = random_spd(d, 3), Z = random_matrix(m, d, 4);
  for (KernelType type : kAllKernels) {
    Kernel k{type, 1.7};
    CAPTURE(to_string(type));
    const std::vector<MatrixXd> J = jacobians_reference(k, X, alpha, M, Z);
    const double h = 1e-5;  // central differences: O(h^2) truncation, O(eps/h) round-off
    for (int j = 0; j < m; ++j) {
      MatrixXd fd(d, c);
      for (int kk = 0; kk < d; ++kk) {
        MatrixXd zp = Z.row(j), zm = Z.row(j);
        zp(0, kk) += h;
        zm(0, kk) -= h;
        fd.row(kk) = (predict(k, Inputs::from_dense(X), alpha, M, Inputs::from_dense(zp)) -
                      predict(k, Inputs::from_dense(X), alpha, M, Inputs::from_dense(zm))) /
                     (2 * h);
      }
      CAPTURE(j);
      CHECK(rel_error(J[j], fd) < 1e-7);
    }
  }
}

TEST_CASE("the AGOP reference is the mean of centred J J^T") {
  const int n = 6, d = 3, c = 2, m = 4;
  const MatrixXd X = random_matrix(n, d, 5), alpha = random_matrix(n, c, 6);
  const MatrixXd M = random_spd(d, 7), Z = random_matrix(m, d, 8);
  Kernel k{KernelType::gaussian, 1.3};
  std::vector<MatrixXd> J = jacobians_reference(k, X, alpha, M, Z);
  MatrixXd mean = (J[0] + J[1] + J[2] + J[3]) / 4.0, G = MatrixXd::Zero(d, d);
  for (auto& Jj : J) G += (Jj - mean) * (Jj - mean).transpose() / 4.0;
  CHECK(rel_error(agop_reference(k, X, alpha, M, Z, true), G) < 1e-14);
  MatrixXd G0 = MatrixXd::Zero(d, d);
  for (auto& Jj : J) G0 += Jj * Jj.transpose() / 4.0;
  CHECK(rel_error(agop_reference(k, X, alpha, M, Z, false), G0) < 1e-14);
}

TEST_CASE("blocked BLAS AGOP equals the reference on dense data") {
  const int n = 11, d = 5, c = 3, m = 9;
  const MatrixXd X = random_matrix(n, d, 9), alpha = random_matrix(n, c, 10);
  const MatrixXd M = random_spd(d, 11), Z = random_matrix(m, d, 12);
  for (KernelType type : kAllKernels)
    for (bool centering : {true, false})
      for (int block : {1, 4, 64}) {
        CAPTURE(to_string(type));
        CAPTURE(centering);
        CAPTURE(block);
        Kernel k{type, 2.1};
        AgopOptions opt{centering, AgopPath::dense, block};
        // Tolerance: both sum the same O(n m) terms in fp64 in different orders.
        CHECK(rel_error(agop(k, Inputs::from_dense(X), alpha, M, Inputs::from_dense(Z), opt),
                        agop_reference(k, X, alpha, M, Z, centering)) < 1e-12);
      }
}

TEST_CASE("Hadamard AGOP route equals the reference") {
  const int n = 13, d = 6, c = 4, m = 8;
  const MatrixXd X = random_matrix(n, d, 20), alpha = random_matrix(n, c, 21);
  const MatrixXd M = random_spd(d, 22), Z = random_matrix(m, d, 23);
  for (KernelType type : kAllKernels)
    for (bool centering : {true, false})
      for (int block : {1, 5, 64}) {  // column blocks of alpha alpha^T and Q: ragged and whole
        CAPTURE(to_string(type));
        CAPTURE(centering);
        CAPTURE(block);
        Kernel k{type, 2.3};
        AgopOptions opt{centering, AgopPath::hadamard, block};
        // The rewrite sums the same terms in another order; centering subtracts m Hbar Hbar^T
        // (cancellation of at most a few digits at these sizes).
        CHECK(rel_error(agop(k, Inputs::from_dense(X), alpha, M, Inputs::from_dense(Z), opt),
                        agop_reference(k, X, alpha, M, Z, centering)) < 1e-10);
      }
  CHECK(choose_agop_path(AgopPath::automatic, false, 8000, 8000, 100, 200) == AgopPath::hadamard);
  CHECK(choose_agop_path(AgopPath::automatic, false, 1000, 1000, 2, 3) == AgopPath::dense);
  CHECK(choose_agop_path(AgopPath::automatic, true, 8000, 8000, 100, 200) == AgopPath::onehot);
}

// The AGOP of every kernel, centred or not, by the given routes and block sizes against the
// per-point reference.
static void check_agop_routes(const Inputs& X, const Inputs& Z, const MatrixXd& alpha,
                              const MatrixXd& M,
                              const std::vector<std::pair<AgopPath, int>>& routes) {
  for (KernelType type : kAllKernels)
    for (bool centering : {true, false}) {
      const std::string kernel = to_string(type);
      CAPTURE(kernel);
      CAPTURE(centering);
      Kernel k{type, 2.5};
      const MatrixXd ref = agop_reference(k, X.dense(), alpha, M, Z.dense(), centering);
      // One-hot: register kernels 16 points at a time, 8 at a time (a cache that holds the Hs
      // of 8 points, not 16), then BLAS.
      const size_t eight = size_t(8) * alpha.cols() * X.d * sizeof(double);
      for (const auto& [path, block] : routes)
        for (size_t cache : {size_t(0), eight, size_t(1)}) {
          if (cache && path != AgopPath::onehot) continue;
          const std::string route = to_string(path);
          CAPTURE(route);
          CAPTURE(block);
          CAPTURE(cache);
          CHECK(rel_error(agop(k, X, alpha, M, Z, {centering, path, block, cache}), ref) < 1e-10);
        }
    }
}

TEST_CASE("one-hot AGOP route equals the dense route and the reference") {
  const Inputs X = rfm::test::some_pairs(7, 2), Z = rfm::test::some_pairs(7, 3);
  const MatrixXd alpha = random_matrix(X.n(), 7, 13), M = random_spd(X.d, 14, 0.2);
  check_agop_routes(X, Z, alpha, M, {{AgopPath::onehot, 5}, {AgopPath::dense, 7}});
  // Sorted pairs arrive grouped by slot 0 (no gather); in reverse order both slots are gathered.
  std::vector<int> reversed(X.n());
  for (int i = 0; i < X.n(); ++i) reversed[i] = X.n() - 1 - i;
  check_agop_routes(X.rows(reversed), Z, alpha, M, {{AgopPath::onehot, 5}});
}

TEST_CASE("one-hot AGOP with the weights given equals the reference") {
  // The caller's (n, m) weights are read a block of columns at a time, transposed into lanes;
  // 23 AGOP points in blocks of 9 pad every block's lanes.
  const Inputs X = rfm::test::some_pairs(7, 2),
               Z = rfm::test::some_pairs(7, 2).rows({0,  3,  4,  5,  7,  8,  9,  10, 11, 12, 13, 14,
                                                     15, 16, 17, 18, 19, 20, 21, 22, 23, 1,  2});
  const MatrixXd alpha = random_matrix(X.n(), 5, 31), M = random_spd(X.d, 32, 0.2);
  for (KernelType type : kAllKernels)
    for (bool centering : {true, false}) {
      CAPTURE(to_string(type));
      CAPTURE(centering);
      Kernel k{type, 2.5};
      MatrixXd W(X.n(), Z.n());
      pair_matrix(k, X, Z, M, W, PairMap::weights);
      const MatrixXd ref = agop_reference(k, X.dense(), alpha, M, Z.dense(), centering);
      for (size_t cache : {size_t(0), size_t(1)})
        CHECK(rel_error(agop(k, X, alpha, M, Z, {centering, AgopPath::onehot, 9, cache}, &W), ref) <
              1e-10);
    }
}

TEST_CASE("one-hot AGOP: a small first block gives the shift, ragged blocks after it") {
  // 121 AGOP points in blocks of at most 40: the first block has 16 points, then four blocks
  // share the other 105 (27, 27, 27 and a ragged 24; 32, 32, 32 and 9 in whole vectors of lanes
  // for the register kernels). No
  // training point has a = 0, so one slot-0 coordinate has no group (but the first block has it).
  const Dataset ds = make_modular_task(Op::add, 11);
  std::vector<int> rows;
  for (int i = 0; i < ds.N(); i += 2)
    if (ds.inputs.hot(i, 0) != 0) rows.push_back(i);
  const Inputs X = ds.inputs.rows(rows), Z = rfm::test::some_pairs(11, 1);
  const MatrixXd alpha = random_matrix(X.n(), 11, 15), M = random_spd(X.d, 16, 0.2);
  check_agop_routes(X, Z, alpha, M, {{AgopPath::onehot, 40}});
}

TEST_CASE("one-hot AGOP: a coordinate hot in slot 0 for some points and slot 1 for others") {
  // Inputs::detect numbers the ones of each row left to right, so with user data (rfm fit) the
  // same coordinate can be slot 0 of one point and slot 1 of another.
  const int n = 60, d = 6;
  MatrixXd X = MatrixXd::Zero(n, d), Z = MatrixXd::Zero(25, d);
  for (MatrixXd* A : {&X, &Z})
    for (Eigen::Index i = 0; i < A->rows(); ++i) {
      const int a = static_cast<int>((7 * i + 3) % d),
                b = static_cast<int>((3 * i + i / 5) % (d - 1));
      (*A)(i, a) = 1;
      (*A)(i, b >= a ? b + 1 : b) = 1;  // two distinct ones per row
    }
  const Inputs Xh = Inputs::detect(X), Zh = Inputs::detect(Z);
  REQUIRE(Xh.one_hot());
  bool shared = false;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) shared |= Xh.hot(i, 0) == Xh.hot(j, 1);
  REQUIRE(shared);
  const MatrixXd alpha = random_matrix(n, 4, 17), M = random_spd(d, 18, 0.2);
  check_agop_routes(Xh, Zh, alpha, M, {{AgopPath::onehot, 7}, {AgopPath::onehot, 64}});
}

TEST_CASE("one-hot pair statistics equal the dense ones, self distances exactly 0") {
  const Inputs X = rfm::test::some_pairs(5, 1);
  const MatrixXd M = random_spd(X.d, 15);
  for (KernelType type : {KernelType::gaussian, KernelType::quadratic}) {
    Kernel k{type, 1.0};
    MatrixXd S_hot, S_dense;
    pair_stats(k, X, X, M, S_hot);
    S_dense.resize(X.n(), X.n());
    pair_stats_dense(k, X.dense(), X.dense(), M, S_dense);
    CHECK(rel_error(S_hot, S_dense) < 1e-13);
    if (k.radial()) {
      CHECK(S_hot.diagonal().cwiseAbs().maxCoeff() == 0.0);
      CHECK(S_hot.minCoeff() >= 0.0);
    }
  }
}

TEST_CASE("fused one-hot kernel values and weights equal statistics mapped afterwards") {
  const Inputs X = rfm::test::some_pairs(7, 2), Z = rfm::test::some_pairs(7, 3);
  const MatrixXd M = random_spd(X.d, 17, 0.3);
  for (KernelType type : kAllKernels)
    for (PairMap what : {PairMap::values, PairMap::weights}) {
      CAPTURE(to_string(type));
      CAPTURE(what == PairMap::values);
      Kernel k{type, 1.3};
      MatrixXd fused(X.n(), Z.n()), expect(X.n(), Z.n());
      CHECK(pair_matrix(k, X, Z, M, fused, what));  // every entry finite
      pair_stats_dense(k, X.dense(), Z.dense(), M, expect);
      what == PairMap::values ? apply_values(k, expect) : apply_weights(k, expect);
      CHECK(rel_error(fused, expect) < 1e-13);
    }
  // Squares of 1e400-sized statistics overflow: reported, not passed on silently.
  MatrixXd S(X.n(), Z.n());
  CHECK_FALSE(pair_matrix({KernelType::quadratic, 1.0}, X, Z, 1e200 * M, S, PairMap::values));
}

TEST_CASE("one-hot Gaussian values as products of exponentials, and the guard that declines") {
  // While every exponent is small (M scaled by 1 and 30), the Gaussian values on one-hot inputs
  // are products exp(-g n_i) exp(-g n_j) prod_t exp(2 g U(i, t)); beyond (300) the exponential of
  // each distance. Either way they equal the dense path's entry by entry (normal-range entries).
  const Inputs X = rfm::test::some_pairs(7, 2), Z = rfm::test::some_pairs(7, 3);
  const MatrixXd M = random_spd(X.d, 17, 0.3);
  MatrixXd fused(X.n(), Z.n()), expect(X.n(), Z.n());
  for (KernelType type : {KernelType::gaussian, KernelType::gaussian_paper})
    for (double scale : {1.0, 30.0, 300.0}) {
      CAPTURE(to_string(type));
      CAPTURE(scale);
      Kernel k{type, 1.3};
      CHECK(pair_matrix(k, X, Z, scale * M, fused, PairMap::values));
      pair_stats_dense(k, X.dense(), Z.dense(), scale * M, expect);
      apply_values(k, expect);
      const Eigen::ArrayXXd normal = (expect.array() > 1e-290).cast<double>();
      const Eigen::ArrayXXd err =
          normal * (fused - expect).array().abs() / expect.array().abs().max(1e-290);
      CHECK(err.maxCoeff() < 1e-12);
      CHECK(normal.sum() > 0.1 * normal.size());
    }
}

TEST_CASE("a NaN in M is reported by every kernel, one-hot or dense") {
  // The clamp of squared distances at 0 once turned NaN into 0 (a kernel value of 1).
  const Inputs X = rfm::test::some_pairs(7, 2), Z = rfm::test::some_pairs(7, 3);
  MatrixXd bad = random_spd(X.d, 17, 0.3), S(X.n(), Z.n());
  bad(3, 5) = std::numeric_limits<double>::quiet_NaN();
  for (KernelType type : kAllKernels) {
    CAPTURE(to_string(type));
    CHECK_FALSE(pair_matrix({type, 1.3}, X, Z, bad, S, PairMap::values));
    CHECK_FALSE(pair_matrix({type, 1.3}, Inputs::from_dense(X.dense()),
                            Inputs::from_dense(Z.dense()), bad, S, PairMap::values));
  }
}

TEST_CASE("one-hot detection") {
  const Inputs X = rfm::test::some_pairs(5, 2);
  Inputs back = Inputs::detect(X.dense());
  REQUIRE(back.one_hot());
  CHECK(back.hot == X.hot);
  MatrixXd notbinary = X.dense();
  notbinary(0, 0) = 0.5;
  CHECK_FALSE(Inputs::detect(notbinary).one_hot());
}

TEST_CASE("predictions in blocks equal one product") {
  const MatrixXd X = random_matrix(10, 3, 16), alpha = random_matrix(10, 2, 17);
  const MatrixXd M = random_spd(3, 18), Z = random_matrix(9, 3, 19);
  Kernel k{KernelType::laplace, 1.5};
  MatrixXd S(Z.rows(), X.rows());
  pair_stats_dense(k, Z, X, M, S);
  apply_values(k, S);
  CHECK(rel_error(predict(k, Inputs::from_dense(X), alpha, M, Inputs::from_dense(Z), nullptr, 4),
                  S * alpha) < 1e-14);
  // One-hot: blocks in parallel (169 points in blocks of 57, 57, 55; and of 5).
  const Inputs Xh = rfm::test::some_pairs(13, 2), Zh = rfm::test::some_pairs(13, 1);
  const MatrixXd ah = random_matrix(Xh.n(), 3, 20), Mh = random_spd(Xh.d, 21, 0.2);
  MatrixXd Sh(Zh.n(), Xh.n());
  pair_stats_dense(k, Zh.dense(), Xh.dense(), Mh, Sh);
  apply_values(k, Sh);
  for (int block : {57, 5})
    CHECK(rel_error(predict(k, Xh, ah, Mh, Zh, nullptr, block), Sh * ah) < 1e-12);
}

TEST_CASE("training predictions left by the Gaussian AGOP equal K alpha, and go stale on refit") {
  // The CPU machine keeps the AGOP's weighted sums W^T alpha as K alpha (Gaussian kernels) for
  // predict(), and gives K as the AGOP's weights; every AGOP route (the one-hot one by register
  // kernels and, through cache_bytes 1, by BLAS), one-hot and dense inputs.
  const Inputs hot = rfm::test::some_pairs(7, 2);
  const Inputs dense = Inputs::from_dense(random_matrix(60, 5, 21));
  for (KernelType type : {KernelType::gaussian, KernelType::gaussian_paper})
    for (AgopPath path : {AgopPath::onehot, AgopPath::dense, AgopPath::hadamard})
      for (const Inputs* X : {&hot, &dense})
        for (size_t cache : {size_t(0), size_t(1)}) {
          if (path == AgopPath::onehot && !X->one_hot()) continue;
          if (cache && path != AgopPath::onehot) continue;
          const std::string kernel = to_string(type), route = to_string(path);
          CAPTURE(kernel);
          CAPTURE(route);
          CAPTURE(cache);
          MachineOptions mo;
          mo.kernel = {type, 2.0};
          mo.solve.ridge = 1e-3;
          mo.agop = {true, path, 16, cache};
          auto km = KernelMachine::create(mo, Backend::cpu);
          km->set_data(*X, random_matrix(X->n(), 3, 22));
          const MatrixXd M1 = random_spd(X->d, 23, 0.5), M2 = random_spd(X->d, 24, 0.5);
          km->fit(M1);
          const MatrixXd by_gemm = km->predict(*X);  // before the AGOP: K alpha by GEMM
          const MatrixXd G = km->agop(*X);
          CHECK(rel_error(G, agop(mo.kernel, *X, km->alpha(), M1, *X, mo.agop)) < 1e-10);
          const MatrixXd kept = km->predict(*X);
          CHECK(rel_error(kept, by_gemm) < 1e-12);
          CHECK(rel_error(kept, predict(mo.kernel, *X, km->alpha(), M1, *X)) < 1e-12);
          km->fit(M2);  // a new alpha: the kept predictions must not be used
          CHECK(rel_error(km->predict(*X), predict(mo.kernel, *X, km->alpha(), M2, *X)) < 1e-12);
        }
}
