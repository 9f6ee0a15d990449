package promsource

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// windowPlaceholder is replaced in an EnrichQuery's template by the window's length.
const windowPlaceholder = "{{window}}"

const (
	// DefaultEnrichLimit is the number of rows a Table keeps when EnrichQuery.Limit is 0.
	DefaultEnrichLimit = 5
	// MaxEnrichLimit is the largest EnrichQuery.Limit Validate accepts.
	MaxEnrichLimit = 100
	// minWindow is the shortest {{window}}: a range shorter than a few scrape intervals makes
	// rate and increase return nothing.
	minWindow = time.Minute
)

// EnrichQuery is one enrichment template: a PromQL instant query evaluated at the end of the
// window; each result series is a row keyed by its labels.
//
// The template's placeholders are {{app}} (the application's name, escaped for a double-quoted
// PromQL string literal, as in Query), {{offset}} ("", " offset 1d" or " offset 1w") and
// {{window}} (the window's length in whole seconds, e.g. "3600s", at least "60s" and four scrape
// intervals).
type EnrichQuery struct {
	Name   string // e.g. "top_failing_endpoints"
	Kind   string // TRANSACTION | ALERT | ISSUE: run when the verdict names this kind for the app
	Title  string // human title, e.g. "Top failing endpoints"; empty: Name
	PromQL string // placeholders {{app}}, {{offset}}, {{window}}
	Limit  int    // rows kept, highest current value first; 0 → 5
}

// Validate checks an enrichment query before anything is sent: a name of letters, digits, '_',
// '-' and '.', a known Kind, a Limit between 0 and MaxEnrichLimit, and a non-empty template with
// the {{app}} and {{offset}} placeholders and no other placeholder than {{window}}.
func (q EnrichQuery) Validate() error {
	switch {
	case q.Name == "":
		return errors.New("promsource: enrichment query with an empty name")
	case strings.IndexFunc(q.Name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) >= 0:
		return fmt.Errorf("promsource: enrichment query name %q: only letters, digits, '_', '-' and '.' allowed", q.Name)
	case !validKind(q.Kind):
		return fmt.Errorf("promsource: enrichment query %q: kind %q is not one of %s", q.Name, q.Kind, strings.Join(kinds, ", "))
	case q.Limit < 0 || q.Limit > MaxEnrichLimit:
		return fmt.Errorf("promsource: enrichment query %q: limit %d is not between 0 and %d", q.Name, q.Limit, MaxEnrichLimit)
	}
	return checkTemplate("enrichment query", q.Name, q.PromQL, appPlaceholder, offsetPlaceholder, windowPlaceholder)
}

// DefaultEnrichQueries follow the same OpenTelemetry conventions as DefaultQueries (metric
// http.server.request.duration → http_server_request_duration_seconds_{count,bucket}, attributes
// http.route, http.request.method, http.response.status_code → labels of the same names with '_',
// service.name → service_name):
//
//	top_failing_endpoints (TRANSACTION): 5xx responses in the window by http_route and
//	  http_request_method
//	slowest_endpoints (TRANSACTION): p95 request duration in the window by http_route, from the
//	  duration histogram
//	new_error_groups (ISSUE): ERROR/FATAL log records in the window by exception_type and
//	  severity, from log_records_total as for DefaultQueries' error_logs (a row is New when the
//	  group logged nothing a day and a week earlier)
//	alerts_in_window (ALERT): alerts labelled application="<app>" that fired at some point of the
//	  window, by alertname and severity (value 1)
//
// Each keeps DefaultEnrichLimit rows. Adjust the templates when a deployment uses other names.
func DefaultEnrichQueries() []EnrichQuery {
	return []EnrichQuery{
		{Name: "top_failing_endpoints", Kind: "TRANSACTION", Title: "Top failing endpoints",
			PromQL: `sum by (http_route, http_request_method) (increase(http_server_request_duration_seconds_count{service_name="{{app}}",http_response_status_code=~"5.."}[{{window}}]{{offset}}))`},
		{Name: "slowest_endpoints", Kind: "TRANSACTION", Title: "Slowest endpoints (p95 seconds)",
			PromQL: `histogram_quantile(0.95, sum by (le, http_route) (rate(http_server_request_duration_seconds_bucket{service_name="{{app}}"}[{{window}}]{{offset}})))`},
		{Name: "new_error_groups", Kind: "ISSUE", Title: "Error log groups",
			PromQL: `sum by (exception_type, severity) (increase(log_records_total{service_name="{{app}}",severity=~"ERROR|FATAL"}[{{window}}]{{offset}}))`},
		{Name: "alerts_in_window", Kind: "ALERT", Title: "Alerts fired in the window",
			PromQL: `max by (alertname, severity) (max_over_time(ALERTS{alertstate="firing",application="{{app}}"}[{{window}}]{{offset}}))`},
	}
}

// Table is an enrichment query's result: the rows of the current window, highest first, each
// with its value in the same window a day and a week earlier.
type Table struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	Title string `json:"title"`
	Query string `json:"query"` // the rendered current-window PromQL
	Rows  []Row  `json:"rows"`
}

// Row is one series of a Table. Every value is finite.
type Row struct {
	Labels  map[string]string `json:"labels"`
	Current float64           `json:"current"`
	Day     *float64          `json:"day,omitempty"`  // nil: the series did not exist a day earlier
	Week    *float64          `json:"week,omitempty"` // nil: the series did not exist a week earlier
	New     bool              `json:"new,omitempty"`  // absent or zero in both baselines
}

// windowRange is the {{window}} of [from, to): its length rounded up to a whole second, at
// least a minute and at least shortest (four scrape intervals).
func windowRange(from, to time.Time, shortest time.Duration) (string, error) {
	d := to.Sub(from)
	if d <= 0 {
		return "", fmt.Errorf("promsource: empty window [%s, %s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	d = max(d, minWindow, shortest)
	secs := (d + time.Second - 1) / time.Second
	return strconv.FormatInt(int64(secs), 10) + "s", nil
}

// renderEnrich fills an enrichment template.
func renderEnrich(tmpl, app, offset, window string) string {
	return strings.NewReplacer(appPlaceholder, escapeString(app), offsetPlaceholder, offset, windowPlaceholder, window).Replace(tmpl)
}

// Table runs q for app at instant to, three times (no offset, offset 1d, offset 1w), with
// {{window}} the length of [from, to). It keeps the current rows with a finite non-zero value
// (series with identical labels once __name__ is dropped are summed), highest first (ties in
// the order of the label sets' string form), at most q.Limit of them, and gives each the value of
// the series with the same labels in each baseline; a NaN or infinite baseline counts as absent.
func (c *Client) Table(ctx context.Context, q EnrichQuery, app string, from, to time.Time) (Table, error) {
	if app == "" {
		return Table{}, errors.New("promsource: empty application name")
	}
	if err := q.Validate(); err != nil {
		return Table{}, err
	}
	scrape, _ := c.ScrapeInterval(ctx)
	window, err := windowRange(from, to, 4*scrape)
	if err != nil {
		return Table{}, err
	}
	var results [3]map[string]row
	var queries [3]string
	for i, b := range baselines {
		queries[i] = renderEnrich(q.PromQL, app, b.offset, window)
	}
	err = fanOut(ctx, len(baselines), func(ctx context.Context, i int) error {
		series, err := c.Query(ctx, queries[i], to)
		if err != nil {
			return fmt.Errorf("promsource: enrichment query %q (%s window): %w", q.Name, baselines[i].name, err)
		}
		results[i] = collapse(series)
		return nil
	})
	if err != nil {
		return Table{}, err
	}

	cur := make([]row, 0, len(results[0]))
	for _, r := range results[0] {
		if r.value != 0 {
			cur = append(cur, r)
		}
	}
	slices.SortFunc(cur, func(a, b row) int {
		if c := cmp.Compare(b.value, a.value); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	limit := q.Limit
	if limit == 0 {
		limit = DefaultEnrichLimit
	}
	cur = cur[:min(len(cur), limit)]

	t := Table{Name: q.Name, Kind: q.Kind, Title: cmp.Or(q.Title, q.Name), Query: queries[0], Rows: make([]Row, len(cur))}
	for i, r := range cur {
		out := Row{Labels: r.labels, Current: r.value}
		if d, ok := results[1][r.key]; ok {
			out.Day = &d.value
		}
		if w, ok := results[2][r.key]; ok {
			out.Week = &w.value
		}
		out.New = (out.Day == nil || *out.Day == 0) && (out.Week == nil || *out.Week == 0)
		t.Rows[i] = out
	}
	return t, nil
}

// row is a finite result series and its label set's string form.
type row struct {
	key    string
	labels map[string]string
	value  float64
}

// collapse indexes finite series by label set, summing series with identical labels.
func collapse(series []Series) map[string]row {
	out := make(map[string]row, len(series))
	for _, s := range series {
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			continue
		}
		labels := s.Labels
		if labels == nil {
			labels = map[string]string{}
		}
		k := labelString(labels)
		r, ok := out[k]
		if !ok {
			r = row{key: k, labels: labels}
		}
		r.value += s.Value
		out[k] = r
	}
	for k, r := range out {
		if math.IsInf(r.value, 0) { // finite values can sum to ±Inf
			delete(out, k)
		}
	}
	return out
}

// labelString is a label set's string form, {a="x", b="y"} with the names sorted.
func labelString(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(labels[k]))
	}
	b.WriteByte('}')
	return b.String()
}

// fanOut runs f(ctx, 0) … f(ctx, n-1), at most parallel at once; the first failure cancels the
// others and is returned (rather than the cancellations it caused).
func fanOut(ctx context.Context, n int, f func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, n)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			if err := f(ctx, i); err != nil {
				errs[i] = err
				cancel() // no point running the rest
			}
		})
	}
	wg.Wait()
	return firstError(errs)
}
