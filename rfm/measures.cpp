// Progress measures of feature matrices (rfm.h; docs/algorithms.md 3.1 and 3.3).
#include <cmath>

#include "rfm/rfm.h"

namespace rfm {

double circulant_deviation(const MatrixXd& A, bool reversed) {
  const Eigen::Index q = A.rows();
  RFM_ASSERT(A.cols() == q && q > 0);
  const double norm2 = A.squaredNorm();
  if (norm2 == 0) return 0;
  // S[r, k] = A[r, (r + k) mod q] (on the column-reversed A when reversed): each wrapped
  // diagonal becomes a column, and a circulant A has constant columns.
  double var_sum = 0;
  for (Eigen::Index k = 0; k < q; ++k) {
    double mean = 0, sq = 0;
    for (Eigen::Index r = 0; r < q; ++r) {
      Eigen::Index col = (r + k) % q;
      double v = A(r, reversed ? q - 1 - col : col);
      mean += v;
      sq += v * v;
    }
    mean /= q;
    var_sum += std::max(0.0, sq / q - mean * mean);
  }
  return var_sum / norm2;
}

MatrixXd task_block(const MatrixXd& M, int p, Op op) {
  RFM_CHECK(M.rows() >= 2 * p && M.cols() >= 2 * p,
            "feature matrix is %dx%d, too small for p = %d (needs %dx%d)", int(M.rows()),
            int(M.cols()), p, 2 * p, 2 * p);
  MatrixXd A = M.block(p, 0, p, p);  // rows: second operand, columns: first operand
  if (op == Op::add || op == Op::sub) return A;
  const std::vector<int> order = discrete_log_order(p);
  MatrixXd B(p - 1, p - 1);
  for (int i = 0; i < p - 1; ++i)
    for (int j = 0; j < p - 1; ++j) B(i, j) = A(order[i], order[j]);
  return B;
}

double cosine_similarity(const MatrixXd& A, const MatrixXd& B, bool nodiag) {
  MatrixXd a = A, b = B;
  if (nodiag) {
    a.diagonal().setZero();
    b.diagonal().setZero();
  }
  const double na = a.norm(), nb = b.norm();
  return na > 0 && nb > 0 ? a.cwiseProduct(b).sum() / (na * nb) : kNaN;
}

}  // namespace rfm
