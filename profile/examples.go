package profile

import (
	"embed"
	"path"
	"slices"
	"strings"
)

// Names of the bundled example alerts.
const (
	ExampleSlowSQL        = "slow-sql"        // an 8.4 s SELECT on orders JOIN order_items
	ExampleSlowConnection = "slow-connection" // 5 s to acquire a pooled DB connection
	ExampleNetworkDelay   = "network-delay"   // a 6 s call to pay.partner.example.com:443
	ExampleException      = "exception"       // java.sql.SQLTransientConnectionException
	ExampleNPlusOne       = "n-plus-one"      // one SELECT executed 1,200 times
	ExampleNormal         = "normal"          // nothing seriously slow
)

//go:embed examples/*.json
var examplesFS embed.FS

// Example returns a copy of the bundled example alert document with the given name, as it would
// be posted to POST /v1/alerts/apm. The examples feed demos, docs and tests.
func Example(name string) ([]byte, bool) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return nil, false
	}
	data, err := examplesFS.ReadFile(path.Join("examples", name+".json"))
	if err != nil {
		return nil, false
	}
	return data, true
}

// ExampleNames returns the names of the bundled examples, sorted.
func ExampleNames() []string {
	entries, _ := examplesFS.ReadDir("examples")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
