package mcpserver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/store"
)

// scanLimit is how many of the newest incidents the aggregate tools read.
const scanLimit = 500

// New returns an MCP server whose tools read the incidents in st.
func New(st store.Store, version string) *mcp.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "vigil", Title: "Vigil", Version: version}, &mcp.ServerOptions{
		Instructions: "Vigil's knowledge of production incidents: list them, read one's report and facts, " +
			"and the slow SQL, errors with stack traces and slow transactions behind them. The values are " +
			"what Vigil stored, not masked (credentials excepted, which read [redacted]): serve this only to " +
			"clients allowed to see production data.",
	})
	t := &tools{st: st}
	mcp.AddTool(s, &mcp.Tool{Name: "list_incidents", Description: "The newest incidents (alert, application, severity, status), optionally of one application or status."}, t.listIncidents)
	mcp.AddTool(s, &mcp.Tool{Name: "get_incident", Description: "One incident: its report, the transaction behind it and the facts the analyst found."}, t.getIncident)
	mcp.AddTool(s, &mcp.Tool{Name: "slow_sql", Description: "Slow SQL statements across recent incidents, slowest first: statement, tables, CRUD type, time, executions, incidents."}, t.slowSQL)
	mcp.AddTool(s, &mcp.Tool{Name: "errors", Description: "Errors across recent incidents, most frequent first: exception type, message, a stack trace, failing calls with their codes."}, t.errors)
	mcp.AddTool(s, &mcp.Tool{Name: "slow_transactions", Description: "The slowest transactions across recent incidents with their slowest spans (a call-stack-like breakdown)."}, t.slowTransactions)
	return s
}

type tools struct{ st store.Store }

// Filter narrows the tools' scan.
type Filter struct {
	Application string `json:"application,omitempty" jsonschema:"only incidents of this application"`
	Limit       int    `json:"limit,omitempty" jsonschema:"at most this many results (default 20, at most 200)"`
}

func (f Filter) limit() (int, error) {
	switch {
	case f.Limit < 0 || f.Limit > 200:
		return 0, fmt.Errorf("limit must be between 1 and 200, got %d", f.Limit)
	case f.Limit == 0:
		return 20, nil
	}
	return f.Limit, nil
}

// IncidentSummary is one incident in a list.
type IncidentSummary struct {
	WorkflowID  string    `json:"workflowId"`
	Rule        string    `json:"rule"`
	Application string    `json:"application"`
	Severity    string    `json:"severity"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"createdAt"`
}

// ListInput selects incidents.
type ListInput struct {
	Filter
	Status string `json:"status,omitempty" jsonschema:"running, completed, failed or resolved"`
}

// ListOutput is list_incidents' answer.
type ListOutput struct {
	Incidents []IncidentSummary `json:"incidents"`
}

func summary(in store.Incident) IncidentSummary {
	return IncidentSummary{WorkflowID: in.WorkflowID, Rule: in.AlertName, Application: in.Application,
		Severity: in.Severity, Status: in.Status, CreatedAt: in.CreatedAt}
}

func (t *tools) listIncidents(ctx context.Context, _ *mcp.CallToolRequest, in ListInput) (*mcp.CallToolResult, ListOutput, error) {
	n, err := in.limit()
	if err != nil {
		return nil, ListOutput{}, err
	}
	list, err := t.st.ListIncidents(ctx, store.IncidentFilter{Application: in.Application, Status: in.Status, Limit: n})
	if err != nil {
		return nil, ListOutput{}, fmt.Errorf("read incidents: %w", err)
	}
	out := ListOutput{Incidents: []IncidentSummary{}}
	for _, i := range list {
		out.Incidents = append(out.Incidents, summary(i))
	}
	return nil, out, nil
}

// GetInput names one incident.
type GetInput struct {
	WorkflowID string `json:"workflowId" jsonschema:"the incident's workflow ID (from list_incidents)"`
}

// IncidentDetail is get_incident's answer.
type IncidentDetail struct {
	IncidentSummary
	Report      string               `json:"report"`
	Message     string               `json:"message"`
	Transaction *profile.Transaction `json:"transaction,omitempty"`
	Facts       []any                `json:"facts,omitempty"` // the analyst's facts as stored
}

func (t *tools) getIncident(ctx context.Context, _ *mcp.CallToolRequest, in GetInput) (*mcp.CallToolResult, IncidentDetail, error) {
	if strings.TrimSpace(in.WorkflowID) == "" {
		return nil, IncidentDetail{}, errors.New("workflowId is required")
	}
	inc, err := t.st.GetIncident(ctx, in.WorkflowID)
	inc = redact(inc)
	if errors.Is(err, store.ErrNotFound) {
		return nil, IncidentDetail{}, fmt.Errorf("no incident %q (list_incidents lists them)", in.WorkflowID)
	}
	if err != nil {
		return nil, IncidentDetail{}, fmt.Errorf("read incident: %w", err)
	}
	d := IncidentDetail{IncidentSummary: summary(inc), Report: inc.Report}
	if al := alertOf(inc); al != nil {
		d.Message = al.Message
		if al.Profile != nil {
			tx := al.Profile.Transaction
			d.Transaction = &tx
		}
	}
	var details struct {
		Facts []any `json:"facts"`
	}
	if json.Unmarshal(inc.Details, &details) == nil {
		d.Facts = details.Facts
	}
	return nil, d, nil
}

// redact replaces every credential in what an incident record holds. Records are stored redacted
// already; this also covers records written before that, or by another writer: no tool ever
// answers with a password, token or key.
func redact(inc store.Incident) store.Incident {
	r := (*mask.Masker)(nil).RedactRecord(inc.Report, string(inc.Alert), string(inc.Details))
	inc.Report = r[0]
	if len(inc.Alert) > 0 {
		inc.Alert = json.RawMessage(r[1])
	}
	if len(inc.Details) > 0 {
		inc.Details = json.RawMessage(r[2])
	}
	return inc
}

func alertOf(inc store.Incident) *profile.Alert {
	if len(inc.Alert) == 0 {
		return nil
	}
	var al profile.Alert
	if json.Unmarshal(inc.Alert, &al) != nil {
		return nil
	}
	return &al
}

// scan calls fn with the newest incidents that carry a transaction profile.
func (t *tools) scan(ctx context.Context, app string, fn func(store.Incident, *profile.Alert)) error {
	list, err := t.st.ListIncidents(ctx, store.IncidentFilter{Application: app, Limit: scanLimit})
	if err != nil {
		return fmt.Errorf("read incidents: %w", err)
	}
	for _, inc := range list {
		inc = redact(inc)
		if al := alertOf(inc); al != nil && al.Profile != nil {
			fn(inc, al)
		}
	}
	return nil
}

// SlowSQL is one statement's slowness across incidents.
type SlowSQL struct {
	SQL             string   `json:"sql"`
	Tables          []string `json:"tables,omitempty"`
	CRUD            string   `json:"crud,omitempty"`
	MaxDurationMs   float64  `json:"maxDurationMs"`
	TotalDurationMs float64  `json:"totalDurationMs"`
	Executions      int      `json:"executions"`
	Applications    []string `json:"applications"`
	Incidents       []string `json:"incidents"`
	// Sources are the code locations that ran it (span names such as Repository.method).
	Sources []string `json:"sources,omitempty"`
}

// SlowSQLInput selects slow statements.
type SlowSQLInput struct {
	Filter
	MinDurationMs float64 `json:"minDurationMs,omitempty" jsonschema:"only statements that took at least this long once (default 100)"`
}

// SlowSQLOutput is slow_sql's answer.
type SlowSQLOutput struct {
	Statements []SlowSQL `json:"statements"`
}

func (t *tools) slowSQL(ctx context.Context, _ *mcp.CallToolRequest, in SlowSQLInput) (*mcp.CallToolResult, SlowSQLOutput, error) {
	out, err := FindSlowSQL(ctx, t.st, in)
	return nil, out, err
}

// FindSlowSQL aggregates the SQL spans of the newest incidents' profiles by statement.
func FindSlowSQL(ctx context.Context, st store.Store, in SlowSQLInput) (SlowSQLOutput, error) {
	t := &tools{st: st}
	n, err := in.limit()
	if err != nil {
		return SlowSQLOutput{}, err
	}
	if in.MinDurationMs < 0 {
		return SlowSQLOutput{}, errors.New("minDurationMs must be >= 0")
	}
	if in.MinDurationMs == 0 {
		in.MinDurationMs = 100
	}
	by := map[string]*SlowSQL{}
	var order []string
	err = t.scan(ctx, in.Application, func(inc store.Incident, al *profile.Alert) {
		for _, sp := range al.Profile.Spans {
			if sp.Kind != profile.KindSQL || sp.SQL == "" {
				continue
			}
			key := profile.NormalizeSQL(sp.SQL) // the same statement with other literals is one
			s, ok := by[key]
			if !ok {
				s = &SlowSQL{SQL: sp.SQL, Tables: sp.Tables, CRUD: sp.CRUD}
				by[key] = s
				order = append(order, key)
			}
			s.MaxDurationMs = max(s.MaxDurationMs, sp.DurationMs)
			s.TotalDurationMs += sp.DurationMs
			s.Executions += max(sp.Count, 1)
			s.Applications = addOnce(s.Applications, inc.Application)
			s.Incidents = addOnce(s.Incidents, inc.WorkflowID)
			s.Sources = addOnce(s.Sources, sp.Name)
		}
	})
	if err != nil {
		return SlowSQLOutput{}, err
	}
	out := SlowSQLOutput{Statements: []SlowSQL{}}
	for _, k := range order {
		if s := by[k]; s.MaxDurationMs >= in.MinDurationMs {
			out.Statements = append(out.Statements, *s)
		}
	}
	slices.SortStableFunc(out.Statements, func(a, b SlowSQL) int { return cmp.Compare(b.MaxDurationMs, a.MaxDurationMs) })
	out.Statements = out.Statements[:min(n, len(out.Statements))]
	return out, nil
}

// ErrorGroup is one kind of error across incidents.
type ErrorGroup struct {
	Type         string   `json:"type"`
	Message      string   `json:"message,omitempty"`
	StackTrace   string   `json:"stackTrace,omitempty"`
	Code         int      `json:"code,omitempty"` // the HTTP status of a failing call, when the error is one
	Occurrences  int      `json:"occurrences"`
	Applications []string `json:"applications"`
	Incidents    []string `json:"incidents"`
}

// ErrorsOutput is errors' answer.
type ErrorsOutput struct {
	Errors []ErrorGroup `json:"errors"`
}

func (t *tools) errors(ctx context.Context, _ *mcp.CallToolRequest, in Filter) (*mcp.CallToolResult, ErrorsOutput, error) {
	out, err := FindErrors(ctx, t.st, in)
	return nil, out, err
}

// FindErrors groups the exceptions and failing calls of the newest incidents' profiles.
func FindErrors(ctx context.Context, st store.Store, in Filter) (ErrorsOutput, error) {
	t := &tools{st: st}
	n, err := in.limit()
	if err != nil {
		return ErrorsOutput{}, err
	}
	by := map[string]*ErrorGroup{}
	var order []string
	add := func(key string, g ErrorGroup, inc store.Incident) {
		e, ok := by[key]
		if !ok {
			e = &g
			by[key] = e
			order = append(order, key)
		}
		e.Occurrences++
		e.Applications = addOnce(e.Applications, inc.Application)
		e.Incidents = addOnce(e.Incidents, inc.WorkflowID)
	}
	err = t.scan(ctx, in.Application, func(inc store.Incident, al *profile.Alert) {
		for _, ex := range al.Profile.Exceptions {
			add("exception\x00"+ex.Type+"\x00"+ex.Message, ErrorGroup{Type: ex.Type, Message: ex.Message, StackTrace: ex.StackTrace}, inc)
		}
		for _, sp := range al.Profile.Spans {
			if sp.Error == "" && sp.StatusCode < 500 {
				continue
			}
			typ := sp.Kind + " error"
			add(fmt.Sprintf("span\x00%s\x00%s\x00%d", sp.Kind, sp.Error, sp.StatusCode),
				ErrorGroup{Type: typ, Message: strings.TrimSpace(sp.Error + " " + sp.Name + " " + sp.URL), Code: sp.StatusCode}, inc)
		}
	})
	if err != nil {
		return ErrorsOutput{}, err
	}
	out := ErrorsOutput{Errors: []ErrorGroup{}}
	for _, k := range order {
		out.Errors = append(out.Errors, *by[k])
	}
	slices.SortStableFunc(out.Errors, func(a, b ErrorGroup) int { return cmp.Compare(b.Occurrences, a.Occurrences) })
	out.Errors = out.Errors[:min(n, len(out.Errors))]
	return out, nil
}

// SpanSummary is one step of a slow transaction.
type SpanSummary struct {
	Kind       string  `json:"kind"`
	Name       string  `json:"name,omitempty"`
	DurationMs float64 `json:"durationMs"`
	Detail     string  `json:"detail,omitempty"` // the SQL, the remote address or URL
}

// SlowTransaction is one slow request and where its time went.
type SlowTransaction struct {
	Incident    string        `json:"incident"`
	Application string        `json:"application"`
	Name        string        `json:"name,omitempty"`
	Method      string        `json:"method,omitempty"`
	URL         string        `json:"url,omitempty"`
	Instance    string        `json:"instance,omitempty"`
	TotalTimeMs float64       `json:"totalTimeMs"`
	Spans       []SpanSummary `json:"spans"` // slowest first, at most 8
}

// SlowTransactionsOutput is slow_transactions' answer.
type SlowTransactionsOutput struct {
	Transactions []SlowTransaction `json:"transactions"`
}

func (t *tools) slowTransactions(ctx context.Context, _ *mcp.CallToolRequest, in Filter) (*mcp.CallToolResult, SlowTransactionsOutput, error) {
	n, err := in.limit()
	if err != nil {
		return nil, SlowTransactionsOutput{}, err
	}
	out := SlowTransactionsOutput{Transactions: []SlowTransaction{}}
	err = t.scan(ctx, in.Application, func(inc store.Incident, al *profile.Alert) {
		tx := al.Profile.Transaction
		st := SlowTransaction{Incident: inc.WorkflowID, Application: inc.Application, Name: tx.Name, Method: tx.Method,
			URL: tx.URL, Instance: tx.Instance, TotalTimeMs: tx.TotalTimeMs, Spans: []SpanSummary{}}
		spans := slices.Clone(al.Profile.Spans)
		slices.SortStableFunc(spans, func(a, b profile.Span) int { return cmp.Compare(b.DurationMs, a.DurationMs) })
		for _, sp := range spans[:min(8, len(spans))] {
			detail := sp.SQL
			if detail == "" {
				detail = cmp.Or(sp.URL, sp.RemoteAddress)
			}
			st.Spans = append(st.Spans, SpanSummary{Kind: sp.Kind, Name: sp.Name, DurationMs: sp.DurationMs, Detail: detail})
		}
		out.Transactions = append(out.Transactions, st)
	})
	if err != nil {
		return nil, SlowTransactionsOutput{}, err
	}
	slices.SortStableFunc(out.Transactions, func(a, b SlowTransaction) int { return cmp.Compare(b.TotalTimeMs, a.TotalTimeMs) })
	out.Transactions = out.Transactions[:min(n, len(out.Transactions))]
	return nil, out, nil
}

func addOnce(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
