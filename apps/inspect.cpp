// `rfm inspect`: what structure a feature matrix holds (docs/algorithms.md 3 and 4). Reads
// an .npy file or a run directory (M_final.npy, config.json, split.npz), and reports the
// strongest elements of the task's invariance group in M (Dih(A) for modular and abelian
// tasks, G acting by (a g, g^-1 b) for a group given by its Cayley table, the label-keeping
// affine slot maps for polynomials), the distances to its group algebra and to the commutant
// of a subgroup, the circulant deviation and spectrum of each block (Fourier over an abelian
// group, group-algebra coefficients over a Cayley table), feature norms on held-out points,
// and on request the orbit test; as text or --json, with PNG heatmaps (--png).
//
// Normalisation (project definition): by default M is first scaled to D^-1/2 M D^-1/2 with
// D = diag M, so that alpha of the identity is 1 and a degenerate run's M ~ c (I - R_s) reads
// as alpha(r^0) = 1, alpha(s) = -1 (Bernal et al. report coefficients on that scale).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include "apps/commands.h"
#include "rfm/rfm.h"

namespace rfm {

namespace {

namespace fs = std::filesystem;

// Verdict thresholds (project definitions, chosen from measured runs: a random matrix has a
// circulant deviation near 1/q, a grokked block about 1e-5).
constexpr double kCirculantTol = 1e-3;  // largest block deviation of a block-circulant M
constexpr double kSparseShare = 0.25;   // dominant frequencies / classes of a sparse block
constexpr double kAlgebraTol = 0.05;    // d_alg of a matrix in the group algebra

struct InspectOptions {
  std::string input;  // .npy or run directory
  std::string task;   // add, sub, mul, div, group (default: config.json)
  int p = 0;          // modulus (default: config.json)
  std::string group;  // --task group factors (default: config.json)
  std::string normalize = "diag";
  int top = 8;           // strongest elements listed
  std::string subgroup;  // generators of the commutant's subgroup (default: s, or all)
  bool json = false;
  std::string png;    // directory for heatmaps; none when empty
  int orbit = -1;     // k of sr^k for the orbit test; -1: none
  double frac = 0.5;  // orbit test split
  uint64_t seed = 0;
  std::string kernel;    // orbit test kernel (default: config.json or gaussian)
  double bandwidth = 0;  // (default: config.json or 2.5)
};

// --- Input ----------------------------------------------------------------------------------

struct Loaded {
  MatrixXd M;
  std::string matrix_path, run_dir;  // run_dir: where config.json / split.npz were found
  nlohmann::json config;
};

Loaded load_input(const std::string& input) {
  Loaded L;
  RFM_CHECK(fs::exists(input), "input %s does not exist", input.c_str());
  if (fs::is_directory(input)) {
    L.run_dir = input;
    L.matrix_path = (fs::path(input) / "M_final.npy").string();
    RFM_CHECK(fs::exists(L.matrix_path), "run directory %s has no M_final.npy", input.c_str());
  } else {
    L.matrix_path = input;
    L.run_dir = fs::path(input).parent_path().string();
    if (L.run_dir.empty()) L.run_dir = ".";
  }
  const fs::path cfg = fs::path(L.run_dir) / "config.json";
  if (fs::exists(cfg)) {
    std::ifstream in(cfg);
    L.config = nlohmann::json::parse(in, nullptr, false);
    RFM_CHECK(!L.config.is_discarded(), "%s is not valid JSON", cfg.string().c_str());
  } else {
    L.run_dir.clear();
  }
  L.M = npy_load(L.matrix_path);
  RFM_CHECK(L.M.rows() == L.M.cols(), "%s is %dx%d, not a square feature matrix",
            L.matrix_path.c_str(), int(L.M.rows()), int(L.M.cols()));
  return L;
}

template <typename T>
void from_config(T& field, bool unset, const nlohmann::json& cfg, const char* key) {
  if (unset && cfg.contains(key) && !cfg[key].is_null()) field = cfg[key].get<T>();
}

void fill_from_config(InspectOptions& o, const nlohmann::json& cfg) {
  from_config(o.task, o.task.empty(), cfg, "task");
  from_config(o.p, o.p == 0, cfg, "p");
  from_config(o.group, o.group.empty(), cfg, "group");
  from_config(o.kernel, o.kernel.empty(), cfg, "kernel");
  from_config(o.bandwidth, o.bandwidth == 0, cfg, "bandwidth");
  if (o.kernel.empty()) o.kernel = "gaussian";
  if (o.bandwidth == 0) o.bandwidth = 2.5;
}

using Task = RunTask;

Task make_task(const InspectOptions& o) {
  RFM_CHECK(!o.task.empty(), "no task: pass --task (and --p or --group), or a run directory");
  return run_task(o.task, o.p, o.group);
}

// --- Analysis -------------------------------------------------------------------------------

struct Analysis {
  MatrixXd M;               // after the normalisation
  VectorXd alpha;           // (2n) by element
  std::vector<int> ranked;  // elements by decreasing |alpha|
  double d_alg = kNaN, d_comm = kNaN;
  std::vector<int> subgroup;
  std::vector<BlockReport> blocks;
  BlockLayout layout;
  bool circulant = false, sparse = false, in_algebra = false;
  double worst_circ = 0;
  std::string sparse_note;
  bool have_norms = false;
  double norm_test_mean = kNaN, norm_test_max = kNaN, norm_train_mean = kNaN;
  bool have_orbit = false;
  OrbitResult orbit;
};

// Elements by name from a comma list; commas inside parentheses belong to a name such as
// "(a+3, b-3)"; "all" is every element.
std::vector<int> parse_elements(const DihedralGroup& G, const std::string& list) {
  std::vector<int> out;
  if (list == "all") {
    for (int e = 0; e < G.elements(); ++e) out.push_back(e);
    return out;
  }
  std::string name;
  int depth = 0;
  auto flush = [&] {
    const size_t b = name.find_first_not_of(' ');
    if (b != std::string::npos) out.push_back(G.find(name.substr(b)));
    name.clear();
  };
  for (char ch : list) {
    depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
    if (ch == ',' && depth == 0)
      flush();
    else
      name += ch;
  }
  flush();
  return out;
}

// s where the group has it (a slot swap named by Dih(A)), the whole group otherwise.
std::string default_subgroup(const DihedralGroup& G) {
  return G.names.empty() && G.elements() > G.n ? "s" : "all";
}

void structure_verdicts(Analysis& a) {
  for (const BlockReport& b : a.blocks)
    a.worst_circ = std::max(a.worst_circ, std::min(b.circ_dev, b.circ_dev_rev));
  a.circulant = a.worst_circ < kCirculantTol;
  const BlockReport& off = a.blocks[2];  // (b, a): task_block's block
  const size_t classes = off.spectrum.freq.size() - 1;
  a.sparse = off.spectrum.dominant.size() <= kSparseShare * classes;
  a.sparse_note =
      strfmt("block b,a: %zu of %zu %s hold 90 %% of the non-constant energy",
             off.spectrum.dominant.size(), classes, off.key.empty() ? "frequencies" : "elements");
  a.in_algebra = a.d_alg < kAlgebraTol;
}

void held_out_norms(Analysis& a, const Task& t, const Loaded& in) {
  const fs::path split = fs::path(in.run_dir) / "split.npz";
  if (in.run_dir.empty() || !fs::exists(split)) return;
  auto idx = [&](const char* member) {
    std::vector<int> v;
    for (int64_t i : npz_load_ints(split.string(), member)) {
      RFM_CHECK(i >= 0 && i < t.ds.N(), "%s: index %lld out of range for %d pairs",
                split.string().c_str(), (long long)i, t.ds.N());
      v.push_back(static_cast<int>(i));
    }
    return v;
  };
  const std::vector<int> train = idx("train"), test = idx("test");
  if (test.empty()) return;
  const VectorXd nt = feature_norms(a.M, t.ds.inputs.rows(test));
  const VectorXd nr = feature_norms(a.M, t.ds.inputs.rows(train));
  a.have_norms = true;
  a.norm_test_mean = nt.mean();
  a.norm_test_max = nt.maxCoeff();
  a.norm_train_mean = nr.size() ? nr.mean() : kNaN;
}

void run_orbit(Analysis& a, const Task& t, const Loaded& in, const InspectOptions& o) {
  if (o.orbit < 0) return;
  MachineOptions mo;
  mo.kernel.type = kernel_from_string(o.kernel);
  mo.kernel.bandwidth = o.bandwidth;
  const Split split = random_split(t.ds.N(), o.frac, o.seed);
  // The raw M: the kernel sees the matrix the run produced, not its normalisation.
  a.orbit = orbit_test(mo, in.M, t.ds, split, t.G, t.G.reflection(o.orbit));
  a.have_orbit = true;
}

Analysis analyse(const InspectOptions& o, const Task& t, const Loaded& in) {
  Analysis a;
  RFM_CHECK(o.normalize == "diag" || o.normalize == "none",
            "--normalize %s is not one of diag, none", o.normalize.c_str());
  a.M = o.normalize == "diag" ? normalize_by_diagonal(in.M) : in.M;
  a.alpha = group_coefficients(a.M, t.G);
  a.ranked.resize(a.alpha.size());
  std::iota(a.ranked.begin(), a.ranked.end(), 0);
  std::stable_sort(a.ranked.begin(), a.ranked.end(),
                   [&](int x, int y) { return std::abs(a.alpha(x)) > std::abs(a.alpha(y)); });
  a.d_alg = group_algebra_distance(a.M, t.G);
  a.subgroup = generated_subgroup(t.G, parse_elements(t.G, o.subgroup));
  a.d_comm = commutant_distance(a.M, t.G, a.subgroup);
  a.layout = block_layout(t.G);
  a.blocks = block_reports(a.M, a.layout);
  structure_verdicts(a);
  held_out_norms(a, t, in);
  run_orbit(a, t, in, o);
  return a;
}

// --- Reports --------------------------------------------------------------------------------

std::string line(const std::string& key, const std::string& value) {
  return strfmt("  %-16s %s\n", key.c_str(), value.c_str());
}

std::string freq_list(const Spectrum& s, size_t most) {
  std::string out;
  for (size_t i = 0; i < s.dominant.size() && i < most; ++i) {
    const int k = s.dominant[i];
    const size_t c = std::find(s.freq.begin(), s.freq.end(), k) - s.freq.begin();
    out += strfmt("%s%d (%.2f)", i ? ", " : "", k, s.energy[c]);
  }
  if (s.dominant.size() > most) out += strfmt(", ... %zu in all", s.dominant.size());
  return out;
}

std::string text_report(const InspectOptions& o, const Task& t, const Loaded& in,
                        const Analysis& a) {
  const DihedralGroup& G = t.G;
  std::string r = "rfm inspect: " + in.matrix_path + "\n";
  r += line("task", t.name() + strfmt(", M %dx%d", int(in.M.rows()), int(in.M.cols())));
  r += line("normalised", o.normalize == "diag" ? "D^-1/2 M D^-1/2 (D = diag M)" : "no");
  r += line("group", strfmt("%s, %d elements (%d swap the slots) on %zu coordinates%s",
                            t.group_name.c_str(), G.elements(), G.elements() - G.n, G.coords.size(),
                            G.coords.size() < size_t(2 * G.q) ? " (residue 0 left out)" : ""));
  r += "\ngroup algebra (alpha_g = <M, R_g>_F / 2n)\n";
  std::string top;
  for (int i = 0; i < o.top && i < G.elements(); ++i)
    top += strfmt("%s%s %+.4f", i ? "   " : "", G.name(a.ranked[i]).c_str(), a.alpha(a.ranked[i]));
  r += line("strongest", top);
  r += line("d_alg", strfmt("%.4g%s", a.d_alg,
                            G.elements() == G.n ? " (no element swaps the slots, so the "
                                                  "off-diagonal blocks count as distance)"
                                                : ""));
  r += line("d_comm", strfmt("%.4g (subgroup <%s>, %zu elements)", a.d_comm, o.subgroup.c_str(),
                             a.subgroup.size()));
  const bool table = a.layout.table.order() > 0;
  r += "\nblocks (row slot, column slot; " +
       std::string(G.task == "mul" || G.task == "div" ? "discrete-log order, residue 0 dropped"
                   : table ? "Cayley-table index order; circ_dev: a function of r^-1 c or "
                             "c r^-1, circ_rev: of r c or c r"
                           : "symbol order") +
       ")\n  block  share  circ_dev  circ_rev  dc share  " +
       (table ? "key     strongest elements g of f(g) = mean over key = g (share)\n"
              : "dominant frequencies (share)\n");
  for (const BlockReport& b : a.blocks)
    r += strfmt("  %-5s  %5.3f  %8.2e  %8.2e  %8.3f  %s%s\n", b.name.c_str(), b.norm_share,
                b.circ_dev, b.circ_dev_rev, b.spectrum.dc_share,
                table ? strfmt("%-6s  ", b.key.c_str()).c_str() : "",
                freq_list(b.spectrum, 6).c_str());
  r += "\nverdicts\n";
  r += line("block-circulant", strfmt("%s (largest block deviation %.2e, limit %.0e)",
                                      a.circulant ? "yes" : "no", a.worst_circ, kCirculantTol));
  r += line("sparse spectrum", strfmt("%s (%s)", a.sparse ? "yes" : "no", a.sparse_note.c_str()));
  r += line("group algebra", strfmt("%s (d_alg %.2e, limit %.2g)", a.in_algebra ? "yes" : "no",
                                    a.d_alg, kAlgebraTol));
  if (a.have_norms)
    r += "\nheld-out points (split.npz)\n" +
         line("||M x||", strfmt("test mean %.3g, max %.3g; train mean %.3g", a.norm_test_mean,
                                a.norm_test_max, a.norm_train_mean));
  if (a.have_orbit)
    r += strfmt("\norbit test (sr^%d, random split frac %g seed %llu, %s L = %g)\n", o.orbit,
                o.frac, (unsigned long long)o.seed, o.kernel.c_str(), o.bandwidth) +
         line("precision", strfmt("%.4f (%d of %d correct test points are reflections "
                                  "of training points)",
                                  a.orbit.precision, a.orbit.both, a.orbit.correct)) +
         line("recall", strfmt("%.4f (%d of %d reflected test points are correct; "
                               "%d test points)",
                               a.orbit.recall, a.orbit.both, a.orbit.reflected, a.orbit.n_test));
  return r;
}

nlohmann::json num(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json json_report(const InspectOptions& o, const Task& t, const Loaded& in,
                           const Analysis& a) {
  nlohmann::json j;
  j["input"] = in.matrix_path;
  j["task"] = t.ds.task;
  j["p"] = t.ds.p;
  if (t.ds.task == "group")
    j["group"] = t.abelian.factors.empty() ? t.G.table.name : t.abelian.name();
  j["invariance_group"] = {
      {"name", t.group_name}, {"elements", t.G.elements()}, {"slot_swaps", t.G.elements() - t.G.n}};
  j["normalize"] = o.normalize;
  nlohmann::json elems = nlohmann::json::array();
  for (int e : a.ranked) elems.push_back({{"name", t.G.name(e)}, {"alpha", a.alpha(e)}});
  j["elements"] = elems;  // all 2n, strongest first
  j["d_alg"] = num(a.d_alg);
  j["d_comm"] = {{"subgroup", o.subgroup}, {"order", a.subgroup.size()}, {"value", num(a.d_comm)}};
  nlohmann::json blocks = nlohmann::json::array();
  for (const BlockReport& b : a.blocks)
    blocks.push_back({{"block", b.name},
                      {"norm_share", num(b.norm_share)},
                      {"circ_dev", num(b.circ_dev)},
                      {"circ_dev_rev", num(b.circ_dev_rev)},
                      {"freq", b.spectrum.freq},
                      {"energy", b.spectrum.energy},
                      {"dominant", b.spectrum.dominant},
                      {"key", b.key.empty() ? nlohmann::json() : nlohmann::json(b.key)}});
  j["blocks"] = blocks;
  j["verdicts"] = {{"block_circulant", a.circulant},
                   {"sparse_spectrum", a.sparse},
                   {"group_algebra", a.in_algebra}};
  if (a.have_norms)
    j["held_out_norms"] = {{"test_mean", num(a.norm_test_mean)},
                           {"test_max", num(a.norm_test_max)},
                           {"train_mean", num(a.norm_train_mean)}};
  if (a.have_orbit)
    j["orbit"] = {{"reflection", o.orbit},
                  {"frac", o.frac},
                  {"seed", o.seed},
                  {"n_test", a.orbit.n_test},
                  {"correct", a.orbit.correct},
                  {"reflected", a.orbit.reflected},
                  {"both", a.orbit.both},
                  {"precision", num(a.orbit.precision)},
                  {"recall", num(a.orbit.recall)}};
  return j;
}

// M in analysis order (mul/div: residue 0 first, then discrete-log order) and its four blocks.
void write_pictures(const std::string& dir, const Analysis& a) {
  make_dirs(dir);
  const BlockLayout& L = a.layout;
  std::vector<int> order;
  for (int u = 0; u < L.q; ++u)
    if (std::find(L.symbols.begin(), L.symbols.end(), u) == L.symbols.end()) order.push_back(u);
  order.insert(order.end(), L.symbols.begin(), L.symbols.end());
  const int d = 2 * L.q;
  MatrixXd P(d, d);
  for (int j = 0; j < d; ++j)
    for (int i = 0; i < d; ++i)
      P(i, j) = a.M((i / L.q) * L.q + order[i % L.q], (j / L.q) * L.q + order[j % L.q]);
  // The diagonal dominates a normalised M; scale by the largest off-diagonal entry so the
  // structure shows (the diagonal saturates).
  MatrixXd off = P;
  off.diagonal().setZero();
  write_heatmap_png(dir + "/M.png", P, off.cwiseAbs().maxCoeff(), L.q);
  for (const BlockReport& b : a.blocks) {
    MatrixXd B = slot_block(a.M, L, b.row_slot, b.col_slot), Bo = B;
    if (b.row_slot == b.col_slot) Bo.diagonal().setZero();
    write_heatmap_png(dir + "/block_" + b.name.substr(0, 1) + b.name.substr(2, 1) + ".png", B,
                      Bo.cwiseAbs().maxCoeff());
  }
}

// --- Tasks with more than two operand slots (multitask, compose) ----------------------------

// Every pair of operand slots (p coordinates each, at offset slot * p) as one p x p block over
// Z_p; a multitask's selector coordinates (after the operand slots) count in the shares only.
// The invariance groups above act on two slots, so the group algebra is left out here.
void inspect_slots(const InspectOptions& o, const Dataset& ds, const Loaded& in) {
  const int p = ds.p, slots = ds.operands.cols() > 2 ? int(ds.operands.cols()) : 2;
  RFM_CHECK(in.M.rows() == ds.inputs.d && in.M.cols() == ds.inputs.d,
            "%s is %dx%d, but %s mod %d has d = %d inputs", in.matrix_path.c_str(),
            int(in.M.rows()), int(in.M.cols()), ds.task.c_str(), p, ds.inputs.d);
  RFM_CHECK(o.orbit < 0, "--orbit needs a task with a slot swap; %s has %d operand slots",
            ds.task.c_str(), slots);
  const MatrixXd M = o.normalize == "diag" ? normalize_by_diagonal(in.M) : in.M;
  const AbelianGroup Zp{{p}};
  const double total = std::max(M.squaredNorm(), 1e-300);
  nlohmann::json blocks = nlohmann::json::array();
  std::string text =
      "rfm inspect: " + in.matrix_path + "\n" +
      line("task",
           strfmt("%s mod %d, M %dx%d, %d operand slots%s", ds.task.c_str(), p, int(M.rows()),
                  int(M.cols()), slots, ds.inputs.d > slots * p ? " and a task selector" : "")) +
      line("group algebra", "left out: inspect builds invariance groups of two-slot tasks only") +
      "\nblocks (row slot, column slot; symbol order)\n"
      "  block  share  circ_dev  circ_rev  dominant frequencies (share)\n";
  for (int rs = 0; rs < slots; ++rs)
    for (int cs = 0; cs < slots; ++cs) {
      const MatrixXd B = M.block(rs * p, cs * p, p, p);
      const std::string name = std::string(1, char('a' + rs)) + "," + char('a' + cs);
      const double share = B.squaredNorm() / total;
      const double dev = group_circulant_deviation(B, Zp, false);
      const double rev = group_circulant_deviation(B, Zp, true);
      const Spectrum sp = fourier_spectrum(B, Zp);
      text += strfmt("  %-5s  %5.3f  %8.2e  %8.2e  %s\n", name.c_str(), share, dev, rev,
                     freq_list(sp, 6).c_str());
      blocks.push_back({{"block", name},
                        {"norm_share", share},
                        {"circ_dev", dev},
                        {"circ_dev_rev", rev},
                        {"freq", sp.freq},
                        {"energy", sp.energy},
                        {"dominant", sp.dominant}});
    }
  const int sel = ds.inputs.d - slots * p;
  const double sel_share =
      sel > 0 ? 1 - M.topLeftCorner(slots * p, slots * p).squaredNorm() / total : 0.0;
  if (sel > 0)
    text += "\n" + line("selector", strfmt("%d coordinates hold %.3f of ||M||^2", sel, sel_share));
  if (!o.png.empty()) {
    make_dirs(o.png);
    MatrixXd off = M;
    off.diagonal().setZero();
    write_heatmap_png(o.png + "/M.png", M, off.cwiseAbs().maxCoeff(), p);
  }
  const nlohmann::json j = {{"input", in.matrix_path},
                            {"task", ds.task},
                            {"p", p},
                            {"slots", slots},
                            {"normalize", o.normalize},
                            {"blocks", blocks},
                            {"selector_share", sel_share}};
  std::printf("%s", o.json ? (j.dump(2) + "\n").c_str() : text.c_str());
}

void run_inspect(InspectOptions o) {
  const Loaded in = load_input(o.input);
  fill_from_config(o, in.config);
  RFM_CHECK(!o.task.empty(), "no task: pass --task (and --p or --group), or a run directory");
  if (o.task != "group" && !is_op_name(o.task) && o.p > 0) {  // data set built once, here
    const Dataset ds = rfm::make_task(o.task, o.p);
    if (ds.inputs.hot.cols() != 2 || ds.inputs.d != 2 * o.p) return inspect_slots(o, ds, in);
  }
  const Task t = make_task(o);
  if (o.subgroup.empty()) o.subgroup = default_subgroup(t.G);
  RFM_CHECK(in.M.rows() == t.ds.inputs.d, "%s is %dx%d, but %s has d = %d inputs",
            in.matrix_path.c_str(), int(in.M.rows()), int(in.M.cols()), t.name().c_str(),
            t.ds.inputs.d);
  const Analysis a = analyse(o, t, in);
  if (!o.png.empty()) write_pictures(o.png, a);
  if (o.json)
    std::printf("%s\n", json_report(o, t, in, a).dump(2).c_str());
  else
    std::printf("%s", text_report(o, t, in, a).c_str());
}

}  // namespace

static void setup_inspect(CLI::App& app) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand(
      "inspect", "Analyse a feature matrix: group elements, structure verdicts, spectrum, PNGs");
  sub->footer(
      "Examples:\n"
      "  rfm inspect runs/add61            the run's M_final.npy, task and p from its config.json\n"
      "  rfm inspect M.npy --task add --p 61 --json");
  sub->add_option("input", o->input, "An .npy feature matrix or a run directory")->required();
  sub->add_option("--task", o->task,
                  "add, sub, mul, div, group, system or a polynomial such as x^2+y^2 "
                  "(default: config.json)");
  sub->add_option("--p", o->p, "Modulus (default: config.json)");
  sub->add_option("--group", o->group,
                  "--task group: 3x7, S4, D5, perm:... or table:FILE (default: config.json)");
  add_choice_option(*sub, "--normalize", o->normalize, {"diag", "none"},
                    "diag: analyse D^-1/2 M D^-1/2 (alpha of r^0 = 1); none: M as it is");
  sub->add_option("--top", o->top, "Strongest group elements listed")->capture_default_str();
  sub->add_option("--subgroup", o->subgroup,
                  "Generators of the subgroup H of d_comm, e.g. s or r^1 or s,r^1, or all "
                  "(default: s, or all where the group has no s)");
  sub->add_flag("--json", o->json, "Print the report as JSON");
  sub->add_option("--png", o->png, "Write heatmaps M.png and block_<rc>.png into this directory");
  sub->add_option("--orbit", o->orbit,
                  "Orbit test: fit with M on a random split, compare correct test points with "
                  "the reflections sr^k of training points (give k)");
  sub->add_option("--frac", o->frac, "Orbit test: training fraction")->capture_default_str();
  sub->add_option("--seed", o->seed, "Orbit test: seed of the split")->capture_default_str();
  sub->add_option("--kernel", o->kernel, "Orbit test kernel (default: config.json, gaussian)");
  sub->add_option("--bandwidth", o->bandwidth, "Orbit test bandwidth (default: config.json, 2.5)");
  sub->callback([o] { run_inspect(*o); });
}

RFM_COMMAND(inspect, setup_inspect);

}  // namespace rfm
