// The tasks and RFM experiments of issue 8: polynomial parsing (checked against direct
// evaluation), multitask, composition and system tasks, commutative augmentation, the
// block-circulant constructions of docs/algorithms.md 2.4 and 2.5, and the grok options end
// to end.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <complex>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unsupported/Eigen/MatrixFunctions>

#include "rfm/rfm.h"

using namespace rfm;

namespace {

int mod(int64_t v, int p) {
  return static_cast<int>(((v % p) + p) % p);
}

// Every label of a polynomial task against a direct formula.
template <typename F>
void check_polynomial(const std::string& expr, int p, F f) {
  const Dataset ds = make_polynomial_task(expr, p);
  REQUIRE(ds.N() == p * p);
  for (int i = 0; i < ds.N(); ++i) {
    const int x = ds.operands(i, 0), y = ds.operands(i, 1);
    INFO("expr ", expr, " p ", p, " x ", x, " y ", y);
    REQUIRE(ds.labels[i] == mod(f(x, y), p));
    REQUIRE(ds.inputs.hot(i, 0) == x);
    REQUIRE(ds.inputs.hot(i, 1) == p + y);
  }
}

std::string parse_error(const std::string& expr) {
  try {
    Polynomial f(expr);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string run_cli(const std::string& args) {
  const std::string cmd = std::string(RFM_BINARY) + " " + args + " 2>&1";
  std::string out;
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  char buf[4096];
  while (size_t got = fread(buf, 1, sizeof buf, pipe)) out.append(buf, got);
  pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("polynomial tasks match direct evaluation") {
  const int p = 7;
  check_polynomial("x^3+x*y", p, [](int64_t x, int64_t y) { return x * x * x + x * y; });
  check_polynomial("(x+y)^2", p, [](int64_t x, int64_t y) { return (x + y) * (x + y); });
  check_polynomial("(x-y)^3", p, [](int64_t x, int64_t y) { return (x - y) * (x - y) * (x - y); });
  check_polynomial("x^2+xy+y^2+x", p,
                   [](int64_t x, int64_t y) { return x * x + x * y + y * y + x; });
  check_polynomial("x^3 + x y^2 + y", p,
                   [](int64_t x, int64_t y) { return x * x * x + x * y * y + y; });
  check_polynomial("-3x^2 - (2 - y)*5 + 12", p,
                   [](int64_t x, int64_t y) { return -3 * x * x - (2 - y) * 5 + 12; });
  check_polynomial("(a+b)^0 + a^1", p, [](int64_t x, int64_t) { return 1 + x; });
  check_polynomial("x^20", 11, [](int64_t x, int64_t) {
    int64_t r = 1;
    for (int k = 0; k < 20; ++k) r = r * x % 11;
    return r;
  });
}

TEST_CASE("malformed polynomials name the position") {
  CHECK(parse_error("x^2+").find("position 5") != std::string::npos);
  CHECK(parse_error("x+*y").find("position 3") != std::string::npos);
  CHECK(parse_error("(x+y").find("expected ')' at position 5") != std::string::npos);
  CHECK(parse_error("x^-1").find("non-negative integer") != std::string::npos);
  CHECK(parse_error("x^y").find("position 3") != std::string::npos);
  CHECK(parse_error("x^2^3").find("chained") != std::string::npos);
  CHECK(parse_error("x+z").find("unexpected 'z'") != std::string::npos);
  CHECK(parse_error("x)").find("position 2") != std::string::npos);
  CHECK(parse_error("").find("empty") != std::string::npos);
  CHECK(parse_error("99999999999").find("larger") != std::string::npos);
  CHECK(parse_error("x^2+y") == "");
}

TEST_CASE("make_task dispatches every task of issue 8") {
  const int p = 5;
  SUBCASE("binary operations are the modular tasks") {
    const Dataset a = make_task("add", p), b = make_modular_task(Op::add, p);
    CHECK(a.labels == b.labels);
    CHECK(make_task("x+y", p).labels == b.labels);  // the same task as a polynomial
  }
  SUBCASE("unknown names say so") {
    try {
      make_task("pow", p);
      FAIL("no error");
    } catch (const InputError& e) {
      CHECK(std::string(e.what()).find("unknown task 'pow'") != std::string::npos);
    }
    CHECK_THROWS_AS(make_task("compose:add,div", p), InputError);
    CHECK_THROWS_AS(make_task("compose:add", p), InputError);
    CHECK_THROWS_AS(make_task("add,", p), InputError);
    CHECK_THROWS_AS(make_task("x^2", 6), InputError);  // not prime
  }
  SUBCASE("system: (a+b, a-b) -> a, every (u, v) once") {
    const Dataset ds = make_task("system", p);
    REQUIRE(ds.N() == p * p);
    std::vector<int> seen(p * p, 0);
    for (int i = 0; i < ds.N(); ++i) {
      const int u = ds.operands(i, 0), v = ds.operands(i, 1), a = ds.labels[i];
      const int b = mod(u - a, p);
      CHECK(mod(a - b, p) == v);
      ++seen[u * p + v];
    }
    for (int k : seen) CHECK(k == 1);
    CHECK_THROWS_AS(make_system_task(2), InputError);
  }
  SUBCASE("compose: (a op1 b) op2 c with three one-hot slots") {
    const Dataset ds = make_task("compose:add,mul", p);
    REQUIRE(ds.N() == p * p * p);
    CHECK(ds.inputs.d == 3 * p);
    for (int i = 0; i < ds.N(); ++i) {
      const int a = ds.operands(i, 0), b = ds.operands(i, 1), c = ds.operands(i, 2);
      REQUIRE(ds.labels[i] == (a + b) % p * c % p);
      REQUIRE(ds.inputs.hot(i, 2) == 2 * p + c);
    }
  }
  SUBCASE("multitask: a task selector slot, shared head") {
    const Dataset ds = make_task("add,x^2+y^2", p);
    REQUIRE(ds.N() == 2 * p * p);
    CHECK(ds.inputs.d == 2 * p + 2);
    CHECK(ds.c == p);
    CHECK(multitask_names(ds) == std::vector<std::string>{"add", "x^2+y^2"});
    const std::vector<int> t = task_of_examples(ds);
    for (int i = 0; i < ds.N(); ++i) {
      const int x = ds.operands(i, 0), y = ds.operands(i, 1);
      REQUIRE(ds.inputs.hot(i, 2) == 2 * p + t[i]);
      REQUIRE(ds.labels[i] == (t[i] == 0 ? (x + y) % p : (x * x + y * y) % p));
    }
  }
}

TEST_CASE("commutative augmentation") {
  const int p = 7;
  CHECK(is_commutative(make_task("add", p)));
  CHECK(is_commutative(make_task("x^2+xy+y^2", p)));
  CHECK(is_commutative(make_task("add,mul", p)));
  CHECK(is_commutative(make_task("compose:mul,add", p)));
  CHECK_FALSE(is_commutative(make_task("sub", p)));
  CHECK_FALSE(is_commutative(make_task("div", p)));
  CHECK_FALSE(is_commutative(make_task("x^2+y", p)));

  const Dataset ds = make_task("add", p);
  Split s = random_split(ds.N(), 0.3, 1);
  const Split before = s;
  const int moved = augment_commutative(s, ds);
  CHECK(moved > 0);
  CHECK(int(s.train.size()) == int(before.train.size()) + moved);
  CHECK(s.train.size() + s.test.size() == size_t(ds.N()));
  std::vector<char> train(ds.N(), 0);
  for (int i : s.train) train[i] = 1;
  for (int i : before.train) CHECK(train[i]);
  for (int i : s.train) {  // closed under (a, b) -> (b, a)
    const int a = ds.operands(i, 0), b = ds.operands(i, 1);
    CHECK(train[b * p + a]);
  }
  Split t = random_split(p * p, 0.5, 0);
  CHECK_THROWS_AS(augment_commutative(t, make_task("sub", p)), InputError);
}

TEST_CASE("block-circulant feature matrices (docs/algorithms.md 2.4)") {
  const int p = 7;
  for (Op op : {Op::add, Op::sub, Op::mul, Op::div}) {
    const std::string name = to_string(op);
    CAPTURE(name);
    const MatrixXd M = random_circulant_features(p, op, 3, CirculantSpectrum::scaled);
    REQUIRE(M.rows() == 2 * p);
    CHECK((M - M.transpose()).norm() == 0.0);
    // A = I - 11^T/p on the diagonal blocks.
    const MatrixXd A = MatrixXd::Identity(p, p) - MatrixXd::Constant(p, p, 1.0 / p);
    CHECK((M.topLeftCorner(p, p) - A).norm() < 1e-15);
    // The block is exactly circulant (or Hankel) in the op's order: the deviation is rounding
    // (circulant_deviation's variance cancels to about 1e-17 here).
    const MatrixXd B = task_block(M, p, op);
    const bool hankel = hankel_op(op);
    CHECK(circulant_deviation(B, hankel) < 1e-14);
    CHECK(circulant_deviation(B, !hankel) > 1e-3);
    // Scaled to spectral norm 1: positive semidefinite up to rounding.
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(M);
    CHECK(es.eigenvalues().minCoeff() > -1e-12);
    CHECK(es.eigenvalues().maxCoeff() < 2 + 1e-12);
    // The projection keeps a matrix of the structure (up to its diagonal scale) as it is.
    const VectorXd g = block_first_column(M, p, op);
    CHECK((block_circulant_matrix(g, p, op) - M).norm() < 1e-14);
    // Normalising by the diagonal (1 - 1/p) lifts ||C||_2 above 1; the PSD limit scales it
    // back to 1, so a structured M with ||C||_2 = 1 is a fixed point.
    const MatrixXd P = block_circulant_projection(M, p, op);
    CHECK((P - M).norm() < 1e-13);
  }
  CHECK_THROWS_AS(block_circulant_matrix(VectorXd::Zero(3), p, Op::add), InputError);
}

namespace {

// --- The authors' construction, transcribed from their Python (independent of rfm.cpp) -------

// scipy.linalg.circulant(c): [i, j] = c[(i - j) mod n].
MatrixXd scipy_circulant(const VectorXd& c) {
  const int n = static_cast<int>(c.size());
  MatrixXd C(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) C(i, j) = c(mod(i - j, n));
  return C;
}

// torch.rot90(A) (k = 1, dims (0, 1)), as np.rot90: [i, j] = A[j, n - 1 - i].
MatrixXd rot90(const MatrixXd& A) {
  const int n = static_cast<int>(A.rows());
  MatrixXd R(n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) R(i, j) = A(j, n - 1 - i);
  return R;
}

// utils.py unorder(C, p): get_a_from_p's smallest a whose powers a^1..a^(p-1) are all of
// 1..p-1; lg_idx[n] = the 1-based position of n among them; E[i, invert_idx(lg_idx)[i]] = 1 for
// i = 1..p-1; the result is E^T C E.
MatrixXd unorder(const MatrixXd& C, int p) {
  int a = 2;
  for (;; ++a) {
    std::vector<char> seen(p, 0);
    for (int k = 1, r = 1; k < p; ++k) seen[r = r * a % p] = 1;
    if (std::count(seen.begin() + 1, seen.end(), 1) == p - 1) break;
  }
  std::vector<int> lg_idx(p, 0), inv(p, 0);
  for (int k = 1, r = 1; k < p; ++k) lg_idx[r = r * a % p] = k;
  for (int i = 0; i < p; ++i) inv[lg_idx[i]] = i;  // invert_idx
  MatrixXd E = MatrixXd::Zero(p, p);
  for (int i = 1; i < p; ++i) E(i, inv[i]) = 1;
  return E.transpose() * C * E;
}

// train_random_circulant_kernel.py: M* from the random column col.
MatrixXd authors_block_matrix(const VectorXd& col, int p, Op op) {
  MatrixXd M = MatrixXd::Zero(2 * p, 2 * p);
  MatrixXd T = MatrixXd::Zero(p, p);
  if (op == Op::add) T = scipy_circulant(col);
  if (op == Op::sub) T = rot90(scipy_circulant(col));
  if (op == Op::mul || op == Op::div) {  // gen_random_mult_circulant, gen_random_div_circulant
    T.bottomRightCorner(p - 1, p - 1) =
        op == Op::mul ? scipy_circulant(col) : rot90(scipy_circulant(col));
    T = unorder(T, p);
  }
  M.topRightCorner(p, p) = T;  // M[:p, p:]
  M.bottomLeftCorner(p, p) = T.transpose();
  M.topLeftCorner(p, p) = MatrixXd::Identity(p, p) - MatrixXd::Constant(p, p, 1.0 / p);
  M.bottomRightCorner(p, p) = M.topLeftCorner(p, p);
  return M;
}

}  // namespace

TEST_CASE("random circulant sqrtm: the authors' M* and Re(sqrtm(M*))") {
  const int p = 13;  // |g^_k| ~ sqrt(q / 12) ~ 1: M* has eigenvalues 1 - |g^_k| < 0
  for (Op op : {Op::add, Op::sub, Op::mul, Op::div}) {
    const std::string name = to_string(op);
    CAPTURE(name);
    const int q = op == Op::mul || op == Op::div ? p - 1 : p;
    // Our M* from a column is the authors' matrix from that column, entry for entry.
    VectorXd col = VectorXd::Random(q);
    col.array() -= col.mean();
    const MatrixXd ref = authors_block_matrix(col, p, op);
    CHECK((published_circulant_matrix(col, p, op) - ref).norm() == 0.0);

    // The drawn M*: the block structure, no rescaling, indefinite.
    const MatrixXd S = random_circulant_block_matrix(p, op, 3, CirculantSpectrum::sqrtm);
    REQUIRE(S.rows() == 2 * p);
    CHECK((S - S.transpose()).norm() == 0.0);
    const MatrixXd A = MatrixXd::Identity(p, p) - MatrixXd::Constant(p, p, 1.0 / p);
    CHECK((S.topLeftCorner(p, p) - A).norm() == 0.0);
    CHECK((S.bottomRightCorner(p, p) - A).norm() == 0.0);
    const MatrixXd B = task_block(S, p, op);
    CHECK(circulant_deviation(B, hankel_op(op)) < 1e-14);
    const VectorXd g = block_first_column(S, p, op);  // uniform on [0, 1) less its mean
    CHECK(std::abs(g.sum()) < 1e-14);
    CHECK(g.maxCoeff() - g.minCoeff() < 1.0);
    CHECK((block_circulant_matrix(g, p, op) - S).norm() == 0.0);
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(S);
    REQUIRE(es.eigenvalues().minCoeff() < -0.1);

    // The feature matrix against Eigen's principal square root by the complex Schur form (the
    // method of scipy.linalg.sqrtm), computed without our eigendecomposition.
    const MatrixXd M = random_circulant_features(p, op, 3);
    CHECK((M - real_sqrtm_symmetric(S)).norm() == 0.0);
    const Eigen::MatrixXcd Sc = S.cast<std::complex<double>>();
    const Eigen::MatrixXcd R = Sc.sqrt();
    // R is a square root of S: backward stable, so rounding of eps ||S||^2 size (||S|| < 3).
    CHECK((R * R - Sc).norm() < 1e-12);
    CHECK(R.imag().norm() > 0.1);  // the negative eigenvalues give an imaginary part
    // The root is only Holder-1/2 at the zero eigenvalues of S (A and C annihilate 1), so
    // rounding of eps ||S|| moves it by up to sqrt(eps ||S||) ~ 3e-8: allow 30 times that.
    const double err = (R.real() - M).norm();
    CAPTURE(err);
    CHECK(err < 1e-6);
    // (Re sqrtm S)^2 is the positive semidefinite part V diag(max(l, 0)) V^T of S.
    const MatrixXd V = es.eigenvectors();
    const MatrixXd plus = V * es.eigenvalues().cwiseMax(0.0).asDiagonal() * V.transpose();
    CHECK((M * M - plus).norm() < 1e-13);
    CHECK((M - M.transpose()).norm() == 0.0);
    CHECK(Eigen::SelfAdjointEigenSolver<MatrixXd>(M).eigenvalues().minCoeff() > -1e-12);
  }
}

TEST_CASE("flat-spectrum random circulant: every Fourier mode of C has modulus 1") {
  const int p = 11;  // q = 11 for add and sub, q = 10 (even: a real Nyquist mode) for mul, div
  for (Op op : {Op::add, Op::sub, Op::mul, Op::div}) {
    const std::string name = to_string(op);
    CAPTURE(name);
    const MatrixXd M = random_circulant_features(p, op, 5, CirculantSpectrum::flat);
    const VectorXd g = block_first_column(M, p, op);
    const int q = static_cast<int>(g.size());
    for (int k = 0; k < q; ++k) {  // the DFT by its definition
      std::complex<double> z = 0;
      for (int r = 0; r < q; ++r) z += g(r) * std::polar(1.0, -2 * M_PI * k * r / q);
      CAPTURE(k);
      CHECK(std::abs(z) == doctest::Approx(k == 0 ? 0.0 : 1.0).epsilon(1e-12));
    }
    const MatrixXd A = MatrixXd::Identity(p, p) - MatrixXd::Constant(p, p, 1.0 / p);
    CHECK((M.topLeftCorner(p, p) - A).norm() < 1e-15);
    CHECK(circulant_deviation(task_block(M, p, op), hankel_op(op)) < 1e-14);
    Eigen::SelfAdjointEigenSolver<MatrixXd> es(M);
    CHECK(es.eigenvalues().minCoeff() > -1e-12);
    // Another seed draws other phases.
    const MatrixXd M2 = random_circulant_features(p, op, 6, CirculantSpectrum::flat);
    CHECK((M2 - M).norm() > 0.1);
  }
}

TEST_CASE("enforced circulant projection on an arbitrary M") {
  const int p = 5;
  MatrixXd X = MatrixXd::Random(2 * p, 2 * p);
  const MatrixXd M = X * X.transpose() + MatrixXd::Identity(2 * p, 2 * p);
  const MatrixXd P = block_circulant_projection(M, p, Op::add);
  const MatrixXd N = normalize_by_diagonal(M);
  // The first column of the normalised block, scaled down when ||C||_2 would exceed 1.
  const double scale = P(p + 1, 0) / N(p + 1, 0);
  CHECK(scale > 0);
  CHECK(scale <= 1 + 1e-15);
  for (int r = 0; r < p; ++r) CHECK(P(p + r, 0) == doctest::Approx(scale * N(p + r, 0)));
  CHECK(circulant_deviation(task_block(P, p, Op::add), false) < 1e-14);
  const double norm = Eigen::JacobiSVD<MatrixXd>(P.bottomLeftCorner(p, p)).singularValues()(0);
  CHECK(norm <= 1 + 1e-12);  // the limit of the projection
}

TEST_CASE("grok runs the issue 8 experiments end to end") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rfm_test_tasks_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto out = [&](const char* name) { return (dir / name).string(); };
  SUBCASE("random circulant features: one solve") {
    const std::string r =
        run_cli("grok --p 13 --features random-circulant --quiet --out " + out("rc"));
    CHECK(r.find("completed after 1 iterations") != std::string::npos);
  }
  SUBCASE("enforced circulant keeps the block circulant") {
    const std::string r = run_cli("grok --p 13 --iters 3 --enforce-circulant --out " + out("enf"));
    CHECK(r.find("circulant structure enforced") != std::string::npos);
    CHECK(r.find("completed after 3 iterations") != std::string::npos);
    const MatrixXd M = npy_load(out("enf") + "/M_final.npy");
    CHECK(circulant_deviation(task_block(M, 13, Op::add), false) < 1e-14);
  }
  SUBCASE("multitask records per-task accuracy") {
    const std::string r =
        run_cli("grok --p 7 --iters 2 --task add,x^2+y^2 --frac 0.8 --out " + out("multi"));
    CHECK(r.find("completed after 2 iterations") != std::string::npos);
    std::ifstream in(out("multi") + "/metrics.csv");
    std::string header;
    std::getline(in, header);
    CHECK(header.find("test_acc_add") != std::string::npos);
    CHECK(header.find("test_acc_x^2+y^2") != std::string::npos);
  }
  SUBCASE("polynomial, composition and system tasks run; circulant columns are NaN") {
    for (const char* task : {"\"x^3+x*y\"", "compose:add,mul", "system"}) {
      const std::string r = run_cli(std::string("grok --p 5 --iters 2 --quiet --task ") + task +
                                    " --out " + out("poly") + " --force");
      CHECK_MESSAGE(r.find("completed after 2 iterations") != std::string::npos, task, r);
    }
  }
  SUBCASE("commutative augmentation and its errors") {
    std::string r =
        run_cli("grok --p 7 --iters 2 --frac 0.3 --augment commutative --out " + out("aug"));
    CHECK(r.find("commutative augmentation") != std::string::npos);
    r = run_cli("grok --p 7 --iters 2 --task sub --augment commutative --out " + out("aug2"));
    CHECK(r.find("not commutative") != std::string::npos);
    r = run_cli("grok --p 7 --task x^2 --enforce-circulant --out " + out("bad"));
    CHECK(r.find("need --task add, sub, mul or div") != std::string::npos);
    r = run_cli("grok --p 7 --task \"x^2+\" --out " + out("bad"));
    CHECK(r.find("position 5") != std::string::npos);
  }
  fs::remove_all(dir);
}
