// `rfm grok`: RFM on a modular-arithmetic or abelian group task and a random or symmetric
// (degenerate, moved-point) split; prints a live table of iterations and writes a run
// directory (README.md, "A run directory"). Experiments (issue 7): a checkpoint after every
// iteration, Ctrl-C stops cleanly after the current iteration, --resume continues a stopped or
// killed run with the same results, --jsonl for scripts, a progress line with ETA on a terminal,
// --report at the end. Published experiments (issue 8, docs/experiments.md): polynomial, multitask,
// composition and system tasks, --features random-circulant, --enforce-circulant, --augment
// commutative.
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "apps/commands.h"
#include "apps/report.h"
#include "apps/signals.h"
#include "rfm/rfm.h"

namespace rfm {

namespace {

struct GrokOptions {
  std::string task = "add";
  int p = 61;
  double frac = 0.5;
  uint64_t seed = 0;
  RfmOptions rfm;
  std::string out;     // default: runs/<task>-p<p>-<kernel>-<timestamp>
  std::string init;    // M_0 from an .npy file; identity when empty
  int save_every = 0;  // keep M_t every this many iterations (0: only M_final)
  int threads = 0;     // BLAS and OpenMP threads (0: all cores)
  bool force = false;  // overwrite an existing output directory
  bool quiet = false;  // no live table
  // --device: cpu, cuda, or auto (the GPU when usable). The default stays cpu until the CUDA
  // backend has been verified on a GPU (issue 4); then it should become auto.
  std::string device = "cpu";
  // Symmetric splits and group tasks (docs/algorithms.md 1.5; data.h DihedralGroup).
  std::string group;             // --task group: the factors, e.g. 3x7
  std::string split = "random";  // random or degenerate
  std::vector<int> reflections;  // k of the reflections sr^k (default: s)
  int move_train_to_test = 0, move_test_to_train = 0, move_pairs_to_test = 0;
  bool track_group = false;  // record d_alg and alpha of the strongest elements
  // Experiments (issue 7).
  std::string resume;            // continue the run in this directory (options from its config)
  bool jsonl = false;            // one JSON object per iteration on stdout instead of the table
  bool report = false;           // rfm report at the end
  bool keep_checkpoint = false;  // keep DIR/checkpoint after a completed run
  int pause_ms = 0;              // testing: sleep after each iteration (hidden option)
  // Published experiments (docs/algorithms.md 2.4, 2.5).
  std::string features = "agop";  // agop (RFM iterations) or random-circulant (one solve)
  std::string circulant_spectrum = "sqrtm";  // random-circulant: sqrtm, scaled or flat
  bool enforce_circulant = false;  // project M onto the block-circulant structure each update
  std::string augment = "none";    // none or commutative
  // Multitask: paired (one split of the (a, b) pairs for every task, as in the reference code)
  // or independent (each task's examples split on their own).
  std::string multitask_split = "paired";
};

std::string default_out(const GrokOptions& o) {
  std::string task = o.task;  // polynomials and lists: keep the name shell-friendly
  for (char& ch : task)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return timestamped_out(strfmt("%s-p%d-%s", task.c_str(), o.p, to_string(o.rfm.kernel.type)));
}

MatrixXd initial_matrix(const std::string& path, int d) {
  if (path.empty()) return MatrixXd::Identity(d, d);
  MatrixXd M = npy_load(path);
  RFM_CHECK(M.rows() == d && M.cols() == d, "--init %s is %dx%d, expected %dx%d for this task",
            path.c_str(), int(M.rows()), int(M.cols()), d, d);
  return 0.5 * (M + M.transpose());  // the metric only sees the symmetric part
}

void prepare_out_dir(const std::string& dir, bool force) {
  namespace fs = std::filesystem;
  RFM_CHECK(!fs::exists(dir) || force,
            "output directory %s exists (pass --force to overwrite, or another --out)",
            dir.c_str());
  make_dirs(dir);
}

nlohmann::json config_json(const GrokOptions& o, const Dataset& ds, const Split& s) {
  const RfmOptions& r = o.rfm;
  return {{"command", "grok"},
          {"version", RFM_VERSION},
          {"task", o.task},
          {"p", o.p},
          {"frac", o.frac},
          {"seed", o.seed},
          {"n_train", s.train.size()},
          {"n_test", s.test.size()},
          {"d", ds.inputs.d},
          {"c", ds.c},
          {"kernel", to_string(r.kernel.type)},
          {"bandwidth", r.kernel.bandwidth},
          {"ridge", r.solve.ridge},
          {"iters", r.iters},
          {"power", r.power},
          {"centering", r.agop.centering ? "on" : "off"},
          {"normalize", to_string(r.normalize)},
          {"init", o.init.empty() ? "identity" : o.init},
          {"precision", to_string(r.solve.precision)},
          {"agop_path", to_string(r.agop.path)},
          {"agop_block", r.agop.block},
          {"agop_samples", r.agop_samples},
          {"backend", to_string(r.backend)},
          {"blas", blas_description()},
          {"threads", blas_threads()},
          {"save_every", o.save_every},
          {"features", o.features},
          {"circulant_spectrum", o.circulant_spectrum},
          {"enforce_circulant", o.enforce_circulant},
          {"augment", o.augment},
          {"multitask_split", o.multitask_split}};
}

std::string table_header() {
  return " iter  train_acc  test_acc  train_mse  test_mse  circ_dev  circ_rev   sec  solver\n";
}

std::string table_row(const IterationStats& s) {
  return strfmt("%5d  %9.4f  %8.4f  %9.2e  %8.2e  %8.2e  %8.2e  %5.2f  %s%s\n", s.iter, s.train_acc,
                s.test_acc, s.train_mse, s.test_mse, s.circ_dev, s.circ_dev_rev, s.seconds,
                s.solver.c_str(), s.fallback ? " (fallback)" : "");
}

// --- Tasks, symmetric splits and group tracking (docs/algorithms.md 1.5 and 4)
// ---------------------

// The data set of --task, its invariance group and the split with the requested moves.
struct TaskSetup {
  Dataset ds;
  AbelianGroup abelian;  // --task group with an abelian product --group only
  DihedralGroup G;       // built when a split, a move or --track-group needs it
  bool has_group = false;
  std::vector<int> tracked;  // elements whose alpha --track-group records
  Split split;
};

bool needs_group(const GrokOptions& o) {
  return o.split != "random" || o.move_pairs_to_test > 0 || o.track_group;
}

// add, sub, mul, div: the tasks with a circulant block structure (docs/algorithms.md 3.1 and 2.4).
bool is_binary_op(const std::string& task) {
  return task == "add" || task == "sub" || task == "mul" || task == "div";
}

// Moves happen in the order train->test, test->train, pairs->test; each has its own seed
// derived from --seed, so one move never changes which points another picks.
void apply_moves(const GrokOptions& o, TaskSetup& t) {
  const uint64_t base = o.seed * 1000003ULL;
  if (o.move_train_to_test > 0) move_train_to_test(t.split, o.move_train_to_test, base + 1);
  if (o.move_test_to_train > 0) move_test_to_train(t.split, o.move_test_to_train, base + 2);
  if (o.move_pairs_to_test > 0) {
    const int k = o.reflections.empty() ? t.G.identity_param : o.reflections.front();
    move_pairs_to_test(t.split, t.ds, t.G, t.G.reflection(k), o.move_pairs_to_test, base + 3);
  }
}

TaskSetup make_task_setup(GrokOptions& o) {
  TaskSetup t;
  if (o.task == "group") {
    RFM_CHECK(!o.group.empty(), "--task group needs --group (e.g. 3x7, S4, D5 or table:FILE)");
    if (is_abelian_product_spec(o.group)) {
      t.abelian = parse_abelian_group(o.group);
      t.ds = make_group_task(t.abelian);
    } else {
      t.ds = make_group_task(parse_group(o.group));  // t.abelian stays empty
    }
    o.p = t.ds.p;  // symbols per slot, used by the measures and the run name
  } else {
    RFM_CHECK(o.group.empty(), "--group %s needs --task group (not %s)", o.group.c_str(),
              o.task.c_str());
    t.ds = make_task(o.task, o.p);
  }
  t.has_group = needs_group(o);
  RFM_CHECK(!t.has_group || o.task == "group" || is_binary_op(o.task),
            "--split, --move-pairs-to-test and --track-group need add, sub, mul, div or group "
            "(not %s)",
            o.task.c_str());
  RFM_CHECK(!t.has_group || o.task != "group" || !t.abelian.factors.empty(),
            "--split, --move-pairs-to-test and --track-group need an abelian product --group "
            "such as 3x7 (Dih(A) and its symmetric splits are defined for abelian tasks only), "
            "not %s",
            o.group.c_str());
  if (t.has_group) t.G = dihedral_group_of(t.ds, &t.abelian);
  if (o.split == "degenerate") {
    t.split = degenerate_split(
        t.ds, t.G, o.reflections.empty() ? std::vector<int>{t.G.identity_param} : o.reflections);
  } else {
    RFM_CHECK(o.reflections.empty(), "--reflections needs --split degenerate");
    const bool paired = multitask_names(t.ds).size() > 1 && o.multitask_split == "paired";
    t.split = paired ? paired_multitask_split(t.ds, o.frac, o.seed)
                     : random_split(t.ds.N(), o.frac, o.seed);
  }
  apply_moves(o, t);
  if (o.augment == "commutative") augment_commutative(t.split, t.ds);
  RFM_CHECK(!t.split.test.empty() && !t.split.train.empty(),
            "the split has %zu training and %zu test points (both must be non-empty)",
            t.split.train.size(), t.split.test.size());
  if (t.has_group) {
    t.tracked = {0};
    for (int k : o.reflections.empty() ? std::vector<int>{t.G.identity_param} : o.reflections)
      t.tracked.push_back(t.G.reflection(k));
  }
  return t;
}

std::string split_description(const GrokOptions& o, const TaskSetup& t) {
  std::string s = o.split;
  if (o.split == "degenerate") {
    s += " for";
    for (size_t i = 1; i < t.tracked.size(); ++i) s += " " + t.G.name(t.tracked[i]);
  }
  if (o.move_train_to_test) s += strfmt(", %d train->test", o.move_train_to_test);
  if (o.move_test_to_train) s += strfmt(", %d test->train", o.move_test_to_train);
  if (o.move_pairs_to_test) s += strfmt(", %d symmetric pairs->test", o.move_pairs_to_test);
  if (o.augment == "commutative") s += ", commutative augmentation";
  if (multitask_names(t.ds).size() > 1)
    s += o.multitask_split == "paired" ? ", (a, b) pairs shared by the tasks"
                                       : ", each task split on its own";
  return s;
}

nlohmann::json with_symmetry_config(nlohmann::json j, const GrokOptions& o) {
  j["group"] = o.group;
  j["split"] = o.split;
  j["reflections"] = o.reflections;
  j["move_train_to_test"] = o.move_train_to_test;
  j["move_test_to_train"] = o.move_test_to_train;
  j["move_pairs_to_test"] = o.move_pairs_to_test;
  j["track_group"] = o.track_group;
  return j;
}

// Circulant deviation of the bottom-left block; abelian products use their own group law.
// Other tasks (polynomials, multitask, composition, system) have no such block: NaN.
void circ_measure(const TaskSetup& t, const MatrixXd& M, IterationStats& s) {
  if (t.ds.task != "group" && !is_binary_op(t.ds.task)) return;
  if (t.ds.task == "group" && t.abelian.factors.empty()) return;  // S_n, D_n, tables: no block
  if (t.ds.task == "group") {
    BlockLayout L;
    L.q = t.ds.p;
    L.group = t.abelian;
    for (int u = 0; u < t.ds.p; ++u) L.symbols.push_back(u);
    const MatrixXd A = slot_block(M, L, 1, 0);
    s.circ_dev = group_circulant_deviation(A, t.abelian, false);
    s.circ_dev_rev = group_circulant_deviation(A, t.abelian, true);
    return;
  }
  const MatrixXd A = task_block(M, t.ds.p, op_from_string(t.ds.task));
  s.circ_dev = circulant_deviation(A, false);
  s.circ_dev_rev = circulant_deviation(A, true);
}

// --track-group: d_alg and alpha of the identity and the split's reflections, and the largest
// |alpha| of every other element, all of M normalised by its diagonal (as rfm inspect does).
void track_group(const TaskSetup& t, const MatrixXd& M, IterationStats& s) {
  const MatrixXd Mn = normalize_by_diagonal(M);
  const VectorXd alpha = group_coefficients(Mn, t.G);
  s.extra.push_back({"d_alg", group_algebra_distance(Mn, t.G)});
  double other = 0;
  for (int e = 0; e < t.G.elements(); ++e)
    if (std::find(t.tracked.begin(), t.tracked.end(), e) == t.tracked.end())
      other = std::max(other, std::abs(alpha(e)));
  for (int e : t.tracked) s.extra.push_back({"alpha_" + t.G.name(e), alpha(e)});
  s.extra.push_back({"alpha_max_other", other});
}

std::string track_header(const TaskSetup& t, bool track) {
  if (!track) return "";
  std::string h = "     d_alg";
  for (int e : t.tracked) h += strfmt(" %9s", ("a(" + t.G.name(e) + ")").c_str());
  return h + "   a(other)";
}

// The live row with the tracked values inserted before its newline.
std::string with_track_cells(std::string row, const IterationStats& s) {
  std::string cells;
  for (const auto& [name, v] : s.extra)
    if (name == "d_alg" || name.rfind("alpha_", 0) == 0) cells += strfmt(" %9.2e", v);
  for (const auto& [name, v] : s.extra)
    if (name.rfind("test_acc_", 0) == 0) cells += strfmt(" %9.4f", v);
  if (!cells.empty()) row.insert(row.size() - 1, "  |" + cells);
  return row;
}

// --- Resume, progress and control (issue 7) -------------------------------------------------

// Options that define a run: with --resume they come from its config.json and may not be given.
const char* const kRunDefining[] = {"--task",
                                    "--p",
                                    "--frac",
                                    "--seed",
                                    "--kernel",
                                    "--bandwidth",
                                    "--ridge",
                                    "--power",
                                    "--centering",
                                    "--normalize",
                                    "--precision",
                                    "--agop-path",
                                    "--agop-samples",
                                    "--agop-block",
                                    "--init",
                                    "--out",
                                    "--force",
                                    "--group",
                                    "--split",
                                    "--reflections",
                                    "--move-train-to-test",
                                    "--move-test-to-train",
                                    "--move-pairs-to-test",
                                    "--track-group",
                                    "--features",
                                    "--circulant-spectrum",
                                    "--enforce-circulant",
                                    "--augment",
                                    "--multitask-split"};

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  RFM_CHECK(in.good(), "cannot read %s", path.c_str());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    RFM_CHECK(false, "%s is not valid JSON: %s", path.c_str(), e.what());
  }
  return {};
}

// The options of the run in o.resume (its config.json), with the ones that may change
// (--iters, --threads, --save-every, output and control flags) taken from the command line.
GrokOptions resumed_options(const GrokOptions& cli, const CLI::App& sub) {
  for (const char* name : kRunDefining)
    RFM_CHECK(sub.count(name) == 0,
              "%s cannot be combined with --resume (the run's config.json fixes it)", name);
  const std::string dir = cli.resume;
  const nlohmann::json c = read_json_file(dir + "/config.json");
  RFM_CHECK(c.value("command", "") == "grok", "--resume %s: config.json is not from rfm grok",
            dir.c_str());
  GrokOptions o = cli;
  try {
    o.task = c.at("task");
    o.p = c.at("p");
    o.frac = c.at("frac");
    o.seed = c.at("seed");
    o.rfm.kernel.type = kernel_from_string(c.at("kernel"));
    o.rfm.kernel.bandwidth = c.at("bandwidth");
    o.rfm.solve.ridge = c.at("ridge");
    if (sub.count("--iters") == 0) o.rfm.iters = c.at("iters");
    o.rfm.power = c.at("power");
    o.rfm.agop.centering = c.at("centering") == "on";
    o.rfm.normalize = normalize_from_string(c.at("normalize"));
    o.init = c.at("init") == "identity" ? "" : c.at("init").get<std::string>();
    o.rfm.solve.precision = precision_from_string(c.at("precision"));
    o.rfm.agop.path = agop_path_from_string(c.at("agop_path"));
    o.rfm.agop.block = c.at("agop_block");
    o.rfm.agop_samples = c.at("agop_samples");
    if (sub.count("--save-every") == 0) o.save_every = c.at("save_every");
    o.group = c.at("group");
    o.split = c.at("split");
    o.reflections = c.at("reflections").get<std::vector<int>>();
    o.move_train_to_test = c.at("move_train_to_test");
    o.move_test_to_train = c.at("move_test_to_train");
    o.move_pairs_to_test = c.at("move_pairs_to_test");
    o.track_group = c.at("track_group");
    o.features = c.value("features", "agop");  // absent in runs of earlier versions
    // "uniform" (runs before sqrtm existed) was the construction now called scaled.
    o.circulant_spectrum = c.value("circulant_spectrum", "scaled");
    if (o.circulant_spectrum == "uniform") o.circulant_spectrum = "scaled";
    o.enforce_circulant = c.value("enforce_circulant", false);
    o.augment = c.value("augment", "none");
    o.multitask_split = c.value("multitask_split", "independent");  // the split before it existed
  } catch (const nlohmann::json::exception& e) {
    RFM_CHECK(false, "--resume %s: config.json lacks a field or has a wrong type: %s", dir.c_str(),
              e.what());
  }
  o.out = dir;
  return o;
}

// The split of a resumed run must be the one on disk (the same options give the same split).
void check_same_split(const std::string& dir, const Split& split) {
  const std::string path = dir + "/split.npz";
  auto same = [](const std::vector<int64_t>& a, const std::vector<int>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  };
  RFM_CHECK(same(npz_load_ints(path, "train"), split.train) &&
                same(npz_load_ints(path, "test"), split.test),
            "--resume %s: split.npz differs from the split its config.json produces", dir.c_str());
}

std::string summary_termination(const std::string& dir) {
  const std::string path = dir + "/summary.json";
  if (!std::filesystem::exists(path)) return "";
  return read_json_file(path).value("termination", "");
}

// "1:05:07", "4:09" or "12 s".
std::string duration_text(double s) {
  const long t = std::lround(std::max(s, 0.0));
  if (t < 60) return strfmt("%ld s", t);
  if (t < 3600) return strfmt("%ld:%02ld", t / 60, t % 60);
  return strfmt("%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
}

// The progress line under the table on a terminal: replaced by the next row.
struct ProgressLine {
  bool on = false;
  int first = 0, total = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  void clear() const {
    if (on) std::printf("\r\033[K");
  }
  void show(int iter) const {
    if (!on) return;
    const int done = iter + 1 - first;
    const double el =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double per = el / std::max(done, 1);
    std::printf("  [%d/%d] %.2f s/iter, elapsed %s, ETA %s", iter + 1, total, per,
                duration_text(el).c_str(), duration_text(per * (total - iter - 1)).c_str());
  }
};

// Where the run starts: a fresh directory, or the checkpoint of the run being resumed.
struct RunStart {
  RfmState state;
  bool resumed = false;
};

RunStart start_fresh(GrokOptions& o, const TaskSetup& task) {
  RunStart r;
  r.state.M_next =
      o.features == "random-circulant"
          ? random_circulant_features(o.p, op_from_string(o.task), o.seed,
                                      circulant_spectrum_from_string(o.circulant_spectrum))
          : initial_matrix(o.init, task.ds.inputs.d);
  if (o.out.empty()) o.out = default_out(o);
  if (o.resume.empty()) prepare_out_dir(o.out, o.force);
  std::filesystem::remove_all(o.out + "/checkpoint");  // a --force run must not resume old state
  write_text_atomic(o.out + "/config.json",
                    with_symmetry_config(config_json(o, task.ds, task.split), o).dump(2) + "\n");
  save_split(o.out + "/split.npz", task.ds, task.split);
  return r;
}

RunStart start_resumed(GrokOptions& o, const TaskSetup& task) {
  check_same_split(o.out, task.split);
  if (!has_checkpoint(o.out)) {
    RFM_CHECK(summary_termination(o.out).empty(),
              "--resume %s: the run has no checkpoint left (a completed run removes it unless "
              "--keep-checkpoint was given)",
              o.out.c_str());
    return start_fresh(o, task);  // killed before its first iteration ended: start again
  }
  RunStart r{read_checkpoint(o.out), true};
  RFM_CHECK(o.rfm.iters >= r.state.next_iter,
            "--iters %d is below the %d iterations --resume %s has done", o.rfm.iters,
            r.state.next_iter, o.out.c_str());
  nlohmann::json cfg = read_json_file(o.out + "/config.json");
  cfg["iters"] = o.rfm.iters;
  cfg["save_every"] = o.save_every;
  write_text_atomic(o.out + "/config.json", cfg.dump(2) + "\n");
  return r;
}

// The header's precision; auto names its choice (fp64 on the CUDA backend, which is fp64 only).
std::string solve_precision_note(const GrokOptions& o, size_t n, int c) {
  const Precision p = o.rfm.solve.precision;
  if (o.rfm.backend == Backend::cuda && p == Precision::automatic) return "auto: fp64 (CUDA)";
  return precision_note(p, double(n), c);
}

std::string run_header(const GrokOptions& o, const TaskSetup& task, const RunStart& start) {
  const Split& split = task.split;
  std::string head =
      strfmt("rfm grok: %s mod %d, frac %g (%zu train, %zu test), seed %llu\n", o.task.c_str(), o.p,
             o.frac, split.train.size(), split.test.size(), (unsigned long long)o.seed);
  head += settings_line(
      "kernel", strfmt("%s, bandwidth %g, ridge %g, power %g, centering %s",
                       to_string(o.rfm.kernel.type), o.rfm.kernel.bandwidth, o.rfm.solve.ridge,
                       o.rfm.power, o.rfm.agop.centering ? "on" : "off"));
  head += settings_line("backend",
                        strfmt("%s, %s, AGOP path %s", to_string(o.rfm.backend),
                               solve_precision_note(o, split.train.size(), task.ds.c).c_str(),
                               to_string(o.rfm.agop.path)));
  head += settings_line("blas", blas_description());
  const Inputs& in = task.ds.inputs;
  head += settings_line("memory", memory_estimate_note(o.rfm.backend, int(split.train.size()), in.d,
                                                       task.ds.c, in.one_hot(), int(in.hot.cols()),
                                                       {o.rfm.kernel, o.rfm.solve, o.rfm.agop}));
  head += settings_line("split", split_description(o, task));
  if (o.features != "agop" || o.enforce_circulant)
    head += settings_line(
        "features", o.features == "random-circulant"
                        ? "random circulant M* = [[A, C^T], [C, A]], " + o.circulant_spectrum +
                              ": one solve, no iterations"
                        : "AGOP, circulant structure enforced at every update (App. F)");
  head += settings_line("output", o.out);
  if (start.resumed)
    head += settings_line("resume", strfmt("from iteration %d of %d (checkpoint)",
                                           start.state.next_iter, o.rfm.iters));
  return head;
}

void print_header(const GrokOptions& o, const TaskSetup& task, const RunStart& start) {
  if (o.quiet || o.jsonl) return;
  std::string th = table_header();
  std::string tracks = track_header(task, o.track_group);
  if (task.ds.inputs.hot.cols() == 3 && multitask_names(task.ds).size() > 1)
    for (const std::string& name : multitask_names(task.ds))
      tracks += strfmt(" %9s", ("acc(" + name.substr(0, 4) + ")").c_str());
  th.insert(th.size() - 1, tracks.empty() ? "" : "  |" + tracks);
  std::printf("%s\n%s", run_header(o, task, start).c_str(), th.c_str());
  if (start.resumed && start.state.next_iter > 0)
    std::printf("  ... iterations 0-%d restored from the checkpoint\n", start.state.next_iter - 1);
  std::fflush(stdout);
}

// --features random-circulant and --enforce-circulant (docs/algorithms.md 2.4, 2.5): binary ops
// only.
void configure_experiment(GrokOptions& o) {
  const bool random = o.features == "random-circulant";
  if (!random && !o.enforce_circulant) return;
  RFM_CHECK(is_binary_op(o.task),
            "--features random-circulant and --enforce-circulant need --task add, sub, mul or "
            "div (not %s)",
            o.task.c_str());
  if (o.enforce_circulant) {
    o.rfm.enforce_circulant_p = o.p;
    o.rfm.enforce_circulant_op = op_from_string(o.task);
  }
  if (random) {
    RFM_CHECK(o.init.empty(), "--init %s cannot be combined with --features random-circulant",
              o.init.c_str());
    o.rfm.iters = 1;  // one solve with M*, no iterations
  }
}

// Multitask: the test accuracy of each task becomes a metrics column.
void add_task_groups(const TaskSetup& t, RfmProblem& pb) {
  const std::vector<std::string> names = multitask_names(t.ds);
  if (names.size() < 2) return;
  const std::vector<int> task_of = task_of_examples(t.ds);
  pb.group_names = names;
  for (int i : t.split.test) pb.test_group.push_back(task_of[i]);
}

// Ends an interrupted run: the summary says so and how to continue; exit status 128 + signal.
[[noreturn]] void exit_interrupted(const GrokOptions& o, RfmSummary& sum) {
  const int sig = stop_signal();
  sum.termination = Termination::interrupted;
  sum.message = strfmt(
      "interrupted by signal %d after iteration %d; continue with rfm grok "
      "--resume %s",
      sig, sum.iterations.empty() ? -1 : sum.iterations.back().iter, o.out.c_str());
  write_run_results(o.out, sum);
  if (o.report) write_report(o.out, {});
  std::fprintf(o.jsonl ? stderr : stdout, "%s\n%s\n", sum.brief_report().c_str(),
               sum.message.c_str());
  std::fflush(stdout);
  throw StopExit{128 + sig};
}

void run_grok(GrokOptions o, const CLI::App& sub) {
  const bool resuming = !o.resume.empty();
  if (resuming) o = resumed_options(o, sub);
  configure_experiment(o);
  std::string device_notice;  // --device auto without a usable GPU: one line on stderr
  o.rfm.backend = backend_from_device(o.device, o.rfm.solve.precision, &device_notice);
  if (!device_notice.empty()) std::fprintf(stderr, "rfm grok: %s\n", device_notice.c_str());
  o.rfm.validate();
  RFM_CHECK(o.save_every >= 0, "--save-every %d must be >= 0", o.save_every);
  RFM_CHECK(o.threads >= 0, "--threads %d must be >= 0", o.threads);
  RFM_CHECK(o.pause_ms >= 0, "--pause-ms %d must be >= 0", o.pause_ms);
  if (o.threads > 0) {
    set_blas_threads(o.threads);
    omp_set_num_threads(o.threads);
  }
  if (resuming && summary_termination(o.out) == "completed" && sub.count("--iters") == 0) {
    std::printf("rfm grok: %s is complete; nothing to resume\n", o.out.c_str());
    return;
  }
  const TaskSetup task = make_task_setup(o);
  const Dataset& ds = task.ds;
  const Split& split = task.split;
  RFM_CHECK(!split.test.empty(), "--frac %g leaves no test points", o.frac);
  // Refuse before allocating: the targets (all pairs x c) and the machine's buffers.
  check_host_memory(8.0 * ds.N() * ds.c +
                    cpu_memory_estimate(int(split.train.size()), ds.inputs.d, ds.c,
                                        ds.inputs.one_hot(),
                                        {o.rfm.kernel, o.rfm.solve, o.rfm.agop}));
  RfmProblem pb{ds.inputs.rows(split.train), ds.inputs.rows(split.test),
                one_hot_labels(ds.labels, split.train, ds.c),
                one_hot_labels(ds.labels, split.test, ds.c)};
  add_task_groups(task, pb);
  const RunStart start = resuming ? start_resumed(o, task) : start_fresh(o, task);
  print_header(o, task, start);
  install_stop_handlers();

  std::vector<IterationStats> rows = start.state.iterations;
  ProgressLine progress;
  progress.on = !o.quiet && !o.jsonl && isatty(STDOUT_FILENO);
  progress.first = start.state.next_iter;
  progress.total = o.rfm.iters;
  IterationCallback live = [&](const IterationStats& s, const MatrixXd& M) {
    rows.push_back(s);
    progress.clear();
    if (o.jsonl) std::printf("%s\n", iteration_json(s).dump().c_str());
    if (!o.quiet && !o.jsonl) std::printf("%s", with_track_cells(table_row(s), s).c_str());
    if (!o.quiet && !o.jsonl && s.fallback) std::printf("       note: %s\n", s.note.c_str());
    if (s.iter + 1 < o.rfm.iters) progress.show(s.iter);
    std::fflush(stdout);
    write_text_atomic(o.out + "/metrics.csv", metrics_csv(rows));
    if (o.save_every > 0 && s.iter % o.save_every == 0)
      npy_save(o.out + strfmt("/M_%04d.npy", s.iter), M);
    return Decision::proceed;
  };
  IterationCallback control = [&](const IterationStats& s, const MatrixXd& M) {
    if (o.pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o.pause_ms));
    const IterationHook& hook = iteration_hook();
    if (hook && !hook(s, M)) return Decision::stop;
    return stop_requested() ? Decision::stop : Decision::proceed;
  };
  Measure measure = [&](const MatrixXd& M, IterationStats& s) {
    circ_measure(task, M, s);
    if (o.track_group) track_group(task, M, s);
  };
  CheckpointWriter writer(o.out, start.resumed ? start.state.next_iter + 1 : 0);
  CheckpointCallback checkpoint = [&](const RfmState& st) { writer.write(st); };
  RfmSummary sum = run_rfm(o.rfm, pb, start.state, {live, control}, measure, checkpoint);
  progress.clear();
  if (stop_requested() && sum.termination == Termination::stopped) exit_interrupted(o, sum);
  write_run_results(o.out, sum);
  if (o.report) write_report(o.out, {});
  if (sum.termination == Termination::completed && !o.keep_checkpoint)
    std::filesystem::remove_all(o.out + "/checkpoint");
  std::fprintf(o.jsonl ? stderr : stdout, "%s\n", sum.brief_report().c_str());
  if (sum.termination == Termination::numerical_failure)
    throw Error(sum.message + " (results so far are in " + o.out + ")");
}

}  // namespace

static void setup_grok(CLI::App& app) {
  auto o = std::make_shared<GrokOptions>();
  CLI::App* sub = app.add_subcommand(
      "grok", "RFM on a modular arithmetic task: live table of iterations, run directory");
  sub->footer(
      "Examples:\n"
      "  rfm grok                                   the standard run: add mod 61, frac 0.5, 50 "
      "iterations\n"
      "  rfm grok --task div --p 31 --frac 0.4 --kernel laplace --bandwidth 10\n"
      "  rfm grok --resume runs/add-p61-gaussian-TIME --iters 80   continue a stopped run");
  sub->add_option("--task", o->task,
                  "add, sub, mul, div (div: input (a*b, b), label a), group (see --group), system "
                  "(input (a+b, "
                  "a-b), label a), compose:OP1,OP2 ((a OP1 b) OP2 c), a polynomial in x and y "
                  "(\"x^3+x*y\"), or a "
                  "comma list of these binary tasks (multitask, e.g. add,x^2+y^2)")
      ->capture_default_str();
  sub->add_option("--p", o->p, "Modulus (a prime)")->capture_default_str();
  sub->add_option("--frac", o->frac, "Fraction of all pairs used for training, in (0, 1]")
      ->capture_default_str();
  sub->add_option("--seed", o->seed, "Seed of the random split")->capture_default_str();
  add_enum_option(*sub, "--kernel", o->rfm.kernel.type,
                  {{"gaussian", KernelType::gaussian},
                   {"gaussian-paper", KernelType::gaussian_paper},
                   {"laplace", KernelType::laplace},
                   {"quadratic", KernelType::quadratic}},
                  "Kernel: gaussian exp(-d^2/(2L^2)) (reference code), gaussian-paper "
                  "exp(-d^2/L), laplace exp(-d/L), quadratic (x^T M z)^2");
  sub->add_option("--bandwidth", o->rfm.kernel.bandwidth, "Bandwidth L of the radial kernels")
      ->capture_default_str();
  sub->add_option("--ridge", o->rfm.solve.ridge, "Ridge added to K (0: interpolation)")
      ->capture_default_str();
  sub->add_option("--iters", o->rfm.iters, "Number of RFM iterations")->capture_default_str();
  sub->add_option("--power", o->rfm.power, "Exponent s of the update M = AGOP^s")
      ->capture_default_str();
  add_enum_option(*sub, "--centering", o->rfm.agop.centering, {{"on", true}, {"off", false}},
                  "Subtract the mean Jacobian before the AGOP");
  add_enum_option(*sub, "--normalize", o->rfm.normalize,
                  {{"none", Normalize::none}, {"max", Normalize::max}},
                  "Divide the AGOP by its largest entry before the power");
  add_precision_option(*sub, o->rfm.solve.precision);
  add_enum_option(*sub, "--agop-path", o->rfm.agop.path,
                  {{"auto", AgopPath::automatic},
                   {"dense", AgopPath::dense},
                   {"onehot", AgopPath::onehot},
                   {"hadamard", AgopPath::hadamard}},
                  "AGOP route: onehot exploits one-hot inputs, dense is the reference, hadamard "
                  "rewrites it through W W^T");
  sub->add_option("--agop-samples", o->rfm.agop_samples,
                  "AGOP over a random subset of this many training points (0: all)")
      ->capture_default_str();
  sub->add_option("--agop-block", o->rfm.agop.block,
                  "Most AGOP points per block (bounds memory; blocks are cut equal)")
      ->capture_default_str();
  sub->add_option("--init", o->init, "Initial feature matrix M_0 (.npy, d x d); default I");
  sub->add_option("--out", o->out, "Run directory (default runs/<task>-p<p>-<kernel>-<time>)");
  sub->add_option("--save-every", o->save_every, "Also save M_t every N iterations (0: never)")
      ->capture_default_str();
  sub->add_option("--threads", o->threads, "BLAS/OpenMP threads (0: all cores)")
      ->capture_default_str();
  sub->add_flag("--force", o->force, "Overwrite an existing run directory");
  sub->add_flag("--quiet", o->quiet, "No live table");
  add_choice_option(*sub, "--device", o->device, {"auto", "cpu", "cuda"},
                    "cpu, cuda, or auto (the GPU when usable, else the CPU)");
  sub->add_option("--group", o->group,
                  "--task group: abelian product Z_n1 x ... x Z_nk as n1xn2x... (e.g. 3x7), S<n> "
                  "(n <= 6), D<n> (order 2n), perm:G1;G2 (image lists, e.g. perm:1,0,2;1,2,0) or "
                  "table:FILE (Cayley table, .npy or .csv)");
  add_choice_option(*sub, "--split", o->split, {"random", "degenerate"},
                    "random (--frac, --seed) or degenerate (test = fixed points of --reflections)");
  sub->add_option("--reflections", o->reflections,
                  "k of the reflections sr^k of a degenerate split, e.g. 0,16 (default: s)")
      ->delimiter(',');
  sub->add_option("--move-train-to-test", o->move_train_to_test,
                  "Move N random training points to test (seeded from --seed)")
      ->capture_default_str();
  sub->add_option("--move-test-to-train", o->move_test_to_train,
                  "Move N random test points to train (seeded from --seed)")
      ->capture_default_str();
  sub->add_option("--move-pairs-to-test", o->move_pairs_to_test,
                  "Move N symmetric pairs {x, sr^k x} (k: first of --reflections) to test")
      ->capture_default_str();
  sub->add_flag("--track-group", o->track_group,
                "Record d_alg and alpha of r^0, the split's reflections and the strongest other "
                "element per iteration (M normalised by its diagonal; extra metrics.csv columns)");
  sub->add_option("--resume", o->resume,
                  "Continue the interrupted or killed run in this directory from its last "
                  "completed iteration (options from its config.json; --iters may extend it)");
  sub->add_flag("--jsonl", o->jsonl,
                "One JSON object per iteration on stdout instead of the table");
  sub->add_flag("--report", o->report, "Write pictures and report.html at the end (rfm report)");
  sub->add_flag("--keep-checkpoint", o->keep_checkpoint,
                "Keep DIR/checkpoint (M_t of every iteration) after a completed run");
  add_choice_option(*sub, "--features", o->features, {"agop", "random-circulant"},
                    "agop (RFM iterations) or random-circulant (one solve with a feature matrix "
                    "from M* = [[A, C^T], [C, A]], C a random circulant; add, sub, mul, div)");
  add_choice_option(*sub, "--circulant-spectrum", o->circulant_spectrum,
                    {"sqrtm", "scaled", "flat"},
                    "random-circulant: sqrtm (the authors' code: C's entries uniform on [0, 1], "
                    "mean removed, M = Re(sqrtm(M*))), scaled (the same C scaled to spectral norm "
                    "1, M = M*) or flat (every Fourier mode of C with modulus 1, random phases, M "
                    "= M*: the spectrum RFM learns)");
  sub->add_flag("--enforce-circulant", o->enforce_circulant,
                "After every update normalise M by its diagonal and project it onto [[I - 11^T/p, "
                "C^T], [C, I - 11^T/p]], C circulant from its first column (add, sub, mul, div)");
  add_choice_option(*sub, "--augment", o->augment, {"none", "commutative"},
                    "commutative: add (b, a) to the training set for every training pair (a, b)");
  add_choice_option(
      *sub, "--multitask-split", o->multitask_split, {"paired", "independent"},
      "Multitask (--task A,B): paired (a pair (a, b) trains every task or none, as in "
      "the reference code of Mallinar et al.) or independent (all examples of all "
      "tasks shuffled together)");
  sub->add_option("--pause-ms", o->pause_ms, "Testing: sleep after each iteration")->group("");
  sub->callback([o, sub] { run_grok(*o, *sub); });
}

RFM_COMMAND(grok, setup_grok);

}  // namespace rfm
