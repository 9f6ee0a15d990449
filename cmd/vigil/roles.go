package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"gopkg.in/yaml.v3"

	"github.com/vigil-ops/vigil/roles"
	"github.com/vigil-ops/vigil/starter"
)

const rolesUsage = `usage:
  vigil roles apply -f FILE|DIR [--comment TEXT] [--server URL]   create or update roles from YAML
  vigil roles list [--server URL]
  vigil roles show CODE [--version N] [--server URL]               the role as YAML
  vigil roles versions CODE [--server URL]
  vigil roles restore CODE --version N [--server URL]
  vigil roles export [--server URL]                                every role as YAML documents`

// parseInterleaved parses flags that may come before or after positional arguments.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// rolesArgs are the flags and positional arguments of a `vigil roles` subcommand (each
// subcommand reads its own).
type rolesArgs struct {
	base    string // the Vigil base URL (--server)
	file    string // -f (apply)
	comment string // --comment (apply)
	version int    // --version (show, restore)
	pos     []string
}

// code is the one role code a subcommand works on.
func (ra rolesArgs) code() (string, error) {
	if len(ra.pos) != 1 {
		return "", usageError{fmt.Errorf("give exactly one role code\n%s", rolesUsage)}
	}
	return ra.pos[0], nil
}

// rolesSubcommands are the subcommands of `vigil roles`, by name.
var rolesSubcommands = map[string]func(rolesArgs, io.Writer) error{
	"apply":    rolesApply,
	"list":     rolesList,
	"show":     rolesShow,
	"versions": rolesVersions,
	"restore":  rolesRestore,
	"export":   rolesExport,
}

// rolesCmd is `vigil roles SUBCOMMAND`: it parses the flags, then runs the subcommand.
func rolesCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New(rolesUsage)}
	}
	fs := flag.NewFlagSet("vigil roles "+args[0], flag.ContinueOnError)
	server := fs.String("server", "", "Vigil base URL")
	file := fs.String("f", "", "role YAML file or directory (apply)")
	comment := fs.String("comment", "", "comment recorded with the new versions (apply)")
	version := fs.Int("version", 0, "role version (show, restore)")
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return usageError{err}
	}
	sub, ok := rolesSubcommands[args[0]]
	if !ok {
		return usageError{fmt.Errorf("unknown subcommand %q\n%s", args[0], rolesUsage)}
	}
	return sub(rolesArgs{base: serverURL(*server), file: *file, comment: *comment, version: *version, pos: pos}, stdout)
}

// rolesApply creates or updates the roles of a YAML file or directory, one PUT per role.
func rolesApply(ra rolesArgs, stdout io.Writer) error {
	if ra.file == "" {
		return usageError{errors.New("apply needs -f FILE|DIR")}
	}
	rs, err := roles.ReadFiles(ra.file)
	if err != nil {
		return err // names the file and line
	}
	for _, r := range rs {
		body, err := json.Marshal(struct {
			roles.Role
			Comment string `json:"comment,omitempty"`
		}{r, ra.comment})
		if err != nil {
			return err
		}
		out, err := call(http.MethodPut, ra.base+"/v1/roles/"+url.PathEscape(r.Code), body, nil)
		if err != nil {
			return fmt.Errorf("role %s: %w", r.Code, err)
		}
		var res struct {
			Changed bool `json:"changed"`
			Role    struct {
				Meta roles.Meta `json:"meta"`
			} `json:"role"`
		}
		_ = json.Unmarshal(out, &res)
		state := "unchanged"
		if res.Changed {
			state = "updated"
		}
		fmt.Fprintf(stdout, "%s: %s (version %d)\n", r.Code, state, res.Role.Meta.Version)
	}
	return nil
}

// rolesList prints a table of the roles: latest version, chain, answer format, author.
func rolesList(ra rolesArgs, stdout io.Writer) error {
	list, err := fetchRoles(ra.base)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CODE\tVERSION\tCHAIN\tFORMAT\tUPDATED BY\tUPDATED")
	for _, r := range list {
		var chain []string
		for _, l := range r.Chain {
			chain = append(chain, l.Provider+"/"+l.Model)
		}
		format := r.ResponseFormat.Type
		if format == "" {
			format = "text"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", r.Code, r.Meta.Version, strings.Join(chain, " → "), format,
			r.Meta.Author, r.Meta.CreatedAt.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// rolesShow prints one role (its latest version, or --version) as YAML.
func rolesShow(ra rolesArgs, stdout io.Writer) error {
	c, err := ra.code()
	if err != nil {
		return err
	}
	q := ""
	if ra.version > 0 {
		q = "?version=" + strconv.Itoa(ra.version)
	}
	out, err := call(http.MethodGet, ra.base+"/v1/roles/"+url.PathEscape(c)+q, nil, nil)
	if err != nil {
		return err
	}
	var v roles.Versioned
	if err := json.Unmarshal(out, &v); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# version %d by %s at %s\n", v.Meta.Version, v.Meta.Author, v.Meta.CreatedAt.Format("2006-01-02 15:04:05Z07:00"))
	return writeRoleYAML(stdout, v.Role)
}

// rolesVersions prints a table of one role's versions.
func rolesVersions(ra rolesArgs, stdout io.Writer) error {
	c, err := ra.code()
	if err != nil {
		return err
	}
	out, err := call(http.MethodGet, ra.base+"/v1/roles/"+url.PathEscape(c)+"/versions", nil, nil)
	if err != nil {
		return err
	}
	var res struct {
		Versions []roles.Meta `json:"versions"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tAUTHOR\tCREATED\tCOMMENT")
	for _, m := range res.Versions {
		cm := m.Comment
		if m.Deleted {
			cm = "(deleted) " + cm
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, m.Author, m.CreatedAt.Format("2006-01-02 15:04:05"), cm)
	}
	return tw.Flush()
}

// rolesRestore makes --version of a role its latest version again.
func rolesRestore(ra rolesArgs, stdout io.Writer) error {
	c, err := ra.code()
	if err != nil {
		return err
	}
	if ra.version < 1 {
		return usageError{errors.New("restore needs --version N")}
	}
	_, err = call(http.MethodPost, ra.base+"/v1/roles/"+url.PathEscape(c)+"/restore", []byte(`{"version":`+strconv.Itoa(ra.version)+`}`), stdout)
	return err
}

// rolesExport prints every role as YAML documents (what apply reads back).
func rolesExport(ra rolesArgs, stdout io.Writer) error {
	list, err := fetchRoles(ra.base)
	if err != nil {
		return err
	}
	for i, r := range list {
		if i > 0 {
			fmt.Fprintln(stdout, "---")
		}
		if err := writeRoleYAML(stdout, r.Role); err != nil {
			return err
		}
	}
	return nil
}

// fetchRoles returns the latest version of every role from a running Vigil.
func fetchRoles(base string) ([]roles.Versioned, error) {
	out, err := call(http.MethodGet, base+"/v1/roles", nil, nil)
	if err != nil {
		return nil, err
	}
	var res struct {
		Roles []roles.Versioned `json:"roles"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return nil, err
	}
	return res.Roles, nil
}

func writeRoleYAML(w io.Writer, r roles.Role) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(r); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func usageCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("vigil usage", flag.ContinueOnError)
	server := fs.String("server", "", "Vigil base URL")
	groupBy := fs.String("group-by", "role", "client, role, model or provider")
	since := fs.String("since", "24h", "RFC 3339 time or a duration ago")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	q := url.Values{"group_by": {*groupBy}, "since": {*since}}
	out, err := call(http.MethodGet, serverURL(*server)+"/v1/usage?"+q.Encode(), nil, nil)
	if err != nil {
		return err
	}
	var res struct {
		Rows []starter.UsageGroup `json:"rows"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s\tCALLS\tERRORS\tIN TOKENS\tOUT TOKENS\tCOST USD\tAVG MS\t\n", strings.ToUpper(*groupBy))
	for _, r := range res.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%.6f\t%.0f\t\n", r.Key, r.Calls, r.Errors, r.InputTokens, r.OutputTokens, r.CostUSD, r.AvgLatencyMS)
	}
	return tw.Flush()
}
