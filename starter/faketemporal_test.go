package starter

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/vigil-ops/vigil/workflows"
)

// fakeTemporal is a Temporal client that accepts every start and signal the way the server
// does, and fails — with a plain error the API answers 503 — whatever the server would refuse
// or terminate later: an ID over 255 bytes (deploy/dynamicconfig), a search-attribute value
// over 2 KB (set at start, or upserted by the workflow: a deployment's application names), a
// payload over 2 MB. A request that reaches it with such a value slipped past the API's own
// checks, which is what the security tests and the fuzz targets look for.
type fakeTemporal struct {
	client.Client
	mu      sync.Mutex
	starts  int
	signals int
	// signalled holds the signal arguments, in order, unless noRecord is set (fuzzing).
	signalled []any
	// inputs holds the workflow inputs of the starts and signal-with-starts, unless noRecord.
	inputs   []any
	noRecord bool
}

type fakeRun struct {
	client.WorkflowRun
	id string
}

func (r fakeRun) GetID() string    { return r.id }
func (r fakeRun) GetRunID() string { return "run-1" }

const (
	fakeMaxID      = 255
	fakeMaxSAValue = 2048
	fakeMaxPayload = 2 << 20
)

func (f *fakeTemporal) check(id string, sa temporal.SearchAttributes, payloads ...any) error {
	if len(id) > fakeMaxID {
		return fmt.Errorf("fake temporal: workflow ID of %d bytes", len(id))
	}
	for k, v := range sa.GetUntypedValues() {
		b, _ := json.Marshal(v)
		if len(b) > fakeMaxSAValue {
			return fmt.Errorf("fake temporal: search attribute %s of %d bytes", k.GetName(), len(b))
		}
	}
	for _, p := range payloads {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("fake temporal: payload: %w", err)
		}
		if len(b) > fakeMaxPayload {
			return fmt.Errorf("fake temporal: payload of %d bytes", len(b))
		}
		// What the workflows upsert themselves.
		switch in := p.(type) {
		case workflows.ChangeInput:
			names := []string{}
			for _, a := range in.Deployment.Applications {
				names = append(names, a.Name)
			}
			if b, _ := json.Marshal(names); len(b) > fakeMaxSAValue {
				return fmt.Errorf("fake temporal: VigilApplications of %d bytes (the workflow would be terminated)", len(b))
			}
		case workflows.IncidentInput:
			for _, v := range []string{in.Alert.Application, in.Alert.Rule} {
				if b, _ := json.Marshal(v); len(b) > fakeMaxSAValue {
					return fmt.Errorf("fake temporal: incident search attribute of %d bytes", len(b))
				}
			}
		}
	}
	return nil
}

func (f *fakeTemporal) ExecuteWorkflow(_ context.Context, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if err := f.check(opts.ID, opts.TypedSearchAttributes, args...); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts++
	if !f.noRecord {
		f.inputs = append(f.inputs, args...)
	}
	return fakeRun{id: opts.ID}, nil
}

func (f *fakeTemporal) SignalWithStartWorkflow(_ context.Context, id, _ string, arg any, opts client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	if err := f.check(id, opts.TypedSearchAttributes, append([]any{arg}, args...)...); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals++
	if !f.noRecord {
		f.signalled = append(f.signalled, arg)
		f.inputs = append(f.inputs, args...)
	}
	return fakeRun{id: id}, nil
}

func (f *fakeTemporal) SignalWorkflow(_ context.Context, id, _ string, _ string, arg any) error {
	if err := f.check(id, temporal.SearchAttributes{}, arg); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals++
	if !f.noRecord {
		f.signalled = append(f.signalled, arg)
	}
	return nil
}
