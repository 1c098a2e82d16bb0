#pragma once
// NumPy .npy files (format versions 1.0, 2.0, 3.0): a strict reader that
// checks every header field and size it reads, and a writer.
#include <cstdint>
#include <string>
#include <vector>

namespace bionmda::io {

/// A C-order array read from a .npy file.
struct npy_array {
  std::string descr;                 ///< e.g. "|b1", "|u1", "<f4", "<f8"
  std::vector<std::int64_t> shape;   ///< dimensions, C order
  std::vector<std::uint8_t> data;    ///< raw little-endian bytes
  [[nodiscard]] std::int64_t elements() const;
};

/// Reads path; throws bionmda::error naming the file and the bad field (what
/// names the file's role in a message about opening or reading it).
npy_array read_npy(const std::string& path, const std::string& what = ".npy file");

/// Parses a whole .npy image already in memory (name is used in messages).
npy_array parse_npy(const std::vector<std::uint8_t>& bytes, const std::string& name);

/// The .npy (version 1.0) preamble and header of an array: the data follows
/// it (e.g. written as it is produced).
std::string npy_header(const std::string& descr, const std::vector<std::int64_t>& shape);

/// Serialises a C-order little-endian array as .npy (version 1.0).
std::string npy_bytes(const std::string& descr, const std::vector<std::int64_t>& shape,
                      const void* data, std::size_t bytes);

}  // namespace bionmda::io
