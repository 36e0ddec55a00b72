// The 2-D embedding model of Musat 2024 (docs/algorithms.md 5.3; neural.h): e_a, e_b in R^2
// from one embedding table, h = e_a + e_b ("constant attention"), Linear(2, 64) -> ReLU ->
// Linear(64, N), cross-entropy, AdamW. Layers as forward/backward pairs, the model's lifecycle,
// and its training loop with shape measures of the embedding at logged epochs.
// Changes from the paper: none known in the model; initialisation, learning rate, weight decay
// and the split are our defaults (apps/train.cpp), chosen so that add mod 17 is learned.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "neural/neural.h"

namespace rfm {

// --- constant attention: the sum of the sequence's embeddings --------------------------------

template <typename T>
void embedding_sum_forward(T* h, const int* tokens, const T* W_E, int B, int Tn, int C) {
  // h (C, B), W_E (C, Vin), tokens (B*T)
  for (int b = 0; b < B; ++b) {
    T* out = h + size_t(b) * C;
    for (int i = 0; i < C; ++i) out[i] = 0;
    for (int t = 0; t < Tn; ++t) {
      const T* e = W_E + size_t(tokens[b * Tn + t]) * C;
      for (int i = 0; i < C; ++i) out[i] += e[i];
    }
  }
}

template <typename T>
void embedding_sum_backward(T* dW_E, const T* dh, const int* tokens, int B, int Tn, int C) {
  // dh (C, B); every token of sequence b receives dh[:, b]
  for (int b = 0; b < B; ++b) {
    const T* g = dh + size_t(b) * C;
    for (int t = 0; t < Tn; ++t) {
      T* de = dW_E + size_t(tokens[b * Tn + t]) * C;
      for (int i = 0; i < C; ++i) de[i] += g[i];
    }
  }
}

// --- the model ------------------------------------------------------------------------------

template <typename T>
void embed2d_init(Embed2d<T>& model, const Embed2dConfig& c, int max_B, uint64_t seed,
                  double embed_scale) {
  RFM_CHECK(c.T > 0 && c.Vin > 0 && c.C > 0 && c.F > 0 && c.V > 0,
            "embedding model sizes T=%d Vin=%d C=%d F=%d V=%d must be > 0", c.T, c.Vin, c.C, c.F,
            c.V);
  RFM_CHECK(max_B > 0, "embedding model batch %d must be > 0", max_B);
  RFM_CHECK(embed_scale > 0, "embedding scale %g must be > 0", embed_scale);
  model.config = c;
  // Parameters in Embed2dParameters order.
  const size_t sizes[5] = {size_t(c.C) * c.Vin, size_t(c.F) * c.C, size_t(c.F), size_t(c.V) * c.F,
                           size_t(c.V)};
  const size_t total = sizes[0] + sizes[1] + sizes[2] + sizes[3] + sizes[4];
  for (auto* mem : {&model.param_memory, &model.grad_memory, &model.m_memory, &model.v_memory})
    mem->assign(total, T(0));
  auto point = [&](T* base) {
    T* p[5];
    for (size_t i = 0, off = 0; i < 5; off += sizes[i], ++i) p[i] = base + off;
    return Embed2dParameters<T>{p[0], p[1], p[2], p[3], p[4]};
  };
  model.params = point(model.param_memory.data());
  model.grads = point(model.grad_memory.data());
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal(0.0, embed_scale);
  for (size_t i = 0; i < sizes[0]; ++i) model.params.W_E[i] = T(normal(gen));
  auto uniform = [&](T* w, size_t n, int fan_in) {
    const double bound = 1 / std::sqrt(double(fan_in));
    std::uniform_real_distribution<double> u(-bound, bound);
    for (size_t i = 0; i < n; ++i) w[i] = T(u(gen));
  };
  uniform(model.params.W_1, sizes[1], c.C);
  uniform(model.params.b_1, sizes[2], c.C);
  uniform(model.params.W_2, sizes[3], c.F);
  uniform(model.params.b_2, sizes[4], c.F);
  // activations, forward then gradients, in Embed2dActivations order
  const size_t Bs = size_t(max_B);
  const size_t act_sizes[9] = {c.C * Bs, c.F * Bs, c.F * Bs, c.V * Bs, c.V * Bs,
                               c.V * Bs, c.F * Bs, c.F * Bs, c.C * Bs};
  size_t act_total = 0;
  for (size_t s : act_sizes) act_total += s;
  model.act_memory.assign(act_total, T(0));
  T* a[9];
  for (size_t i = 0, off = 0; i < 9; off += act_sizes[i], ++i) a[i] = model.act_memory.data() + off;
  model.acts = {a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]};
  model.max_B = max_B;
  model.B = model.step = 0;
}

template <typename T>
T embed2d_forward(Embed2d<T>& model, const int* tokens, const int* targets, int B) {
  const Embed2dConfig& c = model.config;
  RFM_CHECK(B > 0 && B <= model.max_B, "embedding model batch %d is outside 1..%d", B, model.max_B);
  for (int i = 0; i < B * c.T; ++i)
    RFM_CHECK(tokens[i] >= 0 && tokens[i] < c.Vin, "token %d outside the vocabulary 0..%d",
              tokens[i], c.Vin - 1);
  model.B = B;
  const Embed2dParameters<T>& p = model.params;
  Embed2dActivations<T>& a = model.acts;
  embedding_sum_forward(a.h, tokens, p.W_E, B, c.T, c.C);  // h (C, B)
  linear_forward(a.pre, a.h, p.W_1, B, c.C, c.F);          // pre (F, B)
  bias_forward(a.pre, p.b_1, B, c.F);
  relu_forward(a.post, a.pre, c.F * B);                  // post (F, B)
  linear_forward(a.logits, a.post, p.W_2, B, c.F, c.V);  // logits (V, B)
  bias_forward(a.logits, p.b_2, B, c.V);
  if (!targets) return std::numeric_limits<T>::quiet_NaN();
  return crossentropy_forward(a.probs, a.logits, targets, B, c.V);
}

template <typename T>
void embed2d_zero_grad(Embed2d<T>& model) {
  std::fill(model.grad_memory.begin(), model.grad_memory.end(), T(0));
}

template <typename T>
void embed2d_backward(Embed2d<T>& model, const int* tokens, const int* targets) {
  const Embed2dConfig& c = model.config;
  const int B = model.B;
  RFM_ASSERT(B > 0 && targets);
  const Embed2dParameters<T>& p = model.params;
  const Embed2dParameters<T>& g = model.grads;
  Embed2dActivations<T>& a = model.acts;
  std::fill(a.dlogits, a.dlogits + size_t(c.V) * B, T(0));
  std::fill(a.dpost, a.dpost + size_t(c.F) * B, T(0));
  std::fill(a.dpre, a.dpre + size_t(c.F) * B, T(0));
  std::fill(a.dh, a.dh + size_t(c.C) * B, T(0));
  crossentropy_backward(a.dlogits, a.probs, targets, B, c.V);
  bias_backward(g.b_2, a.dlogits, B, c.V);
  linear_backward(a.dpost, g.W_2, a.dlogits, a.post, p.W_2, B, c.F, c.V);
  relu_backward(a.dpre, a.dpost, a.pre, c.F * B);
  bias_backward(g.b_1, a.dpre, B, c.F);
  linear_backward(a.dh, g.W_1, a.dpre, a.h, p.W_1, B, c.C, c.F);
  embedding_sum_backward(g.W_E, a.dh, tokens, B, c.T, c.C);
}

template <typename T>
void embed2d_update(Embed2d<T>& model, const AdamWConfig& cfg, double lr) {
  model.step += 1;
  adamw_update(model.param_memory.data(), model.grad_memory.data(), model.m_memory.data(),
               model.v_memory.data(), model.param_memory.size(), cfg, model.step, lr);
}

#define RFM_NEURAL_EMBED2D(T)                                                              \
  template void embedding_sum_forward<T>(T*, const int*, const T*, int, int, int);         \
  template void embedding_sum_backward<T>(T*, const T*, const int*, int, int, int);        \
  template void embed2d_init<T>(Embed2d<T>&, const Embed2dConfig&, int, uint64_t, double); \
  template T embed2d_forward<T>(Embed2d<T>&, const int*, const int*, int);                 \
  template void embed2d_zero_grad<T>(Embed2d<T>&);                                         \
  template void embed2d_backward<T>(Embed2d<T>&, const int*, const int*);                  \
  template void embed2d_update<T>(Embed2d<T>&, const AdamWConfig&, double);
RFM_NEURAL_EMBED2D(float)
RFM_NEURAL_EMBED2D(double)

// --- training -------------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Token pairs [a, b] of one-hot pairs (slot 0 = a, slot 1 = p + b).
std::vector<int> pair_tokens(const Inputs& X, int p) {
  RFM_CHECK(X.one_hot() && X.hot.cols() == 2 && X.d == 2 * p,
            "the embedding model needs two one-hot operands (2 slots, d = 2p)");
  std::vector<int> tok;
  for (int i = 0; i < X.n(); ++i) {
    tok.push_back(X.hot(i, 0));
    tok.push_back(X.hot(i, 1) - p);
  }
  return tok;
}

template <typename T>
void embed2d_evaluate(Embed2d<T>& m, const std::vector<int>& tok, const std::vector<int>& y,
                      double& loss, double& acc) {
  const int n = int(y.size()), V = m.config.V, Tn = m.config.T;
  double lsum = 0, hits = 0;
  for (int s = 0; s < n; s += m.max_B) {
    const int B = std::min(m.max_B, n - s);
    lsum += double(embed2d_forward(m, tok.data() + size_t(s) * Tn, y.data() + s, B)) * B;
    for (int j = 0; j < B; ++j) {
      const T* o = m.acts.logits + size_t(j) * V;
      hits += int(std::max_element(o, o + V) - o) == y[s + j];
    }
  }
  loss = n ? lsum / n : kNaN;
  acc = n ? hits / n : kNaN;
}

// Shape of the embedding P (C, N) (neural.h): on a circle radius_cv is 0; on an ordered circle
// the top frequency's share is 1; the Gram matrix P^T P of a circle is circulant. Frequencies
// and circulance need the symbols in the order of Z_N (cyclic); a group's indices are not.
void shape_measures(const MatrixXd& P, bool cyclic, EpochStats& st) {
  const int N = int(P.cols());
  double cv = kNaN, share = kNaN, gram_dev = kNaN;
  int k = -1;
  if (P.rows() == 2) cv = radius_cv(P);
  if (cyclic && N >= 3 && N % 2 == 1) top_frequency(P, k, share);
  if (cyclic) gram_dev = circulant_deviation(P.transpose() * P, false);
  st.measures.push_back({"radius_cv", cv});
  st.measures.push_back({"top_freq", k > 0 ? double(k) : kNaN});
  st.measures.push_back({"top_freq_share", share});
  st.measures.push_back({"embed_gram_circ_dev", gram_dev});
}

template <typename T>
TrainSummary train_embed2d_t(const TrainOptions& o, const NeuralProblem& pb,
                             const std::vector<EpochCallback>& callbacks) {
  TrainSummary sum;
  const auto t_start = Clock::now();
  sum.precision_used = sizeof(T) == 8 ? "fp64" : "fp32";
  RFM_CHECK(pb.p > 0, "the embedding model needs a modular task (p > 0)");
  const std::vector<int> tok_tr = pair_tokens(pb.X_train, pb.p);
  const std::vector<int> tok_te = pair_tokens(pb.X_test, pb.p);
  const int n = int(pb.y_train.size()), n_te = int(pb.y_test.size());
  RFM_CHECK(n > 0, "no training points");
  Embed2dConfig cfg = o.embed2d;
  cfg.T = 2;
  cfg.Vin = pb.p;
  cfg.V = pb.c;
  const int batch = o.batch == 0 ? n : std::min(o.batch, n);
  Embed2d<T> model;
  embed2d_init(model, cfg, std::max({batch, std::min(n_te, 4096), 1}), o.seed, o.embed_scale);
  auto embedding = [&] {  // (C, Vin)
    return CMapM<T>(model.params.W_E, cfg.C, cfg.Vin).template cast<double>().eval();
  };

  std::mt19937_64 gen(o.seed ^ 0x9e3779b97f4a7c15ull);  // batch order, apart from the init
  std::vector<int> tb(size_t(batch) * 2), yb(batch);
  auto step = [&](const int* idx, int B, double lr) {
    for (int j = 0; j < B; ++j) {
      std::copy_n(tok_tr.begin() + size_t(idx[j]) * 2, 2, tb.begin() + size_t(j) * 2);
      yb[j] = pb.y_train[idx[j]];
    }
    embed2d_forward(model, tb.data(), yb.data(), B);
    embed2d_zero_grad(model);
    embed2d_backward(model, tb.data(), yb.data());
    embed2d_update(model, o.adamw, lr);
  };
  auto measure = [&](EpochStats& st) {
    embed2d_evaluate(model, tok_tr, pb.y_train, st.train_loss, st.train_acc);
    embed2d_evaluate(model, tok_te, pb.y_test, st.test_loss, st.test_acc);
    st.weight_norm = weight_norm(model.param_memory);
    shape_measures(embedding(), pb.cyclic, st);
  };
  run_epochs(o, n, batch, false, gen, callbacks, step, measure, sum);
  const Embed2dParameters<T>& p = model.params;
  sum.embedding = embedding().transpose();  // (Vin, C), row a = e_a
  sum.weights = {{"W_E", embedding()},
                 {"W_1", CMapM<T>(p.W_1, cfg.F, cfg.C).template cast<double>()},
                 {"b_1", CMapM<T>(p.b_1, cfg.F, 1).template cast<double>()},
                 {"W_2", CMapM<T>(p.W_2, cfg.V, cfg.F).template cast<double>()},
                 {"b_2", CMapM<T>(p.b_2, cfg.V, 1).template cast<double>()}};
  sum.total_seconds = since(t_start);
  return sum;
}

}  // namespace

TrainSummary train_embed2d(const TrainOptions& o, const NeuralProblem& pb,
                           const std::vector<EpochCallback>& callbacks) {
  return o.fp64 ? train_embed2d_t<double>(o, pb, callbacks)
                : train_embed2d_t<float>(o, pb, callbacks);
}

}  // namespace rfm
