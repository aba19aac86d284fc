# Shared compile options: every ferry target links ferry::options.
add_library(ferry_options INTERFACE)
add_library(ferry::options ALIAS ferry_options)
target_compile_options(ferry_options INTERFACE
  -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wpedantic
  # g++ 12 reports false maybe-uninitialized positives inside date/tz and Asio at -O2.
  -Wno-maybe-uninitialized
  # ...and mismatched-new-delete on Asio coroutine frames (operator new/delete of awaitable_frame).
  -Wno-mismatched-new-delete
  $<$<BOOL:${FERRY_WERROR}>:-Werror>)
target_compile_definitions(ferry_options INTERFACE
  FERRY_VERSION="${PROJECT_VERSION}")
if(FERRY_SANITIZE)
  target_compile_options(ferry_options INTERFACE -fsanitize=${FERRY_SANITIZE} -fno-omit-frame-pointer)
  target_link_options(ferry_options INTERFACE -fsanitize=${FERRY_SANITIZE})
endif()
