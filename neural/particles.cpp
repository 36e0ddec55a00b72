// Particle simulation of Musat's 2-D embedding model (docs/algorithms.md 5.4, project
// definition; the forces are documented in neural.h): gradient descent on springs between sums
// with equal labels, a Gaussian repulsion between sums with different labels, and weight decay.
#include <chrono>
#include <cmath>
#include <random>

#include "neural/neural.h"

namespace rfm {

void ParticleOptions::validate() const {
  RFM_CHECK(N >= 2, "--n %d must be >= 2", N);
  RFM_CHECK(steps >= 1, "--steps %d must be >= 1", steps);
  RFM_CHECK(lr > 0, "--lr %g must be > 0", lr);
  RFM_CHECK(k_attract >= 0 && k_repel >= 0 && weight_decay >= 0,
            "forces must be >= 0 (attract %g, repel %g, weight decay %g)", k_attract, k_repel,
            weight_decay);
  RFM_CHECK(sigma > 0, "--sigma %g must be > 0", sigma);
  RFM_CHECK(init_scale > 0, "--init-scale %g must be > 0", init_scale);
}

double particle_energy(const ParticleOptions& o, const MatrixXd& P, MatrixXd* G) {
  // P (2, N); sums S (2, N*N), column a*N + b = e_a + e_b; dS the gradient with respect to S.
  const int N = int(P.cols()), M = N * N;
  MatrixXd S(2, M), dS = MatrixXd::Zero(2, M);
  for (int a = 0; a < N; ++a)
    for (int b = 0; b < N; ++b) S.col(a * N + b) = P.col(a) + P.col(b);
  const double wa = o.k_attract / M, wr = o.k_repel / M, s2 = o.sigma * o.sigma;
  double E = 0.5 * o.weight_decay * P.squaredNorm();
  for (int i = 0; i < M; ++i)
    for (int j = i + 1; j < M; ++j) {
      const double dx = S(0, i) - S(0, j), dy = S(1, i) - S(1, j), r2 = dx * dx + dy * dy;
      const bool same = (i / N + i % N) % N == (j / N + j % N) % N;
      // c * (dx, dy) is the derivative of the term by S_i; the opposite for S_j.
      double c;
      if (same) {
        E += 0.5 * wa * r2;
        c = wa;
      } else {
        const double e = wr * std::exp(-r2 / (2 * s2));
        E += e;
        c = -e / s2;
      }
      dS(0, i) += c * dx;
      dS(1, i) += c * dy;
      dS(0, j) -= c * dx;
      dS(1, j) -= c * dy;
    }
  if (G) {
    *G = o.weight_decay * P;
    for (int a = 0; a < N; ++a)
      for (int b = 0; b < N; ++b) {
        G->col(a) += dS.col(a * N + b);
        G->col(b) += dS.col(a * N + b);
      }
  }
  return E;
}

// --- shape measures ------------------------------------------------------------------------

double radius_cv(const MatrixXd& P) {
  // P (2, N): distances from the centroid, their std / mean
  const Eigen::Vector2d c = P.rowwise().mean();
  const VectorXd r = (P.colwise() - c).colwise().norm().transpose();
  const double mean = r.mean();
  return mean > 0 ? std::sqrt((r.array() - mean).square().mean()) / mean : kNaN;
}

void top_frequency(const MatrixXd& P, int& k, double& share) {
  const VectorXd n = embedding_fourier_norms(P).total();
  share = n.sum() > 0 ? n.maxCoeff(&k) / n.sum() : kNaN;
  k += 1;
}

ParticleSummary simulate_particles(const ParticleOptions& o) {
  o.validate();
  const auto t0 = std::chrono::steady_clock::now();
  std::mt19937_64 gen(o.seed);
  std::normal_distribution<double> normal(0.0, o.init_scale);
  MatrixXd P(2, o.N), G;
  for (int i = 0; i < P.size(); ++i) P.data()[i] = normal(gen);
  ParticleSummary s;
  for (int t = 0; t < o.steps; ++t) {
    const double E = particle_energy(o, P, &G);
    if (t % 100 == 0) s.energy.push_back(E);
    P -= o.lr * G;
  }
  s.energy.push_back(particle_energy(o, P, nullptr));
  s.positions = P;
  s.radius_cv = radius_cv(P);
  if (o.N % 2 == 1) top_frequency(P, s.top_freq, s.top_freq_share);
  s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

}  // namespace rfm
