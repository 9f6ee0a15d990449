package starter

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/workflows"
)

// GitHub's deployment webhooks: `deployment` announces a change, `deployment_status` reports its
// progress. Both are verified by X-Hub-Signature-256 (HMAC-SHA256 of the raw body under one of
// auth.github_secrets) and deduplicated by that signature (GitHubReplayWindow).

type ghDeployment struct {
	ID          int64           `json:"id"`
	SHA         string          `json:"sha"`
	Ref         string          `json:"ref"`
	Environment string          `json:"environment"`
	Description string          `json:"description"`
	CreatedAt   time.Time       `json:"created_at"`
	Payload     json.RawMessage `json:"payload"`
	Creator     struct {
		Login string `json:"login"`
	} `json:"creator"`
}

type ghEvent struct {
	Deployment       ghDeployment `json:"deployment"`
	DeploymentStatus *struct {
		State     string    `json:"state"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"deployment_status"`
	Repository struct {
		Name     string `json:"name"`
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// GitHubDeploymentID is Vigil's deployment ID for a GitHub deployment.
func GitHubDeploymentID(repo string, id int64) string {
	return change.GitHubDeploymentID(repo, id)
}

// GitHubReplayWindow is how long a GitHub delivery is remembered, and how old an event may be.
// GitHub's signature covers the body only (no timestamp): the replay key is the signature, so
// a captured delivery resent under a fresh X-GitHub-Delivery is still recognised, and an event
// older than the window (by its created_at) is refused, so it cannot be replayed after its key
// expired. GitHub lets a delivery be redelivered for three days.
const GitHubReplayWindow = 72 * time.Hour

// checkGitHubSignature verifies X-Hub-Signature-256 under auth.github_secrets and returns the
// MAC. Vigil's own signature scheme (auth.hmac_secrets) is never accepted here.
func (a *API) checkGitHubSignature(r *http.Request, body []byte) ([]byte, error) {
	sig, ok := strings.CutPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256=")
	if !ok {
		return nil, errors.New("missing X-Hub-Signature-256")
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return nil, errors.New("X-Hub-Signature-256: not hex")
	}
	if a.Auth != nil {
		for _, s := range a.Auth.GitHubSecrets {
			mac := hmac.New(sha256.New, s.Value)
			mac.Write(body)
			if hmac.Equal(got, mac.Sum(nil)) {
				return got, nil
			}
		}
	}
	return nil, errors.New("X-Hub-Signature-256 does not match the body under any configured secret (auth.github_secrets)")
}

func (a *API) postGitHub(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readBody(w, r)
	if !ok {
		return
	}
	mac, err := a.checkGitHubSignature(r, body)
	if err != nil {
		writeProblem(w, Problem{Status: http.StatusUnauthorized, Detail: err.Error()})
		return
	}
	event := r.Header.Get("X-GitHub-Event")
	delivery := r.Header.Get("X-GitHub-Delivery")
	var e ghEvent
	if err := json.Unmarshal(body, &e); err != nil {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Malformed JSON", Detail: err.Error()})
		return
	}
	if event != "deployment" && event != "deployment_status" {
		status := "ignored"
		if event == "ping" {
			status = "pong"
		}
		writeJSON(w, http.StatusOK, map[string]any{"status": status, "event": event})
		return
	}
	if e.Deployment.ID == 0 || e.Repository.FullName == "" {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Not a deployment event",
			Errors: []ProblemField{{Field: "deployment.id", Message: "required"}, {Field: "repository.full_name", Message: "required"}}})
		return
	}
	// The event's own time bounds its replay: an event older than the window is refused
	// (its replay key may have expired); a younger one is recognised by its key.
	now := time.Now()
	at, atField := e.Deployment.CreatedAt, "deployment.created_at"
	if event == "deployment_status" {
		if e.DeploymentStatus == nil {
			writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Errors: []ProblemField{{Field: "deployment_status", Message: "required"}}})
			return
		}
		at, atField = e.DeploymentStatus.CreatedAt, "deployment_status.created_at"
	}
	switch {
	case at.IsZero():
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid GitHub event",
			Errors: []ProblemField{{Field: atField, Message: "required (RFC 3339)"}}})
		return
	case now.Sub(at) > GitHubReplayWindow:
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Stale GitHub event",
			Errors: []ProblemField{{Field: atField, Message: fmt.Sprintf("older than %s: a replay, or a redelivery GitHub no longer makes", GitHubReplayWindow)}}})
		return
	}
	var probs []ProblemField
	limitField(&probs, "repository.full_name", e.Repository.FullName)
	var d change.Deployment
	if event == "deployment" {
		d = change.Deployment{
			ID: GitHubDeploymentID(e.Repository.FullName, e.Deployment.ID), PlannedAt: e.Deployment.CreatedAt,
			Version: e.Deployment.SHA, Author: e.Deployment.Creator.Login, Applications: githubApps(e),
			Links: map[string]string{"ref": e.Deployment.Ref, "environment": e.Deployment.Environment},
		}
		probs = append(probs, deploymentProblems(d, "deployment.payload.")...)
	}
	if len(probs) > 0 {
		writeProblem(w, Problem{Status: http.StatusUnprocessableEntity, Title: "Invalid deployment", Errors: probs})
		return
	}
	// The replay key is the signature, i.e. the body: a redelivery (same body, any delivery
	// ID) is acknowledged without acting again.
	au := a.Auth
	if au == nil {
		au = &Auth{}
	}
	key := "github:" + hex.EncodeToString(mac)
	first, err := au.claimOnce(r.Context(), key, now.Add(GitHubReplayWindow+ReplayWindow))
	if err != nil {
		a.Logger.Error("replay guard", "error", err)
		writeProblem(w, Problem{Status: http.StatusServiceUnavailable, Detail: err.Error()})
		return
	}
	if !first {
		writeJSON(w, http.StatusOK, map[string]any{"status": "duplicate", "delivery": delivery})
		return
	}
	processed := false
	defer func() {
		if !processed { // failed: let the redelivery through
			if err := au.onceKeys().ReleaseOnce(context.WithoutCancel(r.Context()), key); err != nil {
				a.Logger.Warn("release a GitHub delivery's replay key", "delivery", delivery, "error", err)
			}
		}
	}()
	id := GitHubDeploymentID(e.Repository.FullName, e.Deployment.ID)
	switch event {
	case "deployment":
		res, err := a.startDeployment(r, d)
		if err != nil {
			a.startProblem(w, err)
			return
		}
		processed = true
		writeJSON(w, http.StatusAccepted, res)
	case "deployment_status":
		typ := map[string]string{"in_progress": workflows.EventStarted, "success": workflows.EventFinished,
			"failure": workflows.EventCancelled, "error": workflows.EventCancelled}[e.DeploymentStatus.State]
		if typ == "" {
			processed = true
			writeJSON(w, http.StatusOK, map[string]any{"status": "ignored", "state": e.DeploymentStatus.State})
			return
		}
		if err := a.Temporal.SignalWorkflow(r.Context(), workflows.DeploymentWorkflowID(id), "", workflows.SignalDeploymentEvent,
			workflows.DeploymentEvent{Type: typ, At: at}); err != nil {
			a.deploymentProblemID(w, id, err)
			return
		}
		processed = true
		writeJSON(w, http.StatusAccepted, map[string]any{"deployment": "/v1/deployments/" + id, "event": typ})
	}
}

// githubApps takes the applications from the deployment's payload
// ({"applications":[{"id","name"}]}), else the repository is the application.
func githubApps(e ghEvent) []change.Application {
	var p struct {
		Applications []change.Application `json:"applications"`
	}
	if len(e.Deployment.Payload) > 0 && json.Unmarshal(e.Deployment.Payload, &p) == nil && len(p.Applications) > 0 {
		return p.Applications
	}
	return []change.Application{{ID: change.AppID(e.Repository.FullName), Name: e.Repository.Name}}
}

// deploymentProblemID answers a failed signal of the deployment id (problemOf): 404 when it is
// not tracked.
func (a *API) deploymentProblemID(w http.ResponseWriter, id string, err error) {
	p := problemOf(err)
	if p.Status == http.StatusNotFound {
		p.Detail = fmt.Sprintf("deployment %q is not tracked: %v", id, err)
	} else {
		p.Detail = fmt.Sprintf("deployment %q: %v", id, err)
	}
	writeProblem(w, p)
}
