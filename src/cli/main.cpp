// bionmda: command-line front end. Exit codes: 0 success, 2 bad usage, bad
// input or a failed run (the message on stderr names the problem and where).
#include <cstdio>

#include "../io/message_text.hpp"
#include "../util/temporary_file.hpp"
#include "bionmda/bionmda.hpp"
#include "commands.hpp"

int main(int argc, char** argv) {
  // SIGINT, SIGTERM, SIGHUP and SIGQUIT remove the run's temporary files
  // before ending it; a write past `ulimit -f` is an error, not SIGXFSZ.
  bionmda::detail::remove_temporaries_on_signals();
  CLI::App app{"bionmda " BIONMDA_VERSION_STRING ": batched BioNMDA synapses on GPU and CPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", BIONMDA_VERSION_STRING);
  bionmda::cli::add_simulate(app);
  bionmda::cli::add_info(app);
  bionmda::cli::add_bench(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // CLI11's message may quote an argument of any length: cut it.
    std::fprintf(stderr, "bionmda: %s\nRun with --help for usage.\n", bionmda::io::excerpt(e.what(), 200).c_str());
    return 2;
  } catch (const bionmda::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bionmda: %s\n", e.what());
    return 2;
  }
  return 0;
}
