package usagelog

import (
	"encoding/json"
	"time"

	"github.com/vigil-ops/vigil/store"
)

// DefaultIndexPrefix is the index prefix used when Config.IndexPrefix is empty.
const DefaultIndexPrefix = "vigil"

// IndexName returns the index the sink writes to: "<prefix>-llm-calls"
// ("vigil-llm-calls" for an empty prefix). The index template has the same
// name.
func IndexName(prefix string) string {
	if prefix == "" {
		prefix = DefaultIndexPrefix
	}
	return prefix + "-llm-calls"
}

// timestampLayout is RFC 3339 in UTC with milliseconds, the precision of an
// Elasticsearch date field.
const timestampLayout = "2006-01-02T15:04:05.000Z"

// Document is the JSON document indexed for one LLM call. The field names
// are those of the index template ([IndexTemplate]).
type Document struct {
	Timestamp    string  `json:"@timestamp"`
	ID           string  `json:"id"`
	Client       string  `json:"client"`
	Role         string  `json:"role"`
	RoleVersion  int     `json:"role_version"`
	Provider     string  `json:"provider"`
	Model        string  `json:"model"`
	Subject      string  `json:"subject,omitempty"`
	Status       string  `json:"status"`
	Error        string  `json:"error,omitempty"`
	ErrorClass   string  `json:"error_class,omitempty"`
	LatencyMS    int64   `json:"latency_ms"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	TotalTokens  int64   `json:"total_tokens"`
	CostUSD      float64 `json:"cost_usd"`
	WorkflowID   string  `json:"workflow_id,omitempty"`
	Attempt      int     `json:"attempt"`
	Request      string  `json:"request,omitempty"`
	Response     string  `json:"response,omitempty"`
}

// NewDocument converts a call into its document. Defaults follow the store:
// a zero Time becomes now, an empty Status becomes "error" when Error is set
// and "ok" otherwise. errorClass may be empty.
func NewDocument(c store.LLMCall, errorClass string) Document {
	t := c.Time
	if t.IsZero() {
		t = time.Now()
	}
	status := c.Status
	if status == "" {
		status = "ok"
		if c.Error != "" {
			status = "error"
		}
	}
	return Document{
		Timestamp:    t.UTC().Format(timestampLayout),
		ID:           c.ID,
		Client:       c.Client,
		Role:         c.Role,
		RoleVersion:  c.RoleVersion,
		Provider:     c.Provider,
		Model:        c.Model,
		Subject:      c.Subject,
		Status:       status,
		Error:        c.Error,
		ErrorClass:   errorClass,
		LatencyMS:    c.LatencyMS,
		InputTokens:  c.InputTokens,
		OutputTokens: c.OutputTokens,
		TotalTokens:  c.InputTokens + c.OutputTokens,
		CostUSD:      c.CostUSD,
		WorkflowID:   c.WorkflowID,
		Attempt:      c.Attempt,
		Request:      string(c.Request),
		Response:     c.Response,
	}
}

// IndexTemplate returns the composable index template (the body of
// PUT /_index_template/<prefix>-llm-calls) for the LLM call index of the
// given prefix ("vigil" when empty). It is indented JSON, stable from call to
// call, so it can be written to a file for docs or docker-compose.
//
// Mappings, "dynamic": "strict":
//
//	keyword  id, client, role, provider, model, subject, status, error_class, workflow_id
//	integer  role_version, attempt
//	long     latency_ms, input_tokens, output_tokens, total_tokens
//	double   cost_usd
//	date     @timestamp
//	text     error (with a keyword subfield error.keyword, ignore_above 1024)
//	text     response (searchable, with response.keyword, ignore_above 1024)
//	text     request (stored in _source only, "index": false: it is a JSON blob)
func IndexTemplate(prefix string) []byte {
	index := IndexName(prefix)
	keyword := map[string]any{"type": "keyword", "ignore_above": 1024}
	textWithKeyword := map[string]any{
		"type":   "text",
		"fields": map[string]any{"keyword": keyword},
	}
	t := map[string]any{
		"index_patterns": []string{index, index + "-*"},
		"priority":       200,
		"version":        1,
		"_meta": map[string]any{
			"managed_by":  "vigil",
			"description": "Vigil LLM call usage log (package usagelog)",
		},
		"template": map[string]any{
			"settings": map[string]any{
				"index": map[string]any{"number_of_shards": 1},
			},
			"mappings": map[string]any{
				"dynamic": "strict",
				"properties": map[string]any{
					"@timestamp":    map[string]any{"type": "date"},
					"id":            keyword,
					"client":        keyword,
					"role":          keyword,
					"role_version":  map[string]any{"type": "integer"},
					"provider":      keyword,
					"model":         keyword,
					"subject":       keyword,
					"status":        keyword,
					"error":         textWithKeyword,
					"error_class":   keyword,
					"latency_ms":    map[string]any{"type": "long"},
					"input_tokens":  map[string]any{"type": "long"},
					"output_tokens": map[string]any{"type": "long"},
					"total_tokens":  map[string]any{"type": "long"},
					"cost_usd":      map[string]any{"type": "double"},
					"workflow_id":   keyword,
					"attempt":       map[string]any{"type": "integer"},
					"request":       map[string]any{"type": "text", "index": false},
					"response":      textWithKeyword,
				},
			},
		},
	}
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		// Only maps, strings and numbers: cannot fail.
		panic("usagelog: marshal index template: " + err.Error())
	}
	return append(b, '\n')
}
