// Helpers shared by the tests: random matrices with fixed seeds, relative errors, and the `rfm`
// program run through the shell.
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

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

// Runs a shell command (run_shell) or `rfm ARGS` (run_cli: the binary the build made,
// RFM_BINARY) through popen with stderr folded into stdout. status is pclose's wait status (0 on
// success).
struct CliResult {
  int status;
  std::string output;  // stdout and stderr together
};

inline CliResult run_shell(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  CliResult r{-1, ""};
  FILE* pipe = popen(cmd.c_str(), "r");
  REQUIRE(pipe);
  char buf[4096];
  while (size_t got = fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, got);
  r.status = pclose(pipe);
  return r;
}

inline CliResult run_cli(const std::string& args) {
  return run_shell(std::string(RFM_BINARY) + " " + args);
}

// The cells of a comma-separated file, row by row (no quoting: the files our runs write).
inline std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::vector<std::string>> rows;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) cells.push_back(cell);
    rows.push_back(cells);
  }
  return rows;
}

}  // namespace rfm::test
