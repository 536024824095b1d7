# Finds libBigWig (Debian: libbigwig-dev, conda-forge: libbigwig), which ships no CMake config.
# Defines LibBigWig::LibBigWig.
find_path(LibBigWig_INCLUDE_DIR NAMES bigWig.h PATH_SUFFIXES libBigWig)
find_library(LibBigWig_LIBRARY NAMES BigWig bigwig)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(LibBigWig REQUIRED_VARS LibBigWig_LIBRARY LibBigWig_INCLUDE_DIR)
if(LibBigWig_FOUND AND NOT TARGET LibBigWig::LibBigWig)
  add_library(LibBigWig::LibBigWig UNKNOWN IMPORTED)
  set_target_properties(LibBigWig::LibBigWig PROPERTIES
    IMPORTED_LOCATION "${LibBigWig_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${LibBigWig_INCLUDE_DIR}")
endif()
# bigWigIO.h includes curl/curl.h unless NOCURL is defined. fragcov only writes
# local files and touches no curl-dependent struct member, so without curl's
# headers NOCURL is safe (the structs we use hold URL_t only by pointer).
find_path(LibBigWig_CURL_INCLUDE_DIR NAMES curl/curl.h)
if(TARGET LibBigWig::LibBigWig AND NOT LibBigWig_CURL_INCLUDE_DIR)
  set_property(TARGET LibBigWig::LibBigWig APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS NOCURL)
endif()
mark_as_advanced(LibBigWig_INCLUDE_DIR LibBigWig_LIBRARY LibBigWig_CURL_INCLUDE_DIR)
