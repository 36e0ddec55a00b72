// Clean stops on SIGINT and SIGTERM (signals.h). The handler is async-signal-safe: it stores the
// signal number and writes one fixed message with write(2); SA_RESETHAND restores the default
// action, so a second Ctrl-C ends the process immediately.
#include "apps/signals.h"

#include <unistd.h>

#include <csignal>
#include <utility>

namespace rfm {

namespace {

volatile std::sig_atomic_t g_signal = 0;
bool g_installed = false;
bool g_enabled = true;
IterationHook g_hook;

extern "C" void on_stop_signal(int sig) {
  g_signal = sig;
  static const char msg[] = "\nrfm: stopping after the current iteration (again to abort)\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

}  // namespace

void install_stop_handlers() {
  if (g_installed || !g_enabled) return;
  g_installed = true;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESETHAND | SA_RESTART;  // no EINTR in the middle of a file write
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() {
  return g_signal != 0;
}

int stop_signal() {
  return g_signal;
}

void set_stop_handlers_enabled(bool enabled) {
  g_enabled = enabled;
}

void request_stop(int sig) {
  g_signal = sig;
}

void clear_stop() {
  g_signal = 0;
}

void set_iteration_hook(IterationHook hook) {
  g_hook = std::move(hook);
}

const IterationHook& iteration_hook() {
  return g_hook;
}

}  // namespace rfm
