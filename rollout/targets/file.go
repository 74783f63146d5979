package targets

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/byoc-access/byoc-access/internal/inputfile"
	"github.com/byoc-access/byoc-access/internal/validate"
)

// LoadAccountsFile reads target accounts from a CSV file (header id,name,ou_path,email,tags
// with tags as k=v;k2=v2, and a column param:NAME per vendor parameter the accounts set each
// for themselves; only id is required) or a YAML file (accounts: [{id, name, ouPath, email,
// tags, params}]), chosen by extension, for users who cannot read the organization. Errors name
// the file, the row (CSV: the file's line, so the header is row 1, as in a spreadsheet) or
// line (YAML) and the field, because these files are written by hand. File accounts are taken to be ACTIVE: only the
// organization knows otherwise.
func LoadAccountsFile(path string) ([]Account, error) {
	return LoadAccountsFileContext(context.Background(), path)
}

// LoadAccountsFileContext is LoadAccountsFile that cancelling ctx (SIGINT, SIGTERM) stops.
func LoadAccountsFileContext(ctx context.Context, path string) ([]Account, error) {
	data, err := inputfile.ReadFile(path)
	if le := (*inputfile.Error)(nil); errors.As(err, &le) {
		return nil, limitError(le)
	}
	if err != nil {
		return nil, &InputError{Field: "--accounts-file", Value: path, Problem: "accounts file", Err: err}
	}
	name := path // as the user gave it, the way a compiler names a source file
	var entries []fileEntry
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		entries, err = parseCSV(name, data)
	case ".yaml", ".yml":
		entries, err = parseYAML(ctx, name, data)
	default:
		return nil, &InputError{Field: "--accounts-file", Value: path, Problem: "accounts file " + path, Fix: "use a .csv or .yaml file"}
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]string{}
	accounts := make([]Account, 0, len(entries))
	for _, e := range entries {
		var bad *validate.Error
		if errors.As(validate.AccountID(e.ID), &bad) {
			return nil, &InputError{Field: "id", Value: e.ID, File: name, Where: e.where, Problem: fmt.Sprintf("id %q", e.ID), Fix: bad.Fix}
		}
		if prev, dup := seen[e.ID]; dup {
			return nil, &InputError{Field: "id", Value: e.ID, File: name, Where: e.where, Problem: fmt.Sprintf("id %s is already listed at %s", e.ID, prev)}
		}
		seen[e.ID] = e.where
		e.Status = "ACTIVE"
		accounts = append(accounts, e.Account)
	}
	if len(accounts) == 0 {
		return nil, &InputError{Field: "--accounts-file", Value: name, File: name, Problem: "no accounts listed"}
	}
	return accounts, nil
}

// fileEntry is an account from a file and where it was written ("row 3", "line 7").
type fileEntry struct {
	Account
	where string
}

// csvColumns are the columns a CSV accounts file may have, besides param:NAME columns.
var csvColumns = []string{"id", "name", "ou_path", "email", "tags"}

// ParamColumnPrefix starts a CSV accounts file column that holds one vendor parameter's value
// per account: param:external_id. An empty cell leaves the parameter to other sources.
const ParamColumnPrefix = "param:"

// ParamColumn reads a CSV header cell that names a vendor parameter's column: param:NAME, the
// prefix in any case, as spreadsheets capitalise it. It returns NAME, trimmed and in its own
// case (it must match the spec's), or false for any other column. Accounts files and
// parameters files both read such columns.
func ParamColumn(header string) (string, bool) {
	h := strings.TrimSpace(header)
	if len(h) < len(ParamColumnPrefix) || !strings.EqualFold(h[:len(ParamColumnPrefix)], ParamColumnPrefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(ParamColumnPrefix):]), true
}

var paramNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func parseCSV(name string, data []byte) ([]fileEntry, error) {
	// Spreadsheet programs start UTF-8 CSV files with a byte order mark.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1 // trailing optional columns may be left off
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &InputError{Field: "--accounts-file", Value: name, File: name, Problem: "no accounts listed"}
	}
	if err != nil {
		return nil, &InputError{Field: "header", File: name, Where: "header row", Err: err}
	}
	known := map[string]bool{}
	for _, c := range csvColumns {
		known[c] = true
	}
	col := map[string]int{}
	paramCols := map[string]int{} // parameter name -> column
	for i, h := range header {
		h = strings.TrimSpace(h)
		if p, ok := ParamColumn(h); ok {
			if !paramNamePattern.MatchString(p) {
				return nil, &InputError{Field: "header", Value: h, File: name, Where: "row 1", Problem: fmt.Sprintf("column %q: want param:NAME with NAME a vendor parameter such as external_id", h)}
			}
			if _, dup := paramCols[p]; dup {
				return nil, &InputError{Field: "header", Value: h, File: name, Where: "row 1", Problem: fmt.Sprintf("column %q is there twice", h)}
			}
			paramCols[p] = i
			continue
		}
		h = strings.ToLower(h)
		if !known[h] {
			return nil, &InputError{Field: "header", Value: h, File: name, Where: "row 1", Problem: fmt.Sprintf("unknown column %q (want %s); a vendor parameter's column is %sNAME", h, strings.Join(csvColumns, ","), ParamColumnPrefix)}
		}
		if _, dup := col[h]; dup {
			return nil, &InputError{Field: "header", Value: h, File: name, Where: "row 1", Problem: fmt.Sprintf("column %q is there twice", h)}
		}
		col[h] = i
	}
	if _, ok := col["id"]; !ok {
		return nil, &InputError{Field: "header", File: name, Where: "row 1", Problem: fmt.Sprintf("the header has no id column (want %s)", strings.Join(csvColumns, ","))}
	}
	get := func(rec []string, field string) string {
		if i, ok := col[field]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []fileEntry
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &InputError{Field: "--accounts-file", Value: name, File: name, Err: err}
		}
		line, _ := r.FieldPos(0)
		where := fmt.Sprintf("row %d", line)
		a := Account{ID: get(rec, "id"), Name: get(rec, "name"), OUPath: get(rec, "ou_path"), Email: get(rec, "email")}
		if t := get(rec, "tags"); t != "" {
			a.Tags = map[string]string{}
			for _, kv := range strings.Split(t, ";") {
				if strings.TrimSpace(kv) == "" {
					continue // a trailing ;
				}
				k, v, ok := strings.Cut(kv, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return nil, &InputError{Field: "tags", Value: t, File: name, Where: where, Problem: fmt.Sprintf("tags %q", t), Fix: "want key=value pairs separated by ;"}
				}
				a.Tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		for p, i := range paramCols {
			if i < len(rec) && strings.TrimSpace(rec[i]) != "" {
				if a.Params == nil {
					a.Params = map[string]string{}
				}
				a.Params[p] = strings.TrimSpace(rec[i])
			}
		}
		out = append(out, fileEntry{Account: a, where: where})
	}
	return out, nil
}

type yamlAccounts struct {
	Accounts []yamlAccount `yaml:"accounts"`
}

type yamlAccount struct {
	ID     yamlAccountID     `yaml:"id"`
	Name   string            `yaml:"name"`
	OUPath string            `yaml:"ouPath"`
	Email  string            `yaml:"email"`
	Tags   map[string]string `yaml:"tags"`
	// Params are vendor parameter values for this account; lists and maps are kept as JSON.
	Params map[string]yamlParamValue `yaml:"params"`
}

// yamlParamValue is a parameter value as written: a scalar keeps its text (an external ID of
// digits stays a string, leading zeros included), a list or map becomes JSON text, which the
// vendor's parameter types accept.
type yamlParamValue string

// UnmarshalYAML keeps a plain scalar's text and turns a sequence or mapping into JSON.
func (v *yamlParamValue) UnmarshalYAML(raw []byte) error {
	var node any
	if err := yaml.Unmarshal(raw, &node); err != nil {
		return err
	}
	switch node.(type) {
	case []any, map[string]any:
		b, err := json.Marshal(node)
		if err != nil {
			return err
		}
		*v = yamlParamValue(b)
		return nil
	}
	var text yamlAccountID
	if err := text.UnmarshalYAML(raw); err != nil {
		return err
	}
	*v = yamlParamValue(text)
	return nil
}

// yamlAccountID is an account ID as written: YAML reads an unquoted 012345670123 as an octal
// number, and a person who wrote it meant the digits.
type yamlAccountID string

// UnmarshalYAML keeps a plain scalar's text and unquotes a quoted one.
func (id *yamlAccountID) UnmarshalYAML(raw []byte) error {
	text := strings.TrimSpace(string(raw))
	switch {
	case text == "~" || text == "null":
		text = ""
	case strings.HasPrefix(text, `"`) || strings.HasPrefix(text, "'"):
		var s string
		if err := yaml.Unmarshal(raw, &s); err != nil {
			return err
		}
		text = s
	}
	*id = yamlAccountID(text)
	return nil
}

func parseYAML(ctx context.Context, name string, data []byte) ([]fileEntry, error) {
	// The syntax tree, within the input limits, gives the positions; the values are decoded
	// from it, never from the bytes again.
	file, err := inputfile.ParseYAML(ctx, name, data)
	if le := (*inputfile.Error)(nil); errors.As(err, &le) {
		return nil, limitError(le)
	}
	if err != nil {
		return nil, yamlInputError(name, err)
	}
	var doc yamlAccounts
	if len(file.Docs) > 0 && file.Docs[0].Body != nil {
		err = yaml.NodeToValue(file.Docs[0].Body, &doc, yaml.Strict())
	}
	if err != nil {
		return nil, yamlInputError(name, err)
	}
	out := make([]fileEntry, 0, len(doc.Accounts))
	for i, a := range doc.Accounts {
		where := fmt.Sprintf("accounts[%d]", i)
		for _, q := range []string{fmt.Sprintf("$.accounts[%d].id", i), fmt.Sprintf("$.accounts[%d]", i)} {
			if line := yamlLine(file, q); line > 0 {
				where = fmt.Sprintf("line %d (accounts[%d])", line, i)
				break
			}
		}
		acct := Account{ID: strings.TrimSpace(string(a.ID)), Name: a.Name, OUPath: a.OUPath, Email: a.Email, Tags: a.Tags}
		for k, v := range a.Params {
			if !paramNamePattern.MatchString(k) {
				return nil, &InputError{Field: "params", Value: k, File: name, Where: where, Problem: fmt.Sprintf("params: %q is not a parameter name (letters, digits and _)", k)}
			}
			if strings.TrimSpace(string(v)) == "" {
				continue
			}
			if acct.Params == nil {
				acct.Params = map[string]string{}
			}
			acct.Params[k] = strings.TrimSpace(string(v))
		}
		out = append(out, fileEntry{Account: acct, where: where})
	}
	return out, nil
}

func yamlInputError(name string, err error) error {
	var yerr yaml.Error
	if errors.As(err, &yerr) && yerr.GetToken() != nil {
		return &InputError{Field: "--accounts-file", Value: name, File: name, Where: fmt.Sprintf("line %d", yerr.GetToken().Position.Line), Problem: yerr.GetMessage()}
	}
	return &InputError{Field: "--accounts-file", Value: name, File: name, Err: err}
}

// limitError is an accounts file over an input limit, or not UTF-8.
func limitError(le *inputfile.Error) error {
	where := ""
	if le.Line > 0 {
		where = fmt.Sprintf("line %d", le.Line)
	}
	return &InputError{Field: "--accounts-file", Value: le.File, File: le.File, Where: where, Problem: le.Message}
}

// yamlLine is the line of the node at a YAML path, or 0.
func yamlLine(file *ast.File, query string) int {
	p, err := yaml.PathString(query)
	if err != nil {
		return 0
	}
	n, err := p.FilterFile(file)
	if err != nil || n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}
