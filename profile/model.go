package profile

import "time"

// Alert severities.
const (
	SeverityCritical = "critical"
	SeverityWarning  = "warning"
	SeverityInfo     = "info"
)

// Span kinds.
const (
	KindSQL        = "sql"
	KindDBConnect  = "db_connect"
	KindHTTPClient = "http_client"
	KindInternal   = "internal"
	KindFetch      = "fetch"
)

// CRUD types of a SQL statement.
const (
	CRUDSelect = "SELECT"
	CRUDInsert = "INSERT"
	CRUDUpdate = "UPDATE"
	CRUDDelete = "DELETE"
	CRUDOther  = "OTHER"
)

// Alert is an APM alert as posted to POST /v1/alerts/apm: which rule fired, on which application
// and instance, when, and optionally the transaction profile (trace) behind it.
type Alert struct {
	// Rule is the APM rule that fired, e.g. "SlowSQL". Required.
	Rule string `json:"rule"`
	// Message is the alert's human text. Required.
	Message string `json:"message"`
	// Severity is one of critical, warning, info; it defaults to warning.
	Severity string `json:"severity,omitempty"`
	// Application is the monitored application (service). Required.
	Application string `json:"application"`
	// Instance is the pod or host the alert concerns.
	Instance string `json:"instance,omitempty"`
	// Fingerprint identifies the alert across deliveries; when absent it is computed by
	// ComputeFingerprint.
	Fingerprint string `json:"fingerprint,omitempty"`
	// StartsAt is when the alert condition began. Required.
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when the alert condition ended; zero while it is still firing.
	EndsAt time.Time `json:"endsAt,omitzero"`
	// Labels are free key/value pairs from the APM or Alertmanager.
	Labels map[string]string `json:"labels,omitempty"`
	// TraceID names the transaction profile to fetch when Profile is not given inline.
	TraceID string `json:"traceId,omitempty"`
	// Profile is the transaction profile behind the alert, when the sender includes it.
	Profile *Profile `json:"profile,omitempty"`
	// Values are the numbers the alerting rule evaluated when it fired, by name (Grafana's
	// values, a metric alert's value); the report shows them as they are.
	Values map[string]float64 `json:"values,omitempty"`
	// ValueString is the sender's own text of those values (Grafana's valueString).
	ValueString string `json:"valueString,omitempty"`
	// Links are the sender's pages about the alert (its rule, a silence, a dashboard, a panel,
	// an image), listed in the report.
	Links []Link `json:"links,omitempty"`
}

// Link is one page about an alert: Name says what it is ("source", "silence", "dashboard",
// "panel", "image", "issue"), URL is an absolute http or https URL.
type Link struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// Limits of an alert's values and links.
const (
	MaxAlertValues      = 64
	MaxAlertLinks       = 16
	MaxLinkURLBytes     = 2048
	MaxValueStringBytes = 4096
)

// Profile is one transaction profile (trace): the transaction, its spans in order and the
// exceptions it raised.
type Profile struct {
	TraceID     string      `json:"traceId,omitempty"`
	Transaction Transaction `json:"transaction"`
	Spans       []Span      `json:"spans,omitempty"`
	Exceptions  []Exception `json:"exceptions,omitempty"`
	// SQLCount is the number of SQL executions in the transaction. When absent it is the sum of
	// Count over the sql spans; an APM that truncates long profiles can send the true total.
	SQLCount int `json:"sqlCount,omitempty"`
	// FetchCount is the number of rows fetched. When absent it is the sum of Rows over the sql
	// and fetch spans.
	FetchCount int `json:"fetchCount,omitempty"`
}

// Transaction describes the request the profile belongs to.
type Transaction struct {
	Name      string    `json:"name,omitempty"`
	URL       string    `json:"url,omitempty"`
	Method    string    `json:"method,omitempty"`
	Instance  string    `json:"instance,omitempty"`
	StartTime time.Time `json:"startTime,omitzero"`
	// TotalTimeMs is the transaction's response time in milliseconds. Required, >= 0.
	TotalTimeMs float64 `json:"totalTimeMs"`
	// Status is the HTTP status code of the response, 0 when unknown.
	Status int `json:"status,omitempty"`
}

// Span is one step of the transaction. A span may stand for Count identical executions (APMs
// fold repeated statements); DurationMs and Rows are then totals over all of them.
type Span struct {
	// Kind is one of sql, db_connect, http_client, internal, fetch. Required.
	Kind          string  `json:"kind"`
	Name          string  `json:"name,omitempty"`
	StartOffsetMs float64 `json:"startOffsetMs,omitempty"`
	DurationMs    float64 `json:"durationMs"`
	// SQL is the statement text, for sql (and optionally fetch) spans.
	SQL string `json:"sql,omitempty"`
	// Tables and CRUD are derived from SQL when not given.
	Tables []string `json:"tables,omitempty"`
	CRUD   string   `json:"crud,omitempty"`
	// Rows is the number of rows fetched.
	Rows int `json:"rows,omitempty"`
	// RemoteAddress is host:port of the remote end, for http_client and db_connect spans; it is
	// derived from URL when not given.
	RemoteAddress string `json:"remoteAddress,omitempty"`
	// URL is the called URL (http_client) or the JDBC URL (db_connect).
	URL        string `json:"url,omitempty"`
	StatusCode int    `json:"statusCode,omitempty"`
	// Count is how many identical executions this span stands for; it defaults to 1.
	Count int    `json:"count,omitempty"`
	Error string `json:"error,omitempty"`
}

// Executions returns Count, treating an unset count as 1.
func (s *Span) Executions() int {
	if s.Count < 1 {
		return 1
	}
	return s.Count
}

// Exception is an exception raised during the transaction.
type Exception struct {
	Type       string `json:"type"`
	Message    string `json:"message,omitempty"`
	StackTrace string `json:"stackTrace,omitempty"`
}
