// neural/: every layer's backward and each whole model (MLP, transformer, 2-D embedding model)
// against central finite differences (fp64) and against PyTorch fixtures (tests/data/torch),
// AdamW against its documented formula, the MLP's AGOP against a per-point oracle and against
// finite-difference Jacobians, and `rfm train` end to end.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "neural/neural.h"
#include "tests/test_util.h"

using namespace rfm;
using rfm::test::CliResult;
using rfm::test::random_matrix;
using rfm::test::rel_error;
using rfm::test::run_cli;

namespace {

// Central differences of a scalar function of x, in place (x is restored). Step h = 1e-5 on
// O(1) values: truncation error h^2 ~ 1e-10 and round-off eps/h ~ 1e-11 in fp64, so analytic
// and numeric gradients agree to about 1e-8 relative; the checks use 1e-6.
std::vector<double> numeric_grad(std::vector<double>& x, const std::function<double()>& f) {
  const double h = 1e-5;
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double x0 = x[i];
    x[i] = x0 + h;
    const double fp = f();
    x[i] = x0 - h;
    const double fm = f();
    x[i] = x0;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

double rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-300);
}

std::vector<double> random_vec(size_t n, uint64_t seed) {
  const MatrixXd r = random_matrix(int(n), 1, seed);
  return std::vector<double>(r.data(), r.data() + n);
}

// <r, out>: a scalar whose gradient with respect to out is r.
double dot(const std::vector<double>& r, const std::vector<double>& out) {
  double s = 0;
  for (size_t i = 0; i < r.size(); ++i) s += r[i] * out[i];
  return s;
}

}  // namespace

TEST_CASE("neural layers: linear backward matches central differences") {
  const int N = 3, I = 4, O = 5;
  std::vector<double> x = random_vec(I * N, 1), W = random_vec(O * I, 2), r = random_vec(O * N, 3);
  std::vector<double> out(O * N), dx(I * N, 0.0), dW(O * I, 0.0);
  auto f = [&] {
    linear_forward(out.data(), x.data(), W.data(), N, I, O);
    return dot(r, out);
  };
  linear_backward(dx.data(), dW.data(), r.data(), x.data(), W.data(), N, I, O);
  CHECK(rel_diff(dx, numeric_grad(x, f)) < 1e-6);
  CHECK(rel_diff(dW, numeric_grad(W, f)) < 1e-6);
  // Backward accumulates: a second call doubles the gradients.
  linear_backward(dx.data(), dW.data(), r.data(), x.data(), W.data(), N, I, O);
  std::vector<double> g = numeric_grad(W, f);
  for (double& v : g) v *= 2;
  CHECK(rel_diff(dW, g) < 1e-6);
}

TEST_CASE("neural layers: square and relu backward match central differences") {
  const int n = 12;
  std::vector<double> h = random_vec(n, 4), r = random_vec(n, 5), out(n);
  for (double& v : h)
    if (std::abs(v) < 1e-3) v = 0.5;  // keep relu away from its kink at the step size
  std::vector<double> dh(n, 0.0);
  auto fs = [&] {
    square_forward(out.data(), h.data(), n);
    return dot(r, out);
  };
  square_backward(dh.data(), r.data(), h.data(), n);
  CHECK(rel_diff(dh, numeric_grad(h, fs)) < 1e-6);
  std::fill(dh.begin(), dh.end(), 0.0);
  auto fr = [&] {
    relu_forward(out.data(), h.data(), n);
    return dot(r, out);
  };
  relu_backward(dh.data(), r.data(), h.data(), n);
  CHECK(rel_diff(dh, numeric_grad(h, fr)) < 1e-6);
}

TEST_CASE("neural layers: MSE and cross-entropy backward match central differences") {
  const int N = 4, V = 6;
  const std::vector<int> y = {0, 5, 2, 2};
  std::vector<double> z = random_vec(N * V, 6), probs(N * V), dz(N * V, 0.0);
  auto fm = [&] { return mse_forward(z.data(), y.data(), N, V); };
  mse_backward(dz.data(), z.data(), y.data(), N, V);
  CHECK(rel_diff(dz, numeric_grad(z, fm)) < 1e-6);
  // A hand value: out = 0 everywhere gives loss 1/V.
  std::vector<double> zero(N * V, 0.0);
  CHECK(mse_forward(zero.data(), y.data(), N, V) == doctest::Approx(1.0 / V));
  std::fill(dz.begin(), dz.end(), 0.0);
  auto fc = [&] { return crossentropy_forward(probs.data(), z.data(), y.data(), N, V); };
  fc();
  crossentropy_backward(dz.data(), probs.data(), y.data(), N, V);
  CHECK(rel_diff(dz, numeric_grad(z, fc)) < 1e-6);
  CHECK(crossentropy_forward(probs.data(), zero.data(), y.data(), N, V) ==
        doctest::Approx(std::log(double(V))));
}

TEST_CASE("AdamW: two steps match the torch.optim.AdamW formula written out") {
  AdamWConfig cfg;
  cfg.lr = 0.1;
  cfg.weight_decay = 0.5;
  double theta = 1.5, m = 0, v = 0;
  const double g1 = 0.3, g2 = -0.7;
  adamw_update(&theta, &g1, &m, &v, 1, cfg, 1, cfg.lr);
  adamw_update(&theta, &g2, &m, &v, 1, cfg, 2, cfg.lr);
  // By hand, following the PyTorch documentation step by step.
  double th = 1.5, mm = 0, vv = 0;
  const double gs[2] = {g1, g2};
  for (int t = 1; t <= 2; ++t) {
    th -= 0.1 * 0.5 * th;
    mm = 0.9 * mm + 0.1 * gs[t - 1];
    vv = 0.999 * vv + 0.001 * gs[t - 1] * gs[t - 1];
    const double mh = mm / (1 - std::pow(0.9, t)), vh = vv / (1 - std::pow(0.999, t));
    th -= 0.1 * mh / (std::sqrt(vh) + 1e-8);
  }
  CHECK(theta == doctest::Approx(th).epsilon(1e-14));
}

TEST_CASE("MLP f(x) = W2 (W1 x)^2: whole-model gradients match central differences") {
  for (Loss loss : {Loss::mse, Loss::cross_entropy}) {
    CAPTURE(to_string(loss));
    const MlpConfig cfg{7, 5, 4, loss};
    const int B = 3;
    Mlp<double> model;
    mlp_init(model, cfg, B, 11);
    const std::vector<double> x = random_vec(cfg.D * B, 12);
    const std::vector<int> y = {1, 3, 0};
    mlp_forward(model, x.data(), y.data(), B);
    mlp_zero_grad(model);
    mlp_backward(model, x.data(), y.data());
    std::vector<double> analytic = model.grad_memory;
    auto f = [&] { return double(mlp_forward(model, x.data(), y.data(), B)); };
    CHECK(rel_diff(analytic, numeric_grad(model.param_memory, f)) < 1e-6);
  }
}

TEST_CASE("MLP AGOP: Hadamard route matches the per-point oracle and finite differences") {
  const int D = 6, H = 5, V = 3, n = 8;
  const MatrixXd W1 = random_matrix(H, D, 21), W2 = random_matrix(V, H, 22);
  const MatrixXd X = random_matrix(D, n, 23);
  for (bool centering : {false, true}) {
    CAPTURE(centering);
    const MatrixXd G = mlp_agop(W1, W2, X, centering);
    CHECK(rel_error(G, mlp_agop_reference(W1, W2, X, centering)) < 1e-13);
  }
  // Jacobians by central differences of f(x) = W2 (W1 x)^2, then the AGOP by its definition.
  MatrixXd G = MatrixXd::Zero(D, D);
  auto f = [&](const VectorXd& x) -> VectorXd { return W2 * (W1 * x).array().square().matrix(); };
  for (int j = 0; j < n; ++j) {
    MatrixXd J(V, D);
    for (int k = 0; k < D; ++k) {
      VectorXd e = VectorXd::Zero(D);
      e(k) = 1e-5;
      J.col(k) = (f(X.col(j) + e) - f(X.col(j) - e)) / 2e-5;
    }
    G += J.transpose() * J / n;
  }
  CHECK(rel_error(mlp_agop(W1, W2, X, false), G) < 1e-8);
  CHECK(rel_error(mlp_nfm(W1), W1.transpose() * W1) == 0.0);
}

TEST_CASE("Pearson correlation: exact on affine pairs, diagonal excluded on request") {
  const MatrixXd A = random_matrix(5, 5, 31);
  CHECK(pearson_correlation(A, 3 * A.array() + 2, false) == doctest::Approx(1.0));
  CHECK(pearson_correlation(A, -A, false) == doctest::Approx(-1.0));
  MatrixXd B = A;
  B.diagonal().setConstant(100.0);  // only the diagonal differs
  CHECK(pearson_correlation(A, B, true) == doctest::Approx(1.0));
  CHECK(pearson_correlation(A, B, false) < 0.9);
}

TEST_CASE("MLP training: fp32 and fp64 agree on the first steps; training reduces the loss") {
  Dataset ds = make_modular_task(Op::add, 7);
  const Split split = random_split(ds.N(), 0.6, 1);
  auto pick = [&](const std::vector<int>& idx) {
    std::vector<int> y;
    for (int i : idx) y.push_back(ds.labels[i]);
    return y;
  };
  NeuralProblem pb{ds.inputs.rows(split.train),
                   ds.inputs.rows(split.test),
                   pick(split.train),
                   pick(split.test),
                   ds.c,
                   7,
                   Op::add};
  TrainOptions o;
  o.epochs = 3;
  o.batch = 8;
  o.mlp.H = 16;
  TrainSummary s64, s32;
  o.fp64 = true;
  s64 = train_network(o, pb, {});
  o.fp64 = false;
  s32 = train_network(o, pb, {});
  REQUIRE(s64.epochs.size() == 4);
  REQUIRE(s32.epochs.size() == 4);
  CHECK(s64.precision_used == "fp64");
  CHECK(s32.precision_used == "fp32");
  // The same seed gives the same initialisation and batch order; fp32 round-off (~1e-7) grows
  // slowly over 3 epochs of Adam, so 1e-4 relative is ample and still catches any logic slip.
  CHECK(s32.epochs.back().train_loss ==
        doctest::Approx(s64.epochs.back().train_loss).epsilon(1e-4));
  CHECK(s64.epochs.back().train_loss < s64.epochs.front().train_loss);
  CHECK(s64.steps == 3 * ((int(split.train.size()) + 7) / 8));
  CHECK(s64.nfm.rows() == 14);
  CHECK(s64.agop.rows() == 14);
}

// --- the command line -----------------------------------------------------------------------

namespace {

std::filesystem::path temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("rfm_test_neural_" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

}  // namespace

TEST_CASE("rfm train --model mlp: groks add mod 61 and reuses a split with --split-from") {
  namespace fs = std::filesystem;
  // Width 256 instead of 1024 keeps it to about 2 s; it groks by epoch 20 (seed 0).
  const fs::path out = temp_dir("mlp61"), again = temp_dir("mlp61_again");
  CliResult r = run_cli(
      "train --model mlp --task add --p 61 --frac 0.5 --width 256 --epochs 25 "
      "--log-every 5 --out " +
      out.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const char* f : {"config.json", "split.npz", "metrics.csv", "summary.json", "NFM_final.npy",
                        "AGOP_final.npy"})
    CHECK(fs::exists(out / f));
  std::ifstream sj(out / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(sj);
  CHECK(summary["final"]["train_acc"].get<double>() == 1.0);
  CHECK(summary["final"]["test_acc"].get<double>() >= 0.99);
  CHECK(summary["final"]["nfm_agop_corr"].get<double>() > 0.9);
  std::ifstream mc(out / "metrics.csv");
  std::string header;
  std::getline(mc, header);
  CHECK(header.rfind("epoch,train_acc,test_acc,train_loss,test_loss", 0) == 0);
  const MatrixXd nfm = npy_load((out / "NFM_final.npy").string());
  CHECK(nfm.rows() == 122);

  r = run_cli("train --model mlp --task add --p 61 --epochs 1 --width 8 --split-from " +
              out.string() + " --out " + again.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(npz_load_ints((again / "split.npz").string(), "train") ==
        npz_load_ints((out / "split.npz").string(), "train"));
  r = run_cli("train --task sub --p 61 --epochs 1 --split-from " + out.string() + " --out " +
              temp_dir("bad_split").string());
  CHECK(r.status != 0);
  CHECK(r.output.find("split of add mod 61") != std::string::npos);
  r = run_cli("train --epochs 0");
  CHECK(r.status != 0);
  CHECK(r.output.find("--epochs 0 must be >= 1") != std::string::npos);
}

TEST_CASE("rfm compare: RFM vs transformer and transformer vs MLP, rows at the same fraction") {
  namespace fs = std::filesystem;
  const fs::path rfm_run = temp_dir("cmpt_rfm"), tr = temp_dir("cmpt_tr"),
                 mlp = temp_dir("cmpt_mlp");
  const fs::path json = temp_dir("cmpt").string() + ".json";
  REQUIRE(run_cli("grok --task mul --p 11 --iters 4 --quiet --out " + rfm_run.string()).status ==
          0);
  REQUIRE(run_cli("train --model transformer --d-model 16 --heads 2 --d-mlp 32 --epochs 20 "
                  "--quiet --split-from " +
                  rfm_run.string() + " --out " + tr.string())
              .status == 0);
  REQUIRE(run_cli("train --width 16 --epochs 3 --quiet --split-from " + rfm_run.string() +
                  " --out " + mlp.string())
              .status == 0);
  CliResult r =
      run_cli("compare " + rfm_run.string() + " " + tr.string() + " --out " + json.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("the same split") != std::string::npos);
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);
  // The input Gram, rebuilt here from the saved tensors: W_in = [W_E + W_pos e_0, W_E + W_pos e_1].
  const MatrixXd W_E = npy_load((tr / "W_E.npy").string()),
                 W_pos = npy_load((tr / "W_pos.npy").string());
  const int q = 11;
  MatrixXd W(W_E.rows(), 2 * q);
  for (int s = 0; s < 2; ++s)
    for (int u = 0; u < q; ++u) W.col(s * q + u) = W_E.col(u) + W_pos.col(s);
  const MatrixXd M = npy_load((rfm_run / "M_final.npy").string());
  CHECK(j["pearson"]["M_final vs input Gram"]["full"].get<double>() ==
        doctest::Approx(pearson_correlation(M, W.transpose() * W, false)));
  // Progress rows sit at the same fraction of each run, not at the same row number.
  REQUIRE(j["progress"].size() == 11);
  CHECK(j["progress"][5]["A"]["iter"].get<double>() == doctest::Approx(0.5 * 3).epsilon(0.34));
  CHECK(j["progress"][5]["B"]["epoch"].get<double>() == doctest::Approx(10));
  CHECK(j["progress"][10]["B"]["epoch"].get<double>() == doctest::Approx(20));
  CHECK(j["blocks"].size() == 4);
  CHECK(j["embedding_gram"]["a"].is_number());
  CHECK(j["transitions"]["B"].size() == 2);

  r = run_cli("compare " + tr.string() + " " + mlp.string());
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("input Gram vs NFM") != std::string::npos);
  CHECK(r.output.find("NFM vs sqrt(AGOP)") != std::string::npos);
}

TEST_CASE("rfm train takes polynomial and system tasks with every model, and compare reads them") {
  namespace fs = std::filesystem;
  const fs::path rfm_run = temp_dir("poly13_rfm");
  CliResult r =
      run_cli("grok --task \"x^2+y^2\" --p 13 --iters 3 --quiet --out " + rfm_run.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const char* model : {"mlp", "transformer", "embed2d"}) {
    CAPTURE(model);
    const fs::path out = temp_dir(std::string("poly13_") + model);
    r = run_cli(std::string("train --model ") + model + " --task \"x^2+y^2\" --p 13 --epochs 3 " +
                "--quiet --split-from " + rfm_run.string() + " --out " + out.string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(npz_load_ints((out / "split.npz").string(), "train") ==
          npz_load_ints((rfm_run / "split.npz").string(), "train"));
  }
  const fs::path mlp_run = rfm_run.parent_path() / "poly13_mlp";  // (temp_dir would empty it)
  r = run_cli("compare " + rfm_run.string() + " " + mlp_run.string());
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("M_final vs NFM") != std::string::npos);
  CHECK(r.output.find("blocks of A M_final and B NFM") != std::string::npos);
  r = run_cli("train --task system --p 13 --epochs 2 --quiet --out " + temp_dir("sys13").string());
  CHECK(r.status == 0);
  r = run_cli("train --task add,mul --p 13 --epochs 2 --out " + temp_dir("multi13").string());
  CHECK(r.status == 0);  // every task form trains (tests/test_train_tasks.cpp)
}

// --- transformer ----------------------------------------------------------------------------

TEST_CASE("transformer layers: encoder, bias and attention backward match central differences") {
  const int B = 2, Tn = 3, C = 8, NH = 2, Vin = 5;
  const std::vector<int> tok = {0, 4, 2, 1, 1, 3};
  {
    std::vector<double> WE = random_vec(C * Vin, 41), Wp = random_vec(C * Tn, 42);
    std::vector<double> r = random_vec(C * B * Tn, 43), x0(C * B * Tn);
    std::vector<double> dWE(WE.size(), 0.0), dWp(Wp.size(), 0.0);
    auto f = [&] {
      encoder_forward(x0.data(), tok.data(), WE.data(), Wp.data(), B, Tn, C);
      return dot(r, x0);
    };
    encoder_backward(dWE.data(), dWp.data(), r.data(), tok.data(), B, Tn, C);
    CHECK(rel_diff(dWE, numeric_grad(WE, f)) < 1e-6);
    CHECK(rel_diff(dWp, numeric_grad(Wp, f)) < 1e-6);
  }
  {
    std::vector<double> bias = random_vec(C, 44), base = random_vec(C * B, 45);
    std::vector<double> r = random_vec(C * B, 46), out(C * B), db(C, 0.0);
    auto f = [&] {
      out = base;
      bias_forward(out.data(), bias.data(), B, C);
      return dot(r, out);
    };
    bias_backward(db.data(), r.data(), B, C);
    CHECK(rel_diff(db, numeric_grad(bias, f)) < 1e-6);
  }
  {
    std::vector<double> qkv = random_vec(3 * C * B * Tn, 47), r = random_vec(C * B, 48);
    std::vector<double> z(C * B), att(Tn * NH * B), dqkv(qkv.size(), 0.0);
    auto f = [&] {
      attention_forward(z.data(), att.data(), qkv.data(), B, Tn, C, NH);
      return dot(r, z);
    };
    f();
    attention_backward(dqkv.data(), r.data(), att.data(), qkv.data(), B, Tn, C, NH);
    CHECK(rel_diff(dqkv, numeric_grad(qkv, f)) < 1e-6);
    for (int i = 0; i < NH * B; ++i) {  // each head's attention is a distribution
      double s = 0;
      for (int t = 0; t < Tn; ++t) s += att[i * Tn + t];
      CHECK(s == doctest::Approx(1.0));
    }
  }
}

TEST_CASE("transformer: whole-model gradients match central differences") {
  TransformerConfig cfg;
  cfg.T = 3, cfg.Vin = 6, cfg.V = 6, cfg.C = 8, cfg.NH = 2, cfg.F = 12;
  const int B = 4;
  Transformer<double> model;
  transformer_init(model, cfg, B, 51);
  // Non-zero biases, so that their gradients and the ReLU pattern are exercised.
  for (int i = 0; i < cfg.F; ++i) model.params.b_in[i] = 0.1 * ((i % 3) - 1);
  for (int i = 0; i < cfg.C; ++i) model.params.b_out[i] = 0.05 * i;
  const std::vector<int> tok = {0, 1, 5, 2, 3, 5, 4, 4, 5, 1, 0, 5};
  const std::vector<int> y = {1, 5, 2, 0};
  transformer_forward(model, tok.data(), y.data(), B);
  transformer_zero_grad(model);
  transformer_backward(model, tok.data(), y.data());
  const std::vector<double> analytic = model.grad_memory;
  auto f = [&] { return double(transformer_forward(model, tok.data(), y.data(), B)); };
  const std::vector<double> numeric = numeric_grad(model.param_memory, f);
  CHECK(rel_diff(analytic, numeric) < 1e-6);
  // Per tensor, so that a failure names the tensor.
  const char* names[] = {"W_E", "W_pos", "W_QKV", "W_O", "W_in", "b_in", "W_out", "b_out", "W_U"};
  double* ptrs[] = {
      model.grads.W_E,  model.grads.W_pos, model.grads.W_QKV, model.grads.W_O, model.grads.W_in,
      model.grads.b_in, model.grads.W_out, model.grads.b_out, model.grads.W_U, nullptr};
  for (int k = 0; k < 9; ++k) {
    CAPTURE(names[k]);
    const size_t lo = ptrs[k] - model.grad_memory.data();
    const size_t hi = k < 8 ? size_t(ptrs[k + 1] - model.grad_memory.data()) : analytic.size();
    const std::vector<double> a(analytic.begin() + lo, analytic.begin() + hi);
    const std::vector<double> b(numeric.begin() + lo, numeric.begin() + hi);
    CHECK(rel_diff(a, b) < 1e-6);
  }
}

TEST_CASE("rfm train --model transformer: a small transformer memorises, then groks add mod 31") {
  // d_model 64, d_mlp 128, lr 3e-3, frac 0.6 (seed 0): train accuracy 1 by epoch 300 with test
  // accuracy near 0.6, test accuracy 1 by epoch 900; about 2 s on two cores.
  namespace fs = std::filesystem;
  const fs::path out = temp_dir("tf31");
  CliResult r = run_cli(
      "train --model transformer --task add --p 31 --frac 0.6 --d-model 64 "
      "--d-mlp 128 --lr 3e-3 --epochs 1000 --log-every 100 --out " +
      out.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::ifstream sj(out / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(sj);
  CHECK(summary["final"]["train_acc"].get<double>() == 1.0);
  CHECK(summary["final"]["test_acc"].get<double>() >= 0.99);
  const int first99 = summary["first_epoch_test_acc_0.99"].get<int>();
  CHECK(first99 >= 300);  // memorisation comes first
  std::ifstream cj(out / "config.json");
  const nlohmann::json config = nlohmann::json::parse(cj);
  CHECK(config["batch"] == 0);  // the transformer's defaults: full batch, beta2 0.98, warm-up
  CHECK(config["beta2"] == 0.98);
  CHECK(config["warmup_steps"] == 10);
  // Fourier measures (docs/algorithms.md 5.5): every column computed, and after grokking the
  // key frequencies carry the logits (restricted loss small, excluded loss large).
  const nlohmann::json& fin = summary["final"];
  for (const char* name :
       {"fourier_gini", "freq_sparsity", "coef_ratio", "n_key_freqs", "key_freq_top",
        "restricted_loss", "excluded_loss", "embed_gram_circ_dev"})
    CHECK_MESSAGE(fin[name].is_number(), name);
  CHECK(fin["restricted_loss"].get<double>() < 0.1);
  CHECK(fin["excluded_loss"].get<double>() > 1.0);
  CHECK(!summary["key_frequencies"].empty());
  std::ifstream mc(out / "metrics.csv");
  const std::string metrics((std::istreambuf_iterator<char>(mc)), std::istreambuf_iterator<char>());
  CHECK(metrics.find("nan") == std::string::npos);
  for (const char* f : {"W_E.npy", "W_U.npy", "b_in.npy", "EmbedGram_final.npy"})
    CHECK_MESSAGE(fs::exists(out / f), f);
  const MatrixXd W_E = npy_load((out / "W_E.npy").string());
  CHECK(W_E.rows() == 64);
  CHECK(W_E.cols() == 32);
}

// --- Fourier measures on known inputs (docs/algorithms.md 5.5) -----------------------------

namespace {
// W (C, p) = u cos(w_k x) + v sin(w_k x): exactly one frequency.
MatrixXd one_frequency_embedding(int C, int p, int k, double cos_weight, double sin_weight) {
  MatrixXd W(C, p);
  const VectorXd u = random_matrix(C, 1, 1).col(0), v = random_matrix(C, 1, 2).col(0);
  for (int x = 0; x < p; ++x)
    W.col(x) = cos_weight * u * std::cos(2 * M_PI * k * x / p) +
               sin_weight * v * std::sin(2 * M_PI * k * x / p);
  return W;
}
}  // namespace

TEST_CASE("Fourier measures: basis, norms, Gini, sparsity and ratio of a one-frequency embedding") {
  const int p = 13, K = p / 2;
  const MatrixXd F = fourier_basis(p);
  CHECK((F * F.transpose() - MatrixXd::Identity(p, p)).cwiseAbs().maxCoeff() < 1e-12);
  const FourierNorms f = embedding_fourier_norms(one_frequency_embedding(8, p, 3, 1.0, 0.0));
  CHECK(frequency_sparsity(f) == doctest::Approx(1.0 / K));
  // One nonzero value out of K: the Gini coefficient's maximum (K - 1) / K, up to round-off.
  CHECK(gini_coefficient(f.total()) == doctest::Approx(double(K - 1) / K).epsilon(1e-10));
  CHECK(coefficient_ratio(f) == doctest::Approx(1.0));
  const FourierNorms g = embedding_fourier_norms(one_frequency_embedding(8, p, 5, 0.0, 1.0));
  CHECK(coefficient_ratio(g) == doctest::Approx(0.0));
  CHECK(int(std::max_element(g.sin2.data(), g.sin2.data() + K) - g.sin2.data()) == 5 - 1);
  VectorXd equal = VectorXd::Constant(K, 2.0);
  CHECK(gini_coefficient(equal) == doctest::Approx(0.0));
  CHECK(std::isnan(gini_coefficient(VectorXd::Zero(K))));
  CHECK_THROWS_AS(fourier_basis(12), InputError);
}

TEST_CASE("Fourier measures: key frequencies of neurons, restricted and excluded loss") {
  const int p = 11;
  // 10 neurons of frequency 2 and 4 of frequency 4 (relu of cos(w_k(a + b) + phase)), and one
  // dead neuron: keys {2, 4}, the larger group first.
  MatrixXd acts = MatrixXd::Zero(15, p * p);
  for (int f = 0; f < 14; ++f) {
    const int k = f < 10 ? 2 : 4;
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b)
        acts(f, a * p + b) = std::max(0.0, std::cos(2 * M_PI * k * (a + b) / p + 0.3 * f));
  }
  CHECK(key_frequencies(acts, p) == std::vector<int>{2, 4});
  // Logits exactly of frequency 3 in a + b - c: restricted to {3} they are unchanged, the
  // excluded logits are 0 (loss log p); restricted to {1} only the class means remain (log p).
  MatrixXd L(p, p * p);
  std::vector<int> labels(p * p);
  std::vector<char> in_train(p * p, 0);
  for (int a = 0; a < p; ++a)
    for (int b = 0; b < p; ++b) {
      labels[a * p + b] = (a + b) % p;
      in_train[a * p + b] = (a + 2 * b) % 3 == 0;
      for (int c = 0; c < p; ++c) L(c, a * p + b) = 5 * std::cos(2 * M_PI * 3 * (a + b - c) / p);
    }
  double full = 0, full_train = 0;  // cross-entropy of L itself over all / training pairs
  int n_train = 0;
  for (int j = 0; j < p * p; ++j) {
    const double ce = std::log((L.col(j).array() - L(labels[j], j)).exp().sum());
    full += ce / (p * p);
    if (in_train[j]) full_train += ce, n_train += 1;
  }
  full_train /= n_train;
  const FourierLosses on = fourier_losses(L, labels, in_train, {3}, p, 1);
  CHECK(on.restricted == doctest::Approx(full).epsilon(1e-10));
  CHECK(on.excluded == doctest::Approx(std::log(double(p))).epsilon(1e-10));
  const FourierLosses off = fourier_losses(L, labels, in_train, {1}, p, 1);
  CHECK(off.restricted == doctest::Approx(std::log(double(p))).epsilon(1e-10));
  CHECK(off.excluded == doctest::Approx(full_train).epsilon(1e-10));
  CHECK_THROWS_AS(fourier_losses(L, labels, in_train, {6}, p, 1), InputError);
}

TEST_CASE("rfm compare: correlations and circulant deviations of an RFM and an MLP run") {
  namespace fs = std::filesystem;
  const fs::path rfm_run = temp_dir("cmp_rfm"), nn_run = temp_dir("cmp_nn");
  const fs::path json = temp_dir("cmp").string() + ".json";
  REQUIRE(run_cli("grok --task add --p 13 --iters 3 --quiet --out " + rfm_run.string()).status ==
          0);
  REQUIRE(run_cli("train --task add --p 13 --width 32 --epochs 2 --quiet --split-from " +
                  rfm_run.string() + " --out " + nn_run.string())
              .status == 0);
  CliResult r =
      run_cli("compare " + rfm_run.string() + " " + nn_run.string() + " --out " + json.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("M_final vs sqrt(AGOP)") != std::string::npos);
  std::ifstream in(json);
  const nlohmann::json j = nlohmann::json::parse(in);
  // The NFM-vs-sqrt(AGOP) entry must equal what the neural run's own summary reports.
  std::ifstream sj(nn_run / "summary.json");
  const nlohmann::json s = nlohmann::json::parse(sj);
  CHECK(j["pearson"]["NFM vs sqrt(AGOP)"]["full"].get<double>() ==
        doctest::Approx(s["final"]["nfm_agop_corr"].get<double>()));
  const fs::path other = temp_dir("cmp_other");
  REQUIRE(run_cli("train --task sub --p 13 --width 8 --epochs 1 --quiet --out " + other.string())
              .status == 0);
  r = run_cli("compare " + rfm_run.string() + " " + other.string());
  CHECK(r.status != 0);
  CHECK(r.output.find("different tasks") != std::string::npos);
}

TEST_CASE("rfm train: commutative augmentation and transfer of a transformer's tensors") {
  namespace fs = std::filesystem;
  const std::string small =
      "train --model transformer --p 11 --d-model 16 --heads 2 --d-mlp 32 "
      "--quiet --frac 0.5 ";
  const fs::path src = temp_dir("tr_src"), aug = temp_dir("tr_aug"), frozen = temp_dir("tr_frz");
  REQUIRE(run_cli(small + "--task add --epochs 5 --out " + src.string()).status == 0);

  SUBCASE("--augment commutative: every training pair's mirror is in train, none in test") {
    CliResult r =
        run_cli(small + "--task add --epochs 2 --augment commutative --out " + aug.string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    const Dataset ds = make_modular_task(Op::add, 11);
    std::vector<int> side(ds.N(), -1);  // 1 train, 0 test
    for (int64_t i : npz_load_ints((aug / "split.npz").string(), "train")) side[i] = 1;
    for (int64_t i : npz_load_ints((aug / "split.npz").string(), "test")) side[i] = 0;
    for (int i = 0; i < ds.N(); ++i)
      if (side[i] == 1) CHECK(side[ds.operands(i, 1) * 11 + ds.operands(i, 0)] == 1);
    CHECK(run_cli(small + "--task sub --epochs 1 --augment commutative --out " + aug.string() +
                  " --force")
              .output.find("not commutative") != std::string::npos);
  }
  SUBCASE("--init-from --transfer embedding --freeze keeps W_E exactly; block loads the MLP") {
    CliResult r = run_cli(small + "--task sub --epochs 3 --init-from " + src.string() +
                          " --transfer embedding --freeze --out " + frozen.string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    const MatrixXd a = npy_load((src / "W_E.npy").string());
    const MatrixXd b = npy_load((frozen / "W_E.npy").string());
    CHECK((a - b).cwiseAbs().maxCoeff() == 0.0);
    CHECK((npy_load((src / "W_U.npy").string()) - npy_load((frozen / "W_U.npy").string()))
              .cwiseAbs()
              .maxCoeff() > 0.0);  // trained from scratch
    r = run_cli(small + "--task sub --epochs 1 --init-from " + src.string() +
                " --transfer block --out " + frozen.string() + " --force");
    CHECK(r.status == 0);
    r = run_cli("train --model transformer --p 11 --d-model 32 --quiet --epochs 1 --init-from " +
                src.string() + " --out " + frozen.string() + " --force");
    CHECK(r.status != 0);
    CHECK(r.output.find("W_E is 16x12, but this model's is 32x12") != std::string::npos);
  }
}

TEST_CASE("rfm train --tokens K: only pairs with both operands below K; K outside 2..p refused") {
  namespace fs = std::filesystem;
  const std::string small =
      "train --model transformer --p 11 --d-model 16 --heads 2 --d-mlp 32 --quiet --seed 3 ";
  const fs::path src = temp_dir("tok_src"), tok = temp_dir("tok5"), aug = temp_dir("tok_aug");
  REQUIRE(run_cli(small + "--task add --frac 0.5 --epochs 2 --out " + src.string()).status == 0);
  const Dataset ds = make_modular_task(Op::add, 11);

  SUBCASE("the split is drawn among the K^2 pairs; a W_E of all 11 residues fits") {
    CliResult r = run_cli(small + "--task add --tokens 5 --frac 0.6 --epochs 2 --init-from " +
                          src.string() + " --transfer embedding --freeze --out " + tok.string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    const std::vector<int64_t> train = npz_load_ints((tok / "split.npz").string(), "train");
    const std::vector<int64_t> test = npz_load_ints((tok / "split.npz").string(), "test");
    CHECK(train.size() == 15);  // floor(0.6 * 25)
    CHECK(test.size() == 10);
    std::vector<int> seen(ds.N(), 0);
    for (const auto* side : {&train, &test})
      for (int64_t i : *side) {
        REQUIRE((i >= 0 && i < ds.N()));
        CHECK(ds.operands(i, 0) < 5);
        CHECK(ds.operands(i, 1) < 5);
        ++seen[i];
      }
    int covered = 0;
    for (int i = 0; i < ds.N(); ++i) {
      CHECK(seen[i] <= 1);  // train and test are disjoint
      covered += seen[i];
    }
    CHECK(covered == 25);
    std::ifstream in(tok / "config.json");
    CHECK(nlohmann::json::parse(in)["tokens"] == 5);
    CHECK((npy_load((src / "W_E.npy").string()) - npy_load((tok / "W_E.npy").string()))
              .cwiseAbs()
              .maxCoeff() == 0.0);
  }
  SUBCASE("--augment commutative keeps the test pairs below K") {
    CliResult r = run_cli(small + "--task add --tokens 4 --frac 0.5 --epochs 1 --augment " +
                          "commutative --out " + aug.string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    std::vector<int> side(ds.N(), -1);  // 1 train, 0 test
    for (int64_t i : npz_load_ints((aug / "split.npz").string(), "train")) side[i] = 1;
    for (int64_t i : npz_load_ints((aug / "split.npz").string(), "test")) side[i] = 0;
    int n = 0;
    for (int i = 0; i < ds.N(); ++i) {
      if (side[i] < 0) continue;
      ++n;
      CHECK((ds.operands(i, 0) < 4 && ds.operands(i, 1) < 4));
      if (side[i] == 1) CHECK(side[ds.operands(i, 1) * 11 + ds.operands(i, 0)] == 1);
    }
    CHECK(n == 16);
  }
  SUBCASE("K > p, K < 2 and --split-from are refused with one line") {
    for (const char* bad : {"--tokens 12", "--tokens 1", "--tokens -3"}) {
      CliResult r =
          run_cli(small + "--task add --epochs 1 " + bad + " --out " + tok.string() + " --force");
      INFO(r.output);
      CHECK(r.status != 0);
      CHECK(r.output.find("must be in 2..11") != std::string::npos);
    }
    CliResult r = run_cli(small + "--task add --epochs 1 --tokens 5 --split-from " + src.string() +
                          " --out " + tok.string() + " --force");
    CHECK(r.status != 0);
    CHECK(r.output.find("do not combine") != std::string::npos);
  }
  SUBCASE("--stop-at ends the run at the first logged epoch that reaches it") {
    CliResult r = run_cli(small + "--task add --frac 0.5 --epochs 50 --log-every 5 --stop-at " +
                          "0.01 --out " + tok.string() + " --force");
    INFO(r.output);
    REQUIRE(r.status == 0);
    const auto rows = rfm::test::read_csv((tok / "metrics.csv").string());
    REQUIRE(rows.size() >= 2);
    CHECK(rows.size() < 12);  // header + fewer than the 11 logged epochs 0, 5, ..., 50
    CHECK(std::stod(rows.back()[2]) >= 0.01);
    for (size_t k = 1; k + 1 < rows.size(); ++k) CHECK(std::stod(rows[k][2]) < 0.01);
    CHECK(run_cli(small + "--epochs 1 --stop-at 1.5 --out " + tok.string() + " --force")
              .output.find("--stop-at 1.5 must be in [0, 1]") != std::string::npos);
  }
}

TEST_CASE("particle simulation: energy gradient matches central differences; a circle forms") {
  ParticleOptions o;
  o.N = 7;
  MatrixXd P = random_matrix(2, o.N, 5), G;
  particle_energy(o, P, &G);
  std::vector<double> x(P.data(), P.data() + P.size());
  const std::vector<double> num = numeric_grad(
      x, [&] { return particle_energy(o, Eigen::Map<const MatrixXd>(x.data(), 2, o.N), nullptr); });
  CHECK(rel_diff(std::vector<double>(G.data(), G.data() + G.size()), num) < 1e-6);
  // The defaults (N 17, 3000 steps, about 1.5 s): the particles settle on a circle.
  const ParticleSummary s = simulate_particles(ParticleOptions{});
  CHECK(s.radius_cv < 0.05);
  CHECK(s.energy.back() <= s.energy.front());
  const std::filesystem::path out = temp_dir("particles");
  CliResult r = run_cli("particles --n 11 --steps 200 --out " + out.string());
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(std::filesystem::exists(out / "particles.png"));
}

// --- the 2-D embedding model (Musat 2024) ---------------------------------------------------

TEST_CASE("embed2d layers: the embedding sum backward matches central differences") {
  const int B = 3, Tn = 2, C = 2, Vin = 5;
  const std::vector<int> tok = {0, 4, 2, 2, 1, 3};  // a repeated token accumulates twice
  std::vector<double> WE = random_vec(C * Vin, 61), r = random_vec(C * B, 62), h(C * B);
  std::vector<double> dWE(WE.size(), 0.0);
  auto f = [&] {
    embedding_sum_forward(h.data(), tok.data(), WE.data(), B, Tn, C);
    return dot(r, h);
  };
  f();
  CHECK(h[2] == doctest::Approx(2 * WE[2 * 2]));  // sequence 1 is [2, 2]: h = 2 e_2
  embedding_sum_backward(dWE.data(), r.data(), tok.data(), B, Tn, C);
  CHECK(rel_diff(dWE, numeric_grad(WE, f)) < 1e-6);
}

TEST_CASE("embed2d: whole-model gradients match central differences") {
  Embed2dConfig cfg;
  cfg.Vin = cfg.V = 5, cfg.C = 2, cfg.F = 6;
  const int B = 4;
  Embed2d<double> model;
  embed2d_init(model, cfg, B, 71);
  const std::vector<int> tok = {0, 1, 2, 3, 4, 4, 1, 0};
  const std::vector<int> y = {1, 0, 3, 1};
  embed2d_forward(model, tok.data(), y.data(), B);
  embed2d_zero_grad(model);
  embed2d_backward(model, tok.data(), y.data());
  const std::vector<double> analytic = model.grad_memory;
  auto f = [&] { return double(embed2d_forward(model, tok.data(), y.data(), B)); };
  const std::vector<double> numeric = numeric_grad(model.param_memory, f);
  CHECK(rel_diff(analytic, numeric) < 1e-6);
  const char* names[] = {"W_E", "W_1", "b_1", "W_2", "b_2"};
  double* ptrs[] = {model.grads.W_E, model.grads.W_1, model.grads.b_1,
                    model.grads.W_2, model.grads.b_2, model.grad_memory.data() + analytic.size()};
  for (int k = 0; k < 5; ++k) {
    CAPTURE(names[k]);
    const size_t lo = ptrs[k] - model.grad_memory.data(),
                 hi = ptrs[k + 1] - model.grad_memory.data();
    CHECK(rel_diff(std::vector<double>(analytic.begin() + lo, analytic.begin() + hi),
                   std::vector<double>(numeric.begin() + lo, numeric.begin() + hi)) < 1e-6);
  }
}

TEST_CASE("rfm train --model embed2d: learns add mod 17 and writes the embedding") {
  namespace fs = std::filesystem;
  const fs::path out = temp_dir("e2d17");
  CliResult r = run_cli("train --model embed2d --out " + out.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  std::ifstream sj(out / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(sj);
  // The defaults (seed 0) fit every training pair by epoch 500 and reach test accuracy 0.931
  // (54 of 58): the 2-D bottleneck lets this model generalise only partly (README).
  CHECK(summary["final"]["train_acc"].get<double>() == 1.0);
  CHECK(summary["final"]["test_acc"].get<double>() >= 0.9);
  for (const char* name : {"radius_cv", "top_freq", "top_freq_share", "embed_gram_circ_dev"})
    CHECK_MESSAGE(summary["final"][name].is_number(), name);
  std::ifstream cj(out / "config.json");
  const nlohmann::json config = nlohmann::json::parse(cj);
  CHECK(config["p"] == 17);  // Musat's N and hidden width are the defaults
  CHECK(config["embed_hidden"] == 64);
  const MatrixXd E = npy_load((out / "embedding.npy").string());
  CHECK(E.rows() == 17);
  CHECK(E.cols() == 2);
  CHECK((E - npy_load((out / "W_E.npy").string()).transpose()).cwiseAbs().maxCoeff() == 0.0);
  CHECK(fs::exists(out / "embedding.png"));
  std::ifstream mc(out / "metrics.csv");
  std::string header;
  std::getline(mc, header);
  CHECK(header.rfind("epoch,train_acc,test_acc,train_loss,test_loss", 0) == 0);
}

// --- PyTorch fixtures (tests/data/make_torch_fixture.py) ------------------------------------
//
// One forward and backward of each model on a fixed batch, made by PyTorch in float64 and
// converted to our layouts by the script. In fp64 the two sides differ only in summation
// order: about 1e-15 relative, checked at 1e-10. In fp32 the weights and inputs are rounded to
// float (relative 6e-8) and every dot product of length <= 32 adds about as much again, so the
// outputs and gradients agree to a few 1e-7: checked at 1e-5.

namespace {

std::string torch_fixture(const std::string& name) {
  return std::string(RFM_TEST_DATA) + "/torch/" + name + ".npy";
}

// Loads fixture <name> (rows, cols) into p.
template <typename T>
void load_tensor(T* p, const std::string& name, int rows, int cols) {
  const MatrixXd W = npy_load(torch_fixture(name));
  INFO("fixture " << name);
  REQUIRE(W.rows() == rows);
  REQUIRE(W.cols() == cols);
  MapM<T>(p, rows, cols) = W.cast<T>();
}

// ||got - want|| / ||want|| of a tensor against fixture <name> (after optional transposition,
// when the fixture is in PyTorch's (B, V) and ours is (V, B)); a failure prints both errors.
template <typename T>
double check_tensor(const std::string& name, const T* got, int rows, int cols, double tol,
                    bool fixture_transposed = false) {
  MatrixXd want = npy_load(torch_fixture(name));
  if (fixture_transposed) want.transposeInPlace();
  REQUIRE(want.rows() == rows);
  REQUIRE(want.cols() == cols);
  const MatrixXd g = CMapM<T>(got, rows, cols).template cast<double>();
  const double rel = rel_error(g, want), abs = (g - want).cwiseAbs().maxCoeff();
  CHECK_MESSAGE(rel < tol, name << " differs from PyTorch: rel " << rel << ", max abs " << abs);
  return rel;
}

std::vector<int> fixture_ints(const std::string& name) {
  const std::vector<int64_t> v = npy_load_ints(torch_fixture(name));
  return std::vector<int>(v.begin(), v.end());
}

template <typename T>
void check_transformer_fixture(const nlohmann::json& m, double tol) {
  TransformerConfig c;
  c.T = m["T"], c.Vin = m["Vin"], c.V = m["V"], c.C = m["C"], c.NH = m["NH"], c.F = m["F"];
  const int B = m["B"];
  Transformer<T> model;
  transformer_init(model, c, B, 0);
  const TransformerParameters<T>& p = model.params;
  const TransformerParameters<T>& g = model.grads;
  struct Tensor {
    const char* name;
    T *param, *grad;
    int rows, cols;
  };
  const Tensor tensors[] = {{"W_E", p.W_E, g.W_E, c.C, c.Vin},
                            {"W_pos", p.W_pos, g.W_pos, c.C, c.T},
                            {"W_QKV", p.W_QKV, g.W_QKV, 3 * c.C, c.C},
                            {"W_O", p.W_O, g.W_O, c.C, c.C},
                            {"W_in", p.W_in, g.W_in, c.F, c.C},
                            {"b_in", p.b_in, g.b_in, c.F, 1},
                            {"W_out", p.W_out, g.W_out, c.C, c.F},
                            {"b_out", p.b_out, g.b_out, c.C, 1},
                            {"W_U", p.W_U, g.W_U, c.V, c.C}};
  for (const Tensor& t : tensors) load_tensor(t.param, std::string("tf_") + t.name, t.rows, t.cols);
  const std::vector<int> tok = fixture_ints("tf_tokens"), y = fixture_ints("tf_targets");
  REQUIRE(int(tok.size()) == B * c.T);
  const T loss = transformer_forward(model, tok.data(), y.data(), B);
  transformer_zero_grad(model);
  transformer_backward(model, tok.data(), y.data());
  CHECK(double(loss) == doctest::Approx(m["loss"].get<double>()).epsilon(tol));
  check_tensor("tf_logits", model.acts.logits, c.V, B, tol, true);
  for (const Tensor& t : tensors)
    check_tensor(std::string("tf_grad_") + t.name, t.grad, t.rows, t.cols, tol);
}

template <typename T>
void check_mlp_fixture(const nlohmann::json& m, double tol) {
  const int B = m["B"];
  const MatrixXd X = npy_load(torch_fixture("mlp_x")).transpose();  // (D, B)
  const Mat<T> x = X.cast<T>();
  const std::vector<int> y = fixture_ints("mlp_targets");
  for (Loss loss : {Loss::mse, Loss::cross_entropy}) {
    const std::string tag = loss == Loss::mse ? "mse" : "ce";
    CAPTURE(tag);
    const MlpConfig c{m["D"], m["H"], m["V"], loss};
    Mlp<T> model;
    mlp_init(model, c, B, 0);
    load_tensor(model.params.W1, "mlp_W1", c.H, c.D);
    load_tensor(model.params.W2, "mlp_W2", c.V, c.H);
    const T l = mlp_forward(model, x.data(), y.data(), B);
    mlp_zero_grad(model);
    mlp_backward(model, x.data(), y.data());
    CHECK(double(l) == doctest::Approx(m["loss_" + tag].get<double>()).epsilon(tol));
    check_tensor("mlp_" + tag + "_out", model.acts.out, c.V, B, tol, true);
    check_tensor("mlp_" + tag + "_grad_W1", model.grads.W1, c.H, c.D, tol);
    check_tensor("mlp_" + tag + "_grad_W2", model.grads.W2, c.V, c.H, tol);
  }
}

template <typename T>
void check_embed2d_fixture(const nlohmann::json& m, double tol) {
  Embed2dConfig c;
  c.Vin = c.V = m["N"], c.C = m["C"], c.F = m["F"];
  const int B = m["B"];
  Embed2d<T> model;
  embed2d_init(model, c, B, 0);
  const Embed2dParameters<T>& p = model.params;
  const Embed2dParameters<T>& g = model.grads;
  struct Tensor {
    const char* name;
    T *param, *grad;
    int rows, cols;
  };
  const Tensor tensors[] = {{"W_E", p.W_E, g.W_E, c.C, c.Vin},
                            {"W_1", p.W_1, g.W_1, c.F, c.C},
                            {"b_1", p.b_1, g.b_1, c.F, 1},
                            {"W_2", p.W_2, g.W_2, c.V, c.F},
                            {"b_2", p.b_2, g.b_2, c.V, 1}};
  for (const Tensor& t : tensors)
    load_tensor(t.param, std::string("e2d_") + t.name, t.rows, t.cols);
  const std::vector<int> tok = fixture_ints("e2d_tokens"), y = fixture_ints("e2d_targets");
  const T loss = embed2d_forward(model, tok.data(), y.data(), B);
  embed2d_zero_grad(model);
  embed2d_backward(model, tok.data(), y.data());
  CHECK(double(loss) == doctest::Approx(m["loss"].get<double>()).epsilon(tol));
  check_tensor("e2d_logits", model.acts.logits, c.V, B, tol, true);
  for (const Tensor& t : tensors)
    check_tensor(std::string("e2d_grad_") + t.name, t.grad, t.rows, t.cols, tol);
}

}  // namespace

TEST_CASE_TEMPLATE("PyTorch fixture: transformer, MLP and embed2d outputs and gradients", T, double,
                   float) {
  std::ifstream in(std::string(RFM_TEST_DATA) + "/torch/meta.json");
  REQUIRE_MESSAGE(in.good(),
                  "tests/data/torch/meta.json is missing: HINT: run "
                  "tests/data/make_torch_fixture.py (its docstring says how)");
  const nlohmann::json meta = nlohmann::json::parse(in);
  REQUIRE_MESSAGE(meta["format_version"] == 1, "tests/data/torch has format_version "
                                                   << meta["format_version"]
                                                   << ", this test reads 1: HINT: rerun "
                                                      "tests/data/make_torch_fixture.py");
  const double tol = sizeof(T) == 8 ? 1e-10 : 1e-5;
  SUBCASE("transformer") {
    check_transformer_fixture<T>(meta["transformer"], tol);
  }
  SUBCASE("mlp") {
    check_mlp_fixture<T>(meta["mlp"], tol);
  }
  SUBCASE("embed2d") {
    check_embed2d_fixture<T>(meta["embed2d"], tol);
  }
}
