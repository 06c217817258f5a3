# Example lifecycle script for the `script` driver (see drivers/script/README.md).
# Run as `/bin/sh Create.sh` in a fresh working directory; the request document is
# on stdin and in $FLINT_REQUEST_FILE. Real packages should parse it with jq or
# python; this example sticks to POSIX tools so that it runs anywhere.
set -eu

# Pull one string property out of the (single-line) request document.
property() {
  sed -n "s/.*\"$1\":{\"type\":\"[a-z]*\",\"value\":\"\([^\"]*\)\".*/\1/p" "$FLINT_REQUEST_FILE"
}

name=$(property resourceName)
flavor=$(property flavor)
if [ -z "$name" ]; then
  # A failure with a code the orchestrator understands.
  cat > "$FLINT_RESULT_FILE" <<'JSON'
{"failureCode": "RESOURCE_NOT_FOUND", "failureDescription": "systemProperties.resourceName: missing"}
JSON
  exit 1
fi

echo "creating $name (${flavor:-default flavor})"   # goes to stdout.log

# Outputs and topology go to the result file. Values are JSON: escape them
# properly in real scripts (jq -n --arg ...).
cat > "$FLINT_RESULT_FILE" <<JSON
{"outputs": {"instanceName": "$name", "flavor": "${flavor:-default}"},
 "associatedTopology": {"vm": {"id": "vm-$FLINT_REQUEST_ID", "type": "Example"}}}
JSON
