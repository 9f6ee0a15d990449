package roles

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/store"
)

// Catalog says which providers and models exist, so a role naming anything else is refused
// when it is saved rather than failing when it is called.
type Catalog interface {
	// CheckModel returns nil when provider/model can be called, or an error saying why not.
	CheckModel(provider, model string) error
	// Unlimited reports whether the model has no requests-per-minute budget.
	Unlimited(provider, model string) bool
}

// ForCall prepares a role for a call: links to models without a budget are marked Unlimited.
func ForCall(r Role, c Catalog) Role {
	if c == nil {
		return r
	}
	chain := make([]Link, len(r.Chain))
	for i, l := range r.Chain {
		l.Unlimited = c.Unlimited(l.Provider, l.Model)
		chain[i] = l
	}
	r.Chain = chain
	return r
}

// Meta is the stored metadata of one role version.
type Meta struct {
	Version   int       `json:"version"`
	Author    string    `json:"author"`
	Comment   string    `json:"comment,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	Deleted   bool      `json:"deleted,omitempty"`
}

// Versioned is a role with the metadata of its version.
type Versioned struct {
	Role
	Meta Meta `json:"meta"`
}

// ErrNotFound is returned for a role (or version) that does not exist.
var ErrNotFound = errors.New("role not found")

// ValidationError lists everything wrong with a role, each problem naming its field.
type ValidationError struct {
	Code     string
	Problems []FieldProblem
}

// FieldProblem is one problem of a role definition.
type FieldProblem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is "field: message", as the role files' errors print it.
func (p FieldProblem) Error() string { return p.Field + ": " + p.Message }

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Message
	}
	return fmt.Sprintf("role %q is invalid: %s", e.Code, strings.Join(parts, "; "))
}

// Service keeps roles as immutable versions in the store: every change is a new version with
// its author and time, and any version can be restored.
type Service struct {
	Store   store.Store
	Catalog Catalog // nil: providers are not checked
	// OnChange, when set, is called with the code of every role this service changes (a new
	// version, a deletion, a restore): caches of the current version drop it.
	OnChange func(code string)
}

func (s *Service) changed(code string) {
	if s.OnChange != nil {
		s.OnChange(code)
	}
}

// Check validates r on its own and against the catalog, returning a *ValidationError.
func (s *Service) Check(r Role) error {
	var probs []FieldProblem
	if err := r.Validate(); err != nil {
		for _, e := range unwrapAll(err) {
			fp := FieldProblem{Message: e.Error()}
			errors.As(e, &fp)
			probs = append(probs, fp)
		}
	}
	if r.ResponseFormat.Type == "json_schema" && len(r.ResponseFormat.Schema) > 0 {
		if err := CheckSchema(r.ResponseFormat.Schema); err != nil {
			probs = append(probs, FieldProblem{Field: "response_format.schema", Message: err.Error()})
		}
	}
	if s.Catalog != nil {
		for i, l := range r.Chain {
			if l.Provider == "" || l.Model == "" {
				continue
			}
			if err := s.Catalog.CheckModel(l.Provider, l.Model); err != nil {
				probs = append(probs, FieldProblem{Field: fmt.Sprintf("chain[%d]", i), Message: err.Error()})
			}
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Code: r.Code, Problems: probs}
	}
	return nil
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unwrapAll(e)...)
		}
		return out
	}
	return []error{err}
}

// spec is the stored JSON of a role: the definition without store metadata.
func spec(r Role) (json.RawMessage, error) {
	r.Version = 0
	return json.Marshal(r)
}

func fromVersion(rv store.RoleVersion) (Versioned, error) {
	var r Role
	if !rv.Deleted {
		if err := json.Unmarshal(rv.Spec, &r); err != nil {
			return Versioned{}, fmt.Errorf("role %q version %d is corrupt: %w", rv.Code, rv.Version, err)
		}
	}
	r.Code, r.Version = rv.Code, rv.Version
	return Versioned{Role: r, Meta: Meta{Version: rv.Version, Author: rv.Author, Comment: rv.Comment, CreatedAt: rv.CreatedAt, Deleted: rv.Deleted}}, nil
}

// Put validates r and stores it as a new version. When r equals the latest version, nothing is
// stored and the latest version is returned with changed=false (so applying the same file twice
// creates no version).
func (s *Service) Put(ctx context.Context, r Role, author, comment string) (v Versioned, changed bool, err error) {
	if err := s.Check(r); err != nil {
		return Versioned{}, false, err
	}
	if cur, err := s.Get(ctx, r.Code, 0); err == nil && sameRole(cur.Role, r) {
		return cur, false, nil
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return Versioned{}, false, err
	}
	b, err := spec(r)
	if err != nil {
		return Versioned{}, false, err
	}
	rv, err := s.Store.PutRoleVersion(ctx, store.RoleVersion{Code: r.Code, Spec: b, Author: author, Comment: comment})
	if err != nil {
		return Versioned{}, false, err
	}
	s.changed(r.Code)
	v, err = fromVersion(rv)
	return v, true, err
}

func sameRole(a, b Role) bool {
	a.Version, b.Version = 0, 0
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	var va, vb any
	_ = json.Unmarshal(ja, &va)
	_ = json.Unmarshal(jb, &vb)
	return reflect.DeepEqual(va, vb)
}

// Get returns a version of a role (0 = the latest). A deleted role is ErrNotFound at version 0.
func (s *Service) Get(ctx context.Context, code string, version int) (Versioned, error) {
	rv, err := s.Store.GetRole(ctx, code, version)
	if errors.Is(err, store.ErrNotFound) {
		if version > 0 {
			return Versioned{}, fmt.Errorf("%w: %q has no version %d", ErrNotFound, code, version)
		}
		return Versioned{}, fmt.Errorf("%w: %q", ErrNotFound, code)
	}
	if err != nil {
		return Versioned{}, err
	}
	return fromVersion(rv)
}

// List returns the latest version of every role that is not deleted, sorted by code.
func (s *Service) List(ctx context.Context) ([]Versioned, error) {
	rvs, err := s.Store.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Versioned, 0, len(rvs))
	for _, rv := range rvs {
		v, err := fromVersion(rv)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Versions returns the metadata of every version of a role, oldest first.
func (s *Service) Versions(ctx context.Context, code string) ([]Meta, error) {
	rvs, err := s.Store.ListRoleVersions(ctx, code)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, code)
	}
	if err != nil {
		return nil, err
	}
	out := make([]Meta, len(rvs))
	for i, rv := range rvs {
		out[i] = Meta{Version: rv.Version, Author: rv.Author, Comment: rv.Comment, CreatedAt: rv.CreatedAt, Deleted: rv.Deleted}
	}
	return out, nil
}

// Delete marks a role deleted; its versions stay and can be restored.
func (s *Service) Delete(ctx context.Context, code, author string) error {
	err := s.Store.DeleteRole(ctx, code, author)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %q", ErrNotFound, code)
	}
	if err == nil {
		s.changed(code)
	}
	return err
}

// Restore makes an old version the latest again, as a new version.
func (s *Service) Restore(ctx context.Context, code string, version int, author string) (Versioned, error) {
	old, err := s.Get(ctx, code, version)
	if err != nil {
		return Versioned{}, err
	}
	if old.Meta.Deleted {
		return Versioned{}, fmt.Errorf("%w: version %d of %q is a deletion; restore an earlier version", ErrNotFound, version, code)
	}
	r := old.Role
	r.Version = 0
	b, err := spec(r)
	if err != nil {
		return Versioned{}, err
	}
	rv, err := s.Store.PutRoleVersion(ctx, store.RoleVersion{Code: code, Spec: b, Author: author, Comment: fmt.Sprintf("restore of version %d", version)})
	if err != nil {
		return Versioned{}, err
	}
	s.changed(code)
	return fromVersion(rv)
}

// SeedDefaults stores each role of the default pack whose code has never existed (a role that
// an operator deleted stays deleted). It returns the codes it added.
func (s *Service) SeedDefaults(ctx context.Context) ([]string, error) {
	defs, err := Defaults()
	if err != nil {
		return nil, err
	}
	return s.seed(ctx, defs, "vigil (default pack)")
}

func (s *Service) seed(ctx context.Context, rs []Role, author string) ([]string, error) {
	var added []string
	for _, r := range rs {
		if _, err := s.Store.ListRoleVersions(ctx, r.Code); err == nil {
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return added, err
		}
		if _, _, err := s.Put(ctx, r, author, "loaded at start"); err != nil {
			return added, err
		}
		added = append(added, r.Code)
	}
	return added, nil
}

// ReadFiles parses role YAML files: one file, or every *.yaml/*.yml file of a directory.
// Errors name the file (and line, where the YAML parser knows it).
func ReadFiles(path string) ([]Role, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if fi.IsDir() {
		files = nil
		for _, pat := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(path, pat))
			files = append(files, m...)
		}
		sort.Strings(files)
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no *.yaml files", path)
		}
	}
	var out []Role
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rs, err := ParseAll(f, b)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, rs...)
	}
	return out, errors.Join(errs...)
}
