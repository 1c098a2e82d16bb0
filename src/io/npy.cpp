#include "npy.hpp"

#include <cctype>
#include <cstring>
#include <limits>

#include "bionmda/error.hpp"
#include "input_file.hpp"
#include "message_text.hpp"

namespace bionmda::io {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw error("bionmda: " + name + ": invalid .npy file: " + what);
}

std::size_t item_size(const std::string& descr) {
  if (descr == "|b1" || descr == "|u1" || descr == "|i1") return 1;
  if (descr == "<f4" || descr == "<i4" || descr == "<u4") return 4;
  if (descr == "<f8" || descr == "<i8" || descr == "<u8") return 8;
  return 0;
}

// A minimal strict parser for the header dict, e.g.
// {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
class header_parser {
 public:
  header_parser(const std::string& text, const std::string& name) : s_(text), name_(name) {}

  void parse(std::string& descr, bool& fortran, std::vector<std::int64_t>& shape) {
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    for (;;) {
      skip_ws();
      if (peek() == '}') {
        ++pos_;
        break;
      }
      const std::string key = quoted_string();
      expect(':');
      // A key given twice is refused: which value would NumPy have used?
      const auto once = [&](bool& have) {
        if (have) fail(name_, "header key " + quoted(key) + " is given twice");
        have = true;
      };
      if (key == "descr") {
        once(have_descr);
        descr = quoted_string();
      } else if (key == "fortran_order") {
        once(have_fortran);
        fortran = boolean();
      } else if (key == "shape") {
        once(have_shape);
        shape = tuple();
      } else {
        fail(name_, "unexpected header key " + quoted(key));
      }
      skip_ws();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        fail(name_, "expected ',' or '}' in header at offset " + std::to_string(pos_));
      }
    }
    skip_ws();
    if (pos_ != s_.size()) fail(name_, "trailing characters after the header dict");
    if (!have_descr) fail(name_, "header has no 'descr'");
    if (!have_fortran) fail(name_, "header has no 'fortran_order'");
    if (!have_shape) fail(name_, "header has no 'shape'");
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_ws();
    if (peek() != c) {
      fail(name_, std::string("expected '") + c + "' in header at offset " + std::to_string(pos_));
    }
    ++pos_;
  }
  std::string quoted_string() {
    skip_ws();
    const char q = peek();
    if (q != '\'' && q != '"') fail(name_, "expected a quoted string in header at offset " + std::to_string(pos_));
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail(name_, "unterminated string in header");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip_ws();
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail(name_, "fortran_order must be True or False");
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    for (;;) {
      skip_ws();
      if (peek() == ')') {
        ++pos_;
        return dims;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) {
        fail(name_, "shape entries must be non-negative integers");
      }
      std::int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        const int d = peek() - '0';
        if (v > (std::numeric_limits<std::int64_t>::max() - d) / 10) fail(name_, "shape entry overflows 64 bits");
        v = v * 10 + d;
        ++pos_;
      }
      dims.push_back(v);
      if (dims.size() > 32) fail(name_, "shape has more than 32 dimensions");
      skip_ws();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        fail(name_, "expected ',' or ')' in shape");
      }
    }
  }

  const std::string& s_;
  const std::string& name_;
  std::size_t pos_ = 0;
};

}  // namespace

std::int64_t npy_array::elements() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

npy_array parse_npy(const std::vector<std::uint8_t>& b, const std::string& name) {
  static const unsigned char magic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (b.size() < 10) fail(name, "file is " + std::to_string(b.size()) + " bytes, shorter than the 10-byte preamble");
  if (std::memcmp(b.data(), magic, 6) != 0) fail(name, "bad magic string (not a .npy file)");
  const int major = b[6];
  const int minor = b[7];
  if (minor != 0 || major < 1 || major > 3) {
    fail(name, "unsupported format version " + std::to_string(major) + "." + std::to_string(minor));
  }
  std::size_t header_len = 0;
  std::size_t offset = 0;
  if (major == 1) {
    header_len = static_cast<std::size_t>(b[8]) | static_cast<std::size_t>(b[9]) << 8;
    offset = 10;
  } else {
    if (b.size() < 12) fail(name, "file too short for a version 2/3 preamble");
    header_len = static_cast<std::size_t>(b[8]) | static_cast<std::size_t>(b[9]) << 8 |
                 static_cast<std::size_t>(b[10]) << 16 | static_cast<std::size_t>(b[11]) << 24;
    offset = 12;
  }
  if (header_len > b.size() - offset) {
    fail(name, "header length " + std::to_string(header_len) + " exceeds the file size");
  }
  std::string header(reinterpret_cast<const char*>(b.data() + offset), header_len);
  while (!header.empty() && (header.back() == '\n' || header.back() == ' ')) header.pop_back();

  npy_array a;
  bool fortran = false;
  header_parser(header, name).parse(a.descr, fortran, a.shape);
  if (fortran) fail(name, "fortran_order True is not supported (save a C-order array)");
  const std::size_t item = item_size(a.descr);
  if (item == 0) fail(name, "unsupported dtype " + quoted(a.descr));
  // The product of the non-zero dimensions must fit in int64 (a zero
  // dimension makes the array empty, but elements() multiplies them all).
  std::int64_t nonzero_product = 1;
  for (auto d : a.shape) {
    if (d != 0 && nonzero_product > std::numeric_limits<std::int64_t>::max() / d) fail(name, "shape too large");
    if (d != 0) nonzero_product *= d;
  }
  std::size_t count = 1;
  for (auto d : a.shape) {
    const auto ud = static_cast<std::size_t>(d);
    if (ud != 0 && count > std::numeric_limits<std::size_t>::max() / ud / item) fail(name, "shape too large");
    count *= ud;
  }
  const std::size_t data_at = offset + header_len;
  const std::size_t want = count * item;
  const std::size_t have = b.size() - data_at;
  if (have != want) {
    fail(name, "data is " + std::to_string(have) + " bytes but shape and dtype " + quoted(a.descr) + " need " +
                   std::to_string(want) + (have < want ? " (truncated)" : " (trailing bytes)"));
  }
  a.data.assign(b.begin() + static_cast<std::ptrdiff_t>(data_at), b.end());
  return a;
}

npy_array read_npy(const std::string& path, const std::string& what) {
  return parse_npy(read_input_bytes(path, what), path);
}

std::string npy_header(const std::string& descr, const std::vector<std::int64_t>& shape) {
  std::string dims;  // "3," for 1-d, "3, 4" otherwise (Python tuple syntax)
  for (std::size_t k = 0; k < shape.size(); ++k) {
    dims += (k ? ", " : "") + std::to_string(shape[k]);
  }
  if (shape.size() == 1) dims += ",";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
  // Pad so that the data starts on a 64-byte boundary; the header ends in '\n'.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  out += header;
  return out;
}

std::string npy_bytes(const std::string& descr, const std::vector<std::int64_t>& shape,
                      const void* data, std::size_t bytes) {
  std::string out = npy_header(descr, shape);
  out.append(static_cast<const char*>(data), bytes);
  return out;
}

}  // namespace bionmda::io
