# Compiler flags shared by every target of the project. Warnings are never put in an
# INTERFACE: consumers choose their own. -Werror comes from CMAKE_COMPILE_WARNING_AS_ERROR
# (set by the presets and CI), so packagers with newer compilers are not broken.

set(PVCORE_WARNINGS
  -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wundef -Wvla -Wcast-align -Wconversion -Wsign-conversion
  -Wnull-dereference -Wdouble-promotion -Wmissing-declarations -Wswitch-enum
  -Wimplicit-fallthrough)

# Test code gets the same warnings minus the pedantic integer-conversion ones, which
# CMocka's macros trigger by the dozen.
set(PVCORE_TEST_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wundef -Wvla)

function(pvcore_warnings target)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE ${PVCORE_WARNINGS})
  endif()
endfunction()

function(pvcore_test_warnings target)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE ${PVCORE_TEST_WARNINGS})
  endif()
endfunction()

# Sanitizers apply to host targets only (never to the freestanding or -m32 checks).
function(pvcore_sanitize target)
  if(PVCORE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=${PVCORE_SANITIZE}
      -fno-omit-frame-pointer -fno-sanitize-recover=all)
    target_link_options(${target} PRIVATE -fsanitize=${PVCORE_SANITIZE})
  endif()
  if(PVCORE_FUZZ)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined
      -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()
