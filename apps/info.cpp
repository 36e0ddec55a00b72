// `rfm info`: version, the BLAS in use and its threads, the backends compiled in, the CUDA
// devices and their memory.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <thread>
#include <vector>

#include "apps/commands.h"
#include "rfm/rfm.h"

namespace rfm {

std::string settings_line(const std::string& key, const std::string& value) {
  return strfmt("  %-14s %s\n", key.c_str(), value.c_str());
}

std::string timestamped_out(const std::string& stem) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
  const std::string base = strfmt("runs/%s-%s", stem.c_str(), stamp);
  std::string out = base;
  for (int k = 2; std::filesystem::exists(out); ++k) out = strfmt("%s-%d", base.c_str(), k);
  return out;
}

std::string choice_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : "|") + n;
  return out;
}

CLI::Option* add_choice_option(CLI::App& app, const std::string& name, std::string& field,
                               const std::vector<std::string>& choices, const std::string& help) {
  return app.add_option(name, field, help)
      ->check(CLI::Validator(
          [choices](const std::string& in) {
            for (const std::string& c : choices)
              if (c == in) return std::string();
            return in + " is not one of " + choice_list(choices);
          },
          ""))
      ->type_name(choice_list(choices))
      ->capture_default_str();
}

CLI::Option* add_precision_option(CLI::App& app, Precision& field) {
  return add_enum_option(
      app, "--precision", field,
      {{"fp64", Precision::fp64},
       {"fp32", Precision::fp32},
       {"mixed", Precision::mixed},
       {"auto", Precision::automatic}},
      "Solve precision: fp64; fp32; mixed (fp32 factor refined to the fp64 residual, falling back "
      "to fp64 where refinement stalls); auto (mixed where it is predicted to cost at most 3/4 of "
      "fp64: n >= 2048 and few outputs against n, as in regression; else fp64; the choice is "
      "printed and recorded per iteration)");
}

static void run_info() {
  std::string out = "rfm " RFM_VERSION "\n";
  out += settings_line("blas", blas_description());
  out += settings_line("cpu threads", std::to_string(std::thread::hardware_concurrency()));
  std::string why;
  const bool cuda = cuda_available(&why);
  out += settings_line("backends", cuda ? "cpu, cuda" : "cpu");
  out += settings_line("cuda", !cuda_compiled() ? "not compiled in (configure with -DRFM_CUDA=ON)"
                               : cuda           ? "compiled in, usable"
                                                : "compiled in, not usable: " + why);
  for (const DeviceInfo& d : cuda_devices())
    out += settings_line(strfmt("device %d", d.id),
                         strfmt("%s, compute capability %d.%d, %.1f GiB", d.name.c_str(),
                                d.cc_major, d.cc_minor, d.total_gib) +
                             (d.free_gib >= 0 ? strfmt(" (%.1f GiB free)", d.free_gib) : ""));
  std::fputs(out.c_str(), stdout);
}

namespace {
std::vector<std::pair<std::string, SetupFn>>& registry() {
  static std::vector<std::pair<std::string, SetupFn>> commands;
  return commands;
}
}  // namespace

int register_command(const char* name, SetupFn setup) {
  registry().emplace_back(name, setup);
  return 0;
}

void setup_all_commands(CLI::App& app) {
  static const char* const kOrder[] = {"grok",    "fit",   "predict", "train", "inspect",
                                       "compare", "sweep", "report",  "bench", "info"};
  auto rank = [](const std::string& name) {
    for (size_t i = 0; i < std::size(kOrder); ++i)
      if (name == kOrder[i]) return i;
    return std::size(kOrder);
  };
  auto commands = registry();
  std::stable_sort(commands.begin(), commands.end(),
                   [&](const auto& a, const auto& b) { return rank(a.first) < rank(b.first); });
  for (const auto& [name, setup] : commands) setup(app);
}

static void setup_info(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("info", "Version, BLAS in use and its threads, CUDA devices");
  sub->footer("Example:\n  rfm info");
  sub->callback([] { run_info(); });
}
RFM_COMMAND(info, setup_info);

}  // namespace rfm
