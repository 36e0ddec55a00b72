// `rfm report SWEEP_DIR`: one page for a sweep of `rfm sweep`. The test accuracy of every run
// overlaid (one colour per grid point), the mean and the range over seeds for each grid point,
// the sweep's phase diagrams (final accuracy, iteration of the transition) and summary.csv as
// a table. Runs are grouped by every swept option whose name does not contain "seed".
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "apps/report.h"
#include "rfm/rfm.h"

namespace rfm {

namespace {

namespace fs = std::filesystem;

struct SweepRun {
  std::string name, group;  // group: "frac=0.3 kernel=gaussian" (the non-seed options)
  MetricsTable metrics;
};

struct Sweep {
  std::string dir, command, x;            // x: iter or epoch
  std::vector<std::string> keys, groups;  // swept options; groups in grid order
  std::vector<SweepRun> runs;
  std::vector<std::vector<std::string>> summary;  // summary.csv cells, header first
};

std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"')
      quoted = !quoted;
    else if (ch == ',' && !quoted)
      cells.push_back(std::exchange(cell, ""));
    else
      cell += ch;
  }
  cells.push_back(cell);
  return cells;
}

Sweep read_sweep(const std::string& dir) {
  Sweep s;
  s.dir = dir;
  std::ifstream cfg(dir + "/sweep.json");
  const nlohmann::json j = nlohmann::json::parse(cfg, nullptr, false);
  RFM_CHECK(!j.is_discarded(), "rfm report: %s/sweep.json is not valid JSON", dir.c_str());
  s.command = j.value("command", "grok");
  s.x = s.command == "train" ? "epoch" : "iter";
  std::ifstream in(dir + "/summary.csv");
  RFM_CHECK(in.good(),
            "rfm report: %s has sweep.json but no summary.csv (run rfm sweep CONFIG "
            "--summary-only)",
            dir.c_str());
  for (std::string line; std::getline(in, line);) s.summary.push_back(csv_cells(line));
  RFM_CHECK(!s.summary.empty(), "rfm report: %s/summary.csv is empty", dir.c_str());
  const std::vector<std::string>& head = s.summary.front();
  const size_t status = std::find(head.begin(), head.end(), "status") - head.begin();
  s.keys.assign(head.begin() + 1, head.begin() + std::min(status, head.size()));
  for (size_t r = 1; r < s.summary.size(); ++r) {
    const std::vector<std::string>& row = s.summary[r];
    const std::string metrics = dir + "/runs/" + row[0] + "/metrics.csv";
    if (!fs::exists(metrics)) continue;  // not run yet
    SweepRun run{row[0], "", read_metrics(metrics)};
    for (size_t k = 0; k < s.keys.size() && k + 1 < row.size(); ++k)
      if (s.keys[k].find("seed") == std::string::npos)
        run.group += (run.group.empty() ? "" : " ") + s.keys[k] + "=" + row[k + 1];
    if (run.group.empty()) run.group = "all runs";
    if (std::find(s.groups.begin(), s.groups.end(), run.group) == s.groups.end())
      s.groups.push_back(run.group);
    s.runs.push_back(std::move(run));
  }
  RFM_CHECK(!s.runs.empty(), "rfm report: no run of %s has a metrics.csv yet", dir.c_str());
  return s;
}

int group_index(const Sweep& s, const std::string& group) {
  return int(std::find(s.groups.begin(), s.groups.end(), group) - s.groups.begin());
}

std::string cell(double v) {
  return std::isfinite(v) ? strfmt("%.6g", v) : "NaN";
}

// Every run's test accuracy: one data block per run, coloured by its group.
std::string overlay_script(const Sweep& s) {
  std::string gp;
  for (size_t r = 0; r < s.runs.size(); ++r) {
    const MetricsTable& t = s.runs[r].metrics;
    gp += strfmt("$run%zu << EOD\n", r);
    for (size_t i = 0; i < t.rows(); ++i)
      gp += cell(t.cols.at(s.x)[i]) + " " + cell(t.cols.at("test_acc")[i]) + "\n";
    gp += "EOD\n";
  }
  gp += "plot ";
  std::vector<char> titled(s.groups.size(), 0);
  for (size_t r = 0; r < s.runs.size(); ++r) {
    const int g = group_index(s, s.runs[r].group);
    gp += strfmt("%s$run%zu using 1:2 with lines lw 1.5 lc %d title %s", r ? ", \\\n  " : "", r,
                 g + 1, titled[g] ? "''" : gnuplot_quote(s.runs[r].group).c_str());
    titled[g] = 1;
  }
  return gp + "\n";
}

// Per group: the mean test accuracy and its range over the runs (rows up to the shortest run).
std::string spread_script(const Sweep& s) {
  std::string gp, plot = "plot ";
  for (size_t g = 0; g < s.groups.size(); ++g) {
    std::vector<const MetricsTable*> members;
    for (const SweepRun& r : s.runs)
      if (r.group == s.groups[g]) members.push_back(&r.metrics);
    size_t rows = SIZE_MAX;
    for (const MetricsTable* t : members) rows = std::min(rows, t->rows());
    gp += strfmt("$group%zu << EOD\n", g);
    for (size_t i = 0; i < rows; ++i) {
      double sum = 0, lo = INFINITY, hi = -INFINITY;
      for (const MetricsTable* t : members) {
        const double v = t->cols.at("test_acc")[i];
        sum += v;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
      gp += cell(members.front()->cols.at(s.x)[i]) + " " + cell(sum / members.size()) + " " +
            cell(lo) + " " + cell(hi) + "\n";
    }
    gp += "EOD\n";
    const std::string title = strfmt("%s (%zu runs)", s.groups[g].c_str(), members.size());
    plot += strfmt(
        "%s$group%zu using 1:3:4 with filledcurves fs transparent solid 0.2 lc %zu "
        "notitle, $group%zu using 1:2 with lines lw 2.5 lc %zu title %s",
        g ? ", \\\n  " : "", g, g + 1, g, g + 1, gnuplot_quote(title).c_str());
  }
  return gp + plot + "\n";
}

std::string axes(const Sweep& s, const std::string& title) {
  return "set title " + gnuplot_quote(title) + "\nset xlabel '" +
         (s.x == "iter" ? "iteration" : "epoch") +
         "'\nset ylabel 'test accuracy'\nset yrange [-0.02:1.02]\nset grid\n"
         "set key outside right top\n";
}

std::vector<std::pair<std::string, std::string>> write_pictures(const Sweep& s,
                                                                const ReportOptions& o) {
  const std::string rdir = s.dir + "/report";
  make_dirs(rdir);
  for (const SweepRun& r : s.runs)
    RFM_CHECK(r.metrics.has(s.x) && r.metrics.has("test_acc"),
              "rfm report: %s/runs/%s/metrics.csv has no %s or test_acc column", s.dir.c_str(),
              r.name.c_str(), s.x.c_str());
  const std::string ext = "." + o.format;
  const std::string what = strfmt("rfm %s sweep, %zu runs", s.command.c_str(), s.runs.size());
  std::string gp = "# rfm report: curves of a sweep (run: gnuplot sweep.gp)\n" +
                   gnuplot_terminal(o.format, o.width + 300, o.height) + "\n";
  gp += "set output 'curves" + ext + ".tmp'\n" +
        axes(s, "test accuracy of every run (" + what + ")") + overlay_script(s) + "set output\n";
  gp += "set output 'spread" + ext + ".tmp'\n" +
        axes(s, "mean test accuracy and its range over seeds (" + what + ")") + spread_script(s) +
        "set output\n";
  const std::vector<std::string> outputs = {"curves" + ext, "spread" + ext};
  run_gnuplot(rdir, "sweep.gp", gp, outputs);
  std::vector<std::pair<std::string, std::string>> out = {
      {outputs[0], "test accuracy of every run, one colour per grid point"},
      {outputs[1], "mean test accuracy per grid point (line) and its range over seeds (band)"}};
  for (const char* phase : {"phase", "phase_transition"}) {  // rfm sweep's own pictures
    const std::string file = std::string(phase) + ".png";
    if (!fs::exists(s.dir + "/" + file)) continue;
    fs::copy_file(s.dir + "/" + file, rdir + "/" + file, fs::copy_options::overwrite_existing);
    out.push_back({file, std::string(phase) == "phase"
                             ? "final test accuracy over the phase axes (rfm sweep)"
                             : "first iteration (epoch) with test accuracy >= 0.99 (rfm sweep)"});
  }
  return out;
}

std::string summary_table(const Sweep& s) {
  std::string h = "<table>\n";
  for (size_t r = 0; r < s.summary.size(); ++r) {
    h += "<tr>";
    for (const std::string& c : s.summary[r])
      h += (r ? "<td>" : "<th>") + html_escape(c) + (r ? "</td>" : "</th>");
    h += "</tr>\n";
  }
  return h + "</table>\n";
}

}  // namespace

bool is_sweep_dir(const std::string& dir) {
  return fs::exists(dir + "/sweep.json") && !fs::exists(dir + "/config.json");
}

std::string write_sweep_report(const std::string& dir, const ReportOptions& o) {
  gnuplot_terminal(o.format, o.width, o.height);  // checks the format before any work
  const Sweep s = read_sweep(dir);
  const auto pictures = write_pictures(s, o);
  std::string keys;
  for (const std::string& k : s.keys) keys += (keys.empty() ? "" : ", ") + k;
  const std::string title =
      strfmt("Sweep of rfm %s over %s (%zu runs)", s.command.c_str(), keys.c_str(), s.runs.size());
  const std::string body =
      html_grid(dir + "/report", pictures) + "<h2>summary.csv</h2>\n" + summary_table(s);
  const std::string path = dir + "/report.html";
  write_text_atomic(path, html_document(title, "rfm report of " + dir, body));
  if (!o.quiet)
    for (const auto& p : pictures) std::printf("  %s/report/%s\n", dir.c_str(), p.first.c_str());
  if (!o.quiet) std::printf("rfm report: %s\n", path.c_str());
  return path;
}

}  // namespace rfm
