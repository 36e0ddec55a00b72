// The one-layer transformer of Nanda et al. 2023 (docs/algorithms.md 5.2; neural.h): layers
// as forward/backward pairs, the model's lifecycle, and its full-batch training loop.
// Changes from their code: none in the arithmetic; the query, MLP and unembedding run on the
// last position only (exact for one layer, see neural.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iterator>
#include <random>

#include "neural/neural.h"

namespace rfm {

// --- encoder: token + position embeddings ---------------------------------------------------

template <typename T>
void encoder_forward(T* x0, const int* tokens, const T* W_E, const T* W_pos, int B, int Tn, int C) {
  // x0 (C, B*T), W_E (C, Vin), W_pos (C, T)
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < Tn; ++t) {
      T* out = x0 + size_t(b * Tn + t) * C;
      const T* e = W_E + size_t(tokens[b * Tn + t]) * C;
      const T* pos = W_pos + size_t(t) * C;
      for (int i = 0; i < C; ++i) out[i] = e[i] + pos[i];
    }
}

template <typename T>
void encoder_backward(T* dW_E, T* dW_pos, const T* dx0, const int* tokens, int B, int Tn, int C) {
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < Tn; ++t) {
      const T* g = dx0 + size_t(b * Tn + t) * C;
      T* de = dW_E + size_t(tokens[b * Tn + t]) * C;
      T* dpos = dW_pos + size_t(t) * C;
      for (int i = 0; i < C; ++i) {
        de[i] += g[i];
        dpos[i] += g[i];
      }
    }
}

// --- bias -----------------------------------------------------------------------------------

template <typename T>
void bias_forward(T* out, const T* bias, int N, int O) {
  MapM<T>(out, O, N).colwise() += Eigen::Map<const Eigen::Matrix<T, Eigen::Dynamic, 1>>(bias, O);
}

template <typename T>
void bias_backward(T* dbias, const T* dout, int N, int O) {
  Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(dbias, O) += CMapM<T>(dout, O, N).rowwise().sum();
}

// --- attention of the last query ------------------------------------------------------------

template <typename T>
void attention_forward(T* z, T* att, const T* qkv, int B, int Tn, int C, int NH) {
  // qkv (3C, B*T): q rows 0..C-1, k rows C..2C-1, v rows 2C..3C-1; z (C, B); att (T, NH, B)
  const int HS = C / NH;
  const T scale = T(1 / std::sqrt(double(HS)));
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h) {
      const T* q = qkv + size_t(b * Tn + Tn - 1) * 3 * C + h * HS;
      T* a = att + size_t(b * NH + h) * Tn;
      T mx = -std::numeric_limits<T>::infinity();
      for (int t = 0; t < Tn; ++t) {
        const T* k = qkv + size_t(b * Tn + t) * 3 * C + C + h * HS;
        T s = 0;
        for (int i = 0; i < HS; ++i) s += q[i] * k[i];
        a[t] = s * scale;
        mx = std::max(mx, a[t]);
      }
      T sum = 0;
      for (int t = 0; t < Tn; ++t) sum += (a[t] = std::exp(a[t] - mx));
      for (int t = 0; t < Tn; ++t) a[t] /= sum;
      T* zo = z + size_t(b) * C + h * HS;
      for (int i = 0; i < HS; ++i) zo[i] = 0;
      for (int t = 0; t < Tn; ++t) {
        const T* v = qkv + size_t(b * Tn + t) * 3 * C + 2 * C + h * HS;
        for (int i = 0; i < HS; ++i) zo[i] += a[t] * v[i];
      }
    }
}

template <typename T>
void attention_backward(T* dqkv, const T* dz, const T* att, const T* qkv, int B, int Tn, int C,
                        int NH) {
  const int HS = C / NH;
  const T scale = T(1 / std::sqrt(double(HS)));
  std::vector<T> da(Tn);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h) {
      const size_t last = size_t(b * Tn + Tn - 1) * 3 * C + h * HS;
      const T* a = att + size_t(b * NH + h) * Tn;
      const T* g = dz + size_t(b) * C + h * HS;
      // z = sum_t a_t v_t: da_t = <g, v_t>, dv_t += a_t g
      T dot_ada = 0;
      for (int t = 0; t < Tn; ++t) {
        const size_t col = size_t(b * Tn + t) * 3 * C;
        const T* v = qkv + col + 2 * C + h * HS;
        T* dv = dqkv + col + 2 * C + h * HS;
        T s = 0;
        for (int i = 0; i < HS; ++i) {
          s += g[i] * v[i];
          dv[i] += a[t] * g[i];
        }
        da[t] = s;
        dot_ada += a[t] * s;
      }
      // softmax: ds_t = a_t (da_t - sum_u a_u da_u); s_t = scale <q, k_t>
      for (int t = 0; t < Tn; ++t) {
        const T ds = a[t] * (da[t] - dot_ada) * scale;
        const size_t col = size_t(b * Tn + t) * 3 * C;
        const T* k = qkv + col + C + h * HS;
        T* dk = dqkv + col + C + h * HS;
        const T* q = qkv + last;
        T* dq = dqkv + last;
        for (int i = 0; i < HS; ++i) {
          dq[i] += ds * k[i];
          dk[i] += ds * q[i];
        }
      }
    }
}

// --- the model ------------------------------------------------------------------------------

namespace {

// Sizes of the parameter tensors, in TransformerParameters order.
std::vector<size_t> parameter_sizes(const TransformerConfig& c) {
  return {size_t(c.C) * c.Vin, size_t(c.C) * c.T, size_t(3) * c.C * c.C,
          size_t(c.C) * c.C,   size_t(c.F) * c.C, size_t(c.F),
          size_t(c.C) * c.F,   size_t(c.C),       size_t(c.V) * c.C};
}

template <typename T>
TransformerParameters<T> point_parameters(T* base, const TransformerConfig& c) {
  T* ptrs[9];
  for (size_t i = 0, off = 0; i < 9; ++i) {
    ptrs[i] = base + off;
    off += parameter_sizes(c)[i];
  }
  return {ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4], ptrs[5], ptrs[6], ptrs[7], ptrs[8]};
}

}  // namespace

template <typename T>
void transformer_init(Transformer<T>& model, const TransformerConfig& c, int max_B, uint64_t seed) {
  RFM_CHECK(c.T > 0 && c.Vin > 0 && c.V > 0 && c.C > 0 && c.NH > 0 && c.F > 0,
            "transformer sizes T=%d Vin=%d V=%d C=%d NH=%d F=%d must be > 0", c.T, c.Vin, c.V, c.C,
            c.NH, c.F);
  RFM_CHECK(c.C % c.NH == 0, "d_model %d is not a multiple of the %d heads", c.C, c.NH);
  RFM_CHECK(max_B > 0, "transformer batch %d must be > 0", max_B);
  model.config = c;
  const std::vector<size_t> sizes = parameter_sizes(c);
  size_t total = 0;
  for (size_t s : sizes) total += s;
  model.param_memory.assign(total, T(0));
  model.grad_memory.assign(total, T(0));
  model.m_memory.assign(total, T(0));
  model.v_memory.assign(total, T(0));
  model.params = point_parameters(model.param_memory.data(), c);
  model.grads = point_parameters(model.grad_memory.data(), c);
  std::mt19937_64 gen(seed);
  auto normal = [&](T* w, size_t n, double var) {
    std::normal_distribution<double> d(0.0, std::sqrt(var));
    for (size_t i = 0; i < n; ++i) w[i] = T(d(gen));
  };
  const TransformerParameters<T>& p = model.params;
  const double v = 1.0 / c.C;
  normal(p.W_E, sizes[0], v);
  normal(p.W_pos, sizes[1], v);
  normal(p.W_QKV, sizes[2], v);
  normal(p.W_O, sizes[3], v);
  normal(p.W_in, sizes[4], v);
  normal(p.W_out, sizes[6], v);
  normal(p.W_U, sizes[8], 1.0 / c.V);
  // activations: forward then gradients, one block
  const size_t BT = size_t(max_B) * c.T, Bs = size_t(max_B);
  const size_t act_sizes[18] = {c.C * BT, 3 * c.C * BT, c.T * c.NH * Bs, c.C * Bs, c.C * Bs,
                                c.F * Bs, c.F * Bs,     c.C * Bs,        c.V * Bs, c.V * Bs,
                                c.V * Bs, c.C * Bs,     c.F * Bs,        c.F * Bs, c.C * Bs,
                                c.C * Bs, 3 * c.C * BT, c.C * BT};
  size_t act_total = 0;
  for (size_t s : act_sizes) act_total += s;
  model.act_memory.assign(act_total, T(0));
  T* ptr[18];
  for (size_t i = 0, off = 0; i < 18; ++i) {
    ptr[i] = model.act_memory.data() + off;
    off += act_sizes[i];
  }
  model.acts = {ptr[0], ptr[1],  ptr[2],  ptr[3],  ptr[4],  ptr[5],  ptr[6],  ptr[7],  ptr[8],
                ptr[9], ptr[10], ptr[11], ptr[12], ptr[13], ptr[14], ptr[15], ptr[16], ptr[17]};
  model.max_B = max_B;
  model.B = model.step = 0;
}

template <typename T>
T transformer_forward(Transformer<T>& model, const int* tokens, const int* targets, int B) {
  const TransformerConfig& c = model.config;
  RFM_CHECK(B > 0 && B <= model.max_B, "transformer batch %d is outside 1..%d", B, model.max_B);
  for (int i = 0; i < B * c.T; ++i)
    RFM_CHECK(tokens[i] >= 0 && tokens[i] < c.Vin, "token %d outside the vocabulary 0..%d",
              tokens[i], c.Vin - 1);
  model.B = B;
  const TransformerParameters<T>& p = model.params;
  TransformerActivations<T>& a = model.acts;
  const int BT = B * c.T;
  encoder_forward(a.x0, tokens, p.W_E, p.W_pos, B, c.T, c.C);  // x0 (C, BT)
  linear_forward(a.qkv, a.x0, p.W_QKV, BT, c.C, 3 * c.C);      // qkv (3C, BT)
  attention_forward(a.z, a.att, a.qkv, B, c.T, c.C, c.NH);     // z (C, B)
  linear_forward(a.x1, a.z, p.W_O, B, c.C, c.C);               // x1 (C, B) = W_O z
  for (int b = 0; b < B; ++b)                                  //   + x0[:, last]
    MapM<T>(a.x1 + size_t(b) * c.C, c.C, 1) +=
        CMapM<T>(a.x0 + size_t(b * c.T + c.T - 1) * c.C, c.C, 1);
  linear_forward(a.pre, a.x1, p.W_in, B, c.C, c.F);  // pre (F, B)
  bias_forward(a.pre, p.b_in, B, c.F);
  relu_forward(a.post, a.pre, c.F * B);                // post (F, B)
  linear_forward(a.x2, a.post, p.W_out, B, c.F, c.C);  // x2 (C, B)
  bias_forward(a.x2, p.b_out, B, c.C);
  MapM<T>(a.x2, c.C, B) += CMapM<T>(a.x1, c.C, B);     //   + x1
  linear_forward(a.logits, a.x2, p.W_U, B, c.C, c.V);  // logits (V, B)
  if (!targets) return std::numeric_limits<T>::quiet_NaN();
  return crossentropy_forward(a.probs, a.logits, targets, B, c.V);
}

template <typename T>
void transformer_zero_grad(Transformer<T>& model) {
  std::fill(model.grad_memory.begin(), model.grad_memory.end(), T(0));
}

template <typename T>
void transformer_backward(Transformer<T>& model, const int* tokens, const int* targets) {
  const TransformerConfig& c = model.config;
  const int B = model.B, BT = B * c.T;
  RFM_ASSERT(B > 0 && targets);
  const TransformerParameters<T>& p = model.params;
  const TransformerParameters<T>& g = model.grads;
  TransformerActivations<T>& a = model.acts;
  auto zero = [](T* x, size_t n) { std::fill(x, x + n, T(0)); };
  zero(a.dlogits, size_t(c.V) * B);
  zero(a.dx2, size_t(c.C) * B);
  zero(a.dpost, size_t(c.F) * B);
  zero(a.dpre, size_t(c.F) * B);
  zero(a.dz, size_t(c.C) * B);
  zero(a.dqkv, size_t(3) * c.C * BT);
  zero(a.dx0, size_t(c.C) * BT);
  crossentropy_backward(a.dlogits, a.probs, targets, B, c.V);
  linear_backward(a.dx2, g.W_U, a.dlogits, a.x2, p.W_U, B, c.C, c.V);
  // x2 = x1 + W_out post + b_out
  std::copy(a.dx2, a.dx2 + size_t(c.C) * B, a.dx1);
  bias_backward(g.b_out, a.dx2, B, c.C);
  linear_backward(a.dpost, g.W_out, a.dx2, a.post, p.W_out, B, c.F, c.C);
  relu_backward(a.dpre, a.dpost, a.pre, c.F * B);
  bias_backward(g.b_in, a.dpre, B, c.F);
  linear_backward(a.dx1, g.W_in, a.dpre, a.x1, p.W_in, B, c.C, c.F);
  // x1 = x0[:, last] + W_O z
  for (int b = 0; b < B; ++b)
    MapM<T>(a.dx0 + size_t(b * c.T + c.T - 1) * c.C, c.C, 1) +=
        CMapM<T>(a.dx1 + size_t(b) * c.C, c.C, 1);
  linear_backward(a.dz, g.W_O, a.dx1, a.z, p.W_O, B, c.C, c.C);
  attention_backward(a.dqkv, a.dz, a.att, a.qkv, B, c.T, c.C, c.NH);
  linear_backward(a.dx0, g.W_QKV, a.dqkv, a.x0, p.W_QKV, BT, c.C, 3 * c.C);
  encoder_backward(g.W_E, g.W_pos, a.dx0, tokens, B, c.T, c.C);
}

template <typename T>
void transformer_update(Transformer<T>& model, const AdamWConfig& cfg, double lr) {
  model.step += 1;
  adamw_update(model.param_memory.data(), model.grad_memory.data(), model.m_memory.data(),
               model.v_memory.data(), model.param_memory.size(), cfg, model.step, lr);
}

#define RFM_NEURAL_TRANSFORMER(T)                                                              \
  template void encoder_forward<T>(T*, const int*, const T*, const T*, int, int, int);         \
  template void encoder_backward<T>(T*, T*, const T*, const int*, int, int, int);              \
  template void bias_forward<T>(T*, const T*, int, int);                                       \
  template void bias_backward<T>(T*, const T*, int, int);                                      \
  template void attention_forward<T>(T*, T*, const T*, int, int, int, int);                    \
  template void attention_backward<T>(T*, const T*, const T*, const T*, int, int, int, int);   \
  template void transformer_init<T>(Transformer<T>&, const TransformerConfig&, int, uint64_t); \
  template T transformer_forward<T>(Transformer<T>&, const int*, const int*, int);             \
  template void transformer_zero_grad<T>(Transformer<T>&);                                     \
  template void transformer_backward<T>(Transformer<T>&, const int*, const int*);              \
  template void transformer_update<T>(Transformer<T>&, const AdamWConfig&, double);
RFM_NEURAL_TRANSFORMER(float)
RFM_NEURAL_TRANSFORMER(double)

// --- training -------------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Token sequences of one-hot inputs, slot s holding coordinate s*p + symbol: [a, b, =] for a
// pair (= is token p), [a, b, c, =] for three operands (compose), and [a, b, p + 1 + t, =] for a
// multitask, whose selector 2p + t gets a token of its own after =. Tokens per sequence: slots
// + 1. The pair path is the one of Nanda et al. (tokens a, b, p), unchanged.
std::vector<int> input_tokens(const Inputs& X, int p, int selectors) {
  const int slots = X.one_hot() ? int(X.hot.cols()) : 0;
  const int d = selectors > 0 ? 2 * p + selectors : slots * p;
  RFM_CHECK((slots == 2 && selectors == 0) || slots == 3,
            "the transformer needs one-hot inputs of 2 or 3 slots (got %d)", slots);
  RFM_CHECK(X.d == d, "the transformer's inputs have d = %d, expected %d for p = %d", X.d, d, p);
  std::vector<int> tok;
  for (int i = 0; i < X.n(); ++i) {
    tok.push_back(X.hot(i, 0));
    tok.push_back(X.hot(i, 1) - p);
    if (slots == 3) tok.push_back(X.hot(i, 2) - 2 * p + (selectors > 0 ? p + 1 : 0));
    tok.push_back(p);
  }
  return tok;
}

template <typename T>
void transformer_evaluate(Transformer<T>& m, const std::vector<int>& tok, const std::vector<int>& y,
                          double& loss, double& acc) {
  const int n = int(y.size()), V = m.config.V, Tn = m.config.T;
  double lsum = 0, hits = 0;
  for (int s = 0; s < n; s += m.max_B) {
    const int B = std::min(m.max_B, n - s);
    lsum += double(transformer_forward(m, tok.data() + size_t(s) * Tn, y.data() + s, B)) * B;
    for (int j = 0; j < B; ++j) {
      const T* o = m.acts.logits + size_t(j) * V;
      hits += int(std::max_element(o, o + V) - o) == y[s + j];
    }
  }
  loss = n ? lsum / n : kNaN;
  acc = n ? hits / n : kNaN;
}

// --- weights by name: export, initialisation from an earlier run, freezing -----------------

struct TensorShape {
  const char* name;
  int rows, cols;
};

// Names and Eigen shapes of the parameter tensors, in TransformerParameters order.
std::vector<TensorShape> parameter_shapes(const TransformerConfig& c) {
  return {{"W_E", c.C, c.Vin}, {"W_pos", c.C, c.T}, {"W_QKV", 3 * c.C, c.C},
          {"W_O", c.C, c.C},   {"W_in", c.F, c.C},  {"b_in", c.F, 1},
          {"W_out", c.C, c.F}, {"b_out", c.C, 1},   {"W_U", c.V, c.C}};
}

template <typename T>
std::vector<T*> parameter_pointers(const TransformerParameters<T>& p) {
  return {p.W_E, p.W_pos, p.W_QKV, p.W_O, p.W_in, p.b_in, p.W_out, p.b_out, p.W_U};
}

template <typename T>
std::vector<std::pair<std::string, MatrixXd>> export_weights(const Transformer<T>& m) {
  std::vector<std::pair<std::string, MatrixXd>> out;
  const std::vector<TensorShape> shapes = parameter_shapes(m.config);
  const std::vector<T*> ptrs = parameter_pointers(m.params);
  for (size_t i = 0; i < shapes.size(); ++i)
    out.push_back({shapes[i].name,
                   CMapM<T>(ptrs[i], shapes[i].rows, shapes[i].cols).template cast<double>()});
  return out;
}

// Copies the named tensors into the model; returns the indices (parameter_shapes order) set.
template <typename T>
std::vector<int> load_weights(Transformer<T>& m,
                              const std::vector<std::pair<std::string, MatrixXd>>& weights) {
  const std::vector<TensorShape> shapes = parameter_shapes(m.config);
  const std::vector<T*> ptrs = parameter_pointers(m.params);
  std::vector<int> set;
  for (const auto& [name, W] : weights) {
    int i = 0;
    while (i < int(shapes.size()) && name != shapes[i].name) ++i;
    RFM_CHECK(i < int(shapes.size()), "initial tensor %s is not a transformer parameter",
              name.c_str());
    RFM_CHECK(W.rows() == shapes[i].rows && W.cols() == shapes[i].cols,
              "initial tensor %s is %lldx%lld, but this model's is %dx%d", name.c_str(),
              (long long)W.rows(), (long long)W.cols(), shapes[i].rows, shapes[i].cols);
    MapM<T>(ptrs[i], W.rows(), W.cols()) = W.template cast<T>();
    set.push_back(i);
  }
  return set;
}

// Values of the frozen tensors, restored after every update (AdamW's decay included).
template <typename T>
struct Frozen {
  std::vector<std::pair<T*, std::vector<T>>> saved;
  void capture(Transformer<T>& m, const std::vector<int>& idx) {
    const std::vector<TensorShape> shapes = parameter_shapes(m.config);
    const std::vector<T*> ptrs = parameter_pointers(m.params);
    for (int i : idx) {
      const size_t n = size_t(shapes[i].rows) * shapes[i].cols;
      saved.push_back({ptrs[i], std::vector<T>(ptrs[i], ptrs[i] + n)});
    }
  }
  void restore() {
    for (auto& [ptr, v] : saved) std::copy(v.begin(), v.end(), ptr);
  }
};

// --- Fourier measures (docs/algorithms.md 5.5) ----------------------------------------------

// Runs the model on all p^2 pairs [a, b, =]: MLP activations acts (F, p*p) and the logits of
// classes 0..p-1, L (p, p*p), column a*p + b.
template <typename T>
void all_pairs(Transformer<T>& m, int p, MatrixXd& acts, MatrixXd& L) {
  const int N = p * p, Fn = m.config.F, V = m.config.V;
  std::vector<int> tok;
  for (int a = 0; a < p; ++a)
    for (int b = 0; b < p; ++b) tok.insert(tok.end(), {a, b, p});
  acts.resize(Fn, N);
  L.resize(p, N);
  for (int s = 0; s < N; s += m.max_B) {
    const int B = std::min(m.max_B, N - s);
    transformer_forward(m, tok.data() + size_t(s) * 3, static_cast<const int*>(nullptr), B);
    acts.middleCols(s, B) = CMapM<T>(m.acts.post, Fn, B).template cast<double>();
    L.middleCols(s, B) = CMapM<T>(m.acts.logits, V, B).topRows(p).template cast<double>();
  }
}

// The Fourier measures' names, in metrics.csv order.
const char* const kFourierNames[] = {"fourier_gini",  "freq_sparsity",      "coef_ratio",
                                     "n_key_freqs",   "key_freq_top",       "restricted_loss",
                                     "excluded_loss", "embed_gram_circ_dev"};

// Appends the Fourier measures to st (every name always, NaN where not defined: the restricted
// and excluded losses need add or sub) and keeps the final key frequencies and Gram matrix.
template <typename T>
void fourier_measures(Transformer<T>& m, const NeuralProblem& pb, const std::vector<char>& in_train,
                      EpochStats& st, TrainSummary& sum) {
  const int p = pb.p;
  const MatrixXd W_E = CMapM<T>(m.params.W_E, m.config.C, p).template cast<double>();  // (C, p)
  const FourierNorms f = embedding_fourier_norms(W_E);
  sum.embed_gram = W_E.transpose() * W_E;  // (p, p)
  MatrixXd acts, L;
  all_pairs(m, p, acts, L);
  sum.key_frequencies = key_frequencies(acts, p);
  FourierLosses fl;
  if (pb.has_op && (pb.op == Op::add || pb.op == Op::sub)) {
    const int sign = pb.op == Op::add ? 1 : -1;
    std::vector<int> labels(size_t(p) * p);
    for (int a = 0; a < p; ++a)
      for (int b = 0; b < p; ++b) labels[a * p + b] = ((a + sign * b) % p + p) % p;
    fl = fourier_losses(L, labels, in_train, sum.key_frequencies, p, sign);
  }
  const double values[] = {gini_coefficient(f.total()),
                           frequency_sparsity(f),
                           coefficient_ratio(f),
                           double(sum.key_frequencies.size()),
                           double(sum.key_frequencies.front()),
                           fl.restricted,
                           fl.excluded,
                           circulant_deviation(sum.embed_gram, false)};
  for (size_t i = 0; i < std::size(values); ++i)
    st.measures.push_back({kFourierNames[i], values[i]});
}

// Tasks without a pair of Z_p residues (groups, multitask, compose): the same columns, NaN, so
// that metrics.csv has one layout for every task.
void undefined_fourier_measures(EpochStats& st) {
  for (const char* name : kFourierNames) st.measures.push_back({name, kNaN});
}

template <typename T>
TrainSummary train_transformer_t(const TrainOptions& o, const NeuralProblem& pb,
                                 const std::vector<EpochCallback>& callbacks) {
  TrainSummary sum;
  const auto t_start = Clock::now();
  sum.precision_used = sizeof(T) == 8 ? "fp64" : "fp32";
  RFM_CHECK(pb.p > 0, "the transformer needs a modular task (p > 0)");
  const std::vector<int> tok_tr = input_tokens(pb.X_train, pb.p, pb.selectors);
  const std::vector<int> tok_te = input_tokens(pb.X_test, pb.p, pb.selectors);
  const int n = int(pb.y_train.size()), n_te = int(pb.y_test.size());
  RFM_CHECK(n > 0, "no training points");
  TransformerConfig cfg = o.transformer;
  cfg.T = int(pb.X_train.hot.cols()) + 1;
  cfg.Vin = cfg.V = pb.p + 1 + pb.selectors;
  RFM_CHECK(pb.c <= cfg.V, "the transformer's %d outputs cannot hold %d classes", cfg.V, pb.c);
  const int Tn = cfg.T;
  const int batch = o.batch == 0 ? n : std::min(o.batch, n);
  Transformer<T> model;
  transformer_init(model, cfg, std::max({batch, std::min(n_te, 4096), 1}), o.seed);
  Frozen<T> frozen;
  const std::vector<int> loaded = load_weights(model, o.init_weights);
  if (o.freeze_init) frozen.capture(model, loaded);
  // The Fourier measures run the model on all p^2 pairs [a, b, =] of Z_p (odd p).
  const bool fourier_defined = Tn == 3 && pb.cyclic && pb.p >= 3 && pb.p % 2 == 1;
  const bool fourier = o.fourier_measures && fourier_defined;
  std::vector<char> in_train(fourier ? size_t(pb.p) * pb.p : 0, 0);
  if (fourier)
    for (int i = 0; i < n; ++i) in_train[size_t(tok_tr[3 * i]) * pb.p + tok_tr[3 * i + 1]] = 1;

  std::mt19937_64 gen(o.seed ^ 0x9e3779b97f4a7c15ull);
  std::vector<int> tb(size_t(batch) * Tn), yb(batch);
  auto step = [&](const int* idx, int B, double lr) {
    for (int j = 0; j < B; ++j) {
      std::copy_n(tok_tr.begin() + size_t(idx[j]) * Tn, Tn, tb.begin() + size_t(j) * Tn);
      yb[j] = pb.y_train[idx[j]];
    }
    transformer_forward(model, tb.data(), yb.data(), B);
    transformer_zero_grad(model);
    transformer_backward(model, tb.data(), yb.data());
    transformer_update(model, o.adamw, lr);
    frozen.restore();
  };
  auto measure = [&](EpochStats& st) {
    transformer_evaluate(model, tok_tr, pb.y_train, st.train_loss, st.train_acc);
    transformer_evaluate(model, tok_te, pb.y_test, st.test_loss, st.test_acc);
    st.weight_norm = weight_norm(model.param_memory);
    if (fourier) fourier_measures(model, pb, in_train, st, sum);
    if (o.fourier_measures && !fourier_defined) undefined_fourier_measures(st);
  };
  run_epochs(o, n, batch, false, gen, callbacks, step, measure, sum);
  sum.weights = export_weights(model);
  sum.total_seconds = since(t_start);
  return sum;
}

}  // namespace

TrainSummary train_transformer(const TrainOptions& o, const NeuralProblem& pb,
                               const std::vector<EpochCallback>& callbacks) {
  return o.fp64 ? train_transformer_t<double>(o, pb, callbacks)
                : train_transformer_t<float>(o, pb, callbacks);
}

}  // namespace rfm
