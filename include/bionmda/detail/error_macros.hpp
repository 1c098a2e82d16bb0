#pragma once
// Internal error macros. Not part of the public API.
#include <sstream>
#include <string>

#include "bionmda/error.hpp"

#define BIONMDA_STRINGIFY_DETAIL(x) #x
#define BIONMDA_STRINGIFY(x) BIONMDA_STRINGIFY_DETAIL(x)

/// Throws ExceptionType with "bionmda: <message>" if cond is false. The message
/// is a stream expression, e.g. BIONMDA_EXPECTS(dt > 0, "dt must be > 0, got " << dt).
#define BIONMDA_EXPECTS_AS(ExceptionType, cond, message)  \
  do {                                                   \
    if (!(cond)) {                                       \
      std::ostringstream bionmda_msg_;                   \
      bionmda_msg_.precision(17);                        \
      bionmda_msg_ << "bionmda: " << message;            \
      throw ExceptionType(bionmda_msg_.str());           \
    }                                                    \
  } while (0)

#define BIONMDA_EXPECTS(cond, message) \
  BIONMDA_EXPECTS_AS(::bionmda::invalid_argument, cond, message)

#define BIONMDA_FAIL_AS(ExceptionType, message) BIONMDA_EXPECTS_AS(ExceptionType, false, message)
