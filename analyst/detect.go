package analyst

import (
	"cmp"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/vigil-ops/vigil/profile"
)

// Fact kinds.
const (
	KindSlowSQL        = "slow_sql"
	KindSlowDBConnect  = "slow_db_connect"
	KindNetworkDelay   = "network_delay"
	KindException      = "exception"
	KindExcessiveSQL   = "excessive_sql"
	KindExcessiveFetch = "excessive_fetch"
)

// Fact severities. A fact of SeverityWarning or above is a problem worth acting on; with none of
// those the report says the system is operating normally.
const (
	SeverityNone     = 0
	SeverityInfo     = 1
	SeverityWarning  = 2
	SeverityCritical = 3
)

// Fact is one finding of a detector: what kind, how bad, an English one-line summary with the
// numbers, and the data behind it (durations in ms, counts, table names, addresses) for report
// writers and LLM prompts. Data values are strings, float64s, ints or []string; after a JSON
// round trip (Temporal payloads) numbers come back as float64 and lists as []any, and Write
// accepts both.
type Fact struct {
	Kind     string         `json:"kind"`
	Severity int            `json:"severity"`
	Summary  string         `json:"summary"`
	Data     map[string]any `json:"data,omitempty"`
}

// Thresholds tune the detectors. A zero field takes its default value.
type Thresholds struct {
	// SlowSQLMs: a SQL execution at least this long is slow (default 1000).
	SlowSQLMs float64 `json:"slowSqlMs,omitempty" yaml:"slow_sql_ms,omitempty"`
	// SlowSQLShare: a SQL span taking at least this share of the transaction is worth noting
	// (default 0.30), provided one execution takes at least SlowSQLShareMinMs (default 200).
	SlowSQLShare      float64 `json:"slowSqlShare,omitempty" yaml:"slow_sql_share,omitempty"`
	SlowSQLShareMinMs float64 `json:"slowSqlShareMinMs,omitempty" yaml:"slow_sql_share_min_ms,omitempty"`
	// SlowDBConnectMs: acquiring a DB connection at least this long is slow (default 500).
	SlowDBConnectMs float64 `json:"slowDbConnectMs,omitempty" yaml:"slow_db_connect_ms,omitempty"`
	// NetworkDelayMs: an outgoing HTTP call at least this long is slow (default 1000).
	NetworkDelayMs float64 `json:"networkDelayMs,omitempty" yaml:"network_delay_ms,omitempty"`
	// ExcessiveSQLCount: this many SQL executions in one transaction is excessive (default 100).
	ExcessiveSQLCount int `json:"excessiveSqlCount,omitempty" yaml:"excessive_sql_count,omitempty"`
	// RepeatedSQLCount: one statement executed this many times is an N+1 pattern (default 50).
	RepeatedSQLCount int `json:"repeatedSqlCount,omitempty" yaml:"repeated_sql_count,omitempty"`
	// ExcessiveFetchRows: fetching this many rows is excessive (default 10000).
	ExcessiveFetchRows int `json:"excessiveFetchRows,omitempty" yaml:"excessive_fetch_rows,omitempty"`
	// CriticalFactor: a measurement at least this multiple of its threshold is critical
	// (default 5).
	CriticalFactor float64 `json:"criticalFactor,omitempty" yaml:"critical_factor,omitempty"`
}

// DefaultThresholds returns the built-in thresholds.
func DefaultThresholds() Thresholds {
	return Thresholds{
		SlowSQLMs:          1000,
		SlowSQLShare:       0.30,
		SlowSQLShareMinMs:  200,
		SlowDBConnectMs:    500,
		NetworkDelayMs:     1000,
		ExcessiveSQLCount:  100,
		RepeatedSQLCount:   50,
		ExcessiveFetchRows: 10000,
		CriticalFactor:     5,
	}
}

func (th Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds()
	pick := func(v, def float64) float64 {
		if v > 0 {
			return v
		}
		return def
	}
	pickInt := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return Thresholds{
		SlowSQLMs:          pick(th.SlowSQLMs, d.SlowSQLMs),
		SlowSQLShare:       pick(th.SlowSQLShare, d.SlowSQLShare),
		SlowSQLShareMinMs:  pick(th.SlowSQLShareMinMs, d.SlowSQLShareMinMs),
		SlowDBConnectMs:    pick(th.SlowDBConnectMs, d.SlowDBConnectMs),
		NetworkDelayMs:     pick(th.NetworkDelayMs, d.NetworkDelayMs),
		ExcessiveSQLCount:  pickInt(th.ExcessiveSQLCount, d.ExcessiveSQLCount),
		RepeatedSQLCount:   pickInt(th.RepeatedSQLCount, d.RepeatedSQLCount),
		ExcessiveFetchRows: pickInt(th.ExcessiveFetchRows, d.ExcessiveFetchRows),
		CriticalFactor:     max(pick(th.CriticalFactor, d.CriticalFactor), 1),
	}
}

// grade is SeverityWarning from threshold up and SeverityCritical from factor × threshold up.
func (th Thresholds) grade(v, threshold float64) int {
	switch {
	case v >= threshold*th.CriticalFactor:
		return SeverityCritical
	case v >= threshold:
		return SeverityWarning
	default:
		return SeverityNone
	}
}

// Detect runs every detector over the profile and returns the facts sorted by severity
// (highest first), then kind, then magnitude (largest first). The result depends only on its
// inputs. A nil profile gives no facts.
func Detect(p *profile.Profile, th Thresholds) []Fact {
	if p == nil {
		return nil
	}
	th = th.withDefaults()
	st := p.Summary()
	var facts []ranked
	facts = append(facts, detectSlowSQL(p, st, th)...)
	facts = append(facts, detectSlowDBConnect(p, th)...)
	facts = append(facts, detectNetworkDelay(p, st, th)...)
	facts = append(facts, detectExceptions(p)...)
	facts = append(facts, detectExcessiveSQL(p, st, th)...)
	facts = append(facts, detectExcessiveFetch(p, st, th)...)
	slices.SortStableFunc(facts, func(a, b ranked) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(b.weight, a.weight),
			cmp.Compare(a.Summary, b.Summary),
		)
	})
	out := make([]Fact, len(facts))
	for i, f := range facts {
		out[i] = f.Fact
	}
	return out
}

// ranked carries the magnitude that orders facts of the same severity and kind.
type ranked struct {
	Fact
	weight float64
}

// round1 rounds to one decimal, which is all a report needs of a millisecond figure.
func round1(v float64) float64 { return math.Round(v*10) / 10 }

func share(part, total float64) float64 {
	if total <= 0 {
		return 0
	}
	return math.Round(part/total*100) / 100
}

// sqlSubject names what a statement touches: "SELECT on orders, order_items".
func sqlSubject(crud string, tables []string) string {
	if crud == "" {
		crud = "SQL"
	}
	if len(tables) == 0 {
		return crud + " statement"
	}
	return crud + " on " + strings.Join(tables, ", ")
}

func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func detectSlowSQL(p *profile.Profile, st profile.Stats, th Thresholds) []ranked {
	var out []ranked
	for i := range p.Spans {
		s := &p.Spans[i]
		if s.Kind != profile.KindSQL {
			continue
		}
		n := s.Executions()
		per := s.DurationMs / float64(n)
		sh := share(s.DurationMs, st.TotalTimeMs)
		sev := th.grade(per, th.SlowSQLMs)
		if sev == SeverityNone && per >= th.SlowSQLShareMinMs && st.TotalTimeMs > 0 && s.DurationMs/st.TotalTimeMs >= th.SlowSQLShare {
			sev = SeverityInfo
		}
		if sev == SeverityNone {
			continue
		}
		tables, crud := spanTables(s)
		data := map[string]any{
			"span":           i,
			"name":           s.Name,
			"crud":           crud,
			"tables":         tables,
			"durationMs":     round1(s.DurationMs),
			"perExecutionMs": round1(per),
			"executions":     n,
			"share":          sh,
			"totalTimeMs":    round1(st.TotalTimeMs),
			"rows":           s.Rows,
			"sql":            truncate(s.SQL, 300),
		}
		summary := fmt.Sprintf("%s took %s", sqlSubject(crud, tables), ms(s.DurationMs))
		if n > 1 {
			summary = fmt.Sprintf("%s ran %s times for %s (%s each)", sqlSubject(crud, tables), num(n), ms(s.DurationMs), ms(per))
		}
		if st.TotalTimeMs > 0 {
			summary += fmt.Sprintf(", %s of the %s transaction", pct(sh), ms(st.TotalTimeMs))
		}
		out = append(out, ranked{Fact{KindSlowSQL, sev, summary, data}, s.DurationMs})
	}
	return out
}

// spanTables returns the span's tables and CRUD type, deriving them from its SQL when the
// profile was not normalized.
func spanTables(s *profile.Span) ([]string, string) {
	tables, crud := s.Tables, s.CRUD
	if (len(tables) == 0 || crud == "") && s.SQL != "" {
		t, c := profile.AnalyzeSQL(s.SQL)
		if len(tables) == 0 {
			tables = t
		}
		if crud == "" {
			crud = c
		}
	}
	if tables == nil {
		tables = []string{}
	}
	return slices.Clone(tables), crud
}

func detectSlowDBConnect(p *profile.Profile, th Thresholds) []ranked {
	var out []ranked
	for i := range p.Spans {
		s := &p.Spans[i]
		if s.Kind != profile.KindDBConnect {
			continue
		}
		per := s.DurationMs / float64(s.Executions())
		sev := th.grade(per, th.SlowDBConnectMs)
		if sev == SeverityNone {
			continue
		}
		addr := remoteOf(s)
		summary := "acquiring a database connection took " + ms(per)
		if addr != "" {
			summary = fmt.Sprintf("acquiring a database connection to %s took %s", addr, ms(per))
		}
		if s.Error != "" {
			summary += " and failed: " + firstLine(s.Error)
		}
		out = append(out, ranked{Fact{KindSlowDBConnect, sev, summary, map[string]any{
			"span":          i,
			"name":          s.Name,
			"remoteAddress": addr,
			"durationMs":    round1(per),
			"executions":    s.Executions(),
			"error":         firstLine(s.Error),
		}}, per})
	}
	return out
}

// remoteOf is the span's remote address, derived from its URL when not given.
func remoteOf(s *profile.Span) string {
	if s.RemoteAddress != "" {
		return s.RemoteAddress
	}
	if s.URL != "" {
		return profile.RemoteAddress(s.URL)
	}
	return ""
}

// cleanURL drops the query string and credentials of a URL for display; JDBC URLs and
// unparsable values are shown as their host only.
func cleanURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
}

func detectNetworkDelay(p *profile.Profile, st profile.Stats, th Thresholds) []ranked {
	var out []ranked
	for i := range p.Spans {
		s := &p.Spans[i]
		if s.Kind != profile.KindHTTPClient {
			continue
		}
		per := s.DurationMs / float64(s.Executions())
		sev := th.grade(per, th.NetworkDelayMs)
		if sev == SeverityNone {
			continue
		}
		addr := remoteOf(s)
		target := cmp.Or(addr, cleanURL(s.URL), s.Name, "an external service")
		summary := fmt.Sprintf("external call to %s took %s", target, ms(per))
		if u := cleanURL(s.URL); u != "" && addr != "" {
			summary = fmt.Sprintf("external call to %s (%s) took %s", addr, u, ms(per))
		}
		if st.TotalTimeMs > 0 {
			summary += fmt.Sprintf(", %s of the %s transaction", pct(share(s.DurationMs, st.TotalTimeMs)), ms(st.TotalTimeMs))
		}
		if s.Error != "" {
			summary += "; it failed: " + firstLine(s.Error)
		} else if s.StatusCode >= 400 {
			summary += fmt.Sprintf("; it answered HTTP %d", s.StatusCode)
		}
		out = append(out, ranked{Fact{KindNetworkDelay, sev, summary, map[string]any{
			"span":          i,
			"name":          s.Name,
			"remoteAddress": addr,
			"url":           cleanURL(s.URL),
			"durationMs":    round1(per),
			"executions":    s.Executions(),
			"share":         share(s.DurationMs, st.TotalTimeMs),
			"totalTimeMs":   round1(st.TotalTimeMs),
			"statusCode":    s.StatusCode,
			"error":         firstLine(s.Error),
		}}, per})
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	return truncate(s, 240)
}

// libraryFrames are stack-frame prefixes of runtimes and libraries; the first frame outside them
// is where the application's own code met the exception.
var libraryFrames = []string{
	"java.", "javax.", "jakarta.", "jdk.", "sun.", "com.sun.", "kotlin.", "scala.",
	"org.springframework.", "org.hibernate.", "org.apache.", "org.eclipse.", "org.jboss.",
	"com.zaxxer.", "com.mysql.", "org.postgresql.", "oracle.", "com.microsoft.sqlserver.",
	"io.netty.", "reactor.", "okhttp3.", "feign.", "io.grpc.", "com.fasterxml.", "org.mybatis.",
	"net.sf.", "com.google.", "io.micrometer.", "brave.", "io.opentelemetry.",
}

// appFrame returns the first stack frame in application code ("OrderRepository.findById
// (OrderRepository.java:58)" style, without the leading "at "), or the first frame.
func appFrame(stack string) string {
	var first string
	for line := range strings.Lines(stack) {
		line = strings.TrimSpace(line)
		frame, ok := strings.CutPrefix(line, "at ")
		if !ok {
			continue
		}
		// "java.base/jdk.internal..." and "app//com.example..." carry a module or loader prefix.
		paren := strings.Index(frame+"(", "(")
		if i := strings.LastIndex(frame[:paren], "/"); i >= 0 {
			frame = frame[i+1:]
		}
		if first == "" {
			first = frame
		}
		if !slices.ContainsFunc(libraryFrames, func(p string) bool { return strings.HasPrefix(frame, p) }) {
			return frame
		}
	}
	return first
}

func detectExceptions(p *profile.Profile) []ranked {
	type group struct {
		typ, message, frame string
		count, first        int
	}
	var groups []*group
	byType := map[string]*group{}
	for i, e := range p.Exceptions {
		typ := strings.TrimSpace(e.Type)
		if typ == "" {
			typ = "unknown exception"
		}
		g := byType[typ]
		if g == nil {
			g = &group{typ: typ, message: firstLine(e.Message), frame: appFrame(e.StackTrace), first: i}
			byType[typ] = g
			groups = append(groups, g)
		}
		g.count++
		if g.message == "" {
			g.message = firstLine(e.Message)
		}
		if g.frame == "" {
			g.frame = appFrame(e.StackTrace)
		}
	}
	var out []ranked
	for _, g := range groups {
		sev := SeverityWarning
		short := g.typ[strings.LastIndex(g.typ, ".")+1:]
		if p.Transaction.Status >= 500 || strings.HasSuffix(short, "Error") {
			sev = SeverityCritical // the request failed, or a JVM Error (OutOfMemoryError, ...)
		}
		summary := g.typ
		if g.message != "" {
			summary += ": " + g.message
		}
		if g.count > 1 {
			summary += fmt.Sprintf(" (%s times)", num(g.count))
		}
		if g.frame != "" {
			summary += " at " + g.frame
		}
		out = append(out, ranked{Fact{KindException, sev, summary, map[string]any{
			"type":    g.typ,
			"message": g.message,
			"frame":   g.frame,
			"count":   g.count,
			"status":  p.Transaction.Status,
		}}, float64(g.count)*1e6 - float64(g.first)})
	}
	return out
}

// sqlGroup is one distinct statement (by NormalizeSQL) and its executions.
type sqlGroup struct {
	crud, sql  string
	tables     []string
	count      int
	durationMs float64
}

func detectExcessiveSQL(p *profile.Profile, st profile.Stats, th Thresholds) []ranked {
	var stmts []*sqlGroup
	byText := map[string]*sqlGroup{}
	for i := range p.Spans {
		s := &p.Spans[i]
		if s.Kind != profile.KindSQL {
			continue
		}
		key := profile.NormalizeSQL(s.SQL)
		if key == "" {
			key = fmt.Sprintf("#span%d:%s", i, s.Name) // no text: only the span's own count repeats
		}
		g := byText[key]
		if g == nil {
			tables, crud := spanTables(s)
			g = &sqlGroup{crud: crud, tables: tables, sql: truncate(s.SQL, 300)}
			byText[key] = g
			stmts = append(stmts, g)
		}
		g.count += s.Executions()
		g.durationMs += s.DurationMs
	}
	var out []ranked
	for _, g := range stmts {
		sev := th.grade(float64(g.count), float64(th.RepeatedSQLCount))
		if sev == SeverityNone {
			continue
		}
		summary := fmt.Sprintf("the same %s ran %s times (%s in total), an N+1 query pattern; %s SQL executions in the transaction",
			sqlSubject(g.crud, g.tables), num(g.count), ms(g.durationMs), num(st.SQLCount))
		out = append(out, ranked{Fact{KindExcessiveSQL, sev, summary, map[string]any{
			"pattern":    "repeated",
			"crud":       g.crud,
			"tables":     g.tables,
			"repeats":    g.count,
			"durationMs": round1(g.durationMs),
			"sqlCount":   st.SQLCount,
			"sqlTimeMs":  round1(st.SQLTimeMs),
			"sql":        g.sql,
		}}, float64(g.count)})
	}
	if len(out) == 0 {
		if sev := th.grade(float64(st.SQLCount), float64(th.ExcessiveSQLCount)); sev != SeverityNone {
			tables := busiestTables(stmts)
			summary := fmt.Sprintf("%s SQL executions in one transaction (%s of SQL time)", num(st.SQLCount), ms(st.SQLTimeMs))
			if len(tables) > 0 {
				summary += ", mostly on " + strings.Join(tables, ", ")
			}
			out = append(out, ranked{Fact{KindExcessiveSQL, sev, summary, map[string]any{
				"pattern":   "total",
				"tables":    tables,
				"sqlCount":  st.SQLCount,
				"sqlTimeMs": round1(st.SQLTimeMs),
			}}, float64(st.SQLCount)})
		}
	}
	return out
}

// busiestTables returns the tables of the most executed statements (at most three).
func busiestTables(stmts []*sqlGroup) []string {
	type counted struct {
		name  string
		count int
	}
	var tables []counted
	idx := map[string]int{}
	for _, s := range stmts {
		n := s.count
		for _, name := range s.tables {
			if j, ok := idx[name]; ok {
				tables[j].count += n
				continue
			}
			idx[name] = len(tables)
			tables = append(tables, counted{name, n})
		}
	}
	slices.SortStableFunc(tables, func(a, b counted) int { return cmp.Compare(b.count, a.count) })
	var out []string
	for _, t := range tables[:min(3, len(tables))] {
		out = append(out, t.name)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func detectExcessiveFetch(p *profile.Profile, st profile.Stats, th Thresholds) []ranked {
	sev := th.grade(float64(st.FetchCount), float64(th.ExcessiveFetchRows))
	if sev == SeverityNone {
		return nil
	}
	// Where did the rows come from? The span with the most rows, and its statement.
	best := -1
	for i := range p.Spans {
		s := &p.Spans[i]
		if (s.Kind == profile.KindSQL || s.Kind == profile.KindFetch) && s.Rows > 0 && (best < 0 || s.Rows > p.Spans[best].Rows) {
			best = i
		}
	}
	data := map[string]any{"rows": st.FetchCount, "tables": []string{}, "crud": "", "spanRows": 0}
	summary := fmt.Sprintf("%s rows fetched in one transaction", num(st.FetchCount))
	if best >= 0 {
		s := &p.Spans[best]
		tables, crud := spanTables(s)
		data["tables"], data["crud"], data["spanRows"], data["span"] = tables, crud, s.Rows, best
		data["sql"] = truncate(s.SQL, 300)
		if len(tables) > 0 {
			summary += fmt.Sprintf(", %s of them by the %s", num(s.Rows), sqlSubject(crud, tables))
		}
	}
	return []ranked{{Fact{KindExcessiveFetch, sev, summary, data}, float64(st.FetchCount)}}
}
