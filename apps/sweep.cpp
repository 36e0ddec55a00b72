// `rfm sweep CONFIG`: a grid of `rfm grok` or `rfm train` runs from a JSON file (issue 7). Each
// run is a child process of this program with its own run directory, up to --jobs at a time.
// A run whose summary.json says it ended (not "interrupted") is skipped, an interrupted or
// killed grok run is continued with --resume, so a killed sweep resumes where it stopped.
// --shard K/N takes every N-th run of the grid, for a cluster's job array; `mpirun -n N rfm
// sweep` gives rank r the runs of shard r+1/N and rank 0 writes the summary once all ranks are
// done (the MPI section below). At the end summary.csv has one row per run of the whole grid
// and phase.png shows the final test accuracy over two swept options. The config format is in
// docs/sweeps.md.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "apps/commands.h"
#include "apps/report.h"
#include "apps/signals.h"
#include "rfm/rfm.h"

#ifdef RFM_HAVE_MPI
#include <mpi.h>
#endif

namespace rfm {

namespace {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

struct SweepOptions {
  std::string config;
  int jobs = 1;               // runs at a time
  std::string shard;          // "K/N": run the runs i with i % N == K - 1
  bool summary_only = false;  // only (re)write summary.csv and phase.png
  bool dry_run = false;       // list the runs and their state
};

struct SweepConfig {
  std::string path;
  std::string command = "grok";
  std::string out;
  ojson base = ojson::object();
  std::vector<std::pair<std::string, std::vector<ojson>>> grid;  // in the file's order
  std::string phase_x, phase_y;                                  // swept options of phase.png
};

struct RunSpec {
  int index = 0;  // position in the full grid (the first key varies slowest)
  std::string name, dir;
  std::vector<std::pair<std::string, ojson>> values;  // this run's grid values
};

// --- MPI ------------------------------------------------------------------------------------
// `mpirun -n N rfm sweep CONFIG`: rank r runs the runs of `--shard r+1/N` (the same
// assignment, so both give the same summary.csv), then all ranks wait for each other and rank 0
// writes summary.csv and phase.png from the run directories (a directory all ranks share, as for
// --shard). MPI is started only here, only for the sweep, and only when an MPI launcher started
// the process. Without RFM_HAVE_MPI a launch by mpirun is refused with one error line instead of
// N ranks each running the whole grid.

struct MpiWorld {
  int rank = 0, size = 1;
  int local_size = 1;   // ranks on this machine (they share its cores)
  bool active = false;  // MPI_Init was called
};

// The world size and rank an MPI launcher announces in the environment (Open MPI's mpirun,
// MPICH's hydra and Slurm's srun --mpi=pmi2); size 0 when no launcher started this process.
std::pair<int, int> launcher_world() {
  for (const auto& [size, rank] :
       {std::pair<const char*, const char*>{"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"},
        {"PMI_SIZE", "PMI_RANK"}}) {
    if (const char* s = std::getenv(size)) {
      const char* r = std::getenv(rank);
      return {std::atoi(s), r ? std::atoi(r) : 0};
    }
  }
  return {0, 0};
}

// Starts MPI when an MPI launcher started this process (run_sweep has refused a launch of N > 1
// processes when MPI is not compiled in).
MpiWorld mpi_start() {
  MpiWorld w;
#ifdef RFM_HAVE_MPI
  const auto [size, rank] = launcher_world();
  if (size == 0) return w;  // a plain `rfm sweep`: no MPI at all
  MPI_Init(nullptr, nullptr);
  w.active = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  MPI_Comm node;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_size(node, &w.local_size);
  MPI_Comm_free(&node);
  if (w.size != size) {  // e.g. MPICH's mpiexec starting a program built with Open MPI
    if (rank == 0)
      std::fprintf(stderr,
                   "rfm: error: the MPI launcher started %d processes but MPI_Init sees a world of "
                   "%d: use the mpirun of the MPI rfm was built with\n",
                   size, w.size);
    MPI_Finalize();
    std::exit(1);
  }
#endif
  return w;
}

// Waits until every rank got here. Open MPI's blocking collectives poll at full speed, which
// would take a core from the runs of the ranks still working: test a non-blocking barrier every
// 50 ms instead.
void mpi_wait_for_all(const MpiWorld& w) {
#ifdef RFM_HAVE_MPI
  if (!w.active) return;
  MPI_Request req;
  MPI_Ibarrier(MPI_COMM_WORLD, &req);
  for (int done = 0; !done;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (!done) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
#endif
}

// The sum of v over all ranks (after mpi_wait_for_all: no rank waits long).
int mpi_sum(const MpiWorld& w, int v) {
#ifdef RFM_HAVE_MPI
  if (w.active) MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
#endif
  return v;
}

void mpi_finish(const MpiWorld& w) {
#ifdef RFM_HAVE_MPI
  if (w.active) MPI_Finalize();
#endif
}

// An error on one rank after MPI_Init: print it and end every rank (the others would wait at
// the barrier for ever).
[[noreturn]] void mpi_abort(const MpiWorld& w, const char* what) {
  std::fprintf(stderr, "rfm: error: rank %d of %d: %s\n", w.rank, w.size, what);
  std::fflush(stderr);
#ifdef RFM_HAVE_MPI
  MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  std::exit(1);
}

// BLAS threads for each run: the cores this process may use (its affinity mask: mpirun binds
// ranks to cores or sockets, and the runs inherit it), at most this machine's share per rank,
// divided among the --jobs runs at a time.
int threads_per_run(const MpiWorld& w, int jobs) {
  const int hw = int(std::max(1u, std::thread::hardware_concurrency()));
  int cores = hw;
  cpu_set_t mask;
  if (sched_getaffinity(0, sizeof mask, &mask) == 0) cores = std::max(1, CPU_COUNT(&mask));
  cores = std::min(cores, std::max(1, hw / w.local_size));
  return std::max(1, cores / jobs);
}

// --- The config file ------------------------------------------------------------------------

const char* const kReserved[] = {"out", "force", "resume", "jsonl", "help"};

void check_option(const SweepConfig& c, const CLI::App& root, const std::string& where,
                  const std::string& key) {
  for (const char* r : kReserved)
    RFM_CHECK(key != r, "%s: %s.%s is set by rfm sweep itself", c.path.c_str(), where.c_str(),
              key.c_str());
  const CLI::App* sub = root.get_subcommand(c.command);
  RFM_CHECK(sub->get_option_no_throw("--" + key) != nullptr, "%s: %s.%s: rfm %s has no option --%s",
            c.path.c_str(), where.c_str(), key.c_str(), c.command.c_str(), key.c_str());
}

void check_value(const SweepConfig& c, const std::string& where, const ojson& v) {
  RFM_CHECK(v.is_string() || v.is_number() || v.is_boolean() || v.is_array(),
            "%s: %s must be a string, number, boolean or list, not %s", c.path.c_str(),
            where.c_str(), v.dump().c_str());
}

std::string default_phase_axis(const SweepConfig& c, const std::string& other) {
  for (const auto& [k, vals] : c.grid)
    if (vals.size() > 1 && k != other) return k;
  return "";
}

SweepConfig read_config(const std::string& path, const CLI::App& root) {
  std::ifstream in(path);
  RFM_CHECK(in.good(), "cannot read the sweep config %s", path.c_str());
  ojson j;
  try {
    j = ojson::parse(in);
  } catch (const nlohmann::json::exception& e) {
    RFM_CHECK(false, "%s is not valid JSON: %s", path.c_str(), e.what());
  }
  SweepConfig c;
  c.path = path;
  RFM_CHECK(j.is_object(), "%s: the config must be a JSON object", path.c_str());
  for (const auto& [k, v] : j.items())
    RFM_CHECK(k == "command" || k == "out" || k == "base" || k == "grid" || k == "phase",
              "%s: unknown key '%s' (known: command, out, base, grid, phase)", path.c_str(),
              k.c_str());
  c.command = j.value("command", "grok");
  RFM_CHECK(c.command == "grok" || c.command == "train", "%s: command '%s' must be grok or train",
            path.c_str(), c.command.c_str());
  c.out = j.value("out", "runs/sweep-" + fs::path(path).stem().string());
  if (j.contains("base")) {
    RFM_CHECK(j["base"].is_object(), "%s: base must be an object of option: value", path.c_str());
    c.base = j["base"];
  }
  for (const auto& [k, v] : c.base.items()) {
    check_option(c, root, "base", k);
    check_value(c, "base." + k, v);
  }
  RFM_CHECK(j.contains("grid") && j["grid"].is_object() && !j["grid"].empty(),
            "%s: grid must be a non-empty object of option: [values]", path.c_str());
  for (const auto& [k, v] : j["grid"].items()) {
    check_option(c, root, "grid", k);
    RFM_CHECK(v.is_array() && !v.empty(), "%s: grid.%s must be a non-empty list", path.c_str(),
              k.c_str());
    RFM_CHECK(!c.base.contains(k), "%s: grid.%s is also in base", path.c_str(), k.c_str());
    for (const ojson& x : v) check_value(c, "grid." + k, x);
    c.grid.push_back({k, std::vector<ojson>(v.begin(), v.end())});
  }
  const ojson phase = j.value("phase", ojson::object());
  for (const auto& [k, v] : phase.items())
    RFM_CHECK(k == "x" || k == "y", "%s: unknown key 'phase.%s' (known: x, y)", path.c_str(),
              k.c_str());
  c.phase_x = phase.value("x", default_phase_axis(c, ""));
  c.phase_y = phase.value("y", default_phase_axis(c, c.phase_x));
  for (const std::string* a : {&c.phase_x, &c.phase_y}) {
    bool found = a->empty();
    for (const auto& g : c.grid) found |= g.first == *a;
    RFM_CHECK(found, "%s: phase axis '%s' is not a key of grid", path.c_str(), a->c_str());
  }
  return c;
}

// --- The runs of the grid -------------------------------------------------------------------

std::string value_text(const ojson& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array()) {
    std::string s;
    for (const ojson& x : v) s += (s.empty() ? "" : ",") + value_text(x);
    return s;
  }
  return v.dump();  // numbers: shortest round-trip form; booleans: true/false
}

std::string safe_name(const std::string& s) {
  std::string o;
  for (char ch : s)
    o += std::isalnum((unsigned char)ch) || ch == '.' || ch == '-' || ch == '+' ? ch : '_';
  return o;
}

std::vector<RunSpec> expand_grid(const SweepConfig& c) {
  size_t total = 1;
  for (const auto& g : c.grid) total *= g.second.size();
  std::vector<RunSpec> runs;
  for (size_t i = 0; i < total; ++i) {
    RunSpec r;
    r.index = int(i);
    size_t rest = i;
    for (size_t k = c.grid.size(); k-- > 0;) {  // the last key varies fastest
      const auto& [key, vals] = c.grid[k];
      r.values.insert(r.values.begin(), {key, vals[rest % vals.size()]});
      rest /= vals.size();
    }
    for (const auto& [key, v] : r.values)
      r.name += (r.name.empty() ? "" : "_") + key + "-" + safe_name(value_text(v));
    r.dir = c.out + "/runs/" + r.name;
    runs.push_back(r);
  }
  return runs;
}

std::pair<int, int> parse_shard(const std::string& s) {
  if (s.empty()) return {1, 1};
  int k = 0, n = 0;
  char tail = 0;
  RFM_CHECK(std::sscanf(s.c_str(), "%d/%d%c", &k, &n, &tail) == 2 && n >= 1 && k >= 1 && k <= n,
            "--shard %s must be K/N with 1 <= K <= N", s.c_str());
  return {k, n};
}

void add_option_args(std::vector<std::string>& args, const std::string& key, const ojson& v) {
  if (v.is_boolean()) {
    if (v.get<bool>()) args.push_back("--" + key);
    return;
  }
  args.push_back("--" + key);
  args.push_back(value_text(v));
}

// "done" (summary.json with a final termination), "interrupted", "started" or "new".
std::string run_state(const RunSpec& r) {
  const std::string sj = r.dir + "/summary.json";
  if (fs::exists(sj)) {
    std::ifstream in(sj);
    const std::string t = nlohmann::json::parse(in, nullptr, false).value("termination", "");
    return t == "interrupted" ? "interrupted" : "done";
  }
  return fs::exists(r.dir + "/config.json") ? "started" : "new";
}

std::vector<std::string> child_args(const SweepConfig& c, const RunSpec& r, int threads) {
  std::vector<std::string> args{c.command};
  const bool has_threads =
      c.base.contains("threads") ||
      std::any_of(c.grid.begin(), c.grid.end(), [](const auto& g) { return g.first == "threads"; });
  if (c.command == "grok" && run_state(r) != "new") {
    args.insert(args.end(), {"--resume", r.dir});  // the options come from its config.json
  } else {
    for (const auto& [k, v] : c.base.items()) add_option_args(args, k, v);
    for (const auto& [k, v] : r.values) add_option_args(args, k, v);
    args.insert(args.end(), {"--out", r.dir, "--force"});
  }
  args.push_back("--quiet");
  if (!has_threads) args.insert(args.end(), {"--threads", std::to_string(threads)});
  return args;
}

// --- Running children -----------------------------------------------------------------------

pid_t spawn(const std::vector<std::string>& args, const std::string& log) {
  std::vector<char*> argv{const_cast<char*>("rfm")};  // built before fork: no malloc after it
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = fork();
  RFM_CHECK(pid >= 0, "rfm sweep: fork failed");
  if (pid > 0) return pid;
  // A run gets each stop signal once, from the sweep: in its own process group, neither a
  // terminal's Ctrl-C nor mpirun's signal to a rank's group reaches it directly (a second
  // SIGINT or SIGTERM would end it mid-iteration). The sweep forwards SIGINT, and a killed
  // sweep's runs get SIGTERM, so both together still stop a run cleanly (they resume).
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
  }
  execv("/proc/self/exe", argv.data());
  _exit(127);
}

std::string result_line(const SweepConfig& c, const RunSpec& r) {
  std::ifstream in(r.dir + "/summary.json");
  const nlohmann::json s = nlohmann::json::parse(in, nullptr, false);
  if (s.is_discarded()) return "no summary.json";
  const nlohmann::json fin = s.value("final", nlohmann::json::object());
  const double acc = fin.contains("test_acc") && fin["test_acc"].is_number()
                         ? fin["test_acc"].get<double>()
                         : kNaN;
  return strfmt("%s, test acc %.4f, %.1f s", s.value("termination", "?").c_str(), acc,
                s.contains("seconds") ? s["seconds"].value("total", kNaN) : kNaN);
}

// Runs `todo` with up to `jobs` children; returns the number that failed (non-zero exit).
int run_all(const SweepConfig& c, const std::vector<RunSpec>& todo, int jobs, int threads) {
  make_dirs(c.out + "/logs");
  std::map<pid_t, const RunSpec*> running;
  size_t next = 0, finished = 0;
  int failed = 0;
  bool forwarded = false;
  const auto t0 = std::chrono::steady_clock::now();
  while (next < todo.size() || !running.empty()) {
    while (running.size() < size_t(jobs) && next < todo.size() && !stop_requested()) {
      const RunSpec& r = todo[next++];
      const std::string state = run_state(r);
      const pid_t pid = spawn(child_args(c, r, threads), c.out + "/logs/" + r.name + ".log");
      running[pid] = &r;
      std::printf("  start  %s%s\n", r.name.c_str(), state == "new" ? "" : " (resume)");
      std::fflush(stdout);
    }
    if (stop_requested() && !forwarded) {
      for (const auto& kv : running) kill(kv.first, SIGINT);
      forwarded = true;
    }
    if (stop_requested() && running.empty()) break;
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;  // not one of ours (a child of a library)
    const RunSpec& r = *it->second;
    running.erase(it);
    ++finished;
    const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    failed += !ok;
    const double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("  [%zu/%zu] %s: %s%s (elapsed %.0f s)\n", finished, todo.size(), r.name.c_str(),
                ok ? ""
                   : strfmt("exit status %d, log %s/logs/%s.log; ",
                            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                            c.out.c_str(), r.name.c_str())
                         .c_str(),
                result_line(c, r).c_str(), el);
    std::fflush(stdout);
  }
  return failed;
}

// --- summary.csv and phase.png --------------------------------------------------------------

struct RunResult {
  std::string status = "missing";
  double first050 = -1, first099 = -1;
  double train_acc = kNaN, test_acc = kNaN, train_loss = kNaN, test_loss = kNaN;
  double circ_dev = kNaN, seconds = kNaN;
  int iterations = -1;
};

double json_number(const nlohmann::json& j, const char* a, const char* b = nullptr) {
  for (const char* k : {a, b})
    if (k && j.contains(k) && j[k].is_number()) return j[k].get<double>();
  return kNaN;
}

RunResult read_result(const RunSpec& r) {
  RunResult x;
  std::ifstream in(r.dir + "/summary.json");
  if (!in.good()) return x;
  const nlohmann::json s = nlohmann::json::parse(in, nullptr, false);
  if (s.is_discarded()) return x;
  const nlohmann::json fin = s.value("final", nlohmann::json::object());
  x.status = s.value("termination", "?");
  x.first050 = json_number(s, "first_iter_test_acc_0.5", "first_epoch_test_acc_0.5");
  x.first099 = json_number(s, "first_iter_test_acc_0.99", "first_epoch_test_acc_0.99");
  x.train_acc = json_number(fin, "train_acc");
  x.test_acc = json_number(fin, "test_acc");
  x.train_loss = json_number(fin, "train_mse", "train_loss");
  x.test_loss = json_number(fin, "test_mse", "test_loss");
  x.circ_dev = json_number(fin, "circ_dev", "nfm_circ_dev");
  // grok: iterations run; train: the last epoch (logged_epochs counts rows, not epochs)
  x.iterations =
      int(s.contains("iterations") ? json_number(s, "iterations") : json_number(fin, "epoch"));
  if (s.contains("seconds")) x.seconds = json_number(s["seconds"], "total");
  return x;
}

std::string csv_num(double v) {
  return std::isfinite(v) ? strfmt("%.10g", v) : "";
}

std::string csv_text(const std::string& s) {
  return s.find_first_of(",\"") == std::string::npos ? s : "\"" + s + "\"";
}

std::string summary_csv(const SweepConfig& c, const std::vector<RunSpec>& runs,
                        const std::vector<RunResult>& res) {
  std::string s = "run";
  for (const auto& g : c.grid) s += "," + g.first;
  s += ",status," + std::string(c.command == "train" ? "epochs" : "iterations") +
       ",first_test_acc_0.5,first_test_acc_0.99,train_acc,test_acc,"
       "train_loss,test_loss,circ_dev,seconds\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResult& x = res[i];
    s += runs[i].name;
    for (const auto& kv : runs[i].values) s += "," + csv_text(value_text(kv.second));
    s += "," + x.status + "," + std::to_string(x.iterations) + "," + csv_num(x.first050) + "," +
         csv_num(x.first099) + "," + csv_num(x.train_acc) + "," + csv_num(x.test_acc) + "," +
         csv_num(x.train_loss) + "," + csv_num(x.test_loss) + "," + csv_num(x.circ_dev) + "," +
         csv_num(x.seconds) + "\n";
  }
  return s;
}

const std::vector<ojson>& axis_values(const SweepConfig& c, const std::string& key) {
  static const std::vector<ojson> none{ojson()};
  for (const auto& g : c.grid)
    if (g.first == key) return g.second;
  return none;
}

int position(const std::vector<ojson>& vals, const ojson& v) {
  return int(std::find(vals.begin(), vals.end(), v) - vals.begin());
}

// Mean of value(run) per (y, x) cell over the other swept options, from the runs that ended
// and have a finite value (NaN: none); `ended` counts the runs that ended per cell.
MatrixXd phase_matrix(const SweepConfig& c, const std::vector<RunSpec>& runs,
                      const std::vector<RunResult>& res, double (*value)(const RunResult&),
                      MatrixXd* ended = nullptr) {
  const auto& xs = axis_values(c, c.phase_x);
  const auto& ys = axis_values(c, c.phase_y);
  MatrixXd sum = MatrixXd::Zero(ys.size(), xs.size()), count = sum;
  if (ended) *ended = sum;
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!std::isfinite(res[i].test_acc) || res[i].status == "interrupted") continue;
    const double v = value(res[i]);
    int xi = 0, yi = 0;
    for (const auto& [k, v] : runs[i].values) {
      if (k == c.phase_x) xi = position(xs, v);
      if (k == c.phase_y) yi = position(ys, v);
    }
    if (ended) (*ended)(yi, xi) += 1;
    if (!std::isfinite(v)) continue;
    sum(yi, xi) += v;
    count(yi, xi) += 1;
  }
  return sum.cwiseQuotient(count);  // 0/0 = NaN where no run has a value
}

double final_test_acc(const RunResult& x) {
  return x.test_acc;
}

double transition_099(const RunResult& x) {  // NaN: never reached
  return x.first099 >= 0 ? x.first099 : kNaN;
}

std::string tics(const std::vector<ojson>& vals) {
  std::string s = "(";
  for (size_t i = 0; i < vals.size(); ++i)
    s += strfmt("%s\"%s\" %zu", i ? ", " : "", value_text(vals[i]).c_str(), i);
  return s + ")";
}

// One phase picture: a cell per (x, y) value, coloured by A and labelled with its value; cells
// where runs ended without a value read `missing` (e.g. "never"), cells with no run "not run".
struct PhaseSpec {
  std::string stem, title, label_format, missing;
  bool accuracy;  // colour scale [0, 1] (else the data's range, early = dark)
};

bool write_phase_picture(const SweepConfig& c, const MatrixXd& A, const MatrixXd& ended,
                         const PhaseSpec& ps) {
  const auto& xs = axis_values(c, c.phase_x);
  const auto& ys = axis_values(c, c.phase_y);
  std::string gp = "# rfm sweep: " + ps.title + " over " + c.phase_x +
                   (c.phase_y.empty() ? "" : " and " + c.phase_y) + " (run: gnuplot " + ps.stem +
                   ".gp)\n";
  gp += "set terminal pngcairo size 900,600 noenhanced font 'DejaVu Sans,12'\nset output '" +
        ps.stem + ".png.tmp'\n$map << EOD\n";
  for (int y = 0; y < A.rows(); ++y)
    for (int x = 0; x < A.cols(); ++x)  // state: 1 a value, 0 ended without one, -1 not run
      gp += strfmt("%d %d %s %d\n", x, y,
                   std::isfinite(A(y, x)) ? strfmt("%.4f", A(y, x)).c_str() : "NaN",
                   std::isfinite(A(y, x)) ? 1
                   : ended(y, x) > 0      ? 0
                                          : -1);
  gp += "EOD\n";
  const bool any = (A.array() == A.array()).any();  // some finite value to scale by
  const std::string cb = !any          ? "set cbrange [0:1]\nunset colorbox\n"
                         : ps.accuracy ? "set cbrange [0:1]\n"
                                         "set palette defined (0 '#f7f7f7', 0.5 '#fdae61', 1 "
                                         "'#b2182b')\n"
                                       : "set palette defined (0 '#08306b', 0.5 '#6baed6', 1 "
                                         "'#f7fbff')\n";
  gp += strfmt(
      "set title '%s (mean over the other swept options)'\n"
      "set xlabel '%s'\nset ylabel '%s'\nset xtics %s\nset ytics %s\n"
      "set xrange [-0.5:%g]\nset yrange [-0.5:%g]\n%s"
      "set object 1 rectangle from graph 0,0 to graph 1,1 behind fillcolor rgb '#d9d9d9' "
      "fillstyle solid noborder\n"  // grey where a cell has no value
      "plot $map using 1:2:3 with image notitle, "
      "$map using 1:2:($4 > 0 ? sprintf('%s', $3) : $4 == 0 ? '%s' : 'not run') "
      "with labels notitle\nset output\n",
      ps.title.c_str(), c.phase_x.c_str(), c.phase_y.c_str(), tics(xs).c_str(), tics(ys).c_str(),
      xs.size() - 0.5, ys.size() - 0.5, cb.c_str(), ps.label_format.c_str(), ps.missing.c_str());
  try {
    run_gnuplot(c.out, ps.stem + ".gp", gp, {ps.stem + ".png"});
    return true;
  } catch (const InputError&) {  // no gnuplot, or it failed: the caller falls back
    return false;
  }
}

void write_phase_pictures(const SweepConfig& c, const std::vector<RunSpec>& runs,
                          const std::vector<RunResult>& res) {
  MatrixXd ended;
  const MatrixXd acc = phase_matrix(c, runs, res, final_test_acc, &ended);
  const std::string unit = c.command == "train" ? "epoch" : "iteration";
  const PhaseSpec final_spec{"phase", "final test accuracy", "%.2f", "-", true};
  const PhaseSpec trans_spec{"phase_transition", "first " + unit + " with test accuracy >= 0.99",
                             "%.0f", "never", false};
  if (write_phase_picture(c, acc, ended, final_spec)) {
    write_phase_picture(c, phase_matrix(c, runs, res, transition_099), ended, trans_spec);
    std::printf(
        "rfm sweep: %s/phase.png, phase_transition.png (final test accuracy and the "
        "%s of the transition over %s%s)\n",
        c.out.c_str(), unit.c_str(), c.phase_x.c_str(),
        c.phase_y.empty() ? "" : (" and " + c.phase_y).c_str());
    return;
  }
  const MatrixXd& A = acc;
  // Without gnuplot: the heatmap writer (white 0 to red 1; rows y, columns x).
  write_heatmap_png(c.out + "/phase.png",
                    A.unaryExpr([](double v) { return std::isfinite(v) ? v : 0.0; }), 1.0);
  std::printf(
      "rfm sweep: gnuplot failed or is missing (see %s/phase.log): phase.png without "
      "labels\n",
      c.out.c_str());
}

void write_summaries(const SweepConfig& c, const std::vector<RunSpec>& runs) {
  std::vector<RunResult> res;
  for (const RunSpec& r : runs) res.push_back(read_result(r));
  write_text_atomic(c.out + "/summary.csv", summary_csv(c, runs, res));
  auto count = [&](const char* status) {
    return size_t(std::count_if(res.begin(), res.end(),
                                [&](const RunResult& x) { return x.status == status; }));
  };
  const size_t interrupted = count("interrupted"), missing = count("missing");
  std::printf("rfm sweep: %s/summary.csv (%zu runs: %zu ended, %zu interrupted, %zu not run)\n",
              c.out.c_str(), runs.size(), runs.size() - interrupted - missing, interrupted,
              missing);
  if (!c.phase_x.empty()) write_phase_pictures(c, runs, res);
}

// This process's part of the sweep: runs its share of the grid, then (rank 0 or the only
// process) writes the summaries. Returns the number of failed runs of the whole sweep.
int sweep_share(const SweepOptions& o, const SweepConfig& c, const MpiWorld& w) {
  const auto [k, n] = w.size > 1 ? std::pair<int, int>{w.rank + 1, w.size} : parse_shard(o.shard);
  const std::vector<RunSpec> runs = expand_grid(c);
  std::vector<RunSpec> todo;
  int done = 0, mine = 0;
  for (const RunSpec& r : runs) {
    if (r.index % n != k - 1) continue;
    ++mine;
    if (run_state(r) == "done")
      ++done;
    else
      todo.push_back(r);
  }
  make_dirs(c.out);
  if (w.rank == 0) {
    std::ifstream in(o.config);  // a copy of the config beside its results
    write_text_atomic(c.out + "/sweep.json", std::string(std::istreambuf_iterator<char>(in), {}));
  }
  const int threads = threads_per_run(w, o.jobs);
  std::printf(
      "rfm sweep: %s, %zu runs of rfm %s%s; %d of them here, %d already done, %zu to run "
      "(%d at a time, %d threads each)\n",
      o.config.c_str(), runs.size(), c.command.c_str(),
      w.size > 1 ? strfmt(", MPI rank %d of %d (shard %d/%d)", w.rank, w.size, k, n).c_str()
      : n > 1    ? strfmt(", shard %d/%d", k, n).c_str()
                 : "",
      mine, done, todo.size(), o.jobs, threads);
  std::fflush(stdout);
  if (o.dry_run) {
    for (const RunSpec& r : runs)
      if (r.index % n == k - 1) std::printf("  %-11s %s\n", run_state(r).c_str(), r.name.c_str());
    return 0;
  }
  int failed = 0;
  if (!o.summary_only) {
    install_stop_handlers();
    failed = run_all(c, todo, o.jobs, threads);
  }
  mpi_wait_for_all(w);  // every rank's runs have ended (or stopped)
  failed = mpi_sum(w, failed);
  if (w.rank == 0) {
    write_summaries(c, runs);
    if (stop_requested())
      std::printf("rfm sweep: interrupted; run the same command again to continue\n");
  }
  std::fflush(stdout);  // before MPI_Finalize: mpirun may end the ranks of a stopped job soon
  return failed;
}

void run_sweep(const SweepOptions& o, const CLI::App& root) {
  // Errors in the options and the config are the same on every rank of an MPI launch: rank 0
  // reports them, the other ranks end quietly, so the launch prints one error line.
  const auto [launch_size, launch_rank] = launcher_world();
  SweepConfig c;
  try {
    RFM_CHECK(o.jobs >= 1, "--jobs %d must be >= 1", o.jobs);
    c = read_config(o.config, root);
    parse_shard(o.shard);
    RFM_CHECK(o.shard.empty() || launch_size <= 1,
              "--shard %s and mpirun -n %d both split the grid: use one of them", o.shard.c_str(),
              launch_size);
#ifndef RFM_HAVE_MPI
    RFM_CHECK(launch_size <= 1,
              "this rfm was built without MPI, so `mpirun -n %d rfm sweep` would run the whole "
              "grid %d times: rebuild with MPI (libopenmpi-dev, cmake -DRFM_MPI=ON) or run "
              "`rfm sweep --shard K/%d` in %d processes",
              launch_size, launch_size, launch_size, launch_size);
#endif
  } catch (const std::exception&) {
    if (launch_rank != 0) std::exit(1);
    throw;
  }
  const MpiWorld w = mpi_start();
  int failed = 0;
  try {
    failed = sweep_share(o, c, w);
  } catch (const std::exception& e) {
    if (!w.active) throw;
    mpi_abort(w, e.what());
  }
  mpi_finish(w);
  if (stop_requested()) std::exit(128 + stop_signal());
  RFM_CHECK(w.rank != 0 || failed == 0, "%d runs failed (their logs are in %s/logs)", failed,
            c.out.c_str());
}

}  // namespace

static void setup_sweep(CLI::App& app) {
  auto o = std::make_shared<SweepOptions>();
  CLI::App* sub = app.add_subcommand(
      "sweep",
      "A grid of rfm grok or rfm train runs from a JSON config: parallel, resumable, "
      "summary.csv and phase.png; `mpirun -n N rfm sweep` spreads it over MPI ranks");
  sub->footer(
      "Example config (docs/sweeps.md has all keys):\n"
      "  {\"command\": \"grok\", \"out\": \"runs/frac\", \"base\": {\"p\": 31, \"iters\": 30},\n"
      "   \"grid\": {\"frac\": [0.2, 0.3, 0.5], \"seed\": [0, 1]}}\n"
      "  rfm sweep frac.json --jobs 2");
  sub->add_option("config", o->config,
                  "JSON file: command, out, base, grid, phase (docs/sweeps.md)")
      ->required();
  sub->add_option("--jobs", o->jobs, "Runs at a time (each gets cores / jobs BLAS threads)")
      ->capture_default_str();
  sub->add_option("--shard", o->shard,
                  "K/N: run only the grid's runs i with i mod N = K - 1 (1 <= K <= N); under "
                  "mpirun -n N, rank r runs shard r+1/N");
  sub->add_flag("--summary-only", o->summary_only,
                "Run nothing: rewrite summary.csv and phase.png from the run directories");
  sub->add_flag("--dry-run", o->dry_run, "List the runs of this shard and their state");
  CLI::App* root = &app;
  sub->callback([o, root] { run_sweep(*o, *root); });
}

RFM_COMMAND(sweep, setup_sweep);

}  // namespace rfm
