#pragma once

namespace tiermirror::app {
/// Parses the command line and runs the command; returns the process exit status.
int run_cli(int argc, char** argv);
}  // namespace tiermirror::app
