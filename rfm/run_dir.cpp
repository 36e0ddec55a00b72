// Run directory files: metrics.csv and summary.json (rfm.h; README.md, "A run directory").
#include <cmath>
#include <sstream>

#include "rfm/rfm.h"

namespace rfm {

namespace {

std::string num(double v) {
  if (std::isnan(v)) return "nan";
  return strfmt("%.10g", v);
}

nlohmann::json json_num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }

}  // namespace

std::string metrics_csv(const std::vector<IterationStats>& rows) {
  std::ostringstream out;
  out << "iter,train_acc,test_acc,train_mse,test_mse,circ_dev,circ_dev_rev,agop_align,"
         "agop_align_nodiag,seconds,solver,fallback";
  if (!rows.empty())
    for (const auto& [name, value] : rows.front().extra) out << ',' << name;
  out << '\n';
  for (const IterationStats& r : rows) {
    out << r.iter << ',' << num(r.train_acc) << ',' << num(r.test_acc) << ',' << num(r.train_mse)
        << ',' << num(r.test_mse) << ',' << num(r.circ_dev) << ',' << num(r.circ_dev_rev) << ','
        << num(r.agop_align) << ',' << num(r.agop_align_nodiag) << ',' << num(r.seconds) << ','
        << r.solver << ',' << int(r.fallback);
    for (const auto& [name, value] : r.extra) out << ',' << num(value);
    out << '\n';
  }
  return out.str();
}

nlohmann::json summary_json(const RfmSummary& s) {
  nlohmann::json j;
  j["termination"] = to_string(s.termination);
  j["message"] = s.message;
  j["iterations"] = s.iterations.size();
  const IterationStats last = s.iterations.empty() ? IterationStats{} : s.iterations.back();
  j["final"] = {{"train_acc", json_num(last.train_acc)}, {"test_acc", json_num(last.test_acc)},
                {"train_mse", json_num(last.train_mse)}, {"test_mse", json_num(last.test_mse)},
                {"circ_dev", json_num(last.circ_dev)}, {"circ_dev_rev", json_num(last.circ_dev_rev)}};
  j["first_iter_test_acc_0.5"] = s.first_iter_test_050;
  j["first_iter_test_acc_0.99"] = s.first_iter_test_099;
  j["solver_fallbacks"] = s.solver_fallbacks;
  j["seconds"] = {{"total", s.total_seconds},      {"gram", s.phase_seconds.gram},
                  {"solve", s.phase_seconds.solve}, {"agop", s.phase_seconds.agop},
                  {"update", s.update_seconds},     {"eval", s.eval_seconds}};
  return j;
}

void write_run_results(const std::string& dir, const RfmSummary& summary) {
  if (summary.M_final.size() > 0) npy_save(dir + "/M_final.npy", summary.M_final);
  write_text_atomic(dir + "/metrics.csv", metrics_csv(summary.iterations));
  write_text_atomic(dir + "/summary.json", summary_json(summary).dump(2) + "\n");
}

}  // namespace rfm
