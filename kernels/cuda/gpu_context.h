// The CUDA plumbing of the GPU backend: error checks, grow-only device buffers and the one
// GpuContext that owns the cuBLAS/cuSOLVER handles and the stream.
//
// Internal to kernels/cuda/: this is the only kind of header that includes CUDA headers; rfm/
// and apps/ see the backend through kernels.h alone. Stream rule (as in ceres' context_impl.h):
// every call goes on the context's one stream, which is synchronised only where results come
// back to the host (DeviceBuffer::download) or where a phase is timed.
// Layout: device matrices are column-major with the leading dimension stated at each use.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <string>

#include "data/error.h"

namespace rfm::cuda {

// --- Error checks ---------------------------------------------------------------------------

// Throws BackendError naming the call, the status's text, file:line and a hint.
[[noreturn]] void throw_status(const char* call, const std::string& status, const char* file,
                               int line, const char* hint);
const char* hint_for(cudaError_t e);
const char* hint_for(cublasStatus_t s);
const char* hint_for(cusolverStatus_t s);
const char* status_text(cusolverStatus_t s);

inline void check(cudaError_t e, const char* call, const char* file, int line) {
  if (e != cudaSuccess) {
    cudaGetLastError();  // reset the last-error state so that later checks see their own errors
    throw_status(call, std::string(cudaGetErrorName(e)) + ": " + cudaGetErrorString(e), file,
                 line, hint_for(e));
  }
}
inline void check(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw_status(call, cublasGetStatusString(s), file, line, hint_for(s));
}
inline void check(cusolverStatus_t s, const char* call, const char* file, int line) {
  if (s != CUSOLVER_STATUS_SUCCESS) throw_status(call, status_text(s), file, line, hint_for(s));
}

}  // namespace rfm::cuda

#define RFM_CUDA_CHECK(call) ::rfm::cuda::check((call), #call, __FILE__, __LINE__)
#define RFM_CUBLAS_CHECK(call) ::rfm::cuda::check((call), #call, __FILE__, __LINE__)
#define RFM_CUSOLVER_CHECK(call) ::rfm::cuda::check((call), #call, __FILE__, __LINE__)
// After a kernel launch: launch-configuration errors now, execution errors at the next sync.
#define RFM_CUDA_LAUNCH_CHECK(name) ::rfm::cuda::check(cudaGetLastError(), name, __FILE__, __LINE__)

namespace rfm::cuda {

// --- Device buffers -------------------------------------------------------------------------

// A grow-only device array: reserve() reallocates only to grow, and then the old contents are
// lost (every user rewrites its buffer before reading it).
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);
  }

  T* reserve(size_t count) {
    if (count > cap_) {
      if (ptr_) RFM_CUDA_CHECK(cudaFree(ptr_));
      ptr_ = nullptr;
      cap_ = 0;
      RFM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
      cap_ = count;
    }
    return ptr_;
  }
  // Asynchronous copy of host[0, count) on the stream. Pageable host memory is staged before
  // cudaMemcpyAsync returns, so the caller may free it right after.
  T* upload(const T* host, size_t count, cudaStream_t stream) {
    reserve(count);
    if (count > 0)
      RFM_CUDA_CHECK(cudaMemcpyAsync(ptr_, host, count * sizeof(T), cudaMemcpyHostToDevice,
                                     stream));
    return ptr_;
  }
  // Copies [0, count) to host and synchronises the stream.
  void download(T* host, size_t count, cudaStream_t stream) const {
    if (count > 0)
      RFM_CUDA_CHECK(cudaMemcpyAsync(host, ptr_, count * sizeof(T), cudaMemcpyDeviceToHost,
                                     stream));
    RFM_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
  T* data() const { return ptr_; }
  size_t bytes() const { return cap_ * sizeof(T); }

 private:
  T* ptr_ = nullptr;
  size_t cap_ = 0;
};

// --- The context ----------------------------------------------------------------------------

// One per KernelMachine (one per run): device 0, one stream, the cuBLAS and cuSOLVER handles
// bound to it, the cuSOLVER status word.
class GpuContext {
 public:
  GpuContext();
  ~GpuContext();
  GpuContext(const GpuContext&) = delete;
  GpuContext& operator=(const GpuContext&) = delete;

  void sync() const { RFM_CUDA_CHECK(cudaStreamSynchronize(stream)); }
  size_t free_bytes() const;

  int device = 0;
  std::string device_name;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
  cusolverDnHandle_t solver = nullptr;
  DeviceBuffer<int> info;  // cuSOLVER's devInfo (1 int)
};

// Launches a one-thread no-op kernel: fails when this build has no code for the device.
cudaError_t probe_device();

}  // namespace rfm::cuda
