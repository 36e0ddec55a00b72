// `rfm report`: pictures and one HTML page for a run directory (report.cpp). Shared with
// `rfm grok --report`, which calls write_report at the end of a run, and with `rfm particles`,
// which draws its picture through the same gnuplot helpers.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rfm {

struct ReportOptions {
  /// Iterations whose M_t to draw as heatmaps (empty: the start, the transition and the end,
  /// among the matrices the run directory holds).
  std::vector<int> heatmap_iters;
  /// Size of each curve picture in pixels.
  int width = 900, height = 540;
  /// Picture format: png, svg or pdf (gnuplot's pngcairo, svg and pdfcairo terminals).
  std::string format = "png";
  /// Print the files written.
  bool quiet = false;
};

// Writes DIR/report/*.<format> and DIR/report.html; returns the path of report.html. The
// pictures need gnuplot on the PATH; without it the page says so and shows the pixel heatmaps
// of rfm.h write_heatmap_png only.
std::string write_report(const std::string& run_dir, const ReportOptions& options);

// rfm report SWEEP_DIR (sweep_report.cpp): a directory of rfm sweep (sweep.json, no
// config.json) gets every run's test accuracy overlaid, the mean and range over seeds per grid
// point and the phase diagrams on one page, SWEEP_DIR/report.html.
bool is_sweep_dir(const std::string& dir);
std::string write_sweep_report(const std::string& dir, const ReportOptions& options);

// metrics.csv by column; "nan" and empty cells become NaN, text cells (solver) are skipped.
struct MetricsTable {
  std::vector<std::string> names;
  std::map<std::string, std::vector<double>> cols;
  bool has(const std::string& c) const { return cols.count(c) > 0; }
  size_t rows() const { return cols.empty() ? 0 : cols.begin()->second.size(); }
};
MetricsTable read_metrics(const std::string& path);

// --- The HTML page (report.cpp) --------------------------------------------------------------

std::string html_escape(const std::string& text);
// Pictures (file in rdir, caption) embedded (png, svg) or linked (pdf) in a two-column grid.
std::string html_grid(const std::string& rdir,
                      const std::vector<std::pair<std::string, std::string>>& pictures);
// A whole page in the report's style: title, a grey subtitle, then body.
std::string html_document(const std::string& title, const std::string& subtitle,
                          const std::string& body);

// --- gnuplot helpers (report.cpp), also used by rfm particles -------------------------------

bool have_gnuplot();
// "set terminal ..." for a picture of width x height pixels (pdf: at 150 pixels per inch)
// in `format` (png, svg or pdf); throws InputError for another format.
std::string gnuplot_terminal(const std::string& format, int width, int height);
// A text as a single-quoted gnuplot string ('' inside).
std::string gnuplot_quote(const std::string& text);
// Writes `script` to DIR/NAME and runs gnuplot on it in DIR. The script writes each of
// `outputs` as OUTPUT.tmp; they are renamed into place when gnuplot succeeds, and removed when
// it fails, which throws InputError with one line (the log is DIR/NAME with .log).
void run_gnuplot(const std::string& dir, const std::string& name, const std::string& script,
                 const std::vector<std::string>& outputs);

}  // namespace rfm
