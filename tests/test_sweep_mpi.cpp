// `mpirun -n N rfm sweep` (issue 7): a four-run grid (add mod 11, 4 iterations) run by one
// process, by two `--shard` processes in one directory and by `mpirun -n 2` gives the same
// summary.csv, apart from the seconds column and the digits of roundoff (check_same_summary).
// A program built without MPI refuses an MPI launch with one error line. The mpirun parts skip
// with a message where no mpirun is installed.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace fs = std::filesystem;
using rfm::test::read_csv;

namespace {

std::string run_shell(const std::string& cmd, int* status) {
  FILE* pipe = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  char buf[4096];
  while (size_t got = fread(buf, 1, sizeof buf, pipe)) out.append(buf, got);
  const int st = pclose(pipe);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// The mpiexec CMake found, else mpirun or mpiexec on PATH; "" when there is none.
std::string find_mpiexec() {
  const std::string configured = RFM_MPIEXEC;
  if (!configured.empty() && access(configured.c_str(), X_OK) == 0) return configured;
  int st = -1;
  std::string path = run_shell("command -v mpirun || command -v mpiexec", &st);
  while (!path.empty() && (path.back() == '\n' || path.back() == ' ')) path.pop_back();
  return st == 0 ? path : "";
}

// The launch line: Open MPI refuses root without the two variables and more ranks than cores
// without oversubscription (CI containers run as root, sometimes on one core); other MPIs ignore
// them. Open MPI's runtime keeps allocations until exit, so the sanitizer build's leak check is
// off for the ranks (the one-process sweep above checks the same code with it on).
std::string mpi_launch(const std::string& mpiexec, int n) {
  return "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "
         "OMPI_MCA_rmaps_base_oversubscribe=1 ASAN_OPTIONS=\"${ASAN_OPTIONS}:detect_leaks=0\" " +
         mpiexec + " -n " + std::to_string(n) + " ";
}

// Checks that two summary.csv files have the same runs with the same results, the seconds
// column aside. train_loss is the training mse of an interpolating fit (~1e-28), pure rounding
// error whose digits follow the memory alignment of the buffers, which the process layout
// changes (even redirecting stdout does): it must stay below 1e-20 in both. The other numbers
// agree to 1e-8 (they are printed with 10 digits; their last bits move with the same roundoff).
void check_same_summary(const fs::path& a, const fs::path& b) {
  const auto ra = read_csv(a), rb = read_csv(b);
  REQUIRE(ra.size() == rb.size());
  REQUIRE(!ra.empty());
  const std::vector<std::string>& header = ra[0];
  CHECK(rb[0] == header);
  for (size_t i = 1; i < ra.size(); ++i) {
    REQUIRE(ra[i].size() == header.size());
    REQUIRE(rb[i].size() == header.size());
    for (size_t j = 0; j < header.size(); ++j) {
      const std::string &x = ra[i][j], &y = rb[i][j];
      if (header[j] == "seconds" || x == y) continue;
      CAPTURE(ra[i][0]);
      CAPTURE(header[j]);
      CAPTURE(x);
      CAPTURE(y);
      char* end_x = nullptr;
      char* end_y = nullptr;
      const double u = std::strtod(x.c_str(), &end_x), v = std::strtod(y.c_str(), &end_y);
      REQUIRE((!x.empty() && *end_x == 0 && !y.empty() && *end_y == 0));  // numbers, else equal
      if (header[j] == "train_loss")
        CHECK((std::fabs(u) < 1e-20 && std::fabs(v) < 1e-20));
      else
        CHECK(std::fabs(u - v) <= 1e-8 * std::max({1.0, std::fabs(u), std::fabs(v)}));
    }
  }
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("rfm sweep: one process, two --shard processes and mpirun -n 2 give the same summary") {
  const fs::path dir =
      fs::temp_directory_path() / ("rfm_test_sweep_mpi_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string rfm = RFM_BINARY;
  // threads 1: the same BLAS threads in every layout, so even the mse columns agree exactly.
  auto config = [&](const std::string& name) {
    const fs::path path = dir / (name + ".json");
    std::ofstream(path) << "{\"out\": \"" << (dir / name).string()
                        << "\", \"base\": {\"task\": \"add\", \"p\": 11, \"iters\": 4, "
                           "\"threads\": 1}, \"grid\": {\"frac\": [0.4, 0.8], \"seed\": [0, 1]}}";
    return path.string();
  };
  const std::string mpiexec = find_mpiexec();
  if (mpiexec.empty())
    MESSAGE("skipping the mpirun part: no mpirun or mpiexec (install openmpi-bin)");
  int st = -1;
  std::string out = run_shell(rfm + " sweep " + config("one") + " --jobs 2", &st);
  INFO(out);
  REQUIRE(st == 0);
  const auto one = read_csv(dir / "one/summary.csv");
  REQUIRE(one.size() == 5);
  for (size_t i = 1; i < one.size(); ++i) CHECK(one[i][3] == "completed");

  const std::string sharded = config("shard");
  for (const char* shard : {"1/2", "2/2"}) {
    out = run_shell(rfm + " sweep " + sharded + " --shard " + shard, &st);
    CHECK(st == 0);
    CHECK(out.find("2 of them here") != std::string::npos);
  }
  check_same_summary(dir / "one/summary.csv", dir / "shard/summary.csv");

  if (mpiexec.empty()) {
    fs::remove_all(dir);
    return;
  }
  out = run_shell(mpi_launch(mpiexec, 2) + rfm + " sweep " + config("mpi"), &st);
  INFO(out);
  if (RFM_BINARY_HAS_MPI) {
    REQUIRE(st == 0);
    CHECK(out.find("MPI rank 0 of 2 (shard 1/2); 2 of them here") != std::string::npos);
    CHECK(out.find("MPI rank 1 of 2 (shard 2/2); 2 of them here") != std::string::npos);
    CHECK(count(out, "/summary.csv (4 runs: 4 ended") == 1);  // rank 0 only, after both
    check_same_summary(dir / "one/summary.csv", dir / "mpi/summary.csv");
    CHECK(fs::file_size(dir / "mpi/phase.png") > 0);
    // --shard under mpirun: one clear error, before MPI starts.
    out =
        run_shell(mpi_launch(mpiexec, 2) + rfm + " sweep " + config("both") + " --shard 1/2", &st);
    CHECK(st != 0);
    CHECK(out.find("--shard 1/2 and mpirun -n 2 both split the grid") != std::string::npos);
  } else {
    // Built without MPI: one error line from rank 0, and no rank ran anything.
    CHECK(st != 0);
    CHECK(count(out, "this rfm was built without MPI") == 1);
    CHECK(!fs::exists(dir / "mpi/runs"));
  }
  fs::remove_all(dir);
}

TEST_CASE("rfm sweep: a program built without MPI refuses a launch by mpirun") {
  if (RFM_BINARY_HAS_MPI) return;  // MPI_Init would need a real launcher: covered above
  const fs::path dir =
      fs::temp_directory_path() / ("rfm_test_sweep_nompi_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "c.json") << "{\"out\": \"" << (dir / "c").string()
                                << "\", \"base\": {\"p\": 11, \"iters\": 2}, "
                                   "\"grid\": {\"seed\": [0, 1]}}";
  int st = -1;
  // What Open MPI's mpirun sets for rank 0 and rank 1 of two.
  std::string out = run_shell("OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0 " +
                                  std::string(RFM_BINARY) + " sweep " + (dir / "c.json").string(),
                              &st);
  CHECK(st == 1);
  CHECK(out.find("rfm: error: this rfm was built without MPI, so `mpirun -n 2 rfm sweep` would "
                 "run the whole grid 2 times") == 0);
  CHECK(count(out, "\n") == 1);
  out = run_shell("OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=1 " + std::string(RFM_BINARY) +
                      " sweep " + (dir / "c.json").string(),
                  &st);
  CHECK(st == 1);
  CHECK(out.empty());
  CHECK(!fs::exists(dir / "c/runs"));
  fs::remove_all(dir);
}
