// The `rfm` subcommands: each file in apps/ defines setup_<cmd>(CLI::App&), which binds the
// flags to an options struct and registers run_<cmd> as the callback, and
// registers it with RFM_COMMAND(<cmd>, setup_<cmd>) so that main() needs no list of files.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

namespace rfm {

using SetupFn = void (*)(CLI::App&);
// Adds a subcommand's setup function to the registry; main() calls them in the order of rfm --help.
int register_command(const char* name, SetupFn setup);
void setup_all_commands(CLI::App& app);
#define RFM_COMMAND(name, setup) \
  static const int rfm_command_##name = ::rfm::register_command(#name, setup)

// "a|b|c": how --help shows an option's choices, as the user types them.
std::string choice_list(const std::vector<std::string>& names);

// Adds an option whose value is one of the names of an enum (one to/from-string table). --help
// shows the names and the default by name ("--kernel gaussian|laplace|...=gaussian"), not the
// values behind them.
template <typename E>
CLI::Option* add_enum_option(CLI::App& app, const std::string& name, E& field,
                             const std::map<std::string, E>& names, const std::string& help) {
  std::vector<std::string> keys;
  std::string current;
  for (const auto& [key, value] : names) {
    keys.push_back(key);
    if (value == field) current = key;
  }
  const std::string choices = choice_list(keys);
  auto to_value = [names, choices](std::string& in) -> std::string {
    for (const auto& [key, value] : names)
      if (CLI::detail::to_lower(key) == CLI::detail::to_lower(in)) {
        in = std::to_string(static_cast<long long>(value));
        return "";
      }
    return in + " is not one of " + choices;
  };
  return app.add_option(name, field, help)
      ->transform(CLI::Validator(to_value, ""))
      ->type_name(choices)
      ->default_str(current);
}

// Adds a text option that takes one of `choices`, shown as "a|b|c=default" in --help.
CLI::Option* add_choice_option(CLI::App& app, const std::string& name, std::string& field,
                               const std::vector<std::string>& choices, const std::string& help);

enum class Precision;
// --precision (grok, fit, bench): fp64|fp32|mixed|auto, one help text for all three.
CLI::Option* add_precision_option(CLI::App& app, Precision& field);

// The default --out of a run: runs/STEM-YYYYMMDD-HHMMSS, with -2, -3, ... appended when a run
// of the same second already has that name.
std::string timestamped_out(const std::string& stem);

// The settings table printed at start-up: backend, precision, BLAS and its threads.
std::string settings_line(const std::string& key, const std::string& value);

}  // namespace rfm
