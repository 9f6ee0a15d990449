package tracesource

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/mask"
	"github.com/vigil-ops/vigil/profile"
)

// maxTraceBytes bounds the size of a fetched trace document.
const maxTraceBytes = 64 << 20

// OTLPConfig configures an OTLP-JSON trace API source.
type OTLPConfig struct {
	// Name identifies the source; default "otlp".
	Name string
	// URL is the trace endpoint, an absolute http(s) URL in which {traceId} is replaced by the
	// trace ID, e.g. http://tempo:3200/api/traces/{traceId} or
	// http://jaeger:16686/api/v3/traces/{traceId}.
	URL string
	// Token, when set, is sent as a bearer token.
	Token string
	// HTTPClient is the client used; default a client with a 30s timeout.
	HTTPClient *http.Client
}

// OTLP fetches traces from an OTLP-JSON trace API (Grafana Tempo, Jaeger v2).
type OTLP struct {
	name   string
	url    string
	token  string
	client *http.Client
}

// NewOTLP checks c and returns the source.
func NewOTLP(c OTLPConfig) (*OTLP, error) {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OTLP trace URL must be an absolute http(s) URL, got %q", mask.RedactURL(c.URL))
	}
	if !strings.Contains(c.URL, "{traceId}") {
		return nil, fmt.Errorf("OTLP trace URL must contain {traceId}, got %q", mask.RedactURL(c.URL))
	}
	o := &OTLP{name: c.Name, url: c.URL, token: c.Token, client: c.HTTPClient}
	if o.name == "" {
		o.name = "otlp"
	}
	if o.client == nil {
		o.client = &http.Client{Timeout: 30 * time.Second}
	}
	return o, nil
}

// Name returns the source's name.
func (o *OTLP) Name() string { return o.name }

// Fetch GETs the trace and converts it with FromOTLP. A 404, or a document without spans, is
// ErrNotFound.
func (o *OTLP) Fetch(ctx context.Context, traceID string) (*profile.Profile, error) {
	traceID = strings.TrimSpace(traceID)
	if traceID == "" {
		return nil, errors.New("empty trace ID")
	}
	u := strings.ReplaceAll(o.url, "{traceId}", url.PathEscape(traceID))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	if o.token != "" {
		req.Header.Set("Authorization", "Bearer "+o.token)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTraceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading trace %s: %w", o.name, traceID, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w: %s", o.name, ErrNotFound, traceID)
	case resp.StatusCode/100 != 2:
		return nil, fmt.Errorf("%s: GET trace %s: %s: %s", o.name, traceID, resp.Status, snippet(body))
	case len(body) > maxTraceBytes:
		return nil, fmt.Errorf("%s: trace %s is larger than %d bytes", o.name, traceID, maxTraceBytes)
	}
	p, err := FromOTLP(body)
	if err != nil {
		return nil, fmt.Errorf("%s: trace %s: %w", o.name, traceID, err)
	}
	if p.TraceID == "" {
		p.TraceID = traceID
	}
	return p, nil
}

// snippet returns the start of a response body for an error message.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// OTLP JSON (the protobuf JSON mapping of opentelemetry.proto.trace.v1.TracesData).

type otlpDoc struct {
	ResourceSpans []otlpResourceSpans `json:"resourceSpans"`
	Batches       []otlpResourceSpans `json:"batches"` // Tempo 1.x
	Result        *otlpDoc            `json:"result"`  // Jaeger v2 /api/v3
	Trace         *otlpDoc            `json:"trace"`   // Tempo /api/v2/traces
	Error         *struct {
		HTTPCode int    `json:"httpCode"`
		Message  string `json:"message"`
	} `json:"error"` // Jaeger v2 /api/v3 errors
}

type otlpResourceSpans struct {
	Resource struct {
		Attributes []otlpKV `json:"attributes"`
	} `json:"resource"`
	ScopeSpans                  []otlpScopeSpans `json:"scopeSpans"`
	InstrumentationLibrarySpans []otlpScopeSpans `json:"instrumentationLibrarySpans"`
}

type otlpScopeSpans struct {
	Spans []otlpSpan `json:"spans"`
}

type otlpSpan struct {
	TraceID           string      `json:"traceId"`
	SpanID            string      `json:"spanId"`
	ParentSpanID      string      `json:"parentSpanId"`
	Name              string      `json:"name"`
	Kind              otlpEnum    `json:"kind"`
	StartTimeUnixNano otlpUint    `json:"startTimeUnixNano"`
	EndTimeUnixNano   otlpUint    `json:"endTimeUnixNano"`
	Attributes        []otlpKV    `json:"attributes"`
	Events            []otlpEvent `json:"events"`
	Status            struct {
		Code    otlpEnum `json:"code"`
		Message string   `json:"message"`
	} `json:"status"`
}

type otlpEvent struct {
	Name       string   `json:"name"`
	Attributes []otlpKV `json:"attributes"`
}

type otlpKV struct {
	Key   string    `json:"key"`
	Value otlpValue `json:"value"`
}

type otlpValue struct {
	StringValue *string         `json:"stringValue"`
	BoolValue   *bool           `json:"boolValue"`
	IntValue    json.RawMessage `json:"intValue"`    // a string (protojson int64) or a number
	DoubleValue json.RawMessage `json:"doubleValue"` // a number, or "NaN"/"Infinity"
}

// String renders a scalar value; it returns "" for arrays, maps and absent values.
func (v otlpValue) String() string {
	switch {
	case v.StringValue != nil:
		return *v.StringValue
	case len(v.IntValue) > 0:
		return strings.Trim(string(v.IntValue), `"`)
	case len(v.DoubleValue) > 0:
		return strings.Trim(string(v.DoubleValue), `"`)
	case v.BoolValue != nil:
		return strconv.FormatBool(*v.BoolValue)
	}
	return ""
}

// otlpUint is a uint64 given as a JSON string (protojson) or number.
type otlpUint uint64

func (u *otlpUint) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*u = 0
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid unsigned integer %s", b)
	}
	*u = otlpUint(n)
	return nil
}

// otlpEnum is a protobuf enum given as a number or by name ("SPAN_KIND_SERVER",
// "STATUS_CODE_ERROR"); names are kept in upper case without their prefix.
type otlpEnum string

func (e *otlpEnum) UnmarshalJSON(b []byte) error {
	var n int
	if err := json.Unmarshal(b, &n); err == nil {
		*e = otlpEnum(strconv.Itoa(n))
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("invalid enum value %s", b)
	}
	s = strings.ToUpper(s)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "SPAN_KIND_"), "STATUS_CODE_")
	*e = otlpEnum(s)
	return nil
}

func (e otlpEnum) is(number, name string) bool { return string(e) == number || string(e) == name }

func (s *otlpSpan) isServer() bool { return s.Kind.is("2", "SERVER") }
func (s *otlpSpan) isClient() bool { return s.Kind.is("3", "CLIENT") }
func (s *otlpSpan) isError() bool  { return s.Status.Code.is("2", "ERROR") }

type attrs map[string]otlpValue

func attrMap(kvs []otlpKV) attrs {
	m := make(attrs, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// str returns the first non-empty value among keys.
func (a attrs) str(keys ...string) string {
	for _, k := range keys {
		if v, ok := a[k]; ok {
			if s := strings.TrimSpace(v.String()); s != "" {
				return s
			}
		}
	}
	return ""
}

// int returns the first integer value among keys, 0 when there is none.
func (a attrs) int(keys ...string) int {
	for _, k := range keys {
		s := a.str(k)
		if s == "" {
			continue
		}
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<53 {
			return int(f)
		}
	}
	return 0
}

// hostPort returns host:port from the first pair with a host; a host without a port is returned
// alone.
func (a attrs) hostPort(pairs ...[2]string) string {
	for _, p := range pairs {
		host := a.str(p[0])
		if host == "" {
			continue
		}
		if port := a.str(p[1]); port != "" {
			return net.JoinHostPort(host, port)
		}
		return host
	}
	return ""
}

type flatSpan struct {
	*otlpSpan
	attrs    attrs
	resource attrs
	order    int
}

// FromOTLP converts an OTLP-JSON trace ({"resourceSpans":[...]} as Tempo returns it, or Jaeger
// v2's {"result":{"resourceSpans":[...]}}) into a Profile.
//
// The root span (no parentSpanId, preferring a SERVER span) is the transaction; every other span
// becomes a profile span, classified by its OpenTelemetry semantic-convention attributes (old and
// new names): sql (db.query.text / db.statement), db_connect (a connection span of a db.system),
// http_client (a CLIENT span with url.full / http.url) or internal. "exception" events become
// exceptions. A document without spans is ErrNotFound (wrapped).
func FromOTLP(data []byte) (*profile.Profile, error) {
	var doc otlpDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("decoding OTLP JSON trace: %w", err)
	}
	for _, inner := range []*otlpDoc{doc.Result, doc.Trace} {
		if inner == nil {
			continue
		}
		if doc.Error == nil {
			doc.Error = inner.Error
		}
		doc.ResourceSpans = append(doc.ResourceSpans, inner.ResourceSpans...)
		doc.ResourceSpans = append(doc.ResourceSpans, inner.Batches...)
	}
	doc.ResourceSpans = append(doc.ResourceSpans, doc.Batches...)

	var spans []flatSpan
	for ri := range doc.ResourceSpans {
		rs := &doc.ResourceSpans[ri]
		res := attrMap(rs.Resource.Attributes)
		for _, ss := range [][]otlpScopeSpans{rs.ScopeSpans, rs.InstrumentationLibrarySpans} {
			for si := range ss {
				for i := range ss[si].Spans {
					s := &ss[si].Spans[i]
					spans = append(spans, flatSpan{otlpSpan: s, attrs: attrMap(s.Attributes), resource: res, order: len(spans)})
				}
			}
		}
	}
	if len(spans) == 0 {
		if e := doc.Error; e != nil && e.HTTPCode != 0 && e.HTTPCode != http.StatusNotFound {
			return nil, fmt.Errorf("trace API error %d: %s", e.HTTPCode, e.Message)
		}
		return nil, fmt.Errorf("%w: the document has no spans (resourceSpans[].scopeSpans[].spans is empty)", ErrNotFound)
	}

	var root *flatSpan
	for i := range spans {
		s := &spans[i]
		if !isZeroID(s.ParentSpanID) {
			continue
		}
		if root == nil || (s.isServer() && !root.isServer()) ||
			(s.isServer() == root.isServer() && s.StartTimeUnixNano < root.StartTimeUnixNano) {
			root = s
		}
	}
	if root == nil {
		return nil, fmt.Errorf("the trace has %d spans but no root span (every span has a parentSpanId)", len(spans))
	}

	p := &profile.Profile{TraceID: normalizeID(root.TraceID)}
	start := uint64(root.StartTimeUnixNano)
	tx := &p.Transaction
	tx.Name = root.Name
	tx.URL = root.attrs.str("url.full", "http.url")
	if tx.URL == "" {
		if path := root.attrs.str("url.path"); path != "" {
			tx.URL = path
			if q := root.attrs.str("url.query"); q != "" {
				tx.URL += "?" + q
			}
		} else {
			tx.URL = root.attrs.str("http.target")
		}
	}
	tx.Method = root.attrs.str("http.request.method", "http.method")
	tx.Status = statusCode(root.attrs.int("http.response.status_code", "http.status_code"))
	tx.Instance = root.resource.str("service.instance.id", "host.name", "k8s.pod.name")
	if start > 0 {
		tx.StartTime = time.Unix(0, int64(start)).UTC()
	}
	tx.TotalTimeMs = nanosToMs(start, uint64(root.EndTimeUnixNano))
	p.Exceptions = append(p.Exceptions, exceptions(root.otlpSpan)...)

	others := make([]*flatSpan, 0, len(spans)-1)
	for i := range spans {
		if &spans[i] != root {
			others = append(others, &spans[i])
		}
	}
	slices.SortStableFunc(others, func(a, b *flatSpan) int {
		switch {
		case a.StartTimeUnixNano < b.StartTimeUnixNano:
			return -1
		case a.StartTimeUnixNano > b.StartTimeUnixNano:
			return 1
		}
		return a.order - b.order
	})
	for _, s := range others {
		p.Spans = append(p.Spans, convertSpan(s, start))
		p.Exceptions = append(p.Exceptions, exceptions(s.otlpSpan)...)
	}
	if err := p.Normalize(); err != nil {
		return nil, fmt.Errorf("converted trace is invalid: %w", err)
	}
	return p, nil
}

func convertSpan(s *flatSpan, rootStart uint64) profile.Span {
	a := s.attrs
	out := profile.Span{
		Kind:       profile.KindInternal,
		Name:       s.Name,
		DurationMs: nanosToMs(uint64(s.StartTimeUnixNano), uint64(s.EndTimeUnixNano)),
	}
	if st := uint64(s.StartTimeUnixNano); rootStart > 0 && st > rootStart {
		out.StartOffsetMs = nanosToMs(rootStart, st)
	}
	remote := func() string {
		return a.hostPort([2]string{"server.address", "server.port"}, [2]string{"net.peer.name", "net.peer.port"},
			[2]string{"network.peer.address", "network.peer.port"}, [2]string{"net.sock.peer.addr", "net.sock.peer.port"})
	}
	name := strings.ToLower(s.Name)
	dbSystem := a.str("db.system", "db.system.name")
	switch {
	case a.str("db.query.text", "db.statement") != "":
		out.Kind = profile.KindSQL
		out.SQL = a.str("db.query.text", "db.statement")
		if rows := a.int("db.response.returned_rows"); rows > 0 {
			out.Rows = rows
		}
	case dbSystem != "" && (strings.Contains(name, "getconnection") || strings.Contains(name, "connect") || strings.Contains(name, "acquire")):
		out.Kind = profile.KindDBConnect
		out.URL = a.str("db.connection_string")
		out.RemoteAddress = remote()
	case s.isClient() && a.str("url.full", "http.url") != "":
		out.Kind = profile.KindHTTPClient
		out.URL = a.str("url.full", "http.url")
		out.StatusCode = statusCode(a.int("http.response.status_code", "http.status_code"))
		if hp := remote(); strings.Contains(hp, ":") || out.URL == "" {
			out.RemoteAddress = hp // a host without a port is left to Normalize, which derives it from the URL
		}
	}
	if s.isError() {
		out.Error = s.Status.Message
		if out.Error == "" {
			if ex := exceptions(s.otlpSpan); len(ex) > 0 {
				out.Error = strings.TrimPrefix(strings.TrimSpace(ex[0].Type+": "+ex[0].Message), "(unknown): ")
			} else {
				out.Error = "error"
			}
		}
	}
	return out
}

func exceptions(s *otlpSpan) []profile.Exception {
	var out []profile.Exception
	for _, ev := range s.Events {
		if ev.Name != "exception" {
			continue
		}
		a := attrMap(ev.Attributes)
		e := profile.Exception{
			Type:       a.str("exception.type"),
			Message:    a.str("exception.message"),
			StackTrace: a.str("exception.stacktrace"),
		}
		if e.Type == "" {
			e.Type = "(unknown)"
		}
		out = append(out, e)
	}
	return out
}

func nanosToMs(start, end uint64) float64 {
	if start == 0 || end <= start {
		return 0
	}
	return math.Round(float64(end-start)/1e3) / 1e3 // microsecond precision
}

func statusCode(n int) int {
	if n < 100 || n > 599 {
		return 0
	}
	return n
}

// isZeroID reports whether a span ID is absent or all zeros (hex or base64).
func isZeroID(id string) bool { return strings.Trim(id, "0A=") == "" }

// normalizeID returns a trace ID as lowercase hex; Tempo's JSON may carry it base64-encoded.
func normalizeID(id string) string {
	if id == "" {
		return ""
	}
	if b, err := hex.DecodeString(id); err == nil && len(b) == 16 {
		return strings.ToLower(id)
	}
	if b, err := base64.StdEncoding.DecodeString(id); err == nil && len(b) == 16 {
		return hex.EncodeToString(b)
	}
	return id
}
