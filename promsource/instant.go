package promsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Series is one element of an instant query's result: its labels (without __name__) and value.
// Value may be NaN or ±Inf, as Prometheus returned it.
type Series struct {
	Labels map[string]string `json:"labels"`
	Value  float64           `json:"value"`
}

// Query is the raw instant query: it evaluates promql at at (GET /api/v1/query with query and
// time) and returns one Series per element of a vector result, in Prometheus's order, or a single
// Series with nil Labels for a scalar result. Any other result type is an error; Prometheus's
// errors are *APIError as for QueryRange.
func (c *Client) Query(ctx context.Context, promql string, at time.Time) ([]Series, error) {
	if strings.TrimSpace(promql) == "" {
		return nil, errors.New("promsource: empty PromQL query")
	}
	if at.IsZero() {
		return nil, errors.New("promsource: instant query without an evaluation time")
	}
	q := url.Values{}
	q.Set("query", promql)
	q.Set("time", promTime(at))
	status, body, err := c.get(ctx, c.queryEndpoint, "query", q)
	if err != nil {
		return nil, err
	}
	data, err := decodeEnvelope(status, body, "query")
	if err != nil {
		return nil, err
	}
	return decodeInstant(data)
}

// decodeInstant decodes a vector or scalar result.
func decodeInstant(data resultData) ([]Series, error) {
	switch data.ResultType {
	case "vector":
		var result []struct {
			Metric map[string]string  `json:"metric"`
			Value  [2]json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(data.Result, &result); err != nil {
			return nil, fmt.Errorf("promsource: malformed query result: %v", err)
		}
		out := make([]Series, 0, len(result))
		for _, r := range result {
			labels := make(map[string]string, len(r.Metric))
			for k, v := range r.Metric {
				if k != "__name__" {
					labels[k] = v
				}
			}
			if r.Value[0] == nil {
				// A native-histogram sample carries "histogram" instead of "value".
				return nil, fmt.Errorf("promsource: series %s has no float value (native histogram?)", labelString(labels))
			}
			_, v, err := parsePoint(r.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, Series{Labels: labels, Value: v})
		}
		return out, nil
	case "scalar":
		var p [2]json.RawMessage
		if err := json.Unmarshal(data.Result, &p); err != nil || p[0] == nil {
			if err == nil {
				err = errors.New("no value")
			}
			return nil, fmt.Errorf("promsource: malformed scalar result: %v", err)
		}
		_, v, err := parsePoint(p)
		if err != nil {
			return nil, err
		}
		return []Series{{Value: v}}, nil
	}
	return nil, fmt.Errorf("promsource: query returned result type %q, want vector or scalar", data.ResultType)
}
