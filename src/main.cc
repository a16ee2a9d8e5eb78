#include "tiermirror/app/cli.h"

int main(int argc, char** argv) { return tiermirror::app::run_cli(argc, argv); }
