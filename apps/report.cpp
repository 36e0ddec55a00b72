// `rfm report RUN_DIR`: pictures and one self-contained HTML page for a run directory of
// `rfm grok` or `rfm train` (issue 7). Every picture goes through gnuplot (pngcairo, svg or
// pdfcairo: --format) with generated scripts that hold the data inline (report/plots.gp for the
// curves, report/heatmaps.gp for the matrices, so a person can edit and re-run them). Without
// gnuplot the page shows the pixel heatmaps of rfm.h write_heatmap_png. report.html embeds
// PNG and SVG pictures as base64, so the one file can be mailed or archived on its own; PDF
// pictures (for slides) are linked.
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

double parse_cell(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end != s.c_str() && *end == '\0' ? v : kNaN;
}

}  // namespace

MetricsTable read_metrics(const std::string& path) {
  std::ifstream in(path);
  RFM_CHECK(in.good(), "rfm report: cannot read %s", path.c_str());
  MetricsTable t;
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

namespace {

using Table = MetricsTable;

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

// --- Naming the run ---------------------------------------------------------------------------

bool modular_task(const std::string& task) {
  return task == "add" || task == "sub" || task == "mul" || task == "div";
}

// "add mod 23", "group S4", "x^2+y^2 mod 11".
std::string task_text(const nlohmann::json& cfg) {
  const std::string task = cfg.value("task", "");
  if (task == "group") return "group " + cfg.value("group", "");
  return task + strfmt(" mod %d", cfg.value("p", 0));
}

// "RFM (gaussian kernel)", "transformer (cross-entropy)", "MLP (mse)".
std::string learner_text(const nlohmann::json& cfg) {
  if (cfg.value("command", "") == "train") {
    const std::string model = cfg.value("model", "");
    return (model == "mlp" ? "MLP" : model) + " (" +
           (cfg.value("loss", "") == "ce" ? "cross-entropy" : "mse") + ")";
  }
  const std::string kernel = cfg.value("kernel", "") + " kernel";
  return cfg.value("features", "") == "random-circulant" ? "random circulant features, " + kernel
                                                         : "RFM (" + kernel + ")";
}

// What every picture's title names: "add mod 23, frac 0.5, RFM (gaussian kernel)"; the run
// directory when config.json is missing.
std::string run_title(const nlohmann::json& cfg, const std::string& dir) {
  if (!cfg.contains("task")) return dir;
  return task_text(cfg) + strfmt(", frac %g, ", cfg.value("frac", 0.0)) + learner_text(cfg);
}

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The last non-empty line of a gnuplot log: its error message.
std::string last_line(const std::string& path) {
  std::ifstream in(path);
  std::string line, last = "no message";
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) last = line;
  return last.substr(last.find_first_not_of(" \t\r"), 200);
}

}  // namespace

// --- gnuplot helpers (report.h) ---------------------------------------------------------------

bool have_gnuplot() {
  return std::system("command -v gnuplot > /dev/null 2>&1") == 0;
}

std::string gnuplot_terminal(const std::string& format, int width, int height) {
  const char* font = "font 'DejaVu Sans,12'";
  if (format == "png")
    return strfmt("set terminal pngcairo size %d,%d noenhanced %s\n", width, height, font);
  if (format == "svg")
    return strfmt("set terminal svg size %d,%d dynamic noenhanced %s background '#ffffff'\n", width,
                  height, font);
  RFM_CHECK(format == "pdf", "--format %s is not one of png|svg|pdf", format.c_str());
  // pdfcairo sizes in inches: 150 pixels per inch keeps the text as large, relative to the
  // picture, as in the PNG.
  return strfmt("set terminal pdfcairo size %.2fin,%.2fin noenhanced font 'DejaVu Sans,7'\n",
                width / 150.0, height / 150.0);
}

std::string gnuplot_quote(const std::string& text) {
  std::string q = "'";
  for (char c : text) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

void run_gnuplot(const std::string& dir, const std::string& name, const std::string& script,
                 const std::vector<std::string>& outputs) {
  namespace fs = std::filesystem;
  write_text_atomic(dir + "/" + name, script);
  const std::string log = name.substr(0, name.rfind('.')) + ".log";
  const int rc = std::system(
      ("cd " + shell_quote(dir) + " && gnuplot " + shell_quote(name) + " > " + log + " 2>&1")
          .c_str());
  bool ok = rc == 0;
  for (const std::string& f : outputs) ok = ok && fs::exists(dir + "/" + f + ".tmp");
  if (!ok) {  // no half-written pictures left behind
    std::error_code ec;
    for (const std::string& f : outputs) fs::remove(dir + "/" + f + ".tmp", ec);
    RFM_CHECK(false, "gnuplot failed on %s/%s: %s (see %s/%s)", dir.c_str(), name.c_str(),
              last_line(dir + "/" + log).c_str(), dir.c_str(), log.c_str());
  }
  for (const std::string& f : outputs) fs::rename(dir + "/" + f + ".tmp", dir + "/" + f);
}

namespace {

// --- Curves through gnuplot ---------------------------------------------------------------------

struct Curve {
  std::string column, title;
};

// One panel of a picture: curves on the left axis, optional ones on the right.
struct Panel {
  std::string title, ylabel;
  bool log_y = false;
  std::string yrange;  // "[-0.02:1.02]", or "" for gnuplot's own
  std::vector<Curve> curves;
  std::vector<Curve> curves_y2;
  std::string y2label, y2range;
  std::vector<Curve> context;  // thin grey curves for comparison; never keep a panel alone
  int first_colour = 1;        // gnuplot line type of the first curve (test: 2, as in accuracy)
};

Panel make_panel(const std::string& title, const std::string& ylabel, bool log_y,
                 const std::string& yrange = "", std::vector<Curve> curves = {}) {
  Panel p;
  p.title = title;
  p.ylabel = ylabel;
  p.log_y = log_y;
  p.yrange = yrange;
  p.curves = std::move(curves);
  return p;
}

// A picture: panels side by side under one title.
struct Figure {
  std::string name, title;  // name: the file without its extension
  std::vector<Panel> panels;
};

std::string present(const Table& t, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (t.has(n)) return n;
  return "";
}

// The curves among `candidates` that metrics.csv has.
std::vector<Curve> columns(const Table& t, const std::vector<Curve>& candidates) {
  std::vector<Curve> out;
  for (const Curve& c : candidates)
    if (t.has(c.column)) out.push_back(c);
  return out;
}

Figure accuracy_figure(const Table& t) {
  Panel p = make_panel("", "accuracy (fraction correct)", false, "[-0.02:1.02]");
  p.curves = {{"train_acc", "train"},
              t.has("val_acc") ? Curve{"val_acc", "validation"} : Curve{"test_acc", "test"}};
  return {"accuracy", "Accuracy", {p}};
}

// Train and test loss on separate panels: an interpolating RFM's train MSE (1e-26) and its
// test MSE (1e-2) on one log axis leave both flat lines.
Figure loss_figure(const Table& t, const nlohmann::json& cfg) {
  const std::string trl = present(t, {"train_mse", "train_loss"});
  const std::string tel = present(t, {"test_mse", "test_loss", "val_mse"});
  const bool ce = trl == "train_loss" && cfg.value("loss", "") == "ce";
  const std::string what = ce ? "cross-entropy (nats)" : "mean squared error";
  Panel train = make_panel("training set", what, true, "", {{trl, "train"}});
  Panel test =
      make_panel(tel == "val_mse" ? "validation set" : "test set", what, true, "", {{tel, "test"}});
  test.first_colour = 2;
  return {"loss", ce ? "Loss" : "Mean squared error", {train, test}};
}

Figure progress_figure(const Table& t) {
  // Short curve names: two fit a row of the key above a panel half the picture wide.
  Panel circ = make_panel("circulant deviation (solid), alignment (dotted)",
                          "circulant deviation (log)", true);
  circ.curves = columns(t, {{"circ_dev", "M"},
                            {"circ_dev_rev", "M, reversed"},
                            {"nfm_circ_dev", "NFM"},
                            {"nfm_circ_dev_rev", "NFM, reversed"},
                            {"embed_gram_circ_dev", "W_E^T W_E"}});
  circ.curves_y2 = columns(t, {{"agop_align", "AGOP ~ M_final"},
                               {"agop_align_nodiag", "the same, no diagonal"},
                               {"nfm_agop_corr", "NFM ~ AGOP"},
                               {"nfm_agop_corr_nodiag", "the same, no diagonal"}});
  circ.y2label = "alignment (cosine)";
  circ.y2range = "[-0.02:1.02]";
  Panel norm = make_panel("weight norm", "||parameters||_2", false);
  norm.curves = columns(t, {{"weight_norm", "weight norm"}, {"w_norm", "weight norm"}});
  return {"progress", "Progress measures", {circ, norm}};
}

// [0:max + 1] for a small count, so that its line stays off the top border.
std::string count_range(const Table& t, const std::string& column) {
  double top = 0;
  if (t.has(column))
    for (double v : t.cols.at(column))
      if (std::isfinite(v)) top = std::max(top, v);
  return strfmt("[0:%g]", std::ceil(top) + 1);
}

// The Fourier progress measures of the transformer (Nanda et al.; docs/algorithms.md 5.5).
Figure fourier_figure(const Table& t) {
  Panel gini = make_panel("Fourier sparsity of W_E", "Gini coefficient", false, "[-0.02:1.02]");
  gini.curves = columns(t, {{"fourier_gini", "Gini"}});
  gini.curves_y2 = columns(t, {{"n_key_freqs", "key frequencies"}});
  gini.y2label = "key frequencies (count)";
  gini.y2range = count_range(t, "n_key_freqs");
  Panel loss =
      make_panel("logits on / without the key frequencies", "cross-entropy (nats, log)", true);
  loss.curves = columns(t, {{"restricted_loss", "restricted"}, {"excluded_loss", "excluded"}});
  loss.context = columns(t, {{"train_loss", "train"}, {"test_loss", "test"}});
  return {"fourier", "Fourier progress measures", {gini, loss}};
}

std::vector<Figure> choose_figures(const Table& t, const nlohmann::json& cfg) {
  return {accuracy_figure(t), loss_figure(t, cfg), progress_figure(t), fourier_figure(t)};
}

// True when the column holds a value gnuplot can draw: finite, and positive on a log axis.
// Measures undefined for a task (circ_dev of a polynomial or of a non-abelian group, the
// Fourier measures of a group) are NaN in every row.
bool drawable(const Table& t, const std::string& column, bool log_axis) {
  if (!t.has(column)) return false;
  for (double v : t.cols.at(column))
    if (std::isfinite(v) && (!log_axis || v > 0)) return true;
  return false;
}

// Drops the curves without a drawable value, the panels left without a curve and the figures
// left without a panel; says which measures were left out, in `note`.
std::vector<Figure> drawable_figures(const Table& t, std::vector<Figure> figures,
                                     std::string& note) {
  std::vector<std::string> dropped;
  auto prune = [&](std::vector<Curve>& curves, bool log_axis) {
    auto gone = [&](const Curve& c) {
      const bool keep = drawable(t, c.column, log_axis);
      if (!keep && t.has(c.column) &&
          std::find(dropped.begin(), dropped.end(), c.column) == dropped.end())
        dropped.push_back(c.column);
      return !keep;
    };
    curves.erase(std::remove_if(curves.begin(), curves.end(), gone), curves.end());
  };
  std::vector<Figure> kept;
  for (Figure& f : figures) {
    std::vector<Panel> panels;
    for (Panel& p : f.panels) {
      prune(p.curves, p.log_y);
      prune(p.curves_y2, false);
      prune(p.context, p.log_y);
      if (!p.curves.empty() || !p.curves_y2.empty()) panels.push_back(p);
    }
    f.panels = panels;
    if (!f.panels.empty()) kept.push_back(f);
  }
  if (!dropped.empty()) {
    std::string names;
    for (const std::string& d : dropped) names += (names.empty() ? "" : ", ") + d;
    note = names + ": undefined for this run (no finite value), left out of the curves";
  }
  return kept;
}

// The data block: one row per iteration, "?" for a missing value (set datafile missing).
std::string data_block(const Table& t) {
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

// Dashed vertical lines at the iterations where test accuracy first reaches 0.5 and 0.99.
std::string transition_marks(std::pair<int, int> tr) {
  std::string s;
  const std::pair<int, const char*> marks[] = {{tr.first, "test acc >= 0.5"},
                                               {tr.second, "test acc >= 0.99"}};
  for (int k = 0; k < 2; ++k)
    if (marks[k].first >= 0)
      s += strfmt(
          "set arrow from %d, graph 0 to %d, graph 1 nohead dt 2 lw 1.5 lc rgb '#555555'\n"
          "set label '%s (%d)' at %d, graph %g left offset 0.5, 0 font ',10'\n",
          marks[k].first, marks[k].first, marks[k].second, marks[k].first, marks[k].first,
          0.93 - 0.07 * k);
  return s;
}

// Every setting one panel makes, reset first so the panels of a script stay independent.
size_t curve_count(const Panel& p) {
  return p.curves.size() + p.curves_y2.size() + p.context.size();
}

// The top margin (character heights) of every panel of a figure: room for the title and the
// largest key, the same for all so that the panels line up.
int top_margin(const Figure& f) {
  size_t n = 0;
  for (const Panel& p : f.panels) n = std::max(n, curve_count(p) > 1 ? curve_count(p) : 0);
  const size_t per_row = f.panels.size() > 1 ? 1 : 2;  // a narrow panel's key: one column
  return 3 + int((n + per_row - 1) / per_row);
}

std::string panel_settings(const Panel& p, const std::string& xlabel) {
  std::string s =
      "unset arrow\nunset label\nunset y2tics\nunset logscale\nset y2label ''\n"
      "set ytics mirror\nset autoscale y\nset autoscale y2\n";
  s += "set title " + gnuplot_quote(p.title) + "\nset xlabel " + gnuplot_quote(xlabel) +
       "\nset ylabel " + gnuplot_quote(p.ylabel) + "\n";
  s += p.log_y ? "set logscale y\nset format y '%.0e'\n" : "set format y '%g'\n";
  if (!p.yrange.empty()) s += "set yrange " + p.yrange + "\n";
  s += curve_count(p) > 1 ? "set key outside top center horizontal maxcols 2 font ',10'\n"
                          : "unset key\n";
  if (!p.curves_y2.empty())
    s += "set y2tics\nset ytics nomirror\nset y2label " + gnuplot_quote(p.y2label) + "\n" +
         (p.y2range.empty() ? "" : "set y2range " + p.y2range + "\n");
  return s;
}

std::string panel_plot(const Table& t, const std::string& x, const Panel& p) {
  std::vector<std::string> parts;
  const int xi = column_index(t, x);
  int lt = p.first_colour;
  for (const Curve& c : p.curves)
    parts.push_back(strfmt("$data using %d:%d with linespoints lt %d pt 7 ps 0.5 lw 2 title %s", xi,
                           column_index(t, c.column), lt++, gnuplot_quote(c.title).c_str()));
  for (const Curve& c : p.curves_y2)
    parts.push_back(strfmt("$data using %d:%d axes x1y2 with lines lt %d lw 2 dt 3 title %s", xi,
                           column_index(t, c.column), lt++, gnuplot_quote(c.title).c_str()));
  for (size_t k = 0; k < p.context.size(); ++k)
    parts.push_back(strfmt("$data using %d:%d with lines lw 1.5 lc rgb '#999999' dt %d title %s",
                           xi, column_index(t, p.context[k].column), int(k % 2) + 1,
                           gnuplot_quote(p.context[k].title).c_str()));
  std::string s = "plot ";
  for (size_t i = 0; i < parts.size(); ++i) s += (i ? ", \\\n     " : "") + parts[i];
  return s + "\n";
}

std::string figure_commands(const Table& t, const std::string& x, const Figure& f,
                            const std::string& file, const std::string& run,
                            std::pair<int, int> tr) {
  const std::string xlabel = x == "iter" ? "iteration" : "epoch";
  std::string s = "\n# " + f.title + "\nset output " + gnuplot_quote(file + ".tmp") + "\n";
  s += strfmt("set multiplot layout 1,%d title %s font ',13'\n", int(f.panels.size()),
              gnuplot_quote(f.title + ": " + run).c_str());
  s += strfmt("set tmargin %d\n", top_margin(f));
  for (const Panel& p : f.panels)
    s += panel_settings(p, xlabel) + transition_marks(tr) + panel_plot(t, x, p);
  return s + "unset multiplot\nset output\nunset tmargin\n";
}

struct Picture {
  std::string file, caption;
};

// Writes report/plots.gp and runs it; returns the pictures made (none without gnuplot).
std::vector<Picture> write_curves(const std::string& rdir, const Table& t,
                                  const nlohmann::json& cfg, const std::string& run,
                                  std::pair<int, int> tr, const ReportOptions& o,
                                  std::string& problem) {
  const std::string x = t.has("iter") ? "iter" : "epoch";
  RFM_CHECK(t.has(x), "rfm report: metrics.csv has neither an iter nor an epoch column");
  const std::vector<Figure> figures = drawable_figures(t, choose_figures(t, cfg), problem);
  std::string script = "# rfm report: curves of metrics.csv (run: gnuplot plots.gp)\n";
  script += gnuplot_terminal(o.format, o.width, o.height);
  script += "set datafile missing '?'\nset border lw 1.2\nset grid\n" + data_block(t);
  std::vector<Picture> out;
  std::vector<std::string> files;
  for (const Figure& f : figures) {
    files.push_back(f.name + "." + o.format);
    script += figure_commands(t, x, f, files.back(), run, tr);
    out.push_back({files.back(), f.title + (tr.first >= 0 ? " (dashed: the transition)" : "")});
  }
  if (!have_gnuplot()) {
    write_text_atomic(rdir + "/plots.gp", script);
    problem += std::string(problem.empty() ? "" : "; ") +
               "gnuplot is not installed (scripts/setup.sh installs gnuplot-nox): no curves";
    return {};
  }
  run_gnuplot(rdir, "plots.gp", script, files);
  return out;
}

// --- Heatmaps of feature matrices through gnuplot ----------------------------------------------

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

// A matrix of the run directory to draw. Matrices of one family share one colour scale.
struct MatrixSource {
  std::string name, label, family;  // name: "M_0006"; label: the picture's subject
  int slots = 2;                    // operand slots along each axis: 2 for M (d = 2q), 1 for a Gram
  MatrixXd M;
};

std::vector<MatrixSource> matrix_sources(const std::string& dir, std::vector<int> iters,
                                         std::pair<int, int> tr, int iterations) {
  if (iters.empty()) iters = default_iters(available_iters(dir, iterations), tr);
  std::vector<MatrixSource> out;
  for (int t : iters) {
    const std::string f = matrix_file(dir, t);
    RFM_CHECK(!f.empty(),
              "rfm report: M_%d of %s was not saved (rfm grok --save-every N or "
              "--keep-checkpoint keeps M_t)",
              t, dir.c_str());
    out.push_back({strfmt("M_%04d", t), strfmt("M_%d (iteration %d)", t, t), "M", 2, npy_load(f)});
  }
  const struct {
    const char *name, *label, *family;
    int slots;
  } finals[] = {{"M_final", "M_final (the last update)", "M", 2},
                {"EmbedGram_final", "W_E^T W_E, Gram matrix of the token embeddings", "G", 1},
                {"NFM_final", "NFM W_1^T W_1 (neural feature matrix)", "NFM", 2},
                {"AGOP_final", "AGOP of the network", "AGOP", 2}};
  for (const auto& f : finals) {
    const std::string path = dir + "/" + f.name + ".npy";
    if (fs::exists(path)) out.push_back({f.name, f.label, f.family, f.slots, npy_load(path)});
  }
  return out;
}

// How one slot's symbols are laid out along an axis: for mul and div residue 0 first, then
// Z_p^* in discrete-log order (block_layout's analysis order, as rfm inspect --png draws M), so
// that a grokked block is circulant; else 0..q-1.
struct SlotOrder {
  int q = 0;
  std::vector<int> order;  // position -> symbol, all q symbols
  std::vector<int> block;  // position -> symbol in the off-diagonal block (mul, div: no 0)
  std::string unit;        // the axis label's unit
};

SlotOrder slot_order(const nlohmann::json& cfg, int q) {
  SlotOrder s;
  s.q = q;
  const std::string task = cfg.value("task", "");
  const int p = cfg.value("p", 0);
  if (modular_task(task) && q == p) {
    const BlockLayout L = block_layout(dihedral_group(op_from_string(task), p));
    for (int u = 0; u < q; ++u)
      if (std::find(L.symbols.begin(), L.symbols.end(), u) == L.symbols.end()) s.order.push_back(u);
    s.order.insert(s.order.end(), L.symbols.begin(), L.symbols.end());
    s.block = L.symbols;
    s.unit = task == "mul" || task == "div"
                 ? strfmt("residue, discrete-log order, g = %d", primitive_root(p))
                 : "residue";
    return s;
  }
  for (int u = 0; u < q; ++u) s.order.push_back(u);
  s.block = s.order;
  s.unit = q == p ? "residue" : "symbol index";
  return s;
}

// Rows (and columns) of M in drawing order: each slot in slot order.
std::vector<int> positions(const SlotOrder& s, int slots) {
  std::vector<int> pos;
  for (int k = 0; k < slots; ++k)
    for (int u : s.order) pos.push_back(k * s.q + u);
  return pos;
}

MatrixXd permuted(const MatrixXd& M, const std::vector<int>& pos) {
  const int n = int(pos.size());
  MatrixXd P(n, n);
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < n; ++i) P(i, j) = M(pos[i], pos[j]);
  return P;
}

// The block of M with rows b and columns a (task_block's bottom-left block, in slot order).
MatrixXd off_block(const MatrixXd& M, const SlotOrder& s) {
  const int m = int(s.block.size());
  MatrixXd B(m, m);
  for (int c = 0; c < m; ++c)
    for (int r = 0; r < m; ++r) B(r, c) = M(s.q + s.block[r], s.block[c]);
  return B;
}

double max_off_diagonal(const MatrixXd& A) {
  MatrixXd off = A;
  off.diagonal().setZero();
  return off.cwiseAbs().maxCoeff();
}

// The slot layout of a source: two slots when its side is 2q (q = p for tasks mod p), else
// one slot of all its rows.
SlotOrder source_order(const nlohmann::json& cfg, const MatrixSource& s) {
  const int n = int(s.M.rows());
  const int slots = s.slots == 2 && n % 2 == 0 ? 2 : 1;
  return slot_order(cfg, n / slots);
}

bool two_slots(const MatrixSource& s, const SlotOrder& o) {
  return o.q * 2 == s.M.rows();
}

// One colour scale per family, over every matrix drawn: the full matrix clipped at the
// largest entry off the diagonal (a normalised M's diagonal would swamp the structure), and
// the off-diagonal block at its own largest entry.
struct Scale {
  double full = 0, block = 0;
};

std::map<std::string, Scale> shared_scales(const std::vector<MatrixSource>& sources,
                                           const nlohmann::json& cfg) {
  std::map<std::string, Scale> scales;
  for (const MatrixSource& s : sources) {
    RFM_CHECK(s.M.rows() == s.M.cols() && s.M.size() > 0, "rfm report: %s.npy is %dx%d, not square",
              s.name.c_str(), int(s.M.rows()), int(s.M.cols()));
    Scale& sc = scales[s.family];
    sc.full = std::max(sc.full, max_off_diagonal(s.M));
    const SlotOrder o = source_order(cfg, s);
    if (two_slots(s, o)) sc.block = std::max(sc.block, off_block(s.M, o).cwiseAbs().maxCoeff());
  }
  for (auto& [family, sc] : scales) {  // an all-diagonal M_0 = I alone: no zero-width scale
    if (!(sc.full > 0)) sc.full = 1;
    if (!(sc.block > 0)) sc.block = sc.full;
  }
  return scales;
}

struct MapPanel {
  std::string title, xlabel, ylabel;
  std::string tag;  // names the shared scale in the script (a comment after set cbrange)
  MatrixXd A;
  std::vector<int> labels;  // the symbol at each position (both axes)
  int slot = 0;             // positions per slot: a line between the slots (0: none)
  double range = 1;
  std::string cblabel;  // what the colour bar says beyond its numbers
};

// About six labelled tics per slot, each naming the symbol at its position.
std::string tics(const std::vector<int>& labels, int slot) {
  const int m = slot > 0 ? slot : int(labels.size());
  const int step = std::max(1, (m + 5) / 6);
  std::string s = "(";
  for (int i = 0; i < int(labels.size()); ++i)
    if ((i % m) % step == 0) s += strfmt("%s\"%d\" %d", s.size() > 1 ? ", " : "", labels[i], i);
  return s + ")";
}

std::string matrix_block(const std::string& name, const MatrixXd& A) {
  std::string s = name + " << EOD\n";
  for (int i = 0; i < A.rows(); ++i) {
    for (int j = 0; j < A.cols(); ++j) s += strfmt(j ? " %.6g" : "%.6g", A(i, j));
    s += "\n";
  }
  return s + "EOD\n";
}

std::string map_panel(const MapPanel& p, const std::string& data) {
  const double n = double(p.A.rows());
  std::string s = "unset arrow\nset title " + gnuplot_quote(p.title) + "\nset xlabel " +
                  gnuplot_quote(p.xlabel) + "\nset ylabel " + gnuplot_quote(p.ylabel) + "\n";
  s += strfmt("set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n", n - 0.5, n - 0.5);
  s += "set xtics " + tics(p.labels, p.slot) + "\nset ytics " + tics(p.labels, p.slot) + "\n";
  s += strfmt("set cbrange [%.6g:%.6g]  # %s\n", -p.range, p.range, p.tag.c_str());
  s += "set cblabel " + gnuplot_quote(p.cblabel) + "\n";
  if (p.slot > 0 && p.slot < n)
    s += strfmt(
        "set arrow from %g, graph 0 to %g, graph 1 nohead front lc rgb '#333333'\n"
        "set arrow from graph 0, first %g to graph 1, first %g nohead front lc rgb '#333333'\n",
        p.slot - 0.5, p.slot - 0.5, p.slot - 0.5, p.slot - 0.5);
  return s + "plot " + data + " matrix with image notitle\n";
}

// The panels of one matrix: the whole matrix in slot order, diagonal clipped, and beside it
// the off-diagonal block (rows b, columns a) on its own scale.
std::vector<MapPanel> source_panels(const MatrixSource& s, const nlohmann::json& cfg,
                                    const Scale& sc) {
  const SlotOrder o = source_order(cfg, s);
  const bool two = two_slots(s, o);
  const std::vector<int> pos = positions(o, two ? 2 : 1);
  std::vector<int> labels;
  for (int i : pos) labels.push_back(i % o.q);
  const std::string unit = two ? "a  |  b  (" + o.unit + ")" : o.unit;
  const MapPanel full{two ? "the whole matrix, slots a and b" : "",
                      unit,
                      unit,
                      s.family + " full, shared",
                      permuted(s.M, pos),
                      labels,
                      two ? o.q : 0,
                      sc.full,
                      strfmt("diagonal clipped at \u00b1%.3g", sc.full)};
  if (!two) return {full};
  const MapPanel block{"block (b, a): rows b, columns a",
                       "a (" + o.unit + ")",
                       "b (" + o.unit + ")",
                       s.family + " block, shared",
                       off_block(s.M, o),
                       o.block,
                       0,
                       sc.block,
                       ""};
  return {full, block};
}

std::string map_settings(const std::string& format, int panels) {
  std::string s = gnuplot_terminal(format, panels > 1 ? 1240 : 700, 600);
  s += "set encoding utf8\nset palette defined (-1 '#2166ab', 0 '#ffffff', 1 '#b2182b')\n"
       "set size square\nunset key\nset tics out nomirror scale 0.6 font ',10'\n"
       "set format cb '%.2g'\nset cbtics font ',11'\nset colorbox\n";
  return s;
}

// Writes report/heatmaps.gp (the matrices inline) and runs it; returns the pictures.
std::vector<Picture> write_map_figures(const std::string& rdir,
                                       const std::vector<MatrixSource>& sources,
                                       const nlohmann::json& cfg, const std::string& run,
                                       const std::string& format) {
  const std::map<std::string, Scale> scales = shared_scales(sources, cfg);
  std::string script = "# rfm report: heatmaps of the run's matrices (run: gnuplot heatmaps.gp)\n";
  std::vector<Picture> out;
  std::vector<std::string> files;
  int blocks = 0;
  for (const MatrixSource& s : sources) {
    const std::vector<MapPanel> panels = source_panels(s, cfg, scales.at(s.family));
    files.push_back("heatmap_" + s.name + "." + format);
    script += "\n# " + s.name + "\n" + map_settings(format, int(panels.size()));
    std::vector<std::string> data;
    for (const MapPanel& p : panels) {
      data.push_back(strfmt("$map%d", blocks++));
      script += matrix_block(data.back(), p.A);
    }
    script += "set output " + gnuplot_quote(files.back() + ".tmp") + "\n";
    const bool one = panels.size() == 1;  // one narrow panel: the run above, the label on it
    script += strfmt("set multiplot layout 1,%d title %s font ',13'\n", int(panels.size()),
                     gnuplot_quote(one ? run : run + ": " + s.label).c_str());
    for (size_t k = 0; k < panels.size(); ++k) {
      MapPanel p = panels[k];
      if (one) p.title = s.label;
      script += map_panel(p, data[k]);
    }
    script += "unset multiplot\nset output\n";
    out.push_back(
        {files.back(), s.label + (panels.size() > 1 ? "; left: the whole matrix, right: the "
                                                      "off-diagonal block (a against b)"
                                                    : "")});
  }
  run_gnuplot(rdir, "heatmaps.gp", script, files);
  return out;
}

// The pixel heatmaps of write_heatmap_png (one block of pixels per entry, no axes): the
// pictures without gnuplot, and kept beside the PNG figures.
std::vector<Picture> write_pixel_maps(const std::string& rdir,
                                      const std::vector<MatrixSource>& sources,
                                      const nlohmann::json& cfg) {
  const int p = cfg.value("p", 0);
  std::vector<Picture> out;
  for (const MatrixSource& s : sources) {
    const bool m = s.family == "M";
    write_heatmap_png(rdir + "/" + s.name + ".png", s.M, m ? 0 : max_off_diagonal(s.M), m ? p : 0);
    out.push_back({s.name + ".png", s.label});
    const std::string task = cfg.value("task", "");
    if (s.name == "M_final" && modular_task(task) && s.M.rows() == 2 * p) {
      write_heatmap_png(rdir + "/M_final_block.png", task_block(s.M, p, op_from_string(task)));
      out.push_back({"M_final_block.png",
                     "bottom-left p x p block of M_final (a against b; mul and div in "
                     "discrete-log order): circulant when grokked"});
    }
  }
  return out;
}

struct Maps {
  std::vector<Picture> figures, pixels;
};

Maps write_heatmaps(const std::string& dir, const std::string& rdir, const nlohmann::json& cfg,
                    const std::string& run, const ReportOptions& o, std::pair<int, int> tr,
                    int iterations) {
  const std::vector<MatrixSource> sources = matrix_sources(dir, o.heatmap_iters, tr, iterations);
  Maps maps;
  if (sources.empty()) return maps;
  const bool gnuplot = have_gnuplot();
  if (gnuplot) maps.figures = write_map_figures(rdir, sources, cfg, run, o.format);
  if (!gnuplot || o.format == "png") maps.pixels = write_pixel_maps(rdir, sources, cfg);
  return maps;
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
  return html_escape(s);
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
  const std::string ext = p.file.substr(p.file.rfind('.') + 1);
  std::string body;
  if (ext == "pdf")  // browsers embed PDF unreliably: link the file
    body = "<p><a href=\"report/" + escape(p.file) + "\">" + escape(p.file) + "</a> (PDF)</p>";
  else
    body = "<img alt=\"" + escape(p.file) + "\" src=\"data:image/" +
           (ext == "svg" ? "svg+xml" : "png") + ";base64," +
           base64(file_bytes(rdir + "/" + p.file)) + "\">";
  return "<figure>" + body + "<figcaption>" + escape(p.caption) + "</figcaption></figure>\n";
}

std::string grid(const std::string& rdir, const std::vector<Picture>& pictures) {
  std::string s = "<div class=\"grid\">\n";
  for (const Picture& p : pictures) s += figure(rdir, p);
  return s + "</div>\n";
}

const char* const kStyle =
    "<style>body{font-family:sans-serif;margin:2em;max-width:2000px}"
    ".grid{display:grid;grid-template-columns:1fr;gap:1.5em}"
    "@media (min-width:1100px){.grid{grid-template-columns:1fr 1fr}}"
    "figure{margin:0}img{width:100%;height:auto}figcaption{font-size:85%;color:#444}"
    "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:90%}"
    "th{background:#f4f4f4}.dir{color:#666}</style>";

struct Page {
  std::string dir, run, problem;
  nlohmann::json cfg, summary;
  std::vector<Picture> curves;
  Maps maps;
};

// The matrices: the gnuplot figures, else the pixel heatmaps; links to the pixel ones beside.
std::string maps_section(const std::string& rdir, const Maps& m) {
  std::string h = "<h2>Feature matrices and embeddings</h2>\n";
  if (m.figures.empty() && m.pixels.empty()) return h + "<p>no matrices saved</p>\n";
  if (m.figures.empty()) return h + grid(rdir, m.pixels);
  h += grid(rdir, m.figures);
  if (m.pixels.empty()) return h;
  h += "<p>Pixel heatmaps (one block of pixels per entry, rfm's own colour scale): ";
  for (size_t i = 0; i < m.pixels.size(); ++i)
    h += std::string(i ? ", " : "") + "<a href=\"report/" + escape(m.pixels[i].file) + "\">" +
         escape(m.pixels[i].file) + "</a>";
  return h + "</p>\n";
}

std::string html_page(const std::string& rdir, const Page& pg) {
  std::string h = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + escape(pg.run) +
                  " - rfm report</title>\n" + kStyle + "</head><body>\n";
  h += "<h1>" + escape(pg.run) + "</h1>\n<p class=\"dir\">rfm report of " + escape(pg.dir) +
       "</p>\n";
  if (pg.summary.contains("message"))
    h += "<p><b>" + escape(value_text(pg.summary.value("termination", nlohmann::json()))) +
         "</b>: " + escape(pg.summary["message"].get<std::string>()) + "</p>\n";
  if (!pg.problem.empty()) h += "<p><b>note:</b> " + escape(pg.problem) + "</p>\n";
  h += "<h2>Curves</h2>\n" + grid(rdir, pg.curves) + maps_section(rdir, pg.maps);
  h += "<h2>Summary</h2>\n" + json_table(pg.summary) + "<h2>Options</h2>\n" + json_table(pg.cfg);
  return h + "</body></html>\n";
}

// embed2d runs draw their embedding themselves (DIR/embedding.png): shown as it is.
void add_embedding_picture(const std::string& dir, const std::string& rdir, Maps& maps) {
  if (!fs::exists(dir + "/embedding.png")) return;
  fs::copy_file(dir + "/embedding.png", rdir + "/embedding.png",
                fs::copy_options::overwrite_existing);
  auto& list = maps.figures.empty() && !have_gnuplot() ? maps.pixels : maps.figures;
  list.push_back({"embedding.png", "the 2-D embedding e_a (rfm train's picture)"});
}

}  // namespace

std::string html_escape(const std::string& s) {
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

std::string html_grid(const std::string& rdir,
                      const std::vector<std::pair<std::string, std::string>>& pictures) {
  std::vector<Picture> list;
  for (const auto& [file, caption] : pictures) list.push_back({file, caption});
  return grid(rdir, list);
}

std::string html_document(const std::string& title, const std::string& subtitle,
                          const std::string& body) {
  return "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
         " - rfm report</title>\n" + kStyle + "</head><body>\n<h1>" + html_escape(title) +
         "</h1>\n<p class=\"dir\">" + html_escape(subtitle) + "</p>\n" + body + "</body></html>\n";
}

std::string write_report(const std::string& dir, const ReportOptions& o) {
  RFM_CHECK(fs::is_directory(dir), "rfm report: %s is not a directory", dir.c_str());
  if (is_sweep_dir(dir)) return write_sweep_report(dir, o);
  RFM_CHECK(o.width >= 200 && o.height >= 150, "--width %d and --height %d must be >= 200, 150",
            o.width, o.height);
  gnuplot_terminal(o.format, o.width, o.height);  // checks the format before any work
  Page pg;
  pg.dir = dir;
  const Table t = read_metrics(dir + "/metrics.csv");
  pg.cfg = read_json(dir + "/config.json");
  pg.summary = read_json(dir + "/summary.json");
  pg.run = run_title(pg.cfg, dir);
  const std::string rdir = dir + "/report";
  make_dirs(rdir);
  const std::pair<int, int> tr = transitions(pg.summary);
  pg.curves = write_curves(rdir, t, pg.cfg, pg.run, tr, o, pg.problem);
  pg.maps = write_heatmaps(dir, rdir, pg.cfg, pg.run, o, tr, int(t.rows()));
  add_embedding_picture(dir, rdir, pg.maps);
  const std::string html = dir + "/report.html";
  write_text_atomic(html, html_page(rdir, pg));
  if (!o.quiet) {
    for (const auto* list : {&pg.curves, &pg.maps.figures, &pg.maps.pixels})
      for (const Picture& p : *list) std::printf("  %s/%s\n", rdir.c_str(), p.file.c_str());
    std::printf("rfm report: %s\n", html.c_str());
    if (!pg.problem.empty()) std::printf("rfm report: %s\n", pg.problem.c_str());
  }
  return html;
}

static void setup_report(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  auto o = std::make_shared<ReportOptions>();
  CLI::App* sub = app.add_subcommand(
      "report", "Pictures (curves, heatmaps of M) and report.html for a run directory");
  sub->footer(
      "Example:\n  rfm report runs/add61   writes runs/add61/report.html and its pictures\n"
      "  rfm report runs/add61 --format pdf   PDF pictures for slides (the page links them)\n"
      "  rfm report runs/sweep-frac31   every run's curves, mean and range over seeds, phase");
  sub->add_option("run_dir", *dir,
                  "Run directory of rfm grok or rfm train, or a sweep directory of rfm sweep")
      ->required();
  sub->add_option("--iters", o->heatmap_iters,
                  "Iterations whose M_t to draw, e.g. 0,10,20 (default: the start and the "
                  "transition among the saved M_t)")
      ->delimiter(',');
  sub->add_option("--width", o->width, "Width of the curve pictures (pixels)")
      ->capture_default_str();
  sub->add_option("--height", o->height, "Height of the curve pictures (pixels)")
      ->capture_default_str();
  add_choice_option(*sub, "--format", o->format, {"png", "svg", "pdf"},
                    "Picture format (report.html embeds png and svg, links pdf)");
  sub->callback([dir, o] { write_report(*dir, *o); });
}

RFM_COMMAND(report, setup_report);

}  // namespace rfm
