package tests

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"

	"github.com/vigil-ops/vigil/app"
	"github.com/vigil-ops/vigil/devserver"
	"github.com/vigil-ops/vigil/tests/testenv"
	"github.com/vigil-ops/vigil/workflows"
)

// A namespace set up before VigilApplications existed gets it when a server or worker starts.
func TestMissingSearchAttributesAreAdded(t *testing.T) {
	older := workflows.SearchAttributes()
	delete(older, workflows.SearchAttrApplications.GetName())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := devserver.Start(ctx, devserver.Options{Address: "127.0.0.1:0", SearchAttributes: older, Logger: testenv.Logger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Stop() })
	c := testenv.Client(t, srv)
	list := func() map[string]enumspb.IndexedValueType {
		resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "default"})
		require.NoError(t, err)
		return resp.GetCustomAttributes()
	}
	require.NotContains(t, list(), "VigilApplications")
	app.CheckSearchAttributes(ctx, c, "default", testenv.Logger(t))
	require.Equal(t, enumspb.INDEXED_VALUE_TYPE_KEYWORD_LIST, list()["VigilApplications"])
	for name, typ := range workflows.SearchAttributes() {
		require.Equal(t, typ, list()[name], name)
	}
}
