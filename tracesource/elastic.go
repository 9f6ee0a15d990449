package tracesource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/vigil-ops/vigil/profile"
)

// DefaultAPMIndex is the index pattern searched when ElasticAPMConfig.Index is empty.
const DefaultAPMIndex = "traces-apm*"

// apmSearchSize is the most documents read for one trace.
const apmSearchSize = 1000

// ElasticAPMConfig configures an Elastic APM source.
type ElasticAPMConfig struct {
	// Name identifies the source; default "elastic-apm".
	Name string
	// URLs are the Elasticsearch nodes.
	URLs []string
	// APIKey, when set, authenticates to Elasticsearch.
	APIKey string
	// Index is the index pattern holding the APM documents; default "traces-apm*".
	Index string
}

// ElasticAPM reads a trace's Elastic APM documents (transaction, span and error events) from
// Elasticsearch.
type ElasticAPM struct {
	name   string
	index  string
	client *elasticsearch.Client
}

// NewElasticAPM checks c and returns the source. It does not contact Elasticsearch.
func NewElasticAPM(c ElasticAPMConfig) (*ElasticAPM, error) {
	if len(c.URLs) == 0 {
		return nil, errors.New("elastic APM: at least one Elasticsearch URL is required")
	}
	client, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: c.URLs, APIKey: c.APIKey})
	if err != nil {
		return nil, fmt.Errorf("elastic APM: %w", err)
	}
	e := &ElasticAPM{name: c.Name, index: c.Index, client: client}
	if e.name == "" {
		e.name = "elastic-apm"
	}
	if e.index == "" {
		e.index = DefaultAPMIndex
	}
	return e, nil
}

// Name returns the source's name.
func (e *ElasticAPM) Name() string { return e.name }

// Fetch searches the index for the documents with trace.id = traceID and converts them. No hits
// (or a missing index) is ErrNotFound.
func (e *ElasticAPM) Fetch(ctx context.Context, traceID string) (*profile.Profile, error) {
	traceID = strings.TrimSpace(traceID)
	if traceID == "" {
		return nil, errors.New("empty trace ID")
	}
	body, err := json.Marshal(map[string]any{
		"size":  apmSearchSize,
		"query": map[string]any{"bool": map[string]any{"filter": []any{map[string]any{"term": map[string]any{"trace.id": traceID}}}}},
	})
	if err != nil {
		return nil, err
	}
	es := e.client
	res, err := es.Search(
		es.Search.WithContext(ctx),
		es.Search.WithIndex(e.index),
		es.Search.WithBody(bytes.NewReader(body)),
		es.Search.WithIgnoreUnavailable(true),
	)
	if err != nil {
		return nil, fmt.Errorf("%s: searching %s: %w", e.name, e.index, err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxTraceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading search response: %w", e.name, err)
	}
	switch {
	case res.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%s: %w: %s (index %s: %s)", e.name, ErrNotFound, traceID, e.index, snippet(data))
	case res.IsError():
		return nil, fmt.Errorf("%s: searching %s: %s: %s", e.name, e.index, res.Status(), snippet(data))
	case len(data) > maxTraceBytes:
		return nil, fmt.Errorf("%s: search response larger than %d bytes", e.name, maxTraceBytes)
	}
	var sr struct {
		Hits struct {
			Hits []struct {
				Source json.RawMessage `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(data, &sr); err != nil {
		return nil, fmt.Errorf("%s: decoding search response: %w", e.name, err)
	}
	if len(sr.Hits.Hits) == 0 {
		return nil, fmt.Errorf("%s: %w: %s (no documents in %s)", e.name, ErrNotFound, traceID, e.index)
	}
	docs := make([]apmDoc, 0, len(sr.Hits.Hits))
	for i, h := range sr.Hits.Hits {
		var d apmDoc
		if err := json.Unmarshal(h.Source, &d); err != nil {
			return nil, fmt.Errorf("%s: decoding hit %d: %w", e.name, i, err)
		}
		docs = append(docs, d)
	}
	p, err := fromAPM(docs)
	if err != nil {
		return nil, fmt.Errorf("%s: trace %s: %w", e.name, traceID, err)
	}
	if p.TraceID == "" {
		p.TraceID = traceID
	}
	return p, nil
}

// apmDoc is the part of an Elastic APM event document (ECS) that is used.
type apmDoc struct {
	Timestamp string `json:"@timestamp"`
	Processor struct {
		Event string `json:"event"`
	} `json:"processor"`
	Trace struct {
		ID string `json:"id"`
	} `json:"trace"`
	Parent struct {
		ID string `json:"id"`
	} `json:"parent"`
	TimestampUS struct {
		US int64 `json:"us"`
	} `json:"timestamp"`
	Transaction struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Duration struct {
			US float64 `json:"us"`
		} `json:"duration"`
	} `json:"transaction"`
	Span struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		Type     string `json:"type"`
		Subtype  string `json:"subtype"`
		Action   string `json:"action"`
		Duration struct {
			US float64 `json:"us"`
		} `json:"duration"`
		DB struct {
			Statement string `json:"statement"`
		} `json:"db"`
		HTTP struct {
			URL struct {
				Original string `json:"original"`
			} `json:"url"`
			Response struct {
				StatusCode int `json:"status_code"`
			} `json:"response"`
		} `json:"http"`
	} `json:"span"`
	URL struct {
		Full     string `json:"full"`
		Original string `json:"original"`
	} `json:"url"`
	HTTP struct {
		Request struct {
			Method string `json:"method"`
		} `json:"request"`
		Response struct {
			StatusCode int `json:"status_code"`
		} `json:"response"`
	} `json:"http"`
	Destination struct {
		Address string `json:"address"`
		Port    int    `json:"port"`
	} `json:"destination"`
	Service struct {
		Node struct {
			Name string `json:"name"`
		} `json:"node"`
	} `json:"service"`
	Host struct {
		Name     string `json:"name"`
		Hostname string `json:"hostname"`
	} `json:"host"`
	Event struct {
		Outcome string `json:"outcome"`
	} `json:"event"`
	Error struct {
		Exception []struct {
			Type       string     `json:"type"`
			Message    string     `json:"message"`
			Stacktrace []apmFrame `json:"stacktrace"`
		} `json:"exception"`
		Log struct {
			Message    string `json:"message"`
			LoggerName string `json:"logger_name"`
		} `json:"log"`
	} `json:"error"`
}

type apmFrame struct {
	Classname string `json:"classname"`
	Function  string `json:"function"`
	Filename  string `json:"filename"`
	AbsPath   string `json:"abs_path"`
	Module    string `json:"module"`
	Line      struct {
		Number int `json:"number"`
	} `json:"line"`
}

func (f apmFrame) String() string {
	file := f.Filename
	if file == "" {
		file = f.AbsPath
	}
	if f.Line.Number > 0 {
		file += ":" + strconv.Itoa(f.Line.Number)
	}
	fn := f.Function
	if f.Classname != "" {
		fn = f.Classname + "." + f.Function
	} else if f.Module != "" && fn != "" {
		fn = f.Module + "." + fn
	}
	return "at " + fn + "(" + file + ")"
}

// usec returns the event's start in microseconds since the epoch.
func (d *apmDoc) usec() int64 {
	if d.TimestampUS.US > 0 {
		return d.TimestampUS.US
	}
	if t, err := time.Parse(time.RFC3339Nano, d.Timestamp); err == nil {
		return t.UnixMicro()
	}
	return 0
}

func (d *apmDoc) exception() profile.Exception {
	var e profile.Exception
	if len(d.Error.Exception) > 0 {
		x := d.Error.Exception[0]
		e.Type, e.Message = x.Type, x.Message
		frames := make([]string, 0, len(x.Stacktrace))
		for _, f := range x.Stacktrace {
			frames = append(frames, f.String())
		}
		e.StackTrace = strings.Join(frames, "\n")
	} else {
		e.Type, e.Message = d.Error.Log.LoggerName, d.Error.Log.Message
	}
	if strings.TrimSpace(e.Type) == "" {
		e.Type = "(unknown)"
	}
	return e
}

// fromAPM converts the documents of one trace.
func fromAPM(docs []apmDoc) (*profile.Profile, error) {
	var root *apmDoc
	var spans, errs []*apmDoc
	for i := range docs {
		d := &docs[i]
		switch d.Processor.Event {
		case "transaction":
			if d.Parent.ID == "" && (root == nil || d.usec() < root.usec()) {
				if root != nil {
					spans = append(spans, root)
				}
				root = d
			} else {
				spans = append(spans, d) // a downstream service's transaction
			}
		case "span":
			spans = append(spans, d)
		case "error":
			errs = append(errs, d)
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root transaction document (processor.event transaction without parent.id) among %d documents", len(docs))
	}

	p := &profile.Profile{TraceID: root.Trace.ID}
	start := root.usec()
	tx := &p.Transaction
	tx.Name = root.Transaction.Name
	tx.URL = firstNonEmpty(root.URL.Full, root.URL.Original)
	tx.Method = root.HTTP.Request.Method
	tx.Status = statusCode(root.HTTP.Response.StatusCode)
	tx.Instance = firstNonEmpty(root.Service.Node.Name, root.Host.Name, root.Host.Hostname)
	if t, err := time.Parse(time.RFC3339Nano, root.Timestamp); err == nil {
		tx.StartTime = t.UTC()
	} else if start > 0 {
		tx.StartTime = time.UnixMicro(start).UTC()
	}
	tx.TotalTimeMs = usToMs(root.Transaction.Duration.US)

	errByParent := map[string]string{}
	slices.SortStableFunc(errs, func(a, b *apmDoc) int { return cmpInt(a.usec(), b.usec()) })
	for _, d := range errs {
		ex := d.exception()
		p.Exceptions = append(p.Exceptions, ex)
		if _, seen := errByParent[d.Parent.ID]; !seen && d.Parent.ID != "" {
			errByParent[d.Parent.ID] = strings.TrimSpace(strings.TrimPrefix(ex.Type+": "+ex.Message, "(unknown): "))
		}
	}

	slices.SortStableFunc(spans, func(a, b *apmDoc) int { return cmpInt(a.usec(), b.usec()) })
	for _, d := range spans {
		s := profile.Span{Kind: profile.KindInternal, Name: d.Span.Name}
		id := d.Span.ID
		if d.Processor.Event == "transaction" {
			s.Name, id = d.Transaction.Name, d.Transaction.ID
			s.DurationMs = usToMs(d.Transaction.Duration.US)
		} else {
			s.DurationMs = usToMs(d.Span.Duration.US)
		}
		if us := d.usec(); start > 0 && us > start {
			s.StartOffsetMs = usToMs(float64(us - start))
		}
		typ, sub := strings.ToLower(d.Span.Type), strings.ToLower(d.Span.Subtype)
		remote := ""
		if d.Destination.Address != "" {
			remote = d.Destination.Address
			if d.Destination.Port > 0 {
				remote = net.JoinHostPort(remote, strconv.Itoa(d.Destination.Port))
			}
		}
		name := strings.ToLower(d.Span.Name + " " + d.Span.Action)
		switch {
		case d.Processor.Event != "span":
		case strings.HasPrefix(typ, "db") && d.Span.DB.Statement != "":
			s.Kind = profile.KindSQL
			s.SQL = d.Span.DB.Statement
		case strings.HasPrefix(typ, "db") && (strings.Contains(name, "getconnection") || strings.Contains(name, "connect") || strings.Contains(name, "acquire")):
			s.Kind = profile.KindDBConnect
			s.RemoteAddress = remote
		case (strings.HasPrefix(typ, "external") || strings.HasPrefix(typ, "ext")) && (sub == "http" || strings.Contains(typ, "http")):
			s.Kind = profile.KindHTTPClient
			s.URL = firstNonEmpty(d.URL.Original, d.Span.HTTP.URL.Original, d.URL.Full)
			s.StatusCode = statusCode(firstNonZero(d.HTTP.Response.StatusCode, d.Span.HTTP.Response.StatusCode))
			if d.Destination.Port > 0 || s.URL == "" {
				s.RemoteAddress = remote
			}
		}
		if msg, ok := errByParent[id]; ok && id != "" {
			s.Error = msg
		} else if d.Event.Outcome == "failure" {
			s.Error = "failure"
		}
		p.Spans = append(p.Spans, s)
	}
	if err := p.Normalize(); err != nil {
		return nil, fmt.Errorf("converted trace is invalid: %w", err)
	}
	return p, nil
}

func usToMs(us float64) float64 {
	if us <= 0 {
		return 0
	}
	return us / 1e3
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			return s
		}
	}
	return ""
}

func firstNonZero(ns ...int) int {
	for _, n := range ns {
		if n != 0 {
			return n
		}
	}
	return 0
}
