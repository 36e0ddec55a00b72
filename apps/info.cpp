// `rfm info`: version, the BLAS in use and its threads, the backends compiled in.
#include <cstdio>
#include <thread>

#include "apps/commands.h"
#include "rfm/rfm.h"

namespace rfm {

std::string settings_line(const std::string& key, const std::string& value) {
  return strfmt("  %-14s %s\n", key.c_str(), value.c_str());
}

static void run_info() {
  std::string out = "rfm " RFM_VERSION "\n";
  out += settings_line("blas", blas_description());
  out += settings_line("cpu threads", std::to_string(std::thread::hardware_concurrency()));
  out += settings_line("backends", "cpu");
  out += settings_line("cuda", "not compiled in");
  std::fputs(out.c_str(), stdout);
}

void setup_info(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("info", "Version, BLAS in use and its threads, CUDA devices");
  sub->callback([] { run_info(); });
}

}  // namespace rfm
