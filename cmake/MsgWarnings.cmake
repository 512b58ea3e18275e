# Warnings and sanitizers shared by every target of the project.
add_library(msg_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(msg_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
  # GCC 12 and 13 warn of an overlapping memcpy inside libstdc++ for
  # "literal" + std::string&& at -O2 and above (GCC bug 105651): a false
  # report about the library's own code, which would hide real ones.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12
     AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 14)
    target_compile_options(msg_warnings INTERFACE -Wno-restrict)
  endif()
  if(MSG_WERROR)
    target_compile_options(msg_warnings INTERFACE -Werror)
  endif()
endif()
if(MSG_SANITIZE)
  add_compile_options(-fsanitize=${MSG_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${MSG_SANITIZE})
endif()
