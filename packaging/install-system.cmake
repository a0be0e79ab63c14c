# Runs at install time (cmake --install, and CPack building the .deb): installs the example
# configuration and the systemd unit, whose paths depend on the install prefix known only then.
#
# The configuration directory follows GNUInstallDirs' rule for CMAKE_INSTALL_SYSCONFDIR: /etc
# for the prefix /usr (the .deb), /etc/opt/NAME for /opt/NAME, else PREFIX/etc. The unit's
# /usr/bin and /etc paths (config/incidentd.service is written for the .deb) become the
# prefix's. An existing incidentd.conf is kept: `cmake --install` never overwrites an
# operator's configuration (the .deb marks it a conffile, which dpkg handles itself).
#
# Set by install(CODE) before this script: INCIDENTD_SOURCE_DIR, INCIDENTD_BINARY_DIR (the build
# tree), INCIDENTD_BINDIR (relative to the prefix, or absolute).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" OR CMAKE_INSTALL_PREFIX STREQUAL "/usr/")
  set(_etc "/etc")
elseif(CMAKE_INSTALL_PREFIX MATCHES "^/opt/([^/]+)/?$")
  set(_etc "/etc/opt/${CMAKE_MATCH_1}")
else()
  set(_etc "${CMAKE_INSTALL_PREFIX}/etc")
endif()
if(IS_ABSOLUTE "${INCIDENTD_BINDIR}")
  set(_bin "${INCIDENTD_BINDIR}")
else()
  set(_bin "${CMAKE_INSTALL_PREFIX}/${INCIDENTD_BINDIR}")
endif()

set(_conf_dir "${_etc}/incidentd")
if(EXISTS "$ENV{DESTDIR}${_conf_dir}/incidentd.conf")
  message(STATUS "Keeping: $ENV{DESTDIR}${_conf_dir}/incidentd.conf (the installed configuration)")
else()
  file(INSTALL DESTINATION "${_conf_dir}" TYPE FILE
       FILES "${INCIDENTD_SOURCE_DIR}/config/incidentd.conf")
endif()

file(READ "${INCIDENTD_SOURCE_DIR}/config/incidentd.service" _unit)
string(REPLACE "/usr/bin/incidentd" "${_bin}/incidentd" _unit "${_unit}")
string(REPLACE "/etc/incidentd/" "${_conf_dir}/" _unit "${_unit}")
set(_unit_out "${INCIDENTD_BINARY_DIR}/incidentd.service.installed")
file(WRITE "${_unit_out}" "${_unit}")
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
     RENAME incidentd.service FILES "${_unit_out}")
