// The `rfm` subcommands: each file in apps/ defines setup_<cmd>(CLI::App&), which binds the
// flags to an options struct and registers run_<cmd> as the callback (STYLE.md rule 14), and
// registers it with RFM_COMMAND(<cmd>, setup_<cmd>) so that main() needs no list of files.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>

namespace rfm {

using SetupFn = void (*)(CLI::App&);
// Adds a subcommand's setup function to the registry; main() calls them in DESIGN.md's order.
int register_command(const char* name, SetupFn setup);
void setup_all_commands(CLI::App& app);
#define RFM_COMMAND(name, setup) \
  static const int rfm_command_##name = ::rfm::register_command(#name, setup)

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
