package config

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every environment variable that overrides a key.
const EnvPrefix = "VIGIL_"

// fallbackEnv are the conventional variables honoured below VIGIL_*.
var fallbackEnv = []struct{ env, path string }{
	{"TEMPORAL_ADDRESS", "temporal.address"},
	{"TEMPORAL_NAMESPACE", "temporal.namespace"},
	{"DATABASE_URL", "database.url"},
}

// EnvName returns the VIGIL_* variable that overrides the key at path,
// e.g. "providers[0].base_url" -> "VIGIL_PROVIDERS_0_BASE_URL".
func EnvName(path string) string {
	r := strings.NewReplacer(".", "_", "[", "_", "]", "")
	return EnvPrefix + strings.ToUpper(r.Replace(path))
}

// envMap turns an environ slice into a map; later entries win.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}

// envKey is a key that variables can set: a scalar or a list of scalars, possibly inside
// list entries.
type envKey struct {
	keys []string // the key names, "" standing for a list index
	typ  reflect.Type
	re   *regexp.Regexp // matches its variables, capturing the indexes
}

// envKeys lists the keys of Config that variables can set.
var envKeys = listEnvKeys(reflect.TypeOf(Config{}), nil)

func listEnvKeys(t reflect.Type, keys []string) []envKey {
	var out []envKey
	for _, f := range yamlFields(t) {
		k := append(keys[:len(keys):len(keys)], f.name)
		switch {
		case isStructList(f.typ):
			out = append(out, listEnvKeys(f.typ.Elem(), append(k, ""))...)
		case f.typ != durationType && isStruct(f.typ):
			out = append(out, listEnvKeys(f.typ, k)...)
		default:
			// An index is written canonically: no sign, no leading zeros.
			re := strings.Replace(strings.ToUpper(strings.Join(k, "_")), "__", "_(0|[1-9][0-9]{0,5})_", -1)
			out = append(out, envKey{keys: k, typ: f.typ, re: regexp.MustCompile("^" + EnvPrefix + re + "$")})
		}
	}
	return out
}

// envSetting is a variable that names a key.
type envSetting struct {
	name, value string
	typ         reflect.Type
	path        []any // key names (string) and list indexes (int)
}

// applyEnv writes the fallback variables, then the VIGIL_* ones, into the
// top-level mapping root, recording in sources which variable set which path.
// Indexes past the end of a list of mappings append new entries, which must
// be added in order.
func applyEnv(root *yaml.Node, env map[string]string, sources map[string]string) []error {
	var settings []envSetting
	for _, f := range fallbackEnv {
		if val := env[f.env]; val != "" {
			path := []any{}
			for _, k := range strings.Split(f.path, ".") {
				path = append(path, k)
			}
			settings = append(settings, envSetting{name: f.env, value: val, typ: reflect.TypeOf(""), path: path})
		}
	}
	var vigil []envSetting
	for name, value := range env {
		for _, k := range envKeys {
			if m := k.re.FindStringSubmatch(name); m != nil {
				s := envSetting{name: name, value: value, typ: k.typ}
				idx := m[1:]
				for _, key := range k.keys {
					if key != "" {
						s.path = append(s.path, key)
						continue
					}
					i, _ := strconv.Atoi(idx[0])
					s.path, idx = append(s.path, i), idx[1:]
				}
				vigil = append(vigil, s)
				break
			}
		}
	}
	// In path order, indexes compared as numbers, so that new entries come in order.
	sortKey := func(s envSetting) string {
		var b strings.Builder
		for _, p := range s.path {
			if i, ok := p.(int); ok {
				fmt.Fprintf(&b, "%09d/", i)
			} else {
				fmt.Fprintf(&b, "%s/", p)
			}
		}
		return b.String()
	}
	sort.Slice(vigil, func(i, j int) bool { return sortKey(vigil[i]) < sortKey(vigil[j]) })

	var errs []error
	for _, s := range append(settings, vigil...) {
		m, err := envParent(root, s, sources)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		val, err := envValue(s.value, s.typ)
		if err != nil {
			errs = append(errs, &FieldError{Path: pathString(s.path), Env: s.name, Msg: err.Error(), envParse: true})
			continue
		}
		setKey(m, s.path[len(s.path)-1].(string), val, false)
		sources[pathString(s.path)] = s.name
	}
	resolveRefConflicts(root, "", sources)
	return errs
}

// pathString formats a key path: providers[0].base_url.
func pathString(path []any) string {
	s := ""
	for _, p := range path {
		if i, ok := p.(int); ok {
			s = indexPath(s, i)
		} else {
			s = joinPath(s, p.(string))
		}
	}
	return s
}

// envParent returns the mapping that holds the key s sets, creating the
// mappings and list entries on the way.
func envParent(root *yaml.Node, s envSetting, sources map[string]string) (*yaml.Node, error) {
	n := root
	for i, p := range s.path[:len(s.path)-1] {
		if idx, ok := p.(int); ok {
			if idx > len(n.Content) {
				path := pathString(s.path[:i])
				return nil, &FieldError{Path: path, Env: s.name, envParse: true,
					Msg: fmt.Sprintf("%s has no entry %d (it has %d; new entries must be numbered in order from %d)", path, idx, len(n.Content), len(n.Content))}
			}
			if idx == len(n.Content) {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
				sources[pathString(s.path[:i+1])] = EnvName(pathString(s.path[:i+1])) + "_*"
			}
			n = n.Content[idx]
			continue
		}
		child := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		if _, ok := s.path[i+1].(int); ok {
			child = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		}
		n = setKey(n, p.(string), child, true)
	}
	return n, nil
}

// setKey sets key in mapping m to val; with keep, a value of the same kind
// already there is kept instead. It returns the value now at key.
func setKey(m *yaml.Node, key string, val *yaml.Node, keep bool) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Value == key && k.ShortTag() != "!!merge" {
			if !keep || m.Content[i+1].Kind != val.Kind {
				m.Content[i+1] = val
			}
			return m.Content[i+1]
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, val)
	return val
}

// envValue parses a variable's value into a node for type t. Lists of
// scalars are comma-separated; empty items are dropped.
func envValue(s string, t reflect.Type) (*yaml.Node, error) {
	var v any
	if t.Kind() == reflect.Slice {
		items := []any{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			item, err := envScalar(p, t.Elem())
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", len(items)+1, err)
			}
			items = append(items, item)
		}
		v = items
	} else {
		var err error
		if v, err = envScalar(s, t); err != nil {
			return nil, err
		}
	}
	var n yaml.Node
	if err := n.Encode(v); err != nil {
		return nil, err
	}
	return &n, nil
}

func envScalar(s string, t reflect.Type) (any, error) {
	ts := strings.TrimSpace(s)
	switch k := t.Kind(); {
	case t == durationType:
		d, err := time.ParseDuration(ts)
		if err != nil {
			return nil, errDuration(s)
		}
		return d, nil
	case k == reflect.String:
		return s, nil
	case k == reflect.Bool:
		b, err := strconv.ParseBool(ts)
		if err != nil {
			return nil, fmt.Errorf("invalid boolean %q (use true or false)", s)
		}
		return b, nil
	case k >= reflect.Int && k <= reflect.Int64:
		i, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid integer %q", s)
		}
		if reflect.Zero(t).OverflowInt(i) {
			return nil, fmt.Errorf("integer %s is out of range", ts)
		}
		return i, nil
	case k == reflect.Float32 || k == reflect.Float64:
		f, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			return nil, fmt.Errorf("invalid number %q", s)
		}
		return f, nil
	}
	return nil, fmt.Errorf("unsupported type %s", t)
}

// refGroups returns the groups of keys of mapping m that give one setting in
// alternative forms: <name>, <name>_env, <name>_file (only groups with at
// least two members present), as indexes of the keys in m.Content.
func refGroups(m *yaml.Node) [][]int {
	byBase := map[string][]int{}
	var order []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		if _, ok := stringValue(m.Content[i+1]); !ok {
			continue
		}
		key := m.Content[i].Value
		base := strings.TrimSuffix(strings.TrimSuffix(key, "_env"), "_file")
		if _, ok := byBase[base]; !ok {
			order = append(order, base)
		}
		byBase[base] = append(byBase[base], i)
	}
	var out [][]int
	for _, b := range order {
		if g := byBase[b]; len(g) > 1 {
			out = append(out, g)
		}
	}
	return out
}

// stringValue returns the string scalar n holds, if it holds one (a string
// that is not valid UTF-8 is encoded as !!binary).
func stringValue(n *yaml.Node) (string, bool) {
	var s string
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!binary") || n.Decode(&s) != nil {
		return "", false
	}
	return s, true
}

// eachMapping calls fn for every mapping under n (n included), with its key path.
func eachMapping(n *yaml.Node, path string, fn func(path string, m *yaml.Node)) {
	switch n.Kind {
	case yaml.MappingNode:
		fn(path, n)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.ShortTag() != "!!merge" {
				eachMapping(n.Content[i+1], joinPath(path, k.Value), fn)
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			eachMapping(item, indexPath(path, i), fn)
		}
	}
}

// resolveRefConflicts makes a higher-priority source of a setting replace
// the lower-priority forms of it: DATABASE_URL or VIGIL_DATABASE_URL
// replaces database.url_env from the file, VIGIL_PROVIDERS_0_API_KEY_ENV
// replaces providers[0].api_key_file from the file, and so on. Conflicts
// within one source are left for Validate to report.
func resolveRefConflicts(root *yaml.Node, path string, sources map[string]string) {
	eachMapping(root, path, func(path string, m *yaml.Node) {
		drop := map[int]bool{}
		for _, g := range refGroups(m) {
			level := func(i int) int {
				src, ok := sources[joinPath(path, m.Content[i].Value)]
				switch {
				case !ok:
					return 1 // file
				case strings.HasPrefix(src, EnvPrefix):
					return 3
				default:
					return 2 // conventional fallback variable
				}
			}
			top := 0
			set := func(i int) bool { s, _ := stringValue(m.Content[i+1]); return s != "" }
			for _, i := range g {
				if set(i) {
					top = max(top, level(i))
				}
			}
			for _, i := range g {
				if set(i) && level(i) < top {
					drop[i] = true
				}
			}
		}
		if len(drop) == 0 {
			return
		}
		kept := m.Content[:0:0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if !drop[i] {
				kept = append(kept, m.Content[i], m.Content[i+1])
			}
		}
		m.Content = kept
	})
}
