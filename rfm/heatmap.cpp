// Heatmaps of matrices as PNG files (rfm.h write_heatmap_png), written with libpng's simplified
// API. A diverging blue-white-red scale centred on 0 (so signs read at a glance), a colour bar
// labelled with +scale, 0 and -scale in a built-in 3x5 pixel font, optional block grid lines.
#include <png.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "rfm/rfm.h"

namespace rfm {

namespace {

struct Canvas {
  int w, h;
  std::vector<unsigned char> rgb;  // (h, w, 3), row-major
  Canvas(int w_, int h_) : w(w_), h(h_), rgb(size_t(w_) * h_ * 3, 255) {}
  void set(int x, int y, const unsigned char c[3]) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    std::copy(c, c + 3, rgb.begin() + (size_t(y) * w + x) * 3);
  }
  void fill(int x0, int y0, int dx, int dy, const unsigned char c[3]) {
    for (int y = y0; y < y0 + dy; ++y)
      for (int x = x0; x < x0 + dx; ++x) set(x, y, c);
  }
};

// t in [-1, 1] -> blue (-1), white (0), red (+1).
void colour(double t, unsigned char out[3]) {
  static const double neg[3] = {0.13, 0.40, 0.67}, pos[3] = {0.70, 0.09, 0.17};
  t = std::clamp(t, -1.0, 1.0);
  const double* end = t < 0 ? neg : pos;
  const double a = std::abs(t);
  for (int i = 0; i < 3; ++i) out[i] = static_cast<unsigned char>(255 * (1 - a + a * end[i]));
}

// 3x5 glyphs, one row of 3 bits per entry (MSB left).
int glyph(char ch, int row) {
  static const char* chars = "0123456789.-+e";
  static const int rows[][5] = {{7, 5, 5, 5, 7}, {2, 6, 2, 2, 7}, {7, 1, 7, 4, 7}, {7, 1, 7, 1, 7},
                                {5, 5, 7, 1, 1}, {7, 4, 7, 1, 7}, {7, 4, 7, 5, 7}, {7, 1, 1, 1, 1},
                                {7, 5, 7, 5, 7}, {7, 5, 7, 1, 7}, {0, 0, 0, 0, 2}, {0, 0, 7, 0, 0},
                                {0, 2, 7, 2, 0}, {0, 7, 5, 6, 7}};
  for (int i = 0; chars[i]; ++i)
    if (chars[i] == ch) return rows[i][row];
  return 0;
}

void draw_text(Canvas& cv, int x, int y, const std::string& text, int scale) {
  static const unsigned char ink[3] = {0, 0, 0};
  for (char ch : text) {
    for (int r = 0; r < 5; ++r)
      for (int b = 0; b < 3; ++b)
        if (glyph(ch, r) & (4 >> b)) cv.fill(x + b * scale, y + r * scale, scale, scale, ink);
    x += 4 * scale;
  }
}

}  // namespace

void write_heatmap_png(const std::string& path, const MatrixXd& A, double scale, int grid) {
  RFM_CHECK(A.size() > 0, "heatmap %s: the matrix is empty", path.c_str());
  if (scale <= 0) scale = A.cwiseAbs().maxCoeff();
  if (scale <= 0) scale = 1;
  const int rows = static_cast<int>(A.rows()), cols = static_cast<int>(A.cols());
  const int cell = std::max(1, 512 / std::max(rows, cols));  // pixels per entry
  const int font = 2, bar_w = 16, label_w = 10 * 4 * font, pad = 8;
  const int mw = cols * cell, mh = rows * cell;
  Canvas cv(pad + mw + pad + bar_w + 4 + label_w + pad, pad + std::max(mh, 60) + pad);
  unsigned char c[3];
  for (int i = 0; i < rows; ++i)
    for (int j = 0; j < cols; ++j) {
      colour(A(i, j) / scale, c);
      cv.fill(pad + j * cell, pad + i * cell, cell, cell, c);
    }
  static const unsigned char grey[3] = {128, 128, 128};
  for (int g = grid; grid > 0 && g < std::max(rows, cols); g += grid) {
    if (g < cols) cv.fill(pad + g * cell, pad, 1, mh, grey);
    if (g < rows) cv.fill(pad, pad + g * cell, mw, 1, grey);
  }
  const int bx = pad + mw + pad;
  for (int y = 0; y < mh; ++y) {
    colour(1 - 2.0 * y / std::max(mh - 1, 1), c);
    cv.fill(bx, pad + y, bar_w, 1, c);
  }
  const int lx = bx + bar_w + 4;
  draw_text(cv, lx, pad, strfmt("%+.2e", scale), font);
  draw_text(cv, lx, pad + mh / 2 - 5, "0", font);
  draw_text(cv, lx, pad + mh - 5 * font, strfmt("%+.2e", -scale), font);

  png_image img{};
  img.version = PNG_IMAGE_VERSION;
  img.width = cv.w;
  img.height = cv.h;
  img.format = PNG_FORMAT_RGB;
  const std::string tmp = path + ".tmp";
  const bool ok = png_image_write_to_file(&img, tmp.c_str(), 0, cv.rgb.data(), 0, nullptr);
  RFM_CHECK(ok, "cannot write heatmap %s: %s", path.c_str(), img.message);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);  // atomic, like every file the engine writes
  RFM_CHECK(!ec, "cannot write heatmap %s: %s", path.c_str(), ec.message().c_str());
}

}  // namespace rfm
