# Install: writes the greeting (resource property "greeting") into the
# resource's directory. Fails with RESOURCE_NOT_FOUND before Create.
set -eu
. "$FLINT_DRIVER_FILES/lib/common.sh"

dir=$(resource_dir)
greeting=$(string_property greeting)

if [ ! -d "$dir" ]; then
  fail RESOURCE_NOT_FOUND "$dir does not exist (run Create first)"
fi

printf '%s\n' "${greeting:-Hello from Flint}" >"$dir/greeting.txt"
installed=$(now)
echo "installedAt=$installed" >>"$dir/resource.txt"
echo "installed $dir/greeting.txt"

cat >"$FLINT_RESULT_FILE" <<JSON
{"outputs": {"greetingFile": "$dir/greeting.txt", "installedAt": "$installed"}}
JSON
