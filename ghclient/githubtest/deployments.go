package githubtest

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Deployment is a deployment the Server lists (GET /repos/{owner}/{repo}/deployments), with its
// statuses, oldest first.
type Deployment struct {
	ID          int64
	SHA         string
	Ref         string
	Environment string
	Description string
	Creator     string
	CreatedAt   time.Time
	Statuses    []DeploymentStatus
}

// DeploymentStatus is one status of a Deployment.
type DeploymentStatus struct {
	State       string // pending, queued, in_progress, success, failure, error, inactive
	Description string
	CreatedAt   time.Time
}

// AddDeployment adds d to the deployments the Server lists (newest created first, as GitHub
// sorts them).
func (s *Server) AddDeployment(d Deployment) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deployments = append(s.deployments, d)
}

// DeploymentRequests is how many deployment list and status requests the Server answered.
func (s *Server) DeploymentRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deploymentCalls
}

func (s *Server) deploymentJSON(d Deployment) map[string]any {
	return map[string]any{
		"url": s.apiURL("deployments/%d", d.ID), "id": d.ID, "node_id": "DE_" + strconv.FormatInt(d.ID, 10),
		"sha": d.SHA, "ref": d.Ref, "task": "deploy", "payload": map[string]any{}, "original_environment": d.Environment,
		"environment": d.Environment, "description": d.Description,
		"creator":    map[string]any{"login": cmpOr(d.Creator, "octocat"), "id": 1, "type": "User"},
		"created_at": d.CreatedAt.UTC().Format(time.RFC3339), "updated_at": d.CreatedAt.UTC().Format(time.RFC3339),
		"statuses_url":   s.apiURL("deployments/%d/statuses", d.ID),
		"repository_url": strings.TrimSuffix(s.URL, "/") + "/repos/" + s.owner + "/" + s.repo,
	}
}

// listDeployments answers GET deployments: sha, ref, task and environment filters; per_page
// (default 30, at most 100) and page, with GitHub's Link header.
func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) {
	s.deploymentCalls++
	q := r.URL.Query()
	var list []Deployment
	for i := len(s.deployments) - 1; i >= 0; i-- {
		d := s.deployments[i]
		if env := q.Get("environment"); env != "" && d.Environment != env ||
			q.Get("sha") != "" && d.SHA != q.Get("sha") || q.Get("ref") != "" && d.Ref != q.Get("ref") {
			continue
		}
		list = append(list, d)
	}
	sortNewestFirst(list)
	perPage, page := pageParams(q.Get("per_page"), q.Get("page"))
	from := min(len(list), (page-1)*perPage)
	to := min(len(list), from+perPage)
	if to < len(list) {
		u := *r.URL
		qq := u.Query()
		qq.Set("page", strconv.Itoa(page+1))
		u.RawQuery = qq.Encode()
		w.Header().Set("Link", fmt.Sprintf(`<%s%s>; rel="next"`, strings.TrimSuffix(s.URL, "/"), u.RequestURI()))
	}
	out := []map[string]any{}
	for _, d := range list[from:to] {
		out = append(out, s.deploymentJSON(d))
	}
	writeJSON(w, http.StatusOK, out)
}

// listDeploymentStatuses answers GET deployments/{id}/statuses, newest first.
func (s *Server) listDeploymentStatuses(w http.ResponseWriter, r *http.Request, idText string) {
	s.deploymentCalls++
	id, err := strconv.ParseInt(idText, 10, 64)
	var d *Deployment
	for i := range s.deployments {
		if err == nil && s.deployments[i].ID == id {
			d = &s.deployments[i]
		}
	}
	if d == nil {
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	perPage, page := pageParams(r.URL.Query().Get("per_page"), r.URL.Query().Get("page"))
	out := []map[string]any{}
	for i := len(d.Statuses) - 1; i >= 0; i-- {
		st := d.Statuses[i]
		out = append(out, map[string]any{
			"url": s.apiURL("deployments/%d/statuses/%d", d.ID, i+1), "id": i + 1, "state": st.State,
			"description": st.Description, "environment": d.Environment,
			"creator":    map[string]any{"login": cmpOr(d.Creator, "octocat"), "id": 1, "type": "User"},
			"created_at": st.CreatedAt.UTC().Format(time.RFC3339), "updated_at": st.CreatedAt.UTC().Format(time.RFC3339),
			"deployment_url": s.apiURL("deployments/%d", d.ID),
		})
	}
	from := min(len(out), (page-1)*perPage)
	writeJSON(w, http.StatusOK, out[from:min(len(out), from+perPage)])
}

func sortNewestFirst(ds []Deployment) {
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].CreatedAt.After(ds[j].CreatedAt) })
}

func pageParams(perPageText, pageText string) (perPage, page int) {
	perPage, page = 30, 1
	if n, err := strconv.Atoi(perPageText); err == nil && n > 0 {
		perPage = min(n, 100)
	}
	if n, err := strconv.Atoi(pageText); err == nil && n > 0 {
		page = n
	}
	return perPage, page
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
