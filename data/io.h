// Atomic file output: every file the engine writes goes to a temporary name in the same
// directory and is renamed over the target only when complete (README.md, "A run directory"),
// so an interrupted run never leaves a torn file.
#pragma once

#include <functional>
#include <ostream>
#include <string>

namespace rfm {

// Calls write(stream) on a temporary file beside `path`, flushes, fsyncs and renames it to
// `path`. Throws rfm::InputError naming the path when the file cannot be written.
void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write);

// Convenience: write a whole string atomically.
void write_text_atomic(const std::string& path, const std::string& text);

// Creates a directory (and parents); throws rfm::InputError naming it on failure.
void make_dirs(const std::string& path);

}  // namespace rfm
