// The whole workflow on one task of every task form: rfm grok (with --report), rfm train with
// each model that takes the form (the others must refuse in one line), rfm inspect with its
// pictures, rfm report of every run and rfm compare of RFM against every network. Each command
// must exit 0 and write what it promises; small p and a few iterations keep it fast.
#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/test_util.h"

using rfm::test::CliResult;
using rfm::test::run_cli;

namespace {

namespace fs = std::filesystem;

struct Form {
  const char* name;  // for messages
  std::string task;  // the task flags of grok
  bool embed2d;      // embed2d takes it (two symmetric slots)
};

const std::vector<Form> kForms = {
    {"modular", "--task mul --p 7", true},
    {"polynomial", "--task x^2+y^2 --p 7", true},
    {"abelian group", "--task group --group 2x3", true},
    {"non-abelian group", "--task group --group S3", false},
    {"multitask", "--task add,mul --p 5", false},
    {"compose", "--task compose:add,mul --p 5", false},
    {"system", "--task system --p 7", true},
};

bool nonempty(const fs::path& p) {
  return fs::exists(p) && fs::file_size(p) > 0;
}

CliResult run_ok(const std::string& args) {
  const CliResult r = run_cli(args);
  INFO("rfm " << args << "\n" << r.output);
  CHECK(r.status == 0);
  return r;
}

}  // namespace

TEST_CASE("every task form through grok, train, inspect, report and compare") {
  const fs::path root =
      fs::temp_directory_path() / ("rfm_test_workflow_" + std::to_string(getpid()));
  fs::remove_all(root);
  for (const Form& f : kForms) {
    const std::string form = f.name;
    CAPTURE(form);
    std::string leaf = form;
    std::replace(leaf.begin(), leaf.end(), ' ', '-');
    const fs::path dir = root / leaf;
    const std::string rfm_run = (dir / "rfm").string();
    run_ok("grok " + f.task + " --frac 0.6 --iters 3 --quiet --report --out " + rfm_run);
    CHECK(nonempty(rfm_run + "/report.html"));
    CHECK(!fs::exists(rfm_run + "/checkpoint"));
    run_ok("inspect --png " + rfm_run + "/inspect " + rfm_run);
    CHECK(nonempty(rfm_run + "/inspect/M.png"));
    for (const char* model : {"mlp", "transformer", "embed2d"}) {
      const std::string model_name = model;
      CAPTURE(model_name);
      const std::string net = (dir / model).string();
      const std::string train = std::string("train --model ") + model +
                                " --epochs 2 --width 16 --quiet --split-from " + rfm_run +
                                " --out " + net;
      if (std::string(model) == "embed2d" && !f.embed2d) {
        const CliResult r = run_cli(train);
        INFO(r.output);
        CHECK(r.status != 0);
        CHECK(r.output.find("rfm: error:") != std::string::npos);
        continue;
      }
      run_ok(train);
      run_ok("report " + net);
      CHECK(nonempty(net + "/report.html"));
      CHECK(!fs::is_empty(net + "/report"));
      run_ok("compare " + rfm_run + " " + net + " --out " + net + "/compare.json --page " + net +
             "/page");
      CHECK(nonempty(net + "/compare.json"));
      CHECK(nonempty(net + "/page/compare.html"));
      CHECK(nonempty(net + "/page/progress.png"));
    }
  }
  fs::remove_all(root);
}

TEST_CASE("a train sweep counts epochs, draws the transition phase, and rfm report reads it") {
  const fs::path root =
      fs::temp_directory_path() / ("rfm_test_sweep_report_" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string out = (root / "sweep").string(), cfg = (root / "s.json").string();
  {
    std::ofstream f(cfg);
    f << "{\"command\": \"train\", \"out\": \"" << out
      << "\", \"base\": {\"task\": \"add\", \"p\": 7, \"epochs\": 6, \"width\": 8, "
         "\"log-every\": 3}, \"grid\": {\"frac\": [0.5, 0.8], \"seed\": [0, 1]}}";
  }
  run_ok("sweep " + cfg);
  const auto rows = rfm::test::read_csv(out + "/summary.csv");
  REQUIRE(rows.size() == 5);
  const size_t col = std::find(rows[0].begin(), rows[0].end(), "epochs") - rows[0].begin();
  REQUIRE(col < rows[0].size());
  for (size_t r = 1; r < rows.size(); ++r) CHECK(rows[r][col] == "6");  // epochs, not 3 rows
  CHECK(nonempty(out + "/phase_transition.png"));
  run_ok("report " + out);
  CHECK(nonempty(out + "/report.html"));
  for (const char* f : {"curves.png", "spread.png", "phase.png", "sweep.gp"})
    CHECK(nonempty(out + "/report/" + f));
  std::ifstream gp(out + "/report/sweep.gp");
  const std::string script((std::istreambuf_iterator<char>(gp)), {});
  CHECK(script.find("frac=0.5 (2 runs)") != std::string::npos);  // grouped over the seeds
  CHECK(script.find("$group1") != std::string::npos);
  fs::remove_all(root);
}
