// `rfm bench`: per-phase timing of RFM iterations on standard sizes (issue 3). Each case runs in
// a forked child so that its peak memory is its own; phases are timed per iteration and the
// median is reported with the flop count, GFLOP/s and the share of the machine's DGEMM rate
// measured at start-up (a rate, not a nominal peak). Nothing here is asserted: benchmarks only
// report.
#include <cblas.h>
#include <omp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>

#include "apps/commands.h"
#include "neural/neural.h"
#include "rfm/rfm.h"

namespace rfm {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct BenchOptions {
  std::string cases = "add61,add97,add151,dense8000,dense8000-s2000";
  int iters = 3;   // timed iterations per case (the median is reported)
  int warmup = 1;  // untimed iterations before them (first touch of the buffers, cold caches)
  Precision precision = Precision::fp64;
  int threads = 0;
  std::string device = "cpu";  // cpu, cuda or auto (resolved in each case's child process)
  int agop_block = AgopOptions{}.block;
};

struct BenchCase {
  std::string name;
  RfmProblem problem;
  int agop_samples = 0;
};

// Modular addition at frac 0.5, one-hot inputs.
BenchCase modular_case(const std::string& name, int p) {
  Dataset ds = make_modular_task(Op::add, p);
  Split s = random_split(ds.N(), 0.5, 0);
  return {name,
          {ds.inputs.rows(s.train), ds.inputs.rows(s.test), one_hot_labels(ds.labels, s.train, p),
           one_hot_labels(ds.labels, s.test, p)}};
}

// Dense Gaussian inputs (n, d) with labels of a random linear teacher over c classes; a test set
// of n / 4 points.
BenchCase dense_case(const std::string& name, int n, int d, int c, int samples) {
  std::mt19937_64 gen(7);
  std::normal_distribution<double> normal;
  auto draw = [&](int rows, int cols) {
    MatrixXd A(rows, cols);
    for (Eigen::Index j = 0; j < cols; ++j)
      for (Eigen::Index i = 0; i < rows; ++i) A(i, j) = normal(gen);
    return A;
  };
  const MatrixXd T = draw(d, c), X = draw(n, d) / std::sqrt(double(d)),
                 Xt = draw(n / 4, d) / std::sqrt(double(d));
  auto labels = [&](const MatrixXd& A) {
    MatrixXd Y = MatrixXd::Zero(A.rows(), c);
    const MatrixXd S = A * T;
    for (Eigen::Index i = 0; i < A.rows(); ++i) {
      Eigen::Index k;
      S.row(i).maxCoeff(&k);
      Y(i, k) = 1;
    }
    return Y;
  };
  return {name, {Inputs::from_dense(X), Inputs::from_dense(Xt), labels(X), labels(Xt)}, samples};
}

BenchCase make_case(const std::string& name) {
  if (name == "add61") return modular_case(name, 61);
  if (name == "add97") return modular_case(name, 97);
  if (name == "add151") return modular_case(name, 151);
  if (name == "dense8000") return dense_case(name, 8000, 200, 100, 0);
  if (name == "dense8000-s2000") return dense_case(name, 8000, 200, 100, 2000);
  RFM_CHECK(false,
            "unknown bench case '%s' (known: add61, add97, add151, dense8000, "
            "dense8000-s2000)",
            name.c_str());
  return {};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? kNaN : v[v.size() / 2];
}

double measure_dgemm_rate() {
  const int n = 2000;
  MatrixXd A = MatrixXd::Random(n, n), B = MatrixXd::Random(n, n), C(n, n);
  std::vector<double> rates;
  for (int r = 0; r < 3; ++r) {
    auto t0 = Clock::now();
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, A.data(), n, B.data(), n,
                0.0, C.data(), n);
    rates.push_back(2.0 * n * n * n / since(t0) / 1e9);
  }
  return median(rates);
}

// Flop counts of each phase (see kernels.h and docs/algorithms.md 2.6).
struct Flops {
  double gram, solve, agop, eval;
};

// train_from_agop: the AGOP left the training predictions behind (CPU, Gaussian kernel, AGOP on
// every training point), so evaluation computes only the test predictions.
Flops flop_counts(const RfmProblem& pb, AgopPath path, int m, bool train_from_agop) {
  const double n = pb.X_train.n(), nt = pb.X_test.n(), d = pb.X_train.d, c = pb.Y_train.cols();
  const double slots = pb.X_train.one_hot() ? pb.X_train.hot.cols() : 0;
  Flops f;
  f.gram = pb.X_train.one_hot() ? 0 : 2 * n * n * d;
  f.solve = n * n * n / 3 + 2 * n * n * c;
  if (path == AgopPath::onehot)
    f.agop = 2 * slots * n * m * c + m * c * d * d;
  else if (path == AgopPath::hadamard)
    f.agop = n * n * m + n * n * c + 2 * n * n * d + 4 * n * m * c + 2 * n * m * d;
  else
    f.agop = 2 * n * m * c * d + m * c * d * d;
  f.agop += 4 * d * d * d;  // M Ghat M
  // Training predictions reuse the kept K (no Gram) or the AGOP's sums; the test set needs its
  // dense Gram.
  f.eval =
      2 * ((train_from_agop ? 0 : n) + nt) * n * c + (pb.X_train.one_hot() ? 0 : 2 * nt * n * d);
  return f;
}

std::string row(const char* phase, double sec, double flops, double peak) {
  if (flops <= 0) return strfmt("  %-8s %9.4f %9s %9s %7s\n", phase, sec, "-", "-", "-");
  const double rate = flops / sec / 1e9;
  return strfmt("  %-8s %9.4f %9.2f %9.1f %6.0f%%\n", phase, sec, flops / 1e9, rate,
                100 * rate / peak);
}

// The training case: median seconds per phase of a full-batch fp32 epoch of Nanda et al.'s
// transformer (p = 113, frac 0.3, d_model 128, 4 heads, d_mlp 512), --iters epochs after one
// warm-up; bench/torch_transformer.py times the same model in PyTorch. The peak column is
// against the fp64 DGEMM rate, so fp32 training can exceed 100 %.
void run_train_case(const BenchOptions& o, const std::string& name, double peak) {
  const TransformerConfig cfg;  // d_model 128, 4 heads, d_mlp 512 (neural.h defaults)
  const TrainBenchResult r = bench_transformer_epochs(cfg, 113, 0.3, o.iters);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  std::string out = strfmt(
      "%s: transformer, add mod 113, %d training pairs (full batch), "
      "d_model %d, %d heads, d_mlp %d, %zu parameters, fp32, AdamW\n",
      name.c_str(), r.n_train, cfg.C, cfg.NH, cfg.F, r.parameters);
  out += strfmt("  %-8s %9s %9s %9s %7s\n", "phase", "median s", "GFLOP", "GFLOP/s", "of peak");
  out += row("forward", median(r.forward), r.flops_forward, peak);
  out += row("backward", median(r.backward), r.flops_backward, peak);
  out += row("update", median(r.update), 0, peak);
  out += row("epoch", median(r.total), r.flops_forward + r.flops_backward, peak);
  out += strfmt(
      "  peak memory %.2f GB; %d epochs timed; fp32, so \"of peak\" (fp64 DGEMM) can pass "
      "100 %%; bench/torch_transformer.py times PyTorch\n\n",
      ru.ru_maxrss / 1048576.0, o.iters);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

// Mixed precision: the refinement steps and the relative residuals ||Y - K alpha|| / ||Y|| of
// the timed solves, and how many fell back to fp64.
std::string refinement_line(const std::vector<SolveReport>& reports) {
  std::vector<double> steps, residuals;
  int fallbacks = 0;
  for (const SolveReport& r : reports) {
    steps.push_back(r.refine_steps);
    if (r.residual >= 0) residuals.push_back(r.residual);
    fallbacks += r.fallback;
  }
  const auto [lo, hi] = std::minmax_element(residuals.begin(), residuals.end());
  return strfmt(
      "  refinement: %g steps (median), relative residual %.1e to %.1e, %d of %zu "
      "solves fell back to fp64\n",
      median(steps), residuals.empty() ? kNaN : *lo, residuals.empty() ? kNaN : *hi, fallbacks,
      steps.size());
}

// Runs one case and prints its table (in a child process).
void run_case(const BenchOptions& o, const std::string& name, double peak) {
  if (name == "transformer113") return run_train_case(o, name, peak);
  const auto t_setup = Clock::now();
  BenchCase bc = make_case(name);
  const RfmProblem& pb = bc.problem;
  const int n = pb.X_train.n(), d = pb.X_train.d, c = static_cast<int>(pb.Y_train.cols());
  const int m = bc.agop_samples > 0 ? bc.agop_samples : n;
  RfmOptions ro;
  ro.solve.precision = o.precision;
  ro.agop.block = o.agop_block;
  MachineOptions mo{ro.kernel, ro.solve, ro.agop};
  // --device is resolved here, in the forked child: CUDA must not be initialised before fork().
  std::string notice;
  const Backend backend = backend_from_device(o.device, o.precision, &notice);
  if (!notice.empty()) std::fprintf(stderr, "rfm bench: %s\n", notice.c_str());
  if (backend == Backend::cuda) {
    peak = cuda_dgemm_gflops();
    std::printf(
        "%s on cuda: cuBLAS DGEMM 4096^3 measured at %.1f GFLOP/s (this case's peak "
        "reference)\n",
        name.c_str(), peak);
  }
  auto km = KernelMachine::create(mo, backend);
  km->set_data(pb.X_train, pb.Y_train);
  const Inputs Z = m < n ? pb.X_train.rows(random_subset(n, m, 0)) : pb.X_train;
  // The CUDA backend has no Hadamard route: dense inputs take the direct one there.
  const AgopPath path =
      backend == Backend::cuda && !pb.X_train.one_hot()
          ? AgopPath::dense
          : choose_agop_path(AgopPath::automatic, pb.X_train.one_hot(), n, m, c, d);
  std::vector<double> gram, solve, agop, eval, update, total;
  MatrixXd M = MatrixXd::Identity(d, d);
  std::string solver;
  std::vector<SolveReport> reports;
  for (int it = -o.warmup; it < o.iters; ++it) {
    km->times = PhaseTimes{};
    const auto t0 = Clock::now();
    const SolveReport rep = km->fit(M);
    solver = rep.method;
    const MatrixXd G = km->agop(Z);  // the order of rfm grok's loop
    km->predict(pb.X_train);
    km->predict(pb.X_test);
    const auto t1 = Clock::now();
    M = sym_power(G, 0.5);
    if (it < 0) continue;
    reports.push_back(rep);
    update.push_back(since(t1));
    total.push_back(since(t0));
    gram.push_back(km->times.gram);
    solve.push_back(km->times.solve);
    agop.push_back(km->times.agop);
    eval.push_back(km->times.predict);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const bool train_from_agop =
      backend == Backend::cpu && mo.kernel.weight_per_value() > 0 && m == n;
  const Flops f = flop_counts(pb, path, m, train_from_agop);
  std::string out = strfmt(
      "%s: n = %d train, %d test, d = %d, c = %d, AGOP over %d points "
      "(%s route), %s, solver %s; setup and %d warm-up %.1f s\n",
      name.c_str(), n, pb.X_test.n(), d, c, m, to_string(path), to_string(o.precision),
      solver.c_str(), o.warmup, since(t_setup) - [&] {
        double s = 0;
        for (double t : total) s += t;
        return s;
      }());
  out += strfmt("  %-8s %9s %9s %9s %7s\n", "phase", "median s", "GFLOP", "GFLOP/s", "of peak");
  out += row("gram", median(gram), f.gram, peak);
  out += row("solve", median(solve), f.solve, peak);
  out += row("agop", median(agop), f.agop, peak);
  out += row("eval", median(eval), f.eval, peak);
  out += row("update", median(update), 0, peak);
  out += row("total", median(total), f.gram + f.solve + f.agop + f.eval, peak);
  if (o.precision == Precision::mixed) out += refinement_line(reports);
  out +=
      strfmt("  peak memory %.2f GB; %d iterations timed\n\n", ru.ru_maxrss / 1048576.0, o.iters);
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
}

void run_bench(const BenchOptions& o) {
  RFM_CHECK(o.iters >= 1, "--iters %d must be >= 1", o.iters);
  if (o.threads > 0) {
    set_blas_threads(o.threads);
    omp_set_num_threads(o.threads);
  }
  const double peak = measure_dgemm_rate();
  std::printf(
      "rfm bench: %s\n  DGEMM 2000^3 measured at %.1f GFLOP/s (the peak column's "
      "reference)\n\n",
      blas_description().c_str(), peak);
  std::fflush(stdout);
  std::stringstream list(o.cases);
  for (std::string name; std::getline(list, name, ',');) {
    const pid_t pid = fork();
    RFM_CHECK(pid >= 0, "fork failed");
    if (pid == 0) {
      int status = 0;
      try {
        run_case(o, name, peak);
      } catch (const Error& e) {
        std::fprintf(stderr, "rfm: error: %s\n", e.what());
        status = 1;
      }
      std::fflush(nullptr);
      _exit(status);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    RFM_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "bench case %s failed", name.c_str());
  }
}

void setup_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand(
      "bench", "Per-phase median times, GFLOP/s and peak memory of RFM iterations");
  sub->footer("Example:\n  rfm bench --cases add61,add97 --iters 5 --precision fp32");
  sub->add_option("--cases", o->cases,
                  "Comma-separated cases: add61, add97, add151 (add mod p, frac 0.5), "
                  "dense8000 (n 8000, d 200, c 100), dense8000-s2000 (AGOP on 2000 samples), "
                  "transformer113 (seconds per training epoch of the default transformer)")
      ->capture_default_str();
  sub->add_option("--iters", o->iters, "Timed iterations per case")->capture_default_str();
  sub->add_option("--warmup", o->warmup,
                  "Untimed iterations before them (the first one touches fresh buffers)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  add_precision_option(*sub, o->precision);
  sub->add_option("--threads", o->threads, "BLAS/OpenMP threads (0: all cores)")
      ->capture_default_str();
  sub->add_option("--agop-block", o->agop_block, "Most AGOP points per block (as rfm grok)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_choice_option(*sub, "--device", o->device, {"auto", "cpu", "cuda"},
                    "cpu, cuda, or auto (the GPU when usable)");
  sub->callback([o] { run_bench(*o); });
}

}  // namespace

RFM_COMMAND(bench, setup_bench);

}  // namespace rfm
