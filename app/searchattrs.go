package app

import (
	"context"
	"log/slog"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/vigil-ops/vigil/workflows"
)

// CheckSearchAttributes makes sure the namespace has Vigil's search attributes: a workflow that
// sets one the namespace lacks fails its task until it is added. Missing ones are added when the
// credentials allow it; otherwise the error says how to add them. It never stops the process:
// a namespace managed elsewhere (Temporal Cloud) may add them later.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string, logger *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		logger.Warn("could not list the namespace's search attributes", "namespace", namespace, "error", err)
		return
	}
	want := workflows.SearchAttributes()
	missing := map[string]enumspb.IndexedValueType{}
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	slices.Sort(names)
	var list []string
	for _, name := range names {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = want[name]
			list = append(list, name+":"+want[name].String())
		}
	}
	if len(missing) == 0 {
		return
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing}); err != nil {
		logger.Error("the namespace lacks search attributes Vigil's workflows set; their workflow tasks fail until they are added "+
			"(deploy/temporal/setup-namespace.sh, or `temporal operator search-attribute create`)",
			"namespace", namespace, "missing", list, "error", err)
		return
	}
	logger.Info("added missing search attributes", "namespace", namespace, "added", list)
}
