# SPDX-License-Identifier: GPL-2.0
#
# make bench: guest work per second of each VM workload per mode, median
# and min-max over the rounds, with unprotected SMT and nosmt as reference
# lines.  Called by report.py: gnuplot -e "dir='DATA'; out='PNG'".
# vm.dat: one block per shape and workload (1vm: cpu, exit-kernel,
# exit-user; then 2vm), lines "mode median min max unprotected nosmt".

set terminal pngcairo size 1200,760 font ",10"
set output out
set multiplot layout 2,3 title "Guest work per second (higher is better); lines: unprotected SMT (solid), nosmt (dashed)"
set xtics ("unprot." 1, "van. -k" 2, "on" 3, "on -k" 4, "vm" 5, "vm,strict" 6)
set xrange [0.4:6.6]
set yrange [0:*]
set format y "%.1s%c"
set grid ytics
set boxwidth 0.6
set style fill solid 0.5
unset key
shapes = "1vm 2vm"
names = "cpu exit-kernel exit-user"
do for [s = 0:1] {
	do for [w = 0:2] {
		i = s * 3 + w
		set title sprintf("%s, %s", word(names, w + 1), \
			s == 0 ? "one VM, 2 vCPUs" : "two VMs, 1 vCPU each")
		plot dir.'/vm.dat' index i using 1:2 with boxes lc rgb "#1f77b4", \
		     '' index i using 1:2:3:4 with yerrorbars pt 0 lc rgb "black", \
		     '' index i using 1:5 with lines lw 2 lc rgb "#2ca02c", \
		     '' index i using 1:6 with lines lw 2 dt 2 lc rgb "#d62728"
	}
}
unset multiplot
