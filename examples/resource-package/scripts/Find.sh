# Find: reports the resource whose directory is named like the instance.
# Exit 0 without a result file means "not found".
set -eu
. "$FLINT_DRIVER_FILES/lib/common.sh"

name=$(instance_name)
valid_name "$name" || exit 0
dir="$BASE_DIR/$name"
[ -f "$dir/resource.txt" ] || exit 0

resource_id=$(sed -n 's/^resourceId=//p' "$dir/resource.txt" | head -n 1)
created=$(sed -n 's/^createdAt=//p' "$dir/resource.txt" | head -n 1)

cat >"$FLINT_RESULT_FILE" <<JSON
{"resourceId": "${resource_id:-$name}",
 "outputs": {"path": "$dir", "createdAt": "$created"},
 "associatedTopology": {"directory": {"id": "$dir", "type": "Directory"}}}
JSON
