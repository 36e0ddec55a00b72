// Training loops of the companion networks (neural.h): mini-batch AdamW over a seeded
// shuffle each epoch, metrics and feature-matrix measures at logged epochs, callbacks that
// receive every logged epoch (the loop itself prints nothing).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "neural/neural.h"

namespace rfm {

const char* to_string(Model m) {
  switch (m) {
    case Model::mlp:
      return "mlp";
    case Model::transformer:
      return "transformer";
    case Model::embed2d:
      return "embed2d";
  }
  return "?";
}

void TrainOptions::validate() const {
  RFM_CHECK(epochs >= 1, "--epochs %d must be >= 1", epochs);
  RFM_CHECK(batch >= 0, "--batch %d must be >= 0 (0: full batch)", batch);
  RFM_CHECK(adamw.lr > 0, "--lr %g must be > 0", adamw.lr);
  RFM_CHECK(adamw.weight_decay >= 0, "--weight-decay %g must be >= 0", adamw.weight_decay);
  RFM_CHECK(adamw.beta1 >= 0 && adamw.beta1 < 1 && adamw.beta2 >= 0 && adamw.beta2 < 1,
            "AdamW betas (%g, %g) must lie in [0, 1)", adamw.beta1, adamw.beta2);
  RFM_CHECK(warmup_steps >= 0, "--warmup %d must be >= 0", warmup_steps);
  RFM_CHECK(log_every >= 1, "--log-every %d must be >= 1", log_every);
  RFM_CHECK(mlp.H >= 1, "--width %d must be >= 1", mlp.H);
  RFM_CHECK(init_scale > 0, "--init-scale %g must be > 0", init_scale);
  RFM_CHECK(embed_scale > 0, "--embed-scale %g must be > 0", embed_scale);
  RFM_CHECK(embed2d.C >= 1 && embed2d.F >= 1, "embedding model sizes C=%d F=%d must be >= 1",
            embed2d.C, embed2d.F);
}

std::string TrainSummary::brief_report() const {
  const EpochStats* last = epochs.empty() ? nullptr : &epochs.back();
  return strfmt(
      "%s: %s; epoch %d, train acc %.4f, test acc %.4f; first epoch with test acc "
      ">= 0.5: %d, >= 0.99: %d; %d steps, %.2f s",
      to_string(termination), message.c_str(), last ? last->epoch : -1,
      last ? last->train_acc : kNaN, last ? last->test_acc : kNaN, first_epoch_test_050,
      first_epoch_test_099, steps, total_seconds);
}

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Inputs as columns: (D, n) in the training precision.
template <typename T>
Mat<T> columns(const Inputs& X) {
  return X.dense().transpose().cast<T>();
}

// Learning rate of 0-based step k: Nanda et al.'s LambdaLR(min(k / warmup, 1)).
double scheduled_lr(const TrainOptions& o, int k) {
  if (o.warmup_steps == 0) return o.adamw.lr;
  return o.adamw.lr * std::min(1.0, double(k) / o.warmup_steps);
}

}  // namespace

void run_epochs(const TrainOptions& o, int n, int batch, bool shuffle_full_batch,
                std::mt19937_64& gen, const std::vector<EpochCallback>& callbacks,
                const std::function<void(const int* indices, int B, double lr)>& step,
                const std::function<void(EpochStats& st)>& measure, TrainSummary& sum) {
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto t_log = Clock::now();
  auto log_epoch = [&](int epoch) {
    const auto t0 = Clock::now();
    EpochStats st;
    st.epoch = epoch;
    measure(st);
    sum.eval_seconds += since(t0);
    st.seconds = since(t_log);
    t_log = Clock::now();
    sum.epochs.push_back(st);
    bool stop = false;
    for (const EpochCallback& cb : callbacks) stop |= cb(st) == Decision::stop;
    if (!stop) return;
    sum.termination = Termination::stopped;
    sum.message = strfmt("stopped by a callback at epoch %d", epoch);
  };
  sum.termination = Termination::completed;
  sum.message = strfmt("trained %d epochs", o.epochs);
  log_epoch(0);
  for (int epoch = 1; epoch <= o.epochs && sum.termination == Termination::completed; ++epoch) {
    const auto t0 = Clock::now();
    if (shuffle_full_batch || batch < n) std::shuffle(order.begin(), order.end(), gen);
    for (int s = 0; s < n; s += batch) {
      step(order.data() + s, std::min(batch, n - s), scheduled_lr(o, sum.steps));
      sum.steps += 1;
    }
    sum.train_seconds += since(t0);
    if (epoch % o.log_every == 0 || epoch == o.epochs) log_epoch(epoch);
  }
  for (const EpochStats& e : sum.epochs) {
    if (sum.first_epoch_test_050 < 0 && e.test_acc >= 0.5) sum.first_epoch_test_050 = e.epoch;
    if (sum.first_epoch_test_099 < 0 && e.test_acc >= 0.99) sum.first_epoch_test_099 = e.epoch;
  }
}

namespace {

// --- MLP ------------------------------------------------------------------------------------

// Loss and accuracy of the model on X (D, n) with labels y, in chunks of model.max_B.
template <typename T>
void mlp_evaluate(Mlp<T>& model, const Mat<T>& X, const std::vector<int>& y, double& loss,
                  double& acc) {
  const int n = int(X.cols()), V = model.config.V;
  double lsum = 0, hits = 0;
  for (int s = 0; s < n; s += model.max_B) {
    const int B = std::min(model.max_B, n - s);
    lsum += double(mlp_forward(model, X.data() + size_t(s) * X.rows(), y.data() + s, B)) * B;
    for (int j = 0; j < B; ++j) {
      const T* o = model.acts.out + size_t(j) * V;
      hits += int(std::max_element(o, o + V) - o) == y[s + j];
    }
  }
  loss = n ? lsum / n : kNaN;
  acc = n ? hits / n : kNaN;
}

struct MlpFeatures {
  MatrixXd nfm, agop;
};

template <typename T>
MlpFeatures mlp_features(const Mlp<T>& model, const MatrixXd& Xtrain, bool centering) {
  const MlpConfig& c = model.config;
  const MatrixXd W1 = Eigen::Map<const Mat<T>>(model.params.W1, c.H, c.D).template cast<double>();
  const MatrixXd W2 = Eigen::Map<const Mat<T>>(model.params.W2, c.V, c.H).template cast<double>();
  return {mlp_nfm(W1), mlp_agop(W1, W2, Xtrain, centering)};
}

// NFA measures: Pearson correlation of NFM with sqrt(AGOP) (docs/algorithms.md 5.1) and the
// circulant deviation of the NFM's task block (docs/algorithms.md 3.1).
void nfa_measures(const MlpFeatures& f, const NeuralProblem& pb, EpochStats& st) {
  const MatrixXd root = sym_power(f.agop, 0.5);
  st.measures.push_back({"nfm_agop_corr", pearson_correlation(f.nfm, root, false)});
  st.measures.push_back({"nfm_agop_corr_nodiag", pearson_correlation(f.nfm, root, true)});
  double cd = kNaN, cdr = kNaN;
  if (pb.p > 0 && pb.has_op && f.nfm.rows() >= 2 * pb.p) {
    const MatrixXd A = task_block(f.nfm, pb.p, pb.op);
    cd = circulant_deviation(A, false);
    cdr = circulant_deviation(A, true);
  }
  st.measures.push_back({"nfm_circ_dev", cd});
  st.measures.push_back({"nfm_circ_dev_rev", cdr});
}

template <typename T>
TrainSummary train_mlp(const TrainOptions& o, const NeuralProblem& pb,
                       const std::vector<EpochCallback>& callbacks) {
  TrainSummary sum;
  const auto t_start = Clock::now();
  sum.precision_used = sizeof(T) == 8 ? "fp64" : "fp32";
  const Mat<T> Xtr = columns<T>(pb.X_train), Xte = columns<T>(pb.X_test);
  const MatrixXd Xtr64 = pb.X_train.dense().transpose();
  const int n = int(Xtr.cols());
  RFM_CHECK(n > 0, "no training points");
  MlpConfig cfg = o.mlp;
  cfg.D = int(Xtr.rows());
  cfg.V = pb.c;
  const int batch = o.batch == 0 ? n : std::min(o.batch, n);
  const int eval_B = std::max(batch, std::min(2048, std::max(n, int(Xte.cols()))));
  Mlp<T> model;
  mlp_init(model, cfg, eval_B, o.seed, o.init_scale);

  std::mt19937_64 gen(o.seed ^ 0x9e3779b97f4a7c15ull);  // batch order, apart from the init
  std::vector<int> yb(batch);
  Mat<T> xb(cfg.D, batch);
  auto step = [&](const int* idx, int B, double lr) {
    for (int j = 0; j < B; ++j) {
      xb.col(j) = Xtr.col(idx[j]);
      yb[j] = pb.y_train[idx[j]];
    }
    mlp_forward(model, xb.data(), yb.data(), B);
    mlp_zero_grad(model);
    mlp_backward(model, xb.data(), yb.data());
    mlp_update(model, o.adamw, lr);
  };
  auto measure = [&](EpochStats& st) {
    mlp_evaluate(model, Xtr, pb.y_train, st.train_loss, st.train_acc);
    mlp_evaluate(model, Xte, pb.y_test, st.test_loss, st.test_acc);
    st.weight_norm = weight_norm(model.param_memory);
    const MlpFeatures f = mlp_features(model, Xtr64, o.agop_centering);
    nfa_measures(f, pb, st);
    sum.nfm = f.nfm;
    sum.agop = f.agop;
  };
  run_epochs(o, n, batch, true, gen, callbacks, step, measure, sum);
  const MlpConfig& c = model.config;  // the trained weights, for notebooks (W1.npy, W2.npy)
  sum.weights = {
      {"W1", Eigen::Map<const Mat<T>>(model.params.W1, c.H, c.D).template cast<double>()},
      {"W2", Eigen::Map<const Mat<T>>(model.params.W2, c.V, c.H).template cast<double>()}};
  sum.total_seconds = since(t_start);
  return sum;
}

}  // namespace

TrainSummary train_network(const TrainOptions& o, const NeuralProblem& pb,
                           const std::vector<EpochCallback>& callbacks) {
  o.validate();
  RFM_CHECK(pb.c > 0, "problem has %d classes", pb.c);
  RFM_CHECK(int(pb.y_train.size()) == pb.X_train.n() && int(pb.y_test.size()) == pb.X_test.n(),
            "labels (%zu train, %zu test) do not match inputs (%d, %d)", pb.y_train.size(),
            pb.y_test.size(), pb.X_train.n(), pb.X_test.n());
  if (o.model == Model::mlp)
    return o.fp64 ? train_mlp<double>(o, pb, callbacks) : train_mlp<float>(o, pb, callbacks);
  if (o.model == Model::embed2d) return train_embed2d(o, pb, callbacks);
  return train_transformer(o, pb, callbacks);
}

// --- run directory --------------------------------------------------------------------------

namespace {
std::string num(double v) {
  return std::isnan(v) ? "nan" : strfmt("%.10g", v);
}
nlohmann::json json_num(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}
}  // namespace

std::string epochs_csv(const std::vector<EpochStats>& rows) {
  std::string out = "epoch,train_acc,test_acc,train_loss,test_loss,weight_norm";
  if (!rows.empty())
    for (const auto& m : rows.front().measures) out += "," + m.first;
  out += ",seconds\n";
  for (const EpochStats& r : rows) {
    out += strfmt("%d,", r.epoch) + num(r.train_acc) + "," + num(r.test_acc) + "," +
           num(r.train_loss) + "," + num(r.test_loss) + "," + num(r.weight_norm);
    for (const auto& m : r.measures) out += "," + num(m.second);
    out += "," + num(r.seconds) + "\n";
  }
  return out;
}

nlohmann::json train_summary_json(const TrainSummary& s) {
  nlohmann::json j;
  j["termination"] = to_string(s.termination);
  j["message"] = s.message;
  j["logged_epochs"] = s.epochs.size();
  j["steps"] = s.steps;
  j["precision_used"] = s.precision_used;
  nlohmann::json fin;
  if (!s.epochs.empty()) {
    const EpochStats& e = s.epochs.back();
    fin = {{"epoch", e.epoch},
           {"train_acc", json_num(e.train_acc)},
           {"test_acc", json_num(e.test_acc)},
           {"train_loss", json_num(e.train_loss)},
           {"test_loss", json_num(e.test_loss)},
           {"weight_norm", json_num(e.weight_norm)}};
    for (const auto& m : e.measures) fin[m.first] = json_num(m.second);
  }
  j["final"] = fin;
  if (!s.key_frequencies.empty()) j["key_frequencies"] = s.key_frequencies;
  j["first_epoch_test_acc_0.5"] = s.first_epoch_test_050;
  j["first_epoch_test_acc_0.99"] = s.first_epoch_test_099;
  j["seconds"] = {{"total", s.total_seconds}, {"train", s.train_seconds}, {"eval", s.eval_seconds}};
  return j;
}

void write_train_results(const std::string& dir, const TrainSummary& s) {
  if (s.nfm.size() > 0) npy_save(dir + "/NFM_final.npy", s.nfm);
  if (s.agop.size() > 0) npy_save(dir + "/AGOP_final.npy", s.agop);
  if (s.embed_gram.size() > 0) npy_save(dir + "/EmbedGram_final.npy", s.embed_gram);
  for (const auto& [name, W] : s.weights) npy_save(dir + "/" + name + ".npy", W);
  if (s.embedding.size() > 0) npy_save(dir + "/embedding.npy", s.embedding);
  write_text_atomic(dir + "/metrics.csv", epochs_csv(s.epochs));
  write_text_atomic(dir + "/summary.json", train_summary_json(s).dump(2) + "\n");
}

}  // namespace rfm
