package activities

import (
	"encoding/json"
	"log/slog"
	"strings"
)

// decodeJSONAnswer decodes an LLM's JSON answer, tolerating a ```json fence.
func decodeJSONAnswer(text string, v any) error {
	s := strings.TrimSpace(text)
	s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "```json"), "```"), "```")
	return json.Unmarshal([]byte(strings.TrimSpace(s)), v)
}

// logger is l, or the default logger when none is set.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.Default()
	}
	return l
}
