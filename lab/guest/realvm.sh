# SPDX-License-Identifier: GPL-2.0
#
# A real VMM in the test guest: Debian's QEMU with -accel kvm boots a
# Linux guest (the lab's own kernel, an initramfs of busybox and
# lab/guest/l2/init) with two vCPUs, 256 MB, a serial console and a
# virtio disk served by an I/O thread.  The guest spins on both vCPUs,
# idles, bounces messages between them (cross-CPU wakeups), writes and
# reads back its disk, prints per-vCPU counters and powers off.
#
# QEMU starts paused; its vCPU threads are pinned to CPUs 0 and 1 (the two
# siblings of the first core on the lab's SMT2 runs), then it runs.
# Prints TAP, one test point per check:
#   - the guest completed within the timeout, every phase passed
#   - every vCPU made progress in every phase, and took IPIs
#   - the data it wrote to its disk came back, and is in the image
#   - its console holds no splat (lab/splat.re)
#   - kicks: coresched=vm kicks siblings out of guest mode
#     (kicks_sent grows), off and on do not; vanilla has no statistics
#   - violations: stay 0 on the debug kernel (the only one that counts)
#   - cookies: as the mode gives them (the control of -c), or with -c,
#     every thread of QEMU has the launcher's cookie
# and the guest's boot time, the run's time and the counters as "#" lines.
#
# usage: realvm.sh [-c] [-q] [-t SECS] [-m MS] [-d MB] [-P CPUS] [-b FILE]
#   -c       start QEMU the way libvirt's sched_core= and util-linux's
#            coresched start a VMM: a core scheduling cookie for the whole
#            process, created before QEMU starts any thread (vmm-cookie);
#            lab/realvm-cookie in lab/guest/tests.list
#   -q       the guest's kernel prints only warnings and worse on its
#            console (loglevel=5): each character there is a VM-exit to
#            QEMU, and a boot prints some 800 lines; splats (warning or
#            worse) still print
#   -t SECS  give the guest this long to power off (default 600)
#   -m MS    each timed phase of the guest's work (default 2000)
#   -d MB    disk data written and read back (default 8)
#   -P CPUS  the host CPUs of vCPU 0 and 1 (default 0,1; nosmt: 0,0)
#   -b FILE  make bench (lab/guest/bench.sh): the guest's figures and, per
#            phase, the host's counters (coresched and KVM statistics)
#            read when the guest's console announced the phase's start
#            and end, as "PHASE METRIC VALUE" lines in FILE; QEMU's
#            threads' cookies are not sampled (the cookie test point
#            skips), so that the runs of every mode do the same host work
#
# Needs the directory build/realvm laid over the image (lab/runs.list).

cookie_mode=0 tmo=600 ms=2000 disk_mb=8 pcpus=0,1 bench=''
quiet=''
while getopts cqt:m:d:P:b: o; do
	case $o in
	c) cookie_mode=1 ;;
	q) quiet=' loglevel=5' ;;
	t) tmo=$OPTARG ;;
	m) ms=$OPTARG ;;
	d) disk_mb=$OPTARG ;;
	P) pcpus=$OPTARG ;;
	b) bench=$OPTARG ;;
	*) echo "usage: realvm.sh [-c] [-q] [-t SECS] [-m MS] [-d MB] [-P CPUS] [-b FILE]" >&2
	   exit 2 ;;
	esac
done
pcpu0=${pcpus%,*} pcpu1=${pcpus#*,}

qemu=/usr/bin/qemu-system-x86_64
l2=/realvm
w=/tmp/realvm
csdir=/sys/kernel/debug/sched/coresched
n=0
failed=0

ok() {
	n=$((n + 1))
	echo "ok $n $*"
}

not_ok() {
	n=$((n + 1))
	echo "not ok $n $*"
	failed=$((failed + 1))
}

skip() {
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

uptime_s() {
	cut -d' ' -f1 /proc/uptime
}

# secs A B: B - A, to a tenth of a second.
secs() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'
}

# stat_of NAME FILE: a counter of a stats snapshot, empty if it has none.
stat_of() {
	awk -v k="$1" '$1 == k { print $2 }' "$2" 2>/dev/null
}

# counter CPU PHASE: what the guest reported for that vCPU and phase.
counter() {
	sed -n "s/^realvm: cpu$1 $2=\([0-9]*\)\$/\1/p" "$w/console" | tail -n 1
}

# The cookie of each thread QEMU has now: "TID COOKIE NAME" lines appended
# to $w/threads, whose readers take each distinct line once.
sample_cookies() {
	tids=$(ls "/proc/$qpid/task" 2>/dev/null) || return
	# shellcheck disable=SC2086 # a list of task ids
	vmm-cookie get $tids 2>>"$w/cookie.err" |
	while read -r tid val; do
		[ "$val" = gone ] && continue
		name=$(cat "/proc/$qpid/task/$tid/comm" 2>/dev/null) || continue
		echo "$tid $val $name"
	done >> "$w/threads"
}

# The task id of QEMU's thread named $1, empty if none.
thread() {
	for t in /proc/"$qpid"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = "$1" ] && echo "${t##*/}" && return
	done
}

mode=$(cat "$csdir/mode" 2>/dev/null || echo none)
# The isolation of vm,strict is vm's, and more.
vm_mode=0
case $mode in vm | vm,*) vm_mode=1 ;; esac
# Test point names tell the two ways of starting QEMU apart.
tag=realvm
[ $cookie_mode = 1 ] && tag="realvm, VMM cookie"
echo "# realvm: $(basename "$qemu") -accel kvm, 2 vCPUs, kernel $(uname -r), coresched mode: $mode$([ $cookie_mode = 1 ] && echo ", one cookie for the VMM process")"
echo "TAP version 13"

missing=
for f in /dev/kvm "$qemu" "$l2/bzImage" "$l2/initramfs.cpio.gz" /lab/splat.re \
	 /usr/bin/vmm-cookie; do
	[ -e "$f" ] || missing="$missing $f"
done
if [ -n "$missing" ]; then
	# The runs that call this expect a real VMM: nothing was tested.
	echo "1..7"
	for i in 1 2 3 4 5 6 7; do
		not_ok "$tag: missing:$missing"
	done
	exit 1
fi

# lab/splat.re as one extended regex, for the guest's consoles.
splat_re=$(sed '/^#/d; /^$/d' /lab/splat.re | tr '\n' '|' | sed 's/|$//')

rm -rf "$w"
mkdir -p "$w"
: > "$w/threads"
cat "$csdir/stats" > "$w/stats.before" 2>/dev/null

# kvm_exits: KVM's count of VM-exits, of every vCPU of every VM.
kvm_exits() {
	cat /sys/kernel/debug/kvm/exits 2>/dev/null || echo none
}

# where_hung: at the deadline, where the guest is: each vCPU thread's
# state, CPU and kernel stack, whether it still exits to KVM (a guest that
# runs but waits for something, or a vCPU that does not get back in), the
# console's last lines, and where the guest's vCPUs are (RIP).
where_hung() {
	echo "# the guest did not power off within ${tmo}s; where it is:"
	for t in "$cpu0" "$cpu1"; do
		[ -r "/proc/$qpid/task/$t/stat" ] || continue
		# After the command's ")": the state is field 3, the CPU 39.
		sed 's/.*) //' "/proc/$qpid/task/$t/stat" |
			awk -v t="$t" '{ print "#   thread " t ": state " $1 " on CPU " $37 }'
		echo "#   wchan $(cat "/proc/$qpid/task/$t/wchan" 2>/dev/null)"
		sed 's/^/#     /' "/proc/$qpid/task/$t/stack" 2>/dev/null | head -n 12
	done
	a=$(kvm_exits)
	sleep 1
	echo "#   KVM exits: $a -> $(kvm_exits) in 1 s"
	tail -n 5 "$w/console" | sed 's/^/#   console: /'
	# Where the guest's own CPUs are (its kernel is the series', whose
	# System.map the run keeps): QEMU's monitor answers in a second.
	echo "info registers -a" > "$w/mon.in"
	sleep 1
	tr -d '\r' < "$w/mon.log" | grep -E '^(CPU#[0-9]|RIP=)' | tail -n 4 |
		sed 's/^/#   guest /'
}

# run_guest: boot the guest once, to its power-off (or the timeout); its
# console in $w/console, the moment its init started in $w/stamps.
run_guest() {
	rm -f "$w/serial" "$w/mon.in" "$w/mon.out" "$w/mon.log" "$w/console" "$w/stamps"
	mkfifo "$w/serial" "$w/mon.in" "$w/mon.out"
	dd if=/dev/zero of="$w/disk.img" bs=1M count="$disk_mb" 2>/dev/null

	# snap.sh NAME: the host's counters now, as "KEY VALUE" lines in
	# $w/snap/NAME: the coresched statistics (cs_), KVM's (kvm_: exits by
	# reason, halt polling, the vCPUs' wait for their core; summed over the
	# vCPUs of every VM, here the one VM) and the time.  Taken at QEMU's start
	# (boot.0), at the guest's init (boot.1) and as the guest's console
	# announces each phase (NAME.0) and its end (NAME.1); each also marks
	# the trace buffer, where a trace is on.
	mkdir -p "$w/snap"
	cat > "$w/snap.sh" <<EOT
	# The moment, for a trace of the run (lab/guest/realvm-costs.sh).
	{ echo "realvm: snap \$1" > /sys/kernel/tracing/trace_marker; } 2>/dev/null
	{
		echo "uptime \$(cut -d' ' -f1 /proc/uptime)"
		sed 's/^/cs_/' $csdir/stats 2>/dev/null
		cd /sys/kernel/debug/kvm 2>/dev/null &&
		for f in exits halt_exits io_exits mmio_exits irq_exits irq_window_exits \
			 request_irq_exits signal_exits nmi_window_exits \
			 halt_successful_poll halt_attempted_poll halt_wakeup \
			 coresched_wait_ns; do
			[ -r \$f ] && echo "kvm_\$f \$(cat \$f)"
		done
	} > $w/snap/\$1.tmp 2>/dev/null
	mv $w/snap/\$1.tmp $w/snap/\$1
EOT
	[ -z "$bench" ] || sh "$w/snap.sh" boot.0

	# The console comes through a pipe, so that the moment the guest's init
	# prints its first line is the host's to read.
	awk -v out="$w/console" -v stamps="$w/stamps" -v snap="${bench:+$w/snap.sh}" '{
		sub(/\r$/, "")
		print > out
		fflush(out)
		if (!seen && /^realvm: init /) {
			seen = 1
			getline up < "/proc/uptime"
			close("/proc/uptime")
			split(up, u, " ")
			print "init " u[1] > stamps
			fflush(stamps)
			if (snap != "")
				system("sh " snap " boot.1")
		}
		if (snap != "" && /^realvm: (phase|end) [a-z]+$/)
			system("sh " snap " " $3 ($2 == "phase" ? ".0" : ".1"))
	}' < "$w/serial" &
	reader=$!

	launch=
	[ $cookie_mode = 1 ] && launch="vmm-cookie new $w/cookie"
	# The CPU model: the host's (the test guest's) without XSAVE and without
	# the TSC deadline timer, for two faults of nested SVM under QEMU TCG that
	# the vanilla kernel shows as well:
	# - the guest's XSETBV does not exit to KVM, so KVM's XSAVE sizes in CPUID
	#   0xD stay those of x87|SSE while the guest enables AVX, and the guest's
	#   kernel warns at boot ("XSAVE consistency problem");
	# - on a loaded host, the guest's TSC deadline timer fired tens of seconds
	#   late (KVM armed it 36 s out for a guest in "sleep 1"), and the guest
	#   reported RCU stalls; with the APIC's one-shot timer it never did.
	cpu=host,-xsave,-tsc-deadline
	# The guest kernel's own speculation mitigations are not what the run
	# tests, and its SRSO return thunk once hit its ud2 in the guest's early
	# boot, with coresched=on (the series' VM code off): a fault of nested SVM
	# under TCG.
	guest_args="console=ttyS0 panic=-1 mitigations=off$quiet"
	start=$(uptime_s)
	# shellcheck disable=SC2086 # the launcher is words
	$launch "$qemu" -name realvm,debug-threads=on -accel kvm -machine pc -cpu "$cpu" \
		-smp 2 -m 256 -nodefaults -vga none -display none -no-reboot -S \
		-kernel "$l2/bzImage" -initrd "$l2/initramfs.cpio.gz" \
		-append "$guest_args realvm.ms=$ms realvm.disk_mb=$disk_mb" \
		-serial "file:$w/serial" \
		-chardev "pipe,id=mon,path=$w/mon" -mon chardev=mon \
		-object iothread,id=io0 \
		-drive "file=$w/disk.img,format=raw,if=none,id=d0" \
		-device virtio-blk-pci,drive=d0,iothread=io0 \
		< /dev/null > "$w/qemu.log" 2>&1 &
	qpid=$!
	# The monitor's output must not fill its pipe; kept for where_hung.
	cat "$w/mon.out" > "$w/mon.log" &
	drain=$!

	# Pin the vCPU threads while the guest is stopped, then let it run.
	cpu0='' cpu1='' i=0
	while [ $i -lt 300 ] && kill -0 "$qpid" 2>/dev/null; do
		cpu0=$(thread "CPU 0/KVM") cpu1=$(thread "CPU 1/KVM")
		[ -n "$cpu0" ] && [ -n "$cpu1" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	# allowed TID: the CPUs task TID may run on.
	allowed() {
		sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "/proc/$qpid/task/$1/status" 2>/dev/null
}
started=0
if [ -n "$cpu0" ] && [ -n "$cpu1" ] && taskset -p -c "$pcpu0" "$cpu0" > /dev/null &&
   taskset -p -c "$pcpu1" "$cpu1" > /dev/null && [ "$(allowed "$cpu0")" = "$pcpu0" ] &&
   [ "$(allowed "$cpu1")" = "$pcpu1" ]; then
	echo "# QEMU pid $qpid: vCPU threads $cpu0 on CPU $pcpu0, $cpu1 on CPU $pcpu1"
	[ $cookie_mode = 1 ] && sample_cookies
	echo cont > "$w/mon.in" && started=1
else
	echo "# QEMU did not start its vCPU threads, or they could not be pinned"
fi

# Wait for the guest to power off; look at QEMU's threads once a second
# (its thread pool's workers come and go with the disk I/O).  Without -c,
# only once the guest runs: a vCPU thread takes the VM's cookie at its
# first KVM_RUN.
deadline=$(awk -v s="$start" -v t="$tmo" 'BEGIN { print int(s + t) }')
hung=0
while kill -0 "$qpid" 2>/dev/null; do
	if [ "$started" = 0 ] ||
	   [ "$(awk -v u="$(uptime_s)" -v d="$deadline" 'BEGIN { print (u >= d) }')" = 1 ]; then
		[ "$started" = 1 ] && hung=1 && where_hung
		kill "$qpid" 2>/dev/null
		sleep 1
		kill -9 "$qpid" 2>/dev/null
		break
	fi
	[ "$mode" != off ] && [ -z "$bench" ] &&
		{ [ $cookie_mode = 1 ] || [ -s "$w/stamps" ]; } && sample_cookies
	sleep 1
done
wait "$qpid"
qrc=$?
end=$(uptime_s)
# The console's reader ends at QEMU's exit, unless QEMU never opened the
# console: then it still waits to open it.
i=0
while [ $i -lt 50 ] && kill -0 "$reader" 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
kill "$reader" "$drain" 2>/dev/null
wait "$reader"
touch "$w/console" "$w/stamps"
}

run_guest
# A fault of nested SVM under QEMU TCG: now and then the guest's kernel dies
# while it boots, before its init runs, in every mode, coresched=off
# included: an invalid opcode or a bad page fault in PID 1, or a reset with
# nothing on the console (a triple fault: QEMU exits 0, -no-reboot).  Boot
# it again, twice at most, and say so; what the kernel of the lab does
# shows from the guest's init on.  Where host code runs beside the guest
# (not under coresched=vm), the guest also hung once (coresched=off, on a
# loaded host), as guests of the stress test there stop making progress
# now and then on the vanilla kernel too: a guest that does not power off
# by the deadline is booted again once, after the report of where it was,
# and so is one that reset after its init ran with no splat on its
# console; under coresched=vm, or a second time, either fails.  Each boot again is
# a "# lab-retry:" line, which the host accepts only as lab/retries.list
# expects it.
boots=1 hangs=0 resets=0
while [ $boots -lt 3 ] && [ "$started" = 1 ]; do
	if [ "$hung" = 1 ] && [ $hangs = 0 ] && [ $vm_mode = 0 ]; then
		hangs=1
		why="the guest hung (killed after ${tmo}s, $(wc -l < "$w/console") console lines)"
	elif [ "$hung" = 0 ] && [ "$qrc" = 0 ] &&
	     ! grep -q -a '^realvm: init ' "$w/console"; then
		why="the guest's kernel died before its init ran ($(wc -l < "$w/console") console lines, QEMU exit 0)"
	elif [ "$hung" = 0 ] && [ "$qrc" = 0 ] && [ $vm_mode = 0 ] && [ $resets = 0 ] &&
	     ! grep -q -a '^realvm: done ' "$w/console" &&
	     ! grep -q -a -E "$splat_re" \
		"$w/console"; then
		# A reset with nothing on the console (a triple fault) after
		# the init ran: the stress test's guests die so beside host code.
		resets=1
		why="the guest reset after its init ran ($(tail -n 1 "$w/console"), QEMU exit 0)"
	else
		break
	fi
	echo "# lab-retry: $why"
	echo "# boot $boots: $why; booting it again:"
	# What the boot that counts does not show: this one's splats.
	grep -a -m 5 -E "$splat_re" \
		"$w/console" | sed 's/^/#   splat: /'
	tail -n 2 "$w/console" | sed 's/^/#   last: /'
	tail -n 3 "$w/qemu.log" | sed 's/^/#   qemu: /'
	mv "$w/console" "$w/console.$boots"
	# The cookie check is of the QEMU that ran the guest.
	: > "$w/threads"
	run_guest
	boots=$((boots + 1))
done
cat "$csdir/stats" > "$w/stats.after" 2>/dev/null

init_at=$(awk '$1 == "init" { print $2 }' "$w/stamps")
echo "# total run time: $(secs "$start" "$end") s (QEMU start to exit, rc $qrc)"
if [ -n "$init_at" ]; then
	echo "# guest boot time: $(secs "$start" "$init_at") s (QEMU start to the guest's init)"
fi

# 1. The guest completed: its init ran every phase and powered off.
done_line=$(grep -a '^realvm: done rc=' "$w/console" | tail -n 1)
if [ "$started" = 1 ] && [ "$qrc" = 0 ] && [ "$done_line" = "realvm: done rc=0" ]; then
	ok "$tag: the guest completed"
else
	grep -a '^realvm: FAIL' "$w/console" | sed 's/^/# /'
	if [ "$hung" = 1 ]; then
		echo "# the guest hung: killed after ${tmo}s"
	elif [ -z "$done_line" ] && [ "$qrc" != 0 ]; then
		echo "# no completion marker; QEMU ended with $qrc"
	fi
	not_ok "$tag: the guest completed (${done_line:-no completion marker})"
fi

# 2. Every vCPU made progress in every phase, and took IPIs.
bad=
for c in 0 1; do
	line="cpu$c:"
	for p in spin pingpong ipis; do
		v=$(counter "$c" "$p")
		line="$line $p=${v:-none}"
		[ "${v:-0}" -gt 0 ] || bad="$bad cpu$c/$p"
	done
	echo "# vCPU $line"
done
if [ -z "$bad" ]; then
	ok "$tag: every vCPU made progress"
else
	not_ok "$tag: every vCPU made progress (none in:$bad)"
fi

# 3. The disk: the guest read back what it wrote, and the image holds it.
disk=$(grep -a '^realvm: disk ' "$w/console" | tail -n 1)
sum=$(echo "$disk" | sed -n 's/.* md5=\([0-9a-f]*\).*/\1/p')
img=$(dd if="$w/disk.img" bs=1M count="$disk_mb" 2>/dev/null | md5sum | cut -d' ' -f1)
[ -n "$disk" ] && echo "# ${disk#realvm: }"
if [ -n "$sum" ] && [ "$sum" = "$img" ]; then
	ok "$tag: $disk_mb MB through the virtio disk"
else
	not_ok "$tag: $disk_mb MB through the virtio disk (guest md5 ${sum:-none}, image md5 $img)"
fi

# 4. No splat on the guest's console.
splats=$(grep -n -a -E "$splat_re" "$w/console" | head -n 20)
if [ -z "$splats" ]; then
	ok "$tag: no splat on the guest's console"
else
	echo "$splats" | sed 's/^/# /'
	not_ok "$tag: no splat on the guest's console"
fi

# 5. Kicks, 6. violations: what the kernel's statistics say of the run.
if [ ! -s "$w/stats.before" ] || [ ! -s "$w/stats.after" ]; then
	if [ "$mode" = none ]; then
		why="no coresched statistics on this kernel (not the series')"
		skip "$tag: kicks" "$why"
		skip "$tag: no violations" "$why"
	else
		not_ok "$tag: kicks (coresched mode $mode, but no $csdir/stats)"
		not_ok "$tag: no violations (no $csdir/stats)"
	fi
else
	line=
	for k in slow_exits fastpath_exits kicks_sent kicks_received \
		 kick_retries kick_nmis wait_kick_ns wait_enter_ns violations; do
		a=$(stat_of "$k" "$w/stats.before") b=$(stat_of "$k" "$w/stats.after")
		[ -n "$b" ] || continue
		eval "d_$k=$((b - a))"
		line="$line $k=+$((b - a))"
	done
	echo "# stats:$line"
	# shellcheck disable=SC2154 # d_*: set by the eval above
	if [ $vm_mode = 1 ]; then
		if [ "$d_kicks_sent" -gt 0 ]; then
			ok "$tag: kicks under coresched=$mode ($d_kicks_sent sent)"
		else
			not_ok "$tag: kicks under coresched=$mode (none sent)"
		fi
	elif [ "$d_kicks_sent" = 0 ] && [ "$d_slow_exits" = 0 ]; then
		ok "$tag: no kicks under coresched=$mode"
	else
		not_ok "$tag: no kicks under coresched=$mode ($d_kicks_sent sent, $d_slow_exits slow exits)"
	fi
	if [ -z "${d_violations:-}" ]; then
		skip "$tag: no violations" "not the debug kernel: no violations counter"
	elif [ "$d_violations" = 0 ]; then
		ok "$tag: no violations"
	else
		not_ok "$tag: no violations ($d_violations)"
	fi
fi

# 7. Cookies.  -c: every thread QEMU had, vCPU and I/O threads included,
# has the cookie the launcher made before exec.  Otherwise the control:
# what the kernel gives a VMM that asks for nothing (its own threads no
# cookie; under coresched=vm the vCPU threads the VM's).
names=$(awk '{ $1 = $2 = ""; sub(/^ +/, ""); print }' "$w/threads" | sort -u |
	tr '\n' ',' | sed 's/,$//')
[ -s "$w/threads" ] && echo "# QEMU's threads seen: $names"
sed 's/^/# /' "$w/cookie.err" 2>/dev/null | sort -u
# The distinct cookies of the threads whose name matches $1.
cookies_of() {
	awk -v re="$1" '{ v = $2; $1 = $2 = ""; sub(/^ +/, "") } $0 ~ re { print v }' \
		"$w/threads" | sort -u | tr '\n' ' ' | sed 's/ $//'
}
has() {
	grep -q " $1\$" "$w/threads"
}
if [ -n "$bench" ]; then
	skip "$tag: cookies" "make bench: the cookies were not sampled"
elif [ $cookie_mode = 1 ]; then
	want=$(cat "$w/cookie" 2>/dev/null)
	all=$(cookies_of .)
	echo "# launcher's cookie ${want:-none}; the threads': ${all:-none}"
	if [ -z "$want" ] || [ "$want" = 0 ]; then
		not_ok "$tag: the VMM's cookie (the launcher made none)"
	elif ! has "CPU 0/KVM" || ! has "CPU 1/KVM" || ! has "IO io0"; then
		not_ok "$tag: the VMM's cookie (vCPU or I/O threads never seen)"
	elif [ "$all" = "$want" ]; then
		ok "$tag: every QEMU thread has the VMM's cookie"
	else
		awk -v w="$want" '$2 != w' "$w/threads" | sort -u | sed 's/^/# other cookie: /'
		not_ok "$tag: every QEMU thread has the VMM's cookie"
	fi
elif [ "$mode" = off ]; then
	skip "$tag: cookies" "coresched=off: no cookies (PR_SCHED_CORE fails)"
else
	own=$(cookies_of '^(qemu-system-x86|IO io0)$')
	vcpu=$(cookies_of '^CPU [0-9]+/KVM$')
	echo "# cookies: QEMU's own threads ${own:-none}, vCPU threads ${vcpu:-none}"
	want=0
	[ $vm_mode = 1 ] && want=nonzero
	case $vcpu in
	0 | *" "* | "") got=$vcpu ;;
	*) got=nonzero ;;
	esac
	if ! has qemu-system-x86 || ! has "IO io0" || ! has "CPU 0/KVM" ||
	   ! has "CPU 1/KVM"; then
		not_ok "$tag: cookies (QEMU's main, I/O or vCPU threads never seen)"
	elif [ "$own" = 0 ] && [ "$got" = "$want" ]; then
		ok "$tag: cookies: none for QEMU's own threads, vCPU threads $want"
	else
		not_ok "$tag: cookies: QEMU's own threads ${own:-none} (want 0), vCPU threads ${vcpu:-none} (want $want)"
	fi
fi

# make bench: the guest's own figures, then the counters of each phase
# (their growth from its start to its end, and its length on the host).
if [ -n "$bench" ]; then
	{
		[ -n "$init_at" ] && echo "boot boot_s $(secs "$start" "$init_at")"
		echo "boot total_s $(secs "$start" "$end")"
		# spin: thousands of loops per vCPU in $ms ms.
		a=$(counter 0 spin) b=$(counter 1 spin)
		if [ -n "$a" ] && [ -n "$b" ] && [ $((a + b)) -gt 0 ]; then
			awk -v a="$a" -v b="$b" -v ms="$ms" 'BEGIN {
				printf "spin kloops_per_s %.1f\n", (a + b) * 1000 / ms
				printf "spin min_share %.3f\n", (a < b ? a : b) * 2 / (a + b)
			}'
		fi
		a=$(counter 0 pingpong)
		[ -n "$a" ] && awk -v a="$a" -v ms="$ms" \
			'BEGIN { printf "pingpong msgs_per_s %.1f\n", a * 1000 / ms }'
		echo "$disk" | awk '{
			for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
			if (v["secs"] > 0)
				printf "disk mb_per_s %.2f\ndisk time_s %s\n", 2 * v["mb"] / v["secs"], v["secs"]
		}'
		for f in "$w"/snap/*.0; do
			p=${f##*/} p=${p%.0}
			[ -f "$w/snap/$p.1" ] || continue
			awk -v p="$p" 'NR == FNR { a[$1] = $2; next }
				$1 in a {
					d = $2 - a[$1]
					if ($1 == "uptime")
						printf "%s host_s %.2f\n", p, d
					else
						printf "%s %s %.0f\n", p, $1, d
				}' "$f" "$w/snap/$p.1"
		done
	} > "$bench"
fi

# Whatever failed, the guest's whole console and QEMU's messages tell why.
if [ "$failed" != 0 ]; then
	echo "# the guest's console ($(wc -l < "$w/console") lines):"
	head -n 1000 "$w/console" | sed 's/^/#   /'
	sed 's/^/# qemu: /' "$w/qemu.log"
fi
echo "1..$n"
echo "# $tag: $((n - failed)) of $n did not fail"
[ "$failed" = 0 ]
