// Clean stops on SIGINT and SIGTERM: the handler only sets a flag, which a callback of the
// running loop reads between iterations, so the run ends with every file
// written so far intact. A second signal gets the default action (the process dies at once).
#pragma once

#include <functional>

#include "rfm/rfm.h"

namespace rfm {

// Installs the handlers for SIGINT and SIGTERM (once per process; later calls do nothing).
void install_stop_handlers();
// True once SIGINT or SIGTERM arrived after install_stop_handlers().
bool stop_requested();
// The signal that asked for the stop (0 when none).
int stop_signal();

// --- Running inside another program (the Python module) ------------------------------------
//
// A host that has its own SIGINT handling (Python's KeyboardInterrupt) turns the handlers off,
// asks for stops itself with request_stop, and may watch every iteration of `rfm grok`.

// Whether install_stop_handlers installs anything (true by default).
void set_stop_handlers_enabled(bool enabled);
// The same as the arrival of `sig`: the running loop stops after the current iteration.
void request_stop(int sig);
// Forgets a stop request, before the next run in the same process.
void clear_stop();
// Called by `rfm grok` after every iteration with its stats and M_t; false stops the run
// (termination "stopped", resumable). Empty: none.
using IterationHook = std::function<bool(const IterationStats& s, const MatrixXd& M)>;
void set_iteration_hook(IterationHook hook);
const IterationHook& iteration_hook();

// Thrown where the program would end with `status` (an interrupted run: 128 + signal) after
// every file is written; run_cli (cli.h) returns the status.
struct StopExit {
  int status;
};

}  // namespace rfm
