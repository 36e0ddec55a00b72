// rfm/: progress measures on matrices with known answers, the RFM loop against the NumPy
// reference (scripts/reference_rfm.py fixtures), and one end-to-end grokking run.
#include <doctest/doctest.h>

#include <string>

#include "rfm/rfm.h"
#include "tests/test_util.h"

using namespace rfm;
using rfm::test::random_matrix;
using rfm::test::rel_error;

static std::string fixture(const std::string& name) {
  return std::string(RFM_TEST_DATA) + "/" + name + ".npy";
}

// --- Progress measures ----------------------------------------------------------------------

static MatrixXd circulant(const VectorXd& first_col) {
  const int q = static_cast<int>(first_col.size());
  MatrixXd C(q, q);
  for (int r = 0; r < q; ++r)
    for (int c = 0; c < q; ++c) C(r, c) = first_col((r - c + q) % q);
  return C;
}

TEST_CASE("circulant deviation: 0 on circulants, 0 reversed on Hankel, > 0 on random") {
  const MatrixXd C = circulant(random_matrix(9, 1, 1));
  CHECK(circulant_deviation(C, false) < 1e-16);
  CHECK(circulant_deviation(C, true) > 1e-3);
  const MatrixXd H = C.rowwise().reverse();  // anti-circulant
  CHECK(circulant_deviation(H, true) < 1e-16);
  CHECK(circulant_deviation(H, false) > 1e-3);
  // For an iid random matrix every wrapped diagonal varies fully: D is near (q - 1) / q^2,
  // the largest value D can take (a q x q matrix has ||A||_F^2 >= q * sum of variances).
  const MatrixXd R = random_matrix(9, 9, 2);
  CHECK(circulant_deviation(R, false) > 0.5 * 8 / 81.0);
  CHECK(circulant_deviation(R, false) <= 1 / 9.0);
  // Scale invariant, and population variance: a matrix with one 1 per row in column 0 gives
  // sum over wrapped diagonals of Var = q * (1/q)(1 - 1/q) over ||A||^2 = q.
  MatrixXd E = MatrixXd::Zero(5, 5);
  E.col(0).setOnes();
  CHECK(circulant_deviation(E, false) == doctest::Approx(0.8 / 5 * 5 / 5.0));
  CHECK(circulant_deviation(3 * R, false) == doctest::Approx(circulant_deviation(R, false)));
}

TEST_CASE("task block: bottom-left block, discrete-log order for mul and div") {
  const int p = 7;
  MatrixXd M = MatrixXd::Zero(2 * p, 2 * p);
  for (int r = 0; r < p; ++r)
    for (int c = 0; c < p; ++c) M(p + r, c) = 10 * r + c;
  CHECK(task_block(M, p, Op::add) == M.block(p, 0, p, p));
  const MatrixXd B = task_block(M, p, Op::mul);
  const std::vector<int> order = discrete_log_order(p);  // 1, 3, 2, 6, 4, 5
  REQUIRE(B.rows() == p - 1);
  for (int i = 0; i < p - 1; ++i)
    for (int j = 0; j < p - 1; ++j) CHECK(B(i, j) == 10 * order[i] + order[j]);
  // A multiplicative circulant becomes an ordinary circulant after the reordering.
  MatrixXd Mm = MatrixXd::Zero(2 * p, 2 * p);
  const VectorXd f = random_matrix(p - 1, 1, 3);
  std::vector<int> log(p);
  for (int i = 0; i < p - 1; ++i) log[order[i]] = i;
  for (int r = 1; r < p; ++r)
    for (int c = 1; c < p; ++c) Mm(p + r, c) = f((log[r] - log[c] + p - 1) % (p - 1));
  CHECK(circulant_deviation(task_block(Mm, p, Op::mul), false) < 1e-16);
  CHECK_THROWS_AS(task_block(MatrixXd::Identity(4, 4), p, Op::add), InputError);
}

TEST_CASE("cosine similarity with and without diagonals") {
  MatrixXd A = MatrixXd::Identity(3, 3), B = MatrixXd::Identity(3, 3);
  B(0, 1) = B(1, 0) = 1;
  CHECK(cosine_similarity(A, A, false) == doctest::Approx(1.0));
  CHECK(cosine_similarity(A, B, false) == doctest::Approx(3 / std::sqrt(3.0 * 5.0)));
  CHECK(cosine_similarity(B, B, true) == doctest::Approx(1.0));
}

// --- The loop against the NumPy reference ---------------------------------------------------

struct RefRun {
  std::string tag;
  Op op;
  KernelType kernel;
};

TEST_CASE("RFM iterations match the NumPy reference implementation") {
  for (const RefRun& ref : {RefRun{"add11_gaussian", Op::add, KernelType::gaussian},
                            RefRun{"mul7_quadratic", Op::mul, KernelType::quadratic},
                            RefRun{"sub7_laplace", Op::sub, KernelType::laplace}}) {
    CAPTURE(ref.tag);
    const std::string base = "ref_rfm_" + ref.tag + "_";
    const MatrixXd params = npy_load(fixture(base + "params"));
    const int p = int(params(0)), T = int(params(5));
    Dataset ds = make_modular_task(ref.op, p);
    auto to_int = [](std::vector<int64_t> v) { return std::vector<int>(v.begin(), v.end()); };
    const std::vector<int> train = to_int(npy_load_ints(fixture(base + "train_idx")));
    const std::vector<int> test = to_int(npy_load_ints(fixture(base + "test_idx")));
    RfmProblem pb{ds.inputs.rows(train), ds.inputs.rows(test), one_hot_labels(ds.labels, train, p),
                  one_hot_labels(ds.labels, test, p)};
    RfmOptions o;
    o.kernel = {ref.kernel, params(3)};
    o.solve.ridge = params(4);
    o.iters = T;
    std::vector<MatrixXd> Ms;
    IterationCallback keep = [&](const IterationStats&, const MatrixXd& M) {
      Ms.push_back(M);
      return Decision::proceed;
    };
    Measure circ = [&](const MatrixXd& M, IterationStats& s) {
      s.circ_dev = circulant_deviation(task_block(M, p, ref.op), false);
    };
    RfmSummary sum = run_rfm(o, pb, MatrixXd::Identity(2 * p, 2 * p), {keep}, circ);
    Ms.push_back(sum.M_final);
    REQUIRE(sum.iterations.size() == size_t(T));
    const MatrixXd metrics = npy_load(fixture(base + "metrics"));
    const MatrixXd circ_ref = npy_load(fixture(base + "circ_dev"));
    for (int t = 0; t <= T; ++t) {
      CAPTURE(t);
      // M_{t+1} = sqrt(G_t): G_t has exact null directions whose eigenvalues come out as
      // +-1e-17, so two correct codes agree on M only to ~sqrt(1e-17) ~ 3e-9 per entry.
      const MatrixXd Mref = npy_load(fixture(base + "M" + std::to_string(t)));
      CHECK((Ms[t] - Mref).cwiseAbs().maxCoeff() < 1e-6);
      if (t == T) break;
      const IterationStats& st = sum.iterations[t];
      CHECK(st.train_acc == metrics(t, 0));
      CHECK(st.test_acc == metrics(t, 1));
      CHECK(st.train_mse == doctest::Approx(metrics(t, 2)).epsilon(1e-6).scale(1e-12));
      CHECK(st.test_mse == doctest::Approx(metrics(t, 3)).epsilon(1e-6));
      CHECK(st.circ_dev == doctest::Approx(circ_ref(t)).epsilon(1e-6).scale(1e-9));
    }
  }
}

TEST_CASE("dense fixtures: Gram, predictions, Jacobians and AGOP match NumPy") {
  const MatrixXd X = npy_load(fixture("ref_dense_X")), Z = npy_load(fixture("ref_dense_Z"));
  const MatrixXd alpha = npy_load(fixture("ref_dense_alpha"));
  const MatrixXd M = npy_load(fixture("ref_dense_M"));
  const int d = int(X.cols());
  for (KernelType type : {KernelType::gaussian, KernelType::gaussian_paper, KernelType::laplace,
                          KernelType::quadratic}) {
    std::string name = to_string(type);
    if (type == KernelType::gaussian_paper) name = "gaussian_paper";
    CAPTURE(name);
    const std::string base = "ref_dense_" + name + "_";
    Kernel k{type, 1.7};
    MatrixXd K(X.rows(), X.rows());
    pair_stats_dense(k, X, X, M, K);
    apply_values(k, K);
    CHECK(rel_error(K, npy_load(fixture(base + "K"))) < 1e-12);
    const Inputs Xi = Inputs::from_dense(X), Zi = Inputs::from_dense(Z);
    CHECK(rel_error(predict(k, Xi, alpha, M, Zi), npy_load(fixture(base + "pred"))) < 1e-12);
    const MatrixXd jac = npy_load(fixture(base + "jac"));
    std::vector<MatrixXd> J = jacobians_reference(k, X, alpha, M, Z);
    for (size_t j = 0; j < J.size(); ++j) CHECK(rel_error(J[j], jac.middleRows(j * d, d)) < 1e-12);
    for (bool centering : {true, false}) {
      AgopOptions opt{centering, AgopPath::dense, 2};
      CHECK(rel_error(agop(k, Xi, alpha, M, Zi, opt),
                      npy_load(fixture(base + (centering ? "agop_centered" : "agop_uncentered")))) <
            1e-11);
    }
    AgopOptions opt{true, AgopPath::dense, 3};
    CHECK(rel_error(agop(k, Xi, alpha, M, Xi, opt),
                    npy_load(fixture(base + "agop_train_centered"))) < 1e-10);
  }
}

TEST_CASE("the one-hot route gives the dense route's accuracy curve") {
  // Three runs: one-hot inputs with the one-hot AGOP (the fast path: Gaussian values as products
  // of exponentials), with the dense AGOP route, and dense inputs (every step dense: the
  // reference path).
  const int p = 23;
  Dataset ds = make_modular_task(Op::add, p);
  Split s = random_split(ds.N(), 0.5, 3);
  auto curve = [&](AgopPath path, bool dense_inputs) {
    Inputs train = ds.inputs.rows(s.train), test = ds.inputs.rows(s.test);
    if (dense_inputs) {
      train = Inputs::from_dense(train.dense());
      test = Inputs::from_dense(test.dense());
    }
    RfmProblem pb{train, test, one_hot_labels(ds.labels, s.train, p),
                  one_hot_labels(ds.labels, s.test, p)};
    RfmOptions o;
    o.iters = 8;
    o.agop.path = path;
    return run_rfm(o, pb, MatrixXd::Identity(2 * p, 2 * p), {});
  };
  const RfmSummary fast = curve(AgopPath::onehot, false);
  for (const RfmSummary& dense : {curve(AgopPath::dense, false), curve(AgopPath::dense, true)}) {
    for (int t = 0; t < 8; ++t) {
      CAPTURE(t);
      CHECK(std::abs(fast.iterations[t].test_acc - dense.iterations[t].test_acc) <= 0.002);
      CHECK(fast.iterations[t].test_mse ==
            doctest::Approx(dense.iterations[t].test_mse).epsilon(1e-8));
    }
    CHECK(rel_error(fast.M_final, dense.M_final) < 1e-6);
  }
}

TEST_CASE("mixed precision gives the fp64 accuracy curve, with its refinement recorded") {
  const int p = 31;
  Dataset ds = make_modular_task(Op::add, p);
  Split s = random_split(ds.N(), 0.5, 0);
  RfmProblem pb{ds.inputs.rows(s.train), ds.inputs.rows(s.test),
                one_hot_labels(ds.labels, s.train, p), one_hot_labels(ds.labels, s.test, p)};
  auto run = [&](Precision precision) {
    RfmOptions o;
    o.iters = 25;  // test accuracy crosses 0.5 at iteration 18 (add mod 31, frac 0.5, seed 0)
    o.solve.precision = precision;
    return run_rfm(o, pb, MatrixXd::Identity(2 * p, 2 * p), {});
  };
  const RfmSummary fp64 = run(Precision::fp64), mixed = run(Precision::mixed);
  REQUIRE(mixed.iterations.size() == fp64.iterations.size());
  CHECK(fp64.iterations.back().test_acc > 0.5);
  for (size_t t = 0; t < fp64.iterations.size(); ++t) {
    CAPTURE(t);
    const IterationStats& row = mixed.iterations[t];
    CHECK(row.test_acc == fp64.iterations[t].test_acc);
    CHECK(row.solver == "cholesky-mixed");
    REQUIRE(row.extra.size() >= 2);
    CHECK(row.extra[0].first == "refine_steps");
    CHECK(row.extra[0].second >= 1);
    CHECK(row.extra[1].first == "solve_residual");
    CHECK(row.extra[1].second < 1e-8);
  }
  CHECK(fp64.iterations[0].extra.empty());  // fp64 runs keep their columns
}
