# SPDX-License-Identifier: GPL-2.0
#
# make bench: the real guests' loads per mode, as speed against
# unprotected SMT (time ratios inverted: above 1 is faster), median and
# min-max over the rounds, with unprotected SMT (1) and nosmt as reference
# lines.  Called by report.py: gnuplot -e "dir='DATA'; out='PNG'".
# realvm.dat: one block per load (spin, messaging, disk, boot, pingpong),
# lines "mode median min max nosmt".

set terminal pngcairo size 1500,440 font ",10"
set output out
set multiplot layout 1,5 title "Real guests: speed against unprotected SMT (higher is better); lines: unprotected (solid), nosmt (dashed)"
set xtics ("van. cookie" 1, "vm" 2, "vm,strict" 3, "nosmt" 4)
set xrange [0.4:4.6]
set yrange [0:1.1<*]
set grid ytics
set boxwidth 0.6
set style fill solid 0.5
unset key
names = "CPU-bound messaging I/O boot ping-pong"
do for [i = 0:4] {
	set title word(names, i + 1)
	plot dir.'/realvm.dat' index i using 1:2 with boxes lc rgb "#1f77b4", \
	     '' index i using 1:2:3:4 with yerrorbars pt 0 lc rgb "black", \
	     1 with lines lw 2 lc rgb "#2ca02c", \
	     '' index i using 1:5 with lines lw 2 dt 2 lc rgb "#d62728"
}
unset multiplot
