#pragma once
// Subcommands of the `bionmda` tool.
#include <CLI/CLI.hpp>

namespace bionmda::cli {

/// Registers `simulate` on app; the callback runs the simulation.
void add_simulate(CLI::App& app);
/// Registers `info` on app.
void add_info(CLI::App& app);
/// Registers `bench` on app (argv is recorded in its JSON output).
void add_bench(CLI::App& app, int argc, char** argv);

}  // namespace bionmda::cli
