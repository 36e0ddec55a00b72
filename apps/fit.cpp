// `rfm fit` and `rfm predict`: RFM on the user's own tabular data (.npy or .csv). Features are
// standardised, the iteration (and, with several values, the bandwidth and ridge) that fits the
// validation points best is kept, and a saved model is applied to new points.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <sstream>

#include "apps/commands.h"
#include "rfm/rfm.h"

namespace rfm {

namespace {

enum class Target { automatic, classes, values };
enum class Standardize { automatic, on, off };

struct FitOptions {
  std::string x, y, x_val, y_val;  // features (n, d) and targets; optional validation set
  Target target = Target::automatic;
  Standardize standardize = Standardize::automatic;
  std::vector<double> bandwidths = {10.0}, ridges = {1e-3, 1e-2, 1e-1, 1.0};  // several: a grid
  double val_frac = 0.2;  // held out of --x when no validation set is given
  uint64_t seed = 0;      // of the held-out rows
  bool refit = true;      // refit on all of --x after choosing on held-out rows
  RfmOptions rfm;
  std::string out = "runs/fit";
  int threads = 0;
  bool force = false, quiet = false;
};

// Targets as a matrix: class ids (one column of non-negative integers) become one-hot.
struct Targets {
  MatrixXd Y;
  bool classification = false;
};

// Whether one column of integers looks like class ids to --target auto: at most 100 distinct
// values and fewer than half as many as rows (integer scores such as a disease progression
// measure are values).
bool few_values(const MatrixXd& column) {
  std::vector<double> v(column.data(), column.data() + column.size());
  std::sort(v.begin(), v.end());
  const auto distinct = std::unique(v.begin(), v.end()) - v.begin();
  return distinct <= 100 && 2 * distinct < column.rows();
}

Targets make_targets(const MatrixXd& raw, Target target, int classes, const std::string& path) {
  bool ids =
      raw.cols() == 1 && (raw.array() >= 0).all() && (raw.array() == raw.array().round()).all();
  RFM_CHECK(target != Target::classes || ids,
            "%s: --target classes needs one column of non-negative integer class ids",
            path.c_str());
  if (target == Target::values || !ids) return {raw, false};
  if (target == Target::automatic && !few_values(raw)) return {raw, false};
  const int c = std::max(classes, static_cast<int>(raw.maxCoeff()) + 1);
  RFM_CHECK(c <= 100000, "%s: class id %d is too large", path.c_str(), c - 1);
  MatrixXd Y = MatrixXd::Zero(raw.rows(), c);
  for (Eigen::Index i = 0; i < raw.rows(); ++i) Y(i, static_cast<int>(raw(i, 0))) = 1;
  return {Y, true};
}

// --- Standardisation, saved with the model ----------------------------------------------------

// z = (x - x_mean) / x_scale per feature (scale: the standard deviation, 1 for a constant
// feature); real-valued targets are centred on y_mean. Empty vectors: nothing is applied.
struct Scaling {
  Eigen::RowVectorXd x_mean, x_scale, y_mean;

  MatrixXd features(const MatrixXd& X) const {
    if (x_mean.size() == 0) return X;
    return (X.rowwise() - x_mean).array().rowwise() / x_scale.array();
  }
  MatrixXd targets(const MatrixXd& Y) const {
    return y_mean.size() == 0 ? Y : MatrixXd(Y.rowwise() - y_mean);
  }
  MatrixXd outputs(const MatrixXd& P) const {
    return y_mean.size() == 0 ? P : MatrixXd(P.rowwise() + y_mean);
  }
};

Scaling fit_scaling(const MatrixXd& X, const MatrixXd& Y, bool classification) {
  Scaling s;
  s.x_mean = X.colwise().mean();
  const MatrixXd centred = X.rowwise() - s.x_mean;
  s.x_scale = (centred.colwise().squaredNorm() / double(X.rows())).cwiseSqrt();
  for (Eigen::Index k = 0; k < s.x_scale.size(); ++k)
    if (!(s.x_scale(k) > 1e-12 * std::max(1.0, std::abs(s.x_mean(k))))) s.x_scale(k) = 1.0;
  if (!classification) s.y_mean = Y.colwise().mean();
  return s;
}

bool use_scaling(Standardize s, const MatrixXd& X) {
  if (s == Standardize::automatic) return !Inputs::detect(X).one_hot();
  return s == Standardize::on;
}

std::vector<double> json_row(const Eigen::RowVectorXd& v) {
  return std::vector<double>(v.data(), v.data() + v.size());
}

Eigen::RowVectorXd row_from_json(const nlohmann::json& model, const char* key, int size,
                                 const std::string& run) {
  if (!model.contains(key)) return {};
  const std::vector<double> v = model.at(key).get<std::vector<double>>();
  RFM_CHECK(int(v.size()) == size, "%s/model.json: %s has %d entries, expected %d", run.c_str(),
            key, int(v.size()), size);
  return Eigen::Map<const Eigen::RowVectorXd>(v.data(), size);
}

// --- The data of one fit ------------------------------------------------------------------------

// Training and validation points, scaled; `validation` says where the validation points came
// from: "given" (--x-val), "held-out" (of --x) or "none".
struct FitData {
  MatrixXd X, Y, Xv, Yv;  // the training part and the validation points
  MatrixXd X_all, Y_all;  // all of --x and its targets (the refit, when held out)
  bool classification = false;
  std::string validation = "none";
  Scaling scaling;
};

// The rows of 0..n-1 held out for validation (a seeded shuffle, round(frac n) of them) and the
// rest, each in increasing order.
std::pair<std::vector<int>, std::vector<int>> holdout_rows(int n, double frac, uint64_t seed) {
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 gen(seed);
  std::shuffle(order.begin(), order.end(), gen);
  const int k = static_cast<int>(std::lround(frac * n));
  RFM_CHECK(k >= 1 && n - k >= 2,
            "--val-frac %g of %d points leaves %d validation and %d training points (need at "
            "least 1 and 2)",
            frac, n, k, n - k);
  std::vector<int> held(order.begin(), order.begin() + k), kept(order.begin() + k, order.end());
  std::sort(held.begin(), held.end());
  std::sort(kept.begin(), kept.end());
  return {held, kept};
}

MatrixXd select_rows(const MatrixXd& A, const std::vector<int>& rows) {
  MatrixXd out(rows.size(), A.cols());
  for (size_t i = 0; i < rows.size(); ++i) out.row(i) = A.row(rows[i]);
  return out;
}

// The validation set of --x-val/--y-val, its targets in the training targets' form.
void load_validation(const FitOptions& o, const MatrixXd& yv, const Targets& tr, int d,
                     FitData& data) {
  data.Xv = load_matrix(o.x_val);
  RFM_CHECK(data.Xv.cols() == d, "--x-val has %d columns but --x has %d", int(data.Xv.cols()), d);
  RFM_CHECK(data.Xv.rows() == yv.rows(), "--x-val has %d rows but --y-val has %d",
            int(data.Xv.rows()), int(yv.rows()));
  Targets tv = make_targets(yv, tr.classification ? Target::classes : Target::values,
                            static_cast<int>(tr.Y.cols()), o.y_val);
  RFM_CHECK(tv.Y.cols() == tr.Y.cols(), "--y-val has %d outputs but --y has %d", int(tv.Y.cols()),
            int(tr.Y.cols()));
  data.Yv = tv.Y;
  data.validation = "given";
}

FitData load_fit_data(const FitOptions& o) {
  const MatrixXd X = load_matrix(o.x), yraw = load_matrix(o.y);
  RFM_CHECK(X.rows() == yraw.rows(), "--x has %d rows but --y has %d", int(X.rows()),
            int(yraw.rows()));
  RFM_CHECK(o.x_val.empty() == o.y_val.empty(), "--x-val and --y-val go together");
  RFM_CHECK(o.val_frac >= 0 && o.val_frac < 1, "--val-frac %g must be in [0, 1)", o.val_frac);
  const MatrixXd yv = o.y_val.empty() ? MatrixXd() : load_matrix(o.y_val);
  const int classes = yv.size() > 0 ? static_cast<int>(yv.maxCoeff()) + 1 : 0;
  const Targets tr = make_targets(yraw, o.target, classes, o.y);
  FitData data;
  data.classification = tr.classification;
  if (use_scaling(o.standardize, X)) data.scaling = fit_scaling(X, tr.Y, tr.classification);
  data.X_all = X;
  data.Y_all = tr.Y;
  data.X = X;
  data.Y = tr.Y;
  if (!o.x_val.empty()) {
    load_validation(o, yv, tr, int(X.cols()), data);
  } else if (o.val_frac > 0) {
    const auto [held, kept] = holdout_rows(int(X.rows()), o.val_frac, o.seed);
    data.Xv = select_rows(X, held);
    data.Yv = select_rows(tr.Y, held);
    data.X = select_rows(X, kept);
    data.Y = select_rows(tr.Y, kept);
    data.validation = "held-out";
  }
  return data;
}

RfmProblem scaled_problem(const Scaling& s, const MatrixXd& X, const MatrixXd& Y,
                          const MatrixXd& Xv, const MatrixXd& Yv, bool classification) {
  const MatrixXd Xv_s = Xv.rows() > 0 ? s.features(Xv) : MatrixXd(0, X.cols());
  const MatrixXd Yv_s = Yv.rows() > 0 ? s.targets(Yv) : MatrixXd(0, Y.cols());
  return fit_problem(s.features(X), s.targets(Y), Xv_s, Yv_s, classification);
}

// --- Measures -------------------------------------------------------------------------------

// 1 - squared error / squared deviation of Y from its mean, over all entries (R^2; 0 is what
// predicting the mean scores, negative is worse).
double r_squared(double mse, const MatrixXd& Y) {
  if (Y.rows() == 0) return kNaN;
  const MatrixXd dev = Y.rowwise() - Y.colwise().mean();
  return 1.0 - mse * double(Y.size()) / std::max(dev.squaredNorm(), 1e-300);
}

// One row of the live table: accuracies for classes, RMSE and R^2 for values.
std::string table_row(const IterationStats& s, bool classification, const MatrixXd& Yv) {
  if (classification)
    return strfmt("%5d  %9.4f  %7.4f  %9.2e  %8.2e  %5.2f", s.iter, s.train_acc, s.test_acc,
                  s.train_mse, s.test_mse, s.seconds);
  return strfmt("%5d  %10.4g  %8.4g  %7.4f  %5.2f", s.iter, std::sqrt(s.train_mse),
                std::sqrt(s.test_mse), r_squared(s.test_mse, Yv), s.seconds);
}

// How well an iteration fits the validation points, in words.
std::string fit_text(const FitData& data, const IterationStats& k) {
  if (data.classification) return strfmt("val acc %.4f, val mse %.3e", k.test_acc, k.test_mse);
  return strfmt("val rmse %.4g, val R^2 %.4f", std::sqrt(k.test_mse),
                r_squared(k.test_mse, data.Yv));
}

const char* table_header(bool classification) {
  return classification ? " iter  train_acc  val_acc  train_mse   val_mse    sec"
                        : " iter  train_rmse  val_rmse   val_r2    sec";
}

// metrics.csv of a fit: the selection run's curves, validation columns named val_*.
std::string fit_metrics_csv(const std::vector<IterationStats>& rows) {
  std::ostringstream out;
  out << "iter,train_acc,val_acc,train_mse,val_mse,seconds,solver,fallback\n";
  auto num = [](double v) { return std::isnan(v) ? std::string("nan") : strfmt("%.10g", v); };
  for (const IterationStats& r : rows)
    out << r.iter << ',' << num(r.train_acc) << ',' << num(r.test_acc) << ',' << num(r.train_mse)
        << ',' << num(r.test_mse) << ',' << num(r.seconds) << ',' << r.solver << ','
        << int(r.fallback) << '\n';
  return out.str();
}

// --- The grid over bandwidth and ridge ------------------------------------------------------

struct Candidate {
  double bandwidth = 0, ridge = 0;
  FittedModel fitted;
  const IterationStats& kept() const { return fitted.summary.iterations[fitted.iteration]; }
};

RfmOptions with(RfmOptions r, double bandwidth, double ridge) {
  r.kernel.bandwidth = bandwidth;
  r.solve.ridge = ridge;
  return r;
}

Candidate fit_candidate(const FitOptions& o, const FitData& data, const RfmProblem& pb,
                        double bandwidth, double ridge, bool live) {
  IterationCallback print = [&](const IterationStats& s, const MatrixXd&) {
    if (live) std::printf("%s\n", table_row(s, data.classification, data.Yv).c_str());
    std::fflush(stdout);
    return Decision::proceed;
  };
  const RfmOptions r = with(o.rfm, bandwidth, ridge);
  r.validate();
  return {bandwidth, ridge, fit_model(r, pb, {print}, false)};
}

std::string grid_csv(const std::vector<Candidate>& all) {
  std::string s = "bandwidth,ridge,kept_iteration,val_acc,val_mse,seconds\n";
  for (const Candidate& c : all)
    s += strfmt("%.10g,%.10g,%d,%.10g,%.10g,%.6g\n", c.bandwidth, c.ridge, c.fitted.iteration,
                c.kept().test_acc, c.kept().test_mse, c.fitted.summary.total_seconds);
  return s;
}

// Fits every (bandwidth, ridge) pair and returns the one whose kept iteration fits the
// validation points best (the first among equals).
Candidate choose(const FitOptions& o, const FitData& data, const RfmProblem& pb,
                 std::vector<Candidate>& all) {
  const bool grid = o.bandwidths.size() * o.ridges.size() > 1;
  if (!o.quiet && !grid) std::printf("%s\n", table_header(data.classification));
  for (double L : o.bandwidths)
    for (double ridge : o.ridges) {
      all.push_back(fit_candidate(o, data, pb, L, ridge, !o.quiet && !grid));
      const Candidate& c = all.back();
      if (!o.quiet && grid)
        std::printf("  bandwidth %-6g ridge %-7g iteration %d: %s (%.2f s)\n", L, ridge,
                    c.fitted.iteration, fit_text(data, c.kept()).c_str(),
                    c.fitted.summary.total_seconds);
    }
  size_t best = 0;
  for (size_t i = 1; i < all.size(); ++i)
    if (better_iteration(all[i].kept(), all[best].kept(), data.classification)) best = i;
  return all[best];
}

// --- Saving and reporting ---------------------------------------------------------------------

void save_model(const std::string& dir, const FitOptions& o, const FitData& data,
                const Candidate& chosen, const FittedModel& model, const MatrixXd& X_model,
                bool refit) {
  npy_save(dir + "/model_M.npy", model.M);
  npy_save(dir + "/model_alpha.npy", model.alpha);
  npy_save(dir + "/model_X.npy", X_model);
  nlohmann::json j = {{"kernel", to_string(o.rfm.kernel.type)},
                      {"bandwidth", chosen.bandwidth},
                      {"ridge", chosen.ridge},
                      {"iteration", chosen.fitted.iteration},
                      {"classification", data.classification},
                      {"outputs", data.Y.cols()},
                      {"validation", data.validation},
                      {"refit", refit}};
  const Scaling& s = data.scaling;
  if (s.x_mean.size() > 0) {
    j["x_mean"] = json_row(s.x_mean);
    j["x_scale"] = json_row(s.x_scale);
  }
  if (s.y_mean.size() > 0) j["y_mean"] = json_row(s.y_mean);
  write_text_atomic(dir + "/model.json", j.dump(2) + "\n");
}

nlohmann::json fit_summary(const FitData& data, const Candidate& c, double seconds) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  const IterationStats& k = c.kept();
  return {{"termination", to_string(c.fitted.summary.termination)},
          {"message", c.fitted.summary.message},
          {"iterations", c.fitted.summary.iterations.size()},
          {"kept_iteration", c.fitted.iteration},
          {"bandwidth", c.bandwidth},
          {"ridge", c.ridge},
          {"validation", data.validation},
          {"val_points", data.Xv.rows()},
          {"train_acc", num(k.train_acc)},
          {"train_mse", num(k.train_mse)},
          {"val_acc", num(k.test_acc)},
          {"val_mse", num(k.test_mse)},
          {"val_r2", num(data.classification ? kNaN : r_squared(k.test_mse, data.Yv))},
          {"seconds", seconds}};
}

std::string kept_line(const FitData& data, const Candidate& c) {
  const IterationStats& k = c.kept();
  const std::string setting = strfmt("bandwidth %g, ridge %g", c.bandwidth, c.ridge);
  if (data.validation == "none")
    return strfmt("no validation data (no --x-val, --val-frac 0): kept the last iteration, %d (%s)",
                  c.fitted.iteration, setting.c_str());
  return strfmt("kept iteration %d (%s; %s)", c.fitted.iteration, fit_text(data, k).c_str(),
                setting.c_str());
}

void print_start(const FitData& data, const RfmProblem& pb, Precision p) {
  const std::string val = data.validation == "held-out"
                              ? strfmt("%d held out of --x", pb.X_test.n())
                          : data.validation == "given" ? strfmt("%d given", pb.X_test.n())
                                                       : std::string("none");
  std::printf("rfm fit: %d training points, d = %d (%s%s), %d outputs (%s); validation: %s\n",
              pb.X_train.n(), pb.X_train.d, pb.X_train.one_hot() ? "one-hot" : "dense",
              data.scaling.x_mean.size() > 0 ? ", standardised" : "", int(pb.Y_train.cols()),
              data.classification ? "classes" : "values", val.c_str());
  const double n = pb.X_train.n(), c = double(pb.Y_train.cols());
  if (starting_precision(p, n, c) != Precision::fp64)  // fp64, or auto's fp64: nothing to say
    std::printf("  solve precision %s\n", precision_note(p, n, c).c_str());
}

void run_fit(FitOptions o) {
  const auto t0 = std::chrono::steady_clock::now();
  o.rfm.validate();
  if (o.threads > 0) {
    set_blas_threads(o.threads);
    omp_set_num_threads(o.threads);
  }
  const FitData data = load_fit_data(o);
  const RfmProblem pb =
      scaled_problem(data.scaling, data.X, data.Y, data.Xv, data.Yv, data.classification);
  RFM_CHECK(!std::filesystem::exists(o.out) || o.force,
            "output directory %s exists (pass --force to overwrite, or another --out)",
            o.out.c_str());
  make_dirs(o.out);
  if (!o.quiet) print_start(data, pb, o.rfm.solve.precision);
  std::vector<Candidate> all;
  const Candidate chosen = choose(o, data, pb, all);
  const FittedModel* model = &chosen.fitted;
  FittedModel refitted;
  MatrixXd X_model = pb.X_train.dense();
  if (data.validation == "held-out" && o.refit) {
    RfmOptions r = with(o.rfm, chosen.bandwidth, chosen.ridge);
    r.iters = chosen.fitted.iteration + 1;  // no validation points: the last iteration is kept
    const RfmProblem whole = scaled_problem(data.scaling, data.X_all, data.Y_all, MatrixXd(),
                                            MatrixXd(), data.classification);
    refitted = fit_model(r, whole, {}, false);
    model = &refitted;
    X_model = whole.X_train.dense();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  write_text_atomic(o.out + "/metrics.csv", fit_metrics_csv(chosen.fitted.summary.iterations));
  write_text_atomic(o.out + "/summary.json", fit_summary(data, chosen, seconds).dump(2) + "\n");
  if (all.size() > 1) write_text_atomic(o.out + "/grid.csv", grid_csv(all));
  save_model(o.out, o, data, chosen, *model, X_model, model == &refitted);
  std::printf(
      "%s%s; model in %s (%.2f s)\n", kept_line(data, chosen).c_str(),
      model == &refitted ? strfmt(", refit on all %d points", int(data.X_all.rows())).c_str() : "",
      o.out.c_str(), seconds);
}

// --- rfm predict ----------------------------------------------------------------------------

struct PredictOptions {
  std::string run, x, y, out;
};

nlohmann::json read_model(const std::string& run) {
  std::ifstream in(run + "/model.json");
  RFM_CHECK(in.good(), "%s has no model.json (is it a run directory of rfm fit?)", run.c_str());
  try {
    return nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    RFM_CHECK(false, "%s/model.json: %s", run.c_str(), e.what());
  }
  return {};
}

// "DIR/NAME.npy" -> "DIR/NAME_scores.npy".
std::string scores_path(const std::string& predictions) {
  std::filesystem::path p(predictions);
  return (p.parent_path() / (p.stem().string() + "_scores.npy")).string();
}

std::vector<int64_t> argmax_rows(const MatrixXd& P) {
  std::vector<int64_t> labels(P.rows());
  for (Eigen::Index i = 0; i < P.rows(); ++i) P.row(i).maxCoeff(&labels[i]);
  return labels;
}

void report_against(const std::string& path, const MatrixXd& P, bool classification) {
  Targets t = make_targets(load_matrix(path), classification ? Target::classes : Target::values,
                           static_cast<int>(P.cols()), path);
  RFM_CHECK(t.Y.rows() == P.rows() && t.Y.cols() == P.cols(),
            "--y has %d rows and %d outputs, the predictions %d and %d", int(t.Y.rows()),
            int(t.Y.cols()), int(P.rows()), int(P.cols()));
  const double mse = mean_squared_error(P, t.Y);
  if (classification)
    std::printf("  accuracy %.4f, mse %.4e\n", argmax_accuracy(P, t.Y), mse);
  else
    std::printf("  rmse %.4g, R^2 %.4f\n", std::sqrt(mse), r_squared(mse, t.Y));
}

void run_predict(const PredictOptions& o) {
  const nlohmann::json model = read_model(o.run);
  const Kernel k{kernel_from_string(model.at("kernel")), model.at("bandwidth").get<double>()};
  const MatrixXd M = npy_load(o.run + "/model_M.npy"), alpha = npy_load(o.run + "/model_alpha.npy");
  const Inputs Xtr = Inputs::detect(npy_load(o.run + "/model_X.npy"));
  const MatrixXd Z = load_matrix(o.x);
  RFM_CHECK(Z.cols() == Xtr.d, "--x has %d columns but the model was fit on %d", int(Z.cols()),
            Xtr.d);
  Scaling s;
  s.x_mean = row_from_json(model, "x_mean", Xtr.d, o.run);
  s.x_scale = row_from_json(model, "x_scale", Xtr.d, o.run);
  s.y_mean = row_from_json(model, "y_mean", int(alpha.cols()), o.run);
  const Inputs Zi =
      Xtr.one_hot() ? Inputs::detect(s.features(Z)) : Inputs::from_dense(s.features(Z));
  const Inputs& train = Xtr.one_hot() && !Zi.one_hot() ? Inputs::from_dense(Xtr.dense()) : Xtr;
  const MatrixXd P = s.outputs(predict(k, train, alpha, M, Zi));
  const bool classification = model.at("classification").get<bool>();
  const std::string out = o.out.empty() ? o.run + "/predictions.npy" : o.out;
  if (classification) {
    npy_save_ints(out, argmax_rows(P));
    npy_save(scores_path(out), P);
    std::printf("rfm predict: %d points -> %s (class ids), %s (%d scores each)\n", int(P.rows()),
                out.c_str(), scores_path(out).c_str(), int(P.cols()));
  } else {
    npy_save(out, P);
    std::printf("rfm predict: %d points -> %s (%d values each)\n", int(P.rows()), out.c_str(),
                int(P.cols()));
  }
  if (!o.y.empty()) report_against(o.y, P, classification);
}

// --- Options ----------------------------------------------------------------------------------

void add_rfm_options(CLI::App& sub, FitOptions& o) {
  RfmOptions& r = o.rfm;
  add_enum_option(sub, "--kernel", r.kernel.type,
                  {{"gaussian", KernelType::gaussian},
                   {"gaussian-paper", KernelType::gaussian_paper},
                   {"laplace", KernelType::laplace},
                   {"quadratic", KernelType::quadratic}},
                  "Kernel");
  sub.add_option("--bandwidth", o.bandwidths,
                 "Bandwidth L; a list (1,3,10,30) is a grid chosen on the validation points")
      ->delimiter(',')
      ->default_str("10");
  sub.add_option("--ridge", o.ridges, "Ridge added to K; a list is a grid, as --bandwidth")
      ->delimiter(',')
      ->default_str("0.001,0.01,0.1,1");
  sub.add_option("--iters", r.iters, "RFM iterations")->capture_default_str();
  sub.add_option("--power", r.power, "Exponent s of M = AGOP^s")->capture_default_str();
  add_enum_option(sub, "--centering", r.agop.centering, {{"on", true}, {"off", false}},
                  "Subtract the mean Jacobian");
  add_enum_option(sub, "--normalize", r.normalize,
                  {{"none", Normalize::none}, {"max", Normalize::max}},
                  "Divide the AGOP by its largest entry");
  add_precision_option(sub, r.solve.precision);
  sub.add_option("--agop-samples", r.agop_samples, "AGOP over this many random points (0: all)")
      ->capture_default_str();
  sub.add_option("--agop-seed", r.agop_seed, "Seed of the AGOP subsample")->capture_default_str();
}

void add_data_options(CLI::App& sub, FitOptions& o) {
  sub.add_option("--x", o.x, "Training features (n, d), .npy or .csv")->required();
  sub.add_option("--y", o.y, "Training targets: class ids (n) or values (n, c)")->required();
  sub.add_option("--x-val", o.x_val, "Validation features");
  sub.add_option("--y-val", o.y_val, "Validation targets");
  sub.add_option("--val-frac", o.val_frac,
                 "Without --x-val: this fraction of --x is held out to choose the iteration "
                 "(0: none, the last iteration is kept)")
      ->capture_default_str();
  sub.add_option("--seed", o.seed, "Seed of the held-out rows")->capture_default_str();
  add_enum_option(sub, "--refit", o.refit, {{"on", true}, {"off", false}},
                  "After choosing on held-out rows, refit on all of --x");
  add_enum_option(
      sub, "--target", o.target,
      {{"auto", Target::automatic}, {"classes", Target::classes}, {"values", Target::values}},
      "Targets are class ids or real values (auto: ids if one column of integers >= 0 with at "
      "most 100 distinct values, fewer than half the rows)");
  add_enum_option(
      sub, "--standardize", o.standardize,
      {{"auto", Standardize::automatic}, {"on", Standardize::on}, {"off", Standardize::off}},
      "Scale each feature to mean 0, variance 1 and centre real targets, by the training data; "
      "saved with the model (auto: on unless the features are one-hot)");
}

void setup_fit(CLI::App& app) {
  auto o = std::make_shared<FitOptions>();
  o->rfm.iters = 5;
  o->rfm.kernel.type = KernelType::laplace;
  CLI::App* sub = app.add_subcommand(
      "fit",
      "RFM on your tabular data (.npy/.csv): standardised features, the iteration (and the "
      "bandwidth and ridge of a grid) that fits the validation points best is kept");
  sub->footer(
      "Validation points: --x-val/--y-val, else --val-frac of --x held out (then the model is\n"
      "refit on all of --x for the chosen iteration). The bandwidth L acts on standardised\n"
      "features, where the distance of two points is about sqrt(2 d); L = 10 suits tens of\n"
      "features, a grid (--bandwidth 1,3,10,30) chooses on the validation points.\n"
      "Writes model_M.npy, model_alpha.npy, model_X.npy, model.json (kernel, bandwidth,\n"
      "ridge, iteration, scaling), metrics.csv (train_* and val_* per iteration), summary.json\n"
      "and, for a grid, grid.csv.\n"
      "Example:\n"
      "  rfm fit --x X.npy --y y.npy --out runs/fit\n"
      "  rfm fit --x X.npy --y y.npy --x-val Xv.npy --y-val yv.npy --bandwidth 3,10,30\n"
      "  rfm predict runs/fit --x X_test.npy");
  add_data_options(*sub, *o);
  add_rfm_options(*sub, *o);
  sub->add_option("--out", o->out, "Run directory")->capture_default_str();
  sub->add_option("--threads", o->threads, "BLAS/OpenMP threads (0: all)")->capture_default_str();
  sub->add_flag("--force", o->force, "Overwrite an existing run directory");
  sub->add_flag("--quiet", o->quiet, "No live table");
  sub->callback([o] { run_fit(*o); });
}

void setup_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* sub = app.add_subcommand("predict", "Apply a model saved by rfm fit to new points");
  sub->footer(
      "Applies the model's scaling, then writes for classes the predicted class ids (int64,\n"
      "shape (m,)) and, beside them as NAME_scores.npy, the kernel machine's outputs (m, c):\n"
      "regression onto one-hot labels, near 1 for the predicted class, not calibrated\n"
      "probabilities; for values the predictions (m, c).\n"
      "Example:\n  rfm predict runs/fit --x X_test.npy --y y_test.npy");
  sub->add_option("run", o->run, "Run directory of rfm fit")->required();
  sub->add_option("--x", o->x, "Features (m, d), .npy or .csv")->required();
  sub->add_option("--y", o->y, "Targets, to report accuracy (classes) or RMSE and R^2 (values)");
  sub->add_option("--out", o->out, "Predictions .npy (default RUN/predictions.npy)");
  sub->callback([o] { run_predict(*o); });
}

}  // namespace

RFM_COMMAND(fit, setup_fit);
RFM_COMMAND(predict, setup_predict);

}  // namespace rfm
