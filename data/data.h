// data/: tasks, encodings, splits and the .npy/.npz boundary.
//
// A task is a finite set of examples. Every example's input is one-hot in each of `slots`
// blocks (REFERENCE.md section 1: x = e_a (+) e_b), so an input is stored as `slots` hot
// coordinates rather than as a dense row; Inputs turns them into dense rows on request.
// Labels are class ids 0..c-1; Y is their one-hot (n, c) matrix.
//
// Layout: every dense matrix in the engine is column-major (Eigen's default). The .npy files
// on disk are C order; npy_load/npy_save convert at this boundary and nowhere else.
// Memory: everything here is owned by value (Eigen matrices, std::vector).
#pragma once

#include <Eigen/Dense>
#include <cstdint>
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
  MatrixXd dense() const;                      // (n, d)
  Inputs rows(const std::vector<int>& idx) const;  // the selected points, same form
  static Inputs from_dense(MatrixXd X);
  static Inputs from_hot(IndexMatrix hot, int d);
  // Dense rows that are exactly 0/1 with the same number of ones per row become one-hot.
  static Inputs detect(MatrixXd X);
};

// --- Tasks (REFERENCE.md section 1) -----------------------------------------------------------

enum class Op { add, sub, mul, div };
const char* to_string(Op op);
Op op_from_string(const std::string& name);  // throws InputError listing the known tasks

// A labelled data set with a one-hot input encoding.
struct Dataset {
  std::string task;          // e.g. "add"
  int p = 0;                 // modulus
  Inputs inputs;             // all N examples, one-hot: slot 0 = a, slot 1 = p + b
  std::vector<int> labels;   // N class ids in 0..c-1
  IndexMatrix operands;      // (N, 2): the pair (a, b) each example encodes
  int c = 0;                 // number of classes
  int N() const { return static_cast<int>(labels.size()); }
};

// All ordered pairs of a binary operation mod p; div is (a*b mod p, b) -> a with b in 1..p-1.
// Throws InputError if p is not a prime >= 2 (all four operations use it as a field).
Dataset make_modular_task(Op op, int p);

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

// --- Number theory for Z_p ------------------------------------------------------------------

bool is_prime(int p);
int mod_pow(int base, int exp, int p);
int mod_inverse(int a, int p);          // a in 1..p-1, p prime
int primitive_root(int p);              // the smallest generator of Z_p^*, p prime
// order[i] = g^i mod p for i = 0..p-2: residue order[i] goes to position i (REFERENCE.md 2.2).
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
// Integer array (any integer or bool dtype, 1-D), e.g. indices or labels.
std::vector<int64_t> npy_load_ints(const std::string& path);

// Writes M as a C-order '<f8' 2-D array, atomically.
void npy_save(const std::string& path, const MatrixXd& M);
// Writes a 1-D '<i8' array, atomically.
void npy_save_ints(const std::string& path, const std::vector<int64_t>& v);
// Serialises to the bytes of an .npy file (used by npy_save and npz_save).
std::string npy_bytes(const MatrixXd& M);
std::string npy_bytes_ints(const std::vector<int64_t>& v);
// Writes an uncompressed .npz archive of named .npy members ("train" -> train.npy), atomically.
void npz_save(const std::string& path,
              const std::vector<std::pair<std::string, std::string>>& members);
// Reads a 1-D integer member of an .npz (e.g. "train" of split.npz).
std::vector<int64_t> npz_load_ints(const std::string& path, const std::string& member);

}  // namespace rfm
