// Helpers shared by the tests: random matrices with fixed seeds and relative errors.
#pragma once

#include <random>

#include "data/data.h"

namespace rfm::test {

inline MatrixXd random_matrix(int rows, int cols, uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::normal_distribution<double> normal;
  MatrixXd A(rows, cols);
  for (Eigen::Index j = 0; j < A.cols(); ++j)
    for (Eigen::Index i = 0; i < A.rows(); ++i) A(i, j) = normal(gen);
  return A;
}

// A random symmetric positive definite matrix B B^T / d + shift I.
inline MatrixXd random_spd(int d, uint64_t seed, double shift = 0.5) {
  MatrixXd B = random_matrix(d, d, seed);
  return B * B.transpose() / d + shift * MatrixXd::Identity(d, d);
}

// ||A - B||_F / ||B||_F.
inline double rel_error(const MatrixXd& A, const MatrixXd& B) {
  return (A - B).norm() / std::max(B.norm(), 1e-300);
}

// The one-hot inputs of a modular task restricted to some pairs (every k-th).
inline Inputs some_pairs(int p, int step) {
  Dataset ds = make_modular_task(Op::add, p);
  std::vector<int> idx;
  for (int i = 0; i < ds.N(); i += step) idx.push_back(i);
  return ds.inputs.rows(idx);
}

}  // namespace rfm::test
