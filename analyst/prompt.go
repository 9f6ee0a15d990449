package analyst

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/profile"
)

// promptSpans is how many of the slowest spans FactsPrompt lists.
const promptSpans = 8

// FactsPrompt summarises the alert, the transaction's totals, its slowest spans, its exceptions
// and the facts in compact plain text, to be handed to an LLM role as the user message. It does
// not mask anything; values appear as they are in the alert. It does not say which language to
// answer in: the caller adds that.
func FactsPrompt(alert *profile.Alert, facts []Fact) string {
	v := newView(alert)
	a := v.alert
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }

	line("ALERT")
	line("Rule: %s (severity %s)", v.rule, cmp.Or(a.Severity, "unknown"))
	line("Application: %s; instance: %s", v.app, cmp.Or(v.instance, "unknown"))
	line("Message: %s", oneLine(a.Message))
	if !a.StartsAt.IsZero() {
		window := a.StartsAt.Format(time.RFC3339)
		if !a.EndsAt.IsZero() {
			window += " to " + a.EndsAt.Format(time.RFC3339)
		} else {
			window += " (still firing)"
		}
		line("Window: %s", window)
	}
	if len(a.Labels) > 0 {
		keys := make([]string, 0, len(a.Labels))
		for k := range a.Labels {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		pairs := make([]string, len(keys))
		for i, k := range keys {
			pairs[i] = k + "=" + a.Labels[k]
		}
		line("Labels: %s", strings.Join(pairs, ", "))
	}
	if a.TraceID != "" {
		line("Trace ID: %s", a.TraceID)
	}
	if vs := alertValues(a); vs != "" {
		line("Values: %s", vs)
	}
	if a.ValueString != "" {
		line("Value string: %s", oneLine(a.ValueString))
	}
	for _, l := range a.Links {
		line("Link (%s): %s", oneLine(l.Name), oneLine(l.URL))
	}

	line("")
	line("TRANSACTION")
	if p := v.p; p == nil {
		line("No transaction profile is available.")
	} else {
		tx, st := p.Transaction, v.st
		desc := cmp.Or(strings.TrimSpace(tx.Method+" "+tx.URL), "unknown URL")
		if tx.Name != "" {
			desc += " (" + tx.Name + ")"
		}
		if tx.Status != 0 {
			desc += fmt.Sprintf(", HTTP %d", tx.Status)
		}
		line("Request: %s", desc)
		if !tx.StartTime.IsZero() {
			line("Started: %s", tx.StartTime.Format(time.RFC3339Nano))
		}
		line("Total time: %s", ms(st.TotalTimeMs))
		line("SQL: %s in %s, %s fetched", ms(st.SQLTimeMs), plural(st.SQLCount, "execution"), plural(st.FetchCount, "row"))
		line("External calls: %s in %s", ms(st.HTTPClientTimeMs), plural(st.HTTPClientCount, "call"))
		line("DB connection acquisition: %s in %s", ms(st.DBConnectTimeMs), plural(st.DBConnectCount, "acquisition"))
		line("Exceptions: %s; spans with errors: %s", num(st.ExceptionCount), num(st.ErrorSpanCount))

		if len(p.Spans) > 0 {
			order := make([]int, len(p.Spans))
			for i := range order {
				order[i] = i
			}
			slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(p.Spans[y].DurationMs, p.Spans[x].DurationMs) })
			n := min(promptSpans, len(order))
			line("")
			line("SLOWEST SPANS (%d of %d, by duration)", n, len(p.Spans))
			for _, i := range order[:n] {
				line("- %s", promptSpan(i, &p.Spans[i]))
			}
		}
		if len(p.Exceptions) > 0 {
			line("")
			line("EXCEPTIONS")
			for _, e := range p.Exceptions {
				s := e.Type + prefixed(": ", firstLine(e.Message))
				if fr := appFrame(e.StackTrace); fr != "" {
					s += " (at " + fr + ")"
				}
				line("- %s", s)
			}
		}
	}

	line("")
	line("FACTS (severity 0 none .. 3 critical; ranked by impact: an exception that failed the request first, unless it is the timeout of a slow step that took most of the transaction, which then comes first as the cause and the exception as its symptom; then by the time each costs; a handled exception in a successful request is context, not the cause)")
	sorted := sortFacts(facts)
	if len(sorted) == 0 {
		line("- none: no detector threshold was crossed")
	}
	for _, f := range sorted {
		line("- [%d %s] %s: %s", f.Severity, severityName(f.Severity), f.Kind, strings.TrimSuffix(oneLine(f.Summary), "."))
	}
	return strings.TrimRight(b.String(), "\n")
}

func severityName(s int) string {
	switch {
	case s >= SeverityCritical:
		return "critical"
	case s == SeverityWarning:
		return "warning"
	case s == SeverityInfo:
		return "info"
	default:
		return "none"
	}
}

func promptSpan(i int, s *profile.Span) string {
	parts := []string{fmt.Sprintf("#%d %s", i, s.Kind)}
	if s.Name != "" {
		parts = append(parts, s.Name)
	}
	d := ms(s.DurationMs)
	if n := s.Executions(); n > 1 {
		d += fmt.Sprintf(" over %s executions", num(n))
	}
	parts = append(parts, d)
	switch s.Kind {
	case profile.KindSQL, profile.KindFetch:
		tables, crud := spanTables(s)
		if crud != "" || len(tables) > 0 {
			parts = append(parts, sqlSubject(crud, tables))
		}
		if s.Rows > 0 {
			parts = append(parts, plural(s.Rows, "row"))
		}
	case profile.KindHTTPClient, profile.KindDBConnect:
		if addr := remoteOf(s); addr != "" {
			parts = append(parts, "remote "+addr)
		}
		if s.StatusCode > 0 {
			parts = append(parts, fmt.Sprintf("HTTP %d", s.StatusCode))
		}
	}
	if s.Error != "" {
		parts = append(parts, "error: "+firstLine(s.Error))
	}
	out := strings.Join(parts, ", ")
	if s.SQL != "" {
		out += "; SQL: " + truncate(s.SQL, 300)
	} else if s.URL != "" && s.Kind == profile.KindHTTPClient {
		out += "; URL: " + s.URL
	}
	return out
}
