package activities

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/analyst"
	"github.com/vigil-ops/vigil/change"
	"github.com/vigil-ops/vigil/ghclient"
	"github.com/vigil-ops/vigil/profile"
	"github.com/vigil-ops/vigil/promsource"
	"github.com/vigil-ops/vigil/store"
)

// ChangesRequest asks for the deployments of an application that took effect in [From, To].
type ChangesRequest struct {
	Application string    `json:"application"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
}

// ErrTypeNoStore: the activities have no store to read deployments from.
const ErrTypeNoStore = "NoStore"

// recentChangesScan is how many of the application's newest deployment records are looked at.
const recentChangesScan = 100

// RecentChanges lists Vigil's own deployment records of the application that took effect (their
// finish, else start, else planned time) within the window, newest first, each with its latest
// verdict.
func (a *Incident) RecentChanges(ctx context.Context, in ChangesRequest) ([]analyst.Change, error) {
	if a.Store == nil {
		return nil, temporal.NewNonRetryableApplicationError("no store is configured", ErrTypeNoStore, nil)
	}
	ds, err := a.Store.ListDeployments(ctx, store.DeploymentFilter{Application: in.Application, Limit: recentChangesScan})
	if err != nil {
		return nil, fmt.Errorf("list deployments of %s: %w", in.Application, err)
	}
	out := []analyst.Change{}
	for _, d := range ds {
		ch := changeOf(d, in.Application)
		if ch.At.Before(in.From) || ch.At.After(in.To) {
			continue
		}
		out = append(out, ch)
	}
	return out, nil
}

// changeOf reads a stored deployment record (the change-tracking workflow's state as JSON).
// plannedRollout is the longest rollout a deployment's planned time is taken to have begun, when
// the release system sent no started event: a plan announced hours ahead says nothing of when
// the rollout began.
const plannedRollout = 30 * time.Minute

func changeOf(d store.Deployment, app string) analyst.Change {
	var body struct {
		Status      string     `json:"status"`
		StartedAt   *time.Time `json:"startedAt"`
		FinishedAt  *time.Time `json:"finishedAt"`
		Checkpoints []struct {
			Label   string          `json:"label"`
			Verdict *change.Verdict `json:"verdict"`
		} `json:"checkpoints"`
	}
	_ = json.Unmarshal(d.Body, &body) // a record that does not decode still has its header
	ch := analyst.Change{ID: d.ID, Version: d.Version, At: d.PlannedAt, Status: d.Status}
	switch {
	case body.FinishedAt != nil:
		ch.At = *body.FinishedAt
		switch {
		case body.StartedAt != nil && body.StartedAt.Before(ch.At):
			ch.StartedAt = *body.StartedAt
		case body.StartedAt == nil && d.PlannedAt.Before(ch.At) && ch.At.Sub(d.PlannedAt) <= plannedRollout:
			// No started event: the planned start, when it is close to the finish, stands for it.
			ch.StartedAt = d.PlannedAt
		}
	case body.StartedAt != nil:
		ch.At = *body.StartedAt
	}
	for i := len(body.Checkpoints) - 1; i >= 0; i-- {
		cp := body.Checkpoints[i]
		if cp.Verdict == nil {
			continue
		}
		ch.State, ch.Checkpoint, ch.Comment = cp.Verdict.State, cp.Label, cp.Verdict.Comment
		for _, av := range cp.Verdict.Applications {
			if av.Name == app {
				ch.State, ch.Metrics = av.State, av.Metric
				if av.Comment != "" {
					ch.Comment = av.Comment
				}
			}
		}
		break
	}
	return ch
}

// InvestigationPromptRequest is an alert and its investigation.
type InvestigationPromptRequest struct {
	Alert         profile.Alert          `json:"alert"`
	Investigation *analyst.Investigation `json:"investigation"`
}

// InvestigationPrompt writes the investigation as text for the role (appended to the facts
// prompt; the role call masks it with the rest).
func (a *Incident) InvestigationPrompt(_ context.Context, in InvestigationPromptRequest) (string, error) {
	if in.Investigation == nil {
		return "", errors.New("no investigation")
	}
	return analyst.InvestigationPrompt(&in.Alert, in.Investigation), nil
}

// ExemplarSource reads the exemplars of an application's latency series (Prometheus).
type ExemplarSource interface {
	Exemplars(ctx context.Context, app string, from, to time.Time) ([]promsource.Exemplar, error)
}

// ExemplarRequest asks for the trace of a real request of the application in [From, To].
type ExemplarRequest struct {
	Application string    `json:"application"`
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
}

// exemplarCandidates is how many exemplars' traces are tried before giving up.
const exemplarCandidates = 3

// ExemplarTrace finds the failing (5xx) request with the longest duration among the exemplars of
// the application's latency series in the window (else the slowest request), fetches its trace
// from the trace sources and runs the profile detectors on it. Without exemplars, a trace source
// or a trace that can be found, the result says why (Note) rather than failing.
func (a *Incident) ExemplarTrace(ctx context.Context, in ExemplarRequest) (*analyst.ExemplarTrace, error) {
	switch {
	case a.Exemplars == nil:
		return &analyst.ExemplarTrace{Note: "no metrics source is configured (prometheus.url)"}, nil
	case len(a.Traces) == 0:
		return &analyst.ExemplarTrace{Note: "no trace source is configured (traces)"}, nil
	}
	ex, err := a.Exemplars.Exemplars(ctx, in.Application, in.From, in.To)
	if err != nil {
		return nil, fmt.Errorf("exemplars of %s: %w", in.Application, err)
	}
	if len(ex) == 0 {
		return &analyst.ExemplarTrace{Note: "the latency series of " + in.Application + " carry no exemplars in the window"}, nil
	}
	failing := func(e promsource.Exemplar) bool {
		return strings.HasPrefix(e.SeriesLabels["http_response_status_code"], "5")
	}
	slices.SortStableFunc(ex, func(x, y promsource.Exemplar) int {
		if fx, fy := failing(x), failing(y); fx != fy {
			if fx {
				return -1
			}
			return 1
		}
		return cmp.Compare(y.Value, x.Value)
	})
	var notes []string
	tried := map[string]bool{}
	for _, e := range ex {
		if tried[e.TraceID] || len(tried) == exemplarCandidates {
			continue
		}
		tried[e.TraceID] = true
		p, err := a.Traces.Fetch(ctx, e.TraceID)
		if err != nil || p == nil {
			notes = append(notes, fmt.Sprintf("trace %s: %v", e.TraceID, err))
			continue
		}
		route := cmp.Or(e.SeriesLabels["http_route"], p.Transaction.URL)
		return &analyst.ExemplarTrace{TraceID: e.TraceID, Endpoint: strings.TrimSpace(e.SeriesLabels["http_request_method"] + " " + route),
			Status: e.SeriesLabels["http_response_status_code"], Failing: failing(e), ValueMs: e.Value * 1000,
			Facts: analyst.Detect(p, a.Thresholds), Note: strings.Join(notes, "; ")}, nil
	}
	return &analyst.ExemplarTrace{Note: "no exemplar's trace could be fetched: " + strings.Join(notes, "; ")}, nil
}

// DeploymentLister lists a repository's deployments on its code host (GitHub).
type DeploymentLister interface {
	ListDeployments(ctx context.Context, owner, repo, environment string, since time.Time) ([]ghclient.Deployment, error)
}

// GitHubChangesRequest asks for the GitHub deployments of an application's repository that took
// effect in [From, To].
type GitHubChangesRequest struct {
	Application string    `json:"application"`
	Repository  string    `json:"repository"`            // owner/name
	Environment string    `json:"environment,omitempty"` // "": every environment
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
}

// githubCreatedSlack is how long before the window a GitHub deployment may have been created and
// still take effect (succeed) within it.
const githubCreatedSlack = time.Hour

// GitHubChanges lists the GitHub deployments of the application's repository (to the configured
// environment) that took effect (their first success, else their creation) within the window,
// newest first, each named by the ID a GitHub deployment webhook gives Vigil's record
// (change.GitHubDeploymentID) with its ref and short SHA as the version and GitHub's latest state as
// its status. A refused call (bad token, no such repository) is not retried.
func (a *Incident) GitHubChanges(ctx context.Context, in GitHubChangesRequest) ([]analyst.Change, error) {
	if a.Deployments == nil {
		return nil, temporal.NewNonRetryableApplicationError("no GitHub access is configured (alerts.investigation.github)", ErrTypeRepoRejected, nil)
	}
	owner, name, ok := strings.Cut(in.Repository, "/")
	if !ok || owner == "" || name == "" {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("repository %q is not owner/name", in.Repository), ErrTypeRepoRejected, nil)
	}
	ds, err := a.Deployments.ListDeployments(ctx, owner, name, in.Environment, in.From.Add(-githubCreatedSlack))
	if err != nil {
		return nil, repoError(err)
	}
	out := []analyst.Change{}
	for _, d := range ds {
		ch := githubChange(in.Repository, d)
		if ch.At.Before(in.From) || ch.At.After(in.To) {
			continue
		}
		out = append(out, ch)
	}
	slices.SortStableFunc(out, func(x, y analyst.Change) int { return y.At.Compare(x.At) })
	return out, nil
}

// githubChange is a GitHub deployment as a change: ID as the webhook's record has it, version
// "ref sha7" (the SHA alone when the ref is the SHA), status GitHub's latest state.
func githubChange(repo string, d ghclient.Deployment) analyst.Change {
	sha := d.SHA
	if len(sha) > 7 {
		sha = sha[:7]
	}
	version := sha
	if d.Ref != "" && d.Ref != d.SHA {
		version = strings.TrimSpace(d.Ref + " " + sha)
	}
	at := d.CreatedAt
	if !d.SucceededAt.IsZero() {
		at = d.SucceededAt
	}
	status := cmp.Or(d.State, "created")
	if d.Inactive {
		status += ", since replaced"
	}
	desc := d.Description
	if d.StateDescription != "" && d.StateDescription != desc {
		desc = strings.TrimSpace(strings.TrimSuffix(desc, ".") + ". " + d.StateDescription)
		desc = strings.TrimPrefix(desc, ". ")
	}
	return analyst.Change{ID: change.GitHubDeploymentID(repo, d.ID), Version: version, Source: analyst.SourceGitHub,
		SHA: d.SHA, At: at, Status: status, Description: desc}
}
