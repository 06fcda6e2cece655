#!/usr/bin/env bash
# System packages the test suite needs, from Debian's registry: PostgreSQL server (tests
# start their own throwaway cluster), a Java runtime for Spark, Chromium and CJK fonts for the
# browser tests. Installs only what is missing.
set -euo pipefail
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v java >/dev/null || need+=(default-jre-headless)
command -v chromium >/dev/null || need+=(chromium)  # end-to-end tests (tests/e2e), driven by Playwright
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)  # Chinese text in the browser screenshots and the PDF report
ldconfig -p | grep -q libpangoft2-1.0 || need+=(libpango-1.0-0 libpangoft2-1.0-0)  # WeasyPrint (PDF report)
command -v pdftotext >/dev/null || need+=(poppler-utils)  # the report tests read the PDF (pdftotext, pdffonts, pdftoppm)
# R's survey package: the reference the survey estimators are tested against (tests/test_surveys_*.py)
# (the tests read R's answers as JSON: jsonlite; the survey benchmark reads its files with data.table)
Rscript -e 'library(survey); library(jsonlite); library(data.table)' >/dev/null 2>&1 ||
  need+=(r-base-core r-cran-survey r-cran-jsonlite r-cran-data.table)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing system packages: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq -o DPkg::Lock::Timeout=900 "${need[@]}" >/dev/null
