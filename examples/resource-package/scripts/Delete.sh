# Delete: removes the resource's directory (nothing to do when it is already
# gone) and drops the "directory" topology entry (null means "remove").
set -eu
. "$FLINT_DRIVER_FILES/lib/common.sh"

dir=$(resource_dir)
deleted=false
if [ -d "$dir" ]; then
  # The name was validated: $dir is a direct child of $BASE_DIR.
  rm -rf -- "$dir"
  deleted=true
  echo "deleted $dir"
else
  echo "$dir was already gone"
fi

cat >"$FLINT_RESULT_FILE" <<JSON
{"outputs": {"path": "$dir", "deleted": $deleted},
 "associatedTopology": {"directory": null}}
JSON
