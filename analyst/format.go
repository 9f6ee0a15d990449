package analyst

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// num formats an integer with thousands separators: 1200 -> "1,200".
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ms formats milliseconds: whole milliseconds with separators, one decimal below 10 ms.
func ms(v float64) string {
	if v < 10 && v != math.Trunc(v) {
		return strconv.FormatFloat(round1(v), 'f', -1, 64) + " ms"
	}
	return num(int(math.Round(v))) + " ms"
}

// pct formats a share (0..1) as a whole percentage.
func pct(share float64) string {
	if share > 0 && share < 0.01 {
		return "<1%"
	}
	return strconv.Itoa(int(math.Round(share*100))) + "%"
}

// fdata reads a fact's Data whether it was built in process (ints, []string) or came back
// from JSON (float64, []any, json.Number).
type fdata map[string]any

func (d fdata) str(k string) string {
	switch v := d[k].(type) {
	case string:
		return v
	case nil:
		return ""
	case json.Number:
		return v.String()
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func (d fdata) f64(k string) float64 {
	switch v := d[k].(type) {
	case float64:
		return v
	case float32:
		return float64(v)
	case int:
		return float64(v)
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	case json.Number:
		f, _ := v.Float64()
		return f
	case string:
		f, _ := strconv.ParseFloat(v, 64)
		return f
	}
	return 0
}

func (d fdata) int(k string) int { return int(math.Round(d.f64(k))) }

func (d fdata) strs(k string) []string {
	switch v := d[k].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	case string:
		if v != "" {
			return []string{v}
		}
	}
	return nil
}

func (d fdata) bool(k string) bool {
	switch v := d[k].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b
	}
	return false
}
