// The `rfm` program end to end: one grokking run through the command line (the reference
// numbers of docs/algorithms.md 2.7 at p = 61), the run directory it writes, and one-line errors
// for bad input.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "data/data.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace rfm;
using rfm::test::read_csv;
using rfm::test::run_cli;
using Result = rfm::test::CliResult;

namespace {

fs::path temp_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("rfm_test_cli_" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

int column(const std::vector<std::string>& header, const std::string& name) {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  FAIL("metrics.csv has no column " << name);
  return -1;
}

}  // namespace

TEST_CASE("rfm grok: gaussian RFM groks addition mod 61 and writes the run directory") {
  const fs::path out = temp_dir("grok61");
  Result r = run_cli(
      "grok --task add --p 61 --frac 0.5 --kernel gaussian --bandwidth 2.5 "
      "--iters 20 --seed 0 --save-every 10 --out " +
      out.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const char* f : {"config.json", "split.npz", "metrics.csv", "summary.json", "M_final.npy",
                        "M_0000.npy", "M_0010.npy"})
    CHECK(fs::exists(out / f));
  const auto rows = read_csv(out / "metrics.csv");
  REQUIRE(rows.size() == 21);
  const auto& h = rows[0];
  for (const char* name : {"iter", "train_acc", "test_acc", "train_mse", "test_mse", "circ_dev",
                           "circ_dev_rev", "agop_align", "agop_align_nodiag", "seconds"})
    column(h, name);
  const int tr = column(h, "train_acc"), te = column(h, "test_acc"), cd = column(h, "circ_dev");
  for (int t = 0; t < 20; ++t) {
    CAPTURE(t);
    CHECK(std::stod(rows[t + 1][tr]) == 1.0);
    if (t <= 8) CHECK(std::stod(rows[t + 1][te]) < 0.05);  // no generalisation yet
  }
  CHECK(std::stod(rows[20][te]) >= 0.99);  // grokked by iteration 19 (published: 18)
  CHECK(std::stod(rows[20][cd]) < 0.001);
  CHECK(std::stod(rows[1][column(h, "agop_align")]) < std::stod(rows[20][column(h, "agop_align")]));

  std::ifstream sj(out / "summary.json");
  nlohmann::json summary = nlohmann::json::parse(sj);
  CHECK(summary["termination"] == "completed");
  CHECK(summary["first_iter_test_acc_0.99"].get<int>() <= 19);
  CHECK(summary["first_iter_test_acc_0.5"].get<int>() >= 9);
  const MatrixXd M = npy_load((out / "M_final.npy").string());
  CHECK(M.rows() == 122);
  CHECK(M.cols() == 122);
  const auto train = npz_load_ints((out / "split.npz").string(), "train");
  const auto test = npz_load_ints((out / "split.npz").string(), "test");
  CHECK(train.size() == 1860);
  CHECK(test.size() == 1861);
  // The labels of every example, in the order the indices refer to: pair (a, b) is a * 61 + b.
  const auto labels = npz_load_ints((out / "split.npz").string(), "labels");
  REQUIRE(labels.size() == 61 * 61);
  for (int i = 0; i < 61 * 61; i += 97) CHECK(labels[i] == (i / 61 + i % 61) % 61);
  std::ifstream cj(out / "config.json");
  nlohmann::json config = nlohmann::json::parse(cj);
  CHECK(config["kernel"] == "gaussian");
  CHECK(config["p"] == 61);
  // The default precision is auto, which solves add mod 61 in fp64 (mixed would cost more).
  CHECK(config["precision"] == "auto");
  CHECK(r.output.find("auto: fp64") != std::string::npos);
}

TEST_CASE("rfm grok: bad input gives one clear line and a non-zero exit") {
  const fs::path dir = temp_dir("bad");
  fs::create_directories(dir);
  {
    std::ofstream bad(dir / "bad.npy");
    bad << "not a numpy file";
  }
  const std::string d = dir.string() + "/";
  npy_save(d + "small.npy", MatrixXd::Identity(2, 2));
  npy_save(d + "nan.npy", MatrixXd::Constant(1, 2, std::nan("")));
  {
    std::string bytes = npy_bytes(MatrixXd::Identity(3, 3));
    std::ofstream(d + "trunc.npy") << bytes.substr(0, bytes.size() - 16);
    std::ofstream(d + "bad.csv") << "1,2\n3,x\n";
    std::ofstream(d + "ragged.csv") << "1,2\n3\n";
    std::ofstream(d + "y.csv") << "0\n1\n";
  }
  struct Case {
    std::string args, expect;
  } cases[] = {
      {"grok --task pow", "unknown task 'pow'"},
      {"grok --p 12", "--p 12 is not prime"},
      {"grok --frac 1.5", "--frac 1.5 is outside (0, 1]"},
      {"grok --frac 0", "--frac 0 is outside (0, 1]"},
      {"grok --kernel cubic", "cubic"},
      {"grok --iters 0", "--iters 0 must be >= 1"},
      {"grok --bandwidth -1", "--bandwidth -1 must be > 0"},
      {"grok --p 5 --init " + (dir / "bad.npy").string(), "not a .npy file"},
      {"grok --p 5 --out " + dir.string(), "exists"},
      {"grok --bogus 3", "--bogus"},
      {"grok --p 1", "--p 1 is out of range"},
      {"grok --frac 1", "0 test points"},
      {"grok --p 5 --frac 0.01", "leaves no training points"},
      {"grok --ridge -1", "--ridge -1 must be >= 0"},
      {"grok --p 5 --init " + d + "trunc.npy", "truncated data"},
      {"grok --p 5 --init " + d + "small.npy", "is 2x2, expected 10x10"},
      {"grok --p 5 --init " + d + "nan.npy", "non-finite value"},
      {"fit --x " + d + "bad.csv --y " + d + "y.csv", "line 2 field 2: 'x' is not a number"},
      {"fit --x " + d + "ragged.csv --y " + d + "y.csv", "line 2 has 1 fields, expected 2"},
      {"predict " + d + " --x " + d + "small.npy", "has no model.json"},
      {"grok --p 2003 --frac 0.9 --out " + (dir / "huge").string(), "GiB of memory"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.args);
    Result r = run_cli(c.args);
    INFO(r.output);
    CHECK(r.status != 0);
    CHECK(r.output.find(c.expect) != std::string::npos);
    CHECK(r.output.find("terminate called") == std::string::npos);
    CHECK(r.output.find("rfm: error: ") != std::string::npos);
  }
}

TEST_CASE("rfm info prints the BLAS in use") {
  Result r = run_cli("info");
  CHECK(r.status == 0);
  CHECK(r.output.find("OpenBLAS") != std::string::npos);
}

TEST_CASE("rfm fit learns the relevant features of dense data; rfm predict applies the model") {
  // y = [x0 * x1 > 0] with 6 noise coordinates: RFM should find coordinates 0 and 1.
  const fs::path dir = temp_dir("fit");
  fs::create_directories(dir);
  auto make = [](int n, uint64_t seed, MatrixXd& X, MatrixXd& y) {
    std::mt19937_64 gen(seed);
    std::normal_distribution<double> normal;
    X.resize(n, 8);
    y.resize(n, 1);
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < 8; ++k) X(i, k) = normal(gen);
      y(i, 0) = X(i, 0) * X(i, 1) > 0 ? 1 : 0;
    }
  };
  MatrixXd X, y, Xv, yv;
  make(400, 1, X, y);
  make(300, 2, Xv, yv);
  npy_save((dir / "X.npy").string(), X);
  npy_save((dir / "y.npy").string(), y);
  npy_save((dir / "Xv.npy").string(), Xv);
  {  // the validation labels as CSV with a header, to exercise the CSV reader
    std::ofstream csv(dir / "yv.csv");
    csv << "label\n";
    for (int i = 0; i < yv.rows(); ++i) csv << yv(i, 0) << "\n";
  }
  const fs::path out = dir / "run";
  Result r =
      run_cli("fit --x " + (dir / "X.npy").string() + " --y " + (dir / "y.npy").string() +
              " --x-val " + (dir / "Xv.npy").string() + " --y-val " + (dir / "yv.csv").string() +
              " --kernel laplace --bandwidth 10 " + "--iters 5 --out " + out.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  const MatrixXd M = npy_load((out / "model_M.npy").string());
  const double relevant = M(0, 0) + M(1, 1), all = M.diagonal().sum();
  CHECK(relevant / all > 0.6);  // M concentrates on the two coordinates that matter
  Result p = run_cli("predict " + out.string() + " --x " + (dir / "Xv.npy").string() + " --y " +
                     (dir / "yv.csv").string());
  INFO(p.output);
  REQUIRE(p.status == 0);
  const size_t at = p.output.find("accuracy ");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(p.output.substr(at + 9)) > 0.85);
  const std::vector<int64_t> labels = npy_load_ints((out / "predictions.npy").string());
  const MatrixXd S = npy_load((out / "predictions_scores.npy").string());
  REQUIRE(labels.size() == 300);
  CHECK(S.rows() == 300);
  CHECK(S.cols() == 2);
  int agree = 0;
  for (int i = 0; i < 300; ++i) agree += labels[i] == (S(i, 1) > S(i, 0) ? 1 : 0);
  CHECK(agree == 300);  // the labels are the argmax of the scores
  Result bad = run_cli("fit --x " + (dir / "X.npy").string() + " --y " + (dir / "yv.csv").string() +
                       " --out " + (dir / "bad").string());
  CHECK(bad.status != 0);
  CHECK(bad.output.find("400 rows but --y has 300") != std::string::npos);
}

namespace {

// y = 100 + 20 sin(x0) + 10 x1^2 over 5 normal features, x1 in units 1000 times larger: a fit
// without standardisation and target centring sees only x1's scale and predicts near 0.
void regression_data(int n, uint64_t seed, MatrixXd& X, MatrixXd& y) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  X.resize(n, 5);
  y.resize(n, 1);
  for (int i = 0; i < n; ++i) {
    for (int k = 0; k < 5; ++k) X(i, k) = normal(gen);
    y(i, 0) = 100 + 20 * std::sin(X(i, 0)) + 10 * X(i, 1) * X(i, 1);
    X(i, 1) *= 1000;
  }
}

double number_after(const std::string& text, const std::string& key) {
  const size_t at = text.find(key);
  REQUIRE_MESSAGE(at != std::string::npos, key);
  return std::stod(text.substr(at + key.size()));
}

}  // namespace

TEST_CASE("rfm fit on real targets: standardised, held-out rows choose, refit on all") {
  const fs::path dir = temp_dir("fit_values");
  fs::create_directories(dir);
  MatrixXd X, y, Xt, yt;
  regression_data(300, 3, X, y);
  regression_data(200, 4, Xt, yt);
  for (auto [name, A] : {std::pair{"X", &X}, {"y", &y}, {"Xt", &Xt}, {"yt", &yt}})
    npy_save((dir / (std::string(name) + ".npy")).string(), *A);
  const std::string data = " --x " + (dir / "X.npy").string() + " --y " + (dir / "y.npy").string();
  const std::string test =
      " --x " + (dir / "Xt.npy").string() + " --y " + (dir / "yt.npy").string();
  Result r = run_cli("fit" + data + " --out " + (dir / "run").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(r.output.find("(values); validation: 60 held out of --x") != std::string::npos);
  CHECK(r.output.find("refit on all 300 points") != std::string::npos);
  // The default ridge grid: four rows, one of them the kept setting.
  std::ifstream grid(dir / "run" / "grid.csv");
  std::string line;
  int rows = -1;
  while (std::getline(grid, line)) ++rows;
  CHECK(rows == 4);
  std::ifstream metrics(dir / "run" / "metrics.csv");
  std::getline(metrics, line);
  CHECK(line == "iter,train_acc,val_acc,train_mse,val_mse,seconds,solver,fallback");
  Result p = run_cli("predict " + (dir / "run").string() + test);
  INFO(p.output);
  REQUIRE(p.status == 0);
  CHECK(number_after(p.output, "R^2 ") > 0.8);  // predicting the mean scores 0
  const MatrixXd P = npy_load((dir / "run" / "predictions.npy").string());
  CHECK(std::abs(P.mean() - yt.mean()) < 3);  // the target mean was restored
  // Without standardisation the large-unit feature swamps the distances.
  Result raw = run_cli("fit" + data + " --standardize off --out " + (dir / "raw").string());
  REQUIRE(raw.status == 0);
  Result praw = run_cli("predict " + (dir / "raw").string() + test);
  CHECK(number_after(praw.output, "R^2 ") < 0.5);
  Result none =
      run_cli("fit" + data + " --val-frac 0 --ridge 0.01 --out " + (dir / "none").string());
  INFO(none.output);
  REQUIRE(none.status == 0);
  CHECK(none.output.find("no validation data (no --x-val, --val-frac 0): kept the last "
                         "iteration, 4") != std::string::npos);
  Result bad = run_cli("fit" + data + " --val-frac 1 --out " + (dir / "bad").string());
  CHECK(bad.status != 0);
  CHECK(bad.output.find("--val-frac 1 must be in [0, 1)") != std::string::npos);
}

TEST_CASE("rfm grok: NaN or Inf stops the run with the reason and the last finite M saved") {
  const fs::path dir = temp_dir("nan");
  fs::create_directories(dir);
  npy_save((dir / "huge.npy").string(), 1e200 * MatrixXd::Identity(10, 10));
  const fs::path out = dir / "run";
  Result r = run_cli("grok --p 5 --kernel quadratic --iters 3 --init " +
                     (dir / "huge.npy").string() + " --out " + out.string());
  INFO(r.output);
  CHECK(r.status != 0);
  CHECK(r.output.find("NaN or Inf") != std::string::npos);
  std::ifstream sj(out / "summary.json");
  nlohmann::json summary = nlohmann::json::parse(sj);
  CHECK(summary["termination"] == "numerical_failure");
  CHECK(npy_load((out / "M_final.npy").string()).allFinite());
}
