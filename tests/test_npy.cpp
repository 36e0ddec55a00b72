// Tests for data/npy.cpp: .npy/.npz round trips, fixtures written by NumPy
// (scripts/make_refs.py, see tests/data/README.md) and malformed files, each of which must give
// an InputError whose message names the file and the problem. Malformed files are made here,
// in a scratch directory under the system temp directory.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "data/data.h"

namespace rfm {
namespace {

namespace fs = std::filesystem;
using ull = unsigned long long;

std::string fixture(const std::string& name) {
  return std::string(RFM_TEST_DATA) + "/" + name;
}

// A directory private to this test process, removed at exit.
struct ScratchDir {
  fs::path dir = fs::temp_directory_path() / ("rfm_test_npy_" + std::to_string(::getpid()));
  ScratchDir() {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string scratch(const std::string& name) {
  static ScratchDir s;
  return (s.dir / name).string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// The bytes of a .npy file with the header dict `dict` (plus '\n', unpadded) and data `data`.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  const std::string header = dict + "\n";
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  const int len_bytes = major == 1 ? 2 : 4;
  for (int k = 0; k < len_bytes; ++k) out += static_cast<char>((header.size() >> (8 * k)) & 0xff);
  return out + header + data;
}

std::string dict_of(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

// The message of the InputError that f throws; fails the check when it throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  FAIL_CHECK("no InputError thrown");
  return "";
}

void check_words(const std::string& message, const std::vector<std::string>& words) {
  for (const auto& w : words) {
    CHECK_MESSAGE(message.find(w) != std::string::npos, "'", w, "' missing from: ", message);
  }
}

// Writes `bytes` to a scratch file and checks that npy_load rejects it with a message holding
// the file's path and each of `words`.
void check_rejected(const std::string& file, const std::string& bytes,
                    const std::vector<std::string>& words) {
  const std::string path = scratch(file);
  write_bytes(path, bytes);
  const std::string message = error_of([&] { npy_load(path); });
  check_words(message, words);
  check_words(message, {path});
}

bool same_bits(const MatrixXd& A, const MatrixXd& B) {
  return A.rows() == B.rows() && A.cols() == B.cols() &&
         (A.size() == 0 ||
          std::memcmp(A.data(), B.data(), static_cast<size_t>(A.size()) * sizeof(double)) == 0);
}

// --- Round trips ----------------------------------------------------------------------------

TEST_CASE("npy: save then load keeps the shape and every bit of the values") {
  std::mt19937_64 gen(7);
  std::normal_distribution<double> normal(0.0, 1000.0);
  for (const auto& shape : std::vector<std::pair<int, int>>{{1, 1}, {3, 5}, {7, 1}, {0, 3}}) {
    const int r = shape.first, c = shape.second;
    INFO("shape (", r, ", ", c, ")");
    MatrixXd M(r, c);
    for (Eigen::Index k = 0; k < M.size(); ++k) M.data()[k] = normal(gen);
    if (r == 3) {  // awkward values must survive bit for bit too
      M(0, 0) = -0.0;
      M(1, 1) = std::numeric_limits<double>::denorm_min();
      M(2, 2) = std::numeric_limits<double>::max();
      M(2, 4) = std::numeric_limits<double>::lowest();
    }
    const std::string path = scratch("round_trip.npy");
    npy_save(path, M);
    CHECK(same_bits(npy_load(path), M));
  }
}

TEST_CASE("npy: written header is NumPy's: v1.0, '<f8', C order, padded to 64 bytes") {
  MatrixXd M(2, 3);
  M << 1, 2, 3, 4, 5, 6;
  const std::string b = npy_bytes(M);
  REQUIRE(b.size() > 10);
  CHECK(b.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  const size_t header_len = static_cast<unsigned char>(b[8]) | static_cast<unsigned char>(b[9])
                                                                   << 8;
  const size_t data_start = 10 + header_len;
  CHECK(data_start % 64 == 0);
  CHECK(b[data_start - 1] == '\n');
  const std::string header = b.substr(10, header_len);
  CHECK(header.rfind("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 0) == 0);
  REQUIRE(b.size() == data_start + 6 * sizeof(double));
  double data[6];
  std::memcpy(data, b.data() + data_start, sizeof data);
  for (int k = 0; k < 6; ++k) CHECK(data[k] == k + 1);  // C order: the rows one after another

  const std::string ints = npy_bytes_ints({5, -1});
  CHECK(ints.find("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }") == 10);
  CHECK(ints.size() % 64 == 16);
}

TEST_CASE("npy: integer vectors round trip exactly, extremes and empty included") {
  const std::vector<std::vector<int64_t>> cases = {
      {std::numeric_limits<int64_t>::min(), -1, 0, 1, std::numeric_limits<int64_t>::max()},
      {42},
      {}};
  for (const auto& v : cases) {
    INFO("size ", v.size());
    const std::string path = scratch("ints.npy");
    npy_save_ints(path, v);
    CHECK(npy_load_ints(path) == v);
    const NpyArray a = npy_read(path);
    CHECK(a.descr == "<i8");
    CHECK(a.shape == std::vector<int64_t>{static_cast<int64_t>(v.size())});
  }
}

// --- NumPy fixtures -------------------------------------------------------------------------

TEST_CASE("npy: reads NumPy's files of every supported dtype, C order to column-major") {
  const double signed_values[2][3] = {{0, 1, -2}, {3, -4, 5}};
  const double unsigned_values[2][3] = {{0, 1, 2}, {3, 4, 5}};
  const double bool_values[2][3] = {{1, 0, 1}, {0, 0, 1}};
  for (const std::string tag : {"f8", "f4", "i8", "i4", "i2", "i1", "u8", "u4", "u2", "u1", "b1"}) {
    INFO("npy_", tag, ".npy");
    const MatrixXd M = npy_load(fixture("npy_" + tag + ".npy"));
    REQUIRE(M.rows() == 2);
    REQUIRE(M.cols() == 3);
    const auto& expected = tag[0] == 'b'   ? bool_values
                           : tag[0] == 'u' ? unsigned_values
                                           : signed_values;
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 3; ++j) CHECK(M(i, j) == expected[i][j]);
    }
  }
  CHECK(npy_read(fixture("npy_b1.npy")).descr == "|b1");
  CHECK(npy_read(fixture("npy_i1.npy")).descr == "|i1");
}

TEST_CASE("npy: integer extremes of every integer dtype are read exactly") {
  struct Case {
    const char* tag;
    int64_t lo, hi;
  };
  const std::vector<Case> cases = {
      {"i8", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()},
      {"i4", std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()},
      {"i2", -32768, 32767},
      {"i1", -128, 127},
      {"u4", 0, 4294967295LL},
      {"u2", 0, 65535},
      {"u1", 0, 255}};
  for (const Case& c : cases) {
    INFO("npy_ext_", c.tag, ".npy");
    CHECK(npy_load_ints(fixture(std::string("npy_ext_") + c.tag + ".npy")) ==
          std::vector<int64_t>{c.lo, c.hi});
  }
  // uint64's maximum does not fit in int64.
  const std::string path = fixture("npy_ext_u8.npy");
  check_words(error_of([&] { npy_load_ints(path); }),
              {path, "18446744073709551615", "index 1", "does not fit in int64"});
}

TEST_CASE("npy: Fortran order and format versions 2.0 and 3.0 give the C-order matrix") {
  const MatrixXd C = npy_load(fixture("npy_rand_c.npy"));
  REQUIRE(C.rows() == 3);
  REQUIRE(C.cols() == 4);
  // Values printed by scripts/make_refs.py (Python repr, so these literals are exact).
  CHECK(C(0, 0) == 0.6479062041731867);
  CHECK(C(1, 2) == 1.333583812903236);
  CHECK(C(2, 3) == -0.22031750392712676);
  CHECK(npy_read(fixture("npy_rand_fortran.npy")).fortran_order);
  for (const char* name : {"npy_rand_fortran.npy", "npy_rand_v2.npy", "npy_rand_v3.npy"}) {
    INFO(name);
    CHECK(same_bits(npy_load(fixture(name)), C));
  }
}

TEST_CASE("npy: a 1-D array of length n becomes an (n, 1) matrix") {
  const MatrixXd M = npy_load(fixture("npy_1d.npy"));
  REQUIRE(M.rows() == 5);
  REQUIRE(M.cols() == 1);
  for (int i = 0; i < 5; ++i) CHECK(M(i, 0) == 1.5 * i - 2.0);
  const NpyArray a = npy_read(fixture("npy_1d.npy"));
  CHECK(a.shape == std::vector<int64_t>{5});
  CHECK(a.size() == 5);
  CHECK(a.bytes.size() == 5 * sizeof(double));
}

TEST_CASE("npy_load_ints: whole floats, bools and (n,1)/(1,n) accepted; fractions rejected") {
  const std::string path = scratch("ints_from_floats.npy");
  MatrixXd col(3, 1);
  col << 0, 3, -7;
  npy_save(path, col);
  CHECK(npy_load_ints(path) == std::vector<int64_t>{0, 3, -7});
  npy_save(path, col.transpose());
  CHECK(npy_load_ints(path) == std::vector<int64_t>{0, 3, -7});

  col(1, 0) = 2.5;
  npy_save(path, col);
  check_words(error_of([&] { npy_load_ints(path); }), {path, "2.5", "index 1", "not an integer"});
  col(1, 0) = std::nan("");
  npy_save(path, col);
  check_words(error_of([&] { npy_load_ints(path); }), {path, "index 1", "not an integer"});
  npy_save(path, MatrixXd::Zero(2, 2));
  check_words(error_of([&] { npy_load_ints(path); }), {path, "(2, 2)", "expected a 1-D"});

  write_bytes(path, npy_file(dict_of("|b1", "(4,)"), std::string("\0\1\2\1", 4)));
  CHECK(npy_load_ints(path) == std::vector<int64_t>{0, 1, 1, 1});
}

TEST_CASE("npy: the header dict is parsed whatever its key order, quotes and spacing") {
  const std::string data = raw(std::vector<double>{1, 2, 3, 4});
  const std::vector<std::string> dicts = {
      "{'shape': (2, 2), 'fortran_order': False, 'descr': '<f8'}",
      "{\"descr\":\"<f8\",\"fortran_order\":False,\"shape\":(2,2)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }          ",
      "{ 'fortran_order' : False , 'shape' : ( 2 , 2 , ) , 'descr' : '=f8' , }",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2L, 2L)}"};
  MatrixXd expected(2, 2);
  expected << 1, 2, 3, 4;
  for (const auto& dict : dicts) {
    INFO(dict);
    const std::string path = scratch("dict.npy");
    write_bytes(path, npy_file(dict, data));
    CHECK(same_bits(npy_load(path), expected));
  }
  // '<u1' and '|u1' are the same dtype.
  const std::string path = scratch("u1.npy");
  write_bytes(path, npy_file(dict_of("<u1", "(2,)"), "\x07\x09"));
  CHECK(npy_load_ints(path) == std::vector<int64_t>{7, 9});
  // A 0-D array is a valid .npy file but not a matrix.
  write_bytes(path, npy_file(dict_of("<f8", "()"), raw(std::vector<double>{1.0})));
  const NpyArray a = npy_read(path);
  CHECK(a.shape.empty());
  CHECK(a.size() == 1);
  check_words(error_of([&] { npy_load(path); }), {path, "0-D array", "expected 1-D or 2-D"});
}

// --- .npz -----------------------------------------------------------------------------------

TEST_CASE("npz: an archive we write is read back member by member") {
  const std::string path = scratch("split.npz");
  const std::vector<int64_t> train = {0, 2, 4, 5, std::numeric_limits<int64_t>::max()}, test = {1};
  for (int pass = 0; pass < 2; ++pass) {  // the second pass replaces the file
    npz_save(path, {{"train", npy_bytes_ints(train)}, {"test", npy_bytes_ints(test)}});
    CHECK(npz_load_ints(path, "train") == train);
    CHECK(npz_load_ints(path, "test") == test);
  }
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    CHECK_MESSAGE(entry.path().string().find(".tmp") == std::string::npos, entry.path());
  }
  check_words(error_of([&] { npz_load_ints(path, "val"); }),
              {path, "no member 'val.npy'", "train.npy, test.npy"});
}

TEST_CASE("npz: reads a deflated archive written by Python") {
  const std::string path = fixture("npy_split.npz");
  CHECK(npz_load_ints(path, "train") == std::vector<int64_t>{0, 2, 4, 5});
  CHECK(npz_load_ints(path, "test") == std::vector<int64_t>{1, 3});
}

TEST_CASE("npz: malformed archives and arguments give InputError") {
  const std::string missing = scratch("missing.npz");
  check_words(error_of([&] { npz_load_ints(missing, "train"); }),
              {"cannot open " + missing, "No such file or directory"});
  const std::string text = scratch("text.npz");
  write_bytes(text, "this is not a zip archive at all, just some text");
  check_words(error_of([&] { npz_load_ints(text, "train"); }), {text, "not a zip archive"});
  const std::string bad = scratch("bad_member.npz");
  npz_save(bad, {{"train", "garbage"}});
  check_words(error_of([&] { npz_load_ints(bad, "train"); }),
              {bad, "(member train.npy)", "bad magic"});
  npz_save(bad, {{"train", npy_bytes(MatrixXd::Zero(2, 2))}});
  check_words(error_of([&] { npz_load_ints(bad, "train"); }), {"(member train.npy)", "1-D"});
  check_words(error_of([&] { npz_save(bad, {{"a", "x"}, {"a", "y"}}); }), {bad, "'a' given twice"});
  check_words(error_of([&] { npz_save(bad, {}); }), {bad, "no members"});
}

// --- Malformed .npy files -------------------------------------------------------------------

TEST_CASE("npy: malformed files give InputError naming the file and the problem") {
  const std::string f8x4 = raw(std::vector<double>{1, 2, 3, 4});
  const std::string good = npy_file(dict_of("<f8", "(2, 2)"), f8x4);
  SUBCASE("missing file") {
    const std::string path = scratch("does_not_exist.npy");
    check_words(error_of([&] { npy_load(path); }),
                {"cannot open " + path + ": No such file or directory"});
  }
  SUBCASE("a directory") {
    const std::string path = scratch("");
    check_words(error_of([&] { npy_load(path); }), {path, "Is a directory"});
  }
  SUBCASE("empty file") {
    check_rejected("empty.npy", "", {"empty file"});
  }
  SUBCASE("bad magic") {
    std::string b = good;
    b[1] = 'X';
    check_rejected("magic.npy", b, {"not a .npy file (bad magic)"});
    check_rejected("magic_short.npy", "\x93NUM", {"bad magic"});
    check_rejected("magic_text.npy", "x,y\n1,2\n", {"bad magic"});
  }
  SUBCASE("unsupported version") {
    std::string b = good;
    b[6] = 4;
    check_rejected("version.npy", b, {"unsupported .npy format version 4.0"});
  }
  SUBCASE("truncated header") {
    check_rejected("header_cut.npy", good.substr(0, 30), {"truncated header"});
    check_rejected("preamble_cut.npy", good.substr(0, 9), {"truncated header"});
    std::string b = good;
    b[8] = '\xe8';  // header length 1000 + 256 * b[9]
    b[9] = '\x03';
    check_rejected("header_len.npy", b, {"truncated header: expected 1000 bytes"});
  }
  SUBCASE("truncated data") {
    check_rejected("data_cut.npy", npy_file(dict_of("<f8", "(100,)"), std::string(400, '\0')),
                   {"truncated data: expected 800 bytes, found 400"});
    // A huge shape is checked against the file before anything is allocated.
    check_rejected("huge.npy", npy_file(dict_of("|u1", "(1000000000000,)"), ""),
                   {"truncated data: expected 1000000000000 bytes, found 0"});
  }
  SUBCASE("bytes after the data") {
    check_rejected("trailing.npy", good + "xyz", {"3 unexpected bytes after the data"});
  }
  SUBCASE("unsupported dtype") {
    check_rejected("c16.npy", npy_file(dict_of("<c16", "(2,)"), std::string(32, '\0')),
                   {"unsupported dtype '<c16'", "supported: <f8"});
    check_rejected("object.npy", npy_file(dict_of("|O", "(2,)"), std::string(16, '\0')),
                   {"unsupported dtype '|O'"});
    check_rejected("f2.npy", npy_file(dict_of("<f2", "(2,)"), std::string(4, '\0')),
                   {"unsupported dtype '<f2'"});
    check_rejected("struct.npy",
                   npy_file("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (1,)}",
                            std::string(8, '\0')),
                   {"structured"});
  }
  SUBCASE("big-endian") {
    check_rejected("be.npy", npy_file(dict_of(">f8", "(2, 2)"), f8x4),
                   {"big-endian", "'>f8'", "not supported"});
    check_rejected("be_i4.npy", npy_file(dict_of(">i4", "(2,)"), std::string(8, '\0')),
                   {"big-endian"});
  }
  SUBCASE("3-D array") {
    check_rejected("3d.npy", npy_file(dict_of("<f8", "(1, 2, 2)"), f8x4),
                   {"3-D array", "expected 1-D or 2-D"});
  }
  SUBCASE("NaN and Inf values") {
    const std::string path = scratch("nan.npy");
    MatrixXd M = MatrixXd::Zero(3, 4);
    M(1, 2) = std::nan("");
    M(2, 0) = INFINITY;  // later in row-major order, so not the one reported
    npy_save(path, M);
    check_words(error_of([&] { npy_load(path); }),
                {path, "non-finite value NaN at (row 1, col 2)"});
    check_rejected("inf.npy",
                   npy_file(dict_of("<f4", "(4,)"), raw(std::vector<float>{0, 1, 2, -INFINITY})),
                   {"non-finite value -inf at index 3"});
  }
  SUBCASE("shape product overflow") {
    check_rejected("overflow.npy",
                   npy_file(dict_of("<f8", "(4294967296, 4294967296, 4294967296)"), f8x4),
                   {"too large", "overflows"});
    check_rejected("overflow2.npy", npy_file(dict_of("<f8", "(9223372036854775807, 2)"), f8x4),
                   {"too large"});
    check_rejected("overflow_dim.npy", npy_file(dict_of("<f8", "(99999999999999999999,)"), f8x4),
                   {"dimension too large"});
  }
  SUBCASE("malformed header dict") {
    check_rejected("negative.npy", npy_file(dict_of("<f8", "(-1,)"), f8x4), {"negative dimension"});
    check_rejected("no_shape.npy", npy_file("{'descr': '<f8', 'fortran_order': False}", f8x4),
                   {"missing key 'shape'"});
    check_rejected("no_comma.npy",
                   npy_file("{'descr': '<f8' 'fortran_order': False, 'shape': (4,)}", f8x4),
                   {"malformed .npy header", "expected '}'"});
    check_rejected(
        "extra_key.npy",
        npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (4,), 'x': 1}", f8x4),
        {"unexpected key 'x'"});
    check_rejected(
        "repeated.npy",
        npy_file("{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", f8x4),
        {"repeated key 'descr'"});
    check_rejected("bool.npy",
                   npy_file("{'descr': '<f8', 'fortran_order': Fals, 'shape': (4,)}", f8x4),
                   {"malformed .npy header"});
  }
}

TEST_CASE("npy: every truncation and random corruption of a valid file is caught, never a crash") {
  MatrixXd M(3, 2);
  M << 1, 2, 3, 4, 5, 6;
  const std::string good = npy_bytes(M);
  const std::string path = scratch("fuzz.npy");
  for (size_t len = 0; len < good.size(); ++len) {
    write_bytes(path, good.substr(0, len));
    CHECK_THROWS_AS(npy_load(path), InputError);
  }
  // Overwrite bytes at random (seeded): each file either loads or throws InputError. Files
  // damaged only in the data still load, so some must.
  std::mt19937_64 gen(11);
  std::uniform_int_distribution<size_t> pos(0, good.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  int loaded = 0;
  for (int trial = 0; trial < 500; ++trial) {
    std::string b = good;
    for (int k = 0; k < 3; ++k) b[pos(gen)] = static_cast<char>(byte(gen));
    write_bytes(path, b);
    try {
      npy_load(path);
      ++loaded;
    } catch (const InputError&) {
    }
  }
  CHECK(loaded > 0);
}

}  // namespace
}  // namespace rfm
