package analyst

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/vigil-ops/vigil/profile"
)

// english writes the report in English.
type english struct{}

func (english) transaction(v view) []string {
	if !v.hasProfile {
		lines := []string{"Application: " + v.app}
		if v.instance != "" {
			lines = append(lines, "Instance: "+v.instance)
		}
		lines = append(lines, "Profile: not available")
		if v.alert.TraceID != "" {
			lines = append(lines, "Trace ID: "+v.alert.TraceID)
		}
		return lines
	}
	tx, st := v.p.Transaction, v.st
	lines := []string{"URL: " + cmp.Or(strings.TrimSpace(tx.Method+" "+tx.URL), "unknown")}
	if tx.Name != "" {
		lines = append(lines, "Transaction: "+tx.Name)
	}
	lines = append(lines, "Instance: "+cmp.Or(v.instance, "unknown"))
	total := "Total time: " + ms(st.TotalTimeMs)
	if tx.Status != 0 {
		total += fmt.Sprintf(" (HTTP %d)", tx.Status)
	}
	lines = append(lines, total,
		fmt.Sprintf("SQL time: %s (%s, %s fetched)", ms(st.SQLTimeMs), plural(st.SQLCount, "execution"), plural(st.FetchCount, "row")),
		fmt.Sprintf("External call time: %s (%s)", ms(st.HTTPClientTimeMs), plural(st.HTTPClientCount, "call")))
	if st.DBConnectCount > 0 {
		lines = append(lines, fmt.Sprintf("DB connection time: %s (%s)", ms(st.DBConnectTimeMs), plural(st.DBConnectCount, "acquisition")))
	}
	lines = append(lines, fmt.Sprintf("Exceptions: %s", num(st.ExceptionCount)))
	if v.alert.TraceID != "" {
		lines = append(lines, "Trace ID: "+v.alert.TraceID)
	}
	return lines
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return num(n) + " " + word + "s"
}

func (english) where(v view) string {
	if v.instance != "" {
		return fmt.Sprintf("%s alert on %s (%s).", v.rule, v.app, v.instance)
	}
	return fmt.Sprintf("%s alert on %s.", v.rule, v.app)
}

// ofTotal is ", 92% of the 9,132 ms transaction" when the share is known.
func ofTotal(d fdata) string {
	if d.f64("totalTimeMs") <= 0 || d.f64("share") <= 0 {
		return ""
	}
	return fmt.Sprintf(", %s of the %s transaction", pct(d.f64("share")), ms(d.f64("totalTimeMs")))
}

func subjectEN(d fdata) string { return sqlSubject(d.str("crud"), d.strs("tables")) }

// sentence ends s with exactly one full stop.
func sentence(s string) string {
	s = strings.TrimRight(strings.TrimSpace(s), ".")
	if s == "" {
		return ""
	}
	return s + "."
}

func (e english) problemSummary(v view, f Fact, more int) string {
	d := fdata(f.Data)
	var cause string
	switch f.Kind {
	case KindSlowSQL:
		cause = fmt.Sprintf("Cause: slow SQL. The %s took %s%s", subjectEN(d), ms(d.f64("durationMs")), ofTotal(d))
		if n := d.int("executions"); n > 1 {
			cause = fmt.Sprintf("Cause: slow SQL. The %s ran %s times, %s in total (%s each)%s",
				subjectEN(d), num(n), ms(d.f64("durationMs")), ms(d.f64("perExecutionMs")), ofTotal(d))
		}
	case KindSlowDBConnect:
		cause = fmt.Sprintf("Cause: slow database connection acquisition. The application waited %s for a connection%s from its pool%s",
			ms(d.f64("durationMs")), prefixed(" to ", d.str("remoteAddress")), ofTotal(d))
		if n := d.int("executions"); n > 1 {
			cause = fmt.Sprintf("Cause: slow database connection acquisition. The application waited %s in total for %s connections%s from its pool (%s each)%s",
				ms(d.f64("durationMs")), num(n), prefixed(" to ", d.str("remoteAddress")), ms(d.f64("perExecutionMs")), ofTotal(d))
		}
	case KindNetworkDelay:
		target := cmp.Or(d.str("remoteAddress"), d.str("url"), "the remote service")
		cause = fmt.Sprintf("Cause: external call delay. The call to %s took %s%s", target, ms(d.f64("durationMs")), ofTotal(d))
		if n := d.int("executions"); n > 1 {
			cause = fmt.Sprintf("Cause: external call delay. The call to %s was made %s times%s, %s in total (%s each)%s",
				target, num(n), retriedEN(d), ms(d.f64("durationMs")), ms(d.f64("perExecutionMs")), ofTotal(d))
		}
	case KindException:
		verb := "raised"
		if d.int("status") >= 500 {
			verb = fmt.Sprintf("failed (HTTP %d) with", d.int("status"))
		}
		cause = fmt.Sprintf("Cause: an exception. The request %s %s%s", verb, d.str("type"), prefixed(": ", d.str("message")))
	case KindExcessiveSQL:
		if d.str("pattern") == "repeated" {
			cause = fmt.Sprintf("Cause: an N+1 query pattern. The same %s ran %s times (%s in total%s)",
				subjectEN(d), num(d.int("repeats")), ms(d.f64("durationMs")), ofTotal(d))
		} else {
			cause = fmt.Sprintf("Cause: too many SQL executions. The transaction ran %s SQL statements (%s of SQL time)", num(d.int("sqlCount")), ms(d.f64("sqlTimeMs")))
		}
	case KindExcessiveFetch:
		cause = fmt.Sprintf("Cause: excessive fetch. The transaction fetched %s rows from the database", num(d.int("rows")))
		if t := d.strs("tables"); len(t) > 0 && d.int("spanRows") > 0 {
			cause += fmt.Sprintf(", %s of them by the %s", num(d.int("spanRows")), subjectEN(d))
		}
		if d.f64("impactMs") > 0 {
			cause += fmt.Sprintf("; reading them took %s%s", ms(d.f64("impactMs")), ofTotal(d))
		}
	default:
		cause = f.Summary
	}
	if typ, msg, st, ok := failedBecause(f); ok {
		cause = sentence(cause) + fmt.Sprintf(" The request failed (HTTP %d) with %s because of it%s", st, typ, prefixed(": ", msg))
	}
	s := e.where(v) + " " + sentence(cause)
	switch {
	case more == 1:
		s += " One more problem was found."
	case more > 1:
		s += fmt.Sprintf(" %d more problems were found.", more)
	}
	return s
}

// retriedEN is " (2 failed and were retried)" for a retry loop.
func retriedEN(d fdata) string {
	switch f := d.int("failures"); {
	case f <= 0:
		return ""
	case f == 1:
		return " (1 failed and was retried)"
	default:
		return fmt.Sprintf(" (%s failed and were retried)", num(f))
	}
}

func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func (e english) normalSummary(v view) string {
	return e.where(v) + fmt.Sprintf(" The transaction profile shows nothing seriously slow: the transaction took %s and no SQL, "+
		"connection, external call or exception crossed its threshold. The system is operating normally.", ms(v.st.TotalTimeMs))
}

func (e english) noProfileSummary(v view) string {
	return e.where(v) + " " + sentence("Alert: "+oneLine(v.alert.Message)) +
		" No transaction profile was available, so the cause could not be analysed."
}

func (english) analysis(v view, f Fact) string {
	d := fdata(f.Data)
	switch f.Kind {
	case KindSlowSQL:
		s := fmt.Sprintf("Slow SQL: the %s took %s", subjectEN(d), ms(d.f64("durationMs")))
		if n := d.int("executions"); n > 1 {
			s = fmt.Sprintf("Slow SQL: the %s ran %s times, %s in total (%s each)", subjectEN(d), num(n), ms(d.f64("durationMs")), ms(d.f64("perExecutionMs")))
		}
		s += ofTotal(d)
		if r := d.int("rows"); r > 0 {
			s += fmt.Sprintf(", and returned %s", plural(r, "row"))
		}
		return s + "." + failedEN(f) + prefixed(" Statement: ", truncate(d.str("sql"), 160))
	case KindSlowDBConnect:
		s := fmt.Sprintf("Slow DB connection: acquiring a connection%s%s took %s%s", prefixed(" to ", d.str("remoteAddress")),
			prefixed(" in ", d.str("name")), ms(d.f64("durationMs")), ofTotal(d))
		if n := d.int("executions"); n > 1 {
			s = fmt.Sprintf("Slow DB connection: %s connection acquisitions%s%s took %s in total (%s each)%s", num(n),
				prefixed(" to ", d.str("remoteAddress")), prefixed(" in ", d.str("name")), ms(d.f64("durationMs")), ms(d.f64("perExecutionMs")), ofTotal(d))
		}
		if e := d.str("error"); e != "" {
			return sentence(s+"; it failed: "+e) + failedEN(f)
		}
		return s + "; the pool was exhausted or the database was slow to accept connections." + failedEN(f)
	case KindNetworkDelay:
		target := cmp.Or(d.str("remoteAddress"), "the remote service")
		if u := d.str("url"); u != "" {
			target += " (" + u + ")"
		}
		s := fmt.Sprintf("Network delay: the call to %s took %s%s", target, ms(d.f64("durationMs")), ofTotal(d))
		if n := d.int("executions"); n > 1 {
			s = fmt.Sprintf("Network delay: the call to %s was made %s times%s, %s in total (%s each)%s",
				target, num(n), retriedEN(d), ms(d.f64("durationMs")), ms(d.f64("perExecutionMs")), ofTotal(d))
		}
		switch {
		case d.str("error") != "" && d.int("executions") > 1:
			s += "; the failed attempts reported: " + d.str("error")
		case d.str("error") != "":
			s += "; it failed: " + d.str("error")
		case d.int("statusCode") > 0:
			s += fmt.Sprintf("; it answered HTTP %d", d.int("statusCode"))
		}
		return sentence(s) + failedEN(f)
	case KindException:
		s := "Exception: " + d.str("type")
		if n := d.int("count"); n > 1 {
			s += fmt.Sprintf(" (%s times)", num(n))
		}
		s += prefixed(", thrown at ", d.str("frame"))
		switch st := d.int("status"); {
		case d.str("symptomOf") != "" && d.bool("failed") && st > 0:
			s += fmt.Sprintf("; it is how the %s above failed the request (HTTP %d), not a separate cause", stepEN(d.str("symptomOf")), st)
		case d.str("symptomOf") != "":
			s += fmt.Sprintf("; it was thrown by the %s above, not a separate cause", stepEN(d.str("symptomOf")))
		case d.bool("handled") && f.Severity < SeverityWarning:
			s += fmt.Sprintf("; the application handled it and the request succeeded (HTTP %d), so it is context, not the cause", st)
		case st >= 500 && f.Severity < SeverityWarning && !d.bool("failed"):
			s += fmt.Sprintf("; it was thrown on the way, and another exception failed the request (HTTP %d)", st)
		case st > 0:
			s += fmt.Sprintf("; the request ended with HTTP %d", st)
		}
		return sentence(s) + prefixed(" Message: ", sentence(d.str("message")))
	case KindExcessiveSQL:
		if d.str("pattern") == "repeated" {
			return fmt.Sprintf("N+1 queries: the same %s ran %s times (%s in total); the transaction made %s SQL executions.",
				subjectEN(d), num(d.int("repeats")), ms(d.f64("durationMs")), num(d.int("sqlCount")))
		}
		s := fmt.Sprintf("Too many SQL executions: %s in one transaction (%s of SQL time)", num(d.int("sqlCount")), ms(d.f64("sqlTimeMs")))
		if t := d.strs("tables"); len(t) > 0 {
			s += ", mostly on " + strings.Join(t, ", ")
		}
		return s + "."
	case KindExcessiveFetch:
		s := fmt.Sprintf("Excessive fetch: %s rows fetched", num(d.int("rows")))
		if t := d.strs("tables"); len(t) > 0 && d.int("spanRows") > 0 {
			s += fmt.Sprintf(", %s of them by the %s", num(d.int("spanRows")), subjectEN(d))
		}
		return s + "."
	}
	return sentence(f.Summary)
}

func (english) action(v view, f Fact) string {
	d := fdata(f.Data)
	subject := subjectEN(d)
	tables := strings.Join(d.strs("tables"), ", ")
	switch f.Kind {
	case KindSlowSQL:
		switch d.str("crud") {
		case profile.CRUDSelect:
			return fmt.Sprintf("Run EXPLAIN on the %s and add or fix the index on its WHERE and JOIN columns; if it scans many rows, narrow the range or paginate.", subject)
		case profile.CRUDUpdate, profile.CRUDDelete:
			return fmt.Sprintf("Check the %s for row-lock waits and for a missing index on its WHERE columns; keep the transactions that hold those locks short.", subject)
		case profile.CRUDInsert:
			return fmt.Sprintf("Check the %s for lock contention, triggers and index or constraint overhead; batch the inserts if they arrive in bursts.", subject)
		}
		return fmt.Sprintf("Check the execution plan and the locks of the %s.", subject)
	case KindSlowDBConnect:
		return fmt.Sprintf("Check the connection pool of %s (maximum size, connection timeout, active and idle connections)%s: look for connection leaks and long transactions holding connections, and enlarge the pool only if the database can take it.",
			v.app, prefixed(" and the database at ", d.str("remoteAddress")))
	case KindNetworkDelay:
		target := cmp.Or(d.str("remoteAddress"), cmp.Or(d.str("url"), "the external service"))
		if d.int("failures") > 0 && d.int("executions") > 1 {
			return fmt.Sprintf("Ask the owner of %s why its calls fail and are slow; the retry loop (%s attempts) multiplied the wait, so give each attempt a short connect and read timeout, cap the retries with backoff inside the alert threshold, and add a circuit breaker or fallback.",
				target, num(d.int("executions")))
		}
		if _, _, _, failed := failedBecause(f); failed {
			return fmt.Sprintf("Ask the owner of %s why the call failed and took so long, and check the network path to it; give the call a connect and read timeout well below the alert threshold, with limited retries and a circuit breaker or fallback.",
				target)
		}
		return fmt.Sprintf("Ask the owner of %s about its latency and check the network path to it; give the call a connect and read timeout well below the alert threshold, with limited retries and a circuit breaker or fallback.",
			target)
	case KindException:
		at := prefixed(" at ", d.str("frame"))
		if looksLikeConnection(d) {
			return fmt.Sprintf("Find why %s was thrown%s: the connection pool of %s ran dry, so check its size, connection leaks and slow queries that hold connections.", d.str("type"), at, v.app)
		}
		return fmt.Sprintf("Find and fix the cause of %s%s using the application log around the alert time, and make the request fail fast with a clear error.", d.str("type"), at)
	case KindExcessiveSQL:
		if d.str("pattern") == "repeated" {
			switch crud := d.str("crud"); crud {
			case profile.CRUDInsert, profile.CRUDUpdate, profile.CRUDDelete:
				return fmt.Sprintf("Remove the N+1 writes: send the %s %s statements on %s as one JDBC batch (addBatch/executeBatch, hibernate.jdbc.batch_size) or as a multi-row or set-based statement (WHERE id IN (...)) instead of one round trip per row.",
					num(d.int("repeats")), crud, cmp.Or(tables, "the table"))
			}
			return fmt.Sprintf("Remove the N+1 reads: load %s for all rows in one query (JOIN or fetch join, IN list, or batch fetch such as @BatchSize) instead of %s separate %s statements.",
				cmp.Or(tables, "the data"), num(d.int("repeats")), cmp.Or(d.str("crud"), "SQL"))
		}
		return "Cut the number of SQL calls: cache reference data, batch writes and replace per-row queries with set-based ones."
	case KindExcessiveFetch:
		return fmt.Sprintf("Fetch fewer rows%s: add paging or tighter filters and select only the columns that are needed.", prefixed(" from ", tables))
	}
	return ""
}

// failedEN is " The request failed (HTTP 500) with X because of it." for a slow step that failed
// the request (blameSlowStep), else "".
func failedEN(f Fact) string {
	typ, _, st, ok := failedBecause(f)
	if !ok {
		return ""
	}
	return fmt.Sprintf(" The request failed (HTTP %d) with %s because of it.", st, typ)
}

// stepEN names the kind of a slow step in a sentence.
func stepEN(kind string) string {
	switch kind {
	case KindSlowDBConnect:
		return "slow database connection acquisition"
	case KindNetworkDelay:
		return "slow external call"
	case KindSlowSQL:
		return "slow SQL"
	}
	return strings.ReplaceAll(kind, "_", " ")
}

func looksLikeConnection(d fdata) bool {
	s := strings.ToLower(d.str("type") + " " + d.str("message"))
	return strings.Contains(s, "connection") && (strings.Contains(s, "pool") || strings.Contains(s, "not available") || strings.Contains(s, "timed out") || strings.Contains(s, "timeout"))
}

func (english) followUp(v view) string {
	return fmt.Sprintf("After the fix, confirm that the %s alerts on %s stop and that the response time stays below the alert threshold.", v.rule, v.app)
}

func (english) normalAnalysis(v view) string {
	s := fmt.Sprintf("No bottleneck: the transaction took %s", ms(v.st.TotalTimeMs))
	if sp := v.st.SlowestSpan; sp != nil {
		s += fmt.Sprintf("; its slowest step is %s at %s", spanEN(sp), ms(sp.DurationMs))
	}
	return s + "."
}

func spanEN(s *profile.Span) string {
	name := prefixed(" (", s.Name)
	if name != "" {
		name += ")"
	}
	switch s.Kind {
	case profile.KindSQL, profile.KindFetch:
		tables, crud := spanTables(s)
		return "the " + sqlSubject(crud, tables) + name
	case profile.KindHTTPClient:
		return "the external call to " + cmp.Or(remoteOf(s), "a remote service") + name
	case profile.KindDBConnect:
		return "a database connection acquisition" + name
	}
	return cmp.Or(s.Name, "an internal step")
}

func (english) noProfileAnalysis(view) string {
	return "The alert carried no transaction profile and none could be fetched, so no span could be analysed."
}

func (english) normalActions(v view) []string {
	return []string{
		"No action needed: the system is operating normally.",
		fmt.Sprintf("Keep monitoring the %s alerts on %s; if they repeat, compare the next trace with this one.", v.rule, v.app),
	}
}

func (english) noProfileActions(v view) []string {
	open := "Open the slowest transaction"
	if v.instance != "" {
		open += " on " + v.instance
	}
	if !v.alert.StartsAt.IsZero() {
		open += " around " + v.alert.StartsAt.Format("2006-01-02 15:04 -07:00")
	}
	open += " in the APM and re-run the analysis with its profile"
	if v.alert.TraceID != "" {
		open = "Open trace " + v.alert.TraceID + " in the APM and re-run the analysis with its profile"
	}
	return []string{
		open + ".",
		fmt.Sprintf("Keep monitoring the %s alerts on %s.", v.rule, v.app),
	}
}
