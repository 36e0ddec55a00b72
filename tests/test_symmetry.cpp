// Symmetry analysis (data/groups.cpp, rfm/symmetry.cpp, rfm/heatmap.cpp, `rfm inspect`):
// groups and symmetric splits checked against the definitions of docs/algorithms.md 1.5 and
// 4.1, and every measure of docs/algorithms.md 3.2 and 4 on matrices with known answers (an
// exact R_g, an exact circulant, a random matrix), plus one short end-to-end run of a
// degenerate split.
#include <doctest/doctest.h>
#include <png.h>

#include <unistd.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "rfm/rfm.h"
#include "tests/test_util.h"

using namespace rfm;
using rfm::test::random_matrix;

namespace {

// The dense R_g (2q, 2q) built from the definition R_g e_i = e_image(i), on the coordinates
// where g is defined: the oracle for the index-map code.
MatrixXd dense_R(const DihedralGroup& G, int e) {
  MatrixXd R = MatrixXd::Zero(2 * G.q, 2 * G.q);
  for (int i : G.coords) R(G.image(i, e), i) = 1;
  return R;
}

int label_of(const std::string& task, int u, int v, int p) {
  if (task == "add") return (u + v) % p;
  if (task == "sub") return ((u - v) % p + p) % p;
  if (task == "mul") return u * v % p;
  return u * mod_inverse(v, p) % p;  // div: (a*b, b) -> a
}

std::vector<DihedralGroup> small_groups() {
  return {dihedral_group(Op::add, 7), dihedral_group(Op::sub, 7), dihedral_group(Op::mul, 7),
          dihedral_group(Op::div, 7), dihedral_group(parse_abelian_group("2x3"))};
}

}  // namespace

// --- Groups and splits ----------------------------------------------------------------------

TEST_CASE("abelian product groups: mixed radix, last factor fastest; the group task") {
  const AbelianGroup A = parse_abelian_group("3x7");
  CHECK(A.order() == 21);
  CHECK(A.name() == "3x7");
  CHECK(A.digits(10) == std::vector<int>{1, 3});  // 10 = 1 * 7 + 3
  CHECK(A.index({2, 6}) == 20);
  CHECK(A.add(10, 13) == A.index({(1 + 1) % 3, (3 + 6) % 7}));
  for (int x = 0; x < 21; ++x) CHECK(A.add(x, A.neg(x)) == 0);
  CHECK(parse_abelian_group("2,2,3").order() == 12);
  CHECK_THROWS_AS(parse_abelian_group("3x"), InputError);
  CHECK_THROWS_AS(parse_abelian_group("1x7"), InputError);
  CHECK_THROWS_AS(parse_abelian_group("three"), InputError);
  const Dataset ds = make_group_task(A);
  CHECK(ds.N() == 441);
  CHECK(ds.inputs.d == 42);
  CHECK(ds.labels[10 * 21 + 13] == A.add(10, 13));
  CHECK(ds.inputs.hot(10 * 21 + 13, 1) == 21 + 13);
}

TEST_CASE("Dih(A): every element preserves the labels and permutes the analysed coordinates") {
  for (const DihedralGroup& G : small_groups()) {
    CAPTURE(G.task);
    const int p = G.q;
    for (int e = 0; e < G.elements(); ++e) {
      std::set<int> images;
      for (int i : G.coords) images.insert(G.image(i, e));
      CHECK(images == std::set<int>(G.coords.begin(), G.coords.end()));
      CHECK(G.find(G.name(e)) == e);
      if (G.task == "group") continue;
      for (int u = 0; u < p; ++u)
        for (int v = (G.task == "div"); v < p; ++v) {
          const auto [u2, v2] = G.apply(e, u, v);
          if (u2 < 0) continue;  // div reflections are undefined on u = 0
          CHECK(label_of(G.task, u2, v2, p) == label_of(G.task, u, v, p));
        }
    }
    // The 2n supports tile the analysed grid: the sum of all R_g is all ones there.
    MatrixXd sum = MatrixXd::Zero(2 * p, 2 * p);
    for (int e = 0; e < G.elements(); ++e) sum += dense_R(G, e);
    CHECK(restrict_to_group(sum, G).isOnes());
    const int s = G.reflection(G.identity_param);
    CHECK(G.name(s) == "s");
    CHECK(G.compose(s, s) == 0);
  }
  const DihedralGroup G = dihedral_group(Op::add, 7);
  CHECK(G.apply(G.reflection(2), 1, 5) == std::make_pair(3, 3));  // sr^2 (1,5) = (5-2, 1+2)
  CHECK(G.apply(1, 1, 5) == std::make_pair(2, 4));                // r^1 (1,5) = (2, 4)
  CHECK_THROWS_AS(G.reflection(7), InputError);
  CHECK_THROWS_AS(G.find("t"), InputError);
  CHECK(generated_subgroup(G, {G.find("s")}).size() == 2);
  CHECK(generated_subgroup(G, {G.find("r^1")}).size() == 7);
  CHECK(generated_subgroup(G, {G.find("r^1"), G.find("s")}).size() == 14);
}

TEST_CASE("degenerate splits: test = fixed points of the reflections") {
  const Dataset add = make_modular_task(Op::add, 7);
  const DihedralGroup G = dihedral_group(Op::add, 7);
  const Split s = degenerate_split(add, G, {3});
  REQUIRE(s.test.size() == 7);
  for (int i : s.test) CHECK(add.operands(i, 1) == (add.operands(i, 0) + 3) % 7);  // b = a + k
  CHECK(s.train.size() == 42);
  CHECK(degenerate_split(add, G, {0, 3}).test.size() == 14);
  // sub: b = -a - k; mul: b = a k (residue 0 included: (0, 0)); div: b = (a k)^-1.
  const Dataset sub = make_modular_task(Op::sub, 7);
  const Split ss = degenerate_split(sub, dihedral_group(Op::sub, 7), {2});
  CHECK(ss.test.size() == 7);
  for (int i : ss.test) CHECK((sub.operands(i, 0) + sub.operands(i, 1) + 2) % 7 == 0);
  CHECK(degenerate_split(make_modular_task(Op::mul, 7), dihedral_group(Op::mul, 7), {3})
            .test.size() == 7);
  const Dataset div = make_modular_task(Op::div, 7);
  const Split ds = degenerate_split(div, dihedral_group(Op::div, 7), {3});
  CHECK(ds.test.size() == 6);
  for (int i : ds.test) CHECK(div.operands(i, 0) * div.operands(i, 1) * 3 % 7 == 1);
  CHECK_THROWS_AS(degenerate_split(add, G, {}), InputError);
  // Z_3 x Z_7: 21 reflections with 21 fixed points each.
  const AbelianGroup A = parse_abelian_group("3x7");
  const Dataset gd = make_group_task(A);
  for (int k = 0; k < 21; ++k)
    CHECK(degenerate_split(gd, dihedral_group(A), {k}).test.size() == 21);
}

TEST_CASE("moving points: seeded, sorted, and symmetric pairs keep the split invariant") {
  const Dataset ds = make_modular_task(Op::add, 11);
  const DihedralGroup G = dihedral_group(Op::add, 11);
  const Split base = degenerate_split(ds, G, {0});
  Split a = base, b = base;
  move_train_to_test(a, 3, 5);
  move_train_to_test(b, 3, 5);
  CHECK(a.train == b.train);
  CHECK(a.test.size() == 14);
  CHECK(std::is_sorted(a.test.begin(), a.test.end()));
  move_test_to_train(a, 2, 6);
  CHECK(a.train.size() == 121 - 11 - 3 + 2);
  CHECK_THROWS_AS(move_test_to_train(a, 100, 1), InputError);
  Split c = base;
  const int s = G.reflection(0);
  move_pairs_to_test(c, ds, G, s, 4, 7);
  CHECK(c.test.size() == 11 + 8);
  std::set<int> train(c.train.begin(), c.train.end());
  const std::vector<int> at = pair_lookup(ds, 11);
  for (int i : c.train) {  // still invariant under s
    const auto [u, v] = G.apply(s, ds.operands(i, 0), ds.operands(i, 1));
    CHECK(train.count(at[u * 11 + v]) == 1);
  }
  CHECK_THROWS_AS(move_pairs_to_test(c, ds, G, 1, 1, 0), InputError);  // r^1 is no reflection
}

// --- Group algebra --------------------------------------------------------------------------

TEST_CASE("group coefficients: an exact R_g has alpha_g = 1, all others 0, d_alg = 0") {
  for (const DihedralGroup& G : small_groups()) {
    CAPTURE(G.task);
    for (int e : {0, 1, G.n, G.elements() - 1}) {
      CAPTURE(e);
      const VectorXd alpha = group_coefficients(dense_R(G, e), G);
      VectorXd expect = VectorXd::Zero(G.elements());
      expect(e) = 1;
      CHECK((alpha - expect).norm() < 1e-15);
      CHECK(group_algebra_distance(dense_R(G, e), G) < 1e-15);
    }
    // A combination: the coefficients come back exactly, and M^ rebuilds it.
    const VectorXd c = random_matrix(G.elements(), 1, 4);
    MatrixXd M = MatrixXd::Zero(2 * G.q, 2 * G.q);
    for (int e = 0; e < G.elements(); ++e) M += c(e) * dense_R(G, e);
    CHECK((group_coefficients(M, G) - c).norm() < 1e-12 * c.norm());
    CHECK((group_projection(c, G) - restrict_to_group(M, G)).norm() < 1e-12 * M.norm());
  }
}

TEST_CASE("d_alg of a random matrix is near its expected value sqrt(1 - 1/(2n))") {
  // Projecting an iid Gaussian (2n, 2n) matrix onto the 2n-dimensional group algebra keeps
  // 2n of its (2n)^2 squared-norm degrees of freedom: E ||M^||^2 / ||M||^2 = 1 / (2n).
  const DihedralGroup G = dihedral_group(Op::add, 13);
  const MatrixXd R = random_matrix(26, 26, 9);
  const double expect = std::sqrt(1 - 1.0 / 26);  // 0.9806; sd of the ratio about 0.01
  CHECK(std::abs(group_algebra_distance(R, G) - expect) < 0.02);
  // Scale does not matter, the normalisation sets alpha(r^0) to 1.
  CHECK(group_algebra_distance(5 * R, G) == doctest::Approx(group_algebra_distance(R, G)));
  const MatrixXd S = test::random_spd(26, 3);
  CHECK(group_coefficients(normalize_by_diagonal(S), G)(0) == doctest::Approx(1.0));
  CHECK(normalize_by_diagonal(S).diagonal().isOnes(1e-12));
}

TEST_CASE("commutant distance: 0 for matrices commuting with H, > 0 for a random matrix") {
  const DihedralGroup G = dihedral_group(Op::sub, 7);
  const std::vector<int> H = generated_subgroup(G, {G.find("s")});
  const MatrixXd R = random_matrix(14, 14, 2), Rs = dense_R(G, G.find("s"));
  const MatrixXd avg = 0.5 * (R + Rs.transpose() * R * Rs);  // commutes with R_s
  CHECK(commutant_distance(avg, G, H) < 1e-15);
  CHECK(commutant_distance(R, G, H) > 0.3);
  CHECK(commutant_distance(R, G, {0}) == 0);  // the trivial group
  // Every element of the group algebra of the (abelian) rotations commutes with all rotations.
  const std::vector<int> rot = generated_subgroup(G, {G.find("r^1")});
  MatrixXd C = MatrixXd::Zero(14, 14);
  for (int e : rot) C += (e + 1.0) * dense_R(G, e);
  CHECK(commutant_distance(C, G, rot) < 1e-14);
}

// --- Blocks, circulants and spectra ---------------------------------------------------------

TEST_CASE("group circulant deviation: 0 on exact circulants, as circulant_deviation for Z_q") {
  const AbelianGroup Z9{{9}}, A = parse_abelian_group("3x4");
  const MatrixXd R = random_matrix(9, 9, 3);
  CHECK(group_circulant_deviation(R, Z9, false) == doctest::Approx(circulant_deviation(R, false)));
  CHECK(group_circulant_deviation(R, Z9, true) == doctest::Approx(circulant_deviation(R, true)));
  const VectorXd f = random_matrix(12, 1, 5);
  MatrixXd C(12, 12), H(12, 12);
  for (int r = 0; r < 12; ++r)
    for (int c = 0; c < 12; ++c) {
      C(r, c) = f(A.add(c, A.neg(r)));  // depends on c - r in Z_3 x Z_4
      H(r, c) = f(A.add(c, r));         // depends on c + r
    }
  CHECK(group_circulant_deviation(C, A, false) < 1e-16);
  CHECK(group_circulant_deviation(C, A, true) > 1e-3);
  CHECK(group_circulant_deviation(H, A, true) < 1e-16);
  CHECK(group_circulant_deviation(random_matrix(12, 12, 6), A, false) > 0.02);
}

TEST_CASE("Fourier spectrum: a single-frequency circulant has one dominant frequency") {
  const int q = 11;
  const AbelianGroup Z{{q}};
  MatrixXd C(q, q);
  for (int r = 0; r < q; ++r)
    for (int c = 0; c < q; ++c) C(r, c) = std::cos(2 * M_PI * 3 * (r - c) / q);
  const Spectrum s = fourier_spectrum(C, Z);
  CHECK(s.freq.size() == 6);  // classes {0}, {1, 10}, ..., {5, 6}
  CHECK(s.dc_share < 1e-20);
  REQUIRE(s.dominant.size() == 1);
  CHECK(s.dominant[0] == 3);
  CHECK(s.energy[3] == doctest::Approx(1.0));
  // The constant matrix is all DC; a Hankel cosine too sits at its frequency.
  CHECK(fourier_spectrum(MatrixXd::Ones(q, q), Z).dc_share == doctest::Approx(1.0));
  MatrixXd Hk(q, q);
  for (int r = 0; r < q; ++r)
    for (int c = 0; c < q; ++c) Hk(r, c) = std::sin(2 * M_PI * 4 * (r + c) / q);
  CHECK(fourier_spectrum(Hk, Z).dominant == std::vector<int>{4});
  // Shares sum to 1 for any matrix (Parseval).
  const Spectrum rs = fourier_spectrum(random_matrix(q, q, 1), Z);
  double total = 0;
  for (double e : rs.energy) total += e;
  CHECK(total == doctest::Approx(1.0));
}

TEST_CASE("blocks: slot order for add, discrete-log order for mul, four reports") {
  const DihedralGroup G = dihedral_group(Op::mul, 7);
  const BlockLayout L = block_layout(G);
  CHECK(L.symbols == discrete_log_order(7));
  // A multiplicative circulant in block (b, a) is an ordinary circulant in log order.
  MatrixXd M = MatrixXd::Identity(14, 14);
  const VectorXd f = random_matrix(6, 1, 3);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j) M(7 + L.symbols[i], L.symbols[j]) = f((i - j + 6) % 6);
  CHECK((slot_block(M, L, 1, 0) - task_block(M, 7, Op::mul)).norm() == 0);
  const std::vector<BlockReport> b = block_reports(M, L);
  REQUIRE(b.size() == 4);
  CHECK(b[2].name == "b,a");
  CHECK(b[2].circ_dev < 1e-16);
  double share = 0;
  for (const BlockReport& r : b) share += r.norm_share;
  CHECK(share == doctest::Approx(1.0));
}

// --- Norms, orbit test, heatmap -------------------------------------------------------------

TEST_CASE("feature norms and orbit scores") {
  const Dataset ds = make_modular_task(Op::add, 5);
  const MatrixXd M = random_matrix(10, 10, 8);
  const VectorXd n = feature_norms(M, ds.inputs);
  const MatrixXd X = ds.inputs.dense();
  for (int i = 0; i < ds.N(); ++i)
    CHECK(n(i) == doctest::Approx((M * X.row(i).transpose()).norm()));
  // M = I - R_s vanishes on the fixed points of s (docs/algorithms.md 1.5, the mechanism).
  const DihedralGroup G = dihedral_group(Op::add, 5);
  const Split s = degenerate_split(ds, G, {0});
  const MatrixXd Ms = MatrixXd::Identity(10, 10) - dense_R(G, G.reflection(0));
  CHECK(feature_norms(Ms, ds.inputs.rows(s.test)).norm() < 1e-15);
  const OrbitResult r = orbit_scores({1, 1, 0, 0}, {1, 0, 1, 0});
  CHECK(r.precision == 0.5);
  CHECK(r.recall == 0.5);
  CHECK(std::isnan(orbit_scores({0}, {0}).precision));
  // reflected_test_points on a degenerate split: fixed points reflect onto themselves (test).
  CHECK(reflected_test_points(ds, s, G, G.reflection(0)) == std::vector<char>(5, 0));
  const std::vector<char> refl = reflected_test_points(ds, s, G, G.reflection(1));
  CHECK(std::count(refl.begin(), refl.end(), 1) == 5);
}

TEST_CASE("heatmap PNG: readable back, with the colour scale's ends at the extremes") {
  const std::string path = std::filesystem::temp_directory_path() /
                           ("rfm_test_heatmap_" + std::to_string(getpid()) + ".png");
  MatrixXd A = MatrixXd::Zero(4, 4);
  A(0, 0) = 2;
  A(3, 3) = -2;
  write_heatmap_png(path, A, 0, 2);
  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_file(&img, path.c_str()));
  img.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> px(PNG_IMAGE_SIZE(img));
  REQUIRE(png_image_finish_read(&img, nullptr, px.data(), 0, nullptr));
  const int cell = 128, pad = 8;  // 512 / 4 pixels per entry
  auto at = [&](int x, int y) { return &px[(size_t(y) * img.width + x) * 3]; };
  const unsigned char* red = at(pad + cell / 2, pad + cell / 2);
  const unsigned char* blue = at(pad + 3 * cell + cell / 2, pad + 3 * cell + cell / 2);
  const unsigned char* white = at(pad + cell + cell / 2, pad + cell / 4);
  CHECK(red[0] > 150);
  CHECK(red[2] < 80);
  CHECK(blue[2] > 150);
  CHECK(blue[0] < 80);
  CHECK((white[0] == 255 && white[1] == 255 && white[2] == 255));
  CHECK(img.width > 4 * cell + 2 * pad);  // room for the colour bar
  std::filesystem::remove(path);
  CHECK_THROWS_AS(write_heatmap_png("/nonexistent_dir/x.png", A), InputError);
}

// --- End to end -----------------------------------------------------------------------------

TEST_CASE("rfm grok --split degenerate + rfm inspect: test accuracy 0, M ~ I - R_s") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("rfm_test_symmetry_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  const std::string grok = std::string(RFM_BINARY) +
                           " grok --task add --p 13 --iters 15 --split degenerate --reflections 0"
                           " --track-group --quiet --out " +
                           (dir / "run").string() + " >/dev/null 2>&1";
  REQUIRE(std::system(grok.c_str()) == 0);
  std::ifstream sj(dir / "run" / "summary.json");
  const nlohmann::json summary = nlohmann::json::parse(sj);
  CHECK(summary["final"]["test_acc"].get<double>() == 0.0);
  const std::string inspect = std::string(RFM_BINARY) + " inspect --json " +
                              (dir / "run").string() + " --png " + (dir / "png").string();
  FILE* pipe = popen(inspect.c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  char buf[4096];
  while (size_t got = fread(buf, 1, sizeof buf, pipe)) out.append(buf, got);
  REQUIRE(pclose(pipe) == 0);
  const nlohmann::json j = nlohmann::json::parse(out);
  CHECK(j["elements"][0]["name"] == "r^0");
  CHECK(j["elements"][1]["name"] == "s");
  CHECK(j["elements"][1]["alpha"].get<double>() < -0.9);
  CHECK(std::abs(j["elements"][2]["alpha"].get<double>()) < 0.1);
  CHECK(j["d_alg"].get<double>() < 0.01);
  CHECK(j["held_out_norms"]["test_max"].get<double>() < 1e-3);
  CHECK(std::filesystem::exists(dir / "png" / "M.png"));
  CHECK(std::filesystem::exists(dir / "png" / "block_ba.png"));
  std::filesystem::remove_all(dir);
}
