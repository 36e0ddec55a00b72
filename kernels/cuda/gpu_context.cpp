// The GpuContext, the error reports of the CUDA wrappers, and the device queries of cuda_api.h
// (available, devices, dgemm_gflops) behind kernels.h's cuda_available and the rest.
#include "kernels/cuda/gpu_context.h"

#include <algorithm>
#include <limits>
#include <mutex>
#include <vector>

#include "kernels/kernels.h"

namespace rfm::cuda {

// --- Error reports --------------------------------------------------------------------------

void throw_status(const char* call, const std::string& status, const char* file, int line,
                  const char* hint) {
  throw BackendError(strfmt("%s failed with %s at %s:%d; hint: %s", call, status.c_str(), file,
                            line, hint));
}

namespace {
const char* const kHintMemory =
    "the GPU is out of memory: use fewer training points (--frac), fewer AGOP points "
    "(--agop-samples), or --device cpu";
const char* const kHintDriver =
    "no usable GPU or driver: check nvidia-smi, or run with --device cpu";
const char* const kHintBug = "an invalid argument reached the library: this is a bug in rfm";
const char* const kHintAsync =
    "errors of earlier asynchronous calls surface here: rerun with CUDA_LAUNCH_BLOCKING=1 to "
    "find the call that failed";
}  // namespace

const char* hint_for(cudaError_t e) {
  switch (e) {
    case cudaErrorMemoryAllocation: return kHintMemory;
    case cudaErrorNoDevice:
    case cudaErrorInsufficientDriver:
    case cudaErrorInitializationError:
    case cudaErrorDevicesUnavailable: return kHintDriver;
    case cudaErrorNoKernelImageForDevice:
      return "this build has no code for this GPU: reconfigure with "
             "-DCMAKE_CUDA_ARCHITECTURES=<its compute capability, e.g. 90>";
    case cudaErrorInvalidValue: return kHintBug;
    default: return kHintAsync;
  }
}

const char* hint_for(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_ALLOC_FAILED: return kHintMemory;
    case CUBLAS_STATUS_NOT_INITIALIZED: return kHintDriver;
    case CUBLAS_STATUS_INVALID_VALUE: return kHintBug;
    default: return kHintAsync;
  }
}

const char* hint_for(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_ALLOC_FAILED: return kHintMemory;
    case CUSOLVER_STATUS_NOT_INITIALIZED: return kHintDriver;
    case CUSOLVER_STATUS_INVALID_VALUE: return kHintBug;
    default: return kHintAsync;
  }
}

const char* status_text(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default: return "cusolverStatus_t (unnamed code)";
  }
}

// --- The context ----------------------------------------------------------------------------

GpuContext::GpuContext() {
  RFM_CUDA_CHECK(cudaSetDevice(device));
  cudaDeviceProp prop;
  RFM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  device_name = prop.name;
  RFM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  RFM_CUBLAS_CHECK(cublasCreate(&blas));
  RFM_CUBLAS_CHECK(cublasSetStream(blas, stream));
  // fp64 GEMMs exactly as requested: no reduced-precision emulation.
  RFM_CUBLAS_CHECK(cublasSetMathMode(blas, CUBLAS_DEFAULT_MATH));
  RFM_CUSOLVER_CHECK(cusolverDnCreate(&solver));
  RFM_CUSOLVER_CHECK(cusolverDnSetStream(solver, stream));
  info.reserve(1);
}

GpuContext::~GpuContext() {
  if (solver) cusolverDnDestroy(solver);
  if (blas) cublasDestroy(blas);
  if (stream) cudaStreamDestroy(stream);
}

size_t GpuContext::free_bytes() const {
  size_t free = 0, total = 0;
  RFM_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return free;
}

}  // namespace rfm::cuda

// --- Device queries (cuda_api.h) ------------------------------------------------------------

namespace rfm::cuda {

bool available(std::string* why) {
  static std::once_flag once;
  static bool ok = false;
  static std::string reason;
  std::call_once(once, [] {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e == cudaSuccess && count == 0) {
      reason = "no CUDA device found";
      return;
    }
    if (e == cudaSuccess) e = cudaSetDevice(0);
    if (e == cudaSuccess) e = probe_device();
    if (e != cudaSuccess) {
      cudaGetLastError();
      reason = strfmt("%s: %s", cudaGetErrorName(e), cudaGetErrorString(e));
      return;
    }
    ok = true;
  });
  if (why) *why = reason;
  return ok;
}

std::vector<DeviceInfo> devices() {
  std::vector<DeviceInfo> out;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return out;
  }
  constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    DeviceInfo d;
    d.id = i;
    d.name = prop.name;
    d.cc_major = prop.major;
    d.cc_minor = prop.minor;
    d.total_gib = prop.totalGlobalMem / kGiB;
    size_t free = 0, total = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&free, &total) == cudaSuccess)
      d.free_gib = free / kGiB;
    out.push_back(d);
  }
  cudaGetLastError();
  if (count > 0) cudaSetDevice(0);
  return out;
}

double dgemm_gflops() {
  const int n = 4096;
  GpuContext ctx;
  DeviceBuffer<double> A, B, C;
  const size_t nn = size_t(n) * n;
  for (auto* buf : {&A, &B, &C}) {
    buf->reserve(nn);
    RFM_CUDA_CHECK(cudaMemsetAsync(buf->data(), 0, nn * sizeof(double), ctx.stream));
  }
  cudaEvent_t start, stop;
  RFM_CUDA_CHECK(cudaEventCreate(&start));
  RFM_CUDA_CHECK(cudaEventCreate(&stop));
  const double one = 1.0, zero = 0.0;
  std::vector<double> rates;
  for (int r = 0; r < 4; ++r) {  // the first is a warm-up
    RFM_CUDA_CHECK(cudaEventRecord(start, ctx.stream));
    RFM_CUBLAS_CHECK(cublasDgemm(ctx.blas, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, A.data(), n,
                                 B.data(), n, &zero, C.data(), n));
    RFM_CUDA_CHECK(cudaEventRecord(stop, ctx.stream));
    RFM_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    RFM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    if (r > 0) rates.push_back(2.0 * n * n * double(n) / (ms * 1e-3) / 1e9);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(rates.begin(), rates.end());
  return rates[rates.size() / 2];
}

}  // namespace rfm::cuda
