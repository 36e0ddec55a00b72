// The CUDA backend against the CPU oracle (TEST_SUITE "cuda"): every GPU routine on small
// random problems, one-hot and dense, every kernel, centring on and off, and a short RFM run on
// both devices, called through the backend module's table (cuda_api.h). Each case skips with a
// message when no CUDA device is usable (or the build has no CUDA backend).
//
// Tolerance: both backends compute the same fp64 sums in different orders (cuBLAS vs OpenBLAS,
// gathers vs GEMMs), so the differences are O(eps * terms * condition). 1e-9 relative (the
// issue's bound) leaves a wide margin for these sizes (n <= 121, well-conditioned K).
#include <dlfcn.h>
#include <doctest/doctest.h>

#include <string>

#include "kernels/cuda/cuda_api.h"
#include "kernels/kernels.h"
#include "rfm/rfm.h"
#include "tests/test_util.h"

using namespace rfm;
using rfm::test::CliResult;
using rfm::test::random_matrix;
using rfm::test::random_spd;
using rfm::test::rel_error;

TEST_SUITE("cuda") {
  TEST_CASE("--device selection without a usable device is clear") {
    std::string why;
    const bool have = cuda_available(&why);
    CHECK(have == (cuda_compiled() && why.empty()));
    std::string notice;
    CHECK(backend_from_device("cpu", Precision::fp64, &notice) == Backend::cpu);
    CHECK(notice.empty());
    CHECK(backend_from_device("cuda", Precision::fp64, &notice) == Backend::cuda);
    CHECK_THROWS_AS(backend_from_device("gpu", Precision::fp64, &notice), InputError);
    const Backend chosen = backend_from_device("auto", Precision::fp64, &notice);
    CHECK(chosen == (have ? Backend::cuda : Backend::cpu));
    CHECK(notice.empty() == have);
    CHECK(backend_from_device("auto", Precision::fp32, &notice) == Backend::cpu);
    if (have) return;
    MESSAGE("no CUDA device (" << why << "): checking the error of --device cuda");
    MachineOptions mo;
    CHECK_THROWS_AS(KernelMachine::create(mo, Backend::cuda), BackendError);
    if (!cuda_compiled()) CHECK(cuda_devices().empty());
  }

  // The CUDA libraries are the module's alone: the program does not link them and a run that
  // asks for no GPU (rfm info on a machine without a driver) does not load them.
  TEST_CASE("the rfm program loads the CUDA libraries only through the backend module") {
    const CliResult needed = test::run_shell(std::string("readelf -d ") + RFM_BINARY);
    REQUIRE(needed.status == 0);
    CHECK(needed.output.find("libopenblas") != std::string::npos);
    CHECK(needed.output.find("libcublas") == std::string::npos);
    CHECK(needed.output.find("libcudart") == std::string::npos);
    std::string why;
    if (cuda_available(&why)) return;
    const CliResult info = test::run_shell(std::string("LD_DEBUG=files ") + RFM_BINARY + " info");
    CHECK(info.status == 0);
    CHECK(info.output.find("libopenblas") != std::string::npos);  // LD_DEBUG did report loads
    CHECK(info.output.find("libcublas") == std::string::npos);
  }

  TEST_CASE("the CUDA backend module loads and checks its table's version") {
    if (!cuda_compiled()) {
      MESSAGE("built without the CUDA backend: module test skipped");
      return;
    }
    const std::string bin = RFM_BINARY;
    const std::string path = bin.substr(0, bin.rfind('/')) + "/librfm_cuda.so";
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    REQUIRE_MESSAGE(handle, dlerror());  // every symbol of the module resolves
    using EntryFn = const cuda::Module* (*)(int);
    auto entry = reinterpret_cast<EntryFn>(dlsym(handle, "rfm_cuda_module"));
    REQUIRE(bool(entry));
    CHECK(entry(cuda::kModuleAbi + 1) == nullptr);
    const cuda::Module* table = entry(cuda::kModuleAbi);
    REQUIRE(table);
    std::string why;
    const bool usable = table->available(&why);  // no driver: the CUDA runtime's own error
    CHECK(usable == why.empty());
    if (!usable) CHECK(table->devices().empty());
  }

  namespace {

  const KernelType kAllKernels[] = {KernelType::gaussian, KernelType::gaussian_paper,
                                    KernelType::laplace, KernelType::quadratic};
  constexpr double kTol = 1e-9;

  bool skip_without_gpu() {
    if (cuda_available()) return false;
    MESSAGE("no CUDA device: GPU test skipped");
    return true;
  }

  // Small problems: one-hot pairs of add mod 11 (n = 61 train, 30 other) and dense Gaussian
  // points (n = 40, d = 6).
  struct Problem {
    const char* name;
    Inputs X, Z;
    MatrixXd M, Y;
  };

  std::vector<Problem> problems() {
    std::vector<Problem> out;
    {
      Dataset ds = make_modular_task(Op::add, 11);
      std::vector<int> tr, te;
      for (int i = 0; i < ds.N(); ++i) (i % 2 == 0 ? tr : te).push_back(i);
      te.resize(30);
      const int d = ds.inputs.d;
      out.push_back({"onehot", ds.inputs.rows(tr), ds.inputs.rows(te), random_spd(d, 31, 0.5),
                     random_matrix(int(tr.size()), 11, 32)});
    }
    out.push_back({"dense", Inputs::from_dense(random_matrix(40, 6, 33)),
                   Inputs::from_dense(random_matrix(25, 6, 34)), random_spd(6, 35, 0.5),
                   random_matrix(40, 3, 36)});
    return out;
  }

  }  // namespace

  TEST_CASE("GPU pair statistics, values and weights equal the CPU ones") {
    if (skip_without_gpu()) return;
    for (const Problem& pb : problems())
      for (KernelType type : kAllKernels)
        for (bool other : {false, true})
          for (bool transposed : {false, true}) {
            CAPTURE(pb.name);
            CAPTURE(to_string(type));
            CAPTURE(other);
            CAPTURE(transposed);
            const Kernel k{type, 2.3};
            const Inputs& Z = other ? pb.Z : pb.X;
            MatrixXd S;
            pair_stats(k, pb.X, Z, pb.M, S);
            MatrixXd V = S, W = S;
            apply_values(k, V);
            apply_weights(k, W);
            using cuda::StatOutput;
            CHECK(rel_error(cuda::module()->pair_stats(k, pb.X, Z, pb.M, StatOutput::statistic,
                                                       transposed),
                            S) < kTol);
            CHECK(rel_error(
                      cuda::module()->pair_stats(k, pb.X, Z, pb.M, StatOutput::value, transposed),
                      V) < kTol);
            CHECK(rel_error(
                      cuda::module()->pair_stats(k, pb.X, Z, pb.M, StatOutput::weight, transposed),
                      W) < kTol);
          }
  }

  TEST_CASE("GPU pair statistics of one-hot training inputs against dense points") {
    if (skip_without_gpu()) return;
    const Problem pb = problems()[0];
    const Inputs Zd = Inputs::from_dense(pb.Z.dense());
    for (KernelType type : kAllKernels) {
      CAPTURE(to_string(type));
      const Kernel k{type, 1.9};
      MatrixXd W;
      pair_stats(k, pb.X, Zd, pb.M, W);
      apply_weights(k, W);
      CHECK(rel_error(cuda::module()->pair_stats(k, pb.X, Zd, pb.M, cuda::StatOutput::weight, true),
                      W) < kTol);
    }
  }

  TEST_CASE("GPU solve: Cholesky and both fallbacks equal the CPU solver") {
    if (skip_without_gpu()) return;
    const int n = 30, c = 4;
    const MatrixXd Y = random_matrix(n, c, 41);
    // SPD: Cholesky. Symmetric indefinite, nonsingular: LU. A zero row and column: exactly
    // singular for LU, solved by the pseudo-inverse (unique: the minimum-norm solution).
    MatrixXd spd = random_spd(n, 42, 0.5);
    MatrixXd B = random_matrix(n, n, 43), indefinite = B + B.transpose();
    MatrixXd singular = spd;
    singular.row(n - 1).setZero();
    singular.col(n - 1).setZero();
    struct Case {
      const char* name;
      MatrixXd A;
      double ridge;
      const char* method;
    };
    for (const Case& cs :
         {Case{"spd", spd, 0.0, "cholesky"}, Case{"spd+ridge", spd, 0.3, "cholesky"},
          Case{"indefinite", indefinite, 0.0, "lu"}, Case{"singular", singular, 0.0, "eigen"}}) {
      CAPTURE(cs.name);
      SolveOptions so;
      so.ridge = cs.ridge;
      MatrixXd A = cs.A, alpha_cpu, alpha_gpu;
      const SolveReport cpu = SpdSolver::create(so)->solve(A, Y, alpha_cpu);
      const SolveReport gpu = cuda::module()->solve(cs.A, Y, cs.ridge, alpha_gpu);
      CHECK(cpu.method == cs.method);
      CHECK(gpu.method == cpu.method);
      CHECK(gpu.fallback == cpu.fallback);
      CHECK(rel_error(alpha_gpu, alpha_cpu) < kTol);
      if (cpu.residual >= 0) CHECK(gpu.residual == doctest::Approx(cpu.residual).epsilon(1e-3));
    }
  }

  TEST_CASE("GPU machine: fit, predictions and AGOP equal the CPU machine") {
    if (skip_without_gpu()) return;
    for (const Problem& pb : problems())
      for (KernelType type : kAllKernels)
        for (bool centering : {true, false})
          for (int block : {7, 1000}) {  // several AGOP blocks, and one
            CAPTURE(pb.name);
            CAPTURE(to_string(type));
            CAPTURE(centering);
            CAPTURE(block);
            MachineOptions mo;
            mo.kernel = Kernel{type, type == KernelType::quadratic ? 1.0 : 2.7};
            mo.solve.ridge = type == KernelType::quadratic ? 1e-3 : 0.0;  // k = s^2 is low rank
            mo.agop = AgopOptions{centering, AgopPath::automatic, block};
            auto cpu = KernelMachine::create(mo, Backend::cpu);
            auto gpu =
                cuda::module()->make_machine(mo, 1);  // blocks of exactly `block` AGOP points
            cpu->set_data(pb.X, pb.Y);
            gpu->set_data(pb.X, pb.Y);
            const SolveReport rc = cpu->fit(pb.M), rg = gpu->fit(pb.M);
            CHECK(rg.method == rc.method);
            CHECK(rel_error(gpu->alpha(), cpu->alpha()) < kTol);
            CHECK(rel_error(gpu->predict(pb.X), cpu->predict(pb.X)) < kTol);
            CHECK(rel_error(gpu->predict(pb.Z), cpu->predict(pb.Z)) < kTol);
            CHECK(rel_error(gpu->agop(pb.X), cpu->agop(pb.X)) < kTol);
            CHECK(rel_error(gpu->agop(pb.Z), cpu->agop(pb.Z)) < kTol);
            CHECK(gpu->backend() == Backend::cuda);
          }
  }

  TEST_CASE("GPU dense AGOP route on one-hot inputs equals the one-hot route") {
    if (skip_without_gpu()) return;
    const Problem pb = problems()[0];
    MachineOptions mo;
    mo.agop.path = AgopPath::dense;
    auto gpu_dense = cuda::module()->make_machine(mo, 1);
    mo.agop.path = AgopPath::onehot;
    auto gpu_hot = cuda::module()->make_machine(mo, 1);
    gpu_dense->set_data(pb.X, pb.Y);
    gpu_hot->set_data(pb.X, pb.Y);
    gpu_dense->fit(pb.M);
    gpu_hot->fit(pb.M);
    CHECK(rel_error(gpu_dense->agop(pb.X), gpu_hot->agop(pb.X)) < kTol);
  }

  TEST_CASE("a short RFM run gives the same curve on both devices") {
    if (skip_without_gpu()) return;
    Dataset ds = make_modular_task(Op::add, 13);
    Split s = random_split(ds.N(), 0.5, 3);
    RfmProblem pb{ds.inputs.rows(s.train), ds.inputs.rows(s.test),
                  one_hot_labels(ds.labels, s.train, ds.c),
                  one_hot_labels(ds.labels, s.test, ds.c)};
    RfmOptions o;
    o.iters = 4;
    const MatrixXd M0 = MatrixXd::Identity(ds.inputs.d, ds.inputs.d);
    o.backend = Backend::cpu;
    const RfmSummary cpu = run_rfm(o, pb, M0, {}, {});
    o.backend = Backend::cuda;
    const RfmSummary gpu = run_rfm(o, pb, M0, {}, {});
    REQUIRE(cpu.iterations.size() == gpu.iterations.size());
    for (size_t t = 0; t < cpu.iterations.size(); ++t) {
      CAPTURE(t);
      CHECK(gpu.iterations[t].train_acc == cpu.iterations[t].train_acc);
      CHECK(gpu.iterations[t].test_acc == cpu.iterations[t].test_acc);
      CHECK(gpu.iterations[t].test_mse ==
            doctest::Approx(cpu.iterations[t].test_mse).epsilon(1e-9));
    }
    // M = G^(1/2) maps an error delta of a near-zero eigenvalue of G to sqrt(delta): after a few
    // iterations 1e-9 in the AGOP can show as ~1e-6 in M, so M is compared at that level.
    CHECK(rel_error(gpu.M_final, cpu.M_final) < 1e-6);
  }

}  // TEST_SUITE("cuda")
