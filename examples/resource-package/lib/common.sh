# Helpers shared by the lifecycle scripts. Sourced, never run: it lives outside
# scripts/ because every scripts/<Name>.sh is a lifecycle for the script driver.
#
# The request document ($FLINT_REQUEST_FILE) is one line of compact JSON. A
# real package would read it with jq or python3; this example sticks to POSIX
# sh, grep and sed so that it runs anywhere, and therefore only reads simple
# values (see string_property).

# Every resource of this example is a directory under here.
BASE_DIR=/tmp/flint-example

# string_property NAME: the value of the first string property NAME in the
# request (system properties come first in the document), or nothing. A value
# containing a quote or a backslash is treated as absent: it would need JSON
# unescaping, and leaving such values out keeps everything this script echoes
# back into JSON valid.
string_property() {
  grep -o "\"$1\":{\"type\":\"string\",\"value\":\"[^\"\\\\]*\"" "$FLINT_REQUEST_FILE" |
    head -n 1 | sed 's/.*"value":"\(.*\)"$/\1/'
}

# integer_property NAME: the value of the first integer property NAME, or nothing.
integer_property() {
  grep -o "\"$1\":{\"type\":\"integer\",\"value\":[0-9][0-9]*" "$FLINT_REQUEST_FILE" |
    head -n 1 | sed 's/.*"value"://'
}

# instance_name: the instanceName of a Find request, or nothing.
instance_name() {
  grep -o '"instanceName":"[^"\\]*"' "$FLINT_REQUEST_FILE" | head -n 1 |
    sed 's/^"instanceName":"\(.*\)"$/\1/'
}

# valid_name TEXT: true when TEXT can name a directory under $BASE_DIR
# (letters, digits, dot, dash, underscore; not "." or "..").
valid_name() {
  case "$1" in
    '' | . | .. | *[!A-Za-z0-9._-]*) return 1 ;;
  esac
  return 0
}

# now: the current UTC time, ISO 8601.
now() {
  date -u +%Y-%m-%dT%H:%M:%SZ
}

# fail CODE DESCRIPTION: reports a failure the orchestrator understands and
# exits 1. DESCRIPTION must not contain a quote or a backslash.
fail() {
  printf '{"failureCode": "%s", "failureDescription": "%s"}\n' "$1" "$2" >"$FLINT_RESULT_FILE"
  echo "$2" >&2
  exit 1
}

# resource_dir: the directory of the resource named by the resourceName system
# property; fails the lifecycle when the name is missing or unusable.
resource_dir() {
  name=$(string_property resourceName)
  valid_name "$name" ||
    fail INTERNAL_ERROR "systemProperties.resourceName: expected letters, digits, dot, dash or underscore, got '$name'"
  echo "$BASE_DIR/$name"
}
