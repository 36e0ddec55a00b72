// The quadratic MLP f(x) = W2 (W1 x)^2 of Mallinar et al. App. D (docs/algorithms.md 5.1), its
// neural feature matrix and AGOP, and the Pearson correlation used to compare them (neural.h).
#include <cmath>
#include <random>

#include "neural/neural.h"

namespace rfm {

const char* to_string(Loss l) {
  return l == Loss::mse ? "mse" : "cross-entropy";
}

// --- lifecycle ------------------------------------------------------------------------------

template <typename T>
void mlp_init(Mlp<T>& model, const MlpConfig& cfg, int max_B, uint64_t seed, double init_scale) {
  RFM_CHECK(cfg.D > 0 && cfg.H > 0 && cfg.V > 0, "MLP sizes D=%d H=%d V=%d must be > 0", cfg.D,
            cfg.H, cfg.V);
  RFM_CHECK(max_B > 0, "MLP batch %d must be > 0", max_B);
  model.config = cfg;
  const size_t n1 = size_t(cfg.H) * cfg.D, n2 = size_t(cfg.V) * cfg.H;
  model.param_memory.assign(n1 + n2, T(0));
  model.grad_memory.assign(n1 + n2, T(0));
  model.m_memory.assign(n1 + n2, T(0));
  model.v_memory.assign(n1 + n2, T(0));
  model.params = {model.param_memory.data(), model.param_memory.data() + n1};
  model.grads = {model.grad_memory.data(), model.grad_memory.data() + n1};
  // nn.Linear(bias=False): kaiming_uniform(a = sqrt 5) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  std::mt19937_64 gen(seed);
  auto fill = [&](T* w, size_t n, int fan_in) {
    const double bound = init_scale / std::sqrt(double(fan_in));
    std::uniform_real_distribution<double> u(-bound, bound);
    for (size_t i = 0; i < n; ++i) w[i] = T(u(gen));
  };
  fill(model.params.W1, n1, cfg.D);
  fill(model.params.W2, n2, cfg.H);
  const size_t hb = size_t(cfg.H) * max_B, vb = size_t(cfg.V) * max_B;
  model.act_memory.assign(4 * hb + 3 * vb, T(0));
  T* a = model.act_memory.data();
  model.acts = {a,
                a + hb,
                a + 2 * hb,
                a + 2 * hb + vb,
                a + 2 * hb + 2 * vb,
                a + 2 * hb + 3 * vb,
                a + 3 * hb + 3 * vb};
  model.max_B = max_B;
  model.B = 0;
  model.step = 0;
}

template <typename T>
T mlp_forward(Mlp<T>& model, const T* x, const int* targets, int B) {
  const MlpConfig& c = model.config;
  RFM_CHECK(B > 0 && B <= model.max_B, "MLP batch %d is outside 1..%d (the size allocated)", B,
            model.max_B);
  model.B = B;
  MlpActivations<T>& a = model.acts;
  linear_forward(a.h, x, model.params.W1, B, c.D, c.H);      // h (H, B) = W1 x
  square_forward(a.a, a.h, c.H * B);                         // a (H, B) = h^2
  linear_forward(a.out, a.a, model.params.W2, B, c.H, c.V);  // out (V, B) = W2 a
  if (!targets) return std::numeric_limits<T>::quiet_NaN();
  if (c.loss == Loss::mse) return mse_forward(a.out, targets, B, c.V);
  return crossentropy_forward(a.probs, a.out, targets, B, c.V);
}

template <typename T>
void mlp_zero_grad(Mlp<T>& model) {
  std::fill(model.grad_memory.begin(), model.grad_memory.end(), T(0));
}

template <typename T>
void mlp_backward(Mlp<T>& model, const T* x, const int* targets) {
  const MlpConfig& c = model.config;
  const int B = model.B;
  RFM_ASSERT(B > 0 && targets);
  MlpActivations<T>& a = model.acts;
  std::fill(a.dout, a.dout + size_t(c.V) * B, T(0));
  std::fill(a.da, a.da + size_t(c.H) * B, T(0));
  std::fill(a.dh, a.dh + size_t(c.H) * B, T(0));
  if (c.loss == Loss::mse)
    mse_backward(a.dout, a.out, targets, B, c.V);
  else
    crossentropy_backward(a.dout, a.probs, targets, B, c.V);
  linear_backward(a.da, model.grads.W2, a.dout, a.a, model.params.W2, B, c.H, c.V);
  square_backward(a.dh, a.da, a.h, c.H * B);
  linear_backward<T>(nullptr, model.grads.W1, a.dh, x, model.params.W1, B, c.D, c.H);
}

template <typename T>
void mlp_update(Mlp<T>& model, const AdamWConfig& cfg, double lr) {
  model.step += 1;
  adamw_update(model.param_memory.data(), model.grad_memory.data(), model.m_memory.data(),
               model.v_memory.data(), model.param_memory.size(), cfg, model.step, lr);
}

#define RFM_NEURAL_MLP(T)                                                      \
  template void mlp_init<T>(Mlp<T>&, const MlpConfig&, int, uint64_t, double); \
  template T mlp_forward<T>(Mlp<T>&, const T*, const int*, int);               \
  template void mlp_zero_grad<T>(Mlp<T>&);                                     \
  template void mlp_backward<T>(Mlp<T>&, const T*, const int*);                \
  template void mlp_update<T>(Mlp<T>&, const AdamWConfig&, double);
RFM_NEURAL_MLP(float)
RFM_NEURAL_MLP(double)

// --- feature matrices -----------------------------------------------------------------------

MatrixXd mlp_nfm(const MatrixXd& W1) {
  return W1.transpose() * W1;
}

MatrixXd mlp_agop(const MatrixXd& W1, const MatrixXd& W2, const MatrixXd& X, bool centering) {
  // W1 (H, D), W2 (V, H), X (D, n). J(x) = W2 diag(2 h) W1 with h = W1 x, so
  // sum_x J^T J = W1^T [ (W2^T W2) o (4 sum_x h h^T) ] W1  (o: Hadamard product).
  RFM_CHECK(W1.cols() == X.rows() && W2.cols() == W1.rows() && X.cols() > 0,
            "MLP AGOP shapes: W1 %dx%d, W2 %dx%d, X %dx%d", int(W1.rows()), int(W1.cols()),
            int(W2.rows()), int(W2.cols()), int(X.rows()), int(X.cols()));
  const double n = double(X.cols());
  const MatrixXd Hh = W1 * X;  // (H, n)
  MatrixXd S = MatrixXd::Zero(Hh.rows(), Hh.rows());
  S.selfadjointView<Eigen::Lower>().rankUpdate(Hh, 4.0 / n);  // (4/n) Hh Hh^T
  S.triangularView<Eigen::StrictlyUpper>() = S.transpose();
  const MatrixXd inner = (W2.transpose() * W2).cwiseProduct(S);  // (H, H)
  MatrixXd G = W1.transpose() * inner * W1;                      // (D, D)
  if (centering) {  // G - Jbar^T Jbar, Jbar = mean J = W2 diag(2 hbar) W1 (J is linear in h)
    const VectorXd hbar = Hh.rowwise().mean();
    const MatrixXd Jbar = W2 * (2 * hbar).asDiagonal() * W1;  // (V, D)
    G -= Jbar.transpose() * Jbar;
  }
  return 0.5 * (G + G.transpose());
}

MatrixXd mlp_agop_reference(const MatrixXd& W1, const MatrixXd& W2, const MatrixXd& X,
                            bool centering) {
  const Eigen::Index n = X.cols();
  std::vector<MatrixXd> J(n);
  MatrixXd Jbar = MatrixXd::Zero(W2.rows(), W1.cols());
  for (Eigen::Index j = 0; j < n; ++j) {
    const VectorXd h = W1 * X.col(j);
    J[j] = W2 * (2 * h).asDiagonal() * W1;  // (V, D)
    Jbar += J[j] / double(n);
  }
  MatrixXd G = MatrixXd::Zero(W1.cols(), W1.cols());
  for (Eigen::Index j = 0; j < n; ++j) {
    const MatrixXd Jt = centering ? MatrixXd(J[j] - Jbar) : J[j];
    G += Jt.transpose() * Jt / double(n);
  }
  return G;
}

double pearson_correlation(const MatrixXd& A, const MatrixXd& B, bool nodiag) {
  RFM_CHECK(A.rows() == B.rows() && A.cols() == B.cols(),
            "Pearson correlation of a %dx%d and a %dx%d matrix", int(A.rows()), int(A.cols()),
            int(B.rows()), int(B.cols()));
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0, k = 0;
  for (Eigen::Index j = 0; j < A.cols(); ++j)
    for (Eigen::Index i = 0; i < A.rows(); ++i) {
      if (nodiag && i == j) continue;
      const double a = A(i, j), b = B(i, j);
      sa += a, sb += b, saa += a * a, sbb += b * b, sab += a * b, k += 1;
    }
  if (k < 2) return kNaN;
  const double cov = sab - sa * sb / k, va = saa - sa * sa / k, vb = sbb - sb * sb / k;
  return va > 0 && vb > 0 ? cov / std::sqrt(va * vb) : kNaN;
}

}  // namespace rfm
