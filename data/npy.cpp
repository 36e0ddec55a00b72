// .npy / .npz reading and writing: the one place where NumPy's C-order files meet the engine's
// column-major Eigen matrices (data.h, "--- .npy / .npz").
//
// Format (numpy.lib.format, versions 1.0, 2.0 and 3.0): the magic "\x93NUMPY", a major and a
// minor version byte, the header length as a little-endian uint16 (1.0) or uint32 (2.0, 3.0),
// the header, a Python dict literal {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
// padded with spaces and ending in '\n', then the raw data. One parser works on a byte buffer
// plus a name for messages, so .npy files and .npz members get the same checks. Every malformed
// input throws InputError naming the file and the problem; the size promised by the header is
// checked (with overflow guards) against the bytes actually present before anything is
// allocated from it.
//
// Changes from NumPy: only little-endian bool, integer and float32/64 dtypes are read; bytes
// after the data are an error (NumPy ignores them); structured and object arrays are rejected.
// .npz archives are built in memory with libzip and written through write_atomic.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>
#include <string_view>
#include <type_traits>

#include "data/data.h"

// Data are copied to and from the file with memcpy, which needs a little-endian host.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "npy.cpp assumes a little-endian host");

namespace rfm {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kAlign = 64;  // NumPy pads the header so the data start 64-byte aligned
constexpr const char* kSupported = "<f8 <f4 <i8 <i4 <i2 |i1 <u8 <u4 <u2 |u1 |b1";
using ull = unsigned long long;

// "(3, 4)", "(5,)" or "()", as Python prints a shape tuple.
std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t k = 0; k < shape.size(); ++k) {
    if (k > 0) s += ", ";
    s += std::to_string(shape[k]);
  }
  return s + (shape.size() == 1 ? ",)" : ")");
}

// --- Reading a file -------------------------------------------------------------------------

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

// The whole file at `path`. Throws InputError "cannot open PATH: REASON".
std::vector<char> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  RFM_CHECK(fd >= 0, "cannot open %s: %s", path.c_str(), std::strerror(errno));
  FdCloser closer{fd};
  struct stat st {};
  std::vector<char> buf;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) buf.reserve(static_cast<size_t>(st.st_size));
  std::vector<char> chunk(1 << 16);
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    RFM_CHECK(n >= 0, "cannot read %s: %s", path.c_str(), std::strerror(errno));
    if (n == 0) return buf;
    buf.insert(buf.end(), chunk.data(), chunk.data() + n);
  }
}

// --- Dtypes ---------------------------------------------------------------------------------

// A supported dtype: kind 'f', 'i', 'u' or 'b' and the item size in bytes.
struct Dtype {
  char kind = 0;
  int size = 0;
};

// Parses a descr such as "<f8"; throws for big-endian data and for anything not in kSupported.
Dtype parse_dtype(const std::string& descr, const std::string& name) {
  const std::string_view digits = descr.size() >= 3 ? std::string_view(descr).substr(2) : "";
  const bool well_formed = descr.size() >= 3 && descr.size() <= 4 &&
                           std::string_view("<>|=").find(descr[0]) != std::string_view::npos &&
                           std::isdigit(static_cast<unsigned char>(digits[0])) &&
                           std::isdigit(static_cast<unsigned char>(digits.back()));
  Dtype t;
  if (well_formed) t = {descr[1], std::stoi(std::string(digits))};
  const bool pow2 = t.size == 1 || t.size == 2 || t.size == 4 || t.size == 8;
  const bool known = (t.kind == 'f' && (t.size == 4 || t.size == 8)) ||
                     ((t.kind == 'i' || t.kind == 'u') && pow2) || (t.kind == 'b' && t.size == 1);
  RFM_CHECK(!(known && descr[0] == '>' && t.size > 1),
            "%s: big-endian data (dtype '%s') is not supported; convert it with "
            "a.astype(a.dtype.newbyteorder('<'))",
            name.c_str(), descr.c_str());
  RFM_CHECK(known, "%s: unsupported dtype '%s' (supported: %s)", name.c_str(), descr.c_str(),
            kSupported);
  return t;
}

// --- Header dict ----------------------------------------------------------------------------

// A recursive-descent parser for the header's Python dict literal. Keys may come in any order,
// with or without a trailing comma, in single or double quotes, with any whitespace.
class HeaderParser {
 public:
  HeaderParser(std::string text, const std::string& name) : s_(std::move(text)), name_(name) {}
  void parse(NpyArray& a);

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void skip_ws();
  bool accept(char c);  // skips whitespace, then consumes c if it comes next
  void expect(char c);
  std::string string_literal();
  bool boolean();
  int64_t dimension();
  std::vector<int64_t> shape();
  void value(const std::string& key, NpyArray& a);

  std::string s_;
  const std::string& name_;
  size_t pos_ = 0;
  std::set<std::string> seen_;
};

void HeaderParser::fail(const std::string& what) const {
  std::string shown;  // the header, printable and at most 120 characters
  for (size_t k = 0; k < s_.size() && k < 120; ++k) {
    const unsigned char c = s_[k];
    shown += std::isprint(c) ? static_cast<char>(c) : '?';
  }
  throw InputError(strfmt("%s: malformed .npy header: %s at offset %zu in \"%s%s\"", name_.c_str(),
                          what.c_str(), pos_, shown.c_str(), s_.size() > 120 ? "..." : ""));
}

void HeaderParser::skip_ws() {
  while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
}

bool HeaderParser::accept(char c) {
  skip_ws();
  if (pos_ >= s_.size() || s_[pos_] != c) return false;
  ++pos_;
  return true;
}

void HeaderParser::expect(char c) {
  if (!accept(c)) fail(std::string("expected '") + c + "'");
}

std::string HeaderParser::string_literal() {
  skip_ws();
  const char quote = pos_ < s_.size() ? s_[pos_] : '\0';
  if (quote != '\'' && quote != '"') fail("expected a quoted string");
  const size_t end = s_.find(quote, pos_ + 1);
  if (end == std::string::npos) fail("unterminated string");
  std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
  pos_ = end + 1;
  return out;
}

bool HeaderParser::boolean() {
  skip_ws();
  for (const bool b : {true, false}) {
    const std::string word = b ? "True" : "False";
    if (s_.compare(pos_, word.size(), word) == 0) {
      pos_ += word.size();
      return b;
    }
  }
  fail("expected True or False");
}

int64_t HeaderParser::dimension() {
  skip_ws();
  if (pos_ < s_.size() && s_[pos_] == '-') fail("negative dimension");
  if (pos_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
    fail("expected a dimension");
  }
  int64_t d = 0;
  for (; pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_])); ++pos_) {
    const int digit = s_[pos_] - '0';
    if (d > (std::numeric_limits<int64_t>::max() - digit) / 10) fail("dimension too large");
    d = 10 * d + digit;
  }
  if (pos_ < s_.size() && s_[pos_] == 'L') ++pos_;  // Python 2 long, e.g. (3L, 4L)
  return d;
}

std::vector<int64_t> HeaderParser::shape() {
  std::vector<int64_t> dims;
  expect('(');
  while (!accept(')')) {
    dims.push_back(dimension());
    if (!accept(',')) {
      expect(')');
      break;
    }
  }
  return dims;
}

void HeaderParser::value(const std::string& key, NpyArray& a) {
  if (key == "descr") {
    skip_ws();
    RFM_CHECK(pos_ >= s_.size() || s_[pos_] != '[',
              "%s: unsupported dtype: structured arrays are not supported", name_.c_str());
    a.descr = string_literal();
  } else if (key == "fortran_order") {
    a.fortran_order = boolean();
  } else if (key == "shape") {
    a.shape = shape();
  } else {
    fail("unexpected key '" + key + "'");
  }
}

void HeaderParser::parse(NpyArray& a) {
  expect('{');
  while (!accept('}')) {
    const std::string key = string_literal();
    if (!seen_.insert(key).second) fail("repeated key '" + key + "'");
    expect(':');
    value(key, a);
    if (!accept(',')) {
      expect('}');
      break;
    }
  }
  skip_ws();
  if (pos_ != s_.size()) fail("unexpected text after the dict");
  for (const char* key : {"descr", "fortran_order", "shape"}) {
    if (!seen_.count(key)) fail(std::string("missing key '") + key + "'");
  }
}

// --- Parsing a buffer -----------------------------------------------------------------------

// Checks the magic and version; returns the offset of the header dict and sets *len to its size.
size_t check_preamble(const std::vector<char>& buf, const std::string& name, size_t* len) {
  const char* n = name.c_str();
  RFM_CHECK(!buf.empty(), "%s: empty file (expected a .npy file)", n);
  const bool magic = buf.size() >= kMagicLen && std::memcmp(buf.data(), kMagic, kMagicLen) == 0;
  const bool zip = buf.size() >= 4 && std::memcmp(buf.data(), "PK\x03\x04", 4) == 0;
  RFM_CHECK(magic, "%s: not a .npy file (bad magic%s)", n,
            zip ? "; it looks like a zip archive, e.g. an .npz" : "");
  RFM_CHECK(buf.size() >= kMagicLen + 2, "%s: truncated header (no version bytes)", n);
  const int major = static_cast<unsigned char>(buf[6]), minor = static_cast<unsigned char>(buf[7]);
  RFM_CHECK(major >= 1 && major <= 3 && minor == 0,
            "%s: unsupported .npy format version %d.%d (supported: 1.0, 2.0, 3.0)", n, major,
            minor);
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t start = kMagicLen + 2 + len_bytes;
  RFM_CHECK(buf.size() >= start, "%s: truncated header (no header length)", n);
  uint64_t header_len = 0;
  for (size_t k = 0; k < len_bytes; ++k) {
    header_len |= static_cast<uint64_t>(static_cast<unsigned char>(buf[8 + k])) << (8 * k);
  }
  RFM_CHECK(header_len <= buf.size() - start,
            "%s: truncated header: expected %llu bytes, found %llu", n,
            static_cast<ull>(header_len), static_cast<ull>(buf.size() - start));
  *len = header_len;
  return start;
}

// The number of data bytes a header promises, with overflow checks on the shape's product.
uint64_t data_bytes(const std::vector<int64_t>& shape, int item_size, const std::string& name) {
  for (const int64_t d : shape) {
    if (d == 0) return 0;
  }
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / item_size;
  uint64_t count = 1;
  for (const int64_t d : shape) {
    RFM_CHECK(count <= limit / static_cast<uint64_t>(d),
              "%s: shape %s is too large (its size overflows 64 bits; corrupt header?)",
              name.c_str(), shape_string(shape).c_str());
    count *= static_cast<uint64_t>(d);
  }
  return count * item_size;
}

// Parses the .npy bytes in `buf`; `name` says where they came from in messages. The data bytes
// move into the result without a copy.
NpyArray parse_npy(std::vector<char> buf, const std::string& name) {
  size_t header_len = 0;
  const size_t start = check_preamble(buf, name, &header_len);
  NpyArray a;
  HeaderParser(std::string(buf.data() + start, header_len), name).parse(a);
  const Dtype t = parse_dtype(a.descr, name);
  const uint64_t expected = data_bytes(a.shape, t.size, name);
  const uint64_t found = buf.size() - start - header_len;
  RFM_CHECK(found >= expected, "%s: truncated data: expected %llu bytes, found %llu", name.c_str(),
            static_cast<ull>(expected), static_cast<ull>(found));
  RFM_CHECK(found == expected, "%s: %llu unexpected bytes after the data (shape %s, dtype '%s')",
            name.c_str(), static_cast<ull>(found - expected), shape_string(a.shape).c_str(),
            a.descr.c_str());
  buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(start + header_len));
  a.bytes = std::move(buf);
  return a;
}

// --- Decoding values ------------------------------------------------------------------------

template <typename T>
T load_at(const char* p, int64_t k) {
  T v;
  std::memcpy(&v, p + k * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}
template <>
bool load_at<bool>(const char* p, int64_t k) {
  return p[k] != 0;
}

template <typename T, typename F>
void each_as(const NpyArray& a, F& f) {
  const int64_t n = a.size();
  RFM_ASSERT(static_cast<uint64_t>(a.bytes.size()) == static_cast<uint64_t>(n) * sizeof(T));
  for (int64_t k = 0; k < n; ++k) f(k, load_at<T>(a.bytes.data(), k));
}

// Calls f(k, value) for each element k in file order; value has the dtype's C++ type.
template <typename F>
void for_each_value(const NpyArray& a, const Dtype& t, F&& f) {
  const bool i = t.kind == 'i', u = t.kind == 'u';
  if (t.kind == 'f' && t.size == 8) return each_as<double>(a, f);
  if (t.kind == 'f' && t.size == 4) return each_as<float>(a, f);
  if (t.kind == 'b') return each_as<bool>(a, f);
  if (i && t.size == 8) return each_as<int64_t>(a, f);
  if (i && t.size == 4) return each_as<int32_t>(a, f);
  if (i && t.size == 2) return each_as<int16_t>(a, f);
  if (i && t.size == 1) return each_as<int8_t>(a, f);
  if (u && t.size == 8) return each_as<uint64_t>(a, f);
  if (u && t.size == 4) return each_as<uint32_t>(a, f);
  if (u && t.size == 2) return each_as<uint16_t>(a, f);
  if (u && t.size == 1) return each_as<uint8_t>(a, f);
  RFM_ASSERT(false && "parse_dtype admitted an unknown dtype");
}

// v as an int64, or an InputError when it is a fraction, non-finite or out of range.
template <typename T>
int64_t to_int64(T v, int64_t k, const std::string& name) {
  if constexpr (std::is_floating_point_v<T>) {
    const double x = v;
    const bool whole = std::isfinite(x) && std::trunc(x) == x && x >= -0x1p63 && x < 0x1p63;
    RFM_CHECK(whole, "%s: value %.17g at index %lld is not an integer", name.c_str(), x,
              static_cast<long long>(k));
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    RFM_CHECK(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
              "%s: value %llu at index %lld does not fit in int64", name.c_str(),
              static_cast<ull>(v), static_cast<long long>(k));
  }
  return static_cast<int64_t>(v);
}

std::vector<int64_t> to_ints(const NpyArray& a, const std::string& name) {
  const Dtype t = parse_dtype(a.descr, name);
  const auto& s = a.shape;
  const bool vector = s.size() == 1 || (s.size() == 2 && (s[0] == 1 || s[1] == 1));
  RFM_CHECK(vector, "%s: array of shape %s, expected a 1-D integer array", name.c_str(),
            shape_string(s).c_str());
  std::vector<int64_t> out(static_cast<size_t>(a.size()));
  // A vector's elements come in the same order whether the file is C or Fortran order.
  for_each_value(a, t, [&](int64_t k, auto v) { out[k] = to_int64(v, k, name); });
  return out;
}

// --- Writing --------------------------------------------------------------------------------

// The version 1.0 header of a C-order array, padded as NumPy does so that its total length
// (magic, version and length included) is a multiple of 64 bytes.
std::string npy_header(const char* descr, const std::vector<int64_t>& shape) {
  std::string dict = std::string("{'descr': '") + descr +
                     "', 'fortran_order': False, 'shape': " + shape_string(shape) + ", }";
  const size_t unpadded = kMagicLen + 4 + dict.size() + 1;  // + 1 for the final '\n'
  dict.append((kAlign - unpadded % kAlign) % kAlign, ' ');
  dict += '\n';
  RFM_ASSERT(dict.size() <= 0xffff);
  std::string out(kMagic, kMagicLen);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(dict.size() & 0xff);
  out += static_cast<char>(dict.size() >> 8);
  return out + dict;
}

void append_raw(std::string& out, const void* data, size_t bytes) {
  if (bytes > 0) out.append(static_cast<const char*>(data), bytes);
}

// --- .npz (zip) -----------------------------------------------------------------------------

struct ZipDiscard {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct ZipSourceFree {
  void operator()(zip_source_t* s) const { zip_source_free(s); }
};
struct ZipFileClose {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};
using ZipPtr = std::unique_ptr<zip_t, ZipDiscard>;
using ZipSourcePtr = std::unique_ptr<zip_source_t, ZipSourceFree>;
using ZipFilePtr = std::unique_ptr<zip_file_t, ZipFileClose>;

[[noreturn]] void zip_fail(const std::string& path, const char* what, const char* why) {
  throw BackendError(strfmt("libzip: %s for %s failed: %s", what, path.c_str(), why));
}

void check_member_names(const std::vector<std::pair<std::string, std::string>>& members,
                        const std::string& path) {
  RFM_CHECK(!members.empty(), "npz_save %s: no members to write", path.c_str());
  std::set<std::string> names;
  for (const auto& m : members) {
    RFM_CHECK(!m.first.empty(), "npz_save %s: empty member name", path.c_str());
    RFM_CHECK(names.insert(m.first).second, "npz_save %s: member '%s' given twice", path.c_str(),
              m.first.c_str());
  }
}

// Adds bytes as an uncompressed member "name.npy" (numpy.savez stores, it does not deflate).
void add_member(zip_t* za, const std::string& name, const std::string& bytes,
                const std::string& path) {
  zip_source_t* src = zip_source_buffer(za, bytes.data(), bytes.size(), 0);
  if (!src) zip_fail(path, "zip_source_buffer", zip_strerror(za));
  const zip_int64_t idx = zip_file_add(za, (name + ".npy").c_str(), src, 0);
  if (idx < 0) {
    zip_source_free(src);
    zip_fail(path, "zip_file_add", zip_strerror(za));
  }
  if (zip_set_file_compression(za, static_cast<zip_uint64_t>(idx), ZIP_CM_STORE, 0) != 0) {
    zip_fail(path, "zip_set_file_compression", zip_strerror(za));
  }
}

// All bytes of a (closed) in-memory zip source.
std::string source_bytes(zip_source_t* src, const std::string& path) {
  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_open(src) != 0 || zip_source_stat(src, &st) != 0 || !(st.valid & ZIP_STAT_SIZE)) {
    zip_fail(path, "reading the archive buffer", zip_error_strerror(zip_source_error(src)));
  }
  std::string out(st.size, '\0');
  const zip_int64_t n = zip_source_read(src, out.data(), st.size);
  zip_source_close(src);
  if (n < 0 || static_cast<zip_uint64_t>(n) != st.size) {
    zip_fail(path, "reading the archive buffer", zip_error_strerror(zip_source_error(src)));
  }
  return out;
}

// The bytes of a zip archive holding the members, built in memory by libzip.
std::string zip_bytes(const std::vector<std::pair<std::string, std::string>>& members,
                      const std::string& path) {
  zip_error_t err;
  zip_error_init(&err);
  ZipSourcePtr buffer(zip_source_buffer_create(nullptr, 0, 0, &err));
  if (!buffer) zip_fail(path, "zip_source_buffer_create", zip_error_strerror(&err));
  ZipPtr za(zip_open_from_source(buffer.get(), ZIP_TRUNCATE, &err));
  if (!za) zip_fail(path, "zip_open_from_source", zip_error_strerror(&err));
  zip_source_keep(buffer.get());  // the archive now holds one reference, `buffer` the other
  for (const auto& m : members) add_member(za.get(), m.first, m.second, path);
  if (zip_close(za.get()) != 0) zip_fail(path, "zip_close", zip_strerror(za.get()));
  za.release();  // zip_close freed it
  return source_bytes(buffer.get(), path);
}

ZipPtr open_zip(const std::string& path) {
  int code = 0;
  ZipPtr za(zip_open(path.c_str(), ZIP_RDONLY, &code));
  if (za) return za;
  if (code == ZIP_ER_NOENT) {
    throw InputError(strfmt("cannot open %s: %s", path.c_str(), std::strerror(ENOENT)));
  }
  if (code == ZIP_ER_NOZIP) {
    throw InputError(strfmt("%s: not an .npz file (not a zip archive)", path.c_str()));
  }
  zip_error_t err;
  zip_error_init_with_code(&err, code);
  const std::string why = zip_error_strerror(&err);
  zip_error_fini(&err);
  throw InputError(strfmt("cannot open %s: %s", path.c_str(), why.c_str()));
}

// "a.npy, b.npy" (at most 10 names), for messages.
std::string member_list(zip_t* za) {
  const zip_int64_t n = zip_get_num_entries(za, 0);
  std::string out;
  for (zip_int64_t k = 0; k < n && k < 10; ++k) {
    const char* entry = zip_get_name(za, static_cast<zip_uint64_t>(k), 0);
    out += (k > 0 ? ", " : "") + std::string(entry ? entry : "?");
  }
  if (n > 10) out += ", ...";
  return n > 0 ? out : "none";
}

// The uncompressed bytes of one member; libzip inflates and checks the CRC.
std::vector<char> read_member(zip_t* za, const std::string& path, const std::string& entry) {
  const zip_int64_t idx = zip_name_locate(za, entry.c_str(), 0);
  RFM_CHECK(idx >= 0, "%s: no member '%s' (members: %s)", path.c_str(), entry.c_str(),
            member_list(za).c_str());
  ZipFilePtr f(zip_fopen_index(za, static_cast<zip_uint64_t>(idx), 0));
  RFM_CHECK(f != nullptr, "%s: cannot open member '%s': %s", path.c_str(), entry.c_str(),
            zip_strerror(za));
  std::vector<char> buf, chunk(1 << 16);
  for (;;) {
    const zip_int64_t n = zip_fread(f.get(), chunk.data(), chunk.size());
    RFM_CHECK(n >= 0, "%s: cannot read member '%s': %s", path.c_str(), entry.c_str(),
              zip_file_strerror(f.get()));
    if (n == 0) return buf;
    buf.insert(buf.end(), chunk.data(), chunk.data() + n);
  }
}

}  // namespace

// --- Public functions -----------------------------------------------------------------------

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (const int64_t d : shape) n *= d;
  return n;
}

void check_finite(const Eigen::Ref<const MatrixXd>& M, bool one_d, const std::string& name) {
  if (M.allFinite()) return;
  for (Eigen::Index i = 0; i < M.rows(); ++i) {
    for (Eigen::Index j = 0; j < M.cols(); ++j) {
      if (std::isfinite(M(i, j))) continue;
      const std::string at = one_d ? strfmt("index %lld", static_cast<long long>(i))
                                   : strfmt("(row %lld, col %lld)", static_cast<long long>(i),
                                            static_cast<long long>(j));
      const std::string value =
          std::isnan(M(i, j)) ? "NaN" : strfmt("%g", M(i, j));  // as NumPy's users write it
      RFM_CHECK(false, "%s: non-finite value %s at %s", name.c_str(), value.c_str(), at.c_str());
    }
  }
}

MatrixXd npy_matrix(const NpyArray& a, const std::string& name) {
  const Dtype t = parse_dtype(a.descr, name);
  const size_t ndim = a.shape.size();
  RFM_CHECK(ndim == 1 || ndim == 2, "%s: %zu-D array of shape %s, expected 1-D or 2-D",
            name.c_str(), ndim, shape_string(a.shape).c_str());
  const int64_t rows = a.shape[0], cols = ndim == 2 ? a.shape[1] : 1;
  MatrixXd M(rows, cols);
  // The file's element order is row-major for a C-order 2-D array, else M's own column-major.
  const bool row_major = ndim == 2 && !a.fortran_order;
  for_each_value(a, t, [&](int64_t k, auto v) {
    if (row_major) {
      M(k / cols, k % cols) = static_cast<double>(v);
    } else {
      M.data()[k] = static_cast<double>(v);
    }
  });
  check_finite(M, ndim == 1, name);
  return M;
}

NpyArray npy_read(const std::string& path) {
  return parse_npy(read_file(path), path);
}

MatrixXd npy_load(const std::string& path) {
  return npy_matrix(npy_read(path), path);
}

std::vector<int64_t> npy_load_ints(const std::string& path) {
  return to_ints(npy_read(path), path);
}

MatrixXd npy_parse_matrix(const std::string& bytes, const std::string& name) {
  return npy_matrix(parse_npy(std::vector<char>(bytes.begin(), bytes.end()), name), name);
}

std::vector<int64_t> npy_parse_ints(const std::string& bytes, const std::string& name) {
  return to_ints(parse_npy(std::vector<char>(bytes.begin(), bytes.end()), name), name);
}

std::string npy_bytes(const MatrixXd& M) {
  // .npy is C order: copy M (column-major) into row-major layout; the bytes are then M's rows.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> R = M;
  std::string out = npy_header("<f8", {R.rows(), R.cols()});
  append_raw(out, R.data(), static_cast<size_t>(R.size()) * sizeof(double));
  return out;
}

std::string npy_bytes_ints(const std::vector<int64_t>& v) {
  std::string out = npy_header("<i8", {static_cast<int64_t>(v.size())});
  append_raw(out, v.data(), v.size() * sizeof(int64_t));
  return out;
}

std::string npy_bytes_int_matrix(const IndexMatrix& A) {
  std::vector<int64_t> v;
  v.reserve(size_t(A.size()));
  for (Eigen::Index i = 0; i < A.rows(); ++i)
    for (Eigen::Index j = 0; j < A.cols(); ++j) v.push_back(A(i, j));
  std::string out = npy_header("<i8", {A.rows(), A.cols()});
  append_raw(out, v.data(), v.size() * sizeof(int64_t));
  return out;
}

void save_split(const std::string& path, const Dataset& ds, const Split& split) {
  auto ints = [](const std::vector<int>& v) { return std::vector<int64_t>(v.begin(), v.end()); };
  npz_save(path, {{"train", npy_bytes_ints(ints(split.train))},
                  {"test", npy_bytes_ints(ints(split.test))},
                  {"operands", npy_bytes_int_matrix(ds.operands)},
                  {"labels", npy_bytes_ints(ints(ds.labels))}});
}

void npy_save(const std::string& path, const MatrixXd& M) {
  write_text_atomic(path, npy_bytes(M));
}

void npy_save_ints(const std::string& path, const std::vector<int64_t>& v) {
  write_text_atomic(path, npy_bytes_ints(v));
}

void npz_save(const std::string& path,
              const std::vector<std::pair<std::string, std::string>>& members) {
  check_member_names(members, path);
  write_text_atomic(path, zip_bytes(members, path));
}

std::vector<int64_t> npz_load_ints(const std::string& path, const std::string& member) {
  ZipPtr za = open_zip(path);
  const std::string entry = member + ".npy";
  const std::string name = path + " (member " + entry + ")";
  return to_ints(parse_npy(read_member(za.get(), path, entry), name), name);
}

}  // namespace rfm
