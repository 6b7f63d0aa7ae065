# Fuzzing (included by tests/CMakeLists.txt). The libFuzzer harnesses in
# tests/fuzz are built with clang in their own tree, <build>/fuzz, as an
# ExternalProject of this build, so `cmake --build` (and tools/dev.sh)
# builds them too; each runs for a few seconds in the suite.
# tests/fuzz/fuzz.sh runs them for longer. -DLIAISON_FUZZ=OFF leaves them out.
option(LIAISON_FUZZ "build the libFuzzer harnesses with clang and run them in the tests" ON)
if(NOT LIAISON_FUZZ)
  return()
endif()

find_program(CLANGXX_EXECUTABLE NAMES clang++ clang++-14)
if(NOT CLANGXX_EXECUTABLE)
  message(FATAL_ERROR "the fuzz harnesses need clang++ and libFuzzer (Debian: clang "
                      "libclang-rt-14-dev, which tools/dev.sh installs), or -DLIAISON_FUZZ=OFF")
endif()
include(ExternalProject)
set(LIAISON_FUZZ_DIR ${CMAKE_BINARY_DIR}/fuzz)
ExternalProject_Add(liaison_fuzzers
  SOURCE_DIR ${CMAKE_CURRENT_LIST_DIR}
  BINARY_DIR ${LIAISON_FUZZ_DIR}
  CMAKE_ARGS -DCMAKE_CXX_COMPILER=${CLANGXX_EXECUTABLE}
             -DLIAISON_SOURCE_DIR=${CMAKE_SOURCE_DIR}
             -DLIAISON_PROTO_GEN=${PROTO_GEN}
             -DLIAISON_PROTO_LIB=$<TARGET_FILE:liaison_proto>
  # The sources live outside the ExternalProject's own folder: let the
  # inner build decide what is out of date, every time.
  BUILD_ALWAYS ON
  INSTALL_COMMAND ""
  DEPENDS liaison_proto)

# Seconds per harness in the suite, and a cap on inputs so a fast harness
# stops early.
set(LIAISON_FUZZ_SECONDS 5 CACHE STRING "seconds each fuzz harness runs in the test suite")
file(GLOB harnesses CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*_fuzz.cc)
foreach(harness ${harnesses})
  get_filename_component(name ${harness} NAME_WE)
  string(REGEX REPLACE "_fuzz$" "" name ${name})
  add_test(NAME "fuzz: ${name}"
           COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/fuzz.sh --build-dir ${LIAISON_FUZZ_DIR}
                   --seconds ${LIAISON_FUZZ_SECONDS} --runs 2000000 ${name})
endforeach()
