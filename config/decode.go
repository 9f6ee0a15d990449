package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var durationType = reflect.TypeOf(time.Duration(0))

// defaulter is implemented by list element types whose new entries start
// from non-zero defaults.
type defaulter interface{ setDefaults() }

// fieldInfo is one yaml-tagged field of a struct.
type fieldInfo struct {
	name  string // yaml key
	index int
	typ   reflect.Type
}

// yamlFields lists the yaml-tagged exported fields of struct type t.
func yamlFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, fieldInfo{name: name, index: i, typ: f.Type})
	}
	return out
}

// isStruct reports whether t is decoded as a mapping.
func isStruct(t reflect.Type) bool { return t.Kind() == reflect.Struct }

// isStructList reports whether t is a list of mappings.
func isStructList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct
}

// newElem returns a new list element of type t with its defaults applied.
func newElem(t reflect.Type) reflect.Value {
	p := reflect.New(t)
	if d, ok := p.Interface().(defaulter); ok {
		d.setDefaults()
	}
	return p.Elem()
}

// decoder decodes a yaml.Node tree onto a Config strictly, recording the
// line of every key it sets.
type decoder struct {
	file  string
	lines map[string]int
	errs  []error
}

func (d *decoder) fail(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeYAML decodes data (named name in messages) onto c.
func decodeYAML(name string, data []byte, c *Config, lines map[string]int) []error {
	d := &decoder{file: name, lines: lines}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: defaults only
		}
		d.syntaxError(err)
		return d.errs
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.fail(extra.Line, "", "only one YAML document is allowed")
	case !errors.Is(err, io.EOF):
		d.syntaxError(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return d.errs
		}
		root = root.Content[0]
	}
	root = resolveAlias(root)
	if isNull(root) {
		return d.errs
	}
	if root.Kind != yaml.MappingNode {
		d.fail(root.Line, "", "the top level must be a mapping of keys, got %s", describe(root))
		return d.errs
	}
	d.decode(root, reflect.ValueOf(c).Elem(), "")
	return d.errs
}

func (d *decoder) syntaxError(err error) {
	if m := yamlLineErr.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.fail(line, "", "%s", m[2])
		return
	}
	d.fail(0, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null")
}

// describe names a node's kind for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// decode sets v from n. A null value (empty, ~ or null) leaves the
// default in place; use "" or [] to clear a value.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	switch {
	case v.Type() == durationType:
		d.decodeScalar(n, v, path)
	case v.Kind() == reflect.Struct:
		d.decodeStruct(n, v, path)
	case v.Kind() == reflect.Slice:
		d.decodeSlice(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n.Line, path, "expected a mapping, got %s", describe(n))
		return
	}
	fields := yamlFields(v.Type())
	byName := make(map[string]fieldInfo, len(fields))
	for _, f := range fields {
		byName[f.name] = f
	}
	// Merge keys (<<: *anchor) first: explicit keys override them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			d.merge(n.Content[i+1], v, path)
		}
	}
	seen := make(map[string]int)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k.Line, path, "keys must be plain strings, got %s", describe(k))
			continue
		}
		key := k.Value
		p := joinPath(path, key)
		if first, dup := seen[key]; dup {
			d.fail(k.Line, p, "duplicate key (first set on line %d)", first)
			continue
		}
		seen[key] = k.Line
		f, ok := byName[key]
		if !ok {
			d.unknownKey(k, path, byName, fields)
			continue
		}
		d.lines[p] = k.Line
		d.decode(val, v.Field(f.index), p)
	}
}

func (d *decoder) merge(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		d.decodeStruct(n, v, path)
	case yaml.SequenceNode:
		// Earlier mappings take precedence, so apply them last.
		for i := len(n.Content) - 1; i >= 0; i-- {
			d.merge(n.Content[i], v, path)
		}
	default:
		d.fail(n.Line, path, "a merge (<<) value must be a mapping or a list of mappings")
	}
}

// secretNames are keys that look like literal secrets.
var secretNames = map[string]bool{
	"api_key": true, "apikey": true, "password": true, "passwd": true, "token": true,
	"key": true, "secret": true, "private_key": true,
}

func (d *decoder) unknownKey(k *yaml.Node, parent string, byName map[string]fieldInfo, fields []fieldInfo) {
	key := k.Value
	if _, ok := byName[key+"_env"]; ok {
		alts := key + "_env"
		if _, ok := byName[key+"_file"]; ok {
			alts += " or " + key + "_file"
		}
		d.fail(k.Line, joinPath(parent, key), "secrets are only accepted by reference; use %s", alts)
		return
	}
	if secretNames[strings.ToLower(key)] {
		d.fail(k.Line, parent, "unknown key %q (secrets are only accepted by reference, as <name>_env or <name>_file, and %s has no %s setting)", key, orTop(parent), key)
		return
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	msg := fmt.Sprintf("unknown key %q", key)
	if s := suggest(key, names); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	d.fail(k.Line, parent, "%s", msg)
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n.Line, path, "expected a list, got %s", describe(n))
		return
	}
	t := v.Type()
	out := reflect.MakeSlice(t, len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := indexPath(path, i)
		d.lines[p] = item.Line
		out.Index(i).Set(newElem(t.Elem()))
		d.decode(item, out.Index(i), p)
	}
	v.Set(out)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, path, "expected %s, got %s", typeName(v.Type()), describe(n))
		return
	}
	if err := setYAMLScalar(n, v); err != nil {
		d.fail(n.Line, path, "%s", err)
	}
}

// typeName describes t for messages.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() == reflect.Bool:
		return "a boolean"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "a number"
	}
	return t.String()
}

func errDuration(s string) error {
	return fmt.Errorf("invalid duration %q (use Go syntax such as 90s, 5m or 1h30m)", s)
}

// setYAMLScalar sets v from a YAML scalar, honouring YAML's typing: a
// quoted "10" is not an integer.
func setYAMLScalar(n *yaml.Node, v reflect.Value) error {
	tag := n.ShortTag()
	switch k := v.Kind(); {
	case v.Type() == durationType:
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			return errDuration(n.Value)
		}
		v.SetInt(int64(dur))
	case k == reflect.String:
		v.SetString(n.Value)
	case k == reflect.Bool:
		var b bool
		if tag != "!!bool" || n.Decode(&b) != nil {
			return fmt.Errorf("invalid boolean %q (use true or false)", n.Value)
		}
		v.SetBool(b)
	case k >= reflect.Int && k <= reflect.Int64:
		var i int64
		if tag != "!!int" || n.Decode(&i) != nil {
			return fmt.Errorf("invalid integer %q", n.Value)
		}
		if v.OverflowInt(i) {
			return fmt.Errorf("integer %s is out of range", n.Value)
		}
		v.SetInt(i)
	case k == reflect.Float32 || k == reflect.Float64:
		var f float64
		if (tag != "!!int" && tag != "!!float") || n.Decode(&f) != nil {
			return fmt.Errorf("invalid number %q", n.Value)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// suggest returns the candidate closest to key, or "" if none is close.
func suggest(key string, candidates []string) string {
	norm := func(s string) string {
		return strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(s))
	}
	for _, c := range candidates {
		if norm(c) == norm(key) {
			return c
		}
	}
	best, bestDist := "", 1<<30
	lk := strings.ToLower(key)
	for _, c := range candidates {
		if dist := levenshtein(lk, c); dist < bestDist {
			best, bestDist = c, dist
		}
	}
	limit := max(1, min(3, len(key)/3))
	if bestDist <= limit {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
