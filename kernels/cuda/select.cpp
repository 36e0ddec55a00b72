// Backend selection for --device, compiled into every build (it includes no CUDA header).
// Without the CUDA backend it also holds the stand-ins of kernels.h's CUDA entry points, so
// that apps/ and tests/ call them unconditionally.
#include <limits>

#include "kernels/kernels.h"

namespace rfm {

bool cuda_compiled() {
#ifdef RFM_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

Backend backend_from_device(const std::string& device, Precision precision,
                            std::string* notice) {
  if (notice) notice->clear();
  if (device == "cpu") return Backend::cpu;
  if (device == "cuda") return Backend::cuda;
  RFM_CHECK(device == "auto", "unknown --device '%s' (known: auto, cpu, cuda)", device.c_str());
  std::string why;
  if (!cuda_available(&why)) {
    if (notice) *notice = "no usable CUDA device (" + why + "); running on the CPU";
    return Backend::cpu;
  }
  if (precision != Precision::fp64) {
    if (notice)
      *notice = strfmt("the CUDA backend is fp64 only; --precision %s runs on the CPU",
                       to_string(precision));
    return Backend::cpu;
  }
  return Backend::cuda;
}

#ifndef RFM_HAVE_CUDA
bool cuda_available(std::string* why) {
  if (why) *why = "this rfm was compiled without the CUDA backend";
  return false;
}
std::vector<DeviceInfo> cuda_devices() { return {}; }
double cuda_dgemm_gflops() { return std::numeric_limits<double>::quiet_NaN(); }
#endif

}  // namespace rfm
