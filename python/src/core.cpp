// rfm._core: the engine's C++ libraries as a Python module (nanobind). Two kinds of entry:
//
// - run_cli runs an `rfm` subcommand in this process, the same code as the program, so that
//   rfm.grok and `rfm grok` give the same bits. Python's SIGINT handling stays in charge: the
//   engine's own handlers are off, and a hook after every iteration checks for KeyboardInterrupt
//   (the run then stops as after Ctrl-C, resumable) and calls the user's callback.
// - fit_model, predict and the group analysis work on arrays in memory.
//
// Arrays: float64 matrices come in as column-major views where numpy's layout allows (no copy);
// other layouts and dtypes are converted by nanobind. Matrices going out are handed over without
// a copy: numpy gets the engine's own buffer, owned by a capsule. The GIL is released while the
// engine computes. Errors of the engine (rfm::Error) become ValueError with the message the
// command line prints after "rfm: error: ".
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "apps/cli.h"
#include "apps/signals.h"
#include "data/data.h"
#include "rfm/rfm.h"

namespace nb = nanobind;
using namespace nb::literals;

namespace rfm {

namespace {

// --- Arrays ---------------------------------------------------------------------------------

// Any numpy array on the CPU: every dtype and layout, checked and converted by the engine itself
// so that bad input gets the command line's message (the array's name in place of the file's).
using AnyArray = nb::ndarray<nb::ro, nb::device::cpu>;
using OutArray = nb::ndarray<nb::numpy, double, nb::ndim<2>, nb::f_contig>;

// The .npy dtype string of an array ("<f8", "|u1", "<c16", ...).
std::string npy_descr(const AnyArray& a) {
  const auto t = a.dtype();
  const char* kind = "?";
  switch (static_cast<nb::dlpack::dtype_code>(t.code)) {
    case nb::dlpack::dtype_code::Int:
      kind = "i";
      break;
    case nb::dlpack::dtype_code::UInt:
      kind = "u";
      break;
    case nb::dlpack::dtype_code::Float:
      kind = "f";
      break;
    case nb::dlpack::dtype_code::Bool:
      kind = "b";
      break;
    case nb::dlpack::dtype_code::Complex:
      kind = "c";
      break;
    default:
      break;
  }
  const size_t bytes = a.itemsize();
  return std::string(bytes == 1 ? "|" : "<") + kind + std::to_string(bytes);
}

bool f_contiguous(const AnyArray& a) {
  return a.ndim() == 2 && (a.shape(0) <= 1 || a.stride(0) == 1) &&
         (a.shape(1) <= 1 || a.stride(1) == static_cast<int64_t>(a.shape(0)));
}

// The array as an in-memory .npy (C order, or Fortran order when it is F-contiguous), then the
// same conversion and checks as an .npy file: dtype, dimensions, NaN and Inf.
MatrixXd to_matrix(const AnyArray& a, const std::string& name) {
  NpyArray npy;
  npy.descr = npy_descr(a);
  for (size_t k = 0; k < a.ndim(); ++k) npy.shape.push_back(static_cast<int64_t>(a.shape(k)));
  const size_t item = a.itemsize(), count = a.size();
  npy.bytes.resize(item * count);
  const char* data = static_cast<const char*>(a.data());
  npy.fortran_order = f_contiguous(a);
  if (npy.fortran_order) {
    std::memcpy(npy.bytes.data(), data, item * count);
  } else {  // C order, element by element through the strides (any view numpy hands over)
    std::vector<size_t> index(a.ndim(), 0);
    for (size_t e = 0; e < count; ++e) {
      int64_t at = 0;
      for (size_t k = 0; k < a.ndim(); ++k) at += static_cast<int64_t>(index[k]) * a.stride(k);
      std::memcpy(npy.bytes.data() + e * item, data + at * static_cast<int64_t>(item), item);
      for (size_t k = a.ndim(); k-- > 0;) {
        if (++index[k] < a.shape(k)) break;
        index[k] = 0;
      }
    }
  }
  return npy_matrix(npy, name);
}

// f(M) with M the array as a column-major matrix: numpy's own memory when the array is float64
// and Fortran-ordered (no copy; a symmetric C-ordered M may be passed as M.T), else a converted
// copy.
template <typename F>
auto with_matrix(const AnyArray& a, const std::string& name, F&& f) {
  if (f_contiguous(a) && a.dtype() == nb::dtype<double>()) {
    const Eigen::Map<const MatrixXd> M(static_cast<const double*>(a.data()),
                                       static_cast<Eigen::Index>(a.shape(0)),
                                       static_cast<Eigen::Index>(a.shape(1)));
    check_finite(M, false, name);
    return f(M);
  }
  const MatrixXd M = to_matrix(a, name);
  return f(M);
}

// Moves the matrix to the heap and gives numpy its buffer (column-major: Fortran order).
OutArray hand_over(MatrixXd&& m) {
  auto* owned = new MatrixXd(std::move(m));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<MatrixXd*>(p); });
  return OutArray(owned->data(),
                  {static_cast<size_t>(owned->rows()), static_cast<size_t>(owned->cols())}, owner);
}

nb::ndarray<nb::numpy, double, nb::ndim<1>> hand_over(VectorXd&& v) {
  auto* owned = new VectorXd(std::move(v));
  nb::capsule owner(owned, [](void* p) noexcept { delete static_cast<VectorXd*>(p); });
  return {owned->data(), {static_cast<size_t>(owned->size())}, owner};
}

// --- The command line in this process ---------------------------------------------------------

// Redirects file descriptor 1 to a temporary file while alive; text() is what was written.
class CapturedStdout {
 public:
  CapturedStdout() {
    std::fflush(stdout);
    file_ = std::tmpfile();
    RFM_CHECK(file_ != nullptr, "cannot create a temporary file for the output");
    saved_ = dup(STDOUT_FILENO);
    dup2(fileno(file_), STDOUT_FILENO);
  }
  ~CapturedStdout() {
    restore();
    if (file_) std::fclose(file_);
  }
  std::string text() {
    restore();
    std::rewind(file_);
    std::string out;
    char buf[4096];
    for (size_t k; (k = std::fread(buf, 1, sizeof buf, file_)) > 0;) out.append(buf, k);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stdout);
    dup2(saved_, STDOUT_FILENO);
    close(saved_);
    saved_ = -1;
  }
  std::FILE* file_ = nullptr;
  int saved_ = -1;
};

// Returns (status, error message, captured standard output). callback(stats_json) after every
// iteration of `grok`; it returns False to stop the run. A Python exception in the callback, or
// KeyboardInterrupt, stops the run after the current iteration and is raised once it has ended
// (the run directory is then resumable).
nb::tuple run_cli_py(const std::vector<std::string>& args, nb::object callback, bool capture) {
  std::vector<std::string> words = {"rfm"};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  std::optional<nb::python_error> raised;
  set_stop_handlers_enabled(false);
  clear_stop();
  set_iteration_hook([&](const IterationStats& s, const MatrixXd&) {
    nb::gil_scoped_acquire gil;
    try {
      if (PyErr_CheckSignals() != 0) throw nb::python_error();
      if (callback.is_none()) return true;
      return nb::cast<bool>(nb::bool_(callback(iteration_json(s).dump())));
    } catch (nb::python_error& e) {
      request_stop(e.matches(PyExc_KeyboardInterrupt) ? SIGINT : SIGTERM);
      raised.emplace(std::move(e));
      return false;
    }
  });
  int status = 0;
  std::string error, output;
  {
    std::optional<CapturedStdout> out;
    if (capture) out.emplace();
    {
      nb::gil_scoped_release no_gil;
      status = run_cli(static_cast<int>(words.size()), argv.data(), &error);
    }
    if (out) output = out->text();
  }
  set_iteration_hook({});
  clear_stop();
  if (raised) throw *raised;
  return nb::make_tuple(status, error, output);
}

// --- Models on arrays ---------------------------------------------------------------------------

RfmOptions rfm_options(const nb::dict& o) {
  RfmOptions r;
  r.kernel.type = kernel_from_string(nb::cast<std::string>(o["kernel"]));
  r.kernel.bandwidth = nb::cast<double>(o["bandwidth"]);
  r.solve.ridge = nb::cast<double>(o["ridge"]);
  r.solve.precision = precision_from_string(nb::cast<std::string>(o["precision"]));
  r.iters = nb::cast<int>(o["iters"]);
  r.power = nb::cast<double>(o["power"]);
  r.agop.centering = nb::cast<bool>(o["centering"]);
  r.normalize = normalize_from_string(nb::cast<std::string>(o["normalize"]));
  r.agop_samples = nb::cast<int>(o["agop_samples"]);
  r.agop_seed = nb::cast<uint64_t>(o["seed"]);
  std::string notice;
  r.backend = backend_from_device(nb::cast<std::string>(o["device"]), r.solve.precision, &notice);
  r.validate();
  return r;
}

// X (n, d) with targets Y (n, c); optional validation points. Returns M, alpha, the kept
// iteration, the rows of every iteration (JSON text each) and, when asked, M_0 .. M_{T-1}.
nb::dict fit_model_py(const AnyArray& X_in, const AnyArray& Y_in, std::optional<AnyArray> X_val_in,
                      std::optional<AnyArray> Y_val_in, bool classification,
                      const nb::dict& options, bool keep_history) {
  const RfmOptions opt = rfm_options(options);
  const MatrixXd X = to_matrix(X_in, "X"), Y = to_matrix(Y_in, "y");
  RFM_CHECK(X.rows() == Y.rows(), "X has %d rows but y has %d", int(X.rows()), int(Y.rows()));
  RFM_CHECK(X_val_in.has_value() == Y_val_in.has_value(), "X_val and y_val go together");
  MatrixXd X_val, Y_val;
  if (X_val_in) {
    X_val = to_matrix(*X_val_in, "X_val");
    Y_val = to_matrix(*Y_val_in, "y_val");
    RFM_CHECK(X_val.cols() == X.cols(), "X_val has %d columns but X has %d", int(X_val.cols()),
              int(X.cols()));
    RFM_CHECK(X_val.rows() == Y_val.rows(), "X_val has %d rows but y_val has %d", int(X_val.rows()),
              int(Y_val.rows()));
    RFM_CHECK(Y_val.cols() == Y.cols(), "y_val has %d outputs but y has %d", int(Y_val.cols()),
              int(Y.cols()));
  }
  const RfmProblem pb = fit_problem(X, Y, X_val, Y_val, classification);
  std::optional<nb::python_error> raised;
  IterationCallback interrupt = [&](const IterationStats&, const MatrixXd&) {
    nb::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() == 0) return Decision::proceed;
    raised.emplace();
    return Decision::stop;
  };
  FittedModel model;
  {
    nb::gil_scoped_release no_gil;
    model = fit_model(opt, pb, {interrupt}, keep_history);
  }
  if (raised) throw *raised;
  std::vector<std::string> rows;
  for (const IterationStats& s : model.summary.iterations) rows.push_back(iteration_json(s).dump());
  nb::list history;
  for (MatrixXd& M : model.history) history.append(hand_over(std::move(M)));
  nb::dict out;
  out["M"] = hand_over(std::move(model.M));
  out["alpha"] = hand_over(std::move(model.alpha));
  out["iteration"] = model.iteration;
  out["rows"] = rows;
  out["history"] = history;
  out["termination"] = std::string(to_string(model.summary.termination));
  out["message"] = model.summary.message;
  return out;
}

// K_M(Z, X) alpha: (m, c).
OutArray predict_py(const std::string& kernel, double bandwidth, const AnyArray& M_in,
                    const AnyArray& alpha_in, const AnyArray& X_in, const AnyArray& Z_in) {
  const Kernel k{kernel_from_string(kernel), bandwidth};
  const MatrixXd M = to_matrix(M_in, "M"), alpha = to_matrix(alpha_in, "alpha");
  const MatrixXd X = to_matrix(X_in, "X_fit"), Z = to_matrix(Z_in, "X");
  RFM_CHECK(Z.cols() == X.cols(), "X has %d features, the model was fitted on %d", int(Z.cols()),
            int(X.cols()));
  RFM_CHECK(M.rows() == X.cols() && M.cols() == X.cols() && alpha.rows() == X.rows(),
            "the model does not fit its data: M %dx%d, alpha %dx%d, X %dx%d", int(M.rows()),
            int(M.cols()), int(alpha.rows()), int(alpha.cols()), int(X.rows()), int(X.cols()));
  MatrixXd P;
  {
    nb::gil_scoped_release no_gil;
    P = predict(k, Inputs::from_dense(X), alpha, M, Inputs::from_dense(Z));
  }
  return hand_over(std::move(P));
}

// --- Group analysis of a matrix held in Python ---------------------------------------------------

// The invariance group of a task, as `rfm inspect` builds it (rfm.h invariance_group).
DihedralGroup task_group(const std::string& task, int p, const std::string& group) {
  return invariance_group(task, p, group);
}

// M must be (d, d) with d = 2q, checked with the message of `rfm inspect` (M named "M").
void check_feature_matrix(const AnyArray& M, const DihedralGroup& G, const std::string& group) {
  if (M.ndim() != 2) return;  // to_matrix names the dimensions
  const std::string label =
      G.task == "group" ? "group " + group : G.task + " mod " + std::to_string(G.q);
  RFM_CHECK(M.shape(0) == size_t(2 * G.q) && M.shape(1) == size_t(2 * G.q),
            "M is %dx%d, but %s has d = %d inputs", int(M.shape(0)), int(M.shape(1)), label.c_str(),
            2 * G.q);
}

nb::dict group_info(const std::string& task, int p, const std::string& group) {
  const DihedralGroup G = task_group(task, p, group);
  std::vector<std::string> names;
  for (int e = 0; e < G.elements(); ++e) names.push_back(G.name(e));
  nb::dict out;
  out["q"] = G.q;
  out["order"] = G.elements();
  out["names"] = names;
  out["coords"] = G.coords;
  return out;
}

}  // namespace

}  // namespace rfm

NB_MODULE(_core, m) {
  using namespace rfm;
  m.doc() = "The C++ engine of the rfm package (use the functions of rfm, not these).";
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const rfm::Error& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  m.attr("version") = RFM_VERSION;
  m.def("run_cli", &run_cli_py, "args"_a, "callback"_a = nb::none(), "capture"_a = false,
        "Runs `rfm ARGS...` in this process: (status, error line, captured stdout).");
  m.def("fit_model", &fit_model_py, "X"_a, "Y"_a, "X_val"_a.none(), "Y_val"_a.none(),
        "classification"_a, "options"_a, "keep_history"_a = false,
        "RFM on X (n, d), Y (n, c); keeps the iteration that fits the validation points best.");
  m.def("predict", &predict_py, "kernel"_a, "bandwidth"_a, "M"_a, "alpha"_a, "X"_a, "Z"_a,
        "Predictions K_M(Z, X) alpha of a fitted kernel machine: (m, c).");
  m.def("group_info", &group_info, "task"_a, "p"_a, "group"_a = "",
        "The dihedral group of a task: element names, q and the analysed coordinates.");
  m.def(
      "group_coefficients",
      [](const AnyArray& M, const std::string& task, int p, const std::string& group) {
        const DihedralGroup G = task_group(task, p, group);
        check_feature_matrix(M, G, group);
        VectorXd alpha = with_matrix(M, "M", [&](const Eigen::Ref<const MatrixXd>& m) {
          nb::gil_scoped_release no_gil;
          return group_coefficients(m, G);
        });
        return hand_over(std::move(alpha));
      },
      "M"_a, "task"_a, "p"_a, "group"_a = "",
      "alpha_g = <M, R_g>_F / ||R_g||_F^2 for every element g, read from M in place.");
  m.def(
      "group_projection",
      [](const AnyArray& alpha, const std::string& task, int p, const std::string& group) {
        const DihedralGroup G = task_group(task, p, group);
        const MatrixXd column = to_matrix(alpha, "alpha");
        RFM_CHECK(column.cols() == 1 && column.rows() == G.elements(),
                  "alpha has shape %dx%d, expected %d coefficients (one per group element)",
                  int(column.rows()), int(column.cols()), G.elements());
        VectorXd a = column.col(0);
        MatrixXd P;
        {
          nb::gil_scoped_release no_gil;
          P = group_projection(a, G);
        }
        return hand_over(std::move(P));
      },
      "alpha"_a, "task"_a, "p"_a, "group"_a = "",
      "sum_g alpha_g R_g on the analysed coordinates: (2n, 2n).");
}
