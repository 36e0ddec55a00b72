// The tasks of issue 8 beyond the four binary operations (docs/algorithms.md 1.2, 1.4, 6):
// multitask with a task-selector slot and its paired split (Mallinar et al. App. G), the
// three-operand composition and the system of equations (Park et al. 2024, project
// definitions), the --task dispatcher, and commutative augmentation of a split.
#include <algorithm>
#include <map>
#include <utility>

#include "data/data.h"

namespace rfm {

namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t k = s.find(','); k != std::string::npos; start = k + 1, k = s.find(',', start))
    out.push_back(s.substr(start, k - start));
  out.push_back(s.substr(start));
  return out;
}

int apply_op(Op op, int a, int b, int p) {
  switch (op) {
    case Op::add:
      return (a + b) % p;
    case Op::sub:
      return ((a - b) % p + p) % p;
    case Op::mul:
      return static_cast<int>(int64_t(a) * b % p);
    case Op::div:
      break;
  }
  RFM_ASSERT(false);
  return 0;
}

Op compose_op(const std::string& name, const std::string& spec) {
  RFM_CHECK(name == "add" || name == "sub" || name == "mul",
            "--task %s: composition operations are add, sub or mul, not '%s'", spec.c_str(),
            name.c_str());
  return op_from_string(name);
}

}  // namespace

Dataset make_system_task(int p) {
  RFM_CHECK(p >= 3 && p <= 100000 && is_prime(p),
            "--p %d must be an odd prime for the system task ((a+b, a-b) determines a)", p);
  return make_pair_task("system", p, 0, [p](int a, int b) {
    return PairExample{(a + b) % p, ((a - b) % p + p) % p, a};  // (a+b, a-b) -> a
  });
}

Dataset make_binary_task(const std::string& name, int p) {
  if (is_op_name(name)) return make_modular_task(op_from_string(name), p);
  if (name == "system") return make_system_task(p);
  try {
    return make_polynomial_task(name, p);
  } catch (const InputError& e) {
    if (std::string(e.what()).rfind("malformed polynomial", 0) != 0) throw;  // a bad --p
    throw InputError(
        strfmt("unknown task '%s': not add, sub, mul, div, system, "
               "compose:OP1,OP2, group, a comma list of tasks, nor a polynomial in "
               "x and y (%s)",
               name.c_str(), e.what()));
  }
}

Dataset make_multitask(const std::vector<std::string>& names, int p) {
  RFM_CHECK(names.size() >= 2, "a multitask needs at least two tasks (got %zu)", names.size());
  std::vector<Dataset> parts;
  int N = 0;
  std::string joined;
  for (const std::string& name : names) {
    RFM_CHECK(!name.empty(), "multitask '%s' has an empty task name", joined.c_str());
    parts.push_back(make_binary_task(name, p));
    N += parts.back().N();
    joined += (joined.empty() ? "" : ",") + name;
  }
  const int T = static_cast<int>(names.size());
  Dataset ds;
  ds.task = joined;
  ds.p = ds.c = p;
  ds.inputs = Inputs::from_hot(IndexMatrix(N, 3), 2 * p + T);
  ds.operands.resize(N, 2);
  ds.labels.resize(N);
  int i = 0;
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < parts[t].N(); ++k, ++i) {
      ds.inputs.hot(i, 0) = parts[t].inputs.hot(k, 0);
      ds.inputs.hot(i, 1) = parts[t].inputs.hot(k, 1);
      ds.inputs.hot(i, 2) = 2 * p + t;  // the task selector
      ds.operands.row(i) = parts[t].operands.row(k);
      ds.labels[i] = parts[t].labels[k];
    }
  return ds;
}

Dataset make_compose_task(Op op1, Op op2, int p) {
  RFM_CHECK(p >= 2 && p <= 1000 && is_prime(p),
            "--p %d must be a prime <= 1000 for a composition task (p^3 examples)", p);
  const int N = p * p * p;
  Dataset ds;
  ds.task = strfmt("compose:%s,%s", to_string(op1), to_string(op2));
  ds.p = ds.c = p;
  ds.inputs = Inputs::from_hot(IndexMatrix(N, 3), 3 * p);
  ds.operands.resize(N, 3);
  ds.labels.resize(N);
  for (int a = 0, i = 0; a < p; ++a)
    for (int b = 0; b < p; ++b)
      for (int c = 0; c < p; ++c, ++i) {
        ds.operands(i, 0) = ds.inputs.hot(i, 0) = a;
        ds.operands(i, 1) = b;
        ds.operands(i, 2) = c;
        ds.inputs.hot(i, 1) = p + b;
        ds.inputs.hot(i, 2) = 2 * p + c;
        ds.labels[i] = apply_op(op2, apply_op(op1, a, b, p), c, p);
      }
  return ds;
}

Dataset make_task(const std::string& spec, int p) {
  if (spec.rfind("compose:", 0) == 0) {
    const std::vector<std::string> ops = split_commas(spec.substr(8));
    RFM_CHECK(ops.size() == 2, "--task %s: write compose:OP1,OP2 (e.g. compose:add,mul)",
              spec.c_str());
    return make_compose_task(compose_op(ops[0], spec), compose_op(ops[1], spec), p);
  }
  if (spec.find(',') != std::string::npos) return make_multitask(split_commas(spec), p);
  return make_binary_task(spec, p);
}

std::vector<std::string> multitask_names(const Dataset& ds) {
  if (ds.task.rfind("compose:", 0) == 0) return {ds.task};
  return split_commas(ds.task);
}

std::vector<int> task_of_examples(const Dataset& ds) {
  std::vector<int> t(ds.N(), 0);
  if (multitask_names(ds).size() < 2) return t;
  for (int i = 0; i < ds.N(); ++i) t[i] = ds.inputs.hot(i, 2) - 2 * ds.p;
  return t;
}

Split paired_multitask_split(const Dataset& ds, double frac, uint64_t seed) {
  RFM_CHECK(ds.inputs.one_hot() && ds.inputs.hot.cols() == 3 && multitask_names(ds).size() >= 2,
            "a paired multitask split needs a multitask data set (a comma list of tasks), not "
            "'%s'",
            ds.task.c_str());
  // Key of every example: the index of its (a, b) among the distinct pairs, in order of first
  // appearance (the pairs of the first task, in its order).
  std::map<std::pair<int, int>, int> index;
  std::vector<int> key(ds.N());
  for (int i = 0; i < ds.N(); ++i) {
    const auto ab = std::make_pair(ds.inputs.hot(i, 0), ds.inputs.hot(i, 1));
    auto it = index.emplace(ab, static_cast<int>(index.size())).first;
    key[i] = it->second;
  }
  const Split pairs = random_split(static_cast<int>(index.size()), frac, seed);
  std::vector<char> in_train(index.size(), 0);
  for (int k : pairs.train) in_train[k] = 1;
  Split s;
  for (int i = 0; i < ds.N(); ++i) (in_train[key[i]] ? s.train : s.test).push_back(i);
  return s;
}

// --- Commutative augmentation (Park et al. 2024) ---------------------------------------------

namespace {

// The example index of every one-hot row, and of each row's swap (slots 0 and 1 exchanged);
// -1 where the swapped row is not in the data set.
std::vector<int> swapped_examples(const Dataset& ds) {
  const IndexMatrix& hot = ds.inputs.hot;
  std::map<std::vector<int>, int> index;
  auto key = [&](int i, bool swap) {
    std::vector<int> k(hot.cols());
    for (int s = 0; s < hot.cols(); ++s) k[s] = hot(i, s);
    if (swap) {
      k[0] = hot(i, 1) - ds.p;
      k[1] = hot(i, 0) + ds.p;
    }
    return k;
  };
  for (int i = 0; i < ds.N(); ++i) index[key(i, false)] = i;
  std::vector<int> out(ds.N(), -1);
  for (int i = 0; i < ds.N(); ++i) {
    auto it = index.find(key(i, true));
    if (it != index.end()) out[i] = it->second;
  }
  return out;
}

}  // namespace

bool is_commutative(const Dataset& ds) {
  if (!ds.inputs.one_hot() || ds.inputs.hot.cols() < 2 || ds.p <= 0) return false;
  const std::vector<int> sw = swapped_examples(ds);
  for (int i = 0; i < ds.N(); ++i)
    if (sw[i] < 0 || ds.labels[sw[i]] != ds.labels[i]) return false;
  return true;
}

int augment_commutative(Split& s, const Dataset& ds) {
  RFM_CHECK(is_commutative(ds),
            "--augment commutative: task '%s' is not commutative (f(a, b) != f(b, a) for some "
            "pair)",
            ds.task.c_str());
  const std::vector<int> sw = swapped_examples(ds);
  std::vector<char> in_train(ds.N(), 0);
  for (int i : s.train) in_train[i] = 1;
  for (int i : s.train) in_train[sw[i]] = 1;
  const int before = static_cast<int>(s.train.size());
  s.train.clear();
  s.test.clear();
  for (int i = 0; i < ds.N(); ++i) (in_train[i] ? s.train : s.test).push_back(i);
  return static_cast<int>(s.train.size()) - before;
}

}  // namespace rfm
