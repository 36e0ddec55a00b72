// Invariance groups beyond Dih(A) (data/groups.cpp, rfm/symmetry.cpp, `rfm inspect`): a group
// given by its Cayley table acting by (a g, g^-1 b), the affine slot maps that keep a
// polynomial's labels, blocks keyed by quotients and products over a Cayley table, and the
// group-algebra distance where the R_g overlap. Each is checked against its definition on the
// data set (labels kept pair by pair) or on matrices built to have a known answer.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "rfm/rfm.h"
#include "tests/test_util.h"

using namespace rfm;
using rfm::test::random_matrix;
using rfm::test::run_cli;

namespace {

// Every element maps every example to an example with the same label.
void check_keeps_labels(const Dataset& ds, const DihedralGroup& G) {
  const std::vector<int> at = pair_lookup(ds, G.q);
  for (int e = 0; e < G.elements(); ++e)
    for (int i = 0; i < ds.N(); ++i) {
      const auto [u, v] = G.apply(e, ds.operands(i, 0), ds.operands(i, 1));
      REQUIRE(u >= 0);
      const int j = at[size_t(u) * G.q + v];
      REQUIRE(j >= 0);
      CHECK(ds.labels[j] == ds.labels[i]);
    }
}

// The image columns as a set: two groups of maps compared without their element order.
std::set<std::vector<int>> maps_of(const DihedralGroup& G) {
  std::set<std::vector<int>> out;
  for (int e = 0; e < G.elements(); ++e) {
    std::vector<int> col(G.image.rows());
    for (int i = 0; i < int(G.image.rows()); ++i) col[i] = G.image(i, e);
    out.insert(col);
  }
  return out;
}

}  // namespace

TEST_CASE("a Cayley-table group acts by (a g, g^-1 b): S3 keeps a * b, swaps only if abelian") {
  const FiniteGroup S3 = symmetric_group(3);
  const DihedralGroup G = dihedral_group(S3);
  CHECK(G.elements() == 6);
  CHECK(G.n == 6);  // no slot swap keeps a * b in a non-abelian group
  check_keeps_labels(make_group_task(S3), G);
  for (int g = 0; g < 6; ++g)  // composition agrees with applying h, then g
    for (int h = 0; h < 6; ++h) {
      const int gh = G.compose(g, h);
      for (int a = 0; a < 6; ++a) {
        const auto [u1, v1] = G.apply(h, a, 0);
        CHECK(G.apply(gh, a, 0) == G.apply(g, u1, v1));
      }
    }
  CHECK(generated_subgroup(G, {1, 2}).size() == 6);
  CHECK_THROWS_WITH_AS(G.reflection(0), doctest::Contains("swaps no slots"), InputError);

  const FiniteGroup Z6 = parse_group("perm:1,2,3,4,5,0");  // cyclic, as a table
  const DihedralGroup H = dihedral_group(Z6);
  CHECK(H.elements() == 12);
  CHECK(H.n == 6);
  check_keeps_labels(make_group_task(Z6), H);
}

TEST_CASE("affine invariance groups: Dih(Z_p) for add, the square's group for x^2+y^2") {
  const Dataset add = make_task("x+y", 7);
  const DihedralGroup A = affine_invariance_group(add);
  CHECK(A.elements() == 14);
  CHECK(maps_of(A) == maps_of(dihedral_group(Op::add, 7)));  // found = built from the table

  const Dataset sq = make_task("x^2+y^2", 7);
  const DihedralGroup Q = affine_invariance_group(sq);
  check_keeps_labels(sq, Q);
  CHECK(Q.elements() == 8);  // a -> +-a, b -> +-b, and the swap
  CHECK(Q.n == 4);
  CHECK(Q.find("(-a, b)") < Q.n);
  CHECK(Q.find("(b, a)") >= Q.n);
  CHECK(generated_subgroup(Q, {Q.find("(-a, b)"), Q.find("(b, a)")}).size() == 8);

  const DihedralGroup S = affine_invariance_group(make_task("x^3+x*y", 7));
  check_keeps_labels(make_task("x^3+x*y", 7), S);
  CHECK(S.n >= 1);  // the identity at least
}

TEST_CASE("d_alg is the distance to span{R_g} where the R_g overlap, and never above 1") {
  const DihedralGroup Q = affine_invariance_group(make_task("x^2+y^2", 11));
  VectorXd beta = random_matrix(Q.elements(), 1, 3).col(0);
  const MatrixXd inside = group_projection(beta, Q);  // an exact member of the algebra
  CHECK(group_algebra_distance(inside, Q) < 1e-10);
  const MatrixXd M = random_matrix(22, 22, 4);
  const double d = group_algebra_distance(M, Q);
  CHECK(d > 0.5);
  CHECK(d <= 1.0);
  // Dih(A): the R_g are orthogonal, and the distance is the one of alpha (the old formula).
  const DihedralGroup D = dihedral_group(Op::add, 11);
  const MatrixXd R = group_projection(group_coefficients(M, D), D);
  CHECK(group_algebra_distance(M, D) == doctest::Approx((M - R).norm() / M.norm()));
}

TEST_CASE("blocks over a Cayley table: a function of r^-1 c has deviation 0 and its spectrum") {
  const FiniteGroup S3 = symmetric_group(3);
  const VectorXd f = random_matrix(6, 1, 5).col(0);
  MatrixXd B(6, 6), P(6, 6);
  for (int c = 0; c < 6; ++c)
    for (int r = 0; r < 6; ++r) {
      B(r, c) = f(S3.mul(S3.inverse(r), c));
      P(r, c) = f(S3.mul(r, c));
    }
  BlockLayout L;
  L.q = 6;
  L.table = S3;
  for (int u = 0; u < 6; ++u) L.symbols.push_back(u);
  MatrixXd M = MatrixXd::Zero(12, 12);
  M.topLeftCorner(6, 6) = B;
  M.bottomLeftCorner(6, 6) = P;
  M.topRightCorner(6, 6) = random_matrix(6, 6, 6);
  const std::vector<BlockReport> b = block_reports(M, L);
  CHECK(b[0].circ_dev < 1e-14);
  CHECK(b[0].key == "r^-1 c");
  CHECK(b[2].circ_dev_rev < 1e-14);  // block b,a: a function of r c
  CHECK(b[2].key == "r c");
  CHECK(b[1].circ_dev > 0.02);  // random
  CHECK(b[1].circ_dev_rev > 0.02);
  // The spectrum is f itself: the largest |f - mean| leads.
  const double m = f.mean();
  Eigen::Index top;
  (f.array() - m).abs().maxCoeff(&top);
  CHECK(b[0].spectrum.dominant.front() == int(top));
  double total = 0;
  for (double e : b[0].spectrum.energy) total += e;
  CHECK(total == doctest::Approx(1.0));
}

TEST_CASE("rfm inspect on a non-abelian group and a polynomial run") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "rfm_test_group_tables";
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string s3 = (dir / "s3").string(), poly = (dir / "poly").string();
  REQUIRE(run_cli("grok --task group --group S3 --frac 0.8 --iters 3 --out " + s3).status == 0);
  REQUIRE(run_cli("grok --task x^2+y^2 --p 7 --frac 0.8 --iters 3 --out " + poly).status == 0);
  for (const std::string& run : {s3, poly}) {
    const auto r = run_cli("inspect --json " + run);
    REQUIRE(r.status == 0);
    const nlohmann::json j = nlohmann::json::parse(r.output);
    CHECK(j["invariance_group"]["elements"].get<int>() == (run == s3 ? 6 : 8));
    CHECK(j["blocks"].size() == 4);
    CHECK(j["d_comm"]["value"].is_number());
    CHECK(run_cli("inspect --png " + run + "/png " + run).status == 0);
    CHECK(fs::exists(run + "/png/M.png"));
  }
  const auto text = run_cli("inspect " + s3);
  CHECK(text.output.find("key") != std::string::npos);
  const auto orbit = run_cli("inspect --orbit 0 " + s3);
  CHECK(orbit.status != 0);
  CHECK(orbit.output.find("swaps no slots") != std::string::npos);
  CHECK(run_cli("inspect --subgroup \"(b, a)\" " + poly).status == 0);
  fs::remove_all(dir);
}
