# Warnings as errors for our code only; generated protobuf code gets no -Werror.
set(REMORA_WARNINGS -Wall -Wextra -Wpedantic -Werror -Wno-unused-parameter)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports false -Wrestrict overlaps inside libstdc++'s std::string
  # at -O3 (GCC bug 105651); our code cannot silence them locally.
  list(APPEND REMORA_WARNINGS -Wno-restrict)
  # With -fsanitize=address at -O2, GCC 12 reports false -Wmaybe-uninitialized
  # inside libstdc++ (std::regex's std::function state); GCC's manual warns
  # that sanitizers make this warning unreliable. The normal build keeps it.
  if(REMORA_ASAN)
    list(APPEND REMORA_WARNINGS -Wno-maybe-uninitialized)
  endif()
endif()

# remora_library(NAME SOURCES... LINKS ...): one folder, one library target,
# linking exactly what that folder may use.
function(remora_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINKS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${REMORA_ROOT})
  target_compile_options(${name} PRIVATE ${REMORA_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_LINKS})
endfunction()

function(remora_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINKS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${REMORA_ROOT})
  target_compile_options(${name} PRIVATE ${REMORA_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_LINKS})
endfunction()
