#pragma once
// Checks of caller-given spans shared by the population's step and window entry points.
#include <cstdint>

#include "bionmda/backend.hpp"
#include "bionmda/detail/error_macros.hpp"
#include "bionmda/state_view.hpp"

namespace bionmda::detail {

/// s has exactly `expected` elements and is not null unless empty.
template <class Span>
void check_span(const Span& s, std::int64_t expected, const char* what) {
  BIONMDA_EXPECTS(s.size == expected, what << " has " << s.size << " elements; expected " << expected);
  BIONMDA_EXPECTS(s.data != nullptr || s.size == 0, what << " is a null pointer");
}

/// Device-memory data needs the CUDA backend.
template <memory_space Space>
void check_space(bionmda::backend b, const char* what) {
  BIONMDA_EXPECTS(Space == memory_space::host || b == backend::cuda,
                  "a device-memory " << what << " needs the CUDA backend; this population is on the CPU "
                                     << "(pass a host_span)");
}

}  // namespace bionmda::detail
