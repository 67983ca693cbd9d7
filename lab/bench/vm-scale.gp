# SPDX-License-Identifier: GPL-2.0
#
# make bench: coresched=vm on SMT2, 2 cores of SMT2 and SMT4: kicks per
# slow exit, the time spent waiting, and the work relative to unprotected.
# Called by report.py: gnuplot -e "dir='DATA'; out='PNG'".
# scale.dat: one block per workload (cpu, exit-kernel, exit-user), lines
# "topology kicks_per_exit_median min max wait_kick_pct wait_enter_pct
# work_ratio".

set terminal pngcairo size 1200,420 font ",10"
set output out
set multiplot layout 1,3 title "coresched=vm against siblings per core (one VM, a vCPU per CPU)"
set xtics ("SMT2\n1 core" 1, "SMT2\n2 cores" 2, "SMT4\n1 core" 3)
set xrange [0.6:3.4]
set grid ytics
set bmargin 4
set key top left
set title "kicks per exit (line: one per sibling)"
set yrange [0:*]
plot dir.'/scale.dat' index 0 using 1:2:3:4 with yerrorlines pt 7 title "cpu", \
     '' index 1 using 1:2:3:4 with yerrorlines pt 5 title "exit-kernel", \
     '' index 2 using 1:2:3:4 with yerrorlines pt 9 title "exit-user", \
     '-' using 1:2 with lines dt 2 lc rgb "gray" title "siblings"
1 1
2 1
3 3
e
set title "time waiting, % of the CPUs' time (median)"
plot dir.'/scale.dat' index 0 using 1:5 with linespoints pt 7 lc 1 title "cpu: to kick", \
     '' index 0 using 1:6 with linespoints pt 7 dt 2 lc 1 title "cpu: to enter", \
     '' index 1 using 1:5 with linespoints pt 5 lc 2 title "exit-kernel: to kick", \
     '' index 1 using 1:6 with linespoints pt 5 dt 2 lc 2 title "exit-kernel: to enter", \
     '' index 2 using 1:5 with linespoints pt 9 lc 3 title "exit-user: to kick", \
     '' index 2 using 1:6 with linespoints pt 9 dt 2 lc 3 title "exit-user: to enter"
set title "guest work, coresched=vm / unprotected (median)"
set yrange [0:*]
plot dir.'/scale.dat' index 0 using 1:7 with linespoints pt 7 title "cpu", \
     '' index 1 using 1:7 with linespoints pt 5 title "exit-kernel", \
     '' index 2 using 1:7 with linespoints pt 9 title "exit-user", \
     1 with lines dt 2 lc rgb "gray" notitle
unset multiplot
