// libFuzzer target: the CSV reader must turn any text into a matrix or an rfm::InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "data/data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rfm::parse_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
  } catch (const rfm::InputError&) {
  }
  return 0;
}
