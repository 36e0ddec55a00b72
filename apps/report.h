// `rfm report`: pictures and one HTML page for a run directory (report.cpp). Shared with
// `rfm grok --report`, which calls write_report at the end of a run, and with `rfm particles`,
// which draws its picture through the same gnuplot helpers.
#pragma once

#include <string>
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
