// fit_model (rfm.h): RFM on a user's data set, keeping the iteration that fits the validation
// points best, the model that `rfm fit` saves and the Python estimators hold.
#include "rfm/rfm.h"

namespace rfm {

bool better_iteration(const IterationStats& a, const IterationStats& b, bool classification) {
  if (classification && a.test_acc != b.test_acc) return a.test_acc > b.test_acc;
  return a.test_mse < b.test_mse;
}

RfmProblem fit_problem(const MatrixXd& X, const MatrixXd& Y, const MatrixXd& X_val,
                       const MatrixXd& Y_val, bool classification) {
  RfmProblem pb;
  pb.classification = classification;
  pb.X_train = Inputs::detect(X);
  pb.Y_train = Y;
  pb.X_test = Inputs::from_dense(MatrixXd(0, X.cols()));
  pb.Y_test = MatrixXd(0, Y.cols());
  if (X_val.rows() == 0) return pb;
  // One-hot inputs keep their fast path only when the validation points are one-hot too.
  pb.X_test = pb.X_train.one_hot() ? Inputs::detect(X_val) : Inputs::from_dense(X_val);
  if (pb.X_train.one_hot() != pb.X_test.one_hot()) {
    pb.X_train = Inputs::from_dense(X);
    pb.X_test = Inputs::from_dense(X_val);
  }
  pb.Y_test = Y_val;
  return pb;
}

FittedModel fit_model(const RfmOptions& options, const RfmProblem& problem,
                      const std::vector<IterationCallback>& callbacks, bool keep_history) {
  FittedModel model;
  std::vector<MatrixXd> Ms;  // M_t of every iteration, to keep the best one
  std::vector<IterationStats> rows;
  std::vector<IterationCallback> all = {[&](const IterationStats& s, const MatrixXd& M) {
    Ms.push_back(M);
    rows.push_back(s);
    return Decision::proceed;
  }};
  all.insert(all.end(), callbacks.begin(), callbacks.end());
  const int d = problem.X_train.d;
  model.summary = run_rfm(options, problem, MatrixXd::Identity(d, d), all, {});
  RFM_CHECK(!rows.empty(), "no iteration finished: %s", model.summary.message.c_str());
  int best = static_cast<int>(rows.size()) - 1;
  if (problem.X_test.n() > 0)
    for (int t = 0; t < static_cast<int>(rows.size()); ++t)
      if (better_iteration(rows[t], rows[best], problem.classification)) best = t;
  model.iteration = best;
  model.M = Ms[best];
  auto km = KernelMachine::create({options.kernel, options.solve, options.agop}, options.backend);
  km->set_data(problem.X_train, problem.Y_train);
  km->fit(model.M);
  model.alpha = km->alpha();
  if (keep_history) model.history = std::move(Ms);
  return model;
}

}  // namespace rfm
