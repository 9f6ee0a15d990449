package config

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// FieldError is one problem with one configuration key. Load and Validate
// return an [errors.Join] of FieldErrors; use [errors.As] or [Errors] to
// inspect them.
type FieldError struct {
	// File is the configuration file the value came from, if it did.
	File string
	// Line is the 1-based line in File, 0 when the value did not come from
	// the file (or the problem concerns the whole file).
	Line int
	// Path is the key path, e.g. providers[0].models[1].rpm; empty for
	// problems with the document as a whole.
	Path string
	// Env is the environment variable that supplied the value, if any.
	Env string
	// Msg describes the problem.
	Msg string

	envParse bool // the variable's value could not be parsed
}

// Error formats the problem as "file:line: path: msg", "VAR: msg",
// "path: msg (from VAR)" or "path: msg (default)".
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.Env != "" && e.envParse:
		return e.Env + ": " + e.Msg
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "" && e.Env == "":
		fmt.Fprintf(&b, "%s: ", e.File)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	switch {
	case e.Line > 0:
	case e.Env != "":
		fmt.Fprintf(&b, " (from %s)", e.Env)
	case e.File == "" && e.Path != "":
		b.WriteString(" (default)")
	}
	return b.String()
}

// Errors flattens err (as returned by Load or Validate) into its
// FieldErrors. Errors that are not FieldErrors are dropped.
func Errors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if fe, ok := err.(*FieldError); ok {
			out = append(out, fe)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *FieldError
		if errors.As(err, &fe) {
			out = append(out, fe)
		}
	}
	walk(err)
	return out
}

// meta records where each value came from.
type meta struct {
	file    string            // config file name, "" when none
	lines   map[string]int    // key path -> line in file
	sources map[string]string // key path -> environment variable
	env     map[string]string // environ given to Load, nil = process env
}

// locate finds the origin of the value at path, walking up to the nearest
// ancestor that has one (so a missing key inside a list entry cites the
// entry's line).
func (m *meta) locate(path string) (line int, env string) {
	if m == nil {
		return 0, ""
	}
	for p := path; p != ""; p = parentPath(p) {
		if e, ok := m.sources[p]; ok {
			return 0, e
		}
		if l, ok := m.lines[p]; ok {
			return l, ""
		}
	}
	return 0, ""
}

// parentPath returns "a.b" for "a.b.c" and "a.b" for "a.b[3]".
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}

// collector accumulates FieldErrors.
type collector struct {
	m    *meta
	errs []error
}

// add reports msg for the value at path, locating it via the meta.
func (c *collector) add(path, format string, args ...any) {
	line, env := c.m.locate(path)
	fe := &FieldError{Path: path, Line: line, Env: env, Msg: fmt.Sprintf(format, args...)}
	if line > 0 && c.m != nil {
		fe.File = c.m.file
	}
	c.errs = append(c.errs, fe)
}

// sortErrors orders errors that carry a line by line, keeping the others
// (environment and defaults) after them in their original order.
func sortErrors(errs []error) {
	line := func(e error) int {
		if fe, ok := e.(*FieldError); ok && fe.Line > 0 {
			return fe.Line
		}
		return int(^uint(0) >> 1)
	}
	sort.SliceStable(errs, func(i, j int) bool { return line(errs[i]) < line(errs[j]) })
}
