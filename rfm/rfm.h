// rfm/: the Recursive Feature Machine loop, its options and summary, and progress measures.
//
// The loop (docs/algorithms.md 2, Mallinar et al. Alg. 1): M_0 = I (or given); for each
// iteration t = 0..T-1 fit alpha with M_t, record metrics of f_t, compute the AGOP G_t over the
// training points and set M_{t+1} = G_t^s. M_final is M_T, the matrix the last AGOP produced;
// the AGOP alignment of iteration t compares M_t with it. The loop prints nothing: every
// iteration goes to the callbacks, which may stop the run.
//
// Layout: M (d, d) column-major, symmetric. The caller owns the data; the summary owns copies
// of the matrices it reports.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "data/data.h"
#include "kernels/kernels.h"

namespace rfm {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

enum class Normalize { none, max };
const char* to_string(Normalize n);
Normalize normalize_from_string(const std::string& name);

struct RfmOptions {
  /// Kernel and bandwidth L (reference default: gaussian, 2.5).
  Kernel kernel;
  /// Number of iterations T (fits); the reference code runs 50.
  int iters = 50;
  /// Exponent s of the update M = G^s (docs/algorithms.md 2.3: 1/2).
  double power = 0.5;
  /// Divide the AGOP by its largest absolute entry before the power (other RFM codes do).
  Normalize normalize = Normalize::none;
  /// Solve and AGOP settings: ridge, precision, centering, AGOP route and block size.
  SolveOptions solve;
  AgopOptions agop;
  /// AGOP over a random subset of this many training points (0: all of them).
  int agop_samples = 0;
  /// Seed of that subset.
  uint64_t agop_seed = 0;
  /// Backend of the heavy steps.
  Backend backend = Backend::cpu;
  /// Enforced circulant structure (docs/algorithms.md 2.5, Mallinar App. F): after every update
  /// M <- block_circulant_projection(M, p, op). Off when enforce_circulant_p is 0; else the
  /// input dimension must be 2p (a binary task add, sub, mul or div).
  int enforce_circulant_p = 0;
  Op enforce_circulant_op = Op::add;

  void validate() const;  // throws InputError naming the field, its value and the rule
};

// One row of metrics.csv (docs/algorithms.md 3.5). Numbers not computed are NaN.
struct IterationStats {
  int iter = 0;
  double train_acc = kNaN, test_acc = kNaN, train_mse = kNaN, test_mse = kNaN;
  double circ_dev = kNaN, circ_dev_rev = kNaN;         // task measures, when known
  double agop_align = kNaN, agop_align_nodiag = kNaN;  // filled when the run ends
  double seconds = kNaN;                               // wall time of this iteration
  std::string solver;                                  // method that produced alpha
  bool fallback = false;                               // the Cholesky factorisation failed
  std::string note;                                    // why it fell back, else empty
  std::vector<std::pair<std::string, double>> extra;   // further named measures
};

// interrupted: a signal (Ctrl-C) asked the run to stop; rfm grok --resume continues it.
enum class Termination { completed, stopped, numerical_failure, interrupted };
const char* to_string(Termination t);

struct RfmSummary {
  Termination termination = Termination::completed;
  std::string message = "rfm was not run";
  std::vector<IterationStats> iterations;
  MatrixXd M_final;              // M_T (or the last finite M on numerical failure)
  int first_iter_test_050 = -1;  // first iteration with test accuracy >= 0.5, -1 if none
  int first_iter_test_099 = -1;  // the same for >= 0.99
  int solver_fallbacks = 0;
  PhaseTimes phase_seconds;  // summed over iterations; update = matrix power
  double update_seconds = 0, eval_seconds = 0, total_seconds = 0;

  std::string brief_report() const;
};

enum class Decision { proceed, stop };
// Called once per iteration with the stats and M_t.
using IterationCallback = std::function<Decision(const IterationStats&, const MatrixXd& M)>;
// Fills task-specific measures (circulant deviation, ...) of M_t into the stats.
using Measure = std::function<void(const MatrixXd& M, IterationStats&)>;

struct RfmProblem {
  Inputs X_train, X_test;      // (n, d), (n_test, d)
  MatrixXd Y_train, Y_test;    // (n, c), (n_test, c)
  bool classification = true;  // accuracy by argmax when true
  // Optional groups of test points (multitask): test_group[k] in 0..G-1 for test point k;
  // each iteration then records "test_acc_<group_names[g]>" in IterationStats::extra.
  std::vector<int> test_group = {};
  std::vector<std::string> group_names = {};
};

RfmSummary run_rfm(const RfmOptions& options, const RfmProblem& problem, const MatrixXd& M0,
                   const std::vector<IterationCallback>& callbacks, const Measure& measure = {});

// The state of a run after its first t iterations: enough to continue it with the same results
// as an uninterrupted run (rfm grok --resume). run_rfm hands one to the checkpoint callback
// after every iteration, and starts from one.
struct RfmState {
  int next_iter = 0;                       // t: the iteration that fits with M_next
  MatrixXd M_next;                         // M_t: (d, d)
  std::vector<MatrixXd> history;           // M_0 .. M_{t-1}, for the AGOP alignment at the end
  std::vector<IterationStats> iterations;  // rows of iterations 0 .. t-1
  int solver_fallbacks = 0;
  PhaseTimes phase_seconds;  // summed over iterations 0 .. t-1
  double update_seconds = 0, eval_seconds = 0, total_seconds = 0;
};
// Called after every completed iteration with the state that continues the run.
using CheckpointCallback = std::function<void(const RfmState& state)>;

// Runs iterations start.next_iter .. options.iters - 1 from `start` (start.M_next = M0 and the
// rest empty is a fresh run).
RfmSummary run_rfm(const RfmOptions& options, const RfmProblem& problem, const RfmState& start,
                   const std::vector<IterationCallback>& callbacks, const Measure& measure,
                   const CheckpointCallback& checkpoint);

// Accuracy (argmax match) and mean squared error over all entries.
double argmax_accuracy(const MatrixXd& pred, const MatrixXd& Y);
double mean_squared_error(const MatrixXd& pred, const MatrixXd& Y);

// --- Progress measures (docs/algorithms.md 3) -----------------------------------------------

// D(A) = sum_k Var(S[:, k]) / ||A||_F^2 with S[r, k] = A[r, (r + k) mod q]; reversed = the same
// after reversing the column order of A (anti-circulant / Hankel structure).
double circulant_deviation(const MatrixXd& A, bool reversed);
// The bottom-left p x p block of M for a modular task; for mul and div residue 0 is dropped and
// residues are reordered by discrete logarithm (residue g^i at position i).
MatrixXd task_block(const MatrixXd& M, int p, Op op);
// Cosine similarity of vec(A) and vec(B); with nodiag the diagonals of both are zeroed first.
double cosine_similarity(const MatrixXd& A, const MatrixXd& B, bool nodiag);

// --- Circulant feature matrices (docs/algorithms.md 2.4 and 2.5) ----------------------------
//
// The structure M = [[A, C^T], [C, A]] (2p, 2p) with A = I - 11^T/p and C the bottom-left block
// (rows p..2p-1, columns 0..p-1, as task_block) built from a generator g, its first column:
// add: circulant C[r, c] = g[(r - c) mod p]; sub: Hankel C[r, c] = g[(r + c) mod p]; mul and
// div: the same over Z_p^* in discrete-log order (residue g0^i at position i, g of length
// p - 1, circulant for mul, Hankel for div), rows and columns of residue 0 zero.

// True for the ops whose block is Hankel (anti-circulant): sub and div.
bool hankel_op(Op op);
// [[A, C^T], [C, A]] from the generator g (length p, or p - 1 for mul and div).
MatrixXd block_circulant_matrix(const VectorXd& g, int p, Op op);
// The first column of the bottom-left block in the op's order (length p or p - 1).
VectorXd block_first_column(const MatrixXd& M, int p, Op op);
// Enforced circulant step (App. F): normalise M by D^-1/2 M D^-1/2, then the structure above
// with g = the first column of the normalised off-diagonal block; C is scaled down to
// spectral norm 1 when it is larger (project definition: keeps M a valid metric).
MatrixXd block_circulant_projection(const MatrixXd& M, int p, Op op);
// Random circulant features (§3). How the random matrix is drawn and turned into the feature
// matrix M (all seeded std::mt19937_64, 53-bit uniforms on [0, 1)):
//   sqrtm:  the authors' construction (train_random_circulant_kernel.py, docs/algorithms.md
//           2.4): a column uniform on [0, 1] with its mean subtracted, placed as they place it
//           (published_circulant_matrix), no rescaling, then M = Re(sqrtm(M*))
//           (real_sqrtm_symmetric). M* itself is indefinite; M is positive semidefinite.
//   scaled: the same uniform generator, C scaled to spectral norm 1 so that M* is positive
//           semidefinite, M = M* (project definition; our first reading of §3).
//   flat:   every non-constant DFT coefficient of g has modulus 1 and a uniform random phase,
//           the constant one is 0, M = M* (project definition: the flat spectrum RFM itself
//           learns, see docs/experiments.md).
enum class CirculantSpectrum { sqrtm, scaled, flat };
const char* to_string(CirculantSpectrum s);
CirculantSpectrum circulant_spectrum_from_string(const std::string& name);  // "sqrtm", ...
// M* = [[A, C^T], [C, A]] (2p, 2p) of the authors' code from their random column col (length
// p for add and sub, p - 1 for mul and div): for add their top-right block is
// scipy.linalg.circulant(col), for sub torch.rot90 of it, for mul and div utils.py's
// gen_random_mult_circulant / gen_random_div_circulant (the same over Z_p^*, undone from
// discrete-log order); the bottom-left block is its transpose. No rescaling.
MatrixXd published_circulant_matrix(const VectorXd& col, int p, Op op);
// The random M* of `spectrum` before any square root (2p, 2p).
MatrixXd random_circulant_block_matrix(int p, Op op, uint64_t seed, CirculantSpectrum spectrum);
// The feature matrix: Re(sqrtm(M*)) for sqrtm, M* for scaled and flat.
MatrixXd random_circulant_features(int p, Op op, uint64_t seed,
                                   CirculantSpectrum spectrum = CirculantSpectrum::sqrtm);
// Re(sqrtm(S)) of a symmetric S (d, d): V diag(sqrt(max(l, 0))) V^T for S = V diag(l) V^T,
// the real part of scipy.linalg.sqrtm(S) also where S is indefinite (see rfm.cpp).
MatrixXd real_sqrtm_symmetric(const MatrixXd& S);

}  // namespace rfm

// --- Run directory files (README.md, "A run directory") -------------------------------------

#include <nlohmann/json.hpp>

namespace rfm {

// metrics.csv: a header and one row per iteration; the columns of docs/algorithms.md 3.5 first
// (iter through seconds), then the solver used, whether it fell back, and any extra measures.
std::string metrics_csv(const std::vector<IterationStats>& rows);
// summary.json: termination, final metrics, first iterations reaching 0.5 and 0.99, times.
nlohmann::json summary_json(const RfmSummary& summary);
// Writes M_final.npy, metrics.csv and summary.json into dir (atomically, each).
void write_run_results(const std::string& dir, const RfmSummary& summary);

// One iteration as JSON (NaN as null) and back; the extra measures keep their order.
nlohmann::json iteration_json(const IterationStats& s);
IterationStats iteration_from_json(const nlohmann::json& j);

// A checkpoint in DIR/checkpoint/: M_XXXX.npy for M_0 .. M_t and state.json (the rows, times
// and t), written last and atomically, so it always names matrices that are complete. Each
// call writes only the matrices that are new since the last call: O(d^2) per iteration.
class CheckpointWriter {
 public:
  // `written`: the matrices M_0 .. M_{written - 1} already on disk (a resumed run).
  explicit CheckpointWriter(std::string run_dir, int written = 0);
  void write(const RfmState& state);

 private:
  std::string dir_;
  int written_ = 0;  // M_0 .. M_{written_ - 1} are on disk
};
// Reads DIR/checkpoint/; throws InputError naming the file when it is missing or inconsistent.
RfmState read_checkpoint(const std::string& run_dir);
bool has_checkpoint(const std::string& run_dir);
// The path of M_t inside a checkpoint.
std::string checkpoint_matrix_path(const std::string& run_dir, int t);

}  // namespace rfm

// --- Symmetry analysis (docs/algorithms.md 3.2 and 4; data.h DihedralGroup) -----------------
//
// M is (2q, 2q) for a task with q symbols per slot. Blocks are read in the analysis order of
// the slot symbols (block_layout): Z_p for add and sub, Z_p^* in discrete-log order for mul
// and div (residue 0 dropped), the mixed-radix index for abelian products, so that every
// structured block is circulant (or anti-circulant) over the group `layout.group`.

namespace rfm {

struct BlockLayout {
  int q = 0;                 // symbols per slot of the inputs (d = 2q)
  std::vector<int> symbols;  // position -> symbol of a slot, in analysis order
  AbelianGroup group;        // the group law of the positions
  FiniteGroup table;         // groups given as a Cayley table: used in place of `group`
};
BlockLayout block_layout(const DihedralGroup& G);

// B(r, c) = M(q * row_slot + symbols[r], q * col_slot + symbols[c]): (|symbols|, |symbols|).
// Block (1, 0) is task_block's bottom-left block.
MatrixXd slot_block(const MatrixXd& M, const BlockLayout& L, int row_slot, int col_slot);

// Circulant deviation over an abelian group A (docs/algorithms.md 3.2, 3.1 generalised):
// D = sum_k Var_r B(r, r + k) / ||B||_F^2, reversed: B(r, k - r) (anti-circulant). Equal to
// circulant_deviation for a single cyclic factor.
double group_circulant_deviation(const MatrixXd& B, const AbelianGroup& A, bool reversed);

// The class of entry (r, c) of a block, 0..q-1, such as c - r; every row meets each class once.
using BlockKey = std::function<int(int r, int c)>;
// sum_k Var_{key(r, c) = k} B(r, c) / ||B||_F^2: 0 when B is a function of its key.
double keyed_deviation(const MatrixXd& B, const BlockKey& key);

// Fourier spectrum of a block over A: B^ = F B F^H with F the unitary DFT of A (the Kronecker
// product of the factors' DFTs). The energy of frequency k is the mean of the squared norms of
// row k and column k of B^; frequencies k and -k form one class (B is real).
struct Spectrum {
  std::vector<int> freq;       // representative frequency of each class (index in A)
  std::vector<double> energy;  // share of ||B||_F^2 per class; the shares sum to 1
  double dc_share = kNaN;      // share of frequency 0
  std::vector<int> dominant;   // non-zero classes, strongest first, holding `mass` of the rest
};
Spectrum fourier_spectrum(const MatrixXd& B, const AbelianGroup& A, double mass = 0.9);
// In place of Fourier where the group is not abelian: f(g) = mean of B over key(r, c) = g, the
// coefficients of B's projection onto the matrices that are functions of the key (for the key
// r^-1 c: the group algebra of the right regular representation). freq = -1 (the constant
// part, dc_share), then every element g with the share (f(g) - mean f)^2 / ||f||^2.
Spectrum element_spectrum(const MatrixXd& B, const BlockKey& key, double mass = 0.9);

struct BlockReport {
  std::string name;  // "a,a", "b,a", ...: row slot, column slot
  int row_slot = 0, col_slot = 0;
  double norm_share = kNaN;  // ||B||_F^2 / ||M||_F^2 on the analysed coordinates
  double circ_dev = kNaN, circ_dev_rev = kNaN;
  Spectrum spectrum;
  // Cayley-table groups: circ_dev is the deviation from a function of r^-1 c or c r^-1 (the
  // better), circ_dev_rev from r c or c r, and the spectrum is element_spectrum over the best
  // of the four, named here ("r c"); empty for abelian groups (Fourier over layout.group).
  std::string key;
};
std::vector<BlockReport> block_reports(const MatrixXd& M, const BlockLayout& L);

// D^-1/2 M D^-1/2 with D = diag M (entries <= 0 are left unscaled): after it alpha of the
// identity is 1, the scale the published coefficients use.
MatrixXd normalize_by_diagonal(const MatrixXd& M);

// M restricted to G.coords: (2n, 2n), the subspace where every R_g is a permutation.
MatrixXd restrict_to_group(const MatrixXd& M, const DihedralGroup& G);
// alpha_g = <M, R_g>_F / (2n) for all 2n elements, from index maps (M: (2q, 2q)).
VectorXd group_coefficients(const Eigen::Ref<const MatrixXd>& M, const DihedralGroup& G);
// M^ = sum_g alpha_g R_g on the analysed coordinates: (2n, 2n).
MatrixXd group_projection(const VectorXd& alpha, const DihedralGroup& G);
// d_alg = ||M - P(M)||_F / ||M||_F on the analysed coordinates, P the orthogonal projection
// onto span{R_g} (sum_g alpha_g R_g where the R_g are orthogonal, as for Dih(A)).
double group_algebra_distance(const MatrixXd& M, const DihedralGroup& G);
// The subgroup generated by some elements (sorted element ids; {identity} when gens is empty).
std::vector<int> generated_subgroup(const DihedralGroup& G, const std::vector<int>& gens);
// d_comm = ||M - M_H||_F / ||M||_F with M_H = (1/|H|) sum_{g in H} R_g^T M R_g.
double commutant_distance(const MatrixXd& M, const DihedralGroup& G, const std::vector<int>& H);

// A run's task with the invariance group that fits it : Dih(A) for add, sub,
// mul, div and abelian products, G by (a g, g^-1 b) for a Cayley-table group, the affine slot
// maps that keep the labels for any other two-slot task. Throws InputError for tasks with more
// than two operand slots (multitask, compose), which have none of these groups.
struct RunTask {
  Dataset ds;
  AbelianGroup abelian;
  DihedralGroup G;
  std::string group_name;    // how a report names G
  std::string name() const;  // "add mod 61", "group S4 (order 24)"
};
RunTask run_task(const std::string& task, int p, const std::string& group);
// The invariance group of run_task alone, without the data set where the group needs none
// (every task but the polynomials and system, whose group is found by search over the data).
DihedralGroup invariance_group(const std::string& task, int p, const std::string& group);

// ||M x_i||_2 for every point: (n).
VectorXd feature_norms(const MatrixXd& M, const Inputs& X);

// Orbit test (docs/algorithms.md 4.5): the correctly predicted test points against the test points
// whose image under a reflection g is a training point.
struct OrbitResult {
  int n_test = 0, correct = 0, reflected = 0, both = 0;
  double precision = kNaN, recall = kNaN;  // both / correct, both / reflected
};
// reflected[t] = 1 when g applied to test point split.test[t] lands in split.train.
std::vector<char> reflected_test_points(const Dataset& ds, const Split& split,
                                        const DihedralGroup& G, int element);
OrbitResult orbit_scores(const std::vector<char>& correct, const std::vector<char>& reflected);
// Fits the kernel machine with M on split.train and scores its test predictions.
OrbitResult orbit_test(const MachineOptions& mo, const MatrixXd& M, const Dataset& ds,
                       const Split& split, const DihedralGroup& G, int element);

// A heatmap of A as an RGB PNG: blue (-scale) - white (0) - red (+scale), entries beyond the
// scale saturate; a colour bar with its three values on the right; grey lines every `grid`
// entries (0: none). scale <= 0 uses max |A|. Throws InputError naming the path on failure.
void write_heatmap_png(const std::string& path, const MatrixXd& A, double scale = 0, int grid = 0);

}  // namespace rfm

// --- A model on the user's data (rfm fit, the Python estimators) ----------------------------

namespace rfm {

struct FittedModel {
  RfmSummary summary;
  int iteration = -1;             // the kept iteration t
  MatrixXd M;                     // M_t: (d, d)
  MatrixXd alpha;                 // (n, c): the solve of iteration t, refitted with M_t
  std::vector<MatrixXd> history;  // M_0 .. M_{T-1} when asked for, else empty
};
// Whether iteration a fits the validation (test) points better than b: higher accuracy for
// classification, then lower mean squared error.
bool better_iteration(const IterationStats& a, const IterationStats& b, bool classification);
// The problem of a user's data set: X (n, d), Y (n, c), validation points X_val, Y_val (none
// when X_val has no rows) in the test slots. Inputs that are all one-hot keep the one-hot path.
RfmProblem fit_problem(const MatrixXd& X, const MatrixXd& Y, const MatrixXd& X_val,
                       const MatrixXd& Y_val, bool classification);
// Runs RFM from M_0 = I and keeps the iteration that fits problem.X_test best (the last one when
// there are no such points), with its alpha. callbacks see every iteration, as in run_rfm.
FittedModel fit_model(const RfmOptions& options, const RfmProblem& problem,
                      const std::vector<IterationCallback>& callbacks, bool keep_history);

}  // namespace rfm
