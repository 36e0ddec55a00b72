// The backend's own CUDA kernels (device_kernels.h): one-hot gathers, the statistics epilogue,
// the one-hot Jacobian sums of the AGOP and its small element-wise steps. Each is the plain
// one-thread-per-output form of the CPU loop it mirrors (kernels.cpp, agop.cpp), indexed by a
// grid-stride loop over 64-bit indices (n^2 passes 2^31 at n = 46,341).
#include "kernels/cuda/device_kernels.h"
#include "kernels/cuda/gpu_context.h"

namespace rfm::cuda {

namespace {

constexpr int kThreads = 256;

// Enough blocks to cover `total` threads, capped (the grid-stride loops cover the rest).
unsigned blocks_for(long long total) {
  const long long b = (total + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 1 ? 1 : (b > (1LL << 20) ? (1LL << 20) : b));
}

#define RFM_GRID_LOOP(idx, total)                                              \
  for (long long idx = blockIdx.x * (long long)blockDim.x + threadIdx.x; idx < (total); \
       idx += (long long)gridDim.x * blockDim.x)

// Same threshold as kernels.cpp (kDistanceRoundoff): squared distances below this share of
// ||x||^2 + ||z||^2 are round-off of the expansion and become 0.
constexpr double kDistanceRoundoff = 1e-12;

// The entry-wise maps of kernels.cpp (apply_values, apply_weights), written the same way.
__device__ double map_stat(const KernelSpec& k, double s) {
  const double L = k.L;
  if (k.mode == StatMode::statistic) return s;
  const bool w = k.mode == StatMode::weight;
  switch (k.type) {
    case 0: {
      const double v = exp(s * (-1.0 / (2 * L * L)));
      return w ? v / (L * L) : v;
    }
    case 1: {
      const double v = exp(s * (-1.0 / L));
      return w ? v * (2.0 / L) : v;
    }
    case 2: {
      const double r = sqrt(s), v = exp(r * (-1.0 / L));
      if (!w) return v;
      return s > 0 ? v / (L * r) : 0.0;
    }
    default: return w ? 2.0 * s : s * s;
  }
}

// x^T M z -> the statistic (squared distance for radial kernels, clamped) -> mapped.
__device__ double finish(const KernelSpec& k, double s, double nx, double nz) {
  if (k.radial) {
    const double scale = nx + nz;
    s = (nx - 2.0 * s) + nz;
    s = s > kDistanceRoundoff * scale ? s : 0.0;
  }
  return map_stat(k, s);
}

__global__ void probe_kernel(int* flag) {
  if (flag) *flag = 1;
}

__global__ void onehot_project_kernel(int n, int d, int slots, const int* hot, const double* M,
                                      double* U) {
  RFM_GRID_LOOP(idx, (long long)n * d) {
    const int i = static_cast<int>(idx % n), col = static_cast<int>(idx / n);
    double u = 0;
    for (int s = 0; s < slots; ++s) u += M[hot[i + (long long)n * s] + (long long)d * col];
    U[idx] = u;
  }
}

__global__ void onehot_norms_kernel(int m, int slots, const int* hot, int ldh, int j0,
                                    const double* M, int d, double* out) {
  RFM_GRID_LOOP(j, (long long)m) {
    const long long row = j0 + j;
    double sum = 0;
    for (int t = 0; t < slots; ++t) {
      const int ht = hot[row + (long long)ldh * t];
      double u = 0;
      for (int s = 0; s < slots; ++s) u += M[hot[row + (long long)ldh * s] + (long long)d * ht];
      sum += u;
    }
    out[j] = sum;
  }
}

__global__ void row_dots_kernel(int rows, int cols, const double* A, int lda, const double* B,
                                int ldb, double* out) {
  RFM_GRID_LOOP(i, (long long)rows) {
    double sum = 0;
    for (int k = 0; k < cols; ++k) sum += A[i + (long long)lda * k] * B[i + (long long)ldb * k];
    out[i] = sum;
  }
}

__global__ void onehot_stats_kernel(KernelSpec k, int n, int b, int slots, const double* U,
                                    const double* nx, const int* hotZ, int ldz, int j0,
                                    const double* nzJ, double* out, long long si, long long sj) {
  RFM_GRID_LOOP(idx, (long long)n * b) {
    const long long i = idx % n, j = idx / n;
    double s = 0;
    for (int t = 0; t < slots; ++t) s += U[i + (long long)n * hotZ[j0 + j + (long long)ldz * t]];
    out[i * si + j * sj] = finish(k, s, nx[i], nzJ[j]);
  }
}

__global__ void finish_stats_kernel(KernelSpec k, int n, int b, const double* nx,
                                    const double* nzJ, double* S, long long si, long long sj) {
  RFM_GRID_LOOP(idx, (long long)n * b) {
    const long long i = idx % n, j = idx / n;
    double& s = S[i * si + j * sj];
    s = finish(k, s, nx[i], nzJ[j]);
  }
}

__global__ void add_diagonal_kernel(int n, double* A, long long lda, double value) {
  RFM_GRID_LOOP(i, (long long)n) A[i * lda + i] += value;
}

__global__ void onehot_jacobian_sums_kernel(int b, int c, int d, int n, int slots,
                                            const int* rows, const int* off, const double* WT,
                                            const double* alpha, double* Hs) {
  RFM_GRID_LOOP(idx, (long long)b * c * d) {
    const long long j = idx % b, cc = (idx / b) % c, k = idx / ((long long)b * c);
    double acc = 0;
    for (int s = 0; s < slots; ++s) {
      const int* r = rows + (long long)n * s;
      const int* o = off + (long long)(d + 1) * s;
      for (int t = o[k]; t < o[k + 1]; ++t) {
        const long long i = r[t];
        acc += WT[j + b * i] * alpha[i + n * cc];
      }
    }
    Hs[idx] = acc;
  }
}

__global__ void scale_rows_kernel(int n, int c, const double* x, const double* alpha,
                                  double* T) {
  RFM_GRID_LOOP(idx, (long long)n * c) T[idx] = x[idx % n] * alpha[idx];
}

__global__ void subtract_radial_onehot_kernel(int b, int c, int slots, const int* hotZ, int ldz,
                                              int j0, const double* V, double* Hs) {
  RFM_GRID_LOOP(idx, (long long)b * c) {
    const long long j = idx % b;  // idx = j + b cc
    for (int t = 0; t < slots; ++t) {
      const long long k = hotZ[j0 + j + (long long)ldz * t];
      Hs[idx + (long long)b * c * k] -= V[idx];
    }
  }
}

__global__ void subtract_radial_dense_kernel(int b, int c, int d, const double* Z, int ldz,
                                             int j0, const double* V, double* Hs) {
  RFM_GRID_LOOP(idx, (long long)b * c * d) {
    const long long j = idx % b, jc = idx % ((long long)b * c), k = idx / ((long long)b * c);
    Hs[idx] -= Z[j0 + j + (long long)ldz * k] * V[jc];
  }
}

__global__ void center_block_kernel(int b, int c, int d, double* Hs, bool first, double* C,
                                    double* D) {
  RFM_GRID_LOOP(idx, (long long)d * c) {  // idx = k + d cc
    const long long k = idx % d, cc = idx / d;
    double* H = Hs + (long long)b * cc + (long long)b * c * k;
    if (first) {
      double sum = 0;
      for (int j = 0; j < b; ++j) sum += H[j];
      C[idx] = sum / b;
    }
    const double shift = C[idx];
    double sum = 0;
    for (int j = 0; j < b; ++j) {
      H[j] -= shift;
      sum += H[j];
    }
    D[idx] += sum;
  }
}

}  // namespace

cudaError_t probe_device() {
  probe_kernel<<<1, 1>>>(nullptr);
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaDeviceSynchronize();
  return e;
}

void onehot_project(int n, int d, int slots, const int* hot, const double* M, double* U,
                    cudaStream_t stream) {
  onehot_project_kernel<<<blocks_for((long long)n * d), kThreads, 0, stream>>>(n, d, slots, hot,
                                                                               M, U);
  RFM_CUDA_LAUNCH_CHECK("onehot_project");
}

void onehot_norms(int m, int slots, const int* hot, int ldh, int j0, const double* M, int d,
                  double* out, cudaStream_t stream) {
  onehot_norms_kernel<<<blocks_for(m), kThreads, 0, stream>>>(m, slots, hot, ldh, j0, M, d, out);
  RFM_CUDA_LAUNCH_CHECK("onehot_norms");
}

void row_dots(int rows, int cols, const double* A, int lda, const double* B, int ldb,
              double* out, cudaStream_t stream) {
  row_dots_kernel<<<blocks_for(rows), kThreads, 0, stream>>>(rows, cols, A, lda, B, ldb, out);
  RFM_CUDA_LAUNCH_CHECK("row_dots");
}

void onehot_stats(const KernelSpec& k, int n, int b, int slots, const double* U,
                  const double* nx, const int* hotZ, int ldz, int j0, const double* nzJ,
                  double* out, long long si, long long sj, cudaStream_t stream) {
  onehot_stats_kernel<<<blocks_for((long long)n * b), kThreads, 0, stream>>>(
      k, n, b, slots, U, nx, hotZ, ldz, j0, nzJ, out, si, sj);
  RFM_CUDA_LAUNCH_CHECK("onehot_stats");
}

void finish_stats(const KernelSpec& k, int n, int b, const double* nx, const double* nzJ,
                  double* S, long long si, long long sj, cudaStream_t stream) {
  finish_stats_kernel<<<blocks_for((long long)n * b), kThreads, 0, stream>>>(k, n, b, nx, nzJ, S,
                                                                            si, sj);
  RFM_CUDA_LAUNCH_CHECK("finish_stats");
}

void add_diagonal(int n, double* A, long long lda, double value, cudaStream_t stream) {
  add_diagonal_kernel<<<blocks_for(n), kThreads, 0, stream>>>(n, A, lda, value);
  RFM_CUDA_LAUNCH_CHECK("add_diagonal");
}

void onehot_jacobian_sums(int b, int c, int d, int n, int slots, const int* rows,
                          const int* off, const double* WT, const double* alpha, double* Hs,
                          cudaStream_t stream) {
  onehot_jacobian_sums_kernel<<<blocks_for((long long)b * c * d), kThreads, 0, stream>>>(
      b, c, d, n, slots, rows, off, WT, alpha, Hs);
  RFM_CUDA_LAUNCH_CHECK("onehot_jacobian_sums");
}

void scale_rows(int n, int c, const double* x, const double* alpha, double* T,
                cudaStream_t stream) {
  scale_rows_kernel<<<blocks_for((long long)n * c), kThreads, 0, stream>>>(n, c, x, alpha, T);
  RFM_CUDA_LAUNCH_CHECK("scale_rows");
}

void subtract_radial_onehot(int b, int c, int slots, const int* hotZ, int ldz, int j0,
                            const double* V, double* Hs, cudaStream_t stream) {
  subtract_radial_onehot_kernel<<<blocks_for((long long)b * c), kThreads, 0, stream>>>(
      b, c, slots, hotZ, ldz, j0, V, Hs);
  RFM_CUDA_LAUNCH_CHECK("subtract_radial_onehot");
}

void subtract_radial_dense(int b, int c, int d, const double* Z, int ldz, int j0,
                           const double* V, double* Hs, cudaStream_t stream) {
  subtract_radial_dense_kernel<<<blocks_for((long long)b * c * d), kThreads, 0, stream>>>(
      b, c, d, Z, ldz, j0, V, Hs);
  RFM_CUDA_LAUNCH_CHECK("subtract_radial_dense");
}

void center_block(int b, int c, int d, double* Hs, bool first, double* C, double* D,
                  cudaStream_t stream) {
  center_block_kernel<<<blocks_for((long long)d * c), kThreads, 0, stream>>>(b, c, d, Hs, first,
                                                                            C, D);
  RFM_CUDA_LAUNCH_CHECK("center_block");
}

}  // namespace rfm::cuda
