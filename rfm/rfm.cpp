// The RFM loop (rfm.h; docs/algorithms.md 2), and the checkpoint that lets an interrupted
// run continue with the same results (rfm grok --resume).
#include "rfm/rfm.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

namespace rfm {

const char* to_string(Normalize n) {
  return n == Normalize::none ? "none" : "max";
}

Normalize normalize_from_string(const std::string& name) {
  if (name == "none") return Normalize::none;
  if (name == "max") return Normalize::max;
  RFM_CHECK(false, "unknown normalisation '%s' (known: none, max)", name.c_str());
  return Normalize::none;
}

const char* to_string(Termination t) {
  switch (t) {
    case Termination::completed:
      return "completed";
    case Termination::stopped:
      return "stopped";
    case Termination::numerical_failure:
      return "numerical_failure";
    case Termination::interrupted:
      return "interrupted";
  }
  return "?";
}

void RfmOptions::validate() const {
  RFM_CHECK(iters >= 1, "--iters %d must be >= 1", iters);
  RFM_CHECK(std::isfinite(power) && power > 0, "--power %g must be > 0", power);
  RFM_CHECK(!kernel.radial() || (std::isfinite(kernel.bandwidth) && kernel.bandwidth > 0),
            "--bandwidth %g must be > 0", kernel.bandwidth);
  RFM_CHECK(std::isfinite(solve.ridge) && solve.ridge >= 0, "--ridge %g must be >= 0", solve.ridge);
  RFM_CHECK(agop.block >= 1, "--agop-block %d must be >= 1", agop.block);
  RFM_CHECK(agop_samples >= 0, "--agop-samples %d must be >= 0", agop_samples);
  RFM_CHECK(enforce_circulant_p == 0 || (enforce_circulant_p >= 2 && is_prime(enforce_circulant_p)),
            "enforce_circulant_p %d must be 0 (off) or a prime", enforce_circulant_p);
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
  return strfmt(
      "%s after %d iterations: train acc %.4f, test acc %.4f; test acc >= 0.5 from "
      "iteration %d, >= 0.99 from %d; %.2f s",
      to_string(termination), int(iterations.size()), last ? last->train_acc : kNaN,
      last ? last->test_acc : kNaN, first_iter_test_050, first_iter_test_099, total_seconds);
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// M_{t+1} from the AGOP G: optional max-entry normalisation, then G^s, then the enforced
// circulant structure when asked (docs/algorithms.md 2.5).
MatrixXd update_from_agop(const RfmOptions& o, MatrixXd G) {
  if (o.normalize == Normalize::max) {
    const double mx = G.cwiseAbs().maxCoeff();
    if (mx > 0) G /= mx;
  }
  MatrixXd M = sym_power(G, o.power);
  if (o.enforce_circulant_p > 0 && M.allFinite())
    M = block_circulant_projection(M, o.enforce_circulant_p, o.enforce_circulant_op);
  return M;
}

// Test accuracy of each group of test points (multitask): extra "test_acc_<name>" columns.
void record_group_accuracy(const RfmProblem& pb, const MatrixXd& pred, IterationStats& st) {
  if (pb.group_names.empty()) return;
  RFM_CHECK(pb.test_group.size() == size_t(pred.rows()),
            "test_group has %zu entries for %d test points", pb.test_group.size(),
            int(pred.rows()));
  const size_t G = pb.group_names.size();
  std::vector<int> correct(G, 0), total(G, 0);
  for (Eigen::Index i = 0; i < pred.rows(); ++i) {
    const int g = pb.test_group[i];
    RFM_CHECK(g >= 0 && size_t(g) < G, "test_group %d is outside 0..%zu", g, G - 1);
    Eigen::Index a, b;
    pred.row(i).maxCoeff(&a);
    pb.Y_test.row(i).maxCoeff(&b);
    correct[g] += a == b;
    ++total[g];
  }
  for (size_t g = 0; g < G; ++g)
    st.extra.push_back(
        {"test_acc_" + pb.group_names[g], total[g] > 0 ? double(correct[g]) / total[g] : kNaN});
}

void record_metrics(KernelMachine& km, const RfmProblem& pb, IterationStats& st, RfmSummary& sum) {
  const auto t0 = Clock::now();
  const MatrixXd ptr = km.predict(pb.X_train);
  st.train_mse = mean_squared_error(ptr, pb.Y_train);
  if (pb.classification) st.train_acc = argmax_accuracy(ptr, pb.Y_train);
  if (pb.X_test.n() > 0) {
    const MatrixXd pte = km.predict(pb.X_test);
    st.test_mse = mean_squared_error(pte, pb.Y_test);
    if (pb.classification) st.test_acc = argmax_accuracy(pte, pb.Y_test);
    if (pb.classification) record_group_accuracy(pb, pte, st);
  }
  sum.eval_seconds += since(t0);
}

void finish_summary(RfmSummary& sum) {
  for (IterationStats& st : sum.iterations) {
    if (sum.first_iter_test_050 < 0 && st.test_acc >= 0.5) sum.first_iter_test_050 = st.iter;
    if (sum.first_iter_test_099 < 0 && st.test_acc >= 0.99) sum.first_iter_test_099 = st.iter;
  }
}

PhaseTimes operator+(const PhaseTimes& a, const PhaseTimes& b) {
  return {a.gram + b.gram, a.solve + b.solve, a.agop + b.agop, a.predict + b.predict};
}

// The summary so far, continued from a state (times and counters carry over).
RfmSummary summary_from_state(const RfmState& st) {
  RfmSummary sum;
  sum.termination = Termination::completed;
  sum.message = "completed all iterations";
  sum.iterations = st.iterations;
  sum.solver_fallbacks = st.solver_fallbacks;
  sum.update_seconds = st.update_seconds;
  sum.eval_seconds = st.eval_seconds;
  return sum;
}

void check_start(const RfmOptions& o, const RfmProblem& pb, const RfmState& st) {
  const int d = pb.X_train.d;
  RFM_CHECK(st.M_next.rows() == d && st.M_next.cols() == d,
            "the starting M is %dx%d, expected %dx%d for this problem", int(st.M_next.rows()),
            int(st.M_next.cols()), d, d);
  RFM_CHECK(st.next_iter >= 0 && size_t(st.next_iter) == st.history.size() &&
                st.history.size() == st.iterations.size(),
            "the starting state is inconsistent: next iteration %d, %zu matrices, %zu rows",
            st.next_iter, st.history.size(), st.iterations.size());
  RFM_CHECK(o.enforce_circulant_p == 0 || d == 2 * o.enforce_circulant_p,
            "the enforced circulant structure needs d = 2p = %d, the problem has d = %d",
            2 * o.enforce_circulant_p, d);
}

}  // namespace

RfmSummary run_rfm(const RfmOptions& o, const RfmProblem& pb, const MatrixXd& M0,
                   const std::vector<IterationCallback>& callbacks, const Measure& measure) {
  RfmState start;
  start.M_next = M0;
  return run_rfm(o, pb, start, callbacks, measure, {});
}

RfmSummary run_rfm(const RfmOptions& o, const RfmProblem& pb, const RfmState& start_state,
                   const std::vector<IterationCallback>& callbacks, const Measure& measure,
                   const CheckpointCallback& checkpoint) {
  o.validate();
  check_start(o, pb, start_state);
  const auto start = Clock::now();
  MachineOptions mo{o.kernel, o.solve, o.agop};
  std::unique_ptr<KernelMachine> km = KernelMachine::create(mo, o.backend);
  km->set_data(pb.X_train, pb.Y_train);
  RfmSummary sum = summary_from_state(start_state);
  const int n = pb.X_train.n();
  const Inputs agop_points = o.agop_samples > 0 && o.agop_samples < n
                                 ? pb.X_train.rows(random_subset(n, o.agop_samples, o.agop_seed))
                                 : pb.X_train;
  std::vector<MatrixXd> history = start_state.history;  // M_t, for the alignment with M_final
  MatrixXd M = start_state.M_next;
  // metrics.csv's columns are fixed for the run: refinement columns where it starts mixed.
  const double c = double(pb.Y_train.cols());
  // (auto on the CUDA backend is fp64.)
  const bool refines = (o.backend == Backend::cpu || o.solve.precision == Precision::mixed) &&
                       starting_precision(o.solve.precision, n, c) == Precision::mixed;
  for (int t = start_state.next_iter; t < o.iters; ++t) {
    const auto t0 = Clock::now();
    IterationStats st;
    st.iter = t;
    SolveReport rep = km->fit(M);
    st.solver = rep.method;
    st.fallback = rep.fallback;
    st.note = rep.message;
    if (refines) {  // how the refinement went, per iteration (fp64 solves: 0 steps, no residual)
      st.extra.push_back({"refine_steps", rep.refine_steps});
      st.extra.push_back({"solve_residual", rep.residual >= 0 ? rep.residual : kNaN});
    }
    sum.solver_fallbacks += rep.fallback;
    if (!km->alpha().allFinite()) {
      sum.termination = Termination::numerical_failure;
      sum.message =
          strfmt("iteration %d: the solve produced NaN or Inf (%s)", t, rep.message.c_str());
      break;
    }
    // The AGOP first: on the CPU it leaves the training predictions behind (Gaussian kernels).
    const MatrixXd G = km->agop(agop_points);
    record_metrics(*km, pb, st, sum);
    if (measure) measure(M, st);
    const auto t1 = Clock::now();
    MatrixXd next = G.allFinite() ? update_from_agop(o, G) : MatrixXd();
    sum.update_seconds += since(t1);
    st.seconds = since(t0);
    history.push_back(M);
    sum.iterations.push_back(st);
    if (!next.allFinite() || next.size() == 0) {
      sum.termination = Termination::numerical_failure;
      sum.message = strfmt(
          "iteration %d: the AGOP or its power has NaN or Inf; M_final is the "
          "last finite M",
          t);
      break;
    }
    M = std::move(next);
    if (checkpoint) {
      RfmState state{t + 1,
                     M,
                     history,
                     sum.iterations,
                     sum.solver_fallbacks,
                     start_state.phase_seconds + km->times,
                     sum.update_seconds,
                     sum.eval_seconds,
                     start_state.total_seconds + since(start)};
      checkpoint(state);
    }
    bool stop = false;
    for (const IterationCallback& cb : callbacks)
      stop |= cb(sum.iterations.back(), history.back()) == Decision::stop;
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
  sum.phase_seconds = start_state.phase_seconds + km->times;
  sum.total_seconds = start_state.total_seconds + since(start);
  return sum;
}

// --- Circulant feature matrices (docs/algorithms.md 2.4 and 2.5) ----------------------------

bool hankel_op(Op op) {
  return op == Op::sub || op == Op::div;
}

namespace {

// Positions of the structured block: residues 0..p-1, or Z_p^* in discrete-log order.
std::vector<int> circulant_positions(int p, Op op) {
  if (op == Op::mul || op == Op::div) return discrete_log_order(p);
  std::vector<int> pos(p);
  for (int i = 0; i < p; ++i) pos[i] = i;
  return pos;
}

}  // namespace

MatrixXd block_circulant_matrix(const VectorXd& g, int p, Op op) {
  const std::vector<int> pos = circulant_positions(p, op);
  const int q = static_cast<int>(pos.size());
  RFM_CHECK(g.size() == q, "the circulant generator has %d entries, expected %d for %s mod %d",
            int(g.size()), q, to_string(op), p);
  MatrixXd M = MatrixXd::Zero(2 * p, 2 * p);
  const MatrixXd A = MatrixXd::Identity(p, p) - MatrixXd::Constant(p, p, 1.0 / p);
  M.topLeftCorner(p, p) = A;
  M.bottomRightCorner(p, p) = A;
  const bool hankel = hankel_op(op);
  for (int r = 0; r < q; ++r)
    for (int c = 0; c < q; ++c) {
      const double v = g((hankel ? r + c : r - c + q) % q);
      M(p + pos[r], pos[c]) = v;  // C, the bottom-left block
      M(pos[c], p + pos[r]) = v;  // C^T
    }
  return M;
}

VectorXd block_first_column(const MatrixXd& M, int p, Op op) {
  RFM_CHECK(M.rows() == 2 * p && M.cols() == 2 * p,
            "feature matrix is %dx%d, expected %dx%d for %s mod %d", int(M.rows()), int(M.cols()),
            2 * p, 2 * p, to_string(op), p);
  const std::vector<int> pos = circulant_positions(p, op);
  VectorXd g(pos.size());
  for (size_t r = 0; r < pos.size(); ++r) g(r) = M(p + pos[r], pos[0]);
  return g;
}

namespace {

// Scales C (and C^T) of a block-circulant M to spectral norm `limit` when it is larger. With
// limit 1 and a generator of mean zero M is then positive semidefinite (A is the identity on
// the mean-zero vectors C maps between); the generators of our runs are close to mean zero.
void limit_block_norm(MatrixXd& M, int p, double limit) {
  const double norm = Eigen::JacobiSVD<MatrixXd>(M.bottomLeftCorner(p, p)).singularValues()(0);
  if (norm <= limit || norm == 0) return;
  M.bottomLeftCorner(p, p) *= limit / norm;
  M.topRightCorner(p, p) *= limit / norm;
}

}  // namespace

MatrixXd block_circulant_projection(const MatrixXd& M, int p, Op op) {
  MatrixXd P = block_circulant_matrix(block_first_column(normalize_by_diagonal(M), p, op), p, op);
  // (project definition) App. F does not say; an indefinite P makes K indefinite and the run
  // unstable (Cholesky failures and test accuracy falling back to 0.16 after grokking).
  limit_block_norm(P, p, 1.0);
  return P;
}

namespace {

// A real sequence of length q whose DFT has modulus 1 at every k != 0 (random phases, real +-1
// at k = q/2 for even q) and 0 at k = 0: g_r = (1/q) sum_k e^{i phi_k} e^{2 pi i k r / q}.
VectorXd flat_spectrum_generator(int q, std::mt19937_64& gen) {
  VectorXd g = VectorXd::Zero(q);
  for (int k = 1; 2 * k <= q; ++k) {
    const double u = double(gen() >> 11) * 0x1.0p-53;
    if (2 * k == q) {  // the Nyquist coefficient of an even length is real
      for (int r = 0; r < q; ++r) g(r) += (u < 0.5 ? 1.0 : -1.0) * (r % 2 ? -1.0 : 1.0) / q;
      continue;
    }
    const double phi = 2 * M_PI * u;
    for (int r = 0; r < q; ++r) g(r) += 2.0 / q * std::cos(2 * M_PI * k * r / q + phi);
  }
  return g;
}

}  // namespace

const char* to_string(CirculantSpectrum s) {
  switch (s) {
    case CirculantSpectrum::sqrtm:
      return "sqrtm";
    case CirculantSpectrum::scaled:
      return "scaled";
    case CirculantSpectrum::flat:
      return "flat";
  }
  return "?";
}

CirculantSpectrum circulant_spectrum_from_string(const std::string& name) {
  for (CirculantSpectrum s :
       {CirculantSpectrum::sqrtm, CirculantSpectrum::scaled, CirculantSpectrum::flat})
    if (name == to_string(s)) return s;
  RFM_CHECK(false, "unknown circulant spectrum '%s' (known: sqrtm, scaled, flat)", name.c_str());
  return CirculantSpectrum::sqrtm;
}

MatrixXd published_circulant_matrix(const VectorXd& col, int p, Op op) {
  const int q = op == Op::mul || op == Op::div ? p - 1 : p;
  RFM_CHECK(col.size() == q, "the random column has %d entries, expected %d for %s mod %d",
            int(col.size()), q, to_string(op), p);
  // Their top-right block T and our bottom-left C = T^T, with C[r, c] = g[(r - c) mod q] (add,
  // mul) or g[(r + c) mod q] (sub, div); r, c are residues, or for mul and div discrete logs:
  //   add: T = circulant(col), T[i, j] = col[(i - j) mod p], so g[k] = col[-k mod p];
  //   sub: T = rot90(circulant(col)), T[i, j] = circ[j, p-1-i] = col[(i + j + 1) mod p];
  //   mul: T[u, v] = circ[log u - 1, log v - 1] = col[(log u - log v) mod q] (unorder places
  //        residue u at the 1-based log of u), so g[k] = col[-k mod q] as for add;
  //   div: rot90 as for sub: T[u, v] = col[(log u - 1 + log v - 1 + 1) mod q], g[k] = col[k - 1].
  VectorXd g(q);
  for (int k = 0; k < q; ++k) {
    switch (op) {
      case Op::add:
      case Op::mul:
        g(k) = col((q - k) % q);
        break;
      case Op::sub:
        g(k) = col((k + 1) % q);
        break;
      case Op::div:
        g(k) = col((k - 1 + q) % q);
        break;
    }
  }
  return block_circulant_matrix(g, p, op);
}

MatrixXd random_circulant_block_matrix(int p, Op op, uint64_t seed, CirculantSpectrum spectrum) {
  const int q = op == Op::mul || op == Op::div ? p - 1 : p;
  std::mt19937_64 gen(seed);
  if (spectrum == CirculantSpectrum::flat)
    return block_circulant_matrix(flat_spectrum_generator(q, gen), p, op);
  // torch.rand(p) (add, sub) and np.random.uniform(size=p-1) (mul, div) in the authors' code.
  VectorXd col(q);
  for (int i = 0; i < q; ++i) col(i) = double(gen() >> 11) * 0x1.0p-53;  // uniform on [0, 1)
  col.array() -= col.mean();
  if (spectrum == CirculantSpectrum::sqrtm) return published_circulant_matrix(col, p, op);
  // scaled (project definition): C to spectral norm 1, so that M* is positive semidefinite (A
  // is the identity on the mean-zero vectors C maps between) and can be the metric itself.
  // Used unscaled as a metric, M* gives test accuracy about 0.02. The column is C's first
  // column here (the placement of the project's first version, whose results docs/
  // experiments.md reports), a reordering of the same uniform draw.
  MatrixXd M = block_circulant_matrix(col, p, op);
  const double norm = Eigen::JacobiSVD<MatrixXd>(M.bottomLeftCorner(p, p)).singularValues()(0);
  if (norm > 0) {
    M.bottomLeftCorner(p, p) /= norm;
    M.topRightCorner(p, p) /= norm;
  }
  return M;
}

MatrixXd random_circulant_features(int p, Op op, uint64_t seed, CirculantSpectrum spectrum) {
  const MatrixXd M = random_circulant_block_matrix(p, op, seed, spectrum);
  return spectrum == CirculantSpectrum::sqrtm ? real_sqrtm_symmetric(M) : M;
}

// The authors take np.real(scipy.linalg.sqrtm(M*)). sqrtm works on the Schur form S = Z T Z^H.
// S is real symmetric, so T is diagonal (a normal triangular matrix is diagonal), T = diag(l)
// with the real eigenvalues l, and Z can be taken real: Z = V of the symmetric eigensolver.
// The triangular recurrence then gives R = diag(sqrt(l)) with the principal scalar root,
// sqrt(l) = i sqrt(|l|) for l < 0 (strictly, a principal matrix root does not exist for
// negative eigenvalues; this is the root sqrtm returns). With V real,
//   Re(V diag(sqrt(l)) V^T) = V diag(Re sqrt(l)) V^T = V diag(sqrt(max(l, 0))) V^T,
// whichever sign of i sqrt(|l|) a branch picks, and (Re sqrtm S)^2 = V diag(max(l, 0)) V^T is
// the positive semidefinite part of S. tests/test_tasks.cpp checks this against Eigen's complex
// Schur matrix square root.
MatrixXd real_sqrtm_symmetric(const MatrixXd& S) {
  RFM_CHECK(S.rows() == S.cols() && S.allFinite(), "sqrtm needs a finite square matrix, got %dx%d",
            int(S.rows()), int(S.cols()));
  Eigen::SelfAdjointEigenSolver<MatrixXd> es(S);
  RFM_ASSERT(es.info() == Eigen::Success);
  const VectorXd r = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  MatrixXd M = es.eigenvectors() * r.asDiagonal() * es.eigenvectors().transpose();
  return 0.5 * (M + M.transpose());  // symmetric to the last bit
}

// --- Checkpoints (rfm grok --resume) ---------------------------------------------------------

namespace {

nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

double number_or_nan(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : kNaN;
}

std::string checkpoint_dir(const std::string& run_dir) {
  return run_dir + "/checkpoint";
}

nlohmann::json state_json(const RfmState& s) {
  nlohmann::json rows = nlohmann::json::array();
  for (const IterationStats& st : s.iterations) rows.push_back(iteration_json(st));
  return {{"next_iter", s.next_iter},
          {"d", s.M_next.rows()},
          {"solver_fallbacks", s.solver_fallbacks},
          {"seconds",
           {{"gram", s.phase_seconds.gram},
            {"solve", s.phase_seconds.solve},
            {"agop", s.phase_seconds.agop},
            {"predict", s.phase_seconds.predict},
            {"update", s.update_seconds},
            {"eval", s.eval_seconds},
            {"total", s.total_seconds}}},
          {"iterations", rows}};
}

}  // namespace

nlohmann::json iteration_json(const IterationStats& s) {
  nlohmann::json j = {{"iter", s.iter},
                      {"train_acc", number_or_null(s.train_acc)},
                      {"test_acc", number_or_null(s.test_acc)},
                      {"train_mse", number_or_null(s.train_mse)},
                      {"test_mse", number_or_null(s.test_mse)},
                      {"circ_dev", number_or_null(s.circ_dev)},
                      {"circ_dev_rev", number_or_null(s.circ_dev_rev)},
                      {"agop_align", number_or_null(s.agop_align)},
                      {"agop_align_nodiag", number_or_null(s.agop_align_nodiag)},
                      {"seconds", number_or_null(s.seconds)},
                      {"solver", s.solver},
                      {"fallback", s.fallback},
                      {"note", s.note}};
  nlohmann::json extra = nlohmann::json::array();  // an array keeps the order of the columns
  for (const auto& [name, value] : s.extra) extra.push_back({name, number_or_null(value)});
  j["extra"] = extra;
  return j;
}

IterationStats iteration_from_json(const nlohmann::json& j) {
  IterationStats s;
  s.iter = j.at("iter").get<int>();
  s.train_acc = number_or_nan(j, "train_acc");
  s.test_acc = number_or_nan(j, "test_acc");
  s.train_mse = number_or_nan(j, "train_mse");
  s.test_mse = number_or_nan(j, "test_mse");
  s.circ_dev = number_or_nan(j, "circ_dev");
  s.circ_dev_rev = number_or_nan(j, "circ_dev_rev");
  s.agop_align = number_or_nan(j, "agop_align");
  s.agop_align_nodiag = number_or_nan(j, "agop_align_nodiag");
  s.seconds = number_or_nan(j, "seconds");
  s.solver = j.value("solver", "");
  s.fallback = j.value("fallback", false);
  s.note = j.value("note", "");
  if (j.contains("extra"))
    for (const nlohmann::json& e : j["extra"])
      s.extra.push_back(
          {e.at(0).get<std::string>(), e.at(1).is_number() ? e.at(1).get<double>() : kNaN});
  return s;
}

std::string checkpoint_matrix_path(const std::string& run_dir, int t) {
  return checkpoint_dir(run_dir) + strfmt("/M_%04d.npy", t);
}

bool has_checkpoint(const std::string& run_dir) {
  return std::filesystem::exists(checkpoint_dir(run_dir) + "/state.json");
}

CheckpointWriter::CheckpointWriter(std::string run_dir, int written)
    : dir_(std::move(run_dir)), written_(written) {
  make_dirs(checkpoint_dir(dir_));
}

void CheckpointWriter::write(const RfmState& s) {
  // M_0 .. M_{t-1} are the history, M_t is M_next; state.json goes last (the commit point).
  for (int k = written_; k <= s.next_iter; ++k)
    npy_save(checkpoint_matrix_path(dir_, k), k < s.next_iter ? s.history[k] : s.M_next);
  written_ = s.next_iter + 1;
  write_text_atomic(checkpoint_dir(dir_) + "/state.json", state_json(s).dump(1) + "\n");
}

RfmState read_checkpoint(const std::string& run_dir) {
  const std::string path = checkpoint_dir(run_dir) + "/state.json";
  std::ifstream in(path);
  RFM_CHECK(in.good(), "%s: no checkpoint (was the run started by this version of rfm grok?)",
            path.c_str());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    RFM_CHECK(false, "%s is not valid JSON: %s", path.c_str(), e.what());
  }
  RfmState s;
  s.next_iter = j.at("next_iter").get<int>();
  s.solver_fallbacks = j.value("solver_fallbacks", 0);
  const nlohmann::json& sec = j.at("seconds");
  s.phase_seconds = {sec.value("gram", 0.0), sec.value("solve", 0.0), sec.value("agop", 0.0),
                     sec.value("predict", 0.0)};
  s.update_seconds = sec.value("update", 0.0);
  s.eval_seconds = sec.value("eval", 0.0);
  s.total_seconds = sec.value("total", 0.0);
  for (const nlohmann::json& row : j.at("iterations"))
    s.iterations.push_back(iteration_from_json(row));
  RFM_CHECK(int(s.iterations.size()) == s.next_iter, "%s: next iteration %d but %zu rows",
            path.c_str(), s.next_iter, s.iterations.size());
  for (int t = 0; t < s.next_iter; ++t)
    s.history.push_back(npy_load(checkpoint_matrix_path(run_dir, t)));
  s.M_next = npy_load(checkpoint_matrix_path(run_dir, s.next_iter));
  return s;
}

}  // namespace rfm
