# The splat regex of the lab: any console line it matches fails the run
# that printed it (lab/boot.sh for the test guest's console,
# lab/guest/realvm.sh for the console of the guest QEMU boots in it).
# One alternative of an extended regex (grep -E) per line; the readers
# join them with "|".  Lines starting with "#" and empty lines are not
# part of it.
#
# A splat is any line a kernel checker prints when something went wrong.
# (Lockdep's reports start with WARNING: or BUG:; "lockdep is turned off"
# follows one, and "RCU lockdep checking is enabled" is only a banner.)
# WARNING: and BUG: count where a message starts, after the timestamp:
# "Speculative Return Stack Overflow: WARNING: See ..." is advice, not a
# splat.
(^|\] )(WARNING|BUG):
Oops
general protection fault
Kernel panic
KASAN
UBSAN
possible (circular|recursive) locking
inconsistent lock state
lockdep is turned off
DEBUG_LOCKS_WARN_ON
soft lockup
hard LOCKUP
blocked for more than
rcu.*(stall|detected stalls)
INFO: task
list_(add|del) corruption
Call Trace:
refcount_t:
kernel BUG
