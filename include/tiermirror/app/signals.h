#pragma once
#include <csignal>

namespace tiermirror::app {
/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (call first in main, before
/// any thread starts, so every thread inherits the mask) and returns the set.
sigset_t block_shutdown_signals();
/// Waits until one of the blocked signals arrives; returns its number.
int wait_for_signal(const sigset_t& set);
}  // namespace tiermirror::app
