package analyst

import (
	"cmp"
	"fmt"
	"maps"
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
	// SlowSQLShare: a statement whose executions together take at least this share of the
	// transaction is worth noting (default 0.30), provided one execution takes at least
	// SlowSQLShareMinMs on average (default 200); when they also add up to SlowSQLMs, the
	// statement is slow SQL even though no single execution is.
	SlowSQLShare      float64 `json:"slowSqlShare,omitempty" yaml:"slow_sql_share,omitempty"`
	SlowSQLShareMinMs float64 `json:"slowSqlShareMinMs,omitempty" yaml:"slow_sql_share_min_ms,omitempty"`
	// SlowDBConnectMs: acquiring a DB connection at least this long is slow (default 500).
	SlowDBConnectMs float64 `json:"slowDbConnectMs,omitempty" yaml:"slow_db_connect_ms,omitempty"`
	// NetworkDelayMs: an outgoing HTTP call at least this long is slow (default 1000).
	NetworkDelayMs float64 `json:"networkDelayMs,omitempty" yaml:"network_delay_ms,omitempty"`
	// RepeatedShare and RepeatedMinMs: calls to one endpoint (a retry loop) or connection
	// acquisitions from one database that each stay below their threshold are still slow when
	// together they take at least RepeatedShare of the transaction (default 0.30) and their
	// threshold in total, and each takes at least RepeatedMinMs on average (default 200).
	RepeatedShare float64 `json:"repeatedShare,omitempty" yaml:"repeated_share,omitempty"`
	RepeatedMinMs float64 `json:"repeatedMinMs,omitempty" yaml:"repeated_min_ms,omitempty"`
	// SlowTransactionMs: a transaction at least this long needs an explanation; an exception
	// that the application handled (the request succeeded) is only named as the cause of such a
	// transaction when nothing else explains its time (default 1000).
	SlowTransactionMs float64 `json:"slowTransactionMs,omitempty" yaml:"slow_transaction_ms,omitempty"`
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
		RepeatedShare:      0.30,
		RepeatedMinMs:      200,
		SlowTransactionMs:  1000,
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
		RepeatedShare:      pick(th.RepeatedShare, d.RepeatedShare),
		RepeatedMinMs:      pick(th.RepeatedMinMs, d.RepeatedMinMs),
		SlowTransactionMs:  pick(th.SlowTransactionMs, d.SlowTransactionMs),
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

// Detect runs every detector over the profile and returns the facts ranked by impact: an
// exception that failed the request first, then the problems (SeverityWarning and above) by the
// time they cost the transaction (largest first), then the minor facts the same way. When the
// exception that failed the request is a timeout or unavailability (a pool timeout, a read
// timeout, a deadline exceeded, a 503/504 from a call) of a slow step that took at least half of
// the transaction (see blameSlowStep), that step is what failed the request: it ranks first and
// the exception is its symptom. Severity never depends on a fact's kind, only on its time, share
// and counts. The result depends only on its inputs. A nil profile gives no facts.
func Detect(p *profile.Profile, th Thresholds) []Fact {
	if p == nil {
		return nil
	}
	th = th.withDefaults()
	st := p.Summary()
	var facts []Fact
	facts = append(facts, detectSlowSQL(p, st, th)...)
	facts = append(facts, detectSlowDBConnect(p, st, th)...)
	facts = append(facts, detectNetworkDelay(p, st, th)...)
	facts = append(facts, detectExcessiveSQL(p, st, th)...)
	facts = append(facts, detectExcessiveFetch(p, st, th)...)
	facts = append(facts, detectExceptions(p, st, th, facts)...)
	return rankFacts(blameSlowStep(p, facts))
}

// rankFacts orders facts by impact (see Detect). It reads only the facts' severity and data
// ("failed", "impactMs"), so facts that went through JSON rank the same way; a fact without
// "impactMs" ranks by its "durationMs". A slow step that failed the request ("failed" set by
// blameSlowStep) costs time and its exception none, so the step comes before its symptom.
func rankFacts(facts []Fact) []Fact {
	out := slices.Clone(facts)
	slices.SortStableFunc(out, func(a, b Fact) int {
		da, db := fdata(a.Data), fdata(b.Data)
		return cmp.Or(
			cmp.Compare(b2i(db.bool("failed")), b2i(da.bool("failed"))),
			cmp.Compare(b2i(b.Severity >= SeverityWarning), b2i(a.Severity >= SeverityWarning)),
			cmp.Compare(impactOf(db), impactOf(da)),
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.Summary, b.Summary),
		)
	})
	return out
}

// impactOf is the time in ms a fact costs the transaction.
func impactOf(d fdata) float64 {
	if _, ok := d["impactMs"]; ok {
		return d.f64("impactMs")
	}
	return d.f64("durationMs")
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
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

// spanGroup is the spans of one statement, endpoint or database: what a finding is about.
type spanGroup struct {
	first, slowest int // span indices
	executions     int
	durationMs     float64
	maxPerMs       float64 // the longest single execution (per span: duration / count)
	rows           int
	errors         int // executions whose span carries an error
	firstError     string
	lastStatus     int
}

// groupSpans groups the spans of one kind by key (spans with an empty key stay alone), in
// order of first appearance.
func groupSpans(p *profile.Profile, kind string, keyOf func(int, *profile.Span) string) []*spanGroup {
	var groups []*spanGroup
	byKey := map[string]*spanGroup{}
	for i := range p.Spans {
		s := &p.Spans[i]
		if s.Kind != kind {
			continue
		}
		key := keyOf(i, s)
		if key == "" {
			key = fmt.Sprintf("#span%d", i)
		}
		g := byKey[key]
		if g == nil {
			g = &spanGroup{first: i, slowest: i}
			byKey[key] = g
			groups = append(groups, g)
		}
		n := s.Executions()
		per := s.DurationMs / float64(n)
		if per > g.maxPerMs {
			g.maxPerMs, g.slowest = per, i
		}
		g.executions += n
		g.durationMs += s.DurationMs
		g.rows += s.Rows
		if s.Error != "" {
			g.errors += n
			if g.firstError == "" {
				g.firstError = firstLine(s.Error)
			}
		}
		if s.StatusCode != 0 {
			g.lastStatus = s.StatusCode
		}
	}
	return groups
}

func (g *spanGroup) perMs() float64 { return g.durationMs / float64(max(g.executions, 1)) }

// gradeGroup grades a group of executions against a per-execution threshold: by its longest
// execution, or, when none reaches the threshold, by its total time when the executions
// together take at least share of the transaction and the threshold, each taking at least
// minMs on average (a statement run six times at 900 ms, a retry loop).
func (th Thresholds) gradeGroup(g *spanGroup, threshold, share, minMs float64, st profile.Stats) int {
	if sev := th.grade(g.maxPerMs, threshold); sev != SeverityNone {
		return sev
	}
	if g.executions > 1 && st.TotalTimeMs > 0 && g.durationMs/st.TotalTimeMs >= share && g.perMs() >= minMs {
		return th.grade(g.durationMs, threshold)
	}
	return SeverityNone
}

// sqlKey groups the executions of one statement: its normalized text.
func sqlKey(_ int, s *profile.Span) string { return profile.NormalizeSQL(s.SQL) }

func detectSlowSQL(p *profile.Profile, st profile.Stats, th Thresholds) []Fact {
	var out []Fact
	for _, g := range groupSpans(p, profile.KindSQL, sqlKey) {
		s := &p.Spans[g.slowest]
		n, per := g.executions, g.perMs()
		sh := share(g.durationMs, st.TotalTimeMs)
		sev := th.gradeGroup(g, th.SlowSQLMs, th.SlowSQLShare, th.SlowSQLShareMinMs, st)
		if sev == SeverityNone && per >= th.SlowSQLShareMinMs && st.TotalTimeMs > 0 && g.durationMs/st.TotalTimeMs >= th.SlowSQLShare {
			sev = SeverityInfo
		}
		if sev == SeverityNone {
			continue
		}
		tables, crud := spanTables(s)
		data := map[string]any{
			"span":           g.slowest,
			"name":           s.Name,
			"crud":           crud,
			"tables":         tables,
			"durationMs":     round1(g.durationMs),
			"impactMs":       round1(g.durationMs),
			"perExecutionMs": round1(per),
			"executions":     n,
			"share":          sh,
			"totalTimeMs":    round1(st.TotalTimeMs),
			"rows":           g.rows,
			"sql":            truncate(s.SQL, 300),
		}
		summary := fmt.Sprintf("%s took %s", sqlSubject(crud, tables), ms(g.durationMs))
		if n > 1 {
			summary = fmt.Sprintf("%s ran %s times for %s (%s each)", sqlSubject(crud, tables), num(n), ms(g.durationMs), ms(per))
		}
		if st.TotalTimeMs > 0 {
			summary += fmt.Sprintf(", %s of the %s transaction", pct(sh), ms(st.TotalTimeMs))
		}
		out = append(out, Fact{KindSlowSQL, sev, summary, data})
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

func detectSlowDBConnect(p *profile.Profile, st profile.Stats, th Thresholds) []Fact {
	var out []Fact
	byDatabase := func(_ int, s *profile.Span) string { return cmp.Or(remoteOf(s), s.Name) }
	for _, g := range groupSpans(p, profile.KindDBConnect, byDatabase) {
		sev := th.gradeGroup(g, th.SlowDBConnectMs, th.RepeatedShare, th.RepeatedMinMs, st)
		if sev == SeverityNone {
			continue
		}
		s := &p.Spans[g.slowest]
		addr := remoteOf(s)
		summary := "acquiring a database connection took " + ms(g.durationMs)
		if addr != "" {
			summary = fmt.Sprintf("acquiring a database connection to %s took %s", addr, ms(g.durationMs))
		}
		if g.executions > 1 {
			summary += fmt.Sprintf(" over %s acquisitions (%s each)", num(g.executions), ms(g.perMs()))
		}
		if st.TotalTimeMs > 0 {
			summary += fmt.Sprintf(", %s of the %s transaction", pct(share(g.durationMs, st.TotalTimeMs)), ms(st.TotalTimeMs))
		}
		if g.firstError != "" {
			summary += " and failed: " + g.firstError
		}
		out = append(out, Fact{KindSlowDBConnect, sev, summary, map[string]any{
			"span":           g.slowest,
			"name":           s.Name,
			"remoteAddress":  addr,
			"durationMs":     round1(g.durationMs),
			"impactMs":       round1(g.durationMs),
			"perExecutionMs": round1(g.perMs()),
			"executions":     g.executions,
			"share":          share(g.durationMs, st.TotalTimeMs),
			"totalTimeMs":    round1(st.TotalTimeMs),
			"error":          g.firstError,
		}})
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

// endpointKey groups the calls to one endpoint (a retry loop calls the same one again): the
// method name, remote address and URL without its query.
func endpointKey(_ int, s *profile.Span) string {
	u := cleanURL(s.URL)
	if i := strings.IndexAny(s.URL, "?#"); u == "" && i >= 0 {
		u = s.URL[:i]
	} else if u == "" {
		u = s.URL
	}
	if u == "" && remoteOf(s) == "" {
		return ""
	}
	return s.Name + " " + remoteOf(s) + " " + u
}

func detectNetworkDelay(p *profile.Profile, st profile.Stats, th Thresholds) []Fact {
	var out []Fact
	for _, g := range groupSpans(p, profile.KindHTTPClient, endpointKey) {
		sev := th.gradeGroup(g, th.NetworkDelayMs, th.RepeatedShare, th.RepeatedMinMs, st)
		if sev == SeverityNone {
			continue
		}
		s := &p.Spans[g.slowest]
		addr := remoteOf(s)
		target := cmp.Or(addr, cleanURL(s.URL), s.Name, "an external service")
		if u := cleanURL(s.URL); u != "" && addr != "" {
			target = fmt.Sprintf("%s (%s)", addr, u)
		}
		summary := fmt.Sprintf("external call to %s took %s", target, ms(g.durationMs))
		if g.executions > 1 {
			summary = fmt.Sprintf("external call to %s ran %s times for %s (%s each)", target, num(g.executions), ms(g.durationMs), ms(g.perMs()))
		}
		if st.TotalTimeMs > 0 {
			summary += fmt.Sprintf(", %s of the %s transaction", pct(share(g.durationMs, st.TotalTimeMs)), ms(st.TotalTimeMs))
		}
		switch {
		case g.errors > 0 && g.executions > 1:
			summary += fmt.Sprintf("; %s of them failed: %s", num(g.errors), g.firstError)
		case g.errors > 0:
			summary += "; it failed: " + g.firstError
		case g.lastStatus >= 400:
			summary += fmt.Sprintf("; it answered HTTP %d", g.lastStatus)
		}
		out = append(out, Fact{KindNetworkDelay, sev, summary, map[string]any{
			"span":           g.slowest,
			"name":           s.Name,
			"remoteAddress":  addr,
			"url":            cleanURL(s.URL),
			"durationMs":     round1(g.durationMs),
			"impactMs":       round1(g.durationMs),
			"perExecutionMs": round1(g.perMs()),
			"executions":     g.executions,
			"failures":       g.errors,
			"share":          share(g.durationMs, st.TotalTimeMs),
			"totalTimeMs":    round1(st.TotalTimeMs),
			"statusCode":     g.lastStatus,
			"error":          g.firstError,
		}})
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

// routineExceptions are exceptions that applications throw and handle as a matter of course
// (an empty query result, a cache miss); they rarely end a request themselves.
var routineExceptions = []string{
	"EmptyResultDataAccessException", "IncorrectResultSizeDataAccessException", "NoResultException",
	"EntityNotFoundException", "NoSuchElementException", "ObjectRetrievalFailureException",
	"no rows in result set", "ErrNoRows", "redis: nil", "ErrNotFound", "not found",
}

func isRoutine(typ, message string) bool {
	return slices.ContainsFunc(routineExceptions, func(r string) bool {
		return strings.Contains(typ, r) || strings.Contains(message, r)
	})
}

// isJVMError reports whether an exception type is a java.lang.Error (OutOfMemoryError,
// StackOverflowError, ...), which fails whatever it happens in. Go error types named
// "...Error" (*pgconn.PgError) are ordinary errors.
func isJVMError(typ string) bool {
	short := typ[strings.LastIndex(typ, ".")+1:]
	if strings.HasPrefix(typ, "*") || !strings.HasSuffix(short, "Error") {
		return false
	}
	for _, pkg := range []string{"java.", "javax.", "jdk.", "kotlin.", "scala."} {
		if strings.HasPrefix(typ, pkg) {
			return true
		}
	}
	return !strings.Contains(typ, ".") && short != "Error"
}

// detectExceptions groups the exceptions by type. In a failed request (HTTP 5xx) the exception
// that ended it (the last one that is not routine, or the last one) is critical and marked
// "failed"; so is a JVM Error anywhere. In a request that succeeded (2xx/3xx) the application
// handled its exceptions: they are context (SeverityInfo), unless the transaction is slow and
// no other finding explains its time. Other exceptions (a 4xx request, an unknown status) are
// warnings.
func detectExceptions(p *profile.Profile, st profile.Stats, th Thresholds, others []Fact) []Fact {
	type group struct {
		typ, message, frame string
		count, first, last  int
		routine             bool
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
			g = &group{typ: typ, message: firstLine(e.Message), frame: appFrame(e.StackTrace), first: i, routine: true}
			byType[typ] = g
			groups = append(groups, g)
		}
		g.count++
		g.last = i
		g.routine = g.routine && isRoutine(typ, e.Message)
		if g.message == "" {
			g.message = firstLine(e.Message)
		}
		if g.frame == "" {
			g.frame = appFrame(e.StackTrace)
		}
	}
	status := p.Transaction.Status
	// The exception that failed the request.
	var failing *group
	if status >= 500 {
		for _, g := range groups {
			if !g.routine && (failing == nil || g.last > failing.last) {
				failing = g
			}
		}
		for _, g := range groups {
			if failing == nil || failing.routine && g.last > failing.last {
				failing = g
			}
		}
	}
	succeeded := status >= 200 && status < 400
	explained := slices.ContainsFunc(others, func(f Fact) bool { return f.Severity >= SeverityWarning })
	var out []Fact
	for _, g := range groups {
		sev, failed, handled := SeverityWarning, false, false
		switch {
		case g == failing || isJVMError(g.typ):
			sev, failed = SeverityCritical, true
		case status >= 500:
			sev = SeverityInfo // thrown on the way, not what failed the request
			if !g.routine {
				sev = SeverityWarning
			}
		case succeeded:
			handled = true
			sev = SeverityInfo
			if !explained && st.TotalTimeMs >= th.SlowTransactionMs {
				sev = SeverityWarning
			}
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
		if handled {
			summary += fmt.Sprintf(", handled: the request succeeded (HTTP %d)", status)
		}
		out = append(out, Fact{KindException, sev, summary, map[string]any{
			"type":     g.typ,
			"message":  g.message,
			"frame":    g.frame,
			"count":    g.count,
			"status":   status,
			"failed":   failed,
			"handled":  handled,
			"impactMs": 0.0,
		}})
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

func detectExcessiveSQL(p *profile.Profile, st profile.Stats, th Thresholds) []Fact {
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
	var out []Fact
	for _, g := range stmts {
		sev := th.grade(float64(g.count), float64(th.RepeatedSQLCount))
		if sev == SeverityNone {
			continue
		}
		summary := fmt.Sprintf("the same %s ran %s times (%s in total), an N+1 query pattern; %s SQL executions in the transaction",
			sqlSubject(g.crud, g.tables), num(g.count), ms(g.durationMs), num(st.SQLCount))
		out = append(out, Fact{KindExcessiveSQL, sev, summary, map[string]any{
			"pattern":     "repeated",
			"crud":        g.crud,
			"tables":      g.tables,
			"repeats":     g.count,
			"durationMs":  round1(g.durationMs),
			"impactMs":    round1(g.durationMs),
			"share":       share(g.durationMs, st.TotalTimeMs),
			"totalTimeMs": round1(st.TotalTimeMs),
			"sqlCount":    st.SQLCount,
			"sqlTimeMs":   round1(st.SQLTimeMs),
			"sql":         g.sql,
		}})
	}
	if len(out) == 0 {
		if sev := th.grade(float64(st.SQLCount), float64(th.ExcessiveSQLCount)); sev != SeverityNone {
			tables := busiestTables(stmts)
			summary := fmt.Sprintf("%s SQL executions in one transaction (%s of SQL time)", num(st.SQLCount), ms(st.SQLTimeMs))
			if len(tables) > 0 {
				summary += ", mostly on " + strings.Join(tables, ", ")
			}
			out = append(out, Fact{KindExcessiveSQL, sev, summary, map[string]any{
				"pattern":     "total",
				"tables":      tables,
				"sqlCount":    st.SQLCount,
				"sqlTimeMs":   round1(st.SQLTimeMs),
				"impactMs":    round1(st.SQLTimeMs),
				"share":       share(st.SQLTimeMs, st.TotalTimeMs),
				"totalTimeMs": round1(st.TotalTimeMs),
			}})
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

func detectExcessiveFetch(p *profile.Profile, st profile.Stats, th Thresholds) []Fact {
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
	// The time the rows cost: the fetch spans and the statements that returned a tenth of them
	// or more.
	impact := 0.0
	for i := range p.Spans {
		s := &p.Spans[i]
		if s.Kind == profile.KindFetch || s.Kind == profile.KindSQL && s.Rows > 0 && s.Rows*10 >= st.FetchCount {
			impact += s.DurationMs
		}
	}
	data := map[string]any{"rows": st.FetchCount, "tables": []string{}, "crud": "", "spanRows": 0,
		"impactMs": round1(impact), "share": share(impact, st.TotalTimeMs), "totalTimeMs": round1(st.TotalTimeMs)}
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
	return []Fact{{KindExcessiveFetch, sev, summary, data}}
}

// failedStepShare is the share of the transaction that a slow step must take for a timeout of
// that step to count as the cause of the failed request rather than as one detail among others.
const failedStepShare = 0.5

// timeoutSymptoms are the words of a timeout or of an unavailable resource in the exception
// texts of Java (SocketTimeoutException, "Read timed out", Hikari's "Connection is not available,
// request timed out", PoolExhaustedException, QueryTimeoutException, "Lock wait timeout
// exceeded", HttpServerErrorException$ServiceUnavailable/$GatewayTimeout), Go ("context deadline
// exceeded", "i/o timeout", "Client.Timeout exceeded", gRPC DeadlineExceeded/Unavailable), Python
// (ReadTimeout, ConnectTimeout, TimeoutError, "QueuePool limit ... connection timed out") and
// Node ("ETIMEDOUT", "ESOCKETTIMEDOUT", "Timeout acquiring a connection"). They are matched on
// lower-case text with "_" read as a space.
var timeoutSymptoms = []string{
	"timeout", "timed out", "timedout", "deadline exceeded", "deadlineexceeded",
	"not available", "unavailable", "pool exhausted", "poolexhausted", "pool is exhausted",
	"pool empty", "pool is full",
}

// isTimeoutSymptom reports whether an exception says that something ran out of time or was not
// available: its type, its message and the first line of each of its causes ("Caused by: ...")
// name a timeout, an unavailable resource or an HTTP 503/504. Stack frames are not read (a frame
// such as HikariPool.createTimeoutException says nothing the message does not).
func isTimeoutSymptom(typ, message, stack string) bool {
	text := typ + "\n" + message
	for line := range strings.Lines(stack) {
		if c, ok := strings.CutPrefix(strings.TrimSpace(line), "Caused by:"); ok {
			text += "\n" + c
		}
	}
	low := strings.ReplaceAll(strings.ToLower(text), "_", " ")
	if slices.ContainsFunc(timeoutSymptoms, func(w string) bool { return strings.Contains(low, w) }) {
		return true
	}
	return containsWord(low, "503") || containsWord(low, "504")
}

// isWordByte: letters, digits, '_' and '-' continue a name ("HikariPool-10", "orders-db").
func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c >= 0x80
}

// containsWord reports whether hay contains needle (case-insensitive) as a whole name: not
// preceded or followed by a letter, digit, '_' or '-'.
func containsWord(hay, needle string) bool {
	hay, needle = strings.ToLower(hay), strings.ToLower(strings.TrimSpace(needle))
	if needle == "" {
		return false
	}
	for from := 0; from < len(hay); {
		i := strings.Index(hay[from:], needle)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(needle)
		if (i == 0 || !isWordByte(hay[i-1]) || !isWordByte(needle[0])) &&
			(end == len(hay) || !isWordByte(hay[end]) || !isWordByte(needle[len(needle)-1])) {
			return true
		}
		from = i + 1
	}
	return false
}

// hostOf is the host of a "host:port" address.
func hostOf(addr string) string {
	if h, _, ok := strings.Cut(addr, ":"); ok && !strings.Contains(addr, "]") && strings.Count(addr, ":") == 1 {
		return h
	}
	return addr
}

// databaseOf is the database name in a JDBC or postgres URL ("jdbc:mysql://h:3306/shop?x" gives
// "shop"), or "".
func databaseOf(raw string) string {
	u, err := url.Parse(strings.TrimPrefix(raw, "jdbc:"))
	if err != nil || u.Host == "" || u.Scheme == "http" || u.Scheme == "https" {
		return ""
	}
	db, _, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	return db
}

// stepNames are the names by which an exception can name the step of a finding: its host, its
// database, its tables, its pool or client (the span name before its method: "HikariPool-1"),
// each at least four characters long.
func stepNames(p *profile.Profile, f Fact) []string {
	d := fdata(f.Data)
	names := []string{hostOf(d.str("remoteAddress"))}
	if u, err := url.Parse(d.str("url")); err == nil {
		names = append(names, u.Hostname())
	}
	names = append(names, d.strs("tables")...)
	if i := d.int("span"); f.Data["span"] != nil && i >= 0 && i < len(p.Spans) {
		s := &p.Spans[i]
		names = append(names, hostOf(remoteOf(s)), databaseOf(s.URL))
		if j := strings.LastIndex(s.Name, "."); j > 0 {
			names = append(names, s.Name[:j])
		}
	}
	return slices.DeleteFunc(slices.Compact(names), func(n string) bool { return len(n) < 4 })
}

// sameStep reports whether the exception (its messages and stack traces as text, and the first
// line of its message) plausibly comes from the finding's step: the exception's message names the
// step's host, database, table or pool; or the step's span is on the exception's stack (its
// "Class.method" as a Java frame "Class.method(" or a Node frame "at Class.method ("); or the
// span's own error and the exception's message are the same text, one containing the other.
func sameStep(p *profile.Profile, f Fact, messages, stacks string) bool {
	for _, n := range stepNames(p, f) {
		if containsWord(messages, n) {
			return true
		}
	}
	d := fdata(f.Data)
	i := d.int("span")
	if f.Data["span"] == nil || i < 0 || i >= len(p.Spans) {
		return false
	}
	s := &p.Spans[i]
	if len(s.Name) >= 4 && strings.Contains(s.Name, ".") && (strings.Contains(stacks, s.Name+"(") || strings.Contains(stacks, "at "+s.Name+" (")) {
		return true
	}
	spanErr := strings.ToLower(firstLine(cmp.Or(s.Error, d.str("error"))))
	msgs := strings.ToLower(messages)
	if len(spanErr) >= 8 && strings.Contains(strings.Join(strings.Fields(msgs), " "), spanErr) {
		return true
	}
	for line := range strings.Lines(msgs) {
		if line = strings.Join(strings.Fields(line), " "); len(line) >= 8 && strings.Contains(spanErr, line) {
			return true
		}
	}
	return false
}

// blameSlowStep applies the rule that a timeout is how a slow step failed the request, not its
// cause. When the exception that failed the request (HTTP 5xx; not a JVM Error such as
// java.lang.OutOfMemoryError, though a Node or Python TimeoutError counts) is a timeout or
// unavailability symptom (isTimeoutSymptom) and a slow DB connection, external call or SQL
// finding (SeverityWarning or above) took at least failedStepShare of the transaction and is
// plausibly the same step (sameStep), that finding is marked "failed" with the exception
// ("failedWith", "failedMessage", "status"), so that it ranks first, and the exception is marked
// as its symptom ("symptomOf": the finding's kind). Of several such findings the one that cost
// the most time is taken. An exception that failed the request for another reason (a
// NullPointerException, a constraint violation, an OutOfMemoryError, a refused connection) stays
// first. Facts are changed in copies; the input is not modified.
func blameSlowStep(p *profile.Profile, facts []Fact) []Fact {
	exc := slices.IndexFunc(facts, func(f Fact) bool {
		d := fdata(f.Data)
		typ := d.str("type")
		return f.Kind == KindException && d.bool("failed") && d.int("status") >= 500 && !(isJVMError(typ) && strings.Contains(typ, "."))
	})
	if exc < 0 {
		return facts
	}
	ed := fdata(facts[exc].Data)
	typ := ed.str("type")
	symptom, messages, stacks := exceptionTexts(p, typ)
	if !symptom {
		return facts
	}
	step := -1
	for i, f := range facts {
		d := fdata(f.Data)
		switch f.Kind {
		case KindSlowDBConnect, KindNetworkDelay, KindSlowSQL:
		default:
			continue
		}
		total := d.f64("totalTimeMs")
		if f.Severity < SeverityWarning || total <= 0 || impactOf(d)/total < failedStepShare {
			continue
		}
		if !sameStep(p, f, messages, stacks) {
			continue
		}
		if step < 0 || impactOf(d) > impactOf(fdata(facts[step].Data)) {
			step = i
		}
	}
	if step < 0 {
		return facts
	}
	out := slices.Clone(facts)
	cause := out[step]
	cause.Data = maps.Clone(cause.Data)
	cause.Data["failed"] = true
	cause.Data["failedWith"] = typ
	cause.Data["failedMessage"] = ed.str("message")
	cause.Data["status"] = ed.int("status")
	cause.Summary = strings.TrimSuffix(cause.Summary, ".") +
		fmt.Sprintf("; the request failed (HTTP %d) with %s because of it", ed.int("status"), typ)
	out[step] = cause
	// The failing exception, and the timeouts of the same step thrown on the way (the attempts of
	// a retry loop), are its symptoms.
	for i, f := range out {
		if typ := fdata(f.Data).str("type"); f.Kind != KindException || f.Severity < SeverityWarning || isJVMError(typ) && strings.Contains(typ, ".") {
			continue
		}
		if i != exc {
			if ok, msgs, sts := exceptionTexts(p, fdata(f.Data).str("type")); !ok || !sameStep(p, cause, msgs, sts) {
				continue
			}
		}
		f.Data = maps.Clone(f.Data)
		f.Data["symptomOf"] = cause.Kind
		how := "; it was thrown by the %s above"
		if i == exc {
			how = "; it is how the %s above failed the request"
		}
		f.Summary = strings.TrimSuffix(f.Summary, ".") + fmt.Sprintf(how, strings.ReplaceAll(cause.Kind, "_", " "))
		out[i] = f
	}
	return out
}

// exceptionTexts returns whether the exceptions of a type are timeout or unavailability
// symptoms (isTimeoutSymptom, any of them), and their messages and stack traces, one per line.
func exceptionTexts(p *profile.Profile, typ string) (symptom bool, messages, stacks string) {
	var m, st strings.Builder
	for _, e := range p.Exceptions {
		if cmp.Or(strings.TrimSpace(e.Type), "unknown exception") != typ {
			continue
		}
		m.WriteString(e.Message + "\n")
		st.WriteString(e.StackTrace + "\n")
		symptom = symptom || isTimeoutSymptom(typ, e.Message, e.StackTrace)
	}
	return symptom, m.String(), st.String()
}
