// Layers of the companion networks as forward / backward pairs (neural.h; after karpathy/llm.c),
// and AdamW. Matrix products go through Eigen maps, which the build routes to BLAS GEMM.
#include <algorithm>
#include <cmath>

#include "neural/neural.h"

namespace rfm {


// --- linear: out = W x ----------------------------------------------------------------------

template <typename T>
void linear_forward(T* out, const T* x, const T* W, int N, int I, int O) {
  // out (O, N), x (I, N), W (O, I)
  MapM<T>(out, O, N).noalias() = CMapM<T>(W, O, I) * CMapM<T>(x, I, N);
}

template <typename T>
void linear_backward(T* dx, T* dW, const T* dout, const T* x, const T* W, int N, int I, int O) {
  // dout (O, N); dW (O, I) += dout x^T; dx (I, N) += W^T dout
  CMapM<T> g(dout, O, N);
  MapM<T>(dW, O, I).noalias() += g * CMapM<T>(x, I, N).transpose();
  if (dx) MapM<T>(dx, I, N).noalias() += CMapM<T>(W, O, I).transpose() * g;
}

// --- square and relu ------------------------------------------------------------------------

template <typename T>
void square_forward(T* out, const T* h, int n) {
  for (int i = 0; i < n; ++i) out[i] = h[i] * h[i];
}

template <typename T>
void square_backward(T* dh, const T* dout, const T* h, int n) {
  for (int i = 0; i < n; ++i) dh[i] += 2 * h[i] * dout[i];
}

template <typename T>
void relu_forward(T* out, const T* h, int n) {
  for (int i = 0; i < n; ++i) out[i] = h[i] > 0 ? h[i] : T(0);
}

template <typename T>
void relu_backward(T* dh, const T* dout, const T* h, int n) {
  for (int i = 0; i < n; ++i)
    if (h[i] > 0) dh[i] += dout[i];
}

// --- losses ---------------------------------------------------------------------------------

template <typename T>
T mse_forward(const T* out, const int* targets, int N, int V) {
  // out (V, N): mean over all V*N entries of (out - onehot)^2, accumulated in double
  double sum = 0;
  for (int j = 0; j < N; ++j)
    for (int v = 0; v < V; ++v) {
      const double e = double(out[size_t(j) * V + v]) - (v == targets[j] ? 1.0 : 0.0);
      sum += e * e;
    }
  return T(sum / (double(V) * N));
}

template <typename T>
void mse_backward(T* dout, const T* out, const int* targets, int N, int V) {
  const T scale = T(2.0 / (double(V) * N));
  for (int j = 0; j < N; ++j)
    for (int v = 0; v < V; ++v) {
      const size_t i = size_t(j) * V + v;
      dout[i] += scale * (out[i] - (v == targets[j] ? T(1) : T(0)));
    }
}

template <typename T>
T crossentropy_forward(T* probs, const T* logits, const int* targets, int N, int V) {
  // logits, probs (V, N); loss = mean_j -log softmax(logits_j)[target_j]
  double loss = 0;
  for (int j = 0; j < N; ++j) {
    const T* z = logits + size_t(j) * V;
    T* q = probs + size_t(j) * V;
    const T mx = *std::max_element(z, z + V);
    double sum = 0;
    for (int v = 0; v < V; ++v) sum += (q[v] = std::exp(z[v] - mx));
    for (int v = 0; v < V; ++v) q[v] = T(q[v] / sum);
    loss += -(double(z[targets[j]]) - double(mx) - std::log(sum));  // log-sum-exp, stable
  }
  return T(loss / N);
}

template <typename T>
void crossentropy_backward(T* dlogits, const T* probs, const int* targets, int N, int V) {
  const T inv = T(1.0 / N);
  for (int j = 0; j < N; ++j)
    for (int v = 0; v < V; ++v) {
      const size_t i = size_t(j) * V + v;
      dlogits[i] += inv * (probs[i] - (v == targets[j] ? T(1) : T(0)));
    }
}

// --- AdamW ----------------------------------------------------------------------------------

template <typename T>
void adamw_update(T* params, const T* grads, T* m, T* v, size_t n, const AdamWConfig& cfg, int t,
                  double lr) {
  // torch.optim.AdamW (amsgrad off): decoupled decay, then the bias-corrected Adam step.
  const double b1 = cfg.beta1, b2 = cfg.beta2;
  const double c1 = 1 - std::pow(b1, t), c2 = 1 - std::pow(b2, t);
  const T decay = T(1 - lr * cfg.weight_decay);
  const T step = T(lr / c1), inv_sqrt_c2 = T(1 / std::sqrt(c2)), eps = T(cfg.eps);
  for (size_t i = 0; i < n; ++i) {
    const T g = grads[i];
    m[i] = T(b1) * m[i] + T(1 - b1) * g;
    v[i] = T(b2) * v[i] + T(1 - b2) * g * g;
    params[i] = decay * params[i] - step * m[i] / (std::sqrt(v[i]) * inv_sqrt_c2 + eps);
  }
}

// --- instantiations -------------------------------------------------------------------------

#define RFM_NEURAL_LAYERS(T)                                                             \
  template void linear_forward<T>(T*, const T*, const T*, int, int, int);                \
  template void linear_backward<T>(T*, T*, const T*, const T*, const T*, int, int, int); \
  template void square_forward<T>(T*, const T*, int);                                    \
  template void square_backward<T>(T*, const T*, const T*, int);                         \
  template void relu_forward<T>(T*, const T*, int);                                      \
  template void relu_backward<T>(T*, const T*, const T*, int);                           \
  template T mse_forward<T>(const T*, const int*, int, int);                             \
  template void mse_backward<T>(T*, const T*, const int*, int, int);                     \
  template T crossentropy_forward<T>(T*, const T*, const int*, int, int);                \
  template void crossentropy_backward<T>(T*, const T*, const int*, int, int);            \
  template void adamw_update<T>(T*, const T*, T*, T*, size_t, const AdamWConfig&, int, double);
RFM_NEURAL_LAYERS(float)
RFM_NEURAL_LAYERS(double)

}  // namespace rfm
