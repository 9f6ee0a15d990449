#!/bin/sh
# Registers Vigil's Temporal namespace and its custom search attributes.
#
# Run by the one-shot `temporal-setup` service (temporalio/admin-tools image) once the Temporal
# frontend is up; Vigil's server and worker start only after it has exited 0. Idempotent: an
# existing namespace is left as it is, and adding a search attribute that already exists with
# the same type is a no-op (a different type is an error, on purpose).
#
# Environment: TEMPORAL_ADDRESS (host:port), TEMPORAL_NAMESPACE, NAMESPACE_RETENTION.
set -eu

ADDRESS=${TEMPORAL_ADDRESS:-temporal:7233}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${NAMESPACE_RETENTION:-720h}

# Vigil's custom search attributes (name:type). Workflows set them; the UI and the API list
# and filter incidents by them.
SEARCH_ATTRIBUTES="VigilKind:Keyword VigilApplication:Keyword VigilRule:Keyword VigilState:Keyword VigilSeverity:Keyword VigilApplications:KeywordList"

retry() {
  # retry DESCRIPTION COMMAND...: up to 60 tries, 2 s apart
  what=$1
  shift
  i=0
  until "$@"; do
    i=$((i + 1))
    if [ "$i" -ge 60 ]; then
      echo "gave up: ${what}" >&2
      return 1
    fi
    echo "not yet: ${what} (try ${i})"
    sleep 2
  done
}

retry "Temporal cluster health at ${ADDRESS}" \
  temporal operator cluster health --address "$ADDRESS"

if temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  echo "namespace ${NAMESPACE} exists"
else
  retry "create namespace ${NAMESPACE}" \
    temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" \
      --retention "$RETENTION" --description "Vigil"
fi

# One call adds all of them; each --name pairs with the --type at the same position.
set --
for sa in $SEARCH_ATTRIBUTES; do
  set -- "$@" --name "${sa%%:*}" --type "${sa#*:}"
done
retry "add search attributes to ${NAMESPACE}" \
  temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" "$@"

# The frontend's namespace cache refreshes every few seconds (system.namespaceCacheRefreshInterval,
# 2 s by default): wait until the attributes are listed, then a little longer, so that Vigil's
# first workflow start after this job does not race the cache.
for sa in $SEARCH_ATTRIBUTES; do
  name=${sa%%:*}
  retry "search attribute ${name} listed" sh -c \
    "temporal operator search-attribute list --address '$ADDRESS' --namespace '$NAMESPACE' | grep -qw '$name'"
done
sleep 5

temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE"
echo "namespace ${NAMESPACE} is ready for Vigil"
