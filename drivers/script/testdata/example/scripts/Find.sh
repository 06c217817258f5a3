# Example Find: the request document carries `instanceName`. Exit 0 without a
# result file means "not found"; a non-zero exit is an error.
set -eu
if grep -q '"instanceName":"example-' "$FLINT_REQUEST_FILE"; then
  echo '{"resourceId": "example-resource", "outputs": {"found": true}}' > "$FLINT_RESULT_FILE"
fi
