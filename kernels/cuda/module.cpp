// The one symbol librfm_cuda.so exports (cuda_api.h): the table of the backend's entry points.
#include "kernels/cuda/cuda_api.h"

extern "C" __attribute__((visibility("default"))) const rfm::cuda::Module* rfm_cuda_module(
    int abi) {
  using namespace rfm::cuda;
  static const Module table = {available,       devices,    dgemm_gflops, make_machine,
                               memory_estimate, pair_stats, solve};
  return abi == kModuleAbi ? &table : nullptr;
}
