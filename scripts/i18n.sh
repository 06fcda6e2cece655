#!/usr/bin/env bash
# Extract interface strings from the web app's Python and templates and merge them into the
# catalogues (src/habmon/web/locale/<lang>/LC_MESSAGES/habmon.po). Translate the new msgstr lines,
# then commit the .po files; habmon reads them with Babel at start (no .mo build step).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -o src/habmon/web/locale/habmon.pot --no-location --sort-output .
for lang in zh; do
  .venv/bin/pybabel update -i src/habmon/web/locale/habmon.pot -d src/habmon/web/locale -D habmon -l "$lang" --no-fuzzy-matching --width 120 --ignore-obsolete
done
