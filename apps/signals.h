// Clean stops on SIGINT and SIGTERM: the handler only sets a flag, which a callback of the
// running loop reads between iterations (STYLE.md rule 9), so the run ends with every file
// written so far intact. A second signal gets the default action (the process dies at once).
#pragma once

namespace rfm {

// Installs the handlers for SIGINT and SIGTERM (once per process; later calls do nothing).
void install_stop_handlers();
// True once SIGINT or SIGTERM arrived after install_stop_handlers().
bool stop_requested();
// The signal that asked for the stop (0 when none).
int stop_signal();

}  // namespace rfm
