// Finite groups as tasks (issue 8; data.h FiniteGroup): S_n, D_n, permutation groups and Cayley
// tables from files, checked against the group axioms and their defining relations; invalid
// tables are rejected; `rfm grok --task group --group S3` runs end to end and refuses the
// symmetric splits, which are defined for abelian tasks only.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "data/data.h"
#include "tests/test_util.h"

using namespace rfm;
namespace fs = std::filesystem;

namespace {

// Closure, identity, inverses and associativity, checked directly on the table.
void check_group_axioms(const FiniteGroup& G) {
  INFO("group ", G.name);
  const int N = G.order();
  for (int a = 0; a < N; ++a)
    for (int b = 0; b < N; ++b) REQUIRE((G.mul(a, b) >= 0 && G.mul(a, b) < N));
  for (int x = 0; x < N; ++x) {
    REQUIRE(G.mul(G.identity, x) == x);
    REQUIRE(G.mul(x, G.identity) == x);
    const int y = G.inverse(x);
    REQUIRE(G.mul(x, y) == G.identity);
    REQUIRE(G.mul(y, x) == G.identity);
  }
  for (int a = 0; a < N; ++a)
    for (int b = 0; b < N; ++b)
      for (int c = 0; c < N; ++c) REQUIRE(G.mul(G.mul(a, b), c) == G.mul(a, G.mul(b, c)));
  // Latin square: every row and column is a permutation (follows from the axioms).
  for (int a = 0; a < N; ++a) {
    std::vector<int> row(N, 0), col(N, 0);
    for (int b = 0; b < N; ++b) ++row[G.mul(a, b)], ++col[G.mul(b, a)];
    REQUIRE(std::count(row.begin(), row.end(), 1) == N);
    REQUIRE(std::count(col.begin(), col.end(), 1) == N);
  }
}

fs::path temp_dir() {
  const fs::path dir = fs::temp_directory_path() / ("rfm_test_groups_" + std::to_string(getpid()));
  fs::create_directories(dir);
  return dir;
}

std::string write_csv(const std::string& name, const std::string& text) {
  const fs::path path = temp_dir() / name;
  std::ofstream(path) << text;
  return path.string();
}

std::string table_csv(const IndexMatrix& T) {
  std::string s;
  for (Eigen::Index a = 0; a < T.rows(); ++a)
    for (Eigen::Index b = 0; b < T.cols(); ++b)
      s += std::to_string(T(a, b)) + (b + 1 < T.cols() ? "," : "\n");
  return s;
}

std::string error_of(const std::string& spec) {
  try {
    parse_group(spec);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

std::string grok_cli(const std::string& args) {
  return rfm::test::run_cli("grok " + args).output;
}

}  // namespace

TEST_CASE("S3 has 6 elements, is not commutative, and S_n in lexicographic order") {
  const FiniteGroup S3 = parse_group("S3");
  CHECK(S3.order() == 6);
  CHECK_FALSE(S3.is_abelian());
  CHECK(S3.identity == 0);
  // Lexicographic order: 0 = 012, 1 = 021, 2 = 102, 3 = 120, 4 = 201, 5 = 210; (a*b)(i) = a(b(i)).
  // 021 * 102: i=0 -> b=1 -> a=2; i=1 -> 0 -> 0; i=2 -> 2 -> 1: 201 = 4. Reversed: 120 = 3.
  CHECK(S3.mul(1, 2) == 4);
  CHECK(S3.mul(2, 1) == 3);
  CHECK(parse_group("S4").order() == 24);
  CHECK(parse_group("S5").order() == 120);
  CHECK(parse_group("S2").is_abelian());
  for (const char* spec : {"S3", "S4", "D1", "D2", "D5", "D6", "3x4", "perm:1,0,2,3;1,2,3,0"})
    check_group_axioms(parse_group(spec));
  CHECK(parse_group("perm:1,0,2,3;1,2,3,0").order() == 24);  // a transposition and a 4-cycle
  CHECK(parse_group("perm:1,2,0").order() == 3);
}

TEST_CASE("D_n: r^n = e, s^2 = e, s r s = r^-1, order 2n") {
  for (int n : {3, 5, 8}) {
    const FiniteGroup D = dihedral_cayley_group(n);
    INFO("n ", n);
    REQUIRE(D.order() == 2 * n);
    CHECK_FALSE(D.is_abelian());
    const int e = 0, r = 1, s = n;
    CHECK(D.identity == e);
    int x = e;
    for (int k = 1; k <= n; ++k) {
      x = D.mul(x, r);
      CHECK(x == (k % n));  // r^k at index k
      if (k < n) CHECK(x != e);
    }
    CHECK(x == e);
    CHECK(D.mul(s, s) == e);
    CHECK(D.mul(D.mul(s, r), s) == D.inverse(r));
    CHECK(D.inverse(r) == n - 1);
    for (int k = 0; k < n; ++k) {
      int rk = e;
      for (int j = 0; j < k; ++j) rk = D.mul(rk, r);
      CHECK(D.mul(s, rk) == n + k);  // s r^k at index n + k
    }
  }
}

TEST_CASE("group data sets: all pairs, one-hot like the abelian task; tables read from .csv") {
  const FiniteGroup S3 = parse_group("S3");
  const Dataset ds = make_group_task(S3);
  REQUIRE(ds.N() == 36);
  CHECK(ds.task == "group");
  CHECK(ds.p == 6);
  CHECK(ds.c == 6);
  CHECK(ds.inputs.d == 12);
  for (int i = 0; i < ds.N(); ++i) {
    const int a = ds.operands(i, 0), b = ds.operands(i, 1);
    CHECK(ds.inputs.hot(i, 0) == a);
    CHECK(ds.inputs.hot(i, 1) == 6 + b);
    CHECK(ds.labels[i] == S3.mul(a, b));
  }
  CHECK_FALSE(is_commutative(ds));
  // The abelian product as a table gives the same data set as make_group_task(AbelianGroup).
  const Dataset ab = make_group_task(parse_abelian_group("3x4"));
  CHECK(make_group_task(parse_group("3x4")).labels == ab.labels);

  // A Cayley table written to .csv reads back as the same group and the same data set; so does
  // a relabelled copy with a header line whose identity is not index 0.
  const std::string path = write_csv("s3.csv", table_csv(S3.table));
  const FiniteGroup T = parse_group("table:" + path);
  CHECK(T.name == "table:" + path);
  CHECK(T.table == S3.table);
  const Dataset dt = make_group_task(T);
  CHECK(dt.labels == ds.labels);
  CHECK(dt.inputs.hot == ds.inputs.hot);
  IndexMatrix swapped = S3.table;  // swap the names of elements 0 and 5
  auto relabel = [](int x) { return x == 0 ? 5 : x == 5 ? 0 : x; };
  for (int a = 0; a < 6; ++a)
    for (int b = 0; b < 6; ++b) swapped(relabel(a), relabel(b)) = relabel(S3.table(a, b));
  const FiniteGroup R =
      load_cayley_table(write_csv("s3r.csv", "g0,g1,g2,g3,g4,g5\n" + table_csv(swapped)));
  CHECK(R.identity == 5);
  check_group_axioms(R);
  fs::remove_all(temp_dir());
}

TEST_CASE("invalid groups and tables are rejected with one line naming the failure") {
  // Z_3 with one entry out of range, no identity (a - b in Z_3), not associative (a Latin
  // square with identity 0 that is no group), no inverse, wrong shape, non-integer.
  const std::string z3 = "0,1,2\n1,2,0\n2,0,1\n";
  CHECK_NOTHROW(parse_group("table:" + write_csv("z3.csv", z3)));
  CHECK(error_of("table:" + write_csv("open.csv", "0,1,2\n1,2,3\n2,0,1\n")).find("not closed") !=
        std::string::npos);
  CHECK(error_of("table:" + write_csv("noid.csv", "0,2,1\n1,0,2\n2,1,0\n")).find("no identity") !=
        std::string::npos);
  const std::string latin5 = "0,1,2,3,4\n1,0,3,4,2\n2,4,0,1,3\n3,2,4,0,1\n4,3,1,2,0\n";
  CHECK(error_of("table:" + write_csv("nonassoc.csv", latin5)).find("not associative") !=
        std::string::npos);
  CHECK(error_of("table:" + write_csv("noinv.csv", "0,1\n1,1\n")).find("no inverse") !=
        std::string::npos);
  CHECK(error_of("table:" + write_csv("shape.csv", "0,1,2\n1,2,0\n")).find("square") !=
        std::string::npos);
  CHECK(error_of("table:" + write_csv("frac.csv", "0,1\n1,0.5\n")).find("not closed") !=
        std::string::npos);
  CHECK_THROWS_AS(parse_group("table:/nonexistent/table.csv"), InputError);
  for (const char* spec :
       {"S1", "S7", "D0", "Q8", "S", "perm:", "perm:1,1,0", "perm:1,0;1,2,0", "x3"})
    CHECK_THROWS_AS(parse_group(spec), InputError);
  IndexMatrix empty(0, 0);
  CHECK_THROWS_AS(cayley_group(empty, "empty"), InputError);
  fs::remove_all(temp_dir());
}

TEST_CASE("rfm grok --task group --group S3 runs; symmetric splits are refused") {
  const fs::path dir = temp_dir();
  std::string r =
      grok_cli("--task group --group S3 --iters 2 --quiet --out " + (dir / "s3").string());
  CHECK_MESSAGE(r.find("completed after 2 iterations") != std::string::npos, r);
  CHECK(fs::exists(dir / "s3" / "metrics.csv"));
  r = grok_cli("--task group --group D4 --split degenerate --out " + (dir / "bad").string());
  CHECK_MESSAGE(r.find("defined for abelian tasks only") != std::string::npos, r);
  r = grok_cli("--task group --group S3 --track-group --out " + (dir / "bad").string());
  CHECK_MESSAGE(r.find("defined for abelian tasks only") != std::string::npos, r);
  r = grok_cli("--task group --group S3 --augment commutative --out " + (dir / "bad").string());
  CHECK_MESSAGE(r.find("not commutative") != std::string::npos, r);
  r = grok_cli("--task group --group Q8 --out " + (dir / "bad").string());
  CHECK_MESSAGE(r.find("expected an abelian product") != std::string::npos, r);
  fs::remove_all(dir);
}
