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

# The flags of every freestanding archive (the core, the x86 backend, the guest side), per
# architecture, and the bare -m flag for linking their objects together.
set(PVCORE_FS_COMMON_FLAGS -ffreestanding -nostdlib -fno-stack-protector
    -fno-asynchronous-unwind-tables -mno-mmx -mno-sse -mno-sse2)
# -fpie on x86-64: a hypervisor links these at a high address such as 0xFFFF830000100000,
# which the default small code model with -fno-pic cannot reach, and -fpie code linked
# statically (not as a PIE) at a fixed address needs no runtime relocation.
set(PVCORE_FS_FLAGS_x86_64 -m64 -mno-red-zone -fpie ${PVCORE_FS_COMMON_FLAGS})
# -Wno-psabi: GCC notes that _Atomic 64-bit field alignment changed in 11.1.
set(PVCORE_FS_FLAGS_i386 -m32 -Wno-psabi -fno-pic ${PVCORE_FS_COMMON_FLAGS})
set(PVCORE_FS_ARCH_FLAG_x86_64 -m64)
set(PVCORE_FS_ARCH_FLAG_i386 -m32)
