// Command grafana-check decodes dashboard JSON files strictly against Grafana's own schema and
// validates them, with the models of the grafana-foundation-sdk Go module (Grafana 11.6).
//
//	go run . ../dashboards/*.json   (or: make grafana-check)
//
// Strict decoding fails on a required field that is absent, a field of the wrong type and a field the
// schema does not know, in the dashboard and in each panel's options and field config (the panel
// plugins' own schemas: timeseries, stat, bargauge, table, ...). Validate then checks the schema's
// constraints (value ranges and the like). Every problem is printed, one a line, prefixed by the file;
// the exit status is 1 when there was any.
//
// A panel type the SDK has no schema for would be decoded loosely, so it is a problem too. Queries of a
// datasource the SDK has no schema for (PostgreSQL, in v0.0.22) are decoded as opaque objects: they are
// counted in a note, and tests/integration/test_grafana_sql.py runs each on a real PostgreSQL.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grafana-check DASHBOARD.json...")
		os.Exit(2)
	}
	plugins.RegisterDefaultPlugins()
	failed := 0
	for _, path := range os.Args[1:] {
		problems, opaque, err := check(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed++
			continue
		}
		for _, problem := range problems {
			fmt.Printf("%s: %s\n", path, problem)
		}
		if opaque > 0 {
			fmt.Printf("%s: note: %d queries of a datasource without a schema in the SDK, not decoded strictly\n", path, opaque)
		}
		if len(problems) > 0 {
			failed++
			fmt.Printf("%s: %d problems\n", path, len(problems))
		} else {
			fmt.Printf("%s: valid (strict decode and Validate)\n", path)
		}
	}
	if failed > 0 {
		fmt.Printf("%d of %d dashboards do not match Grafana's schema\n", failed, len(os.Args)-1)
		os.Exit(1)
	}
}

// check returns every problem the strict decode and the validation find in one dashboard file, and
// how many queries it could only decode as opaque objects.
func check(path string) ([]string, int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, err
	}
	var problems []string
	var strict dashboard.Dashboard
	if err := strict.UnmarshalJSONStrict(raw); err != nil {
		problems = append(problems, flatten("decode", err)...)
	}
	// v0.0.22's strict decode returns its error list as a typed nil even when it is empty, and the panel
	// decoder takes that for a failure and drops the panel: `strict` has no panels. So the constraints are
	// checked, and the panel types looked up, on the ordinary decode of the same JSON.
	var board dashboard.Dashboard
	if err := json.Unmarshal(raw, &board); err != nil {
		return append(problems, fmt.Sprintf("decode: %v", err)), 0, nil
	}
	if err := board.Validate(); err != nil {
		problems = append(problems, flatten("validate", err)...)
	}
	opaque := 0
	for i, item := range board.Panels {
		panels := map[string]dashboard.Panel{}
		if item.Panel != nil {
			panels[fmt.Sprintf("panels[%d]", i)] = *item.Panel
		} else if item.RowPanel != nil {
			for j, panel := range item.RowPanel.Panels {
				panels[fmt.Sprintf("panels[%d].panels[%d]", i, j)] = panel
			}
		}
		for at, panel := range panels {
			if _, found := cog.ConfigForPanelcfgVariant(panel.Type); !found {
				problems = append(problems, fmt.Sprintf("schema: %s: no schema for panel type %q in the SDK", at, panel.Type))
			}
			for _, target := range panel.Targets {
				if _, unknown := target.(variants.UnknownDataquery); unknown {
					opaque++
				}
			}
		}
	}
	return problems, opaque, nil
}

// flatten lists the SDK's collected errors one by one (a cog.BuildErrors holds one per field).
func flatten(stage string, err error) []string {
	var many cog.BuildErrors
	if errors.As(err, &many) {
		out := make([]string, 0, len(many))
		for _, one := range many {
			out = append(out, fmt.Sprintf("%s: %s", stage, one.Error()))
		}
		return out
	}
	return []string{fmt.Sprintf("%s: %s", stage, err.Error())}
}
