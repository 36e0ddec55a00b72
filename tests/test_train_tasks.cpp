// `rfm train` on every task form `rfm grok` takes: groups (abelian and not), multitasks with a
// task-selector slot and three-operand compositions, with the MLP and the transformer, on
// grok's split; the embedding model's refusals; and that small group tasks are learned.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/test_util.h"

using namespace rfm;
using rfm::test::CliResult;
using rfm::test::read_csv;
using rfm::test::run_cli;

namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("rfm_test_train_tasks_" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// The values of one column of a run's metrics.csv, row by row ("nan" becomes NaN).
std::vector<double> metrics_column(const fs::path& dir, const std::string& name) {
  const auto rows = read_csv((dir / "metrics.csv").string());
  REQUIRE(rows.size() >= 2);
  const auto col = std::find(rows[0].begin(), rows[0].end(), name) - rows[0].begin();
  REQUIRE(col < long(rows[0].size()));
  std::vector<double> v;
  for (size_t i = 1; i < rows.size(); ++i) v.push_back(std::stod(rows[i][col]));
  return v;
}

// The loss is finite at every logged epoch and lower at the end than at the start.
void check_loss_decreases(const fs::path& dir) {
  const std::vector<double> loss = metrics_column(dir, "train_loss");
  for (double l : loss) CHECK(std::isfinite(l));
  CHECK(loss.back() < loss.front());
}

void check_same_split(const fs::path& a, const fs::path& b) {
  for (const char* side : {"train", "test"})
    CHECK_MESSAGE(npz_load_ints((a / "split.npz").string(), side) ==
                      npz_load_ints((b / "split.npz").string(), side),
                  side);
}

// One line of output (the error), naming what it refuses.
void check_one_line_error(const CliResult& r, const std::string& names) {
  INFO(r.output);
  CHECK(r.status != 0);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  CHECK(r.output.find(names) != std::string::npos);
}

struct TaskForm {
  std::string name, args;  // a directory name and the --task (--group, --p) arguments
  std::string group;       // config.json's group
  int p, d;                // symbols per slot and input dimension
  int vocabulary, tokens;  // the transformer's W_E columns and sequence length
};

}  // namespace

TEST_CASE("rfm train: groups, multitask and compose with mlp and transformer on grok's split") {
  const std::vector<TaskForm> forms = {
      {"S3", "--task group --group S3", "S3", 6, 12, 7, 3},
      {"2x3", "--task group --group 2x3", "2x3", 6, 12, 7, 3},
      {"addmul", "--task add,mul --p 5", "", 5, 12, 8, 4},  // selector tokens 6, 7
      {"compose", "--task compose:add,mul --p 5", "", 5, 15, 6, 4}};
  for (const TaskForm& f : forms) {
    CAPTURE(f.name);
    const fs::path grok = temp_dir(f.name + "_grok");
    CliResult r = run_cli("grok " + f.args + " --iters 2 --quiet --out " + grok.string());
    INFO(r.output);
    REQUIRE(r.status == 0);

    const fs::path mlp = temp_dir(f.name + "_mlp");
    r = run_cli("train --model mlp " + f.args + " --width 32 --epochs 20 --log-every 5 --quiet " +
                "--split-from " + grok.string() + " --out " + mlp.string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    check_same_split(mlp, grok);
    check_loss_decreases(mlp);
    const nlohmann::json cfg = read_json(mlp / "config.json"),
                         gcfg = read_json(grok / "config.json");
    CHECK(cfg["d"] == f.d);
    CHECK(cfg["d"] == gcfg["d"]);
    CHECK(cfg["p"] == f.p);
    CHECK(cfg["group"] == f.group);
    CHECK(cfg["task"] == gcfg["task"]);
    CHECK(npy_load((mlp / "W1.npy").string()).cols() == f.d);
    CHECK(std::isnan(metrics_column(mlp, "nfm_circ_dev").back()));  // no Z_p block

    // Without --split-from the same --seed and --frac draw grok's split (multitask: paired).
    const fs::path own = temp_dir(f.name + "_own");
    r = run_cli("train --model mlp " + f.args + " --width 8 --epochs 1 --quiet --out " +
                own.string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    check_same_split(own, grok);

    const fs::path tf = temp_dir(f.name + "_tf");
    r = run_cli("train --model transformer " + f.args + " --d-model 32 --d-mlp 64 --lr 3e-3 " +
                "--epochs 20 --log-every 5 --quiet --split-from " + grok.string() + " --out " +
                tf.string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    check_same_split(tf, grok);
    check_loss_decreases(tf);
    CHECK(npy_load((tf / "W_E.npy").string()).cols() == f.vocabulary);
    CHECK(npy_load((tf / "W_pos.npy").string()).cols() == f.tokens);
    for (const char* name : {"fourier_gini", "key_freq_top", "restricted_loss", "excluded_loss"})
      CHECK_MESSAGE(std::isnan(metrics_column(tf, name).back()), name);  // Z_p pairs only
  }
}

TEST_CASE("rfm train: what a task form cannot take is refused in one line") {
  const fs::path out = temp_dir("refused");
  // The embedding model sums two embeddings: no third slot, and no order of a and b.
  check_one_line_error(
      run_cli("train --model embed2d --task compose:add,mul --p 5 --out " + out.string()),
      "--model embed2d --task compose:add,mul: the embedding model sums two");
  check_one_line_error(run_cli("train --model embed2d --task add,mul --p 5 --out " + out.string()),
                       "multitask and compose inputs have three slots");
  check_one_line_error(
      run_cli("train --model embed2d --task group --group S3 --out " + out.string()),
      "--group S3: the group is not abelian");
  check_one_line_error(run_cli("train --task group --group S3 --tokens 3 --out " + out.string()),
                       "need a two-operand task mod p");
  check_one_line_error(run_cli("train --task add --group S3 --out " + out.string()),
                       "--group S3 needs --task group");
  check_one_line_error(
      run_cli("train --task group --group S3 --augment commutative --out " + out.string()),
      "not commutative");

  // S3 and D3 have the same order: the group field tells their splits apart.
  const fs::path s3 = temp_dir("s3_split");
  REQUIRE(run_cli("train --task group --group S3 --width 8 --epochs 1 --quiet --out " + s3.string())
              .status == 0);
  check_one_line_error(run_cli("train --task group --group D3 --epochs 1 --split-from " +
                               s3.string() + " --out " + out.string()),
                       "is a split of group S3 (order 6), but this run is group D3 (order 6)");

  // An abelian group is two operands the embedding model can sum; its frequencies of Z_p are
  // not defined (the indices of 2x3 are not Z_6 in order), the circle's radius is.
  const fs::path e2 = temp_dir("embed_2x3");
  CliResult r =
      run_cli(std::string("train --model embed2d --task group --group 2x3 --epochs 50 --quiet ") +
              "--augment commutative --out " + e2.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(std::isnan(metrics_column(e2, "top_freq").back()));
  CHECK(std::isfinite(metrics_column(e2, "radius_cv").back()));
}

TEST_CASE("rfm train learns group tasks: the MLP fits S3 and generalises on S4") {
  // S3 at frac 0.9: 32 of 36 pairs, fitted by epoch 100 (seed 0); the 4 test pairs are too few
  // to generalise from. S4 at frac 0.9 (518 of 576 pairs): test accuracy 1 by epoch 50 for
  // seeds 0-3 at width 256, about 0.2 s.
  const fs::path s3 = temp_dir("learn_s3"), s4 = temp_dir("learn_s4");
  CliResult r = run_cli("train --task group --group S3 --frac 0.9 --width 128 --epochs 200 " +
                        std::string("--log-every 50 --quiet --out ") + s3.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(read_json(s3 / "summary.json")["final"]["train_acc"].get<double>() == 1.0);
  r = run_cli(
      "train --task group --group S4 --frac 0.9 --width 256 --epochs 100 --log-every 50 "
      "--quiet --out " +
      s4.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  const nlohmann::json fin = read_json(s4 / "summary.json")["final"];
  CHECK(fin["train_acc"].get<double>() == 1.0);
  CHECK(fin["test_acc"].get<double>() >= 0.99);
}
