// The `rfm` subcommands: each file in apps/ defines setup_<cmd>(CLI::App&), which binds the
// flags to an options struct and registers run_<cmd> as the callback (STYLE.md rule 14).
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

namespace rfm {

void setup_grok(CLI::App& app);
void setup_info(CLI::App& app);

// Adds an option whose value is one of the names of an enum (one to/from-string table).
template <typename E>
CLI::Option* add_enum_option(CLI::App& app, const std::string& name, E& field,
                             const std::map<std::string, E>& names, const std::string& help) {
  return app.add_option(name, field, help)
      ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
      ->capture_default_str();
}

// The settings table printed at start-up: backend, precision, BLAS and its threads.
std::string settings_line(const std::string& key, const std::string& value);

}  // namespace rfm
