#!/bin/sh
# Static checks of the deployment files; needs no Docker engine. Run from anywhere:
#   sh deploy/check.sh
# Tools (each check is skipped, and said so, when its tool is missing):
#   docker compose   docker-compose.yml (parse, interpolate, validate; `config` needs no engine)
#   promtool         apt-get install prometheus               (config, rules, rule unit tests)
#   amtool           apt-get install prometheus-alertmanager  (alertmanager.yml)
#   ShellCheck       apt-get install shellcheck               (the shell scripts here)
set -u
cd "$(dirname "$0")/.." || exit 1

failed=0
run() {
  echo "+ $*"
  if ! "$@"; then
    failed=$((failed + 1))
    echo "FAILED: $*"
  fi
}
have() {
  if command -v "$1" >/dev/null 2>&1; then
    return 0
  fi
  echo "- skipped: $1 not installed"
  return 1
}

if have docker && docker compose version >/dev/null 2>&1; then
  run docker compose -f docker-compose.yml config -q
else
  echo "- skipped: docker compose not available"
fi
if have promtool; then
  run promtool check config deploy/prometheus/prometheus.yml
  run promtool check rules deploy/prometheus/rules.yml
  run promtool test rules deploy/prometheus/rules_test.yml
fi
if have amtool; then
  run amtool check-config deploy/alertmanager/alertmanager.yml
fi
if have shellcheck; then
  run shellcheck -s sh deploy/temporal/setup-schema.sh deploy/temporal/setup-namespace.sh deploy/check.sh
fi

if [ "$failed" -ne 0 ]; then
  echo "deploy checks: ${failed} failed"
  exit 1
fi
echo "deploy checks: all run checks passed"
