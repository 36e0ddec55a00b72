// `rfm compare RUN_A RUN_B`: any two learners on one task (RFM, MLP, transformer, embed2d):
// their progress on a common axis (the fraction of each run) with the transition points, the
// Pearson correlation of their feature matrices on the inputs, and block by block the share,
// circulant deviation and spectrum of each (docs/algorithms.md 3.1, 3.2 and 5.1).
//
// The feature matrix of each learner on the inputs x = e_a (+) e_b (project definitions):
// - RFM: M_final;
// - MLP: its NFM W1^T W1 and sqrt(AGOP);
// - transformer: the Gram matrix W_in^T W_in of its position-summed input map, W_in e_(slot s,
//   symbol u) = W_E e_u + W_pos e_s (what the residual stream receives), whose diagonal blocks
//   are the token-embedding Gram W_E^T W_E shifted by the position;
// - embed2d: the Gram matrix of its 2-D embedding, shared by both slots.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/commands.h"
#include "apps/report.h"
#include "neural/neural.h"
#include "rfm/rfm.h"

namespace rfm {

namespace {

namespace fs = std::filesystem;

struct CompareOptions {
  std::string run_a, run_b;
  std::string out;   // optional compare.json
  std::string page;  // optional directory for compare.html and its pictures
};

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  RFM_CHECK(in.good(), "cannot read %s", path.c_str());
  const nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  RFM_CHECK(!j.is_discarded(), "%s is not valid JSON", path.c_str());
  return j;
}

// A learner's metrics.csv (report.h), read cell by cell: NaN where the column is missing.
double cell(const MetricsTable& t, size_t row, const std::string& name) {
  const auto it = t.cols.find(name);
  return it == t.cols.end() || row >= it->second.size() ? kNaN : it->second[row];
}

// --- One learner ------------------------------------------------------------------------------

struct Learner {
  std::string dir, kind, x;  // kind: rfm, mlp, transformer, embed2d; x: iter or epoch
  nlohmann::json cfg, summary;
  MetricsTable curve;
  std::vector<std::pair<std::string, MatrixXd>> inputs;  // (d, d) feature matrices
  MatrixXd embed_gram;           // (q, q) token-embedding Gram (transformer, embed2d), else empty
  int transition[2] = {-1, -1};  // first x with test acc >= 0.5, >= 0.99 (-1: never)

  double length() const { return cell(curve, curve.rows() - 1, x); }
  std::string label(const std::string& matrix) const { return kind_name() + " " + matrix; }
  std::string kind_name() const { return kind == "rfm" ? "RFM" : kind; }
};

MatrixXd load(const std::string& dir, const char* name) {
  const std::string path = dir + "/" + name + ".npy";
  RFM_CHECK(fs::exists(path), "%s has no %s.npy", dir.c_str(), name);
  return npy_load(path);
}

// W_in^T W_in with W_in = [W_E[:, 0:q] + W_pos e_0 1^T, W_E[:, 0:q] + W_pos e_1 1^T]: (2q, 2q).
MatrixXd input_gram(const MatrixXd& W_E, const MatrixXd& W_pos, int q) {
  RFM_CHECK(W_E.cols() >= q && W_pos.cols() >= 2 && W_E.rows() == W_pos.rows(),
            "W_E.npy (%dx%d) and W_pos.npy (%dx%d) do not fit %d symbols per slot", int(W_E.rows()),
            int(W_E.cols()), int(W_pos.rows()), int(W_pos.cols()), q);
  MatrixXd W(W_E.rows(), 2 * q);
  for (int s = 0; s < 2; ++s) W.middleCols(s * q, q) = W_E.leftCols(q).colwise() + W_pos.col(s);
  return W.transpose() * W;
}

void load_matrices(Learner& L, int d, int q) {
  const bool two_slots = d == 2 * q;
  if (L.kind == "rfm") {
    L.inputs.push_back({"M_final", load(L.dir, "M_final")});
  } else if (L.kind == "mlp") {
    L.inputs.push_back({"NFM", load(L.dir, "NFM_final")});
    L.inputs.push_back({"sqrt(AGOP)", sym_power(load(L.dir, "AGOP_final"), 0.5)});
  } else if (L.kind == "transformer") {
    if (two_slots)
      L.inputs.push_back({"input Gram", input_gram(load(L.dir, "W_E"), load(L.dir, "W_pos"), q)});
    if (fs::exists(L.dir + "/EmbedGram_final.npy")) L.embed_gram = load(L.dir, "EmbedGram_final");
  } else if (L.kind == "embed2d") {
    const MatrixXd E = load(L.dir, "embedding");
    L.embed_gram = E.rows() >= q ? MatrixXd(E * E.transpose()) : MatrixXd(E.transpose() * E);
    L.embed_gram = L.embed_gram.topLeftCorner(q, q).eval();
    if (two_slots) {
      MatrixXd G(2 * q, 2 * q);
      G << L.embed_gram, L.embed_gram, L.embed_gram, L.embed_gram;
      L.inputs.push_back({"embedding Gram", G});
    }
  }
  for (const auto& [name, A] : L.inputs)
    RFM_CHECK(A.rows() == d && A.cols() == d, "%s: %s is %dx%d, but the task has d = %d",
              L.dir.c_str(), name.c_str(), int(A.rows()), int(A.cols()), d);
}

Learner load_learner(const std::string& dir) {
  Learner L;
  L.dir = dir;
  L.cfg = read_json(dir + "/config.json");
  L.summary = fs::exists(dir + "/summary.json") ? read_json(dir + "/summary.json")
                                                : nlohmann::json::object();
  const std::string command = L.cfg.value("command", "");
  RFM_CHECK(command == "grok" || command == "train",
            "%s is not a run of rfm grok or rfm train (config.json command '%s')", dir.c_str(),
            command.c_str());
  L.kind = command == "grok" ? "rfm" : L.cfg.value("model", "?");
  L.x = command == "grok" ? "iter" : "epoch";
  L.curve = read_metrics(dir + "/metrics.csv");
  RFM_CHECK(L.curve.rows() > 0 && L.curve.has(L.x), "%s/metrics.csv has no rows with %s",
            dir.c_str(), L.x.c_str());
  for (int k = 0; k < 2; ++k) {
    const std::string key = "first_" + L.x + "_test_acc_" + (k ? "0.99" : "0.5");
    L.transition[k] = L.summary.value(key, -1);
  }
  return L;
}

// The row whose x is nearest to `target`.
size_t row_at(const Learner& L, double target) {
  size_t best = 0;
  for (size_t i = 1; i < L.curve.rows(); ++i)
    if (std::abs(cell(L.curve, i, L.x) - target) < std::abs(cell(L.curve, best, L.x) - target))
      best = i;
  return best;
}

// --- Reports ----------------------------------------------------------------------------------

nlohmann::json num(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

// The row nearest to a fraction of the run, as text and into j.
std::string point(const Learner& L, double frac, nlohmann::json& j) {
  const size_t i = row_at(L, frac * L.length());
  const double x = cell(L.curve, i, L.x), tr = cell(L.curve, i, "train_acc"),
               te = cell(L.curve, i, "test_acc");
  j = {{L.x, x}, {"train_acc", num(tr)}, {"test_acc", num(te)}};
  return strfmt("%8d  %9.4f  %8.4f", int(x), tr, te);
}

// Rows at the same fraction of each run (0, 0.1, ..., 1), then at each transition point.
std::string progress_table(const Learner& A, const Learner& B, nlohmann::json& j) {
  std::string out = strfmt("progress at the same fraction of each run (A: %.0f %ss, B: %.0f %ss)\n",
                           A.length(), A.x.c_str(), B.length(), B.x.c_str());
  out += strfmt("  fraction  %8s  train_acc  test_acc  |  %8s  train_acc  test_acc\n",
                ("A " + A.x).c_str(), ("B " + B.x).c_str());
  for (int k = 0; k <= 10; ++k) {
    nlohmann::json row = {{"fraction", k / 10.0}};
    out += strfmt("  %8.1f  %s  |  %s\n", k / 10.0, point(A, k / 10.0, row["A"]).c_str(),
                  point(B, k / 10.0, row["B"]).c_str());
    j["progress"].push_back(row);
  }
  out += "\ntransitions (first test acc >= 0.5 and >= 0.99; fraction of the run)\n";
  for (const Learner* L : {&A, &B}) {
    const char* who = L == &A ? "A" : "B";
    std::string line = strfmt("  %s %-12s", who, L->kind_name().c_str());
    nlohmann::json tj = nlohmann::json::array();
    for (int k = 0; k < 2; ++k) {
      const int t = L->transition[k];
      line += t < 0 ? strfmt("  %s never", k ? ">= 0.99" : ">= 0.5 ")
                    : strfmt("  %s %s %d (%.2f)", k ? ">= 0.99" : ">= 0.5 ", L->x.c_str(), t,
                             t / L->length());
      tj.push_back(t < 0 ? nlohmann::json()
                         : nlohmann::json{{L->x, t}, {"fraction", t / L->length()}});
    }
    out += line + "\n";
    j["transitions"][who] = tj;
  }
  return out;
}

// Pearson correlation (full, without diagonals) of every matrix of A with every matrix of B,
// and of an MLP's NFM with its own sqrt(AGOP).
std::string correlations(const Learner& A, const Learner& B, nlohmann::json& j) {
  std::vector<std::tuple<std::string, const MatrixXd*, const MatrixXd*>> pairs;
  for (const auto& [na, ma] : A.inputs)
    for (const auto& [nb, mb] : B.inputs) pairs.push_back({na + " vs " + nb, &ma, &mb});
  for (const Learner* L : {&A, &B})
    if (L->inputs.size() == 2)
      pairs.push_back({L->inputs[0].first + " vs " + L->inputs[1].first, &L->inputs[0].second,
                       &L->inputs[1].second});
  if (pairs.empty()) return "";
  std::string out = strfmt("\n  %-30s %8s %8s\n", "Pearson correlation", "full", "nodiag");
  for (const auto& [name, a, b] : pairs) {
    const double full = pearson_correlation(*a, *b, false), nod = pearson_correlation(*a, *b, true);
    out += strfmt("  %-30s %8.4f %8.4f\n", name.c_str(), full, nod);
    j["pearson"][name] = {{"full", num(full)}, {"nodiag", num(nod)}};
  }
  return out;
}

std::string top_freqs(const Spectrum& s, size_t most) {
  std::string out;
  for (size_t i = 0; i < s.dominant.size() && i < most; ++i) {
    const size_t c = std::find(s.freq.begin(), s.freq.end(), s.dominant[i]) - s.freq.begin();
    out += strfmt("%s%d (%.2f)", i ? ", " : "", s.dominant[i], s.energy[c]);
  }
  return out.empty() ? "-" : out;
}

// Cosine of two spectra's energy vectors outside the constant class: 1 when both put their
// energy on the same frequencies (or elements) in the same proportions.
double spectrum_overlap(const Spectrum& a, const Spectrum& b) {
  if (a.freq != b.freq) return kNaN;
  double ab = 0, aa = 0, bb = 0;
  for (size_t c = 1; c < a.energy.size(); ++c) {
    ab += a.energy[c] * b.energy[c];
    aa += a.energy[c] * a.energy[c];
    bb += b.energy[c] * b.energy[c];
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : kNaN;
}

// The first feature matrix of each learner, block by block over the task's group.
std::string block_table(const Learner& A, const Learner& B, const RunTask& t, nlohmann::json& j) {
  if (A.inputs.empty() || B.inputs.empty()) return "";
  const BlockLayout layout = block_layout(t.G);
  const auto& [na, ma] = A.inputs.front();
  const auto& [nb, mb] = B.inputs.front();
  const std::vector<BlockReport> ra = block_reports(ma, layout), rb = block_reports(mb, layout);
  const bool table = layout.table.order() > 0;
  std::string out = strfmt(
      "\nblocks of A %s and B %s (%s; share of ||.||^2, circulant deviation "
      "as in rfm inspect, %s)\n",
      na.c_str(), nb.c_str(), t.name().c_str(),
      table ? "strongest elements" : "dominant frequencies");
  out += "  block  A share  A circ   A rev    |  B share  B circ   B rev    |  nodiag r  overlap\n";
  for (size_t k = 0; k < ra.size(); ++k) {
    const MatrixXd ba = slot_block(ma, layout, ra[k].row_slot, ra[k].col_slot);
    const MatrixXd bb = slot_block(mb, layout, rb[k].row_slot, rb[k].col_slot);
    const double r = pearson_correlation(ba, bb, ra[k].row_slot == ra[k].col_slot);
    const double ov = spectrum_overlap(ra[k].spectrum, rb[k].spectrum);
    out += strfmt("  %-5s  %7.3f  %7.1e  %7.1e  |  %7.3f  %7.1e  %7.1e  |  %8.4f  %7.3f\n",
                  ra[k].name.c_str(), ra[k].norm_share, ra[k].circ_dev, ra[k].circ_dev_rev,
                  rb[k].norm_share, rb[k].circ_dev, rb[k].circ_dev_rev, r, ov);
    j["blocks"].push_back({{"block", ra[k].name},
                           {"A",
                            {{"share", num(ra[k].norm_share)},
                             {"circ_dev", num(ra[k].circ_dev)},
                             {"circ_dev_rev", num(ra[k].circ_dev_rev)},
                             {"dominant", ra[k].spectrum.dominant}}},
                           {"B",
                            {{"share", num(rb[k].norm_share)},
                             {"circ_dev", num(rb[k].circ_dev)},
                             {"circ_dev_rev", num(rb[k].circ_dev_rev)},
                             {"dominant", rb[k].spectrum.dominant}}},
                           {"pearson", num(r)},
                           {"spectrum_overlap", num(ov)}});
  }
  for (size_t k = 0; k < ra.size(); ++k)
    out += strfmt("  %-5s  A: %s\n         B: %s\n", ra[k].name.c_str(),
                  top_freqs(ra[k].spectrum, 6).c_str(), top_freqs(rb[k].spectrum, 6).c_str());
  for (const Learner* L : {&A, &B})
    for (const auto& [name, mat] : L->inputs) {
      const BlockReport off = block_reports(mat, layout)[2];  // b,a: the task's block
      j["circ_dev"][L->label(name)] = {{"circ", num(off.circ_dev)},
                                       {"reversed", num(off.circ_dev_rev)}};
    }
  return out;
}

// A learner's token-embedding Gram against the other's diagonal blocks, in analysis order.
std::string embedding_table(const Learner& A, const Learner& B, const RunTask& t,
                            nlohmann::json& j) {
  std::string out;
  const BlockLayout layout = block_layout(t.G);
  for (const Learner* E : {&A, &B}) {
    const Learner* other = E == &A ? &B : &A;
    if (E->embed_gram.size() == 0 || other->inputs.empty()) continue;
    const int m = static_cast<int>(layout.symbols.size());
    MatrixXd G(m, m);
    for (int c = 0; c < m; ++c)
      for (int r = 0; r < m; ++r) G(r, c) = E->embed_gram(layout.symbols[r], layout.symbols[c]);
    const auto& [name, mat] = other->inputs.front();
    out += strfmt("\n%s token-embedding Gram W_E^T W_E against %s %s's diagonal blocks\n",
                  E->kind_name().c_str(), other->kind_name().c_str(), name.c_str());
    for (int s = 0; s < 2; ++s) {
      const MatrixXd D = slot_block(mat, layout, s, s);
      const double r = pearson_correlation(G, D, true);
      out += strfmt("  block %c,%c    nodiag r %8.4f\n", "ab"[s], "ab"[s], r);
      j["embedding_gram"][std::string(1, "ab"[s])] = num(r);
    }
    if (E->summary.contains("key_frequencies"))
      out += "  key frequencies of the network: " + E->summary["key_frequencies"].dump() + "\n";
  }
  return out;
}

bool same_split(const Learner& A, const Learner& B) {
  const std::string sa = A.dir + "/split.npz", sb = B.dir + "/split.npz";
  if (!fs::exists(sa) || !fs::exists(sb)) return false;
  return npz_load_ints(sa, "train") == npz_load_ints(sb, "train") &&
         npz_load_ints(sa, "test") == npz_load_ints(sb, "test");
}

// --- The page (--page DIR) -----------------------------------------------------------------

// Accuracy of both runs over the fraction of each run, the transitions dashed.
std::string progress_script(const Learner& A, const Learner& B) {
  std::string gp, plot = "plot ", marks;
  int lc = 1;
  for (const Learner* L : {&A, &B}) {
    const std::string who = L == &A ? "A" : "B";
    gp += "$" + who + " << EOD\n";
    for (size_t i = 0; i < L->curve.rows(); ++i)
      gp += strfmt("%.6g %.6g %.6g\n", cell(L->curve, i, L->x) / L->length(),
                   cell(L->curve, i, "train_acc"), cell(L->curve, i, "test_acc"));
    gp += "EOD\n";
    for (int k = 0; k < 2; ++k)
      if (L->transition[k] >= 0)
        marks += strfmt("set arrow from %.6g, graph 0 to %.6g, graph 1 nohead dt 2 lc %d\n",
                        L->transition[k] / L->length(), L->transition[k] / L->length(), lc);
    const std::string name = who + " " + L->kind_name();
    plot += strfmt(
        "%s$%s using 1:3 with lines lw 2.5 lc %d title %s, $%s using 1:2 with lines "
        "lw 1.5 dt 3 lc %d title %s",
        L == &A ? "" : ", ", who.c_str(), lc, gnuplot_quote(name + " test").c_str(), who.c_str(),
        lc, gnuplot_quote(name + " train").c_str());
    lc = 7;
  }
  return gp + marks +
         "set xlabel 'fraction of the run (A: iterations, B: epochs; dashed: test acc >= 0.5, "
         ">= 0.99)'\nset ylabel 'accuracy'\nset yrange [-0.02:1.02]\nset xrange [0:1]\n"
         "set grid\nset key bottom right\n" +
         plot + "\nunset arrow\n";
}

// Block b,a of each learner's first feature matrix, each on its own symmetric scale.
std::string blocks_script(const Learner& A, const Learner& B, const RunTask& t) {
  const BlockLayout layout = block_layout(t.G);
  std::string gp =
      "set multiplot layout 1,2\nset palette defined (-1 '#2166ac', 0 '#ffffff', 1 "
      "'#b2182b')\nset size ratio -1\n";
  for (const Learner* L : {&A, &B}) {
    // Centred: a Gram matrix's constant offset would saturate a symmetric scale.
    MatrixXd Bk = slot_block(L->inputs.front().second, layout, 1, 0);
    Bk.array() -= Bk.mean();
    const double scale = std::max(Bk.cwiseAbs().maxCoeff(), 1e-300);
    const double edge = Bk.rows() - 0.5;
    gp += strfmt(
        "set title %s\nset cbrange [%g:%g]\nset xlabel 'a'\nset ylabel 'b'\n"
        "set xrange [-0.5:%g]\nset yrange [%g:-0.5]\n",
        gnuplot_quote(L->kind_name() + " " + L->inputs.front().first +
                      ", block (b, a) minus its mean")
            .c_str(),
        -scale, scale, edge, edge);
    gp += "plot '-' matrix with image notitle\n";
    for (int r = 0; r < Bk.rows(); ++r) {
      for (int c = 0; c < Bk.cols(); ++c) gp += strfmt("%s%.6g", c ? " " : "", Bk(r, c));
      gp += "\n";
    }
    gp += "e\n";
  }
  return gp + "unset multiplot\n";
}

// The share of block b,a's energy per frequency (or element) class of both learners.
std::string spectra_script(const Learner& A, const Learner& B, const RunTask& t) {
  const BlockLayout layout = block_layout(t.G);
  const Spectrum sa = block_reports(A.inputs.front().second, layout)[2].spectrum;
  const Spectrum sb = block_reports(B.inputs.front().second, layout)[2].spectrum;
  std::string gp = "$spec << EOD\n";
  for (size_t c = 1; c < sa.freq.size() && c < sb.freq.size(); ++c)
    gp += strfmt("%d %.6g %.6g\n", sa.freq[c], sa.energy[c], sb.energy[c]);
  gp += "EOD\n";
  const bool table = layout.table.order() > 0;
  return gp + "set style fill solid 0.8 noborder\nset boxwidth 0.4\nset xlabel '" +
         (table ? "group element (Cayley index)" : "frequency class k (with -k)") +
         "'\nset ylabel 'share of the block energy'\nset yrange [0:*]\n" +
         strfmt("set xrange [-0.5:%g]\n", sa.freq.back() + 0.5) +
         "set grid\nset key top right\nplot $spec using ($1 - 0.2):2 with boxes lc 1 title " +
         gnuplot_quote("A " + A.kind_name()) + ", $spec using ($1 + 0.2):3 with boxes lc 7 title " +
         gnuplot_quote("B " + B.kind_name()) + "\n";
}

void write_page(const CompareOptions& o, const Learner& A, const Learner& B, const RunTask* t,
                const std::string& title, const std::string& text) {
  make_dirs(o.page);
  std::string gp = "# rfm compare: pictures of compare.html (run: gnuplot compare.gp)\n" +
                   gnuplot_terminal("png", 1000, 560) + "set output 'progress.png.tmp'\n" +
                   "set title " + gnuplot_quote("accuracy on a common axis: " + title) + "\n" +
                   progress_script(A, B) + "set output\n";
  std::vector<std::string> outputs = {"progress.png"};
  std::vector<std::pair<std::string, std::string>> pictures = {
      {"progress.png", "test (solid) and train (dotted) accuracy over the fraction of each run"}};
  if (t && !A.inputs.empty() && !B.inputs.empty()) {
    gp += "reset\n" + gnuplot_terminal("png", 1000, 520) + "set output 'blocks.png.tmp'\n" +
          blocks_script(A, B, *t) + "set output\nreset\n" + gnuplot_terminal("png", 1000, 480) +
          "set output 'spectra.png.tmp'\nset title " +
          gnuplot_quote("spectrum of block (b, a): " + title) + "\n" + spectra_script(A, B, *t) +
          "set output\n";
    outputs.insert(outputs.end(), {"blocks.png", "spectra.png"});
    pictures.push_back({"blocks.png", "the off-diagonal block (b, a) of each feature matrix"});
    pictures.push_back({"spectra.png", "share of block (b, a)'s energy per class"});
  }
  run_gnuplot(o.page, "compare.gp", gp, outputs);
  const std::string body =
      html_grid(o.page, pictures) + "<h2>rfm compare</h2>\n<pre>" + html_escape(text) + "</pre>\n";
  write_text_atomic(o.page + "/compare.html",
                    html_document(title, "rfm compare " + A.dir + " " + B.dir, body));
}

void run_compare(const CompareOptions& o) {
  Learner A = load_learner(o.run_a), B = load_learner(o.run_b);
  const std::string task = A.cfg.value("task", ""), group = A.cfg.value("group", "");
  const int p = A.cfg.value("p", 0);
  RFM_CHECK(task == B.cfg.value("task", "") && p == B.cfg.value("p", 0) &&
                group == B.cfg.value("group", ""),
            "the runs are on different tasks: %s mod %d (%s) and %s mod %d (%s)", task.c_str(), p,
            o.run_a.c_str(), B.cfg.value("task", "").c_str(), B.cfg.value("p", 0), o.run_b.c_str());
  const int d = A.cfg.value("d", 0), q = p;  // q: symbols per slot (|G| for groups)
  load_matrices(A, d, q);
  load_matrices(B, d, q);
  bool grouped = true;  // the block analysis needs a two-slot task and its group
  RunTask t;
  try {
    t = run_task(task, p, group);
  } catch (const InputError&) {
    grouped = false;
  }
  const bool split = same_split(A, B);
  nlohmann::json j = {{"task", task},     {"p", p},          {"group", group},
                      {"run_a", A.dir},   {"run_b", B.dir},  {"same_split", split},
                      {"kind_a", A.kind}, {"kind_b", B.kind}};
  const std::string task_name = grouped ? t.name() : task + " mod " + std::to_string(p);
  std::string text =
      strfmt("rfm compare: %s, %s\n", task_name.c_str(),
             split ? "the same split (split.npz identical)"
                   : "DIFFERENT splits: the progress is not comparable point by point");
  text += settings_line("A", A.dir + " (" + A.kind_name() + ")");
  text += settings_line("B", B.dir + " (" + B.kind_name() + ")") + "\n";
  text += progress_table(A, B, j);
  text += correlations(A, B, j);
  if (grouped) {
    text += block_table(A, B, t, j);
    text += embedding_table(A, B, t, j);
  } else {
    text += strfmt("\n  blocks: %s has more than two operand slots; block analysis left out\n",
                   task.c_str());
  }
  std::printf("%s", text.c_str());
  if (!o.out.empty()) write_text_atomic(o.out, j.dump(2) + "\n");
  if (!o.page.empty()) {
    write_page(o, A, B, grouped ? &t : nullptr,
               task_name + ": " + A.kind_name() + " (A) and " + B.kind_name() + " (B)", text);
    std::printf("rfm compare: %s/compare.html\n", o.page.c_str());
  }
}

}  // namespace

static void setup_compare(CLI::App& app) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* sub = app.add_subcommand(
      "compare", "Two learners on one task: progress, feature matrices, block spectra");
  sub->footer(
      "Any two runs of rfm grok and rfm train (mlp, transformer, embed2d) on the same task.\n"
      "Example:\n"
      "  rfm grok --out runs/add61 && rfm train --model transformer --split-from runs/add61 "
      "--out runs/tr61\n"
      "  rfm compare runs/add61 runs/tr61");
  sub->add_option("RUN_A", o->run_a, "Run directory of rfm grok or rfm train")->required();
  sub->add_option("RUN_B", o->run_b, "Run directory of rfm grok or rfm train")->required();
  sub->add_option("--out", o->out, "Also write the numbers to this JSON file");
  sub->add_option("--page", o->page,
                  "Also write compare.html with pictures (accuracy over the fraction of each "
                  "run, block (b, a) of both, its spectra) into this directory");
  sub->callback([o] { run_compare(*o); });
}

RFM_COMMAND(compare, setup_compare);

}  // namespace rfm
