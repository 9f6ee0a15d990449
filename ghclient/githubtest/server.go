package githubtest

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultBranch is the branch New seeds and the default of ref and branch
// parameters.
const DefaultBranch = "main"

// MaxInline is the largest file the contents API returns inline; larger
// files come with encoding "none" and are read through the blobs API, as
// on GitHub.
const MaxInline = 1 << 20

// Server is an in-memory GitHub REST API serving one repository.
type Server struct {
	// URL is the API's base URL, with a trailing slash, for
	// ghclient.Config.APIURL.
	URL string

	owner, repo, token string

	mu       sync.Mutex
	branches map[string]string            // branch → commit SHA
	trees    map[string]map[string]string // commit SHA → files (path → content)
	treeSHA  map[string]string            // tree SHA → commit SHA
	parent   map[string]string            // commit SHA → parent commit SHA
	blobs    map[string]string            // blob SHA → content
	commits  int                          // commits made through the contents API
	seq      int
	prs      []PR
	closed   map[int]bool
	failN    int
	failCode int
	limitN   int

	deployments     []Deployment
	deploymentCalls int
}

// PR is a pull request made on the Server.
type PR struct {
	Number                  int
	Title, Body, Head, Base string
}

// New serves one repository owner/repo with a "main" branch holding files,
// requiring "Authorization: Bearer <token>" (or "token <token>"; 401 JSON
// {"message":"Bad credentials"} otherwise). It stops when t ends.
func New(t testing.TB, owner, repo, token string, files map[string]string) *Server {
	t.Helper()
	s := &Server{
		owner: owner, repo: repo, token: token,
		branches: map[string]string{},
		trees:    map[string]map[string]string{},
		treeSHA:  map[string]string{},
		parent:   map[string]string{},
		blobs:    map[string]string{},
		closed:   map[int]bool{},
	}
	snap := make(map[string]string, len(files))
	for p, c := range files {
		snap[p] = c
	}
	s.branches[DefaultBranch] = s.commit("", snap)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/"
	return s
}

// PullRequests returns the pull requests made, open or closed, in order.
func (s *Server) PullRequests() []PR {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PR(nil), s.prs...)
}

// ClosePullRequest closes pull request number: it is no longer listed as
// open and no longer blocks a new one from the same branch.
func (s *Server) ClosePullRequest(number int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed[number] = true
}

// File returns a file's content on a branch.
func (s *Server) File(branch, path string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sha, ok := s.branches[branch]
	if !ok {
		return "", false
	}
	c, ok := s.trees[sha][path]
	return c, ok
}

// Head returns the commit SHA branch points at, or "".
func (s *Server) Head(branch string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.branches[branch]
}

// Commits returns how many commits were made through the contents API (to
// check idempotency).
func (s *Server) Commits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commits
}

// FailNext makes the next n requests fail with status (GitHub's JSON error
// body; a 429 carries Retry-After: 1).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failCode = n, status
}

// RateLimitNext makes the next n requests fail as GitHub's primary rate
// limit does: 403 with X-RateLimit-Remaining: 0 and X-RateLimit-Reset a
// minute ahead.
func (s *Server) RateLimitNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitN = n
}

// commit records files as a new commit with parent and returns its SHA.
// The caller holds s.mu (or owns s exclusively).
func (s *Server) commit(parent string, files map[string]string) string {
	s.seq++
	sha := hash(fmt.Sprintf("commit %d %s", s.seq, parent))
	s.trees[sha] = files
	s.treeSHA[hash("tree "+sha)] = sha
	s.parent[sha] = parent
	for _, c := range files {
		s.blobs[blobSHA(c)] = c
	}
	return sha
}

func hash(s string) string {
	sum := sha1.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// blobSHA is git's object name of a blob with content c.
func blobSHA(c string) string {
	return hash(fmt.Sprintf("blob %d\x00%s", len(c), c))
}

type apiError struct {
	Message string        `json:"message"`
	Errors  []errorDetail `json:"errors,omitempty"`
	DocURL  string        `json:"documentation_url"`
}

type errorDetail struct {
	Resource string `json:"resource"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string, details ...errorDetail) {
	if msg == "" {
		msg = http.StatusText(status)
	}
	writeJSON(w, status, apiError{Message: msg, Errors: details, DocURL: "https://docs.github.com/rest"})
}

// ServeHTTP answers one API request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()

	if s.failN > 0 {
		s.failN--
		if s.failCode == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		fail(w, s.failCode, "")
		return
	}
	if s.limitN > 0 {
		s.limitN--
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "0")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10))
		fail(w, http.StatusForbidden, "API rate limit exceeded for user ID 1.")
		return
	}
	auth := r.Header.Get("Authorization")
	if s.token == "" || (auth != "Bearer "+s.token && auth != "token "+s.token) {
		fail(w, http.StatusUnauthorized, "Bad credentials")
		return
	}

	rest, ok := strings.CutPrefix(r.URL.Path, "/repos/")
	if !ok {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 || !strings.EqualFold(parts[0], s.owner) || !strings.EqualFold(parts[1], s.repo) {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	route := parts[2]
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(route, "git/ref/heads/"):
		s.getRef(w, strings.TrimPrefix(route, "git/ref/heads/"))
	case r.Method == http.MethodGet && strings.HasPrefix(route, "git/refs/heads/"):
		s.getRef(w, strings.TrimPrefix(route, "git/refs/heads/"))
	case r.Method == http.MethodGet && strings.HasPrefix(route, "branches/"):
		s.getBranch(w, strings.TrimPrefix(route, "branches/"))
	case r.Method == http.MethodGet && strings.HasPrefix(route, "git/trees/"):
		s.getTree(w, r, strings.TrimPrefix(route, "git/trees/"))
	case r.Method == http.MethodGet && strings.HasPrefix(route, "git/blobs/"):
		s.getBlob(w, r, strings.TrimPrefix(route, "git/blobs/"))
	case r.Method == http.MethodPost && route == "git/refs":
		s.createRef(w, r)
	case r.Method == http.MethodGet && (route == "contents" || strings.HasPrefix(route, "contents/")):
		s.getContents(w, r, strings.Trim(strings.TrimPrefix(route, "contents"), "/"))
	case r.Method == http.MethodPut && strings.HasPrefix(route, "contents/"):
		s.putContents(w, r, strings.TrimPrefix(route, "contents/"))
	case r.Method == http.MethodGet && route == "pulls":
		s.listPulls(w, r)
	case r.Method == http.MethodPost && route == "pulls":
		s.createPull(w, r)
	case r.Method == http.MethodGet && route == "deployments":
		s.listDeployments(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(route, "deployments/") && strings.HasSuffix(route, "/statuses"):
		s.listDeploymentStatuses(w, r, strings.TrimSuffix(strings.TrimPrefix(route, "deployments/"), "/statuses"))
	default:
		fail(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Server) apiURL(format string, args ...any) string {
	return s.URL + "repos/" + s.owner + "/" + s.repo + "/" + fmt.Sprintf(format, args...)
}

func (s *Server) refJSON(branch, sha string) map[string]any {
	return map[string]any{
		"ref":    "refs/heads/" + branch,
		"url":    s.apiURL("git/refs/heads/%s", branch),
		"object": map[string]any{"type": "commit", "sha": sha, "url": s.apiURL("git/commits/%s", sha)},
	}
}

func (s *Server) getRef(w http.ResponseWriter, branch string) {
	sha, ok := s.branches[branch]
	if !ok {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, s.refJSON(branch, sha))
}

func (s *Server) getBranch(w http.ResponseWriter, branch string) {
	sha, ok := s.branches[branch]
	if !ok {
		fail(w, http.StatusNotFound, "Branch not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name":      branch,
		"protected": false,
		"commit":    map[string]any{"sha": sha, "url": s.apiURL("commits/%s", sha)},
	})
}

// resolve finds the commit of a ref: a branch, a commit SHA or ("") the
// default branch.
func (s *Server) resolve(ref string) (string, bool) {
	if ref == "" {
		ref = DefaultBranch
	}
	if sha, ok := s.branches[strings.TrimPrefix(ref, "refs/heads/")]; ok {
		return sha, true
	}
	if _, ok := s.trees[ref]; ok {
		return ref, true
	}
	return "", false
}

func (s *Server) getTree(w http.ResponseWriter, r *http.Request, ref string) {
	sha, ok := s.treeSHA[ref]
	if !ok {
		sha, ok = s.resolve(ref)
	}
	if !ok {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	recursive := r.URL.Query().Get("recursive") != ""
	files := s.trees[sha]
	dirs := map[string]bool{}
	var entries []map[string]any
	for p, c := range files {
		segs := strings.Split(p, "/")
		for i := 1; i < len(segs); i++ {
			dirs[strings.Join(segs[:i], "/")] = true
		}
		if !recursive && len(segs) > 1 {
			continue
		}
		b := blobSHA(c)
		entries = append(entries, map[string]any{"path": p, "mode": "100644", "type": "blob", "sha": b, "size": len(c), "url": s.apiURL("git/blobs/%s", b)})
	}
	for d := range dirs {
		if !recursive && strings.Contains(d, "/") {
			continue
		}
		t := hash("dir " + sha + " " + d)
		entries = append(entries, map[string]any{"path": d, "mode": "040000", "type": "tree", "sha": t, "url": s.apiURL("git/trees/%s", t)})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i]["path"].(string) < entries[j]["path"].(string) })
	t := hash("tree " + sha)
	writeJSON(w, http.StatusOK, map[string]any{"sha": t, "url": s.apiURL("git/trees/%s", t), "tree": entries, "truncated": false})
}

func (s *Server) getBlob(w http.ResponseWriter, r *http.Request, sha string) {
	c, ok := s.blobs[sha]
	if !ok {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "raw") {
		w.Header().Set("Content-Type", "application/vnd.github.raw")
		_, _ = w.Write([]byte(c))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sha": sha, "size": len(c), "encoding": "base64", "content": base64.StdEncoding.EncodeToString([]byte(c)), "url": s.apiURL("git/blobs/%s", sha)})
}

func (s *Server) createRef(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Ref string `json:"ref"`
		SHA string `json:"sha"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	branch, ok := strings.CutPrefix(req.Ref, "refs/heads/")
	if !ok || branch == "" {
		fail(w, http.StatusUnprocessableEntity, "Reference name must start with refs/heads/ (githubtest serves branches only)")
		return
	}
	if _, ok := s.trees[req.SHA]; !ok {
		fail(w, http.StatusUnprocessableEntity, "Object does not exist")
		return
	}
	if _, ok := s.branches[branch]; ok {
		fail(w, http.StatusUnprocessableEntity, "Reference already exists")
		return
	}
	s.branches[branch] = req.SHA
	writeJSON(w, http.StatusCreated, s.refJSON(branch, req.SHA))
}

func (s *Server) contentJSON(path, c string) map[string]any {
	name := path[strings.LastIndex(path, "/")+1:]
	b := blobSHA(c)
	m := map[string]any{"type": "file", "name": name, "path": path, "sha": b, "size": len(c), "url": s.apiURL("contents/%s", path)}
	if len(c) > MaxInline {
		m["encoding"], m["content"] = "none", ""
	} else {
		m["encoding"], m["content"] = "base64", wrap60(base64.StdEncoding.EncodeToString([]byte(c)))
	}
	return m
}

// wrap60 breaks base64 into lines as GitHub does.
func wrap60(s string) string {
	var b strings.Builder
	for len(s) > 60 {
		b.WriteString(s[:60] + "\n")
		s = s[60:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

func (s *Server) getContents(w http.ResponseWriter, r *http.Request, path string) {
	ref := r.URL.Query().Get("ref")
	sha, ok := s.resolve(ref)
	if !ok {
		fail(w, http.StatusNotFound, "No commit found for the ref "+ref)
		return
	}
	files := s.trees[sha]
	if c, ok := files[path]; ok {
		writeJSON(w, http.StatusOK, s.contentJSON(path, c))
		return
	}
	prefix := path + "/"
	if path == "" {
		prefix = ""
	}
	seen := map[string]bool{}
	var list []map[string]any
	for p, c := range files {
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		if i := strings.Index(rest, "/"); i >= 0 {
			d := prefix + rest[:i]
			if !seen[d] {
				seen[d] = true
				list = append(list, map[string]any{"type": "dir", "name": rest[:i], "path": d, "sha": hash("dir " + sha + " " + d)})
			}
			continue
		}
		m := s.contentJSON(p, c)
		delete(m, "content")
		delete(m, "encoding")
		list = append(list, m)
	}
	if list == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	sort.Slice(list, func(i, j int) bool { return list[i]["path"].(string) < list[j]["path"].(string) })
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) putContents(w http.ResponseWriter, r *http.Request, path string) {
	var req struct {
		Message *string `json:"message"`
		Content *string `json:"content"`
		SHA     string  `json:"sha"`
		Branch  string  `json:"branch"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	if req.Message == nil || req.Content == nil {
		fail(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"message\" and \"content\" are required.")
		return
	}
	content, err := base64.StdEncoding.DecodeString(*req.Content)
	if err != nil {
		fail(w, http.StatusUnprocessableEntity, "content is not valid Base64")
		return
	}
	branch := req.Branch
	if branch == "" {
		branch = DefaultBranch
	}
	head, ok := s.branches[branch]
	if !ok {
		fail(w, http.StatusNotFound, "Branch "+branch+" not found")
		return
	}
	files := s.trees[head]
	for p := range files {
		if strings.HasPrefix(p, path+"/") || strings.HasPrefix(path, p+"/") {
			fail(w, http.StatusUnprocessableEntity, "Invalid request: "+path+" conflicts with "+p)
			return
		}
	}
	old, exists := files[path]
	if exists {
		if req.SHA == "" {
			fail(w, http.StatusUnprocessableEntity, "Invalid request.\n\n\"sha\" wasn't supplied.")
			return
		}
		if req.SHA != blobSHA(old) {
			fail(w, http.StatusConflict, path+" does not match "+req.SHA)
			return
		}
	}
	next := make(map[string]string, len(files)+1)
	for p, c := range files {
		next[p] = c
	}
	next[path] = string(content)
	sha := s.commit(head, next)
	s.branches[branch] = sha
	s.commits++
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	cj := s.contentJSON(path, string(content))
	delete(cj, "content")
	delete(cj, "encoding")
	writeJSON(w, status, map[string]any{
		"content": cj,
		"commit": map[string]any{
			"sha": sha, "message": *req.Message, "url": s.apiURL("git/commits/%s", sha),
			"tree":    map[string]any{"sha": hash("tree " + sha)},
			"parents": []map[string]any{{"sha": head}},
		},
	})
}

func (s *Server) prJSON(pr PR) map[string]any {
	side := func(b string) map[string]any {
		return map[string]any{"ref": b, "sha": s.branches[b], "label": s.owner + ":" + b}
	}
	state := "open"
	if s.closed[pr.Number] {
		state = "closed"
	}
	return map[string]any{
		"number": pr.Number, "state": state, "title": pr.Title, "body": pr.Body,
		"url":      s.apiURL("pulls/%d", pr.Number),
		"html_url": strings.TrimSuffix(s.URL, "/") + "/" + s.owner + "/" + s.repo + "/pull/" + strconv.Itoa(pr.Number),
		"head":     side(pr.Head), "base": side(pr.Base),
	}
}

func (s *Server) listPulls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	var headBranch string
	if h := q.Get("head"); h != "" {
		owner, branch, ok := strings.Cut(h, ":")
		if !ok {
			// GitHub wants user:ref-name; be strict so that client bugs show.
			fail(w, http.StatusUnprocessableEntity, "head must be user:ref-name (githubtest)")
			return
		}
		if !strings.EqualFold(owner, s.owner) {
			writeJSON(w, http.StatusOK, []any{})
			return
		}
		headBranch = branch
	}
	list := []map[string]any{}
	for i := len(s.prs) - 1; i >= 0; i-- { // newest first, as GitHub sorts
		pr := s.prs[i]
		open := !s.closed[pr.Number]
		if state == "open" && !open || state == "closed" && open {
			continue
		}
		if headBranch != "" && pr.Head != headBranch || q.Get("base") != "" && pr.Base != q.Get("base") {
			continue
		}
		list = append(list, s.prJSON(pr))
	}
	writeJSON(w, http.StatusOK, list)
}

// ancestor reports whether commit a is b or one of b's ancestors.
func (s *Server) ancestor(a, b string) bool {
	for ; b != ""; b = s.parent[b] {
		if a == b {
			return true
		}
	}
	return false
}

func (s *Server) createPull(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Title string `json:"title"`
		Head  string `json:"head"`
		Base  string `json:"base"`
		Body  string `json:"body"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	head := req.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok && strings.EqualFold(owner, s.owner) {
		head = branch
	}
	invalid := func(field string) {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed", errorDetail{Resource: "PullRequest", Field: field, Code: "invalid"})
	}
	if strings.TrimSpace(req.Title) == "" {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed", errorDetail{Resource: "PullRequest", Field: "title", Code: "missing_field"})
		return
	}
	baseSHA, ok := s.branches[req.Base]
	if !ok {
		invalid("base")
		return
	}
	headSHA, ok := s.branches[head]
	if !ok {
		invalid("head")
		return
	}
	for _, pr := range s.prs {
		if pr.Head == head && pr.Base == req.Base && !s.closed[pr.Number] {
			fail(w, http.StatusUnprocessableEntity, "Validation Failed", errorDetail{Resource: "PullRequest", Code: "custom", Message: "A pull request already exists for " + s.owner + ":" + head + "."})
			return
		}
	}
	if s.ancestor(headSHA, baseSHA) {
		fail(w, http.StatusUnprocessableEntity, "Validation Failed", errorDetail{Resource: "PullRequest", Code: "custom", Message: "No commits between " + req.Base + " and " + head})
		return
	}
	pr := PR{Number: len(s.prs) + 1, Title: req.Title, Body: req.Body, Head: head, Base: req.Base}
	s.prs = append(s.prs, pr)
	writeJSON(w, http.StatusCreated, s.prJSON(pr))
}
