# Installing and packaging (included by the top-level CMakeLists.txt, README "Installing").
#
#   cmake --install build [--prefix DIR]   binaries, man pages, unit, example config, docs
#   cpack --config build/CPackConfig.cmake  the .deb (prefix /usr; config in /etc/incidentd)
#
# Where things go, relative to the prefix (GNUInstallDirs): bin/incidentd and bin/incidentctl,
# share/man/man{1,5,8} (man/CMakeLists.txt), lib/systemd/system/incidentd.service, the
# example configuration as SYSCONFDIR/incidentd/incidentd.conf (/etc for the prefix /usr) and
# share/doc/incidentd/README.md. The unit and the configuration are installed by
# packaging/install-system.cmake, at install time, when the prefix is known.

install(TARGETS incidentd incidentctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(CODE "set(INCIDENTD_SOURCE_DIR \"${PROJECT_SOURCE_DIR}\")
set(INCIDENTD_BINARY_DIR \"${PROJECT_BINARY_DIR}\")
set(INCIDENTD_BINDIR \"${CMAKE_INSTALL_BINDIR}\")")
install(SCRIPT ${PROJECT_SOURCE_DIR}/packaging/install-system.cmake)

# The .deb. Its Depends are computed by dpkg-shlibdeps from the libraries the binaries link
# (libzmq5, liblmdb0, libuv1, libjansson4, libsystemd0, ...): whatever the build links, the
# package asks for, and no more.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME incidentd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "incidentd")
set(INCIDENTD_MAINTAINER "incidentd maintainers <incidentd@localhost>" CACHE STRING
    "The Maintainer field of the .deb")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${INCIDENTD_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "incident and problem-record daemon with SLA tracking")
set(CPACK_PACKAGE_DESCRIPTION [=[
incidentd records the incidents that service providers report over ZeroMQ
(optionally authenticated with CURVE), tracks each against SLA rules with
working-time calendars, raises breaches to hooks and subscribers, keeps
problem records and reports monthly service levels. incidentctl is its
command-line client. Data is kept durably in LMDB.]=])
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The install runs with DESTDIR and the prefix /usr (whatever the build's CMAKE_INSTALL_PREFIX),
# so that install-system.cmake sees /usr and puts the configuration in /etc.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/postinst
    ${PROJECT_SOURCE_DIR}/packaging/prerm
    ${PROJECT_SOURCE_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)

# The package test (ctest -L package): builds the .deb and checks its fields and files; as
# root, installs it, runs the installed daemon and purges it. Not in the sanitizer builds: a
# package is made from the normal build.
if(NOT INCIDENTD_SANITIZE AND NOT INCIDENTD_FUZZ)
  add_test(NAME package/deb
           COMMAND sh ${PROJECT_SOURCE_DIR}/scripts/check-package ${PROJECT_BINARY_DIR})
  set_tests_properties(package/deb PROPERTIES LABELS package TIMEOUT 300
                       SKIP_RETURN_CODE 77)
endif()
