// data/: tasks, splits and number theory mod p.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "data/data.h"

using namespace rfm;

TEST_CASE("modular tasks enumerate the pairs of docs/algorithms.md 1.1") {
  const int p = 7;
  for (Op op : {Op::add, Op::sub, Op::mul, Op::div}) {
    CAPTURE(to_string(op));
    Dataset ds = make_modular_task(op, p);
    CHECK(ds.N() == (op == Op::div ? p * (p - 1) : p * p));
    CHECK(ds.inputs.d == 2 * p);
    CHECK(ds.c == p);
    for (int i = 0; i < ds.N(); ++i) {
      const int x = ds.operands(i, 0), b = ds.operands(i, 1), y = ds.labels[i];
      CHECK(ds.inputs.hot(i, 0) == x);
      CHECK(ds.inputs.hot(i, 1) == p + b);
      switch (op) {
        case Op::add: CHECK(y == (x + b) % p); break;
        case Op::sub: CHECK((y + b) % p == x); break;
        case Op::mul: CHECK(y == x * b % p); break;
        case Op::div: CHECK(y * b % p == x); break;  // (a*b, b) -> a
      }
    }
  }
  Dataset div = make_modular_task(Op::div, 5);
  std::set<std::pair<int, int>> inputs;
  for (int i = 0; i < div.N(); ++i) inputs.insert({div.operands(i, 0), div.operands(i, 1)});
  CHECK(inputs.size() == size_t(div.N()));  // every (a*b, b) appears once
}

TEST_CASE("bad task parameters are input errors") {
  CHECK_THROWS_AS(make_modular_task(Op::add, 12), InputError);
  CHECK_THROWS_AS(make_modular_task(Op::add, 1), InputError);
  CHECK_THROWS_AS(op_from_string("pow"), InputError);
  CHECK_THROWS_AS(random_split(10, 0.0, 0), InputError);
  CHECK_THROWS_AS(random_split(10, 1.5, 0), InputError);
  CHECK_THROWS_AS(random_split(10, 0.05, 0), InputError);
}

TEST_CASE("random split: sizes, disjoint, complete, reproducible from the seed") {
  Split a = random_split(100, 0.37, 42), b = random_split(100, 0.37, 42);
  Split c = random_split(100, 0.37, 43);
  CHECK(a.train.size() == 37);
  CHECK(a.test.size() == 63);
  CHECK(a.train == b.train);
  CHECK(a.train != c.train);
  std::vector<int> all = a.train;
  all.insert(all.end(), a.test.begin(), a.test.end());
  std::sort(all.begin(), all.end());
  for (int i = 0; i < 100; ++i) CHECK(all[i] == i);
  CHECK(std::is_sorted(a.train.begin(), a.train.end()));
}

TEST_CASE("primitive roots and the discrete-log order") {
  CHECK(primitive_root(7) == 3);
  CHECK(primitive_root(11) == 2);
  CHECK(primitive_root(61) == 2);
  CHECK(primitive_root(97) == 5);
  CHECK(primitive_root(113) == 3);
  for (int p : {3, 5, 7, 13, 29, 61, 97, 151}) {
    CAPTURE(p);
    const int g = primitive_root(p);
    std::vector<int> order = discrete_log_order(p);
    REQUIRE(order.size() == size_t(p - 1));
    CHECK(order[0] == 1);
    for (int i = 0; i + 1 < p - 1; ++i) CHECK(order[i + 1] == order[i] * g % p);
    std::vector<int> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (int i = 0; i < p - 1; ++i) CHECK(sorted[i] == i + 1);  // a permutation of 1..p-1
  }
  CHECK(mod_inverse(3, 7) == 5);
  CHECK(is_prime(97));
  CHECK_FALSE(is_prime(91));
}
