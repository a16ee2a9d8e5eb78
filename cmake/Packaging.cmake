# Installation layout and the Debian package (CPack DEB): `cpack -G DEB` in a build directory.
#   /usr/bin/tiermirror                          (install(TARGETS) in CMakeLists.txt)
#   /lib/systemd/system/tiermirror@.service      one instance per route
#   /usr/lib/sysusers.d/tiermirror.conf          the tiermirror system user
#   /usr/share/doc/tiermirror/                   README, configuration, operations (and audit)
#   /usr/share/tiermirror/examples/              the annotated example config
#   /etc/tiermirror/                             route configs, root:tiermirror 0750 (postinst)
# The unit and /etc/tiermirror have absolute destinations: systemd and administrators look
# there whatever the prefix. The package's maintainer scripts are in packaging/debian.

set(_pkg ${PROJECT_SOURCE_DIR}/packaging)

install(FILES ${_pkg}/systemd/tiermirror@.service DESTINATION /lib/systemd/system)
install(FILES ${_pkg}/systemd/tiermirror.sysusers.conf DESTINATION lib/sysusers.d RENAME tiermirror.conf)

set(_docs ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/configuration.md
          ${PROJECT_SOURCE_DIR}/docs/operations.md)
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/audit.md)
  list(APPEND _docs ${PROJECT_SOURCE_DIR}/docs/audit.md)
endif()
install(FILES ${_docs} DESTINATION share/doc/tiermirror)
install(FILES ${PROJECT_SOURCE_DIR}/config/tiermirror.example.yaml DESTINATION share/tiermirror/examples)
install(DIRECTORY DESTINATION /etc/tiermirror)

set(CPACK_PACKAGE_NAME tiermirror)
set(CPACK_PACKAGE_VENDOR "tiermirror")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tiermirror maintainers <tiermirror-maintainers@example.invalid>"
    CACHE STRING "Maintainer field of the Debian package")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "identity-preserving Kafka mirror maker")
set(CPACK_PACKAGE_DESCRIPTION "tiermirror copies each source partition's record batches to the same
partition number on the target cluster, in order, with the records section of
every batch byte-identical (never decompressed or recompressed). One process,
the systemd instance tiermirror@ROUTE, serves one route.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # a RelWithDebInfo binary is mostly debug info
set(CPACK_GENERATOR DEB)
set(CPACK_SOURCE_GENERATOR "")

set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Depends from the libraries the binary links (dpkg-shlibdeps, in dpkg-dev); without it
# the list below, Debian 12's names, is used.
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
else()
  set(CPACK_DEBIAN_PACKAGE_DEPENDS
      "libc6, libstdc++6, libgcc-s1, librdkafka1, libyaml-cpp0.7, libprometheus-cpp-core1.0, libsnappy1v5, libzstd1, liblz4-1, zlib1g, libssl3, libsystemd0, libspdlog1.10, libfmt9")
endif()
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${_pkg}/debian/postinst ${_pkg}/debian/prerm ${_pkg}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)

if(TIERMIRROR_BUILD_TESTS)
  # Skipped (exit 77) where the tool they need is missing.
  add_test(NAME packaging.deb
    COMMAND ${_pkg}/tests/check_deb.sh ${PROJECT_BINARY_DIR} ${PROJECT_VERSION})
  add_test(NAME packaging.systemd_unit
    COMMAND ${_pkg}/tests/check_unit.sh ${_pkg}/systemd $<TARGET_FILE:tiermirror>)
  add_test(NAME packaging.container_refs
    COMMAND ${_pkg}/tests/check_containerfile.sh ${PROJECT_SOURCE_DIR})
  set_tests_properties(packaging.deb packaging.systemd_unit packaging.container_refs
    PROPERTIES LABELS unit SKIP_RETURN_CODE 77)
  # cpack re-runs the install step of the finished build and strips the binary.
  set_tests_properties(packaging.deb PROPERTIES TIMEOUT 240)
  # The Kubernetes manifests: parsed with yaml-cpp, their route config loaded by the real
  # loader, their ports and probe paths checked against the config and the status server.
  find_package(GTest REQUIRED)
  add_executable(check_kubernetes ${_pkg}/tests/check_kubernetes.cc)
  target_link_libraries(check_kubernetes PRIVATE tiermirror_app yaml-cpp GTest::gtest GTest::gtest_main)
  target_compile_definitions(check_kubernetes PRIVATE
    TIERMIRROR_KUBERNETES_DIR="${_pkg}/kubernetes"
    TIERMIRROR_CONTAINERFILE="${_pkg}/container/Containerfile")
  add_test(NAME packaging.kubernetes COMMAND check_kubernetes)
  set_tests_properties(packaging.kubernetes PROPERTIES LABELS unit)
endif()
