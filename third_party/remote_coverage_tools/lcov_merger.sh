#!/bin/sh
# Writes an empty coverage report to --output_file= (no coverage data offline).
for arg in "$@"; do
  case "$arg" in
    --output_file=*) : > "${arg#--output_file=}" ;;
  esac
done
exit 0
