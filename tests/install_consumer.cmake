# Installs the build tree into a fresh prefix, then configures, builds and
# runs examples/consumer against it with find_package(bionmda CONFIG).
# Variables: BUILD_DIR, SOURCE_DIR, WORK_DIR, CXX_COMPILER (the compiler that
# built the package: its interface may carry that compiler's flags, e.g.
# clang-only -fsanitize checks).
file(REMOVE_RECURSE "${WORK_DIR}")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${WORK_DIR}/prefix"
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "cmake --install failed: ${rc}")
endif()
foreach(f include/bionmda/bionmda.hpp include/bionmda/version.hpp bin/bionmda lib/cmake/bionmda/bionmda-config.cmake)
  if(NOT EXISTS "${WORK_DIR}/prefix/${f}")
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}/examples/consumer" -B "${WORK_DIR}/build"
                        -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
                        -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed:\n${out}\n${err}")
endif()
string(REGEX MATCH "CUDA backend: [A-Z]+" has_cuda "${out}")
message(STATUS "${has_cuda}")
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/build" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc)
  message(FATAL_ERROR "building the consumer failed:\n${out}\n${err}")
endif()
execute_process(COMMAND "${WORK_DIR}/build/consumer" RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(rc)
  message(FATAL_ERROR "the consumer failed: ${out}")
endif()
execute_process(COMMAND "${WORK_DIR}/prefix/bin/bionmda" info RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(rc)
  message(FATAL_ERROR "the installed bionmda tool failed")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
