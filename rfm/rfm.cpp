// The RFM loop (rfm.h; REFERENCE.md section 2).
#include "rfm/rfm.h"

#include <chrono>
#include <cmath>

namespace rfm {

const char* to_string(Normalize n) { return n == Normalize::none ? "none" : "max"; }

Normalize normalize_from_string(const std::string& name) {
  if (name == "none") return Normalize::none;
  if (name == "max") return Normalize::max;
  RFM_CHECK(false, "unknown normalisation '%s' (known: none, max)", name.c_str());
  return Normalize::none;
}

const char* to_string(Termination t) {
  switch (t) {
    case Termination::completed: return "completed";
    case Termination::stopped: return "stopped";
    case Termination::numerical_failure: return "numerical_failure";
  }
  return "?";
}

void RfmOptions::validate() const {
  RFM_CHECK(iters >= 1, "--iters %d must be >= 1", iters);
  RFM_CHECK(std::isfinite(power) && power > 0, "--power %g must be > 0", power);
  RFM_CHECK(!kernel.radial() || (std::isfinite(kernel.bandwidth) && kernel.bandwidth > 0),
            "--bandwidth %g must be > 0", kernel.bandwidth);
  RFM_CHECK(std::isfinite(solve.ridge) && solve.ridge >= 0, "--ridge %g must be >= 0",
            solve.ridge);
  RFM_CHECK(agop.block >= 1, "--agop-block %d must be >= 1", agop.block);
  RFM_CHECK(agop_samples >= 0, "--agop-samples %d must be >= 0", agop_samples);
}

double argmax_accuracy(const MatrixXd& pred, const MatrixXd& Y) {
  if (pred.rows() == 0) return kNaN;
  int correct = 0;
  for (Eigen::Index i = 0; i < pred.rows(); ++i) {
    Eigen::Index a, b;
    pred.row(i).maxCoeff(&a);
    Y.row(i).maxCoeff(&b);
    correct += a == b;
  }
  return double(correct) / pred.rows();
}

double mean_squared_error(const MatrixXd& pred, const MatrixXd& Y) {
  if (pred.size() == 0) return kNaN;
  return (pred - Y).squaredNorm() / double(pred.size());
}

std::string RfmSummary::brief_report() const {
  const IterationStats* last = iterations.empty() ? nullptr : &iterations.back();
  return strfmt("%s after %d iterations: train acc %.4f, test acc %.4f; test acc >= 0.5 from "
                "iteration %d, >= 0.99 from %d; %.2f s",
                to_string(termination), int(iterations.size()), last ? last->train_acc : kNaN,
                last ? last->test_acc : kNaN, first_iter_test_050, first_iter_test_099,
                total_seconds);
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// M_{t+1} from the AGOP G: optional max-entry normalisation, then G^s.
MatrixXd update_from_agop(const RfmOptions& o, MatrixXd G) {
  if (o.normalize == Normalize::max) {
    const double mx = G.cwiseAbs().maxCoeff();
    if (mx > 0) G /= mx;
  }
  return sym_power(G, o.power);
}

void record_metrics(KernelMachine& km, const RfmProblem& pb, IterationStats& st,
                    RfmSummary& sum) {
  const auto t0 = Clock::now();
  const MatrixXd ptr = km.predict(pb.X_train);
  st.train_mse = mean_squared_error(ptr, pb.Y_train);
  if (pb.classification) st.train_acc = argmax_accuracy(ptr, pb.Y_train);
  if (pb.X_test.n() > 0) {
    const MatrixXd pte = km.predict(pb.X_test);
    st.test_mse = mean_squared_error(pte, pb.Y_test);
    if (pb.classification) st.test_acc = argmax_accuracy(pte, pb.Y_test);
  }
  sum.eval_seconds += since(t0);
}

void finish_summary(RfmSummary& sum) {
  for (IterationStats& st : sum.iterations) {
    if (sum.first_iter_test_050 < 0 && st.test_acc >= 0.5) sum.first_iter_test_050 = st.iter;
    if (sum.first_iter_test_099 < 0 && st.test_acc >= 0.99) sum.first_iter_test_099 = st.iter;
  }
}

}  // namespace

RfmSummary run_rfm(const RfmOptions& o, const RfmProblem& pb, const MatrixXd& M0,
                   const std::vector<IterationCallback>& callbacks, const Measure& measure) {
  o.validate();
  const auto start = Clock::now();
  MachineOptions mo{o.kernel, o.solve, o.agop};
  std::unique_ptr<KernelMachine> km = KernelMachine::create(mo, o.backend);
  km->set_data(pb.X_train, pb.Y_train);
  RfmSummary sum;
  sum.termination = Termination::completed;
  sum.message = "completed all iterations";
  const int n = pb.X_train.n();
  const Inputs agop_points = o.agop_samples > 0 && o.agop_samples < n
                                 ? pb.X_train.rows(random_subset(n, o.agop_samples, o.agop_seed))
                                 : pb.X_train;
  std::vector<MatrixXd> history;  // M_t, for the alignment with M_final
  MatrixXd M = M0;
  for (int t = 0; t < o.iters; ++t) {
    const auto t0 = Clock::now();
    IterationStats st;
    st.iter = t;
    SolveReport rep = km->fit(M);
    st.solver = rep.method;
    st.fallback = rep.fallback;
    st.note = rep.message;
    sum.solver_fallbacks += rep.fallback;
    if (!km->alpha().allFinite()) {
      sum.termination = Termination::numerical_failure;
      sum.message = strfmt("iteration %d: the solve produced NaN or Inf (%s)", t,
                           rep.message.c_str());
      break;
    }
    record_metrics(*km, pb, st, sum);
    if (measure) measure(M, st);
    const MatrixXd G = km->agop(agop_points);
    const auto t1 = Clock::now();
    MatrixXd next = G.allFinite() ? update_from_agop(o, G) : MatrixXd();
    sum.update_seconds += since(t1);
    st.seconds = since(t0);
    history.push_back(M);
    sum.iterations.push_back(st);
    if (!next.allFinite() || next.size() == 0) {
      sum.termination = Termination::numerical_failure;
      sum.message = strfmt("iteration %d: the AGOP or its power has NaN or Inf; M_final is the "
                           "last finite M",
                           t);
      break;
    }
    M = std::move(next);
    bool stop = false;
    for (const IterationCallback& cb : callbacks) stop |= cb(sum.iterations.back(), history.back()) == Decision::stop;
    if (stop) {
      sum.termination = Termination::stopped;
      sum.message = strfmt("stopped by a callback after iteration %d", t);
      break;
    }
  }
  sum.M_final = M;
  for (size_t t = 0; t < sum.iterations.size(); ++t) {
    sum.iterations[t].agop_align = cosine_similarity(history[t], M, false);
    sum.iterations[t].agop_align_nodiag = cosine_similarity(history[t], M, true);
  }
  finish_summary(sum);
  sum.phase_seconds = km->times;
  sum.total_seconds = since(start);
  return sum;
}

}  // namespace rfm
