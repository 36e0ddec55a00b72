// Backend selection for --device and the loader of the CUDA backend module, compiled into every
// build (it includes no CUDA header). kernels.h's cuda_available, cuda_devices and
// cuda_dgemm_gflops go through the module's table, so a CPU run never maps the CUDA libraries.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <limits>
#include <mutex>

#include "kernels/cuda/cuda_api.h"

namespace rfm {

bool cuda_compiled() {
#ifdef RFM_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

namespace cuda {
namespace {

// The directory part of a path ("" for a bare name).
std::string dirname_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

// Whether the NVIDIA driver answers with at least one device, without loading the CUDA
// runtime or its libraries: libcuda.so.1 is the driver's own small library.
bool driver_has_device(std::string* why) {
  void* driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver) {
    *why = "no NVIDIA driver (libcuda.so.1 not found)";
    return false;
  }
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int*);
  auto init = reinterpret_cast<InitFn>(dlsym(driver, "cuInit"));
  auto count_fn = reinterpret_cast<CountFn>(dlsym(driver, "cuDeviceGetCount"));
  int count = 0;
  if (!init || !count_fn) {
    *why = "libcuda.so.1 lacks cuInit or cuDeviceGetCount";
  } else if (int e = init(0); e != 0) {
    *why = strfmt("the NVIDIA driver failed to initialise (CUresult %d)", e);
  } else if (int e2 = count_fn(&count); e2 != 0 || count < 1) {
    *why = e2 != 0 ? strfmt("cuDeviceGetCount failed (CUresult %d)", e2)
                   : std::string("the NVIDIA driver reports no CUDA device");
  } else {
    return true;  // the driver stays loaded: the CUDA runtime uses it next
  }
  dlclose(driver);
  return false;
}

// Where librfm_cuda.so may be: $RFM_CUDA_MODULE, else beside the object holding this code
// (the program or the Python extension), else beside or one level above the running program.
std::vector<std::string> module_candidates() {
  if (const char* env = std::getenv("RFM_CUDA_MODULE"); env && *env) return {env};
  std::vector<std::string> dirs;
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&module), &info) && info.dli_fname)
    dirs.push_back(dirname_of(info.dli_fname));
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) {
    const std::string dir = dirname_of(std::string(exe, size_t(len)));
    dirs.push_back(dir);
    dirs.push_back(dirname_of(dir));
  }
  std::vector<std::string> out;
  for (const std::string& dir : dirs) out.push_back((dir.empty() ? "." : dir) + "/librfm_cuda.so");
  return out;
}

// Loads the module, or answers nullptr with the reason in *why.
const Module* load_module(std::string* why) {
  if (!cuda_compiled()) {
    *why = "this rfm was compiled without the CUDA backend";
    return nullptr;
  }
  if (!driver_has_device(why)) return nullptr;
  std::string tried;
  for (const std::string& path : module_candidates()) {
    if (access(path.c_str(), F_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path;
      continue;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      *why = strfmt("cannot load the CUDA backend %s: %s", path.c_str(), dlerror());
      return nullptr;
    }
    using EntryFn = const Module* (*)(int);
    auto entry = reinterpret_cast<EntryFn>(dlsym(handle, "rfm_cuda_module"));
    const Module* table = entry ? entry(kModuleAbi) : nullptr;
    if (!table) {
      *why = path + " is not the CUDA backend of this rfm build (rebuild it)";
      return nullptr;
    }
    return table;
  }
  *why = "the CUDA backend librfm_cuda.so was not found (looked at " + tried +
         "; set RFM_CUDA_MODULE to its path)";
  return nullptr;
}

}  // namespace

const Module* module(std::string* why) {
  static std::once_flag once;
  static const Module* table = nullptr;
  static std::string reason;
  std::call_once(once, [] { table = load_module(&reason); });
  if (why) *why = reason;
  return table;
}

}  // namespace cuda

bool cuda_available(std::string* why) {
  const cuda::Module* m = cuda::module(why);
  return m && m->available(why);
}

std::vector<DeviceInfo> cuda_devices() {
  const cuda::Module* m = cuda::module();
  return m ? m->devices() : std::vector<DeviceInfo>{};
}

double cuda_dgemm_gflops() {
  const cuda::Module* m = cuda::module();
  return m ? m->dgemm_gflops() : std::numeric_limits<double>::quiet_NaN();
}

Backend backend_from_device(const std::string& device, Precision precision, std::string* notice) {
  if (notice) notice->clear();
  if (device == "cpu") return Backend::cpu;
  if (device == "cuda") return Backend::cuda;
  RFM_CHECK(device == "auto", "unknown --device '%s' (known: auto, cpu, cuda)", device.c_str());
  std::string why;
  if (!cuda_available(&why)) {
    if (notice) *notice = "no usable CUDA device (" + why + "); running on the CPU";
    return Backend::cpu;
  }
  if (precision == Precision::fp32 || precision == Precision::mixed) {
    if (notice)
      *notice = strfmt("the CUDA backend is fp64 only; --precision %s runs on the CPU",
                       to_string(precision));
    return Backend::cpu;
  }
  return Backend::cuda;
}

}  // namespace rfm
