// Figures of `rfm report` and `rfm particles` (apps/report.cpp): every --format writes files
// that decode, the heatmaps of one run share one colour range computed from its matrices, a
// transformer's report shows its Fourier measures and embedding Gram matrix, an all-NaN measure
// is left out with a note, and bad formats or a failing gnuplot give one line and no .tmp
// files. Tiny p and few iterations keep it fast.
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "data/data.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace rfm;
using rfm::test::run_cli;
using rfm::test::run_shell;

namespace {

fs::path fig_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("rfm_test_figs_" + std::to_string(getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir.parent_path());
  return dir;
}

std::string file_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool gnuplot_missing() {
  if (std::system("command -v gnuplot > /dev/null 2>&1") == 0) return false;
  MESSAGE("gnuplot is not installed (scripts/setup.sh installs it): figures not checked");
  return true;
}

int exit_code(const rfm::test::CliResult& r) {
  return WIFEXITED(r.status) ? WEXITSTATUS(r.status) : -1;
}

// Width and height from a PNG's signature and IHDR chunk; {0, 0} when it is not a PNG.
std::pair<int, int> png_dims(const fs::path& p) {
  const std::string b = file_text(p);
  if (b.size() < 24 || b.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0) return {0, 0};
  auto be32 = [&](size_t at) {
    return int((unsigned char)b[at] << 24 | (unsigned char)b[at + 1] << 16 |
               (unsigned char)b[at + 2] << 8 | (unsigned char)b[at + 3]);
  };
  return {be32(16), be32(20)};
}

// True when the file starts as a picture of `format` must.
bool decodable(const fs::path& p, const std::string& format) {
  const std::string b = file_text(p);
  if (format == "png") return png_dims(p).first > 0 && png_dims(p).second > 0;
  if (format == "svg") return b.rfind("<svg", 0) == 0 || b.rfind("<?xml", 0) == 0;
  return b.rfind("%PDF", 0) == 0 && b.size() > 1000;
}

bool no_tmp_files(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".tmp") return false;
  return true;
}

// The ranges of the `set cbrange [-c:c]  # TAG` lines of a heatmap script.
std::vector<double> cbranges(const std::string& script, const std::string& tag) {
  std::vector<double> out;
  const std::regex line("set cbrange \\[-?([0-9.eE+-]+):([0-9.eE+-]+)\\]  # " + tag);
  for (std::sregex_iterator it(script.begin(), script.end(), line), end; it != end; ++it)
    out.push_back(std::stod((*it)[2]));
  return out;
}

double max_off_diagonal(MatrixXd M) {
  M.diagonal().setZero();
  return M.cwiseAbs().maxCoeff();
}

// A copy of run directory `from` with the named metrics.csv columns set to nan in every row.
fs::path with_nan_columns(const fs::path& from, const fs::path& to,
                          const std::vector<std::string>& names) {
  fs::copy(from, to, fs::copy_options::recursive);
  fs::remove_all(to / "report");
  const auto rows = rfm::test::read_csv((from / "metrics.csv").string());
  std::ofstream out(to / "metrics.csv");
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < rows[r].size(); ++c) {
      const bool blank = r > 0 && std::find(names.begin(), names.end(), rows[0][c]) != names.end();
      out << (blank ? "nan" : rows[r][c]) << (c + 1 < rows[r].size() ? "," : "\n");
    }
  return to;
}

}  // namespace

TEST_CASE("rfm report figure formats: png, svg and pdf decode; the page embeds or links them") {
  if (gnuplot_missing()) return;
  const fs::path run = fig_dir("formats") / "run";
  auto r = run_cli("grok --task add --p 7 --iters 4 --threads 1 --quiet --save-every 2 --out " +
                   run.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  for (const std::string format : {"png", "svg", "pdf"}) {
    CAPTURE(format);
    r = run_cli("report " + run.string() + " --format " + format);
    INFO(r.output);
    REQUIRE(r.status == 0);
    for (const char* name : {"accuracy", "loss", "progress", "heatmap_M_0000", "heatmap_M_final"})
      CHECK(decodable(run / "report" / (std::string(name) + "." + format), format));
    CHECK(no_tmp_files(run / "report"));
    const std::string html = file_text(run / "report.html");
    CHECK(html.find("<title>add mod 7, frac 0.5, RFM (gaussian kernel)") != std::string::npos);
    CHECK(html.find("class=\"grid\"") != std::string::npos);
    if (format == "pdf")
      CHECK(html.find("href=\"report/loss.pdf\"") != std::string::npos);
    else
      CHECK(html.find(format == "svg" ? "data:image/svg+xml;base64," : "data:image/png;base64,") !=
            std::string::npos);
  }
  CHECK(png_dims(run / "report/accuracy.png") == std::pair<int, int>{900, 540});
  const std::string curves = file_text(run / "report/plots.gp");
  CHECK(curves.find("set xlabel 'iteration'") != std::string::npos);
  CHECK(curves.find("title 'Mean squared error: add mod 7, frac 0.5, RFM (gaussian kernel)'") !=
        std::string::npos);
  CHECK(curves.find("set title 'test set'") != std::string::npos);  // train and test apart
  fs::remove_all(run.parent_path());
}

TEST_CASE("rfm report figure heatmaps: one colour range across iterations, from the matrices") {
  if (gnuplot_missing()) return;
  const fs::path run = fig_dir("scale") / "run";
  const int p = 11;
  auto r = run_cli("grok --task add --p 11 --iters 6 --threads 1 --quiet --save-every 2 --out " +
                   run.string());
  REQUIRE(r.status == 0);
  r = run_cli("report " + run.string() + " --iters 0,2,4");
  INFO(r.output);
  REQUIRE(r.status == 0);
  double full = 0, block = 0;
  for (const char* f : {"M_0000.npy", "M_0002.npy", "M_0004.npy", "M_final.npy"}) {
    const MatrixXd M = npy_load((run / f).string());
    full = std::max(full, max_off_diagonal(M));
    block = std::max(block, M.block(p, 0, p, p).cwiseAbs().maxCoeff());
  }
  const std::string script = file_text(run / "report/heatmaps.gp");
  const std::vector<double> f = cbranges(script, "M full, shared"),
                            b = cbranges(script, "M block, shared");
  REQUIRE(f.size() == 4);  // M_0, M_2, M_4, M_final
  REQUIRE(b.size() == 4);
  for (size_t k = 0; k < 4; ++k) {
    CHECK(f[k] == doctest::Approx(full).epsilon(1e-5));
    CHECK(b[k] == doctest::Approx(block).epsilon(1e-5));
  }
  CHECK(max_off_diagonal(npy_load((run / "M_0000.npy").string())) < full);  // M_0 = I: shared
  for (const char* png : {"heatmap_M_0000.png", "heatmap_M_0002.png", "heatmap_M_final.png"})
    CHECK(png_dims(run / "report" / png) == std::pair<int, int>{1240, 600});

  // mul: the axes in discrete-log order (g = 2 mod 11: 1, 2, 4, 8, 5, ...), as rfm inspect.
  const fs::path mul = run.parent_path() / "mul";
  REQUIRE(
      run_cli("grok --task mul --p 11 --iters 2 --threads 1 --quiet --report --out " + mul.string())
          .status == 0);
  const std::string ms = file_text(mul / "report/heatmaps.gp");
  CHECK(ms.find("set xtics (\"1\" 0, \"4\" 2, \"5\" 4") != std::string::npos);
  CHECK(ms.find("discrete-log order, g = 2") != std::string::npos);
  fs::remove_all(run.parent_path());
}

TEST_CASE("rfm report figure of a transformer: Fourier measures, embedding Gram, NaN measures") {
  if (gnuplot_missing()) return;
  const fs::path dir = fig_dir("transformer"), run = dir / "run";
  auto r = run_cli(
      "train --model transformer --task add --p 7 --epochs 20 --log-every 5 --threads 1 "
      "--quiet --out " +
      run.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  r = run_cli("report " + run.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(png_dims(run / "report/fourier.png").first > 0);
  CHECK(png_dims(run / "report/heatmap_EmbedGram_final.png").first > 0);
  const std::string html = file_text(run / "report.html");
  CHECK(html.find("no matrices saved") == std::string::npos);
  CHECK(html.find("W_E^T W_E") != std::string::npos);
  CHECK(html.find("Fourier progress measures") != std::string::npos);
  const std::string curves = file_text(run / "report/plots.gp");
  CHECK(curves.find("title 'Gini'") != std::string::npos);
  CHECK(curves.find("title 'restricted'") != std::string::npos);
  CHECK(curves.find("set xlabel 'epoch'") != std::string::npos);
  CHECK(curves.find("cross-entropy") != std::string::npos);

  // Gini undefined: left out with a note, the restricted and excluded loss still drawn.
  const fs::path gini = with_nan_columns(run, dir / "no_gini", {"fourier_gini"});
  r = run_cli("report " + gini.string());
  INFO(r.output);
  CHECK(exit_code(r) == 0);
  CHECK(r.output.find("fourier_gini: undefined for this run") != std::string::npos);
  CHECK(file_text(gini / "report.html").find("fourier_gini: undefined") != std::string::npos);
  CHECK(file_text(gini / "report/plots.gp").find("title 'Gini'") == std::string::npos);
  CHECK(fs::exists(gini / "report/fourier.png"));
  // Every Fourier measure undefined (as for a group): no Fourier picture, still exit 0.
  const fs::path none = with_nan_columns(
      run, dir / "no_fourier", {"fourier_gini", "n_key_freqs", "restricted_loss", "excluded_loss"});
  r = run_cli("report " + none.string());
  INFO(r.output);
  CHECK(exit_code(r) == 0);
  CHECK(r.output.find("fourier_gini, n_key_freqs, restricted_loss, excluded_loss: undefined") !=
        std::string::npos);
  CHECK(!fs::exists(none / "report/fourier.png"));
  CHECK(fs::exists(none / "report/accuracy.png"));
  fs::remove_all(dir);
}

TEST_CASE("rfm report figure errors: --format bogus and a failing gnuplot give one line") {
  const fs::path dir = fig_dir("errors"), run = dir / "run";
  REQUIRE(
      run_cli("grok --task add --p 7 --iters 2 --threads 1 --quiet --out " + run.string()).status ==
      0);
  auto r = run_cli("report " + run.string() + " --format bogus");
  CHECK(exit_code(r) != 0);
  CHECK(r.output.find("bogus is not one of png|svg|pdf") != std::string::npos);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);

  // A gnuplot that writes half a picture and fails: nothing of it stays, one line says why.
  const fs::path bin = dir / "bin";
  fs::create_directories(bin);
  std::ofstream(bin / "gnuplot") << "#!/bin/sh\necho 'x' > accuracy.png.tmp\n"
                                 << "echo '\"plots.gp\" line 9: bad thing' >&2\nexit 1\n";
  fs::permissions(bin / "gnuplot", fs::perms::owner_all);
  r = run_shell("PATH=" + bin.string() + ":$PATH " + RFM_BINARY + " report " + run.string());
  INFO(r.output);
  CHECK(exit_code(r) != 0);
  CHECK(r.output.find("gnuplot failed on") != std::string::npos);
  CHECK(r.output.find("line 9: bad thing") != std::string::npos);
  CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
  CHECK(no_tmp_files(run / "report"));
  fs::remove_all(dir);
}

TEST_CASE("rfm particles figure: axes, labels and a title through gnuplot") {
  if (gnuplot_missing()) return;
  const fs::path out = fig_dir("particles");
  auto r = run_cli("particles --n 11 --steps 200 --out " + out.string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  CHECK(png_dims(out / "particles.png") == std::pair<int, int>{720, 720});
  const std::string gp = file_text(out / "particles.gp");
  CHECK(gp.find("set xlabel 'x (first coordinate of e_a)'") != std::string::npos);
  CHECK(gp.find("set title '11 particles, 200 steps: radius cv") != std::string::npos);
  CHECK(no_tmp_files(out));
  fs::remove_all(out);
}
