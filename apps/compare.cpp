// `rfm compare RFM_RUN NEURAL_RUN`: an RFM run beside a neural run on the same task: their
// progress side by side, the Pearson correlation (full and without diagonals) of RFM's M_final
// with the network's NFM and sqrt(AGOP), and the circulant deviation of each (docs/algorithms.md
// 3.1 and 5.1).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/commands.h"
#include "neural/neural.h"

namespace rfm {

namespace {

struct CompareOptions {
  std::string rfm_run, neural_run;
  std::string out;  // optional compare.json
};

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  RFM_CHECK(in.good(), "cannot read %s", path.c_str());
  return nlohmann::json::parse(in);
}

// A metrics.csv as named columns of numbers (non-numeric cells become NaN).
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<double>> rows;
  double get(size_t row, const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name && i < rows[row].size()) return rows[row][i];
    return kNaN;
  }
};

Table read_csv(const std::string& path) {
  std::ifstream in(path);
  RFM_CHECK(in.good(), "cannot read %s", path.c_str());
  Table t;
  std::string line;
  auto split = [](const std::string& s) {
    std::vector<std::string> cells;
    std::stringstream ss(s);
    for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
    return cells;
  };
  if (std::getline(in, line)) t.header = split(line);
  while (std::getline(in, line)) {
    std::vector<double> row;
    for (const std::string& c : split(line)) {
      char* end = nullptr;
      const double v = std::strtod(c.c_str(), &end);
      row.push_back(end != c.c_str() ? v : kNaN);
    }
    t.rows.push_back(row);
  }
  return t;
}

std::string progress_table(const Table& r, const Table& n) {
  std::string out = "  RFM  iter  train_acc  test_acc  |  network  epoch  train_acc  test_acc\n";
  const size_t rows = std::max(r.rows.size(), n.rows.size());
  for (size_t i = 0; i < rows; ++i) {
    out += i < r.rows.size() ? strfmt("%10d  %9.4f  %8.4f", int(r.get(i, "iter")),
                                      r.get(i, "train_acc"), r.get(i, "test_acc"))
                             : std::string(31, ' ');
    out += "  |";
    if (i < n.rows.size())
      out += strfmt("  %12d  %9.4f  %8.4f", int(n.get(i, "epoch")), n.get(i, "train_acc"),
                    n.get(i, "test_acc"));
    out += "\n";
  }
  return out;
}

// The circulant deviation of each matrix's task block, printed and added to j.
void circulant_table(const std::string& task, int p,
                     const std::vector<std::pair<const char*, const MatrixXd*>>& mats,
                     nlohmann::json& j) {
  const Op op = op_from_string(task);
  std::printf("\n  %-26s %10s %10s\n", "circulant deviation", "circ", "reversed");
  for (const auto& [name, mat] : mats) {
    const MatrixXd A = task_block(*mat, p, op);
    const double c = circulant_deviation(A, false), r = circulant_deviation(A, true);
    std::printf("  %-26s %10.3e %10.3e\n", name, c, r);
    j["circ_dev"][name] = {{"circ", c}, {"reversed", r}};
  }
}

void run_compare(const CompareOptions& o) {
  const nlohmann::json rc = read_json(o.rfm_run + "/config.json");
  const nlohmann::json nc = read_json(o.neural_run + "/config.json");
  const std::string task = rc.value("task", "");
  const int p = rc.value("p", 0);
  RFM_CHECK(task == nc.value("task", "") && p == nc.value("p", 0),
            "the runs are on different tasks: %s mod %d (%s) and %s mod %d (%s)", task.c_str(), p,
            o.rfm_run.c_str(), nc.value("task", "").c_str(), nc.value("p", 0),
            o.neural_run.c_str());
  const MatrixXd M = npy_load(o.rfm_run + "/M_final.npy");
  namespace fs = std::filesystem;
  RFM_CHECK(fs::exists(o.neural_run + "/NFM_final.npy"),
            "%s has no NFM_final.npy (only MLP runs have an NFM and AGOP)", o.neural_run.c_str());
  const MatrixXd nfm = npy_load(o.neural_run + "/NFM_final.npy");
  const MatrixXd agop = npy_load(o.neural_run + "/AGOP_final.npy");
  RFM_CHECK(M.rows() == nfm.rows() && M.cols() == nfm.cols(),
            "M_final is %dx%d but the NFM is %dx%d", int(M.rows()), int(M.cols()), int(nfm.rows()),
            int(nfm.cols()));
  const MatrixXd root = sym_power(agop, 0.5);

  std::printf("rfm compare: %s mod %d\n", task.c_str(), p);
  std::printf("%s", settings_line("RFM run", o.rfm_run).c_str());
  std::printf(
      "%s\n",
      settings_line("neural run", o.neural_run + " (" + nc.value("model", "?") + ")").c_str());
  std::printf("%s\n", progress_table(read_csv(o.rfm_run + "/metrics.csv"),
                                     read_csv(o.neural_run + "/metrics.csv"))
                          .c_str());
  nlohmann::json j = {
      {"task", task}, {"p", p}, {"rfm_run", o.rfm_run}, {"neural_run", o.neural_run}};
  std::printf("  %-26s %8s %8s\n", "Pearson correlation", "full", "nodiag");
  const std::pair<const char*, const MatrixXd*> pairs[] = {
      {"M_final vs NFM", &nfm}, {"M_final vs sqrt(AGOP)", &root}, {"NFM vs sqrt(AGOP)", &root}};
  for (int k = 0; k < 3; ++k) {
    const MatrixXd& A = k == 2 ? nfm : M;
    const double full = pearson_correlation(A, *pairs[k].second, false);
    const double nod = pearson_correlation(A, *pairs[k].second, true);
    std::printf("  %-26s %8.4f %8.4f\n", pairs[k].first, full, nod);
    j["pearson"][pairs[k].first] = {{"full", full}, {"nodiag", nod}};
  }
  if (is_op_name(task))
    circulant_table(task, p,
                    {{"RFM M_final", &M}, {"network NFM", &nfm}, {"network sqrt(AGOP)", &root}}, j);
  else
    std::printf("\n  circulant deviation: defined for add, sub, mul and div only; left out\n");
  if (!o.out.empty()) write_text_atomic(o.out, j.dump(2) + "\n");
}

}  // namespace

static void setup_compare(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* sub = app.add_subcommand(
      "compare", "An RFM run beside a neural run: progress, feature-matrix correlation");
  sub->footer(
      "Example:\n"
      "  rfm grok --out runs/add61 && rfm train --model mlp --split-from runs/add61 --out "
      "runs/mlp61\n"
      "  rfm compare runs/add61 runs/mlp61");
  sub->add_option("RFM_RUN", o->rfm_run, "Run directory of rfm grok")->required();
  sub->add_option("NEURAL_RUN", o->neural_run, "Run directory of rfm train --model mlp")
      ->required();
  sub->add_option("--out", o->out, "Also write the numbers to this JSON file");
  sub->callback([o] { run_compare(*o); });
}

RFM_COMMAND(compare, setup_compare);

}  // namespace rfm
