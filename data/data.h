// data/: tasks, encodings, splits and the .npy/.npz boundary.
//
// A task is a finite set of examples. Every example's input is one-hot in each of `slots`
// blocks (docs/algorithms.md 1.3: x = e_a (+) e_b), so an input is stored as `slots` hot
// coordinates rather than as a dense row; Inputs turns them into dense rows on request.
// Labels are class ids 0..c-1; Y is their one-hot (n, c) matrix.
//
// Layout: every dense matrix in the engine is column-major (Eigen's default). The .npy files
// on disk are C order; npy_load/npy_save convert at this boundary and nowhere else.
// Memory: everything here is owned by value (Eigen matrices, std::vector).
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/error.h"
#include "data/io.h"

namespace rfm {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using IndexMatrix = Eigen::Matrix<int, Eigen::Dynamic, Eigen::Dynamic>;

// --- Inputs: a batch of points, one-hot (by index) or dense ---------------------------------

// A batch of n points in R^d. One-hot form: hot(i, s) is the coordinate set to 1 in slot s of
// point i (all other coordinates 0). Dense form: X (n, d). Exactly one form is set.
struct Inputs {
  int d = 0;
  IndexMatrix hot;  // (n, slots), one-hot form; empty in dense form
  MatrixXd X;       // (n, d), dense form; empty in one-hot form

  bool one_hot() const { return hot.size() > 0 || (X.size() == 0 && d > 0); }
  int n() const { return one_hot() ? static_cast<int>(hot.rows()) : static_cast<int>(X.rows()); }
  MatrixXd dense() const;                          // (n, d)
  Inputs rows(const std::vector<int>& idx) const;  // the selected points, same form
  Inputs range(int start, int count) const;        // points start .. start + count - 1
  bool same_points(const Inputs& o) const;         // the same points, in the same order and form
  static Inputs from_dense(MatrixXd X);
  static Inputs from_hot(IndexMatrix hot, int d);
  // Dense rows that are exactly 0/1 with the same number of ones per row become one-hot.
  static Inputs detect(MatrixXd X);
};

// --- Tasks (docs/algorithms.md 1.1) ---------------------------------------------------------

enum class Op { add, sub, mul, div };
const char* to_string(Op op);
Op op_from_string(const std::string& name);  // throws InputError listing the known tasks
bool is_op_name(const std::string& name);    // add, sub, mul or div

// A labelled data set with a one-hot input encoding.
struct Dataset {
  std::string task;         // e.g. "add"
  int p = 0;                // modulus
  Inputs inputs;            // all N examples, one-hot: slot 0 = a, slot 1 = p + b
  std::vector<int> labels;  // N class ids in 0..c-1
  IndexMatrix operands;     // (N, 2): the pair (a, b) each example encodes
  int c = 0;                // number of classes
  int N() const { return static_cast<int>(labels.size()); }
};

// All ordered pairs of a binary operation mod p; div is (a*b mod p, b) -> a with b in 1..p-1.
// Throws InputError if p is not a prime >= 2 (all four operations use it as a field).
Dataset make_modular_task(Op op, int p);

// The example (x, y) -> label that pair (a, b) becomes, for make_pair_task.
struct PairExample {
  int x, y, label;
};
// All pairs a in 0..q-1, b in b0..q-1 of a binary task on q symbols, encoded one-hot as
// x = e_x (+) e_y in R^{2q} with c = q classes; `example` maps (a, b) to the example.
Dataset make_pair_task(const std::string& name, int q, int b0,
                       const std::function<PairExample(int a, int b)>& example);

// Y: (n, c) one-hot of labels[idx[k]].
MatrixXd one_hot_labels(const std::vector<int>& labels, const std::vector<int>& idx, int c);

// --- Splits ---------------------------------------------------------------------------------

struct Split {
  std::vector<int> train, test;  // indices into the dataset, each sorted ascending
};
// Shuffles 0..N-1 with a seeded generator (Fisher-Yates on std::mt19937_64, so the same seed
// gives the same split on every platform); the first floor(frac * N) are training.
// Throws InputError if frac is outside (0, 1] or either side would be empty when frac < 1.
Split random_split(int N, double frac, uint64_t seed);
// k distinct indices of 0..N-1 drawn with the same seeded shuffle, sorted ascending.
std::vector<int> random_subset(int N, int k, uint64_t seed);

// --- Number theory for Z_p ------------------------------------------------------------------

bool is_prime(int p);
int mod_pow(int base, int exp, int p);
int mod_inverse(int a, int p);  // a in 1..p-1, p prime
int primitive_root(int p);      // the smallest generator of Z_p^*, p prime
// order[i] = g^i mod p for i = 0..p-2: residue order[i] goes to position i (docs/algorithms.md
// 1.6).
std::vector<int> discrete_log_order(int p);

// --- .npy / .npz (NumPy format 1.0/2.0/3.0) -------------------------------------------------

// A raw array as NumPy stores it. descr is the dtype string ("<f8", "<i8", "|b1", ...).
struct NpyArray {
  std::string descr;
  std::vector<int64_t> shape;
  bool fortran_order = false;
  std::vector<char> bytes;  // the data, in the file's order
  int64_t size() const;
};

// Reads an .npy file. Throws InputError naming the file and the problem for anything
// malformed: bad magic, truncated header or data, unsupported dtype, big-endian data, ...
NpyArray npy_read(const std::string& path);
// An .npy of a 1-D or 2-D numeric or bool array as a column-major double matrix (a 1-D array
// of length n becomes (n, 1)). Throws InputError for 0-D or >2-D arrays and NaN/Inf values.
MatrixXd npy_load(const std::string& path);
// The same for an array already in memory (the Python module's arrays), named `name` in errors.
MatrixXd npy_matrix(const NpyArray& a, const std::string& name);
// Throws InputError "NAME: non-finite value V at (row i, col j)" for the first NaN or Inf in
// NumPy's (row-major) element order; one_d names an index instead.
void check_finite(const Eigen::Ref<const MatrixXd>& M, bool one_d, const std::string& name);
// Integer array (any integer or bool dtype, 1-D), e.g. indices or labels.
std::vector<int64_t> npy_load_ints(const std::string& path);
// The same from the bytes of an .npy file in memory; name is used in messages.
MatrixXd npy_parse_matrix(const std::string& bytes, const std::string& name);
std::vector<int64_t> npy_parse_ints(const std::string& bytes, const std::string& name);

// Writes M as a C-order '<f8' 2-D array, atomically.
void npy_save(const std::string& path, const MatrixXd& M);
// Writes a 1-D '<i8' array, atomically.
void npy_save_ints(const std::string& path, const std::vector<int64_t>& v);
// Serialises to the bytes of an .npy file (used by npy_save and npz_save).
std::string npy_bytes(const MatrixXd& M);
std::string npy_bytes_ints(const std::vector<int64_t>& v);
std::string npy_bytes_int_matrix(const IndexMatrix& A);  // (rows, cols) int64, C order
// Writes an uncompressed .npz archive of named .npy members ("train" -> train.npy), atomically.
void npz_save(const std::string& path,
              const std::vector<std::pair<std::string, std::string>>& members);
// split.npz of a run: train and test (indices into the task's examples), operands (N, k: the
// operands each example's input encodes, e.g. (a*b, b) for div) and labels (N), so that an
// index maps back to its pair.
void save_split(const std::string& path, const Dataset& ds, const Split& split);
// Reads a 1-D integer member of an .npz (e.g. "train" of split.npz).
std::vector<int64_t> npz_load_ints(const std::string& path, const std::string& member);

// --- Groups, invariance groups and symmetric splits (docs/algorithms.md 1.2, 1.5 and 4.1) ----
//
// Abelian product tasks: G = Z_n1 x ... x Z_nk, an element is the mixed-radix index of its
// digits (last factor fastest), and the task is (a, b) -> a + b in G with x = e_a (+) e_b.
// The invariance group Dih(A) of a task acts on input pairs (u, v) (the slot symbols: for div
// u = a*b) and, because each slot maps independently, on the 2q input coordinates: the
// permutation matrix R_g of g is never built, only its coordinate map (R_g e_i = e_image(i)).

struct AbelianGroup {
  std::vector<int> factors;  // n1, ..., nk, each >= 2
  int order() const;
  std::vector<int> digits(int x) const;  // mixed radix, last factor fastest
  int index(const std::vector<int>& digits) const;
  int add(int x, int y) const;
  int neg(int x) const;
  std::string name() const;  // "3x7"
};
// "3x7" or "3,7" -> {3, 7}. Throws InputError naming the text for anything else.
AbelianGroup parse_abelian_group(const std::string& spec);
// All |G|^2 ordered pairs; task "group", p = c = |G| (symbols per slot), labels a + b.
Dataset make_group_task(const AbelianGroup& G);

// Any finite group, abelian or not, as its Cayley table: table(a, b) = index of a * b. Index
// orders of the built-in groups (fixed; the data set's class ids are these indices):
// - S_n: the n! permutations of 0..n-1 in lexicographic order of their image lists (index 0 =
//   identity); (a * b)(i) = a(b(i)), b applied first.
// - D_n (order 2n, symmetries of the n-gon): r^k at index k, s r^k at index n + k, with
//   r^n = s^2 = e and s r s = r^-1.
// - perm:G1;G2;... : the group generated by permutations of 0..m-1, each given as its image
//   list ("1,2,0"); elements in breadth-first order from the identity (index 0), x * g_j
//   appended for each generator in the given order; the product as for S_n.
// - table:FILE: an N x N integer matrix (.npy or .csv) validated as a group; indices as given.
// - n1xn2x...: the abelian product of AbelianGroup (mixed radix), as a table.
struct FiniteGroup {
  std::string name;   // "S3", "D5", "perm:1,0,2;1,2,0", "table:FILE" or "3x7"
  IndexMatrix table;  // (N, N): table(a, b) = a * b
  int identity = 0;   // index of e
  int order() const { return static_cast<int>(table.rows()); }
  int mul(int a, int b) const { return table(a, b); }
  int inverse(int a) const;  // the b with a * b = e
  bool is_abelian() const;
};
FiniteGroup symmetric_group(int n);        // S_n, 2 <= n <= 6
FiniteGroup dihedral_cayley_group(int n);  // D_n, order 2n, 1 <= n <= 1000
// The group generated by permutations "g1;g2;..." (each an image list "1,2,0"); throws
// InputError naming the text for anything that is not a permutation or an order over 2000.
FiniteGroup permutation_group(const std::string& generators);
// Checks closure (entries in 0..N-1), an identity, inverses and associativity (O(N^3)); throws
// InputError with one line naming the first axiom that fails (and where). N <= 1000.
FiniteGroup cayley_group(const IndexMatrix& table, const std::string& name);
// A Cayley table from .npy or .csv (load_matrix), validated by cayley_group.
FiniteGroup load_cayley_table(const std::string& path);
// True for the abelian product form of --group ("3x7", "3,7"), which parse_abelian_group reads
// and for which Dih(A), degenerate splits and the circulant measures are defined.
bool is_abelian_product_spec(const std::string& spec);
// Any --group: S<n>, D<n>, perm:..., table:FILE or an abelian product. Throws InputError.
FiniteGroup parse_group(const std::string& spec);
// All |G|^2 ordered pairs (a, b) -> a * b, encoded exactly as make_group_task(AbelianGroup).
Dataset make_group_task(const FiniteGroup& G);

// The invariance group of a task as index maps: Dih(A) for modular and abelian tasks, G itself
// for a non-abelian group, and for other two-slot tasks on Z_p the affine slot maps that keep
// every label. Elements e = 0..n-1 keep the slots ("rotations" r^k), e = n..elements()-1 swap
// them ("reflections" sr^k), with k = param[e mod n]: the group index for add, sub and group
// tasks (identity k = 0), the residue 1..p-1 for mul and div (identity k = 1).
struct DihedralGroup {
  std::string task;                // "add", "sub", "mul", "div", "group" or the task's name
  int q = 0;                       // symbols per slot: inputs have d = 2q coordinates
  int n = 0;                       // elements that keep the slots (the rest swap them)
  int identity_param = 0;          // k of the identity (0 additive, 1 multiplicative)
  std::vector<int> param;          // (n) k of r^k = element e and of sr^k = element n + e
  IndexMatrix image;               // (2q, elements): coordinate of R_e e_i, -1 if undefined
  std::vector<int> coords;         // the coordinates where all R_g are permutations (mul and div
                                   // leave out residue 0), slot 0 first: the analysed subspace
  AbelianGroup abelian;            // the product structure for abelian group tasks (else empty)
  FiniteGroup table;               // group tasks given as a Cayley table (order 0 otherwise)
  std::vector<std::string> names;  // element names where r^k / sr^k do not apply (else empty)

  int elements() const { return static_cast<int>(image.cols()); }
  bool is_reflection(int e) const { return e >= n; }
  std::string name(int e) const;            // "r^3", "sr^16", "s" for the identity reflection
  int find(const std::string& name) const;  // element by name ("r^0", "s", "sr^3"); throws
  int reflection(int k) const;              // element of sr^k; throws naming k
  // Image of the input pair (u, v) under e; {-1, -1} where g is undefined (div with u = 0).
  std::pair<int, int> apply(int e, int u, int v) const;
  int compose(int g, int h) const;  // the element g h (apply h first)
};
// Dih(A) for a modular task (add, sub, mul, div) mod p, the table of docs/algorithms.md 4.1.
DihedralGroup dihedral_group(Op op, int p);
// Dih(G) for an abelian product task: r^k(a, b) = (a + k, b - k), sr^k(a, b) = (b - k, a + k).
DihedralGroup dihedral_group(const AbelianGroup& G);
// The maps of input pairs that keep a * b in a group given by its Cayley table: r^g(a, b) =
// (a g, g^-1 b) for every g, and when G is abelian also sr^g(a, b) = (b g^-1, a g). A slot swap
// keeps a * b for all pairs only in an abelian group, so a non-abelian G has no reflections.
DihedralGroup dihedral_group(const FiniteGroup& G);
// For any task on two slots of q = p symbols (polynomials, system): every map (a, b) ->
// (s a + t, s' b + t') or (s' b + t', s a + t) with s, s' in Z_p^* and t, t' in Z_p that keeps
// every example's label, found by search (each candidate is dropped at its first changed
// label). Names such as "(a+3, b-3)" and "(b, -a)".
DihedralGroup affine_invariance_group(const Dataset& ds);
// The group of a data set made by make_modular_task or make_group_task.
DihedralGroup dihedral_group_of(const Dataset& ds, const AbelianGroup* G = nullptr);

// pair_lookup[u * q + v] = index of the example with input pair (u, v), -1 if none.
std::vector<int> pair_lookup(const Dataset& ds, int q);
// Degenerate split: test = the union of the fixed points of sr^k for k in reflections, train
// = all other pairs (docs/algorithms.md 1.5). Throws InputError for an unknown k or an empty
// side.
Split degenerate_split(const Dataset& ds, const DihedralGroup& G,
                       const std::vector<int>& reflections);
// Point-moving operations (docs/algorithms.md 1.5), each seeded and reproducible; the split stays
// sorted. Throws InputError when the side has fewer points (or pairs) than count.
void move_train_to_test(Split& s, int count, uint64_t seed);
void move_test_to_train(Split& s, int count, uint64_t seed);
// Moves count pairs {x, g x} (g = element, x != g x, both in train) from train to test.
void move_pairs_to_test(Split& s, const Dataset& ds, const DihedralGroup& G, int element, int count,
                        uint64_t seed);

// --- User data (.npy or .csv) ---------------------------------------------------------------

// A numeric matrix from .npy or .csv (by extension). CSV: comma-separated numbers, one row per
// line, an optional non-numeric header line; every row must have the same number of fields.
// Throws InputError naming the file, line and field for anything else, and for NaN/Inf.
MatrixXd load_matrix(const std::string& path);
// CSV from text in memory (name is used in messages).
MatrixXd parse_csv(const std::string& text, const std::string& name);

// --- Experiment tasks (issue 8; docs/algorithms.md 1.2 and 6) -------------------------------
//
// Polynomials: any polynomial in x and y with integer coefficients, e.g. "x^3+x*y", "(x+y)^2",
// "x^2+xy+y^2" (juxtaposition multiplies; a and b are accepted for x and y). Inputs are
// (x, y) one-hot as for add, labels f(x, y) mod p. Multitask: a comma list of binary tasks mod
// p, one extra input coordinate per task (slot 2: 2p + task index), shared output head, all
// pairs of every task. Composition "compose:OP1,OP2": f(a, b, c) = (a OP1 b) OP2 c with
// x = e_a (+) e_b (+) e_c (d = 3p, operands (N, 3)). System: (u, v) = (a + b, a - b) -> a.

// A parsed polynomial, evaluated mod p. Throws InputError naming the text and the position
// (1-based) of the first malformed character.
class Polynomial {
 public:
  explicit Polynomial(const std::string& text);
  int eval(int x, int y, int p) const;  // f(x, y) mod p, in 0..p-1
  const std::string& text() const { return text_; }

  struct Node {  // kind: 'n' number, 'x', 'y', '+', '-', '*', '^' (exp), 'u' (negation)
    char kind = 'n';
    int64_t value = 0;  // number, or the exponent of '^'
    int lhs = -1, rhs = -1;
  };

 private:
  std::string text_;
  std::vector<Node> nodes_;  // the expression tree; the root is the last node
  int root_ = -1;
};

// All p^2 pairs (x, y) -> poly(x, y) mod p; task = the expression text. p must be prime.
Dataset make_polynomial_task(const std::string& expr, int p);
// The data set of a binary task name: add, sub, mul, div, system or a polynomial.
Dataset make_binary_task(const std::string& name, int p);
// Several binary tasks with a task-selector slot: d = 2p + T, hot(i, 2) = 2p + t.
Dataset make_multitask(const std::vector<std::string>& names, int p);
// (a op1 b) op2 c for op1, op2 in add, sub, mul: p^3 triples, d = 3p.
Dataset make_compose_task(Op op1, Op op2, int p);
// (u, v) = (a + b, a - b) mod p -> a, p an odd prime: p^2 pairs.
Dataset make_system_task(int p);
// Any --task of issue 8 (add, sub, mul, div, system, compose:OP1,OP2, a polynomial, or a
// comma list of binary tasks). Throws InputError naming the task for anything else.
Dataset make_task(const std::string& spec, int p);
// The task names of a multitask data set (one name for any other data set).
std::vector<std::string> multitask_names(const Dataset& ds);
// Task index of every example: hot(i, 2) - 2p for a multitask set, 0 otherwise.
std::vector<int> task_of_examples(const Dataset& ds);
// Multitask split paired over the tasks, as in the reference code of Mallinar et al.
// (multitask_op_mod_p_data: one split of the (a, b) pairs, cloned for every task): the distinct
// (slot 0, slot 1) inputs are split with random_split(K, frac, seed), K of them, and an example
// is a training example exactly when its (a, b) is, whatever its task. Throws InputError for a
// data set that is not a multitask.
Split paired_multitask_split(const Dataset& ds, double frac, uint64_t seed);
// True when the slots 0 and 1 hold symbols of the same alphabet (u in 0..p-1, v = p + u')
// and swapping them maps every example to an example with the same label (commutativity).
bool is_commutative(const Dataset& ds);
// Commutative augmentation (Park et al. 2024, docs/algorithms.md 1.4): for every training
// example (a, b, rest) its swap (b, a, rest) moves from test to train. Throws InputError when
// the task is not commutative. Returns how many points moved.
int augment_commutative(Split& s, const Dataset& ds);

}  // namespace rfm
