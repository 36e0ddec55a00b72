// neural/: the companion neural trainers (docs/algorithms.md 5): the quadratic MLP of
// Mallinar et al. App. D, f(x) = W2 (W1 x)^2, a one-layer transformer in the configuration of
// Nanda et al. 2023, the 2-D embedding model of Musat 2024, AdamW, training loops, the
// networks' feature matrices (NFM, AGOP), and a timing of training epochs for `rfm bench`.
//
// Style (after karpathy/llm.c): every layer is a *_forward / *_backward
// pair written side by side; signatures put outputs first, then inputs, then sizes; backward
// functions ACCUMULATE (+=) into their gradient outputs, so callers zero the gradients first.
// Each model is a Config struct, Parameters / Activations structs of raw pointers into one
// block each, and lifecycle functions *_init, *_forward, *_zero_grad, *_backward, *_update.
//
// Sizes: B batch, T tokens per sequence, C channels (d_model), V vocabulary or output classes,
// NH attention heads, HS = C / NH head size, F the MLP hidden width (d_mlp), D the MLP input
// dimension (2p for one-hot pairs), H the quadratic MLP's width.
//
// Layout: llm.c's row-major (B, T, C) with C fastest. Seen by Eigen, whose matrices are
// column-major like the rest of the engine, a batch of B*T vectors of size C is a (C, B*T)
// matrix whose column b*T + t is one position's vector. Weights have PyTorch's
// nn.Linear.weight shape (out, in) but are stored column-major as Eigen matrices; a weight
// "(O, I)" below is an Eigen (O, I) matrix, so y = W x is a plain GEMM (through BLAS: the
// build defines EIGEN_USE_BLAS). Embedding tables are (C, V): column v is token v's vector.
//
// Precision: the layer and model functions are templates instantiated for float (training)
// and double (gradient checks); feature-matrix measures are always computed in double.
// Memory: each model owns its parameter, gradient, optimiser-state and activation blocks
// (std::vector); the caller owns every input it passes in (the functions keep no pointer).
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "rfm/rfm.h"

namespace rfm {

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
// Column-major views of raw parameter memory (weights are (out, in)).
template <typename T>
using MapM = Eigen::Map<Mat<T>>;
template <typename T>
using CMapM = Eigen::Map<const Mat<T>>;

// The L2 norm of all parameters of a model (its param_memory), accumulated in fp64.
template <typename Vec>
double weight_norm(const Vec& params) {
  double w2 = 0;
  for (auto w : params) w2 += double(w) * w;
  return std::sqrt(w2);
}

// --- Layers: forward / backward pairs (neural/layers.cpp) -----------------------------------

// out = W x. out (O, N), W (O, I), x (I, N).
template <typename T>
void linear_forward(T* out, const T* x, const T* W, int N, int I, int O);
// dW += dout x^T, dx += W^T dout (dx may be null). dout (O, N).
template <typename T>
void linear_backward(T* dx, T* dW, const T* dout, const T* x, const T* W, int N, int I, int O);

// out = h * h elementwise, n entries.
template <typename T>
void square_forward(T* out, const T* h, int n);
// dh += 2 h dout.
template <typename T>
void square_backward(T* dh, const T* dout, const T* h, int n);

// out = max(h, 0) elementwise.
template <typename T>
void relu_forward(T* out, const T* h, int n);
// dh += dout where h > 0.
template <typename T>
void relu_backward(T* dh, const T* dout, const T* h, int n);

// MSE against one-hot targets, mean over all V*N entries (PyTorch nn.MSELoss, reduction
// "mean"). out (V, N), targets N class ids. Returns the loss.
template <typename T>
T mse_forward(const T* out, const int* targets, int N, int V);
// dout += 2 (out - onehot) / (V N).
template <typename T>
void mse_backward(T* dout, const T* out, const int* targets, int N, int V);

// Softmax cross-entropy, mean over N columns (PyTorch nn.CrossEntropyLoss). probs (V, N) is
// written (it is what the backward needs). logits (V, N). Returns the loss.
template <typename T>
T crossentropy_forward(T* probs, const T* logits, const int* targets, int N, int V);
// dlogits += (probs - onehot) / N.
template <typename T>
void crossentropy_backward(T* dlogits, const T* probs, const int* targets, int N, int V);

// --- AdamW (neural/adamw.cpp) ----------------------------------------------------------------

struct AdamWConfig {
  /// Learning rate gamma (docs/algorithms.md 5.1 and 5.2: 1e-3).
  double lr = 1e-3;
  /// Decoupled weight decay lambda (1.0 in both published baselines).
  double weight_decay = 1.0;
  /// Moment decay rates (PyTorch defaults 0.9, 0.999; Nanda et al. use 0.98 for beta2).
  double beta1 = 0.9, beta2 = 0.999;
  /// Added to sqrt(v_hat) (PyTorch default).
  double eps = 1e-8;
};

// One AdamW step on n parameters, exactly as torch.optim.AdamW documents it
// (https://pytorch.org/docs/stable/generated/torch.optim.AdamW.html, amsgrad off):
//   theta <- theta - lr * lambda * theta
//   m <- beta1 m + (1 - beta1) g;   v <- beta2 v + (1 - beta2) g^2
//   theta <- theta - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)
// t is the 1-based step count; lr is passed separately so that a schedule can scale it.
template <typename T>
void adamw_update(T* params, const T* grads, T* m, T* v, size_t n, const AdamWConfig& cfg, int t,
                  double lr);

// --- The quadratic MLP f(x) = W2 (W1 x)^2 (Mallinar et al. App. D; neural/mlp.cpp) ----------

enum class Loss { mse, cross_entropy };
const char* to_string(Loss l);

struct MlpConfig {
  int D = 122;   // input dimension (2p)
  int H = 1024;  // width
  int V = 61;    // outputs (p)
  Loss loss = Loss::mse;
};

template <typename T>
struct MlpParameters {
  T* W1;  // (H, D)
  T* W2;  // (V, H)
};

template <typename T>
struct MlpActivations {
  T* h;      // (H, B) pre-activation W1 x
  T* a;      // (H, B) h^2
  T* out;    // (V, B) W2 a
  T* probs;  // (V, B) softmax(out), cross-entropy only
  T* dout;   // (V, B)
  T* da;     // (H, B)
  T* dh;     // (H, B)
};

template <typename T>
struct Mlp {
  MlpConfig config;
  std::vector<T> param_memory, grad_memory, m_memory, v_memory;
  MlpParameters<T> params{}, grads{};
  std::vector<T> act_memory;
  MlpActivations<T> acts{};
  int max_B = 0;  // activations are sized for batches up to this
  int B = 0;      // batch of the last forward
  int step = 0;   // AdamW steps taken

  Mlp() = default;
  Mlp(const Mlp&) = delete;
  Mlp& operator=(const Mlp&) = delete;
  size_t num_parameters() const { return param_memory.size(); }
};

// Allocates and initialises as PyTorch's nn.Linear does (bias=False): W ~ U(-1/sqrt(in),
// 1/sqrt(in)), drawn from std::mt19937_64(seed). init_scale multiplies both.
template <typename T>
void mlp_init(Mlp<T>& model, const MlpConfig& config, int max_B, uint64_t seed,
              double init_scale = 1.0);
// x (D, B) dense inputs, targets B class ids (may be null: no loss, returns NaN). B <= max_B.
template <typename T>
T mlp_forward(Mlp<T>& model, const T* x, const int* targets, int B);
template <typename T>
void mlp_zero_grad(Mlp<T>& model);
// Gradients of the last forward's loss (which must have had targets).
template <typename T>
void mlp_backward(Mlp<T>& model, const T* x, const int* targets);
template <typename T>
void mlp_update(Mlp<T>& model, const AdamWConfig& cfg, double lr);

// --- Feature matrices of the MLP (docs/algorithms.md 5.1) -----------------------------------

// NFM = W1^T W1 (D, D). W1 (H, D).
MatrixXd mlp_nfm(const MatrixXd& W1);
// AGOP of the network's input-output Jacobian J(x) = W2 diag(2 W1 x) W1 (V, D) over the
// columns of X (D, n): G = (1/n) sum_x J~(x)^T J~(x), J~ = J - mean J when centering. Computed
// through the Hadamard rewrite sum_x J^T J = W1^T [(W2^T W2) o (4 Hh Hh^T)] W1, Hh = W1 X.
MatrixXd mlp_agop(const MatrixXd& W1, const MatrixXd& W2, const MatrixXd& X, bool centering);
// The naive oracle, which the tests check mlp_agop against: one Jacobian per point.
MatrixXd mlp_agop_reference(const MatrixXd& W1, const MatrixXd& W2, const MatrixXd& X,
                            bool centering);

// Pearson correlation of vec(A) and vec(B); with nodiag the diagonal entries are left out.
double pearson_correlation(const MatrixXd& A, const MatrixXd& B, bool nodiag);

// --- The one-layer transformer of Nanda et al. 2023 (neural/transformer.cpp) ---------------
//
// tokens [a, b, =] (= is token p) -> embedding + learned positions -> attention (NH heads, no
// biases, causal, scaled by 1/sqrt(HS)) added to the residual -> MLP (W_in, b_in, ReLU, W_out,
// b_out) added to the residual -> unembedding W_U -> cross-entropy on the last position. No
// LayerNorm. With one layer only the last position's residual stream reaches the loss (the
// keys and values of earlier positions come from the embeddings), so the attention query, the
// MLP and the unembedding run on the last position alone: exact, and T times less MLP work.
// Three-slot inputs become four tokens: [a, b, c, =] for a composition, and [a, b, s, =] for a
// multitask, whose selector t is token s = p + 1 + t (after =), so Vin = V = p + 1 + tasks.

struct TransformerConfig {
  int T = 3;      // sequence length: [a, b, =]
  int Vin = 114;  // input vocabulary (p + 1)
  int V = 114;    // output classes (Nanda et al. unembed to the full vocabulary, p + 1)
  int C = 128;    // d_model
  int NH = 4;     // heads; head size HS = C / NH (32)
  int F = 512;    // d_mlp
  int HS() const { return C / NH; }
};

template <typename T>
struct TransformerParameters {
  T* W_E;    // (C, Vin) token embeddings, column v = token v
  T* W_pos;  // (C, T) positional embeddings
  T* W_QKV;  // (3C, C): rows 0..C-1 queries, C..2C-1 keys, 2C..3C-1 values; head h uses rows
             // h*HS..(h+1)*HS-1 of each
  T* W_O;    // (C, C)
  T* W_in;   // (F, C)
  T* b_in;   // (F)
  T* W_out;  // (C, F)
  T* b_out;  // (C)
  T* W_U;    // (V, C)
};

template <typename T>
struct TransformerActivations {
  T* x0;      // (C, B*T) embeddings, column b*T + t
  T* qkv;     // (3C, B*T)
  T* att;     // (T, NH, B) attention of the last position's query
  T* z;       // (C, B) heads' outputs, concatenated
  T* x1;      // (C, B) x0[:, last] + W_O z
  T* pre;     // (F, B) W_in x1 + b_in
  T* post;    // (F, B) relu(pre)
  T* x2;      // (C, B) x1 + W_out post + b_out
  T* logits;  // (V, B)
  T* probs;   // (V, B)
  // gradients of the activations
  T *dlogits, *dx2, *dpost, *dpre, *dx1, *dz, *dqkv, *dx0;
};

template <typename T>
struct Transformer {
  TransformerConfig config;
  std::vector<T> param_memory, grad_memory, m_memory, v_memory;
  TransformerParameters<T> params{}, grads{};
  std::vector<T> act_memory;
  TransformerActivations<T> acts{};
  int max_B = 0, B = 0, step = 0;

  Transformer() = default;
  Transformer(const Transformer&) = delete;
  Transformer& operator=(const Transformer&) = delete;
  size_t num_parameters() const { return param_memory.size(); }
};

// Layers of the transformer, each a forward/backward pair.
// x0[:, b*T + t] = W_E[:, tokens[b*T + t]] + W_pos[:, t]. x0 (C, B*T).
template <typename T>
void encoder_forward(T* x0, const int* tokens, const T* W_E, const T* W_pos, int B, int Tn, int C);
template <typename T>
void encoder_backward(T* dW_E, T* dW_pos, const T* dx0, const int* tokens, int B, int Tn, int C);
// out[:, j] += bias. out (O, N).
template <typename T>
void bias_forward(T* out, const T* bias, int N, int O);
template <typename T>
void bias_backward(T* dbias, const T* dout, int N, int O);
// Attention of each sequence's last query over its T positions (all visible to it).
// z (C, B), att (T, NH, B), qkv (3C, B*T).
template <typename T>
void attention_forward(T* z, T* att, const T* qkv, int B, int Tn, int C, int NH);
// dqkv (3C, B*T) += the gradient through z; dz (C, B).
template <typename T>
void attention_backward(T* dqkv, const T* dz, const T* att, const T* qkv, int B, int Tn, int C,
                        int NH);

// Nanda et al.'s initialisation from std::mt19937_64(seed): every matrix N(0, 1/C) except
// W_U ~ N(0, 1/V); biases 0.
template <typename T>
void transformer_init(Transformer<T>& model, const TransformerConfig& config, int max_B,
                      uint64_t seed);
// tokens (B*T) ids; targets B class ids (null: no loss, returns NaN).
template <typename T>
T transformer_forward(Transformer<T>& model, const int* tokens, const int* targets, int B);
template <typename T>
void transformer_zero_grad(Transformer<T>& model);
template <typename T>
void transformer_backward(Transformer<T>& model, const int* tokens, const int* targets);
template <typename T>
void transformer_update(Transformer<T>& model, const AdamWConfig& cfg, double lr);

// --- The 2-D embedding model of Musat 2024 (docs/algorithms.md 5.3; neural/embed2d.cpp) -----
//
// tokens [a, b] -> one embedding table W_E (C = 2 rows) -> h = e_a + e_b (Musat's "constant
// attention") -> Linear(C, F) with bias -> ReLU -> Linear(F, V) with bias -> cross-entropy.
// Both linear layers are PyTorch nn.Linear (bias on, as in Musat's demo: "two linear layers
// with hidden size 64 and ReLU"); N = 17 in the paper.

struct Embed2dConfig {
  int T = 2;     // tokens per input: [a, b]
  int Vin = 17;  // input vocabulary (the modulus N)
  int C = 2;     // embedding dimension (Musat: 2)
  int F = 64;    // hidden width (Musat: 64)
  int V = 17;    // output classes (N)
};

template <typename T>
struct Embed2dParameters {
  T* W_E;  // (C, Vin) embeddings, column v = token v
  T* W_1;  // (F, C)
  T* b_1;  // (F)
  T* W_2;  // (V, F)
  T* b_2;  // (V)
};

template <typename T>
struct Embed2dActivations {
  T* h;                            // (C, B) sum of the sequence's embeddings
  T* pre;                          // (F, B) W_1 h + b_1
  T* post;                         // (F, B) relu(pre)
  T* logits;                       // (V, B) W_2 post + b_2
  T* probs;                        // (V, B)
  T *dlogits, *dpost, *dpre, *dh;  // gradients of the activations
};

template <typename T>
struct Embed2d {
  Embed2dConfig config;
  std::vector<T> param_memory, grad_memory, m_memory, v_memory;
  Embed2dParameters<T> params{}, grads{};
  std::vector<T> act_memory;
  Embed2dActivations<T> acts{};
  int max_B = 0, B = 0, step = 0;

  Embed2d() = default;
  Embed2d(const Embed2d&) = delete;
  Embed2d& operator=(const Embed2d&) = delete;
  size_t num_parameters() const { return param_memory.size(); }
};

// The constant-attention layer: h[:, b] = sum_t W_E[:, tokens[b*T + t]]. h (C, B), W_E (C, Vin).
template <typename T>
void embedding_sum_forward(T* h, const int* tokens, const T* W_E, int B, int Tn, int C);
// dW_E[:, tokens[b*T + t]] += dh[:, b].
template <typename T>
void embedding_sum_backward(T* dW_E, const T* dh, const int* tokens, int B, int Tn, int C);

// PyTorch's defaults from std::mt19937_64(seed): W_E ~ N(0, embed_scale^2) (nn.Embedding: 1),
// W_1, b_1 ~ U(-1/sqrt(C), 1/sqrt(C)) and W_2, b_2 ~ U(-1/sqrt(F), 1/sqrt(F)) (nn.Linear).
template <typename T>
void embed2d_init(Embed2d<T>& model, const Embed2dConfig& config, int max_B, uint64_t seed,
                  double embed_scale = 1.0);
// tokens (B*T) ids; targets B class ids (null: no loss, returns NaN).
template <typename T>
T embed2d_forward(Embed2d<T>& model, const int* tokens, const int* targets, int B);
template <typename T>
void embed2d_zero_grad(Embed2d<T>& model);
template <typename T>
void embed2d_backward(Embed2d<T>& model, const int* tokens, const int* targets);
template <typename T>
void embed2d_update(Embed2d<T>& model, const AdamWConfig& cfg, double lr);

// --- Fourier progress measures of the transformer (docs/algorithms.md 5.5; neural/fourier.cpp)
//
// Fourier basis on Z_p (p odd): row 0 = 1/sqrt(p), rows 2k-1 and 2k = cos(w_k x) and sin(w_k x)
// normalised to unit length, w_k = 2 pi k / p, k = 1..K with K = p / 2 (integer division).

// F (p, p), rows as above, orthonormal.
MatrixXd fourier_basis(int p);

// c_k^2 = ||(F W_E^T)[cos k]||^2 and s_k^2 = ||(F W_E^T)[sin k]||^2, index k - 1 (K entries).
struct FourierNorms {
  VectorXd cos2, sin2;
  VectorXd total() const { return cos2 + sin2; }  // n_k
};
// W_E (C, p): the embeddings of the residue tokens 0..p-1 (the = token left out).
FourierNorms embedding_fourier_norms(const MatrixXd& W_E);

// Gini coefficient of nonnegative values: sum_i (2i - n - 1) x_(i) / (n sum x) over the values
// sorted ascending; 0 for equal values, (n - 1) / n for a single nonzero one. NaN if sum x = 0.
double gini_coefficient(const VectorXd& x);
// Furuta et al. (project definition): the fraction of the K frequencies whose n_k exceeds
// threshold * sum n_k, and sum c_k^2 / sum n_k.
double frequency_sparsity(const FourierNorms& f, double threshold = 0.01);
double coefficient_ratio(const FourierNorms& f);

// Key frequencies from MLP activations over all p^2 inputs. acts (F, p*p), column a*p + b.
// Each neuron's 2-D Fourier transform G = F A F^T (A (p, p) its activations, A(a, b)); frequency
// k explains the squares of G on {0, cos k, sin k}^2 less the constant term, as a fraction of
// the non-constant total. A neuron belongs to its best frequency when that fraction is at
// least min_fve (project definition: 0.5); key frequencies are those holding at least
// min_share of the live neurons (0.05), sorted by neuron count, largest first. If none
// qualifies, the frequency that is best for the most neurons. Frequencies are 1..K.
std::vector<int> key_frequencies(const MatrixXd& acts, int p, double min_fve = 0.5,
                                 double min_share = 0.05);

// Restricted and excluded loss (Nanda et al.). logits (p, p*p) of classes 0..p-1, column
// a*p + b; labels (p*p) the class of each pair; in_train (p*p) marks the training pairs; sign
// is +1 for add (directions cos/sin w_k (a + b - c)) and -1 for sub (a - b - c). P = the
// projection onto the key frequencies' directions. restricted = cross-entropy over all pairs of
// P L + (per-class mean over pairs of L - P L); excluded = cross-entropy over the training
// pairs of L - P L.
struct FourierLosses {
  double restricted = kNaN, excluded = kNaN;
};
FourierLosses fourier_losses(const MatrixXd& logits, const std::vector<int>& labels,
                             const std::vector<char>& in_train, const std::vector<int>& freqs,
                             int p, int sign);

// --- Particle simulation of the 2-D embedding model (Musat 2024; neural/particles.cpp) -------
//
// Project definition (docs/algorithms.md 5.4): particles e_0..e_{N-1} in R^2 stand for the
// embeddings of the residues; an input pair (a, b) sits at s_ab = e_a + e_b. Three forces, the
// gradient of
//   E = k_attract / N^2 * sum_{(a,b),(c,d): a+b = c+d mod N} ||s_ab - s_cd||^2 / 2   (clustering)
//     + k_repel / N^2 * sum_{labels differ} exp(-||s_ab - s_cd||^2 / (2 sigma^2))   (separation)
//     + weight_decay * sum_i ||e_i||^2 / 2                                             (decay)
// over unordered pairs of input pairs. Springs pull pairs with equal labels together, a
// Gaussian repulsion keeps different labels apart (without it decay collapses everything onto
// the origin), decay pulls to the origin. Plain gradient descent from N(0, init_scale^2).

struct ParticleOptions {
  /// Number of particles (the modulus N; Musat uses 17).
  int N = 17;
  /// Gradient-descent steps and step size.
  int steps = 3000;
  double lr = 0.01;
  /// Force strengths and the repulsion's length scale.
  double k_attract = 50.0, k_repel = 1.0, sigma = 0.5, weight_decay = 0.01;
  /// Initial positions ~ N(0, init_scale^2) from std::mt19937_64(seed).
  double init_scale = 0.5;
  uint64_t seed = 0;
  void validate() const;
};

struct ParticleSummary {
  MatrixXd positions;            // (2, N) final e_i, column i
  std::vector<double> energy;    // E every 100 steps and at the end
  double radius_cv = kNaN;       // std / mean of |e_i - centroid|: 0 on a circle
  int top_freq = -1;             // the positions' strongest Fourier frequency (odd N only)
  double top_freq_share = kNaN;  // its share of the Fourier norms: 1 on an ordered circle
  double seconds = 0;
};

// Shape of N points in the plane, P (2, N) (particles or a learned 2-D embedding):
// std / mean of their distances from the centroid (0 on a circle).
double radius_cv(const MatrixXd& P);
// The frequency k whose Fourier norm n_k (docs/algorithms.md 5.5, of P as an embedding table)
// is largest, and its share of sum n_k: share 1 when e_a = R (cos, sin)(2 pi k a / N). N odd.
void top_frequency(const MatrixXd& P, int& k, double& share);

// E and its gradient G (2, N) at positions P (2, N).
double particle_energy(const ParticleOptions& o, const MatrixXd& P, MatrixXd* G);
ParticleSummary simulate_particles(const ParticleOptions& o);

// --- Training (neural/train.cpp) ------------------------------------------------------------

enum class Model { mlp, transformer, embed2d };
const char* to_string(Model m);

struct TrainOptions {
  /// Which network.
  Model model = Model::mlp;
  /// Epochs (passes over the training set; full batch: steps).
  int epochs = 50;
  /// Mini-batch size (0: full batch). MLP default 32 (docs/algorithms.md 5.1).
  int batch = 32;
  /// Optimiser.
  AdamWConfig adamw;
  /// Linear learning-rate warm-up over this many steps (Nanda et al.: 10).
  int warmup_steps = 0;
  /// Seed of initialisation and batch order.
  uint64_t seed = 0;
  /// Training arithmetic: true fp64, false fp32.
  bool fp64 = false;
  /// Record metrics every this many epochs (and at the last one).
  int log_every = 1;
  /// MLP: configuration (D and V are set from the task), weight initialisation scale, and
  /// whether the AGOP subtracts the mean Jacobian (off: the Neural Feature Ansatz's AGOP).
  MlpConfig mlp;
  double init_scale = 1.0;
  /// Transformer: configuration (T, Vin and V are set from the task).
  TransformerConfig transformer;
  bool agop_centering = false;
  /// Transformer: tensors to start from (names as TransformerParameters, shapes as there,
  /// e.g. from an earlier run's .npy files), and whether they stay fixed during training.
  std::vector<std::pair<std::string, MatrixXd>> init_weights;
  bool freeze_init = false;
  /// Transformer: compute the Fourier measures (docs/algorithms.md 5.5) at logged epochs.
  bool fourier_measures = true;
  /// 2-D embedding model: configuration (T, Vin and V are set from the task) and the standard
  /// deviation of the initial embeddings (nn.Embedding's is 1; 0.1 learns add mod 17 better).
  Embed2dConfig embed2d;
  double embed_scale = 0.1;

  void validate() const;  // throws InputError naming the field, its value and the rule
};

// One row of metrics.csv: a logged epoch. Numbers not computed are NaN.
struct EpochStats {
  int epoch = 0;
  double train_acc = kNaN, test_acc = kNaN, train_loss = kNaN, test_loss = kNaN;
  double weight_norm = kNaN;
  std::vector<std::pair<std::string, double>> measures;  // model-specific, named
  double seconds = kNaN;  // wall time since the previous logged epoch
};

struct TrainSummary {
  Termination termination = Termination::completed;
  std::string message = "training was not run";
  std::vector<EpochStats> epochs;
  int first_epoch_test_050 = -1, first_epoch_test_099 = -1;
  int steps = 0;
  double total_seconds = 0, train_seconds = 0, eval_seconds = 0;
  std::string precision_used;
  // Final feature matrices (MLP): NFM = W1^T W1 and the AGOP over the training inputs.
  MatrixXd nfm, agop;
  // Transformer: the final key frequencies, the embedding Gram matrix W_E^T W_E (p, p) over the
  // residue tokens, and every parameter tensor by name (saved as <name>.npy).
  std::vector<int> key_frequencies;
  MatrixXd embed_gram;
  std::vector<std::pair<std::string, MatrixXd>> weights;
  // 2-D embedding model: the final embedding (Vin, C), row a = e_a (saved as embedding.npy).
  MatrixXd embedding;

  std::string brief_report() const;
};

// A classification problem on one-hot (or dense) inputs.
struct NeuralProblem {
  Inputs X_train, X_test;
  std::vector<int> y_train, y_test;
  int c = 0;  // classes
  int p = 0;  // modulus, for task measures (0: none)
  Op op = Op::add;
  bool has_op =
      true;  // the task is op (add, sub, mul, div); else measures that need it are left out
  // Multitask (data.h make_multitask): the number of tasks, whose selector sits in slot 2 as
  // coordinate 2p + t; 0 for every other task (slot 2, if any, is a third operand 2p + c).
  int selectors = 0;
  // Symbol u of a slot is the residue u of Z_p, so the Fourier measures on Z_p mean something;
  // false for groups other than Z_n, whose indices have no such order.
  bool cyclic = true;
};

using EpochCallback = std::function<Decision(const EpochStats&)>;

// The epoch loop every trainer shares (neural/train.cpp). Epoch 0 is measured before training;
// epochs 1..o.epochs shuffle the order of the n training points (always when shuffle_full_batch,
// else only when batch < n, with gen) and call step(indices, B, lr) for each batch of B points
// with the warmed-up learning rate; measure(st) fills the stats of epoch 0, every o.log_every
// epochs and the last, which are recorded in sum.epochs and handed to the callbacks (a stop ends
// training). Train and evaluation seconds accumulate in sum; first_epoch_test_* are set at the end.
void run_epochs(const TrainOptions& o, int n, int batch, bool shuffle_full_batch,
                std::mt19937_64& gen, const std::vector<EpochCallback>& callbacks,
                const std::function<void(const int* indices, int B, double lr)>& step,
                const std::function<void(EpochStats& st)>& measure, TrainSummary& sum);

TrainSummary train_network(const TrainOptions& options, const NeuralProblem& problem,
                           const std::vector<EpochCallback>& callbacks);
// The transformer's loop (neural/transformer.cpp); train_network dispatches to it.
TrainSummary train_transformer(const TrainOptions& options, const NeuralProblem& problem,
                               const std::vector<EpochCallback>& callbacks);

// The 2-D embedding model's loop (neural/embed2d.cpp).
TrainSummary train_embed2d(const TrainOptions& options, const NeuralProblem& problem,
                           const std::vector<EpochCallback>& callbacks);

// metrics.csv and summary.json of a neural run; write_train_results also writes
// NFM_final.npy and AGOP_final.npy, every named weight and embedding.npy when the summary has
// them.
std::string epochs_csv(const std::vector<EpochStats>& rows);
nlohmann::json train_summary_json(const TrainSummary& s);
void write_train_results(const std::string& dir, const TrainSummary& s);

// --- Timing of training epochs (`rfm bench`; neural/bench.cpp) -------------------------------

// Seconds per phase of each timed epoch of full-batch fp32 training of the transformer on add
// mod p (random split frac, seed 0), after one untimed warm-up epoch, and the flop count of one
// epoch's GEMMs (forward and backward; attention, elementwise work and AdamW not counted).
struct TrainBenchResult {
  int n_train = 0;
  size_t parameters = 0;
  std::vector<double> forward, backward, update, total;
  double flops_forward = 0, flops_backward = 0;
};
TrainBenchResult bench_transformer_epochs(const TransformerConfig& config, int p, double frac,
                                          int epochs);

}  // namespace rfm
