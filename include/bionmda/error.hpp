#pragma once
/**
 * @file error.hpp
 * @brief Exception types thrown by bionmda.
 *
 * Every error the library raises derives from bionmda::error. Input errors
 * are raised before any state changes; the message names the offending
 * parameter and value.
 */
#include <cstddef>
#include <stdexcept>
#include <string>

namespace bionmda {

/** @brief Base class of every exception thrown by bionmda. */
class error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** @brief A parameter, size, array or index given to the library is invalid. */
class invalid_argument : public error {
 public:
  using error::error;
};

/** @brief A backend was requested that this build or machine cannot provide. */
class backend_unavailable : public error {
 public:
  using error::error;
};

/** @brief A CUDA runtime call or kernel launch failed. */
class cuda_error : public error {
 public:
  using error::error;
};

/**
 * @brief An allocation (device or host) could not be satisfied.
 *
 * requested() and available() are in bytes; available() is 0 when unknown.
 */
class out_of_memory : public error {
 public:
  out_of_memory(const std::string& what, std::size_t requested, std::size_t available)
      : error(what), requested_(requested), available_(available) {}
  /** @brief Bytes that were asked for. */
  [[nodiscard]] std::size_t requested() const noexcept { return requested_; }
  /** @brief Bytes free at the time of the request (0 when unknown). */
  [[nodiscard]] std::size_t available() const noexcept { return available_; }

 private:
  std::size_t requested_;
  std::size_t available_;
};

}  // namespace bionmda
