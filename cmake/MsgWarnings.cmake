# Warnings and sanitizers shared by every target of the project.
add_library(msg_warnings INTERFACE)
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(msg_warnings INTERFACE -Wall -Wextra -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough)
  if(MSG_WERROR)
    target_compile_options(msg_warnings INTERFACE -Werror)
  endif()
endif()
if(MSG_SANITIZE)
  add_compile_options(-fsanitize=${MSG_SANITIZE} -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${MSG_SANITIZE})
endif()
