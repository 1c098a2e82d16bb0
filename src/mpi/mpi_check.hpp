#pragma once
// Every MPI call checked: a failing call throws bionmda::error with the call,
// the MPI error string and the place. bionmda's communicators return errors
// (MPI_ERRORS_RETURN) instead of aborting.
#include <mpi.h>

#include <string>

#include "bionmda/error.hpp"

namespace bionmda::mpi::detail {

[[noreturn]] inline void throw_mpi_error(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  throw error(std::string("bionmda::mpi: ") + call + " failed: " + std::string(text, static_cast<std::size_t>(len)) +
              " (" + file + ":" + std::to_string(line) + ")");
}

}  // namespace bionmda::mpi::detail

#define BIONMDA_MPI_TRY(call)                                                            \
  do {                                                                                   \
    const int bionmda_mpi_rc_ = (call);                                                  \
    if (bionmda_mpi_rc_ != MPI_SUCCESS) {                                                \
      ::bionmda::mpi::detail::throw_mpi_error(bionmda_mpi_rc_, #call, __FILE__, __LINE__); \
    }                                                                                    \
  } while (0)
