// Timing of training epochs for `rfm bench` (neural.h): full-batch fp32 AdamW epochs of the
// transformer, each phase timed separately, and the flop count of the GEMMs of one epoch
// (the loop of train_transformer without evaluation or measures). bench/torch_transformer.py
// times the same model in PyTorch.
#include <chrono>

#include "neural/neural.h"

namespace rfm {

TrainBenchResult bench_transformer_epochs(const TransformerConfig& config, int p, double frac,
                                          int epochs) {
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  RFM_CHECK(epochs >= 1, "timed epochs %d must be >= 1", epochs);
  const Dataset ds = make_modular_task(Op::add, p);
  const Split split = random_split(ds.N(), frac, 0);
  const int n = int(split.train.size());
  std::vector<int> tok, y;  // [a, b, =] with = the token p, as train_transformer
  for (int i : split.train) {
    tok.insert(tok.end(), {ds.inputs.hot(i, 0), ds.inputs.hot(i, 1) - p, p});
    y.push_back(ds.labels[i]);
  }
  TransformerConfig c = config;
  c.T = 3;
  c.Vin = c.V = p + 1;
  Transformer<float> model;
  transformer_init(model, c, n, 0);
  const AdamWConfig adamw{1e-3, 1.0, 0.9, 0.98, 1e-8};  // Nanda et al. (docs/algorithms.md 5.2)

  TrainBenchResult r;
  r.n_train = n;
  r.parameters = model.num_parameters();
  // GEMM flops: the QKV projection runs on all B*T positions; W_O, the MLP and W_U on the last
  // position only (neural.h). Backward: two GEMMs per forward one, except that the QKV
  // projection's input gradient is still needed (the embeddings are trained).
  const double B = n, BT = double(n) * c.T;
  const double qkv = 2.0 * 3 * c.C * c.C * BT, wo = 2.0 * c.C * c.C * B,
               mlp = 2.0 * 2 * c.F * c.C * B, wu = 2.0 * c.V * c.C * B;
  r.flops_forward = qkv + wo + mlp + wu;
  r.flops_backward = 2 * r.flops_forward;
  for (int e = 0; e <= epochs; ++e) {  // epoch 0 warms up (first touch, BLAS buffers)
    const auto t0 = Clock::now();
    transformer_forward(model, tok.data(), y.data(), n);
    const auto t1 = Clock::now();
    transformer_zero_grad(model);
    transformer_backward(model, tok.data(), y.data());
    const auto t2 = Clock::now();
    transformer_update(model, adamw, adamw.lr);
    const double update = since(t2), total = since(t0);
    if (e == 0) continue;
    r.forward.push_back(std::chrono::duration<double>(t1 - t0).count());
    r.backward.push_back(std::chrono::duration<double>(t2 - t1).count());
    r.update.push_back(update);
    r.total.push_back(total);
  }
  return r;
}

}  // namespace rfm
