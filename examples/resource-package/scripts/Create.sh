# Create: makes the resource's directory and records what it is.
# Outputs: path, createdAt. Topology: "directory" -> the directory.
set -eu
. "$FLINT_DRIVER_FILES/lib/common.sh"

dir=$(resource_dir)
resource_id=$(string_property resourceId)
delay=$(integer_property delaySeconds)

if [ -e "$dir" ]; then
  fail INFRASTRUCTURE_ERROR "$dir already exists (run Delete first)"
fi

# Something slow, so that `flint exec` has progress to show.
if [ -n "$delay" ] && [ "$delay" -gt 0 ]; then
  echo "waiting ${delay}s"
  sleep "$delay"
fi

mkdir -p "$BASE_DIR"
mkdir "$dir"
created=$(now)
{
  echo "resourceId=$resource_id"
  echo "createdAt=$created"
} >"$dir/resource.txt"
echo "created $dir"

cat >"$FLINT_RESULT_FILE" <<JSON
{"outputs": {"path": "$dir", "createdAt": "$created"},
 "associatedTopology": {"directory": {"id": "$dir", "type": "Directory"}}}
JSON
