// solvers/: symmetric positive definite systems (K + ridge I) alpha = Y.
//
// K is an RFM kernel matrix (n, n), Y the targets (n, c); both column-major. A solver is
// created once per run and reuses its buffers across iterations. A numerical failure (a
// matrix that is not positive definite to working precision) is not an error: the solver
// falls back to pivoted LU, then to an eigendecomposition with a tiny ridge, and says so in
// its SolveReport, a status the caller records. Precision policy (docs/algorithms.md 2.2): fp64
// Cholesky; fp32 Cholesky; mixed = fp32 factor refined to fp64 accuracy by iterative
// refinement on the fp64 matrix; auto = mixed where it is predicted to pay, else fp64.
#pragma once

#include <memory>
#include <string>

#include "data/data.h"

namespace rfm {

enum class Precision { fp64, fp32, mixed, automatic };
const char* to_string(Precision p);  // automatic: "auto"
Precision precision_from_string(const std::string& name);

/// A mixed solve's predicted cost over an fp64 solve's, for n equations with c right-hand sides
/// and `steps` refinement steps: the fp32 factor and substitutions at twice the fp64 rate, then
/// steps + 1 fp64 residuals (2 n^2 c flops each) and `steps` fp32 corrections (2 n^2 c):
///   (n^3/6 + (3 steps + 3) n^2 c) / (n^3/3 + 2 n^2 c).
double mixed_cost_ratio(double n, double c, int steps);

/// What auto runs: mixed where mixed_cost_ratio(n, c, steps) <= 0.75 and n >= 2048 (below, the
/// fp32 factor does not reach twice the fp64 rate), else fp64. The ratio is 0.5 for one
/// right-hand side and crosses 0.75 near c = n / 90 with two steps, so the modular tasks
/// (c = p, n = frac p^2) stay fp64 up to p of about 180 at frac 0.5; regression and few-class
/// fits on thousands of points go mixed.
Precision auto_precision(double n, double c, int steps = 2);

/// The precision a solve of n equations and c right-hand sides starts in: auto's choice, or p.
Precision starting_precision(Precision p, double n, double c);

/// For run headers: the precision's name, or for auto its choice and why, e.g. "auto: mixed
/// (mixed predicted at 0.50x fp64 for n = 8000, c = 1)".
std::string precision_note(Precision p, double n, double c);

struct SolveOptions {
  /// Ridge added to the diagonal of K (0 = interpolation, the reference default).
  double ridge = 0.0;
  /// Arithmetic of the factorisation. auto decides at every solve from n, c and the steps the
  /// last mixed solve took (auto_precision), and stays fp64 once a mixed solve fell back.
  Precision precision = Precision::automatic;
  /// Mixed precision: most refinement steps, and a relative residual that ends them early
  /// (they end anyway once the residual is at the level of an fp64 solve).
  int max_refine_steps = 10;
  double refine_tol = 1e-13;
  /// fp64 Cholesky schedule: chosen by n (automatic: lookahead up to n = 3072, else blocked),
  /// or forced, for tests and benchmarks.
  enum class Schedule { automatic, lookahead, blocked } schedule = Schedule::automatic;
};

struct SolveReport {
  std::string method;     // "cholesky", "cholesky-fp32", "cholesky-mixed", "lu", "eigen"
  bool fallback = false;  // true when the Cholesky factorisation failed
  std::string message;    // why a fallback happened, empty otherwise
  int refine_steps = 0;   // mixed precision only
  double residual = -1;   // ||Y - (K + ridge I) alpha||_F / ||Y||_F when computed, else -1
};

class SpdSolver {
 public:
  virtual ~SpdSolver() = default;
  static std::unique_ptr<SpdSolver> create(const SolveOptions& options);
  // Solves (A + ridge I) alpha = Y. A: (n, n) symmetric with both triangles filled (the solvers
  // factor its lower triangle). A is factored in place and restored before return: its upper
  // triangle and diagonal bit for bit, its lower triangle as the transpose of the upper (equal to
  // the input when that was exactly symmetric), so the caller needs no second (n, n) copy of K.
  // Y: (n, c). alpha: resized to (n, c).
  virtual SolveReport solve(MatrixXd& A, const MatrixXd& Y, MatrixXd& alpha) = 0;
};

// ||Y - (A + ridge I) X||_F / ||Y||_F with A symmetric (upper triangle read).
double relative_residual(const MatrixXd& A, double ridge, const MatrixXd& X, const MatrixXd& Y);

// Symmetric matrix power G^s by eigendecomposition, negative eigenvalues clamped to 0
// (docs/algorithms.md 2.3). G: (d, d) symmetric.
MatrixXd sym_power(const MatrixXd& G, double s);

// BLAS and its threads, for reports: e.g. "OpenBLAS 0.3.21 (Haswell, 2 threads)".
std::string blas_description();
void set_blas_threads(int threads);

// The OpenBLAS core type this CPU deserves when the library's own detection fell back to a
// generic one (OpenBLAS 0.3.21 does not know Sapphire Rapids and picks Prescott, SSE3 kernels at
// a third of the speed): "SkylakeX" with AVX-512, "Haswell" with AVX2 and FMA, else nullptr.
// Read through OPENBLAS_CORETYPE when the library loads, so main() re-executes with it.
const char* blas_better_coretype();
int blas_threads();

// OpenBLAS single-threaded while alive (and its thread count restored after): for BLAS calls
// made from several OpenMP threads at once, each on its own part of the work, and for problems
// too small to share (`active` false: no change).
class SerialBlas {
 public:
  explicit SerialBlas(bool active = true) : before_(blas_threads()) {
    if (active) set_blas_threads(1);
  }
  ~SerialBlas() { set_blas_threads(before_); }
  SerialBlas(const SerialBlas&) = delete;
  SerialBlas& operator=(const SerialBlas&) = delete;

 private:
  int before_;
};

}  // namespace rfm
