// The table of kinetic parameters (kinetic_parameters) against the struct
// it describes, against BrainPy's names, defaults and units written out here
// independently, against docs/model.md, and against the validation that
// loops over it.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace {

using namespace bionmda;

TEST(KineticParameters, DefaultsAreTheStructsDefaults) {
  const parameters defaults{};
  for (const parameter_info& info : kinetic_parameters) {
    SCOPED_TRACE(info.name);
    const unit_value& v = defaults.*info.member;
    EXPECT_FALSE(v.is_per_unit());
    EXPECT_EQ(v.uniform(), info.default_value);  // the same literal: exact
    EXPECT_TRUE(std::isfinite(info.default_value) && info.default_value >= info.minimum);
  }
}

TEST(KineticParameters, NamesAndFieldsAreUniqueAndCoverTheStruct) {
  std::set<std::string> names, cli_names;
  for (std::size_t a = 0; a < kinetic_parameters.size(); ++a) {
    const parameter_info& info = kinetic_parameters[a];
    SCOPED_TRACE(info.name);
    EXPECT_TRUE(names.insert(info.name).second) << "duplicate name";
    EXPECT_TRUE(cli_names.insert(info.cli_name).second) << "duplicate option";
    EXPECT_NE(std::string(info.unit), "");
    EXPECT_NE(std::string(info.meaning), "");
    for (std::size_t b = a + 1; b < kinetic_parameters.size(); ++b) {
      EXPECT_FALSE(info.member == kinetic_parameters[b].member) << "same field as " << kinetic_parameters[b].name;
    }
  }
  // A field added to parameters by hand, outside the list, would have no row.
  EXPECT_EQ(sizeof(parameters), kinetic_parameters.size() * sizeof(unit_value));
}

// BrainPy's parameters as docs/model.md states them, written out by hand. The
// order is the checkpoint file format's and must not change.
TEST(KineticParameters, MatchBrainPyInCheckpointOrder) {
  struct expected {
    const char* name;
    const char* option;
    parameter_member member;
    double default_value;
    const char* unit;
    parameter_kind kind;
  };
  const std::vector<expected> brainpy = {
      {"alpha1", "alpha1", &parameters::alpha1, 2.0, "1/ms", parameter_kind::coefficient},
      {"beta1", "beta1", &parameters::beta1, 0.01, "1/ms", parameter_kind::coefficient},
      {"alpha2", "alpha2", &parameters::alpha2, 1.0, "1/(ms*mM)", parameter_kind::coefficient},
      {"beta2", "beta2", &parameters::beta2, 0.5, "1/ms", parameter_kind::coefficient},
      {"T", "T", &parameters::T, 1.0, "mM", parameter_kind::coefficient},
      {"T_dur", "T-dur", &parameters::T_dur, 0.5, "ms", parameter_kind::duration},
  };
  ASSERT_EQ(kinetic_parameters.size(), brainpy.size());
  for (std::size_t k = 0; k < brainpy.size(); ++k) {
    const parameter_info& info = kinetic_parameters[k];
    const expected& e = brainpy[k];
    SCOPED_TRACE(e.name);
    EXPECT_EQ(std::string(info.name), e.name);
    EXPECT_EQ(std::string(info.cli_name), e.option);
    EXPECT_TRUE(info.member == e.member);
    EXPECT_EQ(info.default_value, e.default_value);
    EXPECT_EQ(std::string(info.unit), e.unit);
    EXPECT_EQ(info.minimum, 0.0);
    EXPECT_EQ(info.kind, e.kind);
  }
}

// docs/model.md has a table row "| `name` | default | unit | meaning |" per parameter.
TEST(KineticParameters, ModelDocumentationAgrees) {
  std::ifstream in(BIONMDA_DOCS_DIR "/model.md");
  ASSERT_TRUE(in) << "cannot open " BIONMDA_DOCS_DIR "/model.md";
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  for (const parameter_info& info : kinetic_parameters) {
    SCOPED_TRACE(info.name);
    const std::string start = std::string("| `") + info.name + "` |";
    int rows = 0;
    for (const std::string& line : lines) {
      if (line.rfind(start, 0) != 0) continue;
      ++rows;
      std::vector<std::string> cells;
      std::istringstream cs(line.substr(1));
      for (std::string cell; std::getline(cs, cell, '|');) {
        const auto first = cell.find_first_not_of(' ');
        const auto last = cell.find_last_not_of(' ');
        cells.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
      }
      ASSERT_GE(cells.size(), 3u) << line;
      EXPECT_EQ(std::stod(cells[1]), info.default_value) << line;
      EXPECT_EQ(cells[2], info.unit) << line;
    }
    EXPECT_EQ(rows, 1) << "rows starting with " << start;
  }
}

// Validation covers every row: below the minimum, NaN and infinity are
// rejected, naming the parameter (and the unit when per unit); the minimum
// itself is accepted.
TEST(KineticParameters, EveryRowIsValidated) {
  constexpr double nan_v = std::numeric_limits<double>::quiet_NaN();
  constexpr double inf_v = std::numeric_limits<double>::infinity();
  for (const parameter_info& info : kinetic_parameters) {
    SCOPED_TRACE(info.name);
    population_config cfg;
    cfg.units = 3;
    cfg.backend = backend::cpu;
    const std::string prefix = std::string("bionmda: parameter ") + info.name;
    for (double bad : {info.minimum - 1.0, nan_v, inf_v}) {
      cfg.params = parameters{};
      cfg.params.*info.member = bad;
      try {
        population p(cfg);
        ADD_FAILURE() << "accepted " << bad;
      } catch (const invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).rfind(prefix + " must be finite and >= 0, got ", 0), 0u) << e.what();
      }
      cfg.params.*info.member = std::vector<double>{info.default_value, bad, info.default_value};
      try {
        population p(cfg);
        ADD_FAILURE() << "accepted " << bad << " per unit";
      } catch (const invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).rfind(prefix + "[1] must be finite and >= 0, got ", 0), 0u) << e.what();
      }
    }
    cfg.params = parameters{};
    cfg.params.*info.member = info.minimum;
    EXPECT_NO_THROW(population p(cfg));
  }
}

}  // namespace
