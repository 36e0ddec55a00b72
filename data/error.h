// Errors of the engine.
//
// Three kinds: bad input or configuration throws rfm::InputError through RFM_CHECK with a
// message that names the value; a failing library or device call throws rfm::BackendError;
// a broken invariant is a bug and aborts through RFM_ASSERT. main() catches rfm::Error and
// prints one "rfm: error: ..." line.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace rfm {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct InputError : Error {
  using Error::Error;
};
struct BackendError : Error {
  using Error::Error;
};

// printf-style formatting into a std::string.
template <typename... Args>
std::string strfmt(const char* fmt, Args... args) {
  int len = std::snprintf(nullptr, 0, fmt, args...);
  std::string out(len > 0 ? len : 0, '\0');
  std::snprintf(out.data(), out.size() + 1, fmt, args...);
  return out;
}
inline std::string strfmt(const char* fmt) { return fmt; }

}  // namespace rfm

// Bad input: throws rfm::InputError with the formatted message.
#define RFM_CHECK(cond, ...) \
  do {                       \
    if (!(cond)) throw ::rfm::InputError(::rfm::strfmt(__VA_ARGS__)); \
  } while (0)

// Broken invariant: a bug in the engine, never the user's fault.
#define RFM_ASSERT(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "rfm: internal error: %s failed at %s:%d (this is a bug)\n", \
                   #cond, __FILE__, __LINE__);                                             \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
