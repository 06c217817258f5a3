# Warnings for Flint's own code. Third-party headers come from system include
# directories, so -Werror only ever fires on our code (but see
# flint_allow_rdkafka_macros below for macros that expand in it).
option(FLINT_WERROR "Treat warnings in Flint's own code as errors" ON)

add_library(flint_warnings INTERFACE)
target_compile_options(flint_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wcast-align -Wimplicit-fallthrough
  $<$<BOOL:${FLINT_WERROR}>:-Werror>
  # GCC 12 reports false positives from inlined standard library code at -O2
  # (e.g. GCC bugs 105329, 105651); keep them visible but not fatal.
  $<$<CXX_COMPILER_ID:GNU>:-Wno-error=maybe-uninitialized -Wno-error=restrict
    -Wno-error=array-bounds -Wno-error=stringop-overflow>
  # ...and about Asio's coroutine frame allocator, whose operator new/delete
  # pair it cannot see through (GCC bug 109224).
  $<$<CXX_COMPILER_ID:GNU>:-Wno-mismatched-new-delete>)

# flint_allow_rdkafka_macros(<sources...>): librdkafka's RD_KAFKA_V_* macros (the
# arguments of rd_kafka_producev) expand to GNU statement expressions in our
# own code, which clang's -Wpedantic reports (GCC's does not). Only the sources
# that use them, and only with clang, leave out that one warning.
function(flint_allow_rdkafka_macros)
  set_property(SOURCE ${ARGN} APPEND PROPERTY COMPILE_OPTIONS
    $<$<CXX_COMPILER_ID:Clang>:-Wno-gnu-statement-expression>)
endfunction()
