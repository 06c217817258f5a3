# Warnings for Flint's own code. Third-party headers come from system include
# directories, so -Werror only ever fires on our code.
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
