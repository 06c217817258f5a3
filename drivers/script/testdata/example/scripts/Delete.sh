# Example: removes the topology entry that Create added (null means "remove").
set -eu
echo "deleting"
echo '{"associatedTopology": {"vm": null}}' > "$FLINT_RESULT_FILE"
