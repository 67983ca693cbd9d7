# SPDX-License-Identifier: GPL-2.0
#
# make bench: the scheduler cost of each case as a ratio to its reference
# (vanilla with the same tenants and cookies), median and min-max over the
# rounds.  Called by report.py: gnuplot -e "dir='DATA'; out='PNG'".
# sched.dat: one block per benchmark, lines "x median min max".

set terminal pngcairo size 1100,560 font ",10"
set output out
set title "Scheduler cost: time (latency for cyclictest) relative to the reference, per round"
set ylabel "ratio to reference (log scale; > 1 is slower)"
set logscale y
set bmargin 4
set grid ytics
set key top left
load dir.'/sched-xtics.gp'
set arrow from graph 0, first 1 to graph 1, first 1 nohead lc rgb "black" lw 1
set arrow from graph 0, first 1.02 to graph 1, first 1.02 nohead lc rgb "gray" dt 2
plot dir.'/sched.dat' index 0 using 1:2:3:4 with yerrorbars pt 7 ps 1 lc rgb "#1f77b4" title "perf bench sched pipe", \
     '' index 1 using 1:2:3:4 with yerrorbars pt 5 ps 1 lc rgb "#ff7f0e" title "perf bench sched messaging", \
     '' index 2 using 1:2:3:4 with yerrorbars pt 9 ps 1 lc rgb "#2ca02c" title "hackbench", \
     '' index 3 using 1:2:3:4 with yerrorbars pt 13 ps 1 lc rgb "#d62728" title "cyclictest p99 latency"
