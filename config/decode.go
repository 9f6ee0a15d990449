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

// The file is decoded in two steps. The YAML is parsed into a yaml.Node tree and checked
// against the key names and kinds read from the struct tags: every key and list entry gets its
// line, unknown and duplicate keys and ill-typed values are reported (with the key path) and
// taken out of the tree, and null values are taken out so that they keep their default. The
// environment overrides are then written into the same tree (env.go), and yaml.v3 decodes the
// tree onto the defaults.

var durationType = reflect.TypeOf(time.Duration(0))

// fieldInfo is one yaml-tagged field of a struct.
type fieldInfo struct {
	name string // yaml key
	typ  reflect.Type
}

// yamlFields lists the yaml-tagged exported fields of struct type t.
func yamlFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); f.IsExported() && name != "" && name != "-" {
			out = append(out, fieldInfo{name: name, typ: f.Type})
		}
	}
	return out
}

// isStruct reports whether t is decoded as a mapping.
func isStruct(t reflect.Type) bool { return t.Kind() == reflect.Struct }

// isStructList reports whether t is a list of mappings.
func isStructList(t reflect.Type) bool {
	return t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Struct
}

// UnmarshalYAML starts a provider entry from its defaults (type openai, timeout 60s).
func (p *Provider) UnmarshalYAML(n *yaml.Node) error {
	type plain Provider // without this method
	v := plain{Type: ProviderOpenAI, Timeout: 60 * time.Second}
	err := n.Decode(&v)
	*p = Provider(v)
	return err
}

// decoder checks a file's yaml.Node tree, recording the line of every key.
type decoder struct {
	file  string
	lines map[string]int
	errs  []error
}

func (d *decoder) fail(line int, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineErr = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML parses data (named name in messages) and checks it against Config. It returns the
// top-level mapping, an empty one when data holds none.
func parseYAML(name string, data []byte, lines map[string]int) (*yaml.Node, []error) {
	d := &decoder{file: name, lines: lines}
	empty := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) { // EOF: an empty file, defaults only
			d.syntaxError(err)
		}
		return empty, d.errs
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
			return empty, d.errs
		}
		root = root.Content[0]
	}
	root = resolveAlias(root)
	switch {
	case isNull(root):
		return empty, d.errs
	case root.Kind != yaml.MappingNode:
		d.fail(root.Line, "", "the top level must be a mapping of keys, got %s", describe(root))
		return empty, d.errs
	}
	return d.check(root, reflect.TypeOf(Config{}), ""), d.errs
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

// check checks the non-null node n for a value of type t at path. It returns the node to
// decode in its place, or nil when n is in error (reported).
func (d *decoder) check(n *yaml.Node, t reflect.Type, path string) *yaml.Node {
	n = resolveAlias(n)
	switch {
	case t != durationType && isStruct(t):
		if n.Kind != yaml.MappingNode {
			d.fail(n.Line, path, "expected a mapping, got %s", describe(n))
			return nil
		}
		d.checkMapping(n, t, path)
		return n
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n.Line, path, "expected a list, got %s", describe(n))
			return nil
		}
		for i, item := range n.Content {
			p := indexPath(path, i)
			d.lines[p] = item.Line
			var v *yaml.Node
			if !isNull(item) {
				v = d.check(item, t.Elem(), p)
			}
			if v == nil { // keep the entry, with its zero value or defaults
				v = zeroNode(t.Elem())
			}
			n.Content[i] = v
		}
		return n
	}
	if n.Kind != yaml.ScalarNode {
		d.fail(n.Line, path, "expected %s, got %s", typeName(t), describe(n))
		return nil
	}
	if err := checkScalar(n, t); err != nil {
		d.fail(n.Line, path, "%s", err)
		return nil
	}
	if t == durationType && n.ShortTag() != "!!str" { // "0" is a duration too
		s := *n
		s.Tag, s.Style = "!!str", 0
		return &s
	}
	return n
}

// zeroNode is the node of an empty list entry of type t.
func zeroNode(t reflect.Type) *yaml.Node {
	if isStruct(t) {
		return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	}
	var n yaml.Node
	_ = n.Encode(reflect.Zero(t).Interface())
	return &n
}

// checkMapping checks the keys of n against struct type t, keeping only the pairs that
// decode. Merge keys (<<: *anchor) are checked and left to yaml.v3, explicit keys override them.
func (d *decoder) checkMapping(n *yaml.Node, t reflect.Type, path string) {
	fields := yamlFields(t)
	byName := make(map[string]reflect.Type, len(fields))
	for _, f := range fields {
		byName[f.name] = f.typ
	}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			if d.checkMerge(n.Content[i+1], t, path) {
				kept = append(kept, k, n.Content[i+1])
			}
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
		p := joinPath(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			d.fail(k.Line, p, "duplicate key (first set on line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		ft, ok := byName[k.Value]
		if !ok {
			d.unknownKey(k, path, byName, fields)
			continue
		}
		d.lines[p] = k.Line
		if isNull(resolveAlias(val)) {
			continue // keeps the default; use "" or [] to clear a value
		}
		if val = d.check(val, ft, p); val != nil {
			kept = append(kept, k, val)
		}
	}
	n.Content = kept
}

func (d *decoder) checkMerge(n *yaml.Node, t reflect.Type, path string) bool {
	n = resolveAlias(n)
	switch n.Kind {
	case yaml.MappingNode:
		d.checkMapping(n, t, path)
		return true
	case yaml.SequenceNode:
		// Earlier mappings take precedence, so record their lines last.
		for i := len(n.Content) - 1; i >= 0; i-- {
			if !d.checkMerge(n.Content[i], t, path) {
				return false
			}
		}
		return true
	}
	d.fail(n.Line, path, "a merge (<<) value must be a mapping or a list of mappings")
	return false
}

// secretNames are keys that look like literal secrets.
var secretNames = map[string]bool{
	"api_key": true, "apikey": true, "password": true, "passwd": true, "token": true,
	"key": true, "secret": true, "private_key": true,
}

func (d *decoder) unknownKey(k *yaml.Node, parent string, byName map[string]reflect.Type, fields []fieldInfo) {
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

// checkScalar checks that scalar n is a value of type t, honouring YAML's typing: a quoted
// "10" is not an integer, 1.5 is not one either, and "yes" is not a boolean.
func checkScalar(n *yaml.Node, t reflect.Type) error {
	tag := n.ShortTag()
	switch k := t.Kind(); {
	case t == durationType:
		if _, err := time.ParseDuration(n.Value); err != nil {
			return errDuration(n.Value)
		}
	case k == reflect.String:
	case k == reflect.Bool:
		if tag != "!!bool" || n.Decode(new(bool)) != nil {
			return fmt.Errorf("invalid boolean %q (use true or false)", n.Value)
		}
	case k >= reflect.Int && k <= reflect.Int64:
		var i int64
		if tag != "!!int" || n.Decode(&i) != nil {
			return fmt.Errorf("invalid integer %q", n.Value)
		}
		if reflect.Zero(t).OverflowInt(i) {
			return fmt.Errorf("integer %s is out of range", n.Value)
		}
	case k == reflect.Float32 || k == reflect.Float64:
		if (tag != "!!int" && tag != "!!float") || n.Decode(new(float64)) != nil {
			return fmt.Errorf("invalid number %q", n.Value)
		}
	default:
		return fmt.Errorf("unsupported type %s", t)
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
