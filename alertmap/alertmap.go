// Package alertmap maps the JSON body of an alert source Vigil does not know onto its alert
// model, with CEL expressions (github.com/google/cel-go) given in the configuration
// (alerts.sources.generic): each field of the alert is an expression over `body`, the request's
// JSON. Compile checks the expressions (for `vigil config check`); Map applies them to a body
// (the webhook and `vigil alert map`).
package alertmap

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/vigil-ops/vigil/profile"
)

// Spec is one source's mapping: a CEL expression per field, over the variable `body`. Empty
// expressions are absent fields. Rule, Message and Application are required.
type Spec struct {
	// Group names the group the alert belongs to (one incident per group while it is open);
	// default: the rule and application.
	Group string
	// Resolved, when it evaluates to true, makes the request resolve the alert instead of firing
	// it.
	Resolved    string
	Rule        string
	Message     string
	Severity    string
	Application string
	Instance    string
	// Fingerprint identifies the alert across requests; default: the hash of rule, application
	// and instance (profile.Alert.ComputeFingerprint).
	Fingerprint string
	// StartsAt is an RFC 3339 time, a "2006-01-02 15:04:05" UTC time, or Unix seconds or
	// milliseconds; default: when the request was received.
	StartsAt string
	TraceID  string
	// Labels is a map of strings, Values a map of numbers, Links a map of name to URL.
	Labels      string
	Values      string
	ValueString string
	Links       string
}

// Keys are the configuration keys of a Spec's fields, in order.
var Keys = []string{"group", "resolved", "rule", "message", "severity", "application", "instance",
	"fingerprint", "starts_at", "trace_id", "labels", "values", "value_string", "links"}

func (s Spec) exprs() map[string]string {
	return map[string]string{"group": s.Group, "resolved": s.Resolved, "rule": s.Rule, "message": s.Message,
		"severity": s.Severity, "application": s.Application, "instance": s.Instance, "fingerprint": s.Fingerprint,
		"starts_at": s.StartsAt, "trace_id": s.TraceID, "labels": s.Labels, "values": s.Values,
		"value_string": s.ValueString, "links": s.Links}
}

// FieldError is a problem with one field of the mapping: Field is its configuration key
// ("rule"), Message says what is wrong (a CEL compile or evaluation error, or a value of the
// wrong kind).
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// FieldErrors is every problem found, in Keys order.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// CostLimit bounds one evaluation (CEL's cost units): a body cannot make an expression run long.
const CostLimit = 1_000_000

// Mapper is a compiled Spec.
type Mapper struct {
	progs map[string]cel.Program
}

var env = func() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable("body", cel.DynType),
		ext.Strings(),
		ext.Bindings(),
		// parse_json(s) decodes a JSON text inside the body (an SNS notification's Message).
		cel.Function("parse_json", cel.Overload("parse_json_string", []*cel.Type{cel.StringType}, cel.DynType,
			cel.UnaryBinding(func(v ref.Val) ref.Val {
				s, ok := v.(types.String)
				if !ok {
					return types.NewErr("parse_json: want a string")
				}
				var out any
				if err := json.Unmarshal([]byte(s), &out); err != nil {
					return types.NewErr("parse_json: %v", err)
				}
				return types.DefaultTypeAdapter.NativeToValue(out)
			}))),
	)
	if err := err; err != nil {
		panic(err)
	}
	return e
}()

// Compile checks and compiles every expression of s; the errors name each field at fault.
func Compile(s Spec) (*Mapper, error) {
	m := &Mapper{progs: map[string]cel.Program{}}
	var errs FieldErrors
	exprs := s.exprs()
	for _, k := range []string{"rule", "message", "application"} {
		if strings.TrimSpace(exprs[k]) == "" {
			errs = append(errs, &FieldError{Field: k, Message: "required: a CEL expression over body"})
		}
	}
	for _, k := range Keys {
		src := strings.TrimSpace(exprs[k])
		if src == "" {
			continue
		}
		ast, iss := env.Compile(src)
		if iss != nil && iss.Err() != nil {
			errs = append(errs, &FieldError{Field: k, Message: "CEL: " + oneLine(iss.Err().Error())})
			continue
		}
		prg, err := env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100))
		if err != nil {
			errs = append(errs, &FieldError{Field: k, Message: "CEL: " + oneLine(err.Error())})
			continue
		}
		m.progs[k] = prg
	}
	if len(errs) > 0 {
		sortErrs(errs)
		return nil, errs
	}
	return m, nil
}

// Result is what one body says: the alert, and whether it fires or resolves, in which group.
type Result struct {
	GroupKey string         `json:"groupKey"`
	Resolved bool           `json:"resolved"`
	Alert    *profile.Alert `json:"alert"`
}

// ErrNotJSON marks a body that is not one JSON value.
var ErrNotJSON = errors.New("the body is not JSON")

// Map applies the mapping to a body received at now. A body that is not JSON is ErrNotJSON; a
// field that fails is named in FieldErrors (its key and why: the expression's error, or a value
// the alert model refuses).
func (m *Mapper) Map(body []byte, now time.Time) (Result, error) {
	var doc any
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(&doc); err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrNotJSON, err)
	}
	if dec.More() {
		return Result{}, fmt.Errorf("%w: data after the JSON value", ErrNotJSON)
	}
	vars := map[string]any{"body": doc}
	var errs FieldErrors
	fail := func(k, format string, args ...any) {
		errs = append(errs, &FieldError{Field: k, Message: fmt.Sprintf(format, args...)})
	}
	vals := map[string]any{}
	for _, k := range Keys {
		prg, ok := m.progs[k]
		if !ok {
			continue
		}
		out, _, err := prg.Eval(vars)
		if err != nil {
			fail(k, "%s", oneLine(err.Error()))
			continue
		}
		v, err := native(out)
		if err != nil {
			fail(k, "%s", err)
			continue
		}
		vals[k] = v
	}
	str := func(k string) string {
		v, ok := vals[k]
		if !ok || v == nil {
			return ""
		}
		switch x := v.(type) {
		case string:
			return x
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		default:
			fail(k, "must be a string, got %s", kind(v))
			return ""
		}
	}
	res := Result{}
	if v, ok := vals["resolved"]; ok && v != nil {
		b, isBool := v.(bool)
		if !isBool {
			fail("resolved", "must be true or false, got %s", kind(v))
		}
		res.Resolved = b
	}
	a := map[string]any{
		"rule": str("rule"), "message": str("message"), "severity": strings.ToLower(str("severity")),
		"application": str("application"), "instance": str("instance"), "fingerprint": str("fingerprint"),
		"traceId": str("trace_id"), "valueString": str("value_string"),
	}
	starts := now.UTC()
	if v, ok := vals["starts_at"]; ok && v != nil {
		t, err := toTime(v)
		if err != nil {
			fail("starts_at", "%s", err)
		}
		starts = t
	}
	a["startsAt"] = starts
	if v, ok := vals["labels"]; ok && v != nil {
		mm, isMap := v.(map[string]any)
		if !isMap {
			fail("labels", "must be a map of strings, got %s", kind(v))
		} else {
			labels := map[string]string{}
			for lk, lv := range mm {
				switch x := lv.(type) {
				case string:
					labels[lk] = x
				case float64:
					labels[lk] = strconv.FormatFloat(x, 'f', -1, 64)
				case bool:
					labels[lk] = strconv.FormatBool(x)
				case nil:
				default:
					fail("labels", "label %q must be a string, got %s", lk, kind(lv))
				}
			}
			a["labels"] = labels
		}
	}
	if v, ok := vals["values"]; ok && v != nil {
		mm, isMap := v.(map[string]any)
		if !isMap {
			fail("values", "must be a map of numbers, got %s", kind(v))
		} else {
			values := map[string]float64{}
			for vk, vv := range mm {
				switch x := vv.(type) {
				case float64:
					values[vk] = x
				case string:
					f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
					if err != nil {
						fail("values", "value %q must be a number, got %q", vk, x)
					}
					values[vk] = f
				default:
					fail("values", "value %q must be a number, got %s", vk, kind(vv))
				}
			}
			a["values"] = values
		}
	}
	if v, ok := vals["links"]; ok && v != nil {
		mm, isMap := v.(map[string]any)
		if !isMap {
			fail("links", "must be a map of name to URL, got %s", kind(v))
		} else {
			var links []profile.Link
			for _, name := range sortedKeys(mm) {
				u, _ := mm[name].(string)
				if u == "" {
					continue // an absent link, not an error
				}
				links = append(links, profile.Link{Name: name, URL: u})
			}
			a["links"] = links
		}
	}
	if len(errs) > 0 {
		sortErrs(errs)
		return Result{}, errs
	}
	for k, v := range a {
		if s, ok := v.(string); ok && s == "" {
			delete(a, k)
		}
	}
	if res.Resolved {
		// A resolution needs only the alert's identity (rule, application, instance,
		// fingerprint): what else the body says of a resolved alert is not checked.
		for _, k := range []string{"severity", "traceId", "valueString", "values", "links", "labels"} {
			delete(a, k)
		}
		a["message"] = "resolved"
	}
	b, err := json.Marshal(a)
	if err != nil {
		return Result{}, err
	}
	al, err := profile.ParseAlert(b)
	if err != nil {
		var fes profile.FieldErrors
		var fe *profile.FieldError
		switch {
		case errors.As(err, &fes):
		case errors.As(err, &fe):
			fes = profile.FieldErrors{fe}
		default:
			return Result{}, err
		}
		for _, e := range fes {
			fail(modelKey(e.Field), "%s", e.Message)
		}
		sortErrs(errs)
		return Result{}, errs
	}
	res.Alert = al
	res.GroupKey = str("group")
	if res.GroupKey == "" {
		res.GroupKey = al.Rule + "\x00" + al.Application
	}
	return res, nil
}

// modelKey names the configuration key of an alert-model field.
func modelKey(f string) string {
	for model, key := range map[string]string{"startsAt": "starts_at", "traceId": "trace_id", "valueString": "value_string",
		"endsAt": "starts_at", "links": "links", "values": "values", "labels": "labels"} {
		if f == model || strings.HasPrefix(f, model+".") || strings.HasPrefix(f, model+"[") {
			return key
		}
	}
	return f
}

// native turns a CEL value into JSON-like Go values (string, float64, bool, nil, []any,
// map[string]any).
func native(v ref.Val) (any, error) {
	if types.IsError(v) {
		return nil, errors.New(v.(*types.Err).Error())
	}
	switch x := v.(type) {
	case types.Timestamp:
		return x.Time, nil
	case types.String:
		return string(x), nil
	case types.Bool:
		return bool(x), nil
	}
	pv, err := v.ConvertToNative(reflect.TypeFor[*structpb.Value]())
	if err != nil {
		return nil, fmt.Errorf("the result (%s) is not a JSON value", v.Type().TypeName())
	}
	return pv.(*structpb.Value).AsInterface(), nil
}

func toTime(v any) (time.Time, error) {
	switch x := v.(type) {
	case time.Time:
		return x.UTC(), nil
	case float64:
		if x <= 0 || x > 1e14 {
			return time.Time{}, fmt.Errorf("%v is not Unix seconds or milliseconds", x)
		}
		if x > 1e11 {
			return time.UnixMilli(int64(x)).UTC(), nil
		}
		sec := int64(x)
		return time.Unix(sec, int64((x-float64(sec))*1e9)).UTC(), nil
	case string:
		s := strings.TrimSpace(x)
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-0700", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return toTime(f)
		}
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time, a \"2006-01-02 15:04:05\" UTC time or Unix seconds or milliseconds", truncate(s, 64))
	default:
		return time.Time{}, fmt.Errorf("must be a time, got %s", kind(v))
	}
}

func kind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case time.Time:
		return "a timestamp"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func sortErrs(errs FieldErrors) {
	pos := map[string]int{}
	for i, k := range Keys {
		pos[k] = i
	}
	sort.SliceStable(errs, func(i, j int) bool { return pos[errs[i].Field] < pos[errs[j].Field] })
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
