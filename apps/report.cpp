// `rfm report RUN_DIR`: pictures and one self-contained HTML page for a run directory of
// `rfm grok` or `rfm train` (issue 7). Curves go through gnuplot (pngcairo) with a generated
// script that holds the data inline (report/plots.gp, so a person can edit and re-run it);
// heatmaps of M_t are written directly (rfm.h write_heatmap_png). report.html embeds every
// picture as base64, so the one file can be mailed or archived on its own.
#include "apps/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "apps/commands.h"
#include "rfm/rfm.h"

namespace rfm {

namespace {

namespace fs = std::filesystem;

// --- Reading the run directory ----------------------------------------------------------------

// metrics.csv by column; "nan" and empty cells become NaN, text cells (solver) are skipped.
struct Table {
  std::vector<std::string> names;
  std::map<std::string, std::vector<double>> cols;
  bool has(const std::string& c) const { return cols.count(c) > 0; }
  size_t rows() const { return cols.empty() ? 0 : cols.begin()->second.size(); }
};

double parse_cell(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end != s.c_str() && *end == '\0' ? v : kNaN;
}

Table read_metrics(const std::string& path) {
  std::ifstream in(path);
  RFM_CHECK(in.good(), "rfm report: cannot read %s", path.c_str());
  Table t;
  std::string line;
  std::getline(in, line);
  std::stringstream hs(line);
  for (std::string c; std::getline(hs, c, ',');) t.names.push_back(c);
  for (const std::string& n : t.names) t.cols[n];
  while (std::getline(in, line)) {
    std::stringstream ss(line);
    std::string c;
    for (size_t i = 0; i < t.names.size(); ++i) {
      if (!std::getline(ss, c, ',')) c.clear();
      t.cols[t.names[i]].push_back(parse_cell(c));
    }
  }
  return t;
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) return nlohmann::json::object();
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    RFM_CHECK(false, "rfm report: %s is not valid JSON: %s", path.c_str(), e.what());
  }
  return {};
}

// First iteration (epoch) with test accuracy >= 0.5 and >= 0.99 from summary.json (-1: none).
std::pair<int, int> transitions(const nlohmann::json& summary) {
  auto get = [&](const char* a, const char* b) {
    if (summary.contains(a)) return summary[a].get<int>();
    if (summary.contains(b)) return summary[b].get<int>();
    return -1;
  };
  return {get("first_iter_test_acc_0.5", "first_epoch_test_acc_0.5"),
          get("first_iter_test_acc_0.99", "first_epoch_test_acc_0.99")};
}

// --- Curves through gnuplot ---------------------------------------------------------------------

struct Curve {
  std::string column, title;
};

struct Plot {
  std::string file, title, ylabel;
  bool log_y = false;
  std::vector<Curve> curves;
  std::vector<Curve> curves_y2;  // right axis, linear in [0, 1]
  std::string y2label;
};

std::string present(const Table& t, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (t.has(n)) return n;
  return "";
}

std::vector<Plot> choose_plots(const Table& t) {
  std::vector<Plot> plots;
  plots.push_back({"accuracy.png",
                   "Accuracy",
                   "accuracy",
                   false,
                   {{"train_acc", "train"},
                    t.has("val_acc") ? Curve{"val_acc", "validation"} : Curve{"test_acc", "test"}},
                   {},
                   ""});
  const std::string trl = present(t, {"train_mse", "train_loss"});
  const std::string tel = present(t, {"test_mse", "test_loss", "val_mse"});
  plots.push_back({"loss.png",
                   trl == "train_mse" ? "Mean squared error" : "Loss",
                   trl == "train_mse" ? "mse" : "loss",
                   true,
                   {{trl, "train"}, {tel, tel == "val_mse" ? "validation" : "test"}},
                   {},
                   ""});
  Plot prog{"progress.png", "Progress measures", "circulant deviation (log)", true, {}, {}, ""};
  for (const auto& [c, title] : std::vector<std::pair<std::string, std::string>>{
           {"circ_dev", "circulant deviation"},
           {"circ_dev_rev", "circulant deviation, reversed"},
           {"nfm_circ_dev", "circulant deviation of the NFM"}})
    if (t.has(c)) prog.curves.push_back({c, title});
  for (const auto& [c, title] : std::vector<std::pair<std::string, std::string>>{
           {"agop_align", "AGOP alignment with M_final"},
           {"agop_align_nodiag", "AGOP alignment, no diagonal"},
           {"nfm_agop_corr", "NFM ~ AGOP correlation"},
           {"nfm_agop_corr_nodiag", "NFM ~ AGOP, no diagonal"}})
    if (t.has(c)) prog.curves_y2.push_back({c, title});
  prog.y2label = "alignment (cosine)";
  plots.push_back(prog);
  return plots;
}

// True when the column holds a value gnuplot can draw: finite, and positive on a log axis.
// Measures undefined for a task (circ_dev of a polynomial or of a non-abelian group) are NaN
// in every row.
bool drawable(const Table& t, const std::string& column, bool log_axis) {
  if (!t.has(column)) return false;
  for (double v : t.cols.at(column))
    if (std::isfinite(v) && (!log_axis || v > 0)) return true;
  return false;
}

// Drops the curves without a drawable value, and the plots left without a curve; says which
// measures were left out, in `note`.
std::vector<Plot> drawable_plots(const Table& t, std::vector<Plot> plots, std::string& note) {
  std::vector<std::string> dropped;
  auto prune = [&](std::vector<Curve>& curves, bool log_axis) {
    auto gone = [&](const Curve& c) {
      const bool keep = drawable(t, c.column, log_axis);
      if (!keep && t.has(c.column)) dropped.push_back(c.column);
      return !keep;
    };
    curves.erase(std::remove_if(curves.begin(), curves.end(), gone), curves.end());
  };
  std::vector<Plot> kept;
  for (Plot& p : plots) {
    prune(p.curves, p.log_y);
    prune(p.curves_y2, false);
    if (!p.curves.empty() || !p.curves_y2.empty()) kept.push_back(p);
  }
  if (!dropped.empty()) {
    std::string names;
    for (const std::string& d : dropped) names += (names.empty() ? "" : ", ") + d;
    note = names + ": undefined for this run (no finite value), left out of the curves";
  }
  return kept;
}

// The data block: one row per iteration, "?" for a missing value (set datafile missing).
std::string data_block(const Table& t, const std::string& x) {
  std::string s = "$data << EOD\n";
  for (size_t r = 0; r < t.rows(); ++r) {
    for (const std::string& n : t.names) {
      const double v = t.cols.at(n)[r];
      s += std::isfinite(v) ? strfmt("%.10g ", v) : "? ";
    }
    s += "\n";
  }
  return s + "EOD\n";
}

int column_index(const Table& t, const std::string& name) {
  return int(std::find(t.names.begin(), t.names.end(), name) - t.names.begin()) + 1;
}

std::string plot_commands(const Table& t, const std::string& x, const Plot& p,
                          std::pair<int, int> tr) {
  std::string s = strfmt(
      "unset arrow\nunset label\nunset y2tics\nunset logscale\nset output '%s.tmp'\n"
      "set title '%s'\nset xlabel '%s'\nset ylabel '%s'\nset key outside bottom center "
      "horizontal\nset grid\n",
      p.file.c_str(), p.title.c_str(), x == "iter" ? "iteration" : "epoch", p.ylabel.c_str());
  s += p.log_y ? "set logscale y\nset format y '%.0e'\n"
               : "set format y '%g'\nset yrange [-0.02:1.02]\n";
  const std::pair<int, const char*> marks[] = {{tr.first, "test acc >= 0.5"},
                                               {tr.second, "test acc >= 0.99"}};
  for (int k = 0; k < 2; ++k)
    if (marks[k].first >= 0)
      s += strfmt(
          "set arrow from %d, graph 0 to %d, graph 1 nohead dt 2 lw 1.5 lc rgb '#555555'\n"
          "set label '%s (%d)' at %d, graph %g left offset 0.5, 0 font ',9'\n",
          marks[k].first, marks[k].first, marks[k].second, marks[k].first, marks[k].first,
          0.9 - 0.08 * k);
  if (!p.curves_y2.empty())
    s += strfmt("set y2tics\nset y2range [-0.02:1.02]\nset y2label '%s'\nset ytics nomirror\n",
                p.y2label.c_str());
  std::vector<std::string> parts;
  const int xi = column_index(t, x);
  for (const Curve& c : p.curves)
    parts.push_back(strfmt("$data using %d:%d with linespoints pt 7 ps 0.5 lw 2 title '%s'", xi,
                           column_index(t, c.column), c.title.c_str()));
  for (const Curve& c : p.curves_y2)
    parts.push_back(strfmt("$data using %d:%d axes x1y2 with lines lw 2 dt 3 title '%s'", xi,
                           column_index(t, c.column), c.title.c_str()));
  s += "plot ";
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", \\\n     " : "") + parts[i];
  s += "\nset output\nunset yrange\nunset y2range\nunset format\n";
  return s;
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

bool have_gnuplot() {
  return std::system("command -v gnuplot > /dev/null 2>&1") == 0;
}

// Writes report/plots.gp and runs it; returns the pictures made (empty without gnuplot).
std::vector<Plot> write_curves(const std::string& rdir, const Table& t, std::pair<int, int> tr,
                               const ReportOptions& o, std::string& problem) {
  const std::string x = t.has("iter") ? "iter" : "epoch";
  RFM_CHECK(t.has(x), "rfm report: metrics.csv has neither an iter nor an epoch column");
  std::string note;
  std::vector<Plot> plots = drawable_plots(t, choose_plots(t), note);
  if (!note.empty()) problem = note;
  std::string script = "# rfm report: curves of metrics.csv (run: gnuplot plots.gp)\n";
  script += strfmt("set terminal pngcairo size %d,%d noenhanced font 'DejaVu Sans,11'\n", o.width,
                   o.height);
  script += "set datafile missing '?'\nset border lw 1.2\n" + data_block(t, x);
  for (const Plot& p : plots) script += plot_commands(t, x, p, tr);
  write_text_atomic(rdir + "/plots.gp", script);
  if (!have_gnuplot()) {
    problem += std::string(problem.empty() ? "" : "; ") +
               "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox): no curves";
    return {};
  }
  const int rc =
      std::system(("cd " + shell_quote(rdir) + " && gnuplot plots.gp > gnuplot.log 2>&1").c_str());
  if (rc != 0)  // no half-written pictures left behind
    for (const Plot& p : plots) fs::remove(rdir + "/" + p.file + ".tmp");
  RFM_CHECK(rc == 0, "rfm report: gnuplot failed on %s/plots.gp (see %s/gnuplot.log)", rdir.c_str(),
            rdir.c_str());
  for (const Plot& p : plots) fs::rename(rdir + "/" + p.file + ".tmp", rdir + "/" + p.file);
  return plots;
}

// --- Heatmaps of M_t --------------------------------------------------------------------------

// The file holding M_t: --save-every's M_XXXX.npy, else the checkpoint's; "" when neither.
std::string matrix_file(const std::string& dir, int t) {
  const std::string saved = dir + strfmt("/M_%04d.npy", t);
  if (fs::exists(saved)) return saved;
  const std::string ck = checkpoint_matrix_path(dir, t);
  return fs::exists(ck) ? ck : "";
}

std::vector<int> available_iters(const std::string& dir, int iterations) {
  std::vector<int> v;
  for (int t = 0; t < iterations; ++t)
    if (!matrix_file(dir, t).empty()) v.push_back(t);
  return v;
}

// The default choice: the start, just before the 0.5 transition and at it, and the last one,
// among those saved.
std::vector<int> default_iters(const std::vector<int>& avail, std::pair<int, int> tr) {
  std::vector<int> pick;
  if (avail.empty()) return pick;
  pick.push_back(avail.front());
  if (tr.first >= 0) {
    auto at = std::lower_bound(avail.begin(), avail.end(), tr.first);
    if (at != avail.begin()) pick.push_back(*(at - 1));
    if (at != avail.end()) pick.push_back(*at);
  }
  pick.push_back(avail.back());
  std::sort(pick.begin(), pick.end());
  pick.erase(std::unique(pick.begin(), pick.end()), pick.end());
  return pick;
}

struct Picture {
  std::string file, caption;
};

std::vector<Picture> write_heatmaps(const std::string& dir, const std::string& rdir,
                                    const nlohmann::json& cfg, std::vector<int> iters,
                                    std::pair<int, int> tr, int iterations) {
  const int p = cfg.value("p", 0);
  const std::string task = cfg.value("task", "");
  const bool modular = task == "add" || task == "sub" || task == "mul" || task == "div";
  if (iters.empty()) iters = default_iters(available_iters(dir, iterations), tr);
  std::vector<Picture> out;
  for (int t : iters) {
    const std::string f = matrix_file(dir, t);
    RFM_CHECK(!f.empty(),
              "rfm report: M_%d of %s was not saved (rfm grok --save-every N or "
              "--keep-checkpoint keeps M_t)",
              t, dir.c_str());
    const std::string name = strfmt("M_%04d.png", t);
    write_heatmap_png(rdir + "/" + name, npy_load(f), 0, p);
    out.push_back({name, strfmt("M_%d, the feature matrix iteration %d fits with", t, t)});
  }
  const std::string fin = dir + "/M_final.npy";
  if (fs::exists(fin)) {
    const MatrixXd M = npy_load(fin);
    write_heatmap_png(rdir + "/M_final.png", M, 0, p);
    out.push_back({"M_final.png", "M_final (blocks of p rows and columns: inputs a and b)"});
    if (modular && M.rows() == 2 * p) {
      write_heatmap_png(rdir + "/M_final_block.png", task_block(M, p, op_from_string(task)));
      out.push_back({"M_final_block.png",
                     "bottom-left p x p block of M_final (a against b; "
                     "mul and div in discrete-log order): circulant when "
                     "grokked"});
    }
  }
  return out;
}

// --- The HTML page ------------------------------------------------------------------------------

std::string base64(const std::string& bytes) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 |
                       (unsigned char)bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += k[(v >> s) & 63];
  }
  if (i < bytes.size()) {
    unsigned v = (unsigned char)bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= (unsigned char)bytes[i + 1] << 8;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? k[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<')
      o += "&lt;";
    else if (c == '>')
      o += "&gt;";
    else if (c == '&')
      o += "&amp;";
    else
      o += c;
  }
  return o;
}

std::string value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "-";
  if (v.is_number_float()) return strfmt("%.6g", v.get<double>());
  return v.dump();
}

std::string json_table(const nlohmann::json& j) {
  std::string s = "<table>\n";
  for (const auto& [k, v] : j.items()) {
    if (v.is_object()) {
      std::string inner;
      for (const auto& [k2, v2] : v.items()) inner += k2 + " " + value_text(v2) + ", ";
      if (!inner.empty()) inner.resize(inner.size() - 2);
      s += "<tr><th>" + escape(k) + "</th><td>" + escape(inner) + "</td></tr>\n";
    } else {
      s += "<tr><th>" + escape(k) + "</th><td>" + escape(value_text(v)) + "</td></tr>\n";
    }
  }
  return s + "</table>\n";
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string figure(const std::string& rdir, const Picture& p) {
  return "<figure><img alt=\"" + escape(p.file) + "\" src=\"data:image/png;base64," +
         base64(file_bytes(rdir + "/" + p.file)) + "\"><figcaption>" + escape(p.caption) +
         "</figcaption></figure>\n";
}

std::string html_page(const std::string& dir, const std::string& rdir, const nlohmann::json& cfg,
                      const nlohmann::json& summary, const std::vector<Picture>& curves,
                      const std::vector<Picture>& maps, const std::string& problem) {
  std::string h =
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>rfm report: " + escape(dir) +
      "</title>\n<style>body{font-family:sans-serif;margin:2em;"
      "max-width:1900px}table{border-collapse:collapse;margin:0.5em 0 1.5em}"
      "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:90%}"
      "th{background:#f4f4f4}figure{display:inline-block;margin:0.5em;vertical-align:"
      "top}img{max-width:100%}figcaption{font-size:85%;color:#444;max-width:600px}"
      "</style></head><body>\n";
  h += "<h1>rfm report: " + escape(dir) + "</h1>\n";
  if (summary.contains("message"))
    h += "<p><b>" + escape(value_text(summary.value("termination", nlohmann::json()))) +
         "</b>: " + escape(summary["message"].get<std::string>()) + "</p>\n";
  if (!problem.empty()) h += "<p><b>note:</b> " + escape(problem) + "</p>\n";
  h += "<h2>Curves</h2>\n";
  for (const Picture& p : curves) h += figure(rdir, p);
  h += "<h2>Feature matrices</h2>\n";
  if (maps.empty()) h += "<p>no matrices saved</p>\n";
  for (const Picture& p : maps) h += figure(rdir, p);
  h += "<h2>Summary</h2>\n" + json_table(summary) + "<h2>Options</h2>\n" + json_table(cfg);
  return h + "</body></html>\n";
}

}  // namespace

std::string write_report(const std::string& dir, const ReportOptions& o) {
  RFM_CHECK(fs::is_directory(dir), "rfm report: %s is not a directory", dir.c_str());
  RFM_CHECK(o.width >= 200 && o.height >= 150, "--width %d and --height %d must be >= 200, 150",
            o.width, o.height);
  const Table t = read_metrics(dir + "/metrics.csv");
  const nlohmann::json cfg = read_json(dir + "/config.json");
  const nlohmann::json summary = read_json(dir + "/summary.json");
  const std::string rdir = dir + "/report";
  make_dirs(rdir);
  const std::pair<int, int> tr = transitions(summary);
  std::string problem;
  std::vector<Picture> curves;
  for (const Plot& p : write_curves(rdir, t, tr, o, problem))
    curves.push_back({p.file, p.title + (tr.first >= 0 ? " (dashed: the transition)" : "")});
  const std::vector<Picture> maps =
      write_heatmaps(dir, rdir, cfg, o.heatmap_iters, tr, int(t.rows()));
  const std::string html = dir + "/report.html";
  write_text_atomic(html, html_page(dir, rdir, cfg, summary, curves, maps, problem));
  if (!o.quiet) {
    for (const Picture& p : curves) std::printf("  %s/%s\n", rdir.c_str(), p.file.c_str());
    for (const Picture& p : maps) std::printf("  %s/%s\n", rdir.c_str(), p.file.c_str());
    std::printf("rfm report: %s\n", html.c_str());
    if (!problem.empty()) std::printf("rfm report: %s\n", problem.c_str());
  }
  return html;
}

static void setup_report(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto o = std::make_shared<ReportOptions>();
  CLI::App* sub = app.add_subcommand(
      "report", "Pictures (curves, heatmaps of M) and report.html for a run directory");
  sub->footer("Example:\n  rfm report runs/add61   writes runs/add61/report.html and its PNGs");
  sub->add_option("run_dir", *dir, "Run directory of rfm grok or rfm train")->required();
  sub->add_option("--iters", o->heatmap_iters,
                  "Iterations whose M_t to draw, e.g. 0,10,20 (default: the start and the "
                  "transition among the saved M_t)")
      ->delimiter(',');
  sub->add_option("--width", o->width, "Width of the curve pictures (pixels)")
      ->capture_default_str();
  sub->add_option("--height", o->height, "Height of the curve pictures (pixels)")
      ->capture_default_str();
  sub->callback([dir, o] { write_report(*dir, *o); });
}

RFM_COMMAND(report, setup_report);

}  // namespace rfm
