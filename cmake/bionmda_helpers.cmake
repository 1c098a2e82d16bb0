# Shared build settings and the helpers that register tests and benchmarks.

# Per-language warnings; errors when BIONMDA_WERROR.
function(bionmda_set_warnings target)
  set(_cxx -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion)
  set(_cuda -Xcompiler=-Wall,-Wextra)
  if(BIONMDA_WERROR)
    list(APPEND _cxx -Werror)
    list(APPEND _cuda -Werror=all-warnings -Xcompiler=-Werror)
  endif()
  target_compile_options(${target} PRIVATE
    "$<$<COMPILE_LANGUAGE:CXX>:${_cxx}>"
    "$<$<COMPILE_LANGUAGE:CUDA>:${_cuda}>")
endfunction()

# GoogleTest: the system package, else a source tree under .device-deps/
# (scripts/device-prep.sh copies it there for the GPU machine).
macro(bionmda_find_gtest)
  if(NOT TARGET GTest::gtest_main)
    find_package(GTest QUIET)
    if(NOT GTest_FOUND)
      set(_gtest_src "${PROJECT_SOURCE_DIR}/.device-deps/googletest")
      if(EXISTS "${_gtest_src}/CMakeLists.txt")
        set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
        set(BUILD_GMOCK OFF CACHE BOOL "" FORCE)
        add_subdirectory("${_gtest_src}" "${PROJECT_BINARY_DIR}/_deps/googletest" EXCLUDE_FROM_ALL SYSTEM)
        add_library(GTest::gtest ALIAS gtest)
        add_library(GTest::gtest_main ALIAS gtest_main)
      else()
        message(FATAL_ERROR "GoogleTest not found: install libgtest-dev, or run scripts/device-prep.sh")
      endif()
    endif()
    include(GoogleTest)
  endif()
endmacro()

# bionmda_add_test(name SOURCES a.cpp ... [GPU] [LABELS l ...])
# Links GoogleTest and the library, discovers the tests, labels GPU tests "gpu".
function(bionmda_add_test name)
  cmake_parse_arguments(T "GPU" "" "SOURCES;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE bionmda::bionmda bionmda_test_support GTest::gtest_main)
  bionmda_set_warnings(${name})
  set(_labels ${T_LABELS})
  if(T_GPU)
    list(APPEND _labels gpu)
    target_compile_definitions(${name} PRIVATE BIONMDA_TEST_CUDA=1)
    target_link_libraries(${name} PRIVATE CUDA::cudart)
  else()
    list(APPEND _labels cpu)
  endif()
  # Prefix with the binary's name: the CPU and GPU binaries share test names.
  gtest_discover_tests(${name} TEST_PREFIX "${name}." PROPERTIES LABELS "${_labels}"
                       DISCOVERY_TIMEOUT 60)
endfunction()

# bionmda_add_benchmark(name SOURCES a.cpp ...)
function(bionmda_add_benchmark name)
  cmake_parse_arguments(B "" "" "SOURCES" ${ARGN})
  add_executable(${name} ${B_SOURCES})
  target_link_libraries(${name} PRIVATE bionmda::bionmda)
  bionmda_set_warnings(${name})
endfunction()
