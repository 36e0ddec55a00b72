// `rfm fit` and `rfm predict`: RFM on the user's own data (.npy or .csv), keeping the iteration
// with the best validation metric, and applying a saved model to new points.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/commands.h"
#include "rfm/rfm.h"

namespace rfm {

namespace {

enum class Target { automatic, classes, values };

struct FitOptions {
  std::string x, y, x_val, y_val;  // features (n, d) and targets; optional validation set
  Target target = Target::automatic;
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

Targets make_targets(const MatrixXd& raw, Target target, int classes, const std::string& path) {
  bool ids =
      raw.cols() == 1 && (raw.array() >= 0).all() && (raw.array() == raw.array().round()).all();
  RFM_CHECK(target != Target::classes || ids,
            "%s: --target classes needs one column of non-negative integer class ids",
            path.c_str());
  if (target == Target::values || !ids) return {raw, false};
  const int c = std::max(classes, static_cast<int>(raw.maxCoeff()) + 1);
  RFM_CHECK(c <= 100000, "%s: class id %d is too large", path.c_str(), c - 1);
  MatrixXd Y = MatrixXd::Zero(raw.rows(), c);
  for (Eigen::Index i = 0; i < raw.rows(); ++i) Y(i, static_cast<int>(raw(i, 0))) = 1;
  return {Y, true};
}

void save_model(const std::string& dir, const FitOptions& o, const RfmProblem& pb,
                const FittedModel& fitted) {
  npy_save(dir + "/model_M.npy", fitted.M);
  npy_save(dir + "/model_alpha.npy", fitted.alpha);
  npy_save(dir + "/model_X.npy", pb.X_train.dense());
  nlohmann::json model = {{"kernel", to_string(o.rfm.kernel.type)},
                          {"bandwidth", o.rfm.kernel.bandwidth},
                          {"iteration", fitted.iteration},
                          {"classification", pb.classification},
                          {"outputs", pb.Y_train.cols()}};
  write_text_atomic(dir + "/model.json", model.dump(2) + "\n");
}

void run_fit(FitOptions o) {
  o.rfm.validate();
  if (o.threads > 0) {
    set_blas_threads(o.threads);
    omp_set_num_threads(o.threads);
  }
  const MatrixXd X = load_matrix(o.x), yraw = load_matrix(o.y);
  RFM_CHECK(X.rows() == yraw.rows(), "--x has %d rows but --y has %d", int(X.rows()),
            int(yraw.rows()));
  RFM_CHECK(o.x_val.empty() == o.y_val.empty(), "--x-val and --y-val go together");
  const MatrixXd yv = o.y_val.empty() ? MatrixXd() : load_matrix(o.y_val);
  const int classes = yv.size() > 0 ? static_cast<int>(yv.maxCoeff()) + 1 : 0;
  Targets tr = make_targets(yraw, o.target, classes, o.y);
  MatrixXd Xv, Yv;
  if (!o.x_val.empty()) {
    Xv = load_matrix(o.x_val);
    RFM_CHECK(Xv.cols() == X.cols(), "--x-val has %d columns but --x has %d", int(Xv.cols()),
              int(X.cols()));
    RFM_CHECK(Xv.rows() == yv.rows(), "--x-val has %d rows but --y-val has %d", int(Xv.rows()),
              int(yv.rows()));
    Targets tv = make_targets(yv, tr.classification ? Target::classes : Target::values,
                              static_cast<int>(tr.Y.cols()), o.y_val);
    RFM_CHECK(tv.Y.cols() == tr.Y.cols(), "--y-val has %d outputs but --y has %d", int(tv.Y.cols()),
              int(tr.Y.cols()));
    Yv = tv.Y;
  }
  const RfmProblem pb = fit_problem(X, tr.Y, Xv, Yv, tr.classification);
  RFM_CHECK(!std::filesystem::exists(o.out) || o.force,
            "output directory %s exists (pass --force to overwrite, or another --out)",
            o.out.c_str());
  make_dirs(o.out);
  if (!o.quiet)
    std::printf(
        "rfm fit: %d points, d = %d (%s), %d outputs (%s), %d validation points\n"
        " iter  train_acc  val_acc  train_mse   val_mse    sec\n",
        pb.X_train.n(), pb.X_train.d, pb.X_train.one_hot() ? "one-hot" : "dense",
        int(pb.Y_train.cols()), tr.classification ? "classes" : "values", pb.X_test.n());
  std::vector<IterationStats> rows;
  IterationCallback live = [&](const IterationStats& s, const MatrixXd&) {
    rows.push_back(s);
    if (!o.quiet)
      std::printf("%5d  %9.4f  %7.4f  %9.2e  %8.2e  %5.2f\n", s.iter, s.train_acc, s.test_acc,
                  s.train_mse, s.test_mse, s.seconds);
    std::fflush(stdout);
    write_text_atomic(o.out + "/metrics.csv", metrics_csv(rows));
    return Decision::proceed;
  };
  const FittedModel fitted = fit_model(o.rfm, pb, {live}, false);
  write_run_results(o.out, fitted.summary);
  save_model(o.out, o, pb, fitted);
  const IterationStats& kept = rows[fitted.iteration];
  std::printf("%s\nkept iteration %d (val acc %.4f, val mse %.3e) as the model in %s\n",
              fitted.summary.brief_report().c_str(), fitted.iteration, kept.test_acc, kept.test_mse,
              o.out.c_str());
}

struct PredictOptions {
  std::string run, x, y, out;
};

void run_predict(const PredictOptions& o) {
  std::ifstream in(o.run + "/model.json");
  RFM_CHECK(in.good(), "%s has no model.json (is it a run directory of rfm fit?)", o.run.c_str());
  nlohmann::json model;
  try {
    model = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    RFM_CHECK(false, "%s/model.json: %s", o.run.c_str(), e.what());
  }
  const Kernel k{kernel_from_string(model.at("kernel")), model.at("bandwidth").get<double>()};
  const MatrixXd M = npy_load(o.run + "/model_M.npy"), alpha = npy_load(o.run + "/model_alpha.npy");
  const Inputs Xtr = Inputs::detect(npy_load(o.run + "/model_X.npy"));
  const MatrixXd Z = load_matrix(o.x);
  RFM_CHECK(Z.cols() == Xtr.d, "--x has %d columns but the model was fit on %d", int(Z.cols()),
            Xtr.d);
  const Inputs Zi = Xtr.one_hot() ? Inputs::detect(Z) : Inputs::from_dense(Z);
  const MatrixXd P = predict(
      k, Xtr.one_hot() && !Zi.one_hot() ? Inputs::from_dense(Xtr.dense()) : Xtr, alpha, M, Zi);
  const std::string out = o.out.empty() ? o.run + "/predictions.npy" : o.out;
  npy_save(out, P);
  std::printf("rfm predict: %d points -> %s (%d outputs)\n", int(P.rows()), out.c_str(),
              int(P.cols()));
  if (!o.y.empty()) {
    Targets t = make_targets(
        load_matrix(o.y), model.at("classification").get<bool>() ? Target::classes : Target::values,
        static_cast<int>(P.cols()), o.y);
    RFM_CHECK(t.Y.rows() == P.rows() && t.Y.cols() == P.cols(),
              "--y does not match the predictions' shape");
    std::printf("  mse %.4e", mean_squared_error(P, t.Y));
    if (t.classification) std::printf(", accuracy %.4f", argmax_accuracy(P, t.Y));
    std::printf("\n");
  }
}

void add_rfm_options(CLI::App& sub, RfmOptions& r) {
  add_enum_option(sub, "--kernel", r.kernel.type,
                  {{"gaussian", KernelType::gaussian},
                   {"gaussian-paper", KernelType::gaussian_paper},
                   {"laplace", KernelType::laplace},
                   {"quadratic", KernelType::quadratic}},
                  "Kernel");
  sub.add_option("--bandwidth", r.kernel.bandwidth, "Bandwidth L")->capture_default_str();
  sub.add_option("--ridge", r.solve.ridge, "Ridge added to K")->capture_default_str();
  sub.add_option("--iters", r.iters, "RFM iterations")->capture_default_str();
  sub.add_option("--power", r.power, "Exponent s of M = AGOP^s")->capture_default_str();
  add_enum_option(sub, "--centering", r.agop.centering, {{"on", true}, {"off", false}},
                  "Subtract the mean Jacobian");
  add_enum_option(sub, "--normalize", r.normalize,
                  {{"none", Normalize::none}, {"max", Normalize::max}},
                  "Divide the AGOP by its largest entry");
  add_enum_option(
      sub, "--precision", r.solve.precision,
      {{"fp64", Precision::fp64}, {"fp32", Precision::fp32}, {"mixed", Precision::mixed}},
      "Solve precision");
  sub.add_option("--agop-samples", r.agop_samples, "AGOP over this many random points (0: all)")
      ->capture_default_str();
  sub.add_option("--agop-seed", r.agop_seed, "Seed of the AGOP subsample")->capture_default_str();
}

void setup_fit(CLI::App& app) {
  auto o = std::make_shared<FitOptions>();
  o->rfm.iters = 10;
  o->rfm.kernel.bandwidth = 10.0;
  CLI::App* sub = app.add_subcommand(
      "fit", "RFM on your data (.npy/.csv); keeps the iteration with the best validation metric");
  sub->footer(
      "Example:\n"
      "  rfm fit --x X.npy --y y.npy --x-val Xv.npy --y-val yv.npy --out runs/fit\n"
      "  rfm predict runs/fit --x X_test.npy");
  sub->add_option("--x", o->x, "Training features (n, d), .npy or .csv")->required();
  sub->add_option("--y", o->y, "Training targets: class ids (n) or values (n, c)")->required();
  sub->add_option("--x-val", o->x_val, "Validation features");
  sub->add_option("--y-val", o->y_val, "Validation targets");
  add_enum_option(
      *sub, "--target", o->target,
      {{"auto", Target::automatic}, {"classes", Target::classes}, {"values", Target::values}},
      "Targets are class ids or real values (auto: ids if one integer column)");
  add_rfm_options(*sub, o->rfm);
  sub->add_option("--out", o->out, "Run directory")->capture_default_str();
  sub->add_option("--threads", o->threads, "BLAS/OpenMP threads (0: all)")->capture_default_str();
  sub->add_flag("--force", o->force, "Overwrite an existing run directory");
  sub->add_flag("--quiet", o->quiet, "No live table");
  sub->callback([o] { run_fit(*o); });
}

void setup_predict(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* sub = app.add_subcommand("predict", "Apply a model saved by rfm fit to new points");
  sub->footer("Example:\n  rfm predict runs/fit --x X_test.npy");
  sub->add_option("run", o->run, "Run directory of rfm fit")->required();
  sub->add_option("--x", o->x, "Features (m, d), .npy or .csv")->required();
  sub->add_option("--y", o->y, "Targets, to report accuracy and mse");
  sub->add_option("--out", o->out, "Predictions .npy (default RUN/predictions.npy)");
  sub->callback([o] { run_predict(*o); });
}

}  // namespace

RFM_COMMAND(fit, setup_fit);
RFM_COMMAND(predict, setup_predict);

}  // namespace rfm
