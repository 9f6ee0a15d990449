package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
)

// ComputeFingerprint returns the alert's identity across deliveries: the first 16 hex digits of
// sha256(rule + "\n" + application + "\n" + instance). It ignores the Fingerprint field.
func (a *Alert) ComputeFingerprint() string {
	sum := sha256.Sum256([]byte(a.Rule + "\n" + a.Application + "\n" + a.Instance))
	return hex.EncodeToString(sum[:])[:16]
}

// Normalize fills the defaults and derived fields of an alert built in code (ParseAlert already
// does this) and validates it, returning *FieldError or FieldErrors.
func (a *Alert) Normalize() error { return a.normalize(nil) }

// Normalize fills the defaults and derived fields of a profile built in code and validates it.
func (p *Profile) Normalize() error {
	var errs FieldErrors
	p.normalize("", nil, &errs)
	return errs.asError()
}

// normalize applies defaults and validates. present, when not nil, is the set of JSON paths that
// were in the document, so that required numbers can be told apart from zeros.
func (a *Alert) normalize(present map[string]bool) error {
	var errs FieldErrors
	a.Rule = strings.TrimSpace(a.Rule)
	a.Application = strings.TrimSpace(a.Application)
	a.Instance = strings.TrimSpace(a.Instance)
	a.Fingerprint = strings.TrimSpace(a.Fingerprint)
	a.TraceID = strings.TrimSpace(a.TraceID)
	if a.Rule == "" {
		errs.add("rule", "required")
	}
	if strings.TrimSpace(a.Message) == "" {
		errs.add("message", "required")
	}
	a.Severity = strings.ToLower(strings.TrimSpace(a.Severity))
	switch a.Severity {
	case "":
		a.Severity = SeverityWarning
	case SeverityCritical, SeverityWarning, SeverityInfo:
	default:
		errs.add("severity", "must be one of critical, warning, info")
	}
	if a.Application == "" {
		errs.add("application", "required")
	}
	if a.Fingerprint == "" {
		a.Fingerprint = a.ComputeFingerprint()
	}
	if a.StartsAt.IsZero() {
		errs.add("startsAt", "required")
	}
	if !a.EndsAt.IsZero() && !a.StartsAt.IsZero() && a.EndsAt.Before(a.StartsAt) {
		errs.add("endsAt", "must not be before startsAt")
	}
	if len(a.Labels) == 0 {
		a.Labels = nil // {} and absent mean the same
	}
	for _, k := range sortedKeys(a.Labels) {
		if strings.TrimSpace(k) == "" {
			errs.add(joinPath("labels", k), "label name must not be empty")
		}
	}
	a.normalizeValuesAndLinks(&errs)
	if p := a.Profile; p != nil {
		p.TraceID = strings.TrimSpace(p.TraceID)
		switch {
		case p.TraceID == "":
			p.TraceID = a.TraceID
		case a.TraceID == "":
			a.TraceID = p.TraceID
		case a.TraceID != p.TraceID:
			errs.add("profile.traceId", fmt.Sprintf("%q does not match traceId %q", p.TraceID, a.TraceID))
		}
		if strings.TrimSpace(p.Transaction.Instance) == "" {
			p.Transaction.Instance = a.Instance
		}
		p.normalize("profile", present, &errs)
	}
	return errs.asError()
}

func (p *Profile) normalize(root string, present map[string]bool, errs *FieldErrors) {
	at := func(rel string) string {
		if root == "" {
			return rel
		}
		return root + "." + rel
	}
	tx := &p.Transaction
	tx.Method = strings.ToUpper(strings.TrimSpace(tx.Method))
	tx.Instance = strings.TrimSpace(tx.Instance)
	switch {
	case present != nil && !present[at("transaction.totalTimeMs")]:
		errs.add(at("transaction.totalTimeMs"), "required")
	case tx.TotalTimeMs < 0 || math.IsNaN(tx.TotalTimeMs) || math.IsInf(tx.TotalTimeMs, 0):
		errs.add(at("transaction.totalTimeMs"), "must be >= 0")
	}
	if tx.Status != 0 && (tx.Status < 100 || tx.Status > 599) {
		errs.add(at("transaction.status"), "must be an HTTP status code (100-599)")
	}

	if len(p.Spans) == 0 {
		p.Spans = nil
	}
	if len(p.Exceptions) == 0 {
		p.Exceptions = nil
	}
	derivedSQL, derivedFetch := 0, 0
	for i := range p.Spans {
		s := &p.Spans[i]
		sp := at(fmt.Sprintf("spans[%d]", i))
		s.Kind = strings.ToLower(strings.TrimSpace(s.Kind))
		switch s.Kind {
		case KindSQL, KindDBConnect, KindHTTPClient, KindInternal, KindFetch:
		case "":
			errs.add(sp+".kind", "required")
		default:
			errs.add(sp+".kind", "must be one of sql, db_connect, http_client, internal, fetch")
		}
		if s.StartOffsetMs < 0 {
			errs.add(sp+".startOffsetMs", "must be >= 0")
		}
		switch {
		case present != nil && !present[sp+".durationMs"]:
			errs.add(sp+".durationMs", "required")
		case s.DurationMs < 0 || math.IsNaN(s.DurationMs) || math.IsInf(s.DurationMs, 0):
			errs.add(sp+".durationMs", "must be >= 0")
		}
		switch {
		case s.Count < 0:
			errs.add(sp+".count", "must be >= 1")
		case s.Count == 0:
			s.Count = 1
		}
		if s.Rows < 0 {
			errs.add(sp+".rows", "must be >= 0")
		}
		if s.StatusCode != 0 && (s.StatusCode < 100 || s.StatusCode > 599) {
			errs.add(sp+".statusCode", "must be an HTTP status code (100-599)")
		}
		s.CRUD = strings.ToUpper(strings.TrimSpace(s.CRUD))
		switch s.CRUD {
		case "", CRUDSelect, CRUDInsert, CRUDUpdate, CRUDDelete, CRUDOther:
		default:
			errs.add(sp+".crud", "must be one of SELECT, INSERT, UPDATE, DELETE, OTHER")
		}
		for j, t := range s.Tables {
			if strings.TrimSpace(t) == "" {
				errs.add(fmt.Sprintf("%s.tables[%d]", sp, j), "must not be empty")
			}
		}
		if len(s.Tables) == 0 {
			s.Tables = nil
		}
		if strings.TrimSpace(s.SQL) != "" && (s.Kind == KindSQL || s.Kind == KindFetch) {
			tables, crud := AnalyzeSQL(s.SQL)
			if len(s.Tables) == 0 {
				s.Tables = tables
			}
			if s.CRUD == "" {
				s.CRUD = crud
			}
		}
		if s.Kind == KindSQL && s.CRUD == "" {
			s.CRUD = CRUDOther
		}
		s.RemoteAddress = strings.TrimSpace(s.RemoteAddress)
		if s.RemoteAddress == "" && s.URL != "" && (s.Kind == KindHTTPClient || s.Kind == KindDBConnect) {
			s.RemoteAddress = RemoteAddress(s.URL)
		}
		switch s.Kind {
		case KindSQL:
			derivedSQL += s.Count
			derivedFetch += s.Rows
		case KindFetch:
			derivedFetch += s.Rows
		}
	}
	for i := range p.Exceptions {
		e := &p.Exceptions[i]
		e.Type = strings.TrimSpace(e.Type)
		if e.Type == "" {
			errs.add(at(fmt.Sprintf("exceptions[%d].type", i)), "required")
		}
	}
	switch {
	case p.SQLCount < 0:
		errs.add(at("sqlCount"), "must be >= 0")
	case p.SQLCount == 0:
		p.SQLCount = derivedSQL
	case p.SQLCount < derivedSQL:
		errs.add(at("sqlCount"), fmt.Sprintf("%d is less than the %d SQL executions listed in spans", p.SQLCount, derivedSQL))
	}
	switch {
	case p.FetchCount < 0:
		errs.add(at("fetchCount"), "must be >= 0")
	case p.FetchCount == 0:
		p.FetchCount = derivedFetch
	case p.FetchCount < derivedFetch:
		errs.add(at("fetchCount"), fmt.Sprintf("%d is less than the %d rows listed in spans", p.FetchCount, derivedFetch))
	}
}

// RemoteAddress derives host:port from a URL: http(s) URLs get their scheme's default port, JDBC
// URLs ("jdbc:postgresql://db:5432/shop", "jdbc:oracle:thin:@db:1521/svc") give their host and
// port. It returns "" when no host can be found.
func RemoteAddress(raw string) string {
	raw = strings.TrimSpace(raw)
	if len(raw) >= 5 && strings.EqualFold(raw[:5], "jdbc:") {
		raw = raw[5:]
		if at := strings.Index(raw, "@"); at >= 0 && !strings.Contains(raw[:at], "//") {
			// Oracle thin: oracle:thin:@host:port/service or @//host:port/service
			hp := strings.TrimPrefix(raw[at+1:], "//")
			if end := strings.IndexAny(hp, "/?;"); end >= 0 {
				hp = hp[:end]
			}
			if parts := strings.Split(hp, ":"); len(parts) >= 2 {
				return net.JoinHostPort(parts[0], parts[1])
			}
			return hp
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		// mysql:// style with several sub-schemes (jdbc:sqlserver://h:1433;db=x) or none at all.
		if i := strings.Index(raw, "//"); i >= 0 {
			hp := raw[i+2:]
			if end := strings.IndexAny(hp, "/?;"); end >= 0 {
				hp = hp[:end]
			}
			if at := strings.LastIndex(hp, "@"); at >= 0 {
				hp = hp[at+1:]
			}
			return hp
		}
		return ""
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		default:
			return host
		}
	}
	return net.JoinHostPort(host, port)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// normalizeValuesAndLinks checks the alert's values and links: bounded in number and size, value
// names and link names not empty, link URLs absolute http or https (a report's links are
// clicked).
func (a *Alert) normalizeValuesAndLinks(errs *FieldErrors) {
	if len(a.Values) == 0 {
		a.Values = nil
	}
	if len(a.Values) > MaxAlertValues {
		errs.add("values", fmt.Sprintf("at most %d values, got %d", MaxAlertValues, len(a.Values)))
	}
	for _, k := range sortedKeys(a.Values) {
		if strings.TrimSpace(k) == "" {
			errs.add(joinPath("values", k), "value name must not be empty")
		}
		if len(k) > 256 {
			errs.add("values", fmt.Sprintf("value names must be at most 256 bytes, got %d", len(k)))
		}
	}
	a.ValueString = strings.TrimSpace(a.ValueString)
	if len(a.ValueString) > MaxValueStringBytes {
		errs.add("valueString", fmt.Sprintf("must be at most %d bytes, got %d", MaxValueStringBytes, len(a.ValueString)))
	}
	if len(a.Links) == 0 {
		a.Links = nil
	}
	if len(a.Links) > MaxAlertLinks {
		errs.add("links", fmt.Sprintf("at most %d links, got %d", MaxAlertLinks, len(a.Links)))
		return
	}
	for i := range a.Links {
		l := &a.Links[i]
		at := fmt.Sprintf("links[%d]", i)
		l.Name, l.URL = strings.TrimSpace(l.Name), strings.TrimSpace(l.URL)
		if l.Name == "" {
			errs.add(at+".name", "required")
		} else if len(l.Name) > 64 {
			errs.add(at+".name", fmt.Sprintf("must be at most 64 bytes, got %d", len(l.Name)))
		}
		if msg := checkLinkURL(l.URL); msg != "" {
			errs.add(at+".url", msg)
		}
	}
}

// ValidLinkURL reports whether raw is usable as an alert link: an absolute http or https URL
// without white space, at most MaxLinkURLBytes long.
func ValidLinkURL(raw string) bool { return checkLinkURL(raw) == "" }

// checkLinkURL says what is wrong with a link's URL, "" when nothing is.
func checkLinkURL(raw string) string {
	switch {
	case raw == "":
		return "required"
	case len(raw) > MaxLinkURLBytes:
		return fmt.Sprintf("must be at most %d bytes, got %d", MaxLinkURLBytes, len(raw))
	case strings.ContainsAny(raw, " \t\r\n"):
		return "must be a URL without white space"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "must be an absolute http or https URL"
	}
	return ""
}
