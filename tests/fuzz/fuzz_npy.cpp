// libFuzzer target: the .npy parser must turn any byte string into a matrix, an integer vector
// or an rfm::InputError, never a crash, a hang, a leak or undefined behaviour (issue 9).
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    rfm::npy_parse_matrix(bytes, "fuzz.npy");
  } catch (const rfm::InputError&) {
  }
  try {
    rfm::npy_parse_ints(bytes, "fuzz.npy");
  } catch (const rfm::InputError&) {
  }
  return 0;
}
