package vendors

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/byoc-access/byoc-access/internal/inputfile"
)

// SchemaJSON is the JSON Schema of the vendor spec format, for editors and CI.
//
//go:embed vendor-spec.schema.json
var SchemaJSON []byte

const schemaURL = "https://github.com/byoc-access/byoc-access/vendors/vendor-spec.schema.json"

var compiledSchema = func() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(SchemaJSON))
	if err != nil {
		panic(fmt.Sprintf("embedded vendor spec schema: %v", err))
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(schemaURL, doc); err != nil {
		panic(fmt.Sprintf("embedded vendor spec schema: %v", err))
	}
	s, err := c.Compile(schemaURL)
	if err != nil {
		panic(fmt.Sprintf("embedded vendor spec schema: %v", err))
	}
	return s
}()

// SpecError is a problem in a spec file, located by file, line and field so it can be fixed
// without hunting.
type SpecError struct {
	File   string
	Line   int
	Column int
	// Field is the path of the offending field, e.g. roles[0].maxSessionDuration.
	Field   string
	Message string
}

func (e *SpecError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Message)
	return b.String()
}

// SpecErrors is every problem found in one spec file.
type SpecErrors []*SpecError

func (es SpecErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// LoadFile reads and validates a spec file.
func LoadFile(path string) (*VendorSpec, error) {
	return LoadFileContext(context.Background(), path)
}

// LoadFileContext is LoadFile that cancelling ctx (SIGINT, SIGTERM) stops.
func LoadFileContext(ctx context.Context, path string) (*VendorSpec, error) {
	data, err := inputfile.ReadFile(path)
	if err != nil {
		if le := (*inputfile.Error)(nil); errors.As(err, &le) {
			return nil, limitError(le)
		}
		return nil, fmt.Errorf("read vendor spec: %w", err)
	}
	return LoadContext(ctx, path, data)
}

// Load parses and validates a spec: YAML syntax, then the JSON Schema, then the references
// between its parts. Errors carry the file, line and field.
func Load(file string, data []byte) (*VendorSpec, error) {
	return LoadContext(context.Background(), file, data)
}

// LoadContext is Load that cancelling ctx (SIGINT, SIGTERM) stops.
func LoadContext(ctx context.Context, file string, data []byte) (*VendorSpec, error) {
	f, err := inputfile.ParseYAML(ctx, file, data)
	if le := (*inputfile.Error)(nil); errors.As(err, &le) {
		return nil, limitError(le)
	}
	if err != nil && ctx.Err() != nil {
		return nil, err // stopped, not a syntax error
	}
	if err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		return nil, &SpecError{File: file, Message: "want exactly one YAML document with the vendor spec"}
	}
	var generic any
	// Decoded from the bounded tree, never from the bytes again (see inputfile.ParseYAML).
	if err := yaml.NodeToValue(f.Docs[0].Body, &generic, yaml.UseOrderedMap()); err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	inst, err := toJSONValue(generic)
	if err != nil {
		return nil, &SpecError{File: file, Message: err.Error()}
	}
	loc := locator{file: file, root: f.Docs[0].Body}
	if err := compiledSchema.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return nil, loc.schemaErrors(ve)
		}
		return nil, &SpecError{File: file, Message: err.Error()}
	}
	var spec VendorSpec
	if err := yaml.NodeToValue(f.Docs[0].Body, &spec, yaml.Strict()); err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	if errs := spec.check(); len(errs) > 0 {
		out := make(SpecErrors, 0, len(errs))
		for _, e := range errs {
			line, col := loc.position(e.path)
			out = append(out, &SpecError{File: file, Line: line, Column: col, Field: dotted(e.path), Message: e.msg})
		}
		return nil, out
	}
	spec.source = &loc
	return &spec, nil
}

// limitError is a spec file over an input limit, or not UTF-8, as a located spec error.
func limitError(le *inputfile.Error) error {
	return &SpecError{File: le.File, Line: le.Line, Column: le.Column, Message: le.Message}
}

func yamlSyntaxError(file string, err error) error {
	var se yaml.Error
	if errors.As(err, &se) {
		if tk := se.GetToken(); tk != nil && tk.Position != nil {
			return &SpecError{File: file, Line: tk.Position.Line, Column: tk.Position.Column, Message: "YAML: " + se.GetMessage()}
		}
		return &SpecError{File: file, Message: "YAML: " + se.GetMessage()}
	}
	return &SpecError{File: file, Message: "YAML: " + err.Error()}
}

// toJSONValue round-trips through JSON so the schema sees JSON's types, not YAML's.
func toJSONValue(v any) (any, error) {
	b, err := json.Marshal(normalizeYAML(v))
	if err != nil {
		return nil, fmt.Errorf("spec is not representable as JSON: %v", err)
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func normalizeYAML(v any) any {
	switch x := v.(type) {
	case yaml.MapSlice:
		m := make(map[string]any, len(x))
		for _, it := range x {
			m[fmt.Sprint(it.Key)] = normalizeYAML(it.Value)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, el := range x {
			m[k] = normalizeYAML(el)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = normalizeYAML(el)
		}
		return out
	}
	return v
}

type locator struct {
	file string
	root ast.Node
}

var (
	englishPrinter = message.NewPrinter(language.English)
	// digitGroups undoes the printer's thousands separators, so limits read as IAM writes them.
	digitGroups = regexp.MustCompile(`(\d),(\d{3})`)
)

func (l locator) schemaErrors(ve *jsonschema.ValidationError) error {
	var leaves []*jsonschema.ValidationError
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			leaves = append(leaves, e)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	// The deepest location is the most precise; oneOf branches repeat, so dedupe.
	sort.SliceStable(leaves, func(i, j int) bool { return len(leaves[i].InstanceLocation) > len(leaves[j].InstanceLocation) })
	seen := map[string]bool{}
	var out SpecErrors
	for _, e := range leaves {
		msg := digitGroups.ReplaceAllString(e.ErrorKind.LocalizedString(englishPrinter), "$1$2")
		key := strings.Join(e.InstanceLocation, "/") + msg
		if seen[key] {
			continue
		}
		seen[key] = true
		line, col := l.position(e.InstanceLocation)
		out = append(out, &SpecError{File: l.file, Line: line, Column: col, Field: dotted(e.InstanceLocation), Message: msg})
		if len(out) == 5 {
			break
		}
	}
	return out
}

// position finds the line and column of a field path in the YAML tree.
func (l locator) position(path []string) (int, int) {
	node := l.root
	best := node
	for _, seg := range path {
		next := child(node, seg)
		if next == nil {
			break
		}
		node, best = next, next
	}
	if best == nil || best.GetToken() == nil || best.GetToken().Position == nil {
		return 0, 0
	}
	p := best.GetToken().Position
	return p.Line, p.Column
}

func child(n ast.Node, seg string) ast.Node {
	switch x := n.(type) {
	case *ast.DocumentNode:
		return child(x.Body, seg)
	case *ast.MappingNode:
		for _, mv := range x.Values {
			if c := child(mv, seg); c != nil {
				return c
			}
		}
	case *ast.MappingValueNode:
		if x.Key != nil && strings.Trim(x.Key.String(), `"'`) == seg {
			if x.Value != nil && x.Value.GetToken() != nil {
				return x.Value
			}
			return x.Key
		}
	case *ast.SequenceNode:
		i, err := strconv.Atoi(seg)
		if err == nil && i >= 0 && i < len(x.Values) {
			return x.Values[i]
		}
	case *ast.TagNode:
		return child(x.Value, seg)
	case *ast.AnchorNode:
		return child(x.Value, seg)
	}
	return nil
}

func dotted(path []string) string {
	var b strings.Builder
	for _, seg := range path {
		if _, err := strconv.Atoi(seg); err == nil {
			fmt.Fprintf(&b, "[%s]", seg)
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	return b.String()
}
