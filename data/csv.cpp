// Numeric CSV input and the .npy/.csv dispatch of load_matrix (data.h).
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "data/data.h"

namespace rfm {

namespace {

// Parses one field as a finite double; false if it is not a number.
bool parse_number(const std::string& field, double& out) {
  const char* begin = field.c_str();
  while (*begin == ' ' || *begin == '\t') ++begin;
  if (*begin == '\0') return false;
  char* end = nullptr;
  errno = 0;
  out = std::strtod(begin, &end);
  while (*end == ' ' || *end == '\t' || *end == '\r') ++end;
  return *end == '\0' && errno != ERANGE;
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream ss(line);
  for (std::string f; std::getline(ss, f, ',');) fields.push_back(f);
  if (!line.empty() && line.back() == ',') fields.emplace_back();
  return fields;
}

MatrixXd read_csv(std::istream& in, const std::string& path) {
  std::vector<std::vector<double>> rows;
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (line.empty() || line == "\r") continue;
    const std::vector<std::string> fields = split_fields(line);
    std::vector<double> row(fields.size());
    bool numeric = true;
    for (size_t f = 0; f < fields.size() && numeric; ++f) numeric = parse_number(fields[f], row[f]);
    if (!numeric && rows.empty() && lineno == 1) continue;  // a header line
    for (size_t f = 0; f < fields.size(); ++f) {
      RFM_CHECK(parse_number(fields[f], row[f]), "%s line %d field %zu: '%s' is not a number",
                path.c_str(), lineno, f + 1, fields[f].c_str());
      RFM_CHECK(std::isfinite(row[f]), "%s line %d field %zu: %s is not finite", path.c_str(),
                lineno, f + 1, fields[f].c_str());
    }
    RFM_CHECK(rows.empty() || row.size() == rows[0].size(),
              "%s line %d has %zu fields, expected %zu", path.c_str(), lineno, row.size(),
              rows[0].size());
    rows.push_back(std::move(row));
  }
  RFM_CHECK(!rows.empty(), "%s has no data rows", path.c_str());
  MatrixXd M(rows.size(), rows[0].size());
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) M(i, j) = rows[i][j];
  return M;
}

MatrixXd load_csv(const std::string& path) {
  std::ifstream in(path);
  RFM_CHECK(in.good(), "cannot open %s: %s", path.c_str(), std::strerror(errno));
  return read_csv(in, path);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

MatrixXd parse_csv(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  return read_csv(in, name);
}

MatrixXd load_matrix(const std::string& path) {
  if (ends_with(path, ".csv")) return load_csv(path);
  RFM_CHECK(ends_with(path, ".npy"), "%s: expected a .npy or .csv file", path.c_str());
  return npy_load(path);
}

}  // namespace rfm
