package promsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultExemplarSelector is the series whose exemplars lead to traces: the request-duration
// histogram's buckets of the application (OpenTelemetry SDKs attach the trace of a sampled
// request to the bucket it fell in).
const DefaultExemplarSelector = `http_server_request_duration_seconds_bucket{service_name="{{app}}"}`

// Exemplar is one exemplar of a series: a real request's trace and its value.
type Exemplar struct {
	SeriesLabels map[string]string `json:"seriesLabels"`
	TraceID      string            `json:"traceId"`
	Value        float64           `json:"value"`
	At           time.Time         `json:"at"`
}

// traceIDLabels are the exemplar labels that carry a trace ID, in order.
var traceIDLabels = []string{"trace_id", "traceID", "traceId", "TraceID"}

// Exemplars returns the exemplars of the series selector over [from, to] that carry a trace ID
// (GET /api/v1/query_exemplars). {{app}} in the selector is replaced by app, escaped.
func (c *Client) Exemplars(ctx context.Context, selector, app string, from, to time.Time) ([]Exemplar, error) {
	if strings.TrimSpace(selector) == "" {
		return nil, errors.New("promsource: empty exemplar selector")
	}
	q := url.Values{}
	q.Set("query", strings.ReplaceAll(selector, appPlaceholder, escapeString(app)))
	q.Set("start", promTime(from))
	q.Set("end", promTime(to))
	status, body, err := c.get(ctx, strings.TrimSuffix(c.queryEndpoint, "/query")+"/query_exemplars", "query_exemplars", q)
	if err != nil {
		return nil, err
	}
	// query_exemplars answers with the list itself as data, not a result envelope.
	var env struct {
		Status    string          `json:"status"`
		ErrorType string          `json:"errorType"`
		Error     string          `json:"error"`
		Data      json.RawMessage `json:"data"`
	}
	if jerr := json.Unmarshal(body, &env); jerr != nil || env.Status != "success" || status/100 != 2 {
		if env.Status == "error" {
			return nil, &APIError{HTTPStatus: status, Type: env.ErrorType, Message: env.Error}
		}
		return nil, &APIError{HTTPStatus: status, Message: snippet(body)}
	}
	var raw []struct {
		SeriesLabels map[string]string `json:"seriesLabels"`
		Exemplars    []struct {
			Labels    map[string]string `json:"labels"`
			Value     string            `json:"value"`
			Timestamp float64           `json:"timestamp"`
		} `json:"exemplars"`
	}
	if err := json.Unmarshal(env.Data, &raw); err != nil {
		return nil, fmt.Errorf("promsource: decoding exemplars: %w", err)
	}
	var out []Exemplar
	for _, s := range raw {
		for _, e := range s.Exemplars {
			id := ""
			for _, k := range traceIDLabels {
				if id = e.Labels[k]; id != "" {
					break
				}
			}
			v, err := strconv.ParseFloat(e.Value, 64)
			if id == "" || err != nil {
				continue
			}
			sec, frac := int64(e.Timestamp), e.Timestamp-float64(int64(e.Timestamp))
			out = append(out, Exemplar{SeriesLabels: s.SeriesLabels, TraceID: id, Value: v,
				At: time.Unix(sec, int64(frac*1e9)).UTC()})
		}
	}
	return out, nil
}
