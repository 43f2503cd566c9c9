# Plots bench_mmu's CSV. usage: gnuplot -e "csv='FILE'; outdir='DIR'" bench/plot_mmu.gp
set datafile separator ","
set terminal pngcairo size 960,600 noenhanced font "sans,10"
set logscale x 2
set grid
set key top left

sel(g, k, col) = (strcol(1) eq g && strcol(2) eq k) ? column(col) : NaN

set output outdir."/bench_mmu_throughput.png"
set title "Validated page-table updates per second against batch size (median, min..max)"
set xlabel "updates per call (batch size)"
set ylabel "updates per second (millions)"
set xrange [0.8:1300]
plot \
  csv using 3:(sel("x64","l1",11)/1e6) with linespoints lw 2 title "64-bit L1, library call", \
  csv using 3:(sel("x64","l1",12)/1e6):(1e3/sel("x64","l1",9)):(1e3/sel("x64","l1",8)) with yerrorlines lw 2 title "64-bit L1, with a real trap per call", \
  csv using 3:(sel("pae32","l1",12)/1e6) with linespoints lw 2 title "32-bit PAE L1, with trap", \
  csv using 3:(sel("x64","upper",12)/1e6) with linespoints lw 2 title "64-bit L2, with trap", \
  csv using 3:(sel("pae32","upper",12)/1e6) with linespoints lw 2 title "32-bit PAE L2, with trap"

set output outdir."/bench_mmu_cost.png"
set title "Cost of one 64-bit L1 update, by part (ns, median)"
set ylabel "nanoseconds per update"
set logscale y
set yrange [0.5:*]
set style fill solid 0.6 border -1
bw(x) = x * 0.35
plot \
  csv using 3:(sel("x64","l1",7)):(bw($3)) with boxes title "trap share (amortised over the batch)", \
  csv using 3:(sel("x64","l1",4)):(bw($3)) with boxes title "validation and reference moves (library)", \
  csv using 3:(sel("x64","l1",10)):(bw($3)) with boxes title "the raw store alone"
