package params

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/byoc-access/byoc-access/internal/inputfile"
	"github.com/byoc-access/byoc-access/internal/validate"
	"github.com/byoc-access/byoc-access/rollout/targets"
)

// File is a parameters file: values of vendor parameters keyed by account ID.
//
// YAML or JSON (.yaml, .yml, .json), a map of account IDs to maps of parameter values:
//
//	"111122223333": {external_id: dd-4f1c9a, vpc_id: vpc-0abc}
//	"444455556666": {external_id: dd-77e0b2}
//
// CSV (.csv), a header of id and parameter names (param:NAME works too), one row per account;
// an empty cell leaves the parameter to other sources:
//
//	id,external_id,vpc_id
//	111122223333,dd-4f1c9a,vpc-0abc
type File struct {
	// Path is the file as the user gave it.
	Path string
	// Accounts are the values per account ID; each Value's Source names the file and line.
	Accounts map[string]map[string]Value
	// order is the account IDs as the file lists them, for messages.
	order []string
}

// IDs are the file's account IDs in the order the file lists them.
func (f *File) IDs() []string { return append([]string(nil), f.order...) }

// LoadFile reads a parameters file; errors name the file, the line or row and the fix.
func LoadFile(path string) (*File, error) {
	return LoadFileContext(context.Background(), path)
}

// LoadFileContext is LoadFile that cancelling ctx (SIGINT, SIGTERM) stops.
func LoadFileContext(ctx context.Context, path string) (*File, error) {
	data, err := inputfile.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--params-file: %w", err)
	}
	f := &File{Path: path, Accounts: map[string]map[string]Value{}}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		err = f.parseCSV(data)
	case ".yaml", ".yml", ".json":
		err = f.parseYAML(ctx, data)
	default:
		return nil, fmt.Errorf("--params-file %s: use a .yaml, .json or .csv file", path)
	}
	if err != nil {
		return nil, err
	}
	if len(f.order) == 0 {
		return nil, fmt.Errorf("%s: no accounts listed: want account IDs mapped to parameter values, e.g. \"111122223333\": {external_id: abc}", path)
	}
	return f, nil
}

// add records one account's values, rejecting a bad or repeated account ID.
func (f *File) add(id, where string, vals map[string]Value) error {
	if err := validate.AccountID(id); err != nil {
		return fmt.Errorf("%s: %s: %w", f.Path, where, err)
	}
	if _, dup := f.Accounts[id]; dup {
		return fmt.Errorf("%s: %s: account %s is listed twice", f.Path, where, id)
	}
	f.Accounts[id] = vals
	f.order = append(f.order, id)
	return nil
}

func (f *File) parseYAML(ctx context.Context, data []byte) error {
	file, err := inputfile.ParseYAML(ctx, f.Path, data)
	if inputfile.IsLimit(err) || (err != nil && ctx.Err() != nil) {
		return fmt.Errorf("--params-file: %w", err)
	}
	if err != nil {
		return fmt.Errorf("%s: %s", f.Path, yamlMessage(err))
	}
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return nil
	}
	root, ok := file.Docs[0].Body.(ast.MapNode)
	if !ok {
		return fmt.Errorf("%s: line %d: want a map of account IDs to parameter values, e.g. \"111122223333\": {external_id: abc}", f.Path, line(file.Docs[0].Body))
	}
	for it := root.MapRange(); it.Next(); {
		id, where := scalarText(it.Key()), fmt.Sprintf("line %d", line(it.Key()))
		vals := map[string]Value{}
		switch body := it.Value().(type) {
		case ast.MapNode:
			for p := body.MapRange(); p.Next(); {
				name := scalarText(p.Key())
				v, err := valueText(p.Value())
				if err != nil {
					return fmt.Errorf("%s: line %d: account %s, parameter %s: %v", f.Path, line(p.Key()), id, name, err)
				}
				if _, dup := vals[name]; dup {
					return fmt.Errorf("%s: line %d: account %s: parameter %s is given twice", f.Path, line(p.Key()), id, name)
				}
				if strings.TrimSpace(v) == "" {
					continue
				}
				vals[name] = Value{Value: v, Source: fmt.Sprintf("params file %s (line %d)", f.Path, line(p.Key()))}
			}
		case *ast.NullNode:
		default:
			return fmt.Errorf("%s: %s: account %s: want a map of parameter names to values, e.g. {external_id: abc}", f.Path, where, id)
		}
		if err := f.add(id, where, vals); err != nil {
			return err
		}
	}
	return nil
}

func yamlMessage(err error) string {
	var yerr yaml.Error
	if errors.As(err, &yerr) && yerr.GetToken() != nil {
		return fmt.Sprintf("line %d: %s", yerr.GetToken().Position.Line, yerr.GetMessage())
	}
	return err.Error()
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

// scalarText is a scalar as written: an unquoted 012345678901 is the digits, not an octal
// number, and an external ID of digits keeps its leading zeros.
func scalarText(n ast.Node) string {
	if n == nil || n.GetToken() == nil {
		return ""
	}
	if n.GetToken().Type == token.NullType {
		return ""
	}
	return strings.TrimSpace(n.GetToken().Value)
}

// valueText is a parameter value as text: scalars as written, lists and maps as JSON, which
// the vendor's parameter types accept.
func valueText(n ast.Node) (string, error) {
	switch n.(type) {
	case *ast.SequenceNode, ast.MapNode:
		var v any
		if err := yaml.NodeToValue(n, &v); err != nil {
			return "", err
		}
		b, err := json.Marshal(v)
		return string(b), err
	case *ast.NullNode:
		return "", nil
	}
	return scalarText(n), nil
}

func (f *File) parseCSV(data []byte) error {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(data))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: header row: %w", f.Path, err)
	}
	idCol := -1
	names := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		switch strings.ToLower(h) {
		case "id", "account_id", "account":
			if idCol >= 0 {
				return fmt.Errorf("%s: row 1: two account ID columns", f.Path)
			}
			idCol = i
			continue
		}
		if p, ok := targets.ParamColumn(h); ok {
			h = p
		}
		if h == "" {
			return fmt.Errorf("%s: row 1: column %d has no name: want a parameter name such as external_id", f.Path, i+1)
		}
		if seen[h] {
			return fmt.Errorf("%s: row 1: column %q is there twice", f.Path, h)
		}
		seen[h] = true
		names[i] = h
	}
	if idCol < 0 {
		return fmt.Errorf("%s: row 1: the header has no id column: want id,PARAM,... such as id,external_id", f.Path)
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		row, _ := r.FieldPos(0)
		where := fmt.Sprintf("row %d", row)
		if len(rec) > len(header) {
			return fmt.Errorf("%s: %s: %d cells but the header has %d columns", f.Path, where, len(rec), len(header))
		}
		id := ""
		if idCol < len(rec) {
			id = strings.TrimSpace(rec[idCol])
		}
		vals := map[string]Value{}
		for i, cell := range rec {
			if i == idCol || strings.TrimSpace(cell) == "" {
				continue
			}
			vals[names[i]] = Value{Value: strings.TrimSpace(cell), Source: fmt.Sprintf("params file %s (%s)", f.Path, where)}
		}
		if err := f.add(id, where, vals); err != nil {
			return err
		}
	}
}
