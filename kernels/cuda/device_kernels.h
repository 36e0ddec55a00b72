// Launchers of the backend's own CUDA kernels (device_kernels.cu); everything else is cuBLAS
// and cuSOLVER. Every pointer is device memory; matrices are column-major, (rows, cols) and
// the leading dimension are stated per argument. Each launcher enqueues on `stream` and checks
// the launch; none synchronises.
#pragma once

#include <cuda_runtime.h>

namespace rfm::cuda {

// A kernel function as the device sees it (kernels.h): type 0 gaussian, 1 gaussian-paper,
// 2 laplace, 3 quadratic; L the bandwidth; what to produce from the statistic.
enum class StatMode { statistic = 0, value = 1, weight = 2 };
struct KernelSpec {
  int type = 0;
  double L = 1;
  bool radial = true;
  StatMode mode = StatMode::statistic;
};

// U (n, d) = X M for one-hot X: U(i, col) = sum_s M(hot(i, s), col). hot: (n, slots), ld n.
void onehot_project(int n, int d, int slots, const int* hot, const double* M, double* U,
                    cudaStream_t stream);
// out[j] = z_j^T M z_j for the one-hot points j0..j0+m-1 of hot (ld ldh, slots columns),
// summed in the order of kernels.cpp (onehot_norm) so that a self pair has distance exactly 0.
void onehot_norms(int m, int slots, const int* hot, int ldh, int j0, const double* M, int d,
                  double* out, cudaStream_t stream);
// out[i] = sum_k A(i, k) B(i, k), i < rows, k < cols; A ld lda, B ld ldb.
void row_dots(int rows, int cols, const double* A, int lda, const double* B, int ldb,
              double* out, cudaStream_t stream);

// One-hot statistics of training point i (rows of U: (n, d), ld n; norms nx) against points
// j0..j0+b-1 of hotZ (ld ldz, slots columns; norms nzJ already offset by j0): the statistic
// sum_t U(i, hotZ(j, t)), finished (distance, clamp) and mapped by k, written to
// out[i * si + j * sj] (si = 1, sj = n: (n, b); si = b, sj = 1: its transpose (b, n)).
void onehot_stats(const KernelSpec& k, int n, int b, int slots, const double* U,
                  const double* nx, const int* hotZ, int ldz, int j0, const double* nzJ,
                  double* out, long long si, long long sj, cudaStream_t stream);
// In place on inner products S(i, j) = x_i^T M z_j at S[i * si + j * sj]: finished and mapped.
void finish_stats(const KernelSpec& k, int n, int b, const double* nx, const double* nzJ,
                  double* S, long long si, long long sj, cudaStream_t stream);

// A(i, i) += value, i < n; A ld lda.
void add_diagonal(int n, double* A, long long lda, double value, cudaStream_t stream);

// The one-hot Jacobian sums (agop.cpp): Hs(j + b cc, k) = sum over slots s and training points
// i with hot(i, s) = k of WT(j, i) alpha(i, cc). rows: (n, slots) point ids grouped by hot
// coordinate, off: (d + 1, slots) group offsets. WT: (b, n) weights, ld b. alpha: (n, c).
// Hs: (b c, d). Every entry of Hs is written (no accumulation, no atomics).
void onehot_jacobian_sums(int b, int c, int d, int n, int slots, const int* rows,
                          const int* off, const double* WT, const double* alpha, double* Hs,
                          cudaStream_t stream);
// T (n, c) = diag(x) alpha: T(i, cc) = x[i] alpha(i, cc).
void scale_rows(int n, int c, const double* x, const double* alpha, double* T,
                cudaStream_t stream);
// The radial term Hs(j + b cc, k) -= z_jk V(j, cc) for the block j0..j0+b-1 of Z; V: (b, c).
// One-hot Z: hotZ (ld ldz, slots columns). Dense Z: Z (ld ldz, d columns).
void subtract_radial_onehot(int b, int c, int slots, const int* hotZ, int ldz, int j0,
                            const double* V, double* Hs, cudaStream_t stream);
void subtract_radial_dense(int b, int c, int d, const double* Z, int ldz, int j0,
                           const double* V, double* Hs, cudaStream_t stream);
// Centering by the shifted-data identity (agop.cpp): for each (k, cc), with H the b values
// Hs(j + b cc, k): when first, C(k, cc) = mean of H; then H -= C(k, cc) and
// D(k, cc) += sum of the shifted H. C, D: (d, c).
void center_block(int b, int c, int d, double* Hs, bool first, double* C, double* D,
                  cudaStream_t stream);

}  // namespace rfm::cuda
