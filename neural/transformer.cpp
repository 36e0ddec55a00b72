// The one-layer transformer of Nanda et al. 2023 (REFERENCE.md section 5): not yet written.
#include "neural/neural.h"

namespace rfm {

TrainSummary train_transformer(const TrainOptions&, const NeuralProblem&,
                               const std::vector<EpochCallback>&) {
  throw InputError("--model transformer is not implemented yet (issue 6)");
}

}  // namespace rfm
