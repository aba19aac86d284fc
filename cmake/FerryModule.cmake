# ferry_module(NAME SOURCES ... [DEPS ...])
# One folder under lib/ = one static library ferry_NAME (alias ferry::NAME).
# Includes are written "NAME/NAME.h" relative to lib/.
function(ferry_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(ferry_${name} STATIC ${M_SOURCES})
  add_library(ferry::${name} ALIAS ferry_${name})
  target_include_directories(ferry_${name} PUBLIC ${PROJECT_SOURCE_DIR}/lib)
  target_link_libraries(ferry_${name} PUBLIC ferry::options ${M_DEPS})
endfunction()
