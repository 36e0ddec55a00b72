// The project as a user meets it: every subcommand's --help names its choices and defaults as
// they are typed and shows an example, and no file of the project names a path outside it (a
// clone must be complete on its own).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace fs = std::filesystem;
using rfm::test::run_cli;

namespace {

const std::vector<std::string> kSubcommands = {"grok",    "fit",     "predict",  "train",
                                               "inspect", "compare", "sweep",    "report",
                                               "bench",   "info",    "particles"};

// Lines "  --name a|b|c=default ..." of a --help text: the choices and the default shown.
struct ChoiceLine {
  std::string line, choices, shown_default;
};

std::vector<ChoiceLine> choice_lines(const std::string& help) {
  static const std::regex choice(R"(^\s+--[\w-]+ ([\w-]+(?:\|[\w-]+)+)(?:=(\S+))?)");
  std::vector<ChoiceLine> out;
  std::istringstream in(help);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, choice)) out.push_back({line, m[1], m[2]});
  }
  return out;
}

std::set<std::string> split_bars(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  for (std::string name; std::getline(in, name, '|');) out.insert(name);
  return out;
}

}  // namespace

TEST_CASE("--help of every subcommand shows choices by name, defaults as typed, an example") {
  for (const std::string& cmd : kSubcommands) {
    CAPTURE(cmd);
    const auto r = run_cli(cmd + " --help");
    REQUIRE(r.status == 0);
    CHECK(r.output.find("ENUM") == std::string::npos);
    CHECK(r.output.find("BOOLEAN") == std::string::npos);
    CHECK(r.output.find("->") == std::string::npos);
    CHECK(r.output.find("Example") != std::string::npos);
    for (const ChoiceLine& c : choice_lines(r.output)) {
      CAPTURE(c.line);
      if (!c.shown_default.empty()) CHECK(split_bars(c.choices).count(c.shown_default) == 1);
    }
  }
  // The options this was about: names, not the numbers behind them.
  const std::string grok = run_cli("grok --help").output;
  CHECK(grok.find("--centering off|on=on") != std::string::npos);
  CHECK(grok.find("--kernel gaussian|gaussian-paper|laplace|quadratic=gaussian") !=
        std::string::npos);
  const std::string train = run_cli("train --help").output;
  CHECK(train.find("--precision fp32|fp64=fp32") != std::string::npos);
  CHECK(train.find("transformer  full batch") != std::string::npos);  // its own defaults
}

TEST_CASE("a choice given by name is taken; an unknown one is one clear error") {
  const auto bad = run_cli("grok --kernel gauss --p 5");
  CHECK(bad.status != 0);
  CHECK(bad.output.find("gauss") != std::string::npos);
  CHECK(bad.output.find("->") == std::string::npos);
}

TEST_CASE("no file of the project names a path outside the repository") {
  const fs::path root = fs::path(RFM_TEST_DATA).parent_path().parent_path();
  // Assembled here so that this file does not name them itself.
  const std::vector<std::string> outside = {
      std::string("../") + "shared", std::string("REFERENCE") + ".md",
      std::string("DESIGN") + ".md", std::string("STYLE") + ".md",
      std::string("/work") + "/",    std::string("/tmp/") + "venv"};
  const std::set<std::string> text = {".cpp", ".h",   ".cu",   ".cuh",  ".py",    ".pyi", ".md",
                                      ".sh",  ".txt", ".toml", ".json", ".cmake", ".cfg", ""};
  int files = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const std::string name = it->path().filename().string();
    if (it->is_directory()) {  // build trees, run outputs, virtual environments, git itself
      if (name.rfind("build", 0) == 0 || name == ".git" || name == "runs" ||
          name == "__pycache__" || name.find("venv") != std::string::npos)
        it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || text.count(it->path().extension().string()) == 0) continue;
    std::ifstream in(it->path());
    std::stringstream all;
    all << in.rdbuf();
    const std::string content = all.str();
    if (content.find('\0') != std::string::npos) continue;  // binary
    ++files;
    for (const std::string& path : outside) {
      CAPTURE(it->path().string());
      CHECK_MESSAGE(content.find(path) == std::string::npos, "names ", path);
    }
  }
  CHECK(files > 50);
}
