// solvers/: symmetric positive definite systems (K + ridge I) alpha = Y.
//
// K is an RFM kernel matrix (n, n), Y the targets (n, c); both column-major. A solver is
// created once per run and reuses its buffers across iterations. A numerical failure (a
// matrix that is not positive definite to working precision) is not an error: the solver
// falls back to pivoted LU, then to an eigendecomposition with a tiny ridge, and says so in
// its SolveReport, a status the caller records. Precision policy (docs/algorithms.md 2.2): fp64
// Cholesky; fp32 Cholesky; mixed = fp32 factor refined to fp64 accuracy by iterative
// refinement on the fp64 matrix.
#pragma once

#include <memory>
#include <string>

#include "data/data.h"

namespace rfm {

enum class Precision { fp64, fp32, mixed };
const char* to_string(Precision p);
Precision precision_from_string(const std::string& name);

struct SolveOptions {
  /// Ridge added to the diagonal of K (0 = interpolation, the reference default).
  double ridge = 0.0;
  /// Arithmetic of the factorisation.
  Precision precision = Precision::fp64;
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
