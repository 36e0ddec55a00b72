// solvers/: manufactured solutions for every precision, fallbacks on indefinite and singular
// matrices, the matrix power.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "kernels/kernels.h"
#include "solvers/solvers.h"
#include "tests/test_util.h"

using namespace rfm;
using rfm::test::random_matrix;
using rfm::test::random_spd;
using rfm::test::rel_error;

TEST_CASE("SPD solve recovers a manufactured solution in every precision") {
  const int n = 40, c = 3;
  const MatrixXd A = random_spd(n, 1, 1.0), X = random_matrix(n, c, 2);
  const double eps64 = std::numeric_limits<double>::epsilon();
  const double eps32 = std::numeric_limits<float>::epsilon();
  for (double ridge : {0.0, 0.3}) {
    const MatrixXd Y = (A + ridge * MatrixXd::Identity(n, n)) * X;
    // cond(A) is below ~20 here; an error of 100 * cond * eps leaves a wide margin for n = 40.
    struct Case {
      Precision p;
      double tol;
      const char* method;
    } cases[] = {{Precision::fp64, 2000 * eps64, "cholesky"},
                 {Precision::fp32, 2000 * eps32, "cholesky-fp32"},
                 {Precision::mixed, 2000 * eps64, "cholesky-mixed"}};
    for (const Case& cs : cases) {
      CAPTURE(to_string(cs.p));
      CAPTURE(ridge);
      auto solver = SpdSolver::create({ridge, cs.p});
      MatrixXd work = A, alpha;
      SolveReport rep = solver->solve(work, Y, alpha);
      CHECK(rep.method == cs.method);
      CHECK_FALSE(rep.fallback);
      CHECK(rel_error(alpha, X) < cs.tol);
      CHECK(relative_residual(A, ridge, alpha, Y) < cs.tol);
      if (cs.p == Precision::mixed) CHECK(rep.refine_steps >= 1);
    }
  }
}

TEST_CASE("every solver leaves A as it found it, bit for bit") {
  // n = 150: 18 whole 8 x 8 tiles of the triangle restore per column block, and 6 rows more.
  const int n = 150;
  MatrixXd A = random_spd(n, 6, 1.0);
  A = (0.5 * (A + A.transpose())).eval();  // exactly symmetric: the upper triangle comes back too
  const MatrixXd Y = random_matrix(n, 4, 7);
  for (Precision p : {Precision::fp64, Precision::fp32, Precision::mixed}) {
    CAPTURE(to_string(p));
    MatrixXd work = A, alpha;
    SpdSolver::create({0.3, p})->solve(work, Y, alpha);
    CHECK(work == A);
    CHECK(relative_residual(A, 0.3, alpha, Y) < (p == Precision::fp32 ? 1e-4 : 1e-12));
  }
  // Symmetric only up to rounding (as kernel matrices are): the upper triangle comes back as it
  // was and the lower becomes its transpose.
  MatrixXd B = random_spd(n, 8, 1.0);
  B(1, 0) = std::nextafter(B(0, 1), 10.0);  // asymmetric whatever the product's summation order
  REQUIRE(B != B.transpose());
  MatrixXd work = B, alpha;
  SpdSolver::create({0.0, Precision::fp64})->solve(work, Y, alpha);
  const MatrixXd upper = B.triangularView<Eigen::Upper>();
  CHECK(MatrixXd(work.triangularView<Eigen::Upper>()) == upper);
  CHECK(work == work.transpose());
}

TEST_CASE("a failed Cholesky falls back to LU and says so") {
  const int n = 6;
  MatrixXd A = random_matrix(n, n, 3);
  A = (A + A.transpose()).eval();  // symmetric, indefinite
  const MatrixXd X = random_matrix(n, 2, 4), Y = A * X;
  for (Precision p : {Precision::fp64, Precision::mixed}) {
    CAPTURE(to_string(p));
    MatrixXd work = A, alpha;
    SolveReport rep = SpdSolver::create({0.0, p})->solve(work, Y, alpha);
    CHECK(rep.fallback);
    CHECK(rep.method == "lu");
    CHECK(rep.message.find("not positive definite") != std::string::npos);
    CHECK(rel_error(alpha, X) < 1e-10);
    CHECK(work == A);
  }
}

TEST_CASE("both Cholesky schedules: several panels, and the failing minor named across them") {
  // n = 300 is panels of 96, 96, 96 and 12 with lookahead, 128, 128 and 44 blocked.
  const int n = 300;
  MatrixXd A = random_spd(n, 9, 1.0);
  A = (0.5 * (A + A.transpose())).eval();  // exactly symmetric, so that it comes back exactly
  using Schedule = SolveOptions::Schedule;
  for (Schedule schedule : {Schedule::lookahead, Schedule::blocked, Schedule::automatic}) {
    CAPTURE(int(schedule));
    SolveOptions opt;
    opt.schedule = schedule;
    for (int c : {1, 3}) {  // one right-hand side, and more than one per thread of two
      const MatrixXd X = random_matrix(n, c, 10), Y = A * X;
      MatrixXd work = A, alpha;
      SolveReport rep = SpdSolver::create(opt)->solve(work, Y, alpha);
      CHECK(rep.method == "cholesky");
      CHECK(rel_error(alpha, X) < 1e-12);
    }
    // Leading minors positive definite up to order k - 1 and not from k: in the first panel,
    // in a later one (after the panel that the lookahead factors ahead), and in the last.
    const MatrixXd X = random_matrix(n, 3, 10);
    for (int k : {5, 200, 297}) {
      CAPTURE(k);
      MatrixXd B = A;
      B(k - 1, k - 1) = -B(k - 1, k - 1);
      MatrixXd work = B, alpha;
      SolveReport rep = SpdSolver::create(opt)->solve(work, B * X, alpha);
      CHECK(rep.fallback);
      CHECK(rep.message.find(strfmt("leading minor %d ", k)) != std::string::npos);
      CHECK((work - B).cwiseAbs().maxCoeff() == 0.0);
      CHECK(relative_residual(B, 0.0, alpha, B * X) < 1e-10);  // LU from Y, not a half-solved Y
    }
  }
}

TEST_CASE("a singular system is solved in the least-squares sense by eigendecomposition") {
  // Rank one: A = v v^T, Y in the range of A.
  VectorXd v(4);
  v << 1, 2, 0, -1;
  const MatrixXd A = v * v.transpose();
  const MatrixXd Y = A * VectorXd::Ones(4);
  MatrixXd work = A, alpha;
  SolveReport rep = SpdSolver::create({0.0, Precision::fp64})->solve(work, Y, alpha);
  CHECK(rep.fallback);
  CHECK(rep.method == "eigen");
  CHECK(work == A);
  CHECK(relative_residual(A, 0.0, alpha, Y) < 1e-12);
  // The minimum-norm solution lies in span(v).
  CHECK(rel_error(alpha, v * (v.dot(VectorXd::Ones(4)) / v.squaredNorm())) < 1e-12);
}

TEST_CASE("sym_power: square root of an SPD matrix, negative eigenvalues clamped") {
  const MatrixXd G = random_spd(7, 5);
  const MatrixXd R = sym_power(G, 0.5);
  CHECK(rel_error(R * R, G) < 1e-13);
  CHECK(rel_error(R, R.transpose()) == 0.0);
  MatrixXd D = MatrixXd::Zero(3, 3);
  D.diagonal() << 4, -1, 9;
  MatrixXd expect = MatrixXd::Zero(3, 3);
  expect.diagonal() << 2, 0, 3;
  CHECK(rel_error(sym_power(D, 0.5), expect) < 1e-15);
}

TEST_CASE("option names round-trip and bad names are errors") {
  CHECK(precision_from_string("mixed") == Precision::mixed);
  CHECK_THROWS_AS(precision_from_string("fp16"), InputError);
  CHECK_THROWS_AS(SpdSolver::create({-1.0, Precision::fp64}), InputError);
}

// Whether every column of Y - A X is within sqrt(n) eps ||A||_inf ||x_j||_inf (the backward error
// of an fp64 solve: LAPACK dsposv's test for its refinement).
bool at_fp64_level(const MatrixXd& A, const MatrixXd& X, const MatrixXd& Y) {
  const MatrixXd R = Y - A * X;
  const double bound = std::sqrt(double(A.rows())) * std::numeric_limits<double>::epsilon() *
                       A.cwiseAbs().rowwise().sum().maxCoeff();
  for (Eigen::Index j = 0; j < X.cols(); ++j)
    if (R.col(j).cwiseAbs().maxCoeff() > bound * X.col(j).cwiseAbs().maxCoeff()) return false;
  return true;
}

// Gaussian kernel matrices of all pairs of add mod 41 (n = 1681, ridge 0: interpolation, as RFM
// solves them): the wider the bandwidth the worse K's condition, until fp32 refinement cannot
// converge and mixed falls back to fp64.
TEST_CASE("mixed and fp32 solves of ill-conditioned kernel matrices against fp64") {
  const Dataset ds = make_modular_task(Op::add, 41);
  const int n = ds.N(), c = ds.c;
  MatrixXd Y = MatrixXd::Zero(n, c);
  for (int i = 0; i < n; ++i) Y(i, ds.labels[i]) = 1;
  const MatrixXd M = MatrixXd::Identity(ds.inputs.d, ds.inputs.d);
  int refined = 0, fell_back = 0;
  for (double bandwidth : {2.5, 5.0, 10.0, 20.0}) {
    CAPTURE(bandwidth);
    MatrixXd K(n, n);
    pair_matrix(Kernel{KernelType::gaussian, bandwidth}, ds.inputs, ds.inputs, M, K,
                PairMap::values);
    MatrixXd work = K, x64, xmix, x32;
    SpdSolver::create({0.0, Precision::fp64})->solve(work, Y, x64);
    const SolveReport mix = SpdSolver::create({0.0, Precision::mixed})->solve(work, Y, xmix);
    SpdSolver::create({0.0, Precision::fp32})->solve(work, Y, x32);
    CAPTURE(mix.message);
    CHECK(at_fp64_level(K, x64, Y));
    CHECK(at_fp64_level(K, xmix, Y));
    CHECK(relative_residual(K, 0.0, xmix, Y) == doctest::Approx(mix.residual).epsilon(1e-6));
    if (mix.fallback) {
      ++fell_back;
      CHECK(mix.message.find("refinement stalled") != std::string::npos);
      CHECK(xmix == x64);  // the fp64 solve itself
    } else {
      ++refined;
      CHECK(mix.method == "cholesky-mixed");
      CHECK(mix.refine_steps >= 1);
      CHECK(rel_error(xmix, x64) < 1e-7);
      CHECK_FALSE(at_fp64_level(K, x32, Y));  // what the refinement was for
    }
  }
  CHECK(refined >= 2);    // L = 2.5 and 5 refine (cond(K) * eps32 < 1)
  CHECK(fell_back >= 1);  // L = 20 cannot
}

TEST_CASE("auto precision: the cost model's choices") {
  // The model's terms counted one by one (in fp64 flop times, fp32 at twice the rate).
  auto ratio = [](double n, double c, int steps) {
    const double fp64 = n * n * n / 3 + 2 * n * n * c;
    const double fp32_solve = fp64 / 2, residuals = (steps + 1) * 2 * n * n * c;
    const double corrections = steps * (2 * n * n * c) / 2;
    return (fp32_solve + residuals + corrections) / fp64;
  };
  for (double n : {2048.0, 8000.0})
    for (double c : {1.0, 10.0, 100.0})
      for (int steps : {1, 2, 3})
        CHECK(mixed_cost_ratio(n, c, steps) == doctest::Approx(ratio(n, c, steps)));
  CHECK(mixed_cost_ratio(8000, 1, 2) < 0.51);             // one right-hand side: the fp32 factor
  CHECK(auto_precision(8000, 1) == Precision::mixed);     // regression on 8000 points
  CHECK(auto_precision(1000, 1) == Precision::fp64);      // too small for fp32 to run twice as fast
  CHECK(auto_precision(1860, 61) == Precision::fp64);     // add mod 61: mixed would cost 1.16x
  CHECK(auto_precision(4704, 97) == Precision::fp64);     // add mod 97
  CHECK(auto_precision(22260, 211) == Precision::mixed);  // add mod 211 (two steps)
  CHECK(auto_precision(22260, 211, 4) == Precision::fp64);  // unless refinement takes four
  CHECK(starting_precision(Precision::automatic, 8000, 1) == Precision::mixed);
  CHECK(starting_precision(Precision::automatic, 1860, 61) == Precision::fp64);
  CHECK(starting_precision(Precision::fp32, 1860, 61) == Precision::fp32);
  CHECK(precision_note(Precision::fp32, 8000, 1) == "fp32");
  CHECK(precision_note(Precision::automatic, 8000, 1)
            .rfind("auto: mixed (mixed predicted at 0.50x", 0) == 0);
}

TEST_CASE("auto precision solves mixed where it pays, fp64 where not and after a fallback") {
  // All pairs of add mod 47: n = 2209, Gaussian kernel, ridge 0. One right-hand side (a
  // regression target) makes mixed pay; 47 one-hot columns do not.
  const Dataset ds = make_modular_task(Op::add, 47);
  const int n = ds.N();
  MatrixXd onehot = MatrixXd::Zero(n, ds.c), target(n, 1);
  for (int i = 0; i < n; ++i) {
    onehot(i, ds.labels[i]) = 1;
    target(i, 0) = std::cos(0.3 * ds.labels[i]);
  }
  const MatrixXd M = MatrixXd::Identity(ds.inputs.d, ds.inputs.d);
  auto gram = [&](double bandwidth) {
    MatrixXd K(n, n);
    pair_matrix(Kernel{KernelType::gaussian, bandwidth}, ds.inputs, ds.inputs, M, K,
                PairMap::values);
    return K;
  };
  MatrixXd good = gram(2.5), bad = gram(20.0), x, x64;
  auto solver = SpdSolver::create({0.0, Precision::automatic});
  SolveReport rep = solver->solve(good, target, x);
  CHECK(rep.method == "cholesky-mixed");
  CHECK(rep.refine_steps >= 1);
  CHECK(at_fp64_level(good, x, target));
  SpdSolver::create({0.0, Precision::fp64})->solve(good, target, x64);
  CHECK(rel_error(x, x64) < 1e-7);
  CHECK(solver->solve(good, onehot, x).method == "cholesky");  // 47 columns: fp64
  rep = solver->solve(bad, target, x);  // fp32 refinement stalls: fp64, and fp64 from then on
  CAPTURE(rep.message);
  REQUIRE(rep.fallback);
  CHECK(rep.message.find("auto precision: fp64 from here on") != std::string::npos);
  CHECK(at_fp64_level(bad, x, target));
  rep = solver->solve(good, target, x);
  CHECK(rep.method == "cholesky");
  CHECK_FALSE(rep.fallback);
  CHECK(rep.refine_steps == 0);
}
