package targets

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
)

// LoadAccountsFile reads target accounts from a CSV file (header id,name,ou_path,email,tags
// with tags as k=v;k2=v2; only id is required) or a YAML file (accounts: [{id, name, ouPath,
// email, tags}]), for users who cannot read the organization. Errors name the file, the row
// and the field.
func LoadAccountsFile(path string) ([]Account, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("accounts file: %w", err)
	}
	var accounts []Account
	var rows []int
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		accounts, rows, err = parseCSV(path, data)
	case ".yaml", ".yml":
		accounts, rows, err = parseYAML(path, data)
	default:
		return nil, fmt.Errorf("accounts file %s: use a .csv or .yaml file", path)
	}
	if err != nil {
		return nil, err
	}
	seen := map[string]int{}
	for i, a := range accounts {
		if err := ValidateAccountID(a.ID); err != nil {
			return nil, fmt.Errorf("%s: row %d: id %q: an AWS account ID is exactly 12 digits", path, rows[i], a.ID)
		}
		if prev, dup := seen[a.ID]; dup {
			return nil, fmt.Errorf("%s: row %d: id %s is already listed at row %d", path, rows[i], a.ID, prev)
		}
		seen[a.ID] = rows[i]
		accounts[i].Status = "ACTIVE"
	}
	if len(accounts) == 0 {
		return nil, fmt.Errorf("%s: no accounts listed", path)
	}
	return accounts, nil
}

func parseCSV(path string, data []byte) ([]Account, []int, error) {
	r := csv.NewReader(strings.NewReader(string(data)))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: read the header row: %w", path, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	if _, ok := col["id"]; !ok {
		return nil, nil, fmt.Errorf("%s: row 1: the header has no id column (want id,name,ou_path,email,tags)", path)
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Account
	var rows []int
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		a := Account{ID: get(rec, "id"), Name: get(rec, "name"), OUPath: get(rec, "ou_path"), Email: get(rec, "email")}
		if t := get(rec, "tags"); t != "" {
			a.Tags = map[string]string{}
			for _, kv := range strings.Split(t, ";") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || strings.TrimSpace(k) == "" {
					return nil, nil, fmt.Errorf("%s: row %d: tags %q: want key=value pairs separated by ;", path, line, t)
				}
				a.Tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		out = append(out, a)
		rows = append(rows, line)
	}
	return out, rows, nil
}

type yamlAccounts struct {
	Accounts []struct {
		ID     string            `yaml:"id"`
		Name   string            `yaml:"name"`
		OUPath string            `yaml:"ouPath"`
		Email  string            `yaml:"email"`
		Tags   map[string]string `yaml:"tags"`
	} `yaml:"accounts"`
}

func parseYAML(path string, data []byte) ([]Account, []int, error) {
	var doc yamlAccounts
	if err := yaml.UnmarshalWithOptions(data, &doc, yaml.Strict()); err != nil {
		return nil, nil, fmt.Errorf("%s: %s", path, yaml.FormatError(err, false, false))
	}
	var out []Account
	var rows []int
	for i, a := range doc.Accounts {
		// YAML rows are counted as list entries, since a YAML account spans several lines.
		out = append(out, Account{ID: a.ID, Name: a.Name, OUPath: a.OUPath, Email: a.Email, Tags: a.Tags})
		rows = append(rows, i+1)
	}
	return out, rows, nil
}

// ApplyFilter applies a filter to accounts that came from a file: OUs match by OU path prefix,
// and accounts named in the filter must be in the file.
func ApplyFilter(accounts []Account, f Filter) (Result, error) {
	if err := f.Validate(); err != nil {
		return Result{}, err
	}
	inFile := map[string]bool{}
	for _, a := range accounts {
		inFile[a.ID] = true
	}
	for _, id := range f.Accounts {
		if !inFile[id] {
			return Result{}, fmt.Errorf("account %s is not in the accounts file: check --account", id)
		}
	}
	toSet := func(paths []string) map[string]bool {
		out := map[string]bool{}
		for _, p := range paths {
			out[strings.TrimSuffix(p, "/")] = true
		}
		return out
	}
	inOU := func(a Account, ous map[string]bool) bool {
		for p := range ous {
			if a.OUPath == p || strings.HasPrefix(a.OUPath, p+"/") {
				return true
			}
		}
		return false
	}
	return selectAccounts(accounts, f, inOU, toSet(f.OUs), toSet(f.ExcludeOUs)), nil
}
