# SPDX-License-Identifier: GPL-2.0
#
# TAP test points for the lab's guest scripts, sourced: point RC TEXT
# prints the next point, "ok" if RC is 0, and sets failed=1 otherwise
# (the script sets failed=0 first, and exits with it).

n=0

point() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		# shellcheck disable=SC2034 # the sourcing script's
		failed=1
	fi
}
