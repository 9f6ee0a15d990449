package starter

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
)

// unknownFieldError is a key of a JSON object that no field of the Go value it decodes into
// takes (what json.Decoder.DisallowUnknownFields refuses, reported with its field as data).
type unknownFieldError struct{ Field string }

func (e *unknownFieldError) Error() string { return "json: unknown field " + strconv.Quote(e.Field) }

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkKnownFields walks the first JSON value of body against the type of v (a pointer) and
// returns an *unknownFieldError for the first object key, in document order, that no field
// takes. It runs after v decoded without error, so the value is known to be well-formed and of
// the right shape. Keys match field names as encoding/json matches them (exact first, then
// case-insensitively); a value that decodes itself (json.Unmarshaler) is not looked into.
func checkKnownFields(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return walkKnown(dec, reflect.TypeOf(v))
}

func walkKnown(dec *json.Decoder, t reflect.Type) error {
	tok, err := dec.Token()
	if err != nil {
		return nil // not reached after a successful decode
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	for t != nil && t.Kind() == reflect.Pointer && !decodesItself(t) {
		t = t.Elem()
	}
	if t == nil || decodesItself(t) {
		return skipRest(dec)
	}
	switch {
	case d == '{' && t.Kind() == reflect.Struct:
		fields := jsonFields(t)
		for dec.More() {
			kt, _ := dec.Token()
			key, _ := kt.(string)
			ft, ok := fieldOf(fields, key)
			if !ok {
				return &unknownFieldError{Field: key}
			}
			if err := walkKnown(dec, ft); err != nil {
				return err
			}
		}
	case d == '{' && t.Kind() == reflect.Map:
		for dec.More() {
			_, _ = dec.Token()
			if err := walkKnown(dec, t.Elem()); err != nil {
				return err
			}
		}
	case d == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array):
		for dec.More() {
			if err := walkKnown(dec, t.Elem()); err != nil {
				return err
			}
		}
	default: // into an interface{}: any key is taken
		return skipRest(dec)
	}
	_, _ = dec.Token() // the closing delimiter
	return nil
}

// decodesItself reports whether encoding/json hands a value of type t to its own unmarshaler.
func decodesItself(t reflect.Type) bool {
	for _, i := range []reflect.Type{jsonUnmarshaler, textUnmarshaler} {
		if t.Implements(i) || (t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(i)) {
			return true
		}
	}
	return false
}

// skipRest reads the rest of an object or array whose opening delimiter was read.
func skipRest(dec *json.Decoder) error {
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return nil
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

type jsonField struct {
	name string
	typ  reflect.Type
}

// jsonFields lists the JSON names of t's fields, those of embedded structs after t's own (the
// shallower field wins, as in encoding/json).
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	level := []reflect.Type{t}
	seen := map[reflect.Type]bool{}
	for len(level) > 0 {
		var next []reflect.Type
		for _, st := range level {
			if seen[st] {
				continue
			}
			seen[st] = true
			for i := range st.NumField() {
				f := st.Field(i)
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				ft := f.Type
				if f.Anonymous && name == "" {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if ft.Kind() == reflect.Struct {
						next = append(next, ft)
						continue
					}
				}
				if !f.IsExported() {
					continue
				}
				if name == "" {
					name = f.Name
				}
				out = append(out, jsonField{name: name, typ: f.Type})
			}
		}
		level = next
	}
	return out
}

// fieldOf finds the field a key decodes into: the exact name first, then the first name equal
// under case folding.
func fieldOf(fields []jsonField, key string) (reflect.Type, bool) {
	for _, f := range fields {
		if f.name == key {
			return f.typ, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.name, key) {
			return f.typ, true
		}
	}
	return nil, false
}
