if(REMORA_ASAN AND REMORA_TSAN)
  message(FATAL_ERROR "REMORA_ASAN and REMORA_TSAN are exclusive")
endif()
if(REMORA_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(REMORA_TSAN)
  # Debian's libprotobuf is built without TSan, and protobuf's headers change
  # inline code (Map) when they see __SANITIZE_THREAD__ (PROTOBUF_TSAN), so our
  # objects and the library would disagree and crash on the first map field.
  # Memory accesses are still instrumented; only the macro is hidden.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -U__SANITIZE_THREAD__)
  add_link_options(-fsanitize=thread)
endif()
if(REMORA_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "REMORA_FUZZ needs clang: CC=clang CXX=clang++")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
