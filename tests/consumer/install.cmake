# cmake -DBUILD_DIR=<build tree> -DPREFIX=<scratch prefix> -P install.cmake
# Installs the build into an emptied prefix, so that nothing from an earlier install is found.
file(REMOVE_RECURSE "${PREFIX}")
execute_process(COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${PREFIX}" COMMAND_ERROR_IS_FATAL ANY)
