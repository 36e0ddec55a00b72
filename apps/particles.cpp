// `rfm particles`: the particle simulation of Musat's 2-D embedding model (docs/algorithms.md
// 5.4, project definition in neural.h). Prints the settings, the energy every 100 steps
// and the shape measures, and writes positions.npy, summary.json and particles.png.
#include <cstdio>

#include "apps/commands.h"
#include "apps/report.h"
#include "neural/neural.h"

namespace rfm {

namespace {

struct ParticlesCliOptions {
  ParticleOptions sim;
  std::string out = "runs/particles";
  int image = 240;  // side in pixels of the picture without gnuplot
};

// A rasterised scatter plot: 1 on 5x5 dots at the particles, 0 elsewhere. P (2, N).
MatrixXd raster(const MatrixXd& P, int side) {
  MatrixXd img = MatrixXd::Zero(side, side);
  const double r = std::max(P.cwiseAbs().maxCoeff(), 1e-12) * 1.15;
  for (int i = 0; i < P.cols(); ++i) {
    const int x = int((P(0, i) / r + 1) / 2 * (side - 1)),
              y = int((1 - P(1, i) / r) / 2 * (side - 1));
    for (int dy = -2; dy <= 2; ++dy)
      for (int dx = -2; dx <= 2; ++dx)
        if (y + dy >= 0 && y + dy < side && x + dx >= 0 && x + dx < side) img(y + dy, x + dx) = 1;
  }
  return img;
}

// The end positions as a scatter plot with real axes, each particle labelled with its residue,
// through gnuplot (the script stays as DIR/particles.gp); without gnuplot, raster's dots.
void write_picture(const ParticlesCliOptions& o, const ParticleSummary& sum) {
  const std::string png = o.out + "/particles.png";
  if (!have_gnuplot()) {
    write_heatmap_png(png, raster(sum.positions, o.image), 1.0);
    return;
  }
  const ParticleOptions& s = o.sim;
  std::string gp = "# rfm particles: the end positions (run: gnuplot particles.gp)\n";
  gp += gnuplot_terminal("png", 720, 720);
  gp +=
      "set output 'particles.png.tmp'\nset size ratio -1\nset key off\nset grid\n"
      "set offsets graph 0.08, graph 0.08, graph 0.08, graph 0.08\n"
      "set xzeroaxis lt -1 lw 0.5\nset yzeroaxis lt -1 lw 0.5\n"
      "set xlabel 'x (first coordinate of e_a)'\nset ylabel 'y (second coordinate of e_a)'\n";
  gp +=
      "set title " +
      gnuplot_quote(strfmt("%d particles, %d steps: radius cv %.3f, top frequency %d (share %.2f)",
                           s.N, s.steps, sum.radius_cv, sum.top_freq, sum.top_freq_share)) +
      " font ',11'\n$P << EOD\n";
  for (Eigen::Index a = 0; a < sum.positions.cols(); ++a)
    gp += strfmt("%.9g %.9g %d\n", sum.positions(0, a), sum.positions(1, a), int(a));
  gp +=
      "EOD\nplot $P using 1:2 with points pt 7 ps 1.5 lc rgb '#b2182b', "
      "$P using 1:2:3 with labels offset 1.2,1.2 font ',10'\n";
  run_gnuplot(o.out, "particles.gp", gp, {"particles.png"});
}

void run_particles(const ParticlesCliOptions& o) {
  const ParticleOptions& s = o.sim;
  std::printf(
      "rfm particles: N %d, %d steps, lr %g, attract %g, repel %g (sigma %g), weight "
      "decay %g, init scale %g, seed %llu\n",
      s.N, s.steps, s.lr, s.k_attract, s.k_repel, s.sigma, s.weight_decay, s.init_scale,
      (unsigned long long)s.seed);
  const ParticleSummary sum = simulate_particles(s);
  for (size_t i = 0; i < sum.energy.size(); ++i)
    if (i % 5 == 0 || i + 1 == sum.energy.size())
      std::printf("  step %5d  energy %.6e\n", i + 1 == sum.energy.size() ? s.steps : int(i) * 100,
                  sum.energy[i]);
  make_dirs(o.out);
  npy_save(o.out + "/positions.npy", sum.positions);
  write_picture(o, sum);
  const nlohmann::json j = {{"N", s.N},
                            {"steps", s.steps},
                            {"radius_cv", sum.radius_cv},
                            {"top_freq", sum.top_freq},
                            {"top_freq_share", sum.top_freq_share},
                            {"final_energy", sum.energy.back()},
                            {"seconds", sum.seconds}};
  write_text_atomic(o.out + "/summary.json", j.dump(2) + "\n");
  std::printf(
      "radius cv %.4f (0 on a circle), top frequency %d with share %.4f (1: an ordered "
      "circle), %.2f s; wrote %s/particles.png\n",
      sum.radius_cv, sum.top_freq, sum.top_freq_share, sum.seconds, o.out.c_str());
}

}  // namespace

static void setup_particles(CLI::App& app) {
  auto o = std::make_shared<ParticlesCliOptions>();
  ParticleOptions& s = o->sim;
  CLI::App* sub = app.add_subcommand(
      "particles", "Particle simulation of the 2-D embedding model (Musat): picture of the end");
  sub->footer("Example:\n  rfm particles --n 17 --steps 3000 --out runs/particles");
  sub->add_option("--n", s.N, "Particles (the modulus)")->capture_default_str();
  sub->add_option("--steps", s.steps, "Gradient-descent steps")->capture_default_str();
  sub->add_option("--lr", s.lr, "Step size")->capture_default_str();
  sub->add_option("--attract", s.k_attract, "Spring strength between equal labels")
      ->capture_default_str();
  sub->add_option("--repel", s.k_repel, "Gaussian repulsion between different labels")
      ->capture_default_str();
  sub->add_option("--sigma", s.sigma, "Length scale of the repulsion")->capture_default_str();
  sub->add_option("--weight-decay", s.weight_decay, "Pull to the origin")->capture_default_str();
  sub->add_option("--init-scale", s.init_scale, "Std of the initial positions")
      ->capture_default_str();
  sub->add_option("--seed", s.seed, "Seed of the initial positions")->capture_default_str();
  sub->add_option("--out", o->out, "Output directory")->capture_default_str();
  sub->callback([o] { run_particles(*o); });
}

RFM_COMMAND(particles, setup_particles);

}  // namespace rfm
