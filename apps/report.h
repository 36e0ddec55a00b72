// `rfm report`: pictures and one HTML page for a run directory (report.cpp). Shared with
// `rfm grok --report`, which calls write_report at the end of a run.
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
  /// Print the files written.
  bool quiet = false;
};

// Writes DIR/report/*.png and DIR/report.html; returns the path of report.html. Curves need
// gnuplot on the PATH; without it the page says so and shows the heatmaps only.
std::string write_report(const std::string& run_dir, const ReportOptions& options);

}  // namespace rfm
