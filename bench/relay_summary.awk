# relay_summary.awk turns the runs.tsv of bench/relay.sh into the tables of medians, in
# Markdown on standard output, and the "RESULT relay" summary line on standard error.
#
# Usage: awk -F'\t' -v reps=3 -v quick=0 -v elapsed=SECONDS -f relay_summary.awk runs.tsv
#
# Columns of runs.tsv: 1 path, 2 case, 3 size, 4 c, 5 mode, 6 rep, 7 system, 8 n, 9 ok,
# 10 errors, 11 accept_rate, 12 rate, 13 p50_ms, 14 p99_ms, 15 cpu_s, 16 cpu_per_1000,
# 17 db_cpu_per_1000, 18 hwm_kb, 19 pss_kb. "-" marks a value that does not apply.

# median returns the median of the values stored under key, or "" when there are none.
function median(key,    n, i, j, t, v) {
	n = cnt[key]
	if (n == 0)
		return ""
	for (i = 1; i <= n; i++)
		v[i] = val[key, i]
	for (i = 2; i <= n; i++) {
		t = v[i]
		for (j = i - 1; j >= 1 && v[j] > t; j--)
			v[j + 1] = v[j]
		v[j + 1] = t
	}
	return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}

function add(key, x) {
	if (x == "-" || x == "")
		return
	cnt[key]++
	val[key, cnt[key]] = x + 0
}

function fmt(x, decimals) {
	return x == "" ? "–" : sprintf("%." decimals "f", x)
}

function ratio(a, b) {
	return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.2f", a / b)
}

# m returns the median of one metric of the system or variant name in the case being
# printed.
function m(name, metric) {
	return median(current SUBSEP name SUBSEP metric)
}

function mb(kb) {
	return kb == "" ? "" : kb / 1024
}

function geomean(sum, count) {
	return count ? sprintf("%.2f", exp(sum / count)) : "-"
}

NR == 1 { next }

{
	k = $1 SUBSEP $2 SUBSEP $7
	add(k SUBSEP "errors", $10)
	add(k SUBSEP "accept", $11)
	add(k SUBSEP "rate", $12)
	add(k SUBSEP "p50", $13)
	add(k SUBSEP "p99", $14)
	add(k SUBSEP "cpu", $16)
	add(k SUBSEP "db", $17)
	add(k SUBSEP "hwm", $18)
	add(k SUBSEP "pss", $19)
	if (!seen[$1, $2]++)
		order[++ncases] = $1 SUBSEP $2
	has[$1] = 1
	if ($1 == "experiment" && !vseen[$7]++)
		variant[++nvariants] = $7
	errors += $10
}

# cases returns the number of cases and fills names[] with those of path, in run order.
function cases(path, names,    i, n, pc) {
	n = 0
	for (i = 1; i <= ncases; i++) {
		split(order[i], pc, SUBSEP)
		if (pc[1] == path)
			names[++n] = pc[2]
	}
	return n
}

function relay_tables(    names, n, i, s, p, q, g, d) {
	n = cases("relay", names)

	print "Throughput, messages/s from the first connection to the last message at the sink:"
	print ""
	print "| case | sink ceiling | Postfix | cjsm SQLite | ratio | cjsm PostgreSQL | ratio |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		current = "relay" SUBSEP names[i]
		s = m("sink", "rate")
		p = m("postfix", "rate")
		q = m("cjsm-sqlite", "rate")
		g = m("cjsm-pg", "rate")
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", names[i], fmt(s, 0), fmt(p, 0),
			fmt(q, 0), ratio(q, p), fmt(g, 0), ratio(g, p)
		if (p > 0 && q > 0) { rate_sqlite += log(q / p); nrate_sqlite++ }
		if (p > 0 && g > 0) { rate_pg += log(g / p); nrate_pg++ }
	}

	print ""
	print "Acceptance rate, messages/s from the first connection to the last 250 reply (the"
	print "load generator's own rate; the difference from the table above is mail still queued):"
	print ""
	print "| case | Postfix | cjsm SQLite | cjsm PostgreSQL |"
	print "| --- | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		current = "relay" SUBSEP names[i]
		printf "| %s | %s | %s | %s |\n", names[i], fmt(m("postfix", "accept"), 0),
			fmt(m("cjsm-sqlite", "accept"), 0), fmt(m("cjsm-pg", "accept"), 0)
	}

	print ""
	print "Time from the end of DATA to the 250 reply, p50 / p99 in ms:"
	print ""
	print "| case | sink | Postfix | cjsm SQLite | cjsm PostgreSQL |"
	print "| --- | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		current = "relay" SUBSEP names[i]
		printf "| %s | %s / %s | %s / %s | %s / %s | %s / %s |\n", names[i],
			fmt(m("sink", "p50"), 1), fmt(m("sink", "p99"), 1),
			fmt(m("postfix", "p50"), 1), fmt(m("postfix", "p99"), 1),
			fmt(m("cjsm-sqlite", "p50"), 1), fmt(m("cjsm-sqlite", "p99"), 1),
			fmt(m("cjsm-pg", "p50"), 1), fmt(m("cjsm-pg", "p99"), 1)
	}

	print ""
	print "CPU seconds per 1,000 messages (Postfix: every process under master; cjsm PostgreSQL:"
	print "the cjsm process, then the PostgreSQL server processes):"
	print ""
	print "| case | Postfix | cjsm SQLite | ratio | cjsm PostgreSQL | + PostgreSQL | ratio of sum |"
	print "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		current = "relay" SUBSEP names[i]
		p = m("postfix", "cpu")
		q = m("cjsm-sqlite", "cpu")
		g = m("cjsm-pg", "cpu")
		d = m("cjsm-pg", "db")
		printf "| %s | %s | %s | %s | %s | %s | %s |\n", names[i], fmt(p, 2), fmt(q, 2),
			ratio(q, p), fmt(g, 2), fmt(d, 2), ratio(g + d, p)
		if (p > 0 && q > 0) { cpu_sqlite += log(q / p); ncpu_sqlite++ }
		if (p > 0 && g > 0) { cpu_pg += log((g + d) / p); ncpu_pg++ }
	}

	print ""
	print "Memory at the end of the runs of a case, in MB: peak RSS (VmHWM; for Postfix the sum"
	print "over its processes, which counts shared pages again in each) and proportional set size"
	print "(Pss, shared pages counted once):"
	print ""
	print "| case | Postfix ΣVmHWM | Postfix ΣPss | cjsm SQLite VmHWM | cjsm PostgreSQL VmHWM |"
	print "| --- | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		current = "relay" SUBSEP names[i]
		printf "| %s | %s | %s | %s | %s |\n", names[i], fmt(mb(m("postfix", "hwm")), 0),
			fmt(mb(m("postfix", "pss")), 0), fmt(mb(m("cjsm-sqlite", "hwm")), 0),
			fmt(mb(m("cjsm-pg", "hwm")), 0)
	}
	print ""
}

function submission_table(    names, n, i, s, sys, d, store) {
	n = cases("submission", names)
	print "cjsm submission listener with AUTH PLAIN (not comparable with the relay cases):"
	print ""
	print "| case | store | messages/s | p50 / p99 ms | CPU s per 1,000 (+ PostgreSQL) | VmHWM MB |"
	print "| --- | --- | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		current = "submission" SUBSEP names[i]
		for (s = 1; s <= 2; s++) {
			sys = s == 1 ? "cjsm-sqlite" : "cjsm-pg"
			store = s == 1 ? "SQLite" : "PostgreSQL"
			d = m(sys, "db")
			printf "| %s | %s | %s | %s / %s | %s%s | %s |\n", names[i], store,
				fmt(m(sys, "rate"), 0), fmt(m(sys, "p50"), 1), fmt(m(sys, "p99"), 1),
				fmt(m(sys, "cpu"), 2), (d == "" ? "" : " (+" fmt(d, 2) ")"),
				fmt(mb(m(sys, "hwm")), 0)
		}
	}
	print ""
}

function experiment_table(    names, n, i, v) {
	n = cases("experiment", names)
	print "Experiments (cjsm under bench/cjsmprof; see the text for each variant):"
	print ""
	printf "| case | variant | messages/s | accepted/s | p50 / p99 ms | CPU s per 1,000 |"
	print " + database |"
	print "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
	for (i = 1; i <= n; i++) {
		current = "experiment" SUBSEP names[i]
		for (v = 1; v <= nvariants; v++) {
			if (m(variant[v], "rate") == "")
				continue
			printf "| %s | %s | %s | %s | %s / %s | %s | %s |\n", names[i], variant[v],
				fmt(m(variant[v], "rate"), 0), fmt(m(variant[v], "accept"), 0),
				fmt(m(variant[v], "p50"), 1), fmt(m(variant[v], "p99"), 1),
				fmt(m(variant[v], "cpu"), 2), fmt(m(variant[v], "db"), 2)
		}
	}
	print ""
}

END {
	note = quick ? " (--quick: few messages, indicative only)" : ""
	print "Medians of " reps " run(s) per case" note "."
	print ""
	if (has["relay"])
		relay_tables()
	if (has["submission"])
		submission_table()
	if (nvariants)
		experiment_table()

	# Geometric means over the relay cases of cjsm ÷ Postfix.
	printf "RESULT relay reps=%d quick=%d errors=%d", reps, quick, errors > "/dev/stderr"
	printf " rate_ratio_sqlite=%s rate_ratio_pg=%s", geomean(rate_sqlite, nrate_sqlite),
		geomean(rate_pg, nrate_pg) > "/dev/stderr"
	printf " cpu_ratio_sqlite=%s cpu_ratio_pg=%s", geomean(cpu_sqlite, ncpu_sqlite),
		geomean(cpu_pg, ncpu_pg) > "/dev/stderr"
	printf " elapsed_s=%d\n", elapsed > "/dev/stderr"
}
