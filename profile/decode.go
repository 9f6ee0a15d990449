package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ParseAlert decodes an alert document strictly (unknown or duplicated fields, wrong types and
// trailing data are errors), fills defaults, derives the SQL tables and CRUD types, and validates
// it. A single problem is returned as *FieldError, several as FieldErrors; each names the JSON
// path at fault and, for syntax errors, the byte offset.
func ParseAlert(data []byte) (*Alert, error) {
	present, err := checkShape(data, reflect.TypeFor[Alert](), "")
	if err != nil {
		return nil, err
	}
	var a Alert
	if err := strictUnmarshal(data, &a); err != nil {
		return nil, err
	}
	if err := a.normalize(present); err != nil {
		return nil, err
	}
	return &a, nil
}

// ParseProfile decodes and validates a transaction profile document on its own, as a telemetry
// source returns it. Errors name paths relative to the profile ("spans[2].kind").
func ParseProfile(data []byte) (*Profile, error) {
	present, err := checkShape(data, reflect.TypeFor[Profile](), "")
	if err != nil {
		return nil, err
	}
	var p Profile
	if err := strictUnmarshal(data, &p); err != nil {
		return nil, err
	}
	var errs FieldErrors
	p.normalize("", present, &errs)
	if err := errs.asError(); err != nil {
		return nil, err
	}
	return &p, nil
}

// strictUnmarshal is the final decode after checkShape has accepted the document; it should not
// fail, but if it does the error still names the field.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &FieldError{Field: te.Field, Message: fmt.Sprintf("must be %s, got %s (byte offset %d)", te.Type, te.Value, te.Offset)}
		}
		return &FieldError{Message: err.Error()}
	}
	return nil
}

// checkShape walks the JSON token stream against the Go type the document decodes into, so that
// every structural problem is reported with its full path (array indices included), which
// encoding/json's own errors do not give. It returns the set of paths present in the document.
func checkShape(data []byte, t reflect.Type, root string) (map[string]bool, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &FieldError{Field: root, Message: "empty document"}
	}
	c := &shapeChecker{dec: json.NewDecoder(bytes.NewReader(data)), present: map[string]bool{}}
	c.dec.UseNumber()
	tok, err := c.token(root)
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &FieldError{Field: root, Message: "must be a JSON object, got " + tokenKind(tok)}
	}
	if err := c.value(root, t, tok); err != nil {
		return nil, err
	}
	off := c.dec.InputOffset()
	off += int64(len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n")))
	if _, err := c.dec.Token(); err != io.EOF {
		return nil, &FieldError{Field: root, Message: fmt.Sprintf("invalid JSON at byte offset %d: unexpected data after the top-level object", off), Malformed: true}
	}
	if err := c.errs.asError(); err != nil {
		return nil, err
	}
	return c.present, nil
}

type shapeChecker struct {
	dec     *json.Decoder
	errs    FieldErrors
	present map[string]bool
}

// token reads the next token; a syntax error is fatal and names the path being read and the byte
// offset.
func (c *shapeChecker) token(path string) (json.Token, error) {
	tok, err := c.dec.Token()
	if err == nil {
		return tok, nil
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return nil, &FieldError{Field: path, Message: fmt.Sprintf("invalid JSON at byte offset %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: ")), Malformed: true}
	case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, &FieldError{Field: path, Message: fmt.Sprintf("invalid JSON at byte offset %d: unexpected end of input", c.dec.InputOffset()), Malformed: true}
	default:
		return nil, &FieldError{Field: path, Message: fmt.Sprintf("invalid JSON at byte offset %d: %v", c.dec.InputOffset(), err), Malformed: true}
	}
}

var timeType = reflect.TypeFor[time.Time]()

// value checks the value that starts with tok against t.
func (c *shapeChecker) value(path string, t reflect.Type, tok json.Token) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if tok == nil { // null leaves the field at its zero value
		return nil
	}
	mismatch := func(want string) error {
		c.errs.add(path, "must be "+want+", got "+tokenKind(tok))
		return c.skip(path, tok)
	}
	switch v := tok.(type) {
	case json.Delim:
		switch {
		case v == '{' && t.Kind() == reflect.Struct && t != timeType:
			return c.object(path, t)
		case v == '{' && t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
			return c.mapObject(path, t)
		case v == '[' && t.Kind() == reflect.Slice:
			return c.array(path, t)
		case t.Kind() == reflect.Interface:
			return c.skip(path, tok)
		default:
			return mismatch(typeKind(t))
		}
	case string:
		switch {
		case t == timeType:
			if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
				c.errs.add(path, "must be an RFC3339 timestamp such as 2025-01-02T14:03:00Z")
			}
		case t.Kind() == reflect.String, t.Kind() == reflect.Interface:
		default:
			return mismatch(typeKind(t))
		}
	case json.Number:
		switch t.Kind() {
		case reflect.Float32, reflect.Float64:
			if f, err := v.Float64(); err != nil || math.IsInf(f, 0) {
				c.errs.add(path, "number out of range")
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if _, err := strconv.ParseInt(string(v), 10, t.Bits()); err != nil {
				c.errs.add(path, "must be an integer (no fraction or exponent)")
			}
		case reflect.Interface:
		default:
			return mismatch(typeKind(t))
		}
	case bool:
		if t.Kind() != reflect.Bool && t.Kind() != reflect.Interface {
			return mismatch(typeKind(t))
		}
	}
	return nil
}

func (c *shapeChecker) object(path string, t reflect.Type) error {
	fields := jsonFields(t)
	seen := map[string]bool{}
	for c.dec.More() {
		tok, err := c.token(path)
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		p := joinPath(path, key)
		valTok, err := c.token(p)
		if err != nil {
			return err
		}
		ft, known := fields[key]
		switch {
		case !known:
			c.errs.add(p, "unknown field")
			if err := c.skip(p, valTok); err != nil {
				return err
			}
			continue
		case seen[key]:
			c.errs.add(p, "duplicate field")
		}
		seen[key] = true
		if valTok != nil {
			c.present[p] = true
		}
		if err := c.value(p, ft, valTok); err != nil {
			return err
		}
	}
	_, err := c.token(path) // '}'
	return err
}

func (c *shapeChecker) mapObject(path string, t reflect.Type) error {
	seen := map[string]bool{}
	for c.dec.More() {
		tok, err := c.token(path)
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		p := joinPath(path, key)
		if seen[key] {
			c.errs.add(p, "duplicate key")
		}
		seen[key] = true
		valTok, err := c.token(p)
		if err != nil {
			return err
		}
		if err := c.value(p, t.Elem(), valTok); err != nil {
			return err
		}
	}
	_, err := c.token(path)
	return err
}

func (c *shapeChecker) array(path string, t reflect.Type) error {
	for i := 0; c.dec.More(); i++ {
		p := fmt.Sprintf("%s[%d]", path, i)
		tok, err := c.token(p)
		if err != nil {
			return err
		}
		if err := c.value(p, t.Elem(), tok); err != nil {
			return err
		}
	}
	_, err := c.token(path)
	return err
}

// skip consumes the rest of a value that started with tok.
func (c *shapeChecker) skip(path string, tok json.Token) error {
	d, ok := tok.(json.Delim)
	if !ok || d == '}' || d == ']' {
		return nil
	}
	for depth := 1; depth > 0; {
		tok, err := c.token(path)
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
	}
	return nil
}

func tokenKind(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if v == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", tok)
}

func typeKind(t reflect.Type) string {
	switch {
	case t == timeType:
		return "an RFC3339 timestamp string"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "true or false"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	case t.Kind() == reflect.Slice:
		return "an array"
	case t.Kind() == reflect.Map && (t.Elem().Kind() == reflect.Float64 || t.Elem().Kind() == reflect.Float32):
		return "an object of numbers"
	case t.Kind() == reflect.Map:
		return "an object of strings"
	default:
		return "an object"
	}
}

// joinPath appends an object key to a JSON path, quoting keys that are not plain identifiers.
func joinPath(path, key string) string {
	plain := key != ""
	for i, r := range key {
		if !(r == '_' || r == '-' && i > 0 || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' && i > 0) {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	default:
		return path + "." + key
	}
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// jsonFields maps the JSON names of a struct's fields to their types (embedded structs flattened).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				if _, dup := m[k]; !dup {
					m[k] = v
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = f.Type
	}
	fieldCache.Store(t, m)
	return m
}
