// The tool's option parsing (src/cli/options.cpp) and the number grammar of
// its files (src/io): every value accepted is exact, every refusal names the
// option (or file and line) and quotes the value, cut to a readable length.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "../src/cli/options.hpp"
#include "bionmda/error.hpp"
#include "input_file.hpp"
#include "message_text.hpp"
#include "npy.hpp"
#include "unit_values.hpp"

namespace {

using namespace bionmda;
using cli::parse_choice;
using cli::parse_integer;
using cli::parse_number_or_file;
using cli::parse_real;
using cli::parse_record;
using cli::parse_seed;
using cli::parse_sizes;

// Passes when f throws bionmda::error whose message contains every part.
::testing::AssertionResult refused(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const error& e) {
    const std::string what = e.what();
    for (const std::string& p : parts) {
      if (what.find(p) == std::string::npos) {
        return ::testing::AssertionFailure() << "message \"" << what << "\" lacks \"" << p << "\"";
      }
    }
    if (what.size() > 300) return ::testing::AssertionFailure() << "message of " << what.size() << " bytes";
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-bionmda exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "accepted";
}

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();
const io::value_range positive{0, std::numeric_limits<double>::infinity(), true};
const io::value_range non_negative{0};

TEST(ParseInteger, AcceptsDecimalIntegersInRange) {
  EXPECT_EQ(parse_integer("0", "--size", 0), 0);
  EXPECT_EQ(parse_integer("-0", "--size", 0), 0);
  EXPECT_EQ(parse_integer("42", "--size", 0), 42);
  EXPECT_EQ(parse_integer("007", "--size", 0), 7);
  EXPECT_EQ(parse_integer("9223372036854775807", "--size", 0), int64_max);
  EXPECT_EQ(parse_integer("-9223372036854775808", "--x", int64_min), int64_min);
  EXPECT_EQ(parse_integer("5", "--x", 5, 5), 5);
}

TEST(ParseInteger, RefusesEverythingElseNamingTheOption) {
  for (const char* text : {"", "-", "+1", " 1", "1 ", "1e3", "0x10", "1.0", "1.", ".5", "1_000", "one", "1,2", "--1"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(refused([&] { parse_integer(text, "--steps", 0); },
                        {"--steps: '" + std::string(text) + "' is not a decimal integer"}));
  }
  EXPECT_TRUE(refused([] { parse_integer("9223372036854775808", "--size", 0); },
                      {"--size: out of range [0, 9223372036854775807]: '9223372036854775808'"}));
  EXPECT_TRUE(refused([] { parse_integer("-9223372036854775809", "--x", int64_min); }, {"--x: out of range"}));
  const std::string digits300 = "1" + std::string(300, '0');
  EXPECT_TRUE(refused([&] { parse_integer(digits300, "--size", 0); }, {"--size: out of range", "(301 bytes)"}));
  EXPECT_TRUE(refused([] { parse_integer("-5", "--size", 0); }, {"--size: must be >= 0, got -5"}));
  EXPECT_TRUE(refused([] { parse_integer("0", "--batch", 1); }, {"--batch: must be >= 1, got 0"}));
  EXPECT_TRUE(refused([] { parse_integer("3000000000", "--repeats", 1, 2147483647); },
                      {"--repeats: must be <= 2147483647, got 3000000000"}));
}

TEST(ParseSeed, TakesTheWholeUnsignedRangeAndNothingElse) {
  EXPECT_EQ(parse_seed("0"), 0u);
  EXPECT_EQ(parse_seed("000"), 0u);
  EXPECT_EQ(parse_seed("12345"), 12345u);
  EXPECT_EQ(parse_seed("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
  EXPECT_EQ(parse_seed("18446744073709551614"), std::numeric_limits<std::uint64_t>::max() - 1);
  for (const char* text : {"-1", "18446744073709551616", "99999999999999999999", "1e23", "0x10", " 1", "1 ", "+1",
                           "", "1.0", "-0"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(refused([&] { parse_seed(text); },
                        {"--seed: '" + std::string(text) + "' is not a decimal integer in [0, 18446744073709551615]"}));
  }
}

TEST(ParseReal, AcceptsFiniteDecimalNumbers) {
  EXPECT_EQ(parse_real("0.1", "--dt"), 0.1);
  EXPECT_EQ(parse_real("1e-3", "--dt"), 1e-3);
  EXPECT_EQ(parse_real("1E+2", "--dt"), 100.0);
  EXPECT_EQ(parse_real(".5", "--dt"), 0.5);
  EXPECT_EQ(parse_real("5.", "--dt"), 5.0);
  EXPECT_EQ(parse_real("-2", "--x"), -2.0);
  EXPECT_EQ(parse_real("+2.5", "--x"), 2.5);
  EXPECT_EQ(parse_real("1.7976931348623157e308", "--x"), std::numeric_limits<double>::max());
  EXPECT_EQ(parse_real("1e-400", "--x"), 0.0) << "below the smallest double reads as 0";
}

TEST(ParseReal, RefusesNonFiniteAndNonDecimalText) {
  for (const char* text : {"nan", "NaN", "-nan", "inf", "-inf", "+INF", "Infinity", "1e400", "-1e400",
                           "1.8e308"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(refused([&] { parse_real(text, "--rate"); }, {"--rate: '" + std::string(text) + "' is not a finite number"}));
  }
  for (const char* text : {"", " 1", "1 ", "0x1p3", "1e", "e5", ".", "-", "1..2", "1,5", "1.2.3", "nan(1)", "infinit",
                           "1e+", "++1", "1f", "١"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(refused([&] { parse_real(text, "--dt"); }, {"--dt: ", "is not a decimal number"}));
  }
}

TEST(ParseReal, ChecksTheRangeNamingTheCondition) {
  EXPECT_TRUE(refused([] { parse_real("0", "--dt", positive); }, {"--dt: must be > 0, got 0"}));
  EXPECT_TRUE(refused([] { parse_real("-0.1", "--dt", positive); }, {"--dt: must be > 0, got -0.1"}));
  EXPECT_TRUE(refused([] { parse_real("-5", "--rate", non_negative); }, {"--rate: must be >= 0, got -5"}));
  EXPECT_TRUE(refused([] { parse_real("1.5", "--g0", io::value_range{0, 1}); }, {"--g0: must be in [0, 1], got 1.5"}));
  EXPECT_EQ(parse_real("0", "--rate", non_negative), 0.0);
  EXPECT_EQ(parse_real("1", "--g0", io::value_range{0, 1}), 1.0);
}

TEST(ParseNumberOrFile, ANumberIsNeverTakenForAFileName) {
  EXPECT_EQ(parse_number_or_file("2", "--alpha1"), 2.0);
  EXPECT_FALSE(parse_number_or_file("values.txt", "--alpha1").has_value());
  EXPECT_FALSE(parse_number_or_file("1,5", "--alpha1").has_value());
  EXPECT_FALSE(parse_number_or_file("0x10", "--alpha1").has_value()) << "not decimal: a file name";
  for (const char* text : {"nan", "inf", "-Infinity", "1e999"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(refused([&] { parse_number_or_file(text, "--alpha1"); }, {"--alpha1: '", "is not a finite number"}));
  }
  EXPECT_TRUE(refused([] { parse_number_or_file("-2", "--alpha1", non_negative); }, {"--alpha1: must be >= 0, got -2"}));
}

TEST(ParseRecord, AllNoneAndIndicesInTheOrderGiven) {
  EXPECT_EQ(parse_record("all", 3), (std::vector<std::int64_t>{0, 1, 2}));
  EXPECT_EQ(parse_record("all", 0), (std::vector<std::int64_t>{}));
  EXPECT_EQ(parse_record("none", 5), (std::vector<std::int64_t>{}));
  EXPECT_EQ(parse_record("3,0,49", 50), (std::vector<std::int64_t>{3, 0, 49}));
  EXPECT_EQ(parse_record("0", 1), (std::vector<std::int64_t>{0}));
  EXPECT_EQ(parse_record("07", 8), (std::vector<std::int64_t>{7}));
}

TEST(ParseRecord, RefusesLaxSpellings) {
  // The examples of issue 10, item 12, and their relatives.
  for (const char* item : {"1e0", "0x3", " 1", "1 ", "+1", "-1", "1.0", "a", "ALL", "None", "1;2"}) {
    SCOPED_TRACE(item);
    EXPECT_TRUE(refused([&] { parse_record(item, 5); }, {"--record: '" + std::string(item) + "' is not a unit index"}));
  }
  for (const char* spec : {"1,2,", ",1", "0,,1", ","}) {
    SCOPED_TRACE(spec);
    EXPECT_TRUE(refused([&] { parse_record(spec, 5); }, {"--record: empty item in '" + std::string(spec) + "'"}));
  }
  EXPECT_TRUE(refused([] { parse_record("", 5); }, {"--record: empty"}));
  EXPECT_TRUE(refused([] { parse_record("1,1,1", 5); }, {"--record: unit 1 is listed twice"}));
  EXPECT_TRUE(refused([] { parse_record("4,0,2,4", 5); }, {"--record: unit 4 is listed twice"}));
  EXPECT_TRUE(refused([] { parse_record("0,7", 3); }, {"--record: unit 7 out of range [0, 3)"}));
  EXPECT_TRUE(refused([] { parse_record("0", 0); }, {"--record: unit 0 out of range [0, 0)"}));
  EXPECT_TRUE(refused([] { parse_record("99999999999999999999999", 3); }, {"--record: unit '99999999999999999999999' out of range"}));
}

TEST(ParseSizes, DecimalIntegersOfAtLeastOne) {
  EXPECT_EQ(parse_sizes({"1", "65536", "9223372036854775807"}), (std::vector<std::int64_t>{1, 65536, int64_max}));
  EXPECT_EQ(parse_sizes({}), (std::vector<std::int64_t>{}));
  // The examples of issue 10, item 6: never cast from a double.
  for (const char* text : {"nan", "1e30", "1000.7", "inf", "1e3", " 8"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(refused([&] { parse_sizes({"1000", text}); }, {"--sizes: '" + std::string(text) + "' is not a decimal integer"}));
  }
  EXPECT_TRUE(refused([] { parse_sizes({"0"}); }, {"--sizes: must be >= 1, got 0"}));
  EXPECT_TRUE(refused([] { parse_sizes({"-5"}); }, {"--sizes: must be >= 1, got -5"}));
  EXPECT_TRUE(refused([] { parse_sizes({"99999999999999999999"}); }, {"--sizes: out of range"}));
}

TEST(ParseChoice, ExactlyOneOfTheChoices) {
  EXPECT_EQ(parse_choice("cpu", "--backend", {"auto", "cpu", "cuda"}), "cpu");
  for (const char* text : {"gpu", "CPU", " cpu", "", "cpu,cuda"}) {
    SCOPED_TRACE(text);
    EXPECT_TRUE(refused([&] { parse_choice(text, "--backend", {"auto", "cpu", "cuda"}); },
                        {"--backend: '" + std::string(text) + "' is not one of auto, cpu or cuda"}));
  }
}

TEST(Quoted, CutsLongInputAndEscapesBinary) {
  EXPECT_EQ(io::quoted("abc"), "'abc'");
  EXPECT_EQ(io::quoted(""), "''");
  EXPECT_EQ(io::quoted(std::string(80, 'x')), "'" + std::string(80, 'x') + "'");
  EXPECT_EQ(io::quoted(std::string(10 * 1024 * 1024, 'q')), "'" + std::string(80, 'q') + "'... (10485760 bytes)");
  EXPECT_EQ(io::quoted(std::string("a\0b\n\xff\\", 6)), "'a\\x00b\\x0a\\xff\\x5c'");
  // Escapes count towards the cut: binary garbage stays short too.
  const std::string garbage(100000, '\x01');
  const std::string q = io::quoted(garbage);
  EXPECT_LT(q.size(), 120u) << q;
  EXPECT_NE(q.find("(100000 bytes)"), std::string::npos) << q;
  EXPECT_EQ(io::excerpt("short", 10), "short");
  EXPECT_EQ(io::excerpt("0123456789abc", 10), "0123456789... (13 bytes)");
}

TEST(Shortest, ReadsBackExactly) {
  EXPECT_EQ(io::shortest(0.1), "0.1");
  EXPECT_EQ(io::shortest(-2), "-2");
  EXPECT_EQ(io::shortest(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(io::shortest(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(io::shortest(1e300), "1e+300");
}

// --- Per-unit value files (src/io/unit_values.cpp) -------------------------

TEST(UnitValues, OneNumberPerLine) {
  EXPECT_EQ(io::parse_unit_values("1\n2.5\n-3e-1\n", "a.txt", 3, "--alpha1"), (std::vector<double>{1, 2.5, -0.3}));
  EXPECT_EQ(io::parse_unit_values("\n 1\t\r\n\n2\r\n3", "a.txt", 3, "--alpha1"), (std::vector<double>{1, 2, 3}))
      << "blank lines, spaces, tabs and CR around a number are ignored; the last newline is optional";
  EXPECT_EQ(io::parse_unit_values("", "a.txt", 0, "--alpha1"), (std::vector<double>{}));
}

TEST(UnitValues, ABadValueNamesFileLineAndOption) {
  EXPECT_TRUE(refused([] { io::parse_unit_values("1\nnan\n3\n", "a.txt", 3, "--alpha2"); },
                      {"a.txt:2: --alpha2 value 'nan' is not a finite number"}));
  EXPECT_TRUE(refused([] { io::parse_unit_values("1\n2\n-INF\n", "a.txt", 3, "--beta1"); },
                      {"a.txt:3: --beta1 value '-INF' is not a finite number"}));
  EXPECT_TRUE(refused([] { io::parse_unit_values("1e999\n", "a.txt", 1, "--T"); },
                      {"a.txt:1: --T value '1e999' is not a finite number"}));
  EXPECT_TRUE(refused([] { io::parse_unit_values("1\n0x10\n", "a.txt", 2, "--T"); },
                      {"a.txt:2: --T value '0x10' is not a decimal number"}));
  EXPECT_TRUE(refused([] { io::parse_unit_values("1\n1 2\n", "a.txt", 2, "--T"); },
                      {"a.txt:2: --T value '1 2' is not a decimal number"}));
  EXPECT_TRUE(refused([] { io::parse_unit_values("1\n-2\n", "a.txt", 2, "--alpha1", io::value_range{0}); },
                      {"a.txt:2: --alpha1 value -2 must be >= 0"}));
  EXPECT_TRUE(refused([] { io::parse_unit_values("0.5\n1.5\n", "g.csv", 2, "--g0", io::value_range{0, 1}); },
                      {"g.csv:2: --g0 value 1.5 must be in [0, 1]"}));
  EXPECT_TRUE(refused([] { io::parse_unit_values("1\n2\n", "a.txt", 3, "--alpha1"); },
                      {"--alpha1 a.txt: has 2 values; --size is 3"}));
  EXPECT_TRUE(refused([] { io::parse_unit_values("1\n2\n3\n4\n5\n", "a.txt", 3, "--alpha1"); },
                      {"a.txt:4: --alpha1 has more than 3 values; --size is 3"}));
  const std::string long_line(10 * 1024 * 1024, '7');
  EXPECT_TRUE(refused([&] { io::parse_unit_values("1\n" + long_line + "x\n", "a.txt", 2, "--T"); },
                      {"a.txt:2: --T value '7777", "(10485761 bytes) is not a decimal number"}));
}

std::string npy_of(const std::vector<double>& v) {
  return io::npy_bytes("<f8", {static_cast<std::int64_t>(v.size())}, v.data(), v.size() * sizeof(double));
}

io::npy_array parse(const std::string& image) {
  return io::parse_npy(std::vector<std::uint8_t>(image.begin(), image.end()), "a.npy");
}

TEST(UnitValues, NpyValuesAreCheckedByIndex) {
  EXPECT_EQ(io::unit_values_from_npy(parse(npy_of({1, 2, 3})), "a.npy", 3, "--alpha1"), (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(refused([] { io::unit_values_from_npy(parse(npy_of({1, std::nan(""), 3})), "a.npy", 3, "--alpha1"); },
                      {"a.npy[1]: --alpha1 value nan is not a finite number"}));
  EXPECT_TRUE(refused(
      [] { io::unit_values_from_npy(parse(npy_of({1, 2, -HUGE_VAL})), "a.npy", 3, "--alpha1"); },
      {"a.npy[2]: --alpha1 value -inf is not a finite number"}));
  EXPECT_TRUE(refused([] { io::unit_values_from_npy(parse(npy_of({-1, 2})), "a.npy", 2, "--T", io::value_range{0}); },
                      {"a.npy[0]: --T value -1 must be >= 0"}));
  const float f[2] = {0.5f, std::numeric_limits<float>::infinity()};
  EXPECT_TRUE(refused([&] { io::unit_values_from_npy(parse(io::npy_bytes("<f4", {2}, f, sizeof f)), "a.npy", 2, "--g0"); },
                      {"a.npy[1]: --g0 value inf is not a finite number"}));
}

TEST(ReadNumber, Grammar) {
  using kind = io::number_text::kind;
  for (const char* text : {"0", "-0", "1.", ".1", "1.5e3", "1E-3", "+7", "00012.50"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(io::read_number(text).what, kind::finite);
  }
  for (const char* text : {"nan", "NAN", "+inf", "-Infinity", "1e309", "-1e309"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(io::read_number(text).what, kind::not_finite);
  }
  for (const char* text : {"", "+", ".", "e1", "1e", "0x1", "1 ", " 1", "1.2.3", "1e1.5", "nanx", "in", "--1"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(io::read_number(text).what, kind::not_decimal);
  }
  EXPECT_EQ(io::read_number("1.5e3").value, 1500.0);
}

// --- .npy headers ----------------------------------------------------------

std::string npy_with_header(const std::string& dict) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xff));
  out.push_back(static_cast<char>(header.size() >> 8));
  return out + header + std::string(3, '\1');
}

TEST(NpyHeader, ADuplicatedKeyIsRefused) {
  EXPECT_EQ(parse(npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }")).shape,
            (std::vector<std::int64_t>{3}));
  EXPECT_TRUE(refused([] { parse(npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (3,), 'shape': (3,), }")); },
                      {"a.npy: invalid .npy file: header key 'shape' is given twice"}));
  EXPECT_TRUE(refused([] { parse(npy_with_header("{'descr': '<f8', 'descr': '|u1', 'fortran_order': False, 'shape': (3,), }")); },
                      {"header key 'descr' is given twice"}));
  EXPECT_TRUE(refused([] { parse(npy_with_header("{'fortran_order': True, 'descr': '|u1', 'fortran_order': False, 'shape': (3,), }")); },
                      {"header key 'fortran_order' is given twice"}));
}

TEST(NpyHeader, LongStringsAreCutInMessages) {
  const std::string descr(5000, 'd');
  EXPECT_TRUE(refused([&] { parse(npy_with_header("{'descr': '" + descr + "', 'fortran_order': False, 'shape': (3,), }")); },
                      {"unsupported dtype 'ddd", "(5000 bytes)"}));
  const std::string key(5000, 'k');
  EXPECT_TRUE(refused([&] { parse(npy_with_header("{'" + key + "': 1}")); }, {"unexpected header key 'kkk", "(5000 bytes)"}));
}

// --- Input files -------------------------------------------------------------

TEST(InputFile, ADirectoryOrAMissingFileIsNamed) {
  const auto dir = std::filesystem::temp_directory_path() / ("bionmda_options_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  EXPECT_TRUE(refused([&] { io::read_input_text(dir.string(), "spike file"); },
                      {"spike file '" + dir.string() + "' is a directory, not a file"}));
  EXPECT_TRUE(refused([&] { io::read_input_bytes(dir.string(), "--load file"); }, {"is a directory"}));
  EXPECT_TRUE(refused([&] { io::read_input_text((dir / "nosuch").string(), "spike file"); },
                      {"cannot open spike file '", "nosuch': No such file or directory"}));
  EXPECT_TRUE(refused([&] { io::read_npy(dir.string(), "spike file"); }, {"is a directory, not a file"}));
  EXPECT_TRUE(refused([&] { io::read_unit_values(dir.string(), 3, "--alpha1"); },
                      {"--alpha1 file '" + dir.string() + "' is a directory, not a file"}));
  EXPECT_TRUE(refused([&] { io::read_unit_values((dir / "nosuch").string(), 3, "--alpha1"); },
                      {"--alpha1: '", "nosuch' is neither a number nor a readable file"}));
  const auto file = dir / "v.txt";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("1\n2\n", f);
    std::fclose(f);
  }
  EXPECT_EQ(io::read_input_text(file.string(), "x"), "1\n2\n");
  EXPECT_EQ(io::read_unit_values(file.string(), 2, "--alpha1"), (std::vector<double>{1, 2}));
  std::filesystem::remove_all(dir);
}

}  // namespace
