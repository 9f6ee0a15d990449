package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
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

// envApplier applies environment overrides by walking the yaml tags.
type envApplier struct {
	env     map[string]string
	sources map[string]string
	errs    []error
}

// applyEnv applies the fallback variables, then VIGIL_* ones, onto c,
// recording in sources which variable set which path.
func applyEnv(c *Config, env map[string]string, sources map[string]string) []error {
	a := &envApplier{env: env, sources: sources}
	root := reflect.ValueOf(c).Elem()
	for _, f := range fallbackEnv {
		if val := env[f.env]; val != "" {
			fv, ok := lookupPath(root, f.path)
			if !ok {
				panic("config: bad fallback path " + f.path)
			}
			fv.SetString(val)
			sources[f.path] = f.env
		}
	}
	a.walk(root, "", strings.TrimSuffix(EnvPrefix, "_"))
	resolveRefConflicts(root, "", sources)
	return a.errs
}

// lookupPath finds the field at a dotted path of struct keys.
func lookupPath(v reflect.Value, path string) (reflect.Value, bool) {
	for _, key := range strings.Split(path, ".") {
		found := false
		for _, f := range yamlFields(v.Type()) {
			if f.name == key {
				v, found = v.Field(f.index), true
				break
			}
		}
		if !found {
			return reflect.Value{}, false
		}
	}
	return v, true
}

func (a *envApplier) walk(v reflect.Value, path, name string) {
	t := v.Type()
	switch {
	case t != durationType && isStruct(t):
		for _, f := range yamlFields(t) {
			a.walk(v.Field(f.index), joinPath(path, f.name), name+"_"+strings.ToUpper(f.name))
		}
	case isStructList(t):
		a.walkList(v, path, name)
	default:
		s, ok := a.env[name]
		if !ok {
			return
		}
		if err := setFromEnv(v, s); err != nil {
			a.errs = append(a.errs, &FieldError{Path: path, Env: name, Msg: err.Error(), envParse: true})
			return
		}
		a.sources[path] = name
	}
}

// walkList applies NAME_<i>_... variables to a list of mappings. Indexes
// past the end append new entries, which must be added in order.
func (a *envApplier) walkList(v reflect.Value, path, name string) {
	prefix := name + "_"
	elemType := v.Type().Elem()
	used := map[int][]string{} // index -> variables naming it
	for k := range a.env {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		idx, tail, ok := cutIndex(rest)
		if !ok || !envKeyMatches(elemType, tail) {
			continue
		}
		used[idx] = append(used[idx], k)
	}
	n := v.Len()
	for ; len(used[n]) > 0; n++ {
		v.Set(reflect.Append(v, newElem(elemType)))
		a.sources[indexPath(path, n)] = fmt.Sprintf("%s%d_*", prefix, n)
	}
	var bad []int
	for idx := range used {
		if idx >= n {
			bad = append(bad, idx)
		}
	}
	sort.Ints(bad)
	for _, idx := range bad {
		vars := used[idx]
		sort.Strings(vars)
		for _, k := range vars {
			a.errs = append(a.errs, &FieldError{Path: path, Env: k, envParse: true,
				Msg: fmt.Sprintf("%s has no entry %d (it has %d; new entries must be numbered in order from %d)", path, idx, n, n)})
		}
	}
	for i := 0; i < v.Len(); i++ {
		a.walk(v.Index(i), indexPath(path, i), prefix+strconv.Itoa(i))
	}
}

// cutIndex splits "12_REST" into 12 and "REST". The index must be written
// canonically (no sign, no leading zeros).
func cutIndex(s string) (int, string, bool) {
	digits, tail, ok := strings.Cut(s, "_")
	if !ok || digits == "" || tail == "" || len(digits) > 6 {
		return 0, "", false
	}
	idx, err := strconv.Atoi(digits)
	if err != nil || strconv.Itoa(idx) != digits {
		return 0, "", false
	}
	return idx, tail, true
}

// envKeyMatches reports whether rest (the part of a variable name after a
// list index) names a key of element type t.
func envKeyMatches(t reflect.Type, rest string) bool {
	for _, f := range yamlFields(t) {
		up := strings.ToUpper(f.name)
		switch {
		case isStructList(f.typ):
			if tail, ok := strings.CutPrefix(rest, up+"_"); ok {
				if _, sub, ok := cutIndex(tail); ok && envKeyMatches(f.typ.Elem(), sub) {
					return true
				}
			}
		case f.typ != durationType && isStruct(f.typ):
			if tail, ok := strings.CutPrefix(rest, up+"_"); ok && envKeyMatches(f.typ, tail) {
				return true
			}
		default:
			if rest == up {
				return true
			}
		}
	}
	return false
}

// setFromEnv parses an environment value into v. Lists of scalars are
// comma-separated; empty items are dropped.
func setFromEnv(v reflect.Value, s string) error {
	if v.Kind() == reflect.Slice {
		var parts []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		out := reflect.MakeSlice(v.Type(), len(parts), len(parts))
		for i, p := range parts {
			if err := setEnvScalar(out.Index(i), p); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
		}
		v.Set(out)
		return nil
	}
	return setEnvScalar(v, s)
}

func setEnvScalar(v reflect.Value, s string) error {
	ts := strings.TrimSpace(s)
	switch k := v.Kind(); {
	case v.Type() == durationType:
		d, err := time.ParseDuration(ts)
		if err != nil {
			return errDuration(s)
		}
		v.SetInt(int64(d))
	case k == reflect.String:
		v.SetString(s)
	case k == reflect.Bool:
		b, err := strconv.ParseBool(ts)
		if err != nil {
			return fmt.Errorf("invalid boolean %q (use true or false)", s)
		}
		v.SetBool(b)
	case k >= reflect.Int && k <= reflect.Int64:
		i, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		if v.OverflowInt(i) {
			return fmt.Errorf("integer %s is out of range", ts)
		}
		v.SetInt(i)
	case k == reflect.Float32 || k == reflect.Float64:
		f, err := strconv.ParseFloat(ts, 64)
		if err != nil {
			return fmt.Errorf("invalid number %q", s)
		}
		v.SetFloat(f)
	default:
		return fmt.Errorf("unsupported type %s", v.Type())
	}
	return nil
}

// refGroups returns, for a struct type, the groups of keys that give one
// setting in alternative forms: <name>, <name>_env, <name>_file (only
// groups with at least two members present).
func refGroups(fields []fieldInfo) [][]fieldInfo {
	byBase := map[string][]fieldInfo{}
	var order []string
	for _, f := range fields {
		if f.typ.Kind() != reflect.String {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(f.name, "_env"), "_file")
		if _, ok := byBase[base]; !ok {
			order = append(order, base)
		}
		byBase[base] = append(byBase[base], f)
	}
	var out [][]fieldInfo
	for _, b := range order {
		if g := byBase[b]; len(g) > 1 {
			out = append(out, g)
		}
	}
	return out
}

// resolveRefConflicts makes a higher-priority source of a setting replace
// the lower-priority forms of it: DATABASE_URL or VIGIL_DATABASE_URL
// replaces database.url_env from the file, VIGIL_PROVIDERS_0_API_KEY_ENV
// replaces providers[0].api_key_file from the file, and so on. Conflicts
// within one source are left for Validate to report.
func resolveRefConflicts(v reflect.Value, path string, sources map[string]string) {
	t := v.Type()
	switch {
	case t != durationType && isStruct(t):
		fields := yamlFields(t)
		for _, g := range refGroups(fields) {
			level := func(f fieldInfo) int {
				src, ok := sources[joinPath(path, f.name)]
				switch {
				case !ok:
					return 1 // file or default
				case strings.HasPrefix(src, EnvPrefix):
					return 3
				default:
					return 2 // conventional fallback variable
				}
			}
			top := 0
			for _, f := range g {
				if v.Field(f.index).String() != "" {
					top = max(top, level(f))
				}
			}
			for _, f := range g {
				if fv := v.Field(f.index); fv.String() != "" && level(f) < top {
					fv.SetString("")
				}
			}
		}
		for _, f := range fields {
			resolveRefConflicts(v.Field(f.index), joinPath(path, f.name), sources)
		}
	case isStructList(t):
		for i := 0; i < v.Len(); i++ {
			resolveRefConflicts(v.Index(i), indexPath(path, i), sources)
		}
	}
}
