package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/mcpserver"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/store"
	"github.com/vigil-ops/vigil/tuning"
)

// ErrTypeRepoRejected marks a GitHub call that will not succeed by retrying (bad token, no such
// repository or branch).
const ErrTypeRepoRejected = "RepoRejected"

// Repo is the code host the code-tuning agent reads and opens pull requests on (GitHub).
type Repo interface {
	Tree(ctx context.Context, owner, repo, branch string) (string, []string, error)
	Read(ctx context.Context, owner, repo, path, ref string) (string, error)
	OpenPullRequest(ctx context.Context, owner, repo, base, branch, title, body string, files []ghclient.FileChange) (ghclient.PullRequest, error)
}

// Tuning holds the code-tuning agent's activities and what they use. Workflows reference its
// methods through a nil *Tuning.
type Tuning struct {
	// Store holds the incidents the problems are picked from.
	Store store.Store
	// GitHub is the code host (nil: not configured).
	GitHub Repo
}

// slowSQLThresholdMs is how slow a statement must have been to be worth a change.
const slowSQLThresholdMs = 1000

// TuningProblems picks the worst problems of the recent incidents: the slowest SQL statements
// (at least 1 s), then the most frequent errors, at most max.
func (a *Tuning) TuningProblems(ctx context.Context, max int) ([]tuning.Problem, error) {
	if max <= 0 {
		max = 3
	}
	var sqlProblems, errProblems []tuning.Problem
	sqls, err := mcpserver.FindSlowSQL(ctx, a.Store, mcpserver.SlowSQLInput{Filter: mcpserver.Filter{Limit: max}, MinDurationMs: slowSQLThresholdMs})
	if err != nil {
		return nil, err
	}
	for _, s := range sqls.Statements {
		var hints []string
		for _, src := range s.Sources {
			// "com.shop.OrderRepository.findRecentDuplicates": the class is the segment before the method.
			if parts := strings.Split(src, "."); len(parts) >= 2 && parts[len(parts)-2] != "" {
				hints = appendHint(hints, parts[len(parts)-2])
			}
		}
		sqlProblems = append(sqlProblems, tuning.Problem{
			Key: "sql-" + shortHash(profile.NormalizeSQL(s.SQL)), Kind: "slow_sql",
			Title:       fmt.Sprintf("Slow SQL on %s (%.0f ms)", strings.Join(s.Tables, ", "), s.MaxDurationMs),
			Detail:      fmt.Sprintf("%s statement on %v took up to %.0f ms (%d executions, %.0f ms in all) in %v, run by %v:\n%s", s.CRUD, s.Tables, s.MaxDurationMs, s.Executions, s.TotalDurationMs, s.Applications, s.Sources, s.SQL),
			Application: first(s.Applications), Hints: hints,
		})
	}
	errs, err := mcpserver.FindErrors(ctx, a.Store, mcpserver.Filter{Limit: 200})
	if err != nil {
		return nil, err
	}
	for _, e := range errs.Errors {
		if e.StackTrace == "" {
			continue // nothing points at the code
		}
		errProblems = append(errProblems, tuning.Problem{
			Key: "err-" + shortHash(e.Type+"\x00"+firstFrame(e.StackTrace)), Kind: "error",
			Title:       fmt.Sprintf("%s: %s", e.Type, e.Message),
			Detail:      fmt.Sprintf("%s: %s — %d occurrences in %v\n%s", e.Type, e.Message, e.Occurrences, e.Applications, e.StackTrace),
			Application: first(e.Applications), Hints: stackHints(e.StackTrace),
		})
	}
	// Slow spots and errors take turns, so that neither crowds the other out.
	out := []tuning.Problem{}
	for i := 0; len(out) < max && (i < len(sqlProblems) || i < len(errProblems)); i++ {
		if i < len(sqlProblems) {
			out = append(out, sqlProblems[i])
		}
		if i < len(errProblems) && len(out) < max {
			out = append(out, errProblems[i])
		}
	}
	return out, nil
}

// firstFrame is a stack trace's first frame line: with the exception type it identifies an
// error across messages that differ only in their values.
func firstFrame(trace string) string {
	for _, l := range strings.Split(trace, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "at ") || strings.Contains(l, ".go:") {
			return l
		}
	}
	return ""
}

// maskPublic masks the sensitive values of a text that leaves Vigil (a pull request).
func maskPublic(text string) string {
	if m := maskForLog(text); m != "" || text == "" {
		return m
	}
	return "(withheld: the text could not be masked)"
}

var (
	// fileRE finds source file names in stack traces ("OrderService.java:42", "handler.go:88").
	fileRE = regexp.MustCompile(`([A-Za-z0-9_\-]+\.(?:go|java|kt|py|js|ts|rb|cs|php|scala))\b`)
	// frameRE finds the class of a JVM-style frame ("at com.shop.OrderService.place(").
	frameRE = regexp.MustCompile(`at (?:[a-z0-9_]+\.)*([A-Z][A-Za-z0-9_]*)\.[A-Za-z0-9_<>$]+\(`)
)

func stackHints(trace string) []string {
	var hints []string
	for _, m := range fileRE.FindAllStringSubmatch(trace, -1) {
		hints = appendHint(hints, m[1])
	}
	for _, m := range frameRE.FindAllStringSubmatch(trace, -1) {
		hints = appendHint(hints, m[1])
	}
	return hints
}

func appendHint(h []string, s string) []string {
	if s == "" || slices.Contains(h, s) || len(h) >= 10 {
		return h
	}
	return append(h, s)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// SourceRequest asks for the files behind a problem's hints on a branch.
type SourceRequest struct {
	Repository string   `json:"repository"` // owner/name
	Branch     string   `json:"branch"`
	Hints      []string `json:"hints"`
}

// Sources are the files read for a problem.
type Sources struct {
	HeadSHA string              `json:"headSha"`
	Files   []tuning.FileChange `json:"files"`
}

// maxSourceFiles and maxSourceBytes bound what one problem shows the LLM.
const (
	maxSourceFiles = 3
	maxSourceBytes = 20_000 // the whole file comes back in the answer: it must fit its token budget
)

// ReadSources finds the files a problem's hints name (a file name, or a class whose file has
// that base name) in the branch and reads them.
func (a *Tuning) ReadSources(ctx context.Context, in SourceRequest) (Sources, error) {
	owner, name, err := splitRepo(in.Repository)
	if err != nil {
		return Sources{}, err
	}
	if a.GitHub == nil {
		return Sources{}, temporal.NewNonRetryableApplicationError("no GitHub access is configured (code_tuning.github)", ErrTypeRepoRejected, nil)
	}
	head, paths, err := a.GitHub.Tree(ctx, owner, name, in.Branch)
	if err != nil {
		return Sources{}, repoError(err)
	}
	out := Sources{HeadSHA: head, Files: []tuning.FileChange{}}
	for _, h := range in.Hints {
		for _, p := range paths {
			base := path.Base(p)
			if base != h && strings.TrimSuffix(base, path.Ext(base)) != h {
				continue
			}
			if len(out.Files) >= maxSourceFiles || slices.ContainsFunc(out.Files, func(f tuning.FileChange) bool { return f.Path == p }) {
				continue
			}
			content, err := a.GitHub.Read(ctx, owner, name, p, head)
			if err != nil {
				return Sources{}, repoError(err)
			}
			if len(content) <= maxSourceBytes {
				out.Files = append(out.Files, tuning.FileChange{Path: p, Content: content})
			}
		}
	}
	return out, nil
}

// PullRequestRequest asks for a pull request with a change.
type PullRequestRequest struct {
	Repository string              `json:"repository"`
	Base       string              `json:"base"`
	Branch     string              `json:"branch"`
	Title      string              `json:"title"`
	Body       string              `json:"body"`
	Files      []tuning.FileChange `json:"files"`
}

// OpenPullRequest opens the pull request, once: it is keyed by its branch, so a retry or a
// replay finds the one already open.
func (a *Tuning) OpenPullRequest(ctx context.Context, in PullRequestRequest) (ghclient.PullRequest, error) {
	owner, name, err := splitRepo(in.Repository)
	if err != nil {
		return ghclient.PullRequest{}, err
	}
	if a.GitHub == nil {
		return ghclient.PullRequest{}, temporal.NewNonRetryableApplicationError("no GitHub access is configured (code_tuning.github)", ErrTypeRepoRejected, nil)
	}
	// Stored incidents hold production values (SQL literals, addresses, e-mail): the pull
	// request shows them masked, like everything that leaves Vigil.
	in.Title, in.Body = maskPublic(in.Title), maskPublic(in.Body)
	files := make([]ghclient.FileChange, len(in.Files))
	for i, f := range in.Files {
		files[i] = ghclient.FileChange{Path: f.Path, Content: f.Content}
	}
	pr, err := a.GitHub.OpenPullRequest(ctx, owner, name, in.Base, in.Branch, in.Title, in.Body, files)
	if err != nil {
		return ghclient.PullRequest{}, repoError(err)
	}
	return pr, nil
}

// ParseCodeChange decodes the code tuner's JSON answer (already checked against its schema).
func (a *Tuning) ParseCodeChange(_ context.Context, text string) (tuning.Change, error) {
	var c tuning.Change
	if err := decodeJSONAnswer(text, &c); err != nil {
		return c, temporal.NewNonRetryableApplicationError("code change is not JSON: "+err.Error(), "BadCodeChange", err)
	}
	return c, nil
}

func splitRepo(s string) (string, string, error) {
	owner, name, ok := strings.Cut(s, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", temporal.NewNonRetryableApplicationError(fmt.Sprintf("repository %q: want owner/name", s), ErrTypeRepoRejected, nil)
	}
	return owner, name, nil
}

func repoError(err error) error {
	var ge *ghclient.Error
	if errors.As(err, &ge) && !ge.Retryable {
		return temporal.NewNonRetryableApplicationError(err.Error(), ErrTypeRepoRejected, nil)
	}
	opts := temporal.ApplicationErrorOptions{}
	if ge != nil && ge.RetryAfter > 0 {
		opts.NextRetryDelay = ge.RetryAfter
	}
	return temporal.NewApplicationErrorWithOptions(err.Error(), "RepoUnavailable", opts)
}

// shortHash is a short stable digest for keys and branch names.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
