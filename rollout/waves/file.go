package waves

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/byoc-access/byoc-access/rollout"
	"github.com/byoc-access/byoc-access/rollout/params"
)

// FileError is a problem in a waves file, with where it is.
type FileError struct {
	// File is the file's path.
	File string
	// Line is the line, 0 when unknown.
	Line int
	// Field is the dotted path of the field, such as waves[1].select.
	Field string
	// Message says what is wrong.
	Message string
}

func (e *FileError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Message)
	}
	return loc + ": " + e.Message
}

// fileWave is one entry of a waves file; an omitted gate setting takes the flag's value.
type fileWave struct {
	Name        string  `yaml:"name"`
	Select      string  `yaml:"select"`
	MaxFailures *string `yaml:"maxFailures"`
	Verify      *bool   `yaml:"verify"`
	Wait        *string `yaml:"wait"`
	Gate        *string `yaml:"gate"`
}

type fileDoc struct {
	Waves []fileWave `yaml:"waves"`
}

// LoadFile reads a waves file:
//
//	waves:
//	  - {name: canary, select: "accounts:111122223333", wait: 10m, gate: "scripts/check-assume"}
//	  - {select: "10%", maxFailures: "1"}
//	  - {select: rest, verify: false}
//
// Gate settings a wave leaves out are the defaults given (the flags'). Errors name the file,
// line and field.
func LoadFile(path string, defaults Gates) ([]Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{File: path, Message: err.Error()}
	}
	var doc fileDoc
	if err := yaml.UnmarshalWithOptions(data, &doc, yaml.Strict()); err != nil {
		fe := &FileError{File: path, Message: "YAML: " + err.Error()}
		var ye yaml.Error
		if errors.As(err, &ye) {
			fe.Message = "YAML: " + ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				fe.Line = tk.Position.Line
			}
		}
		return nil, fe
	}
	tree, _ := parser.ParseBytes(data, 0)
	at := func(field string) *FileError {
		fe := &FileError{File: path, Field: field}
		if p, err := yaml.PathString("$." + field); err == nil && tree != nil {
			if n, err := p.FilterFile(tree); err == nil && n != nil {
				fe.Line = lineOf(n)
			}
		}
		return fe
	}
	if len(doc.Waves) == 0 {
		fe := at("waves")
		fe.Message = "no waves: want a list of waves, each with select (N, P%, rest, ou:PATH, tag:KEY=VALUE or accounts:ID,ID)"
		return nil, fe
	}
	var specs []Spec
	for i, w := range doc.Waves {
		field := fmt.Sprintf("waves[%d]", i)
		fail := func(sub, msg string) error {
			fe := at(field + "." + sub)
			if fe.Line == 0 {
				fe.Line = at(field).Line
			}
			fe.Message = msg
			return fe
		}
		s := Spec{Name: w.Name, Gates: defaults}
		if w.Select == "" {
			return nil, fail("select", "missing: want N, P%, rest, ou:PATH, tag:KEY=VALUE or accounts:ID,ID")
		}
		sel, err := ParseSelector(w.Select)
		if err != nil {
			return nil, fail("select", err.Error())
		}
		s.Select = sel
		if w.MaxFailures != nil {
			tol, err := rollout.ParseFailureTolerance(*w.MaxFailures)
			if err != nil || strings.TrimSpace(*w.MaxFailures) == "" {
				return nil, fail("maxFailures", fmt.Sprintf("%q: want a count such as 1 or a percentage such as 10%%", *w.MaxFailures))
			}
			s.Gates.MaxFailures = tol
		}
		if w.Verify != nil {
			s.Gates.Verify = *w.Verify
		}
		if w.Wait != nil {
			d, err := time.ParseDuration(*w.Wait)
			if err != nil || d < 0 {
				return nil, fail("wait", fmt.Sprintf("%q: want a duration such as 10m", *w.Wait))
			}
			s.Gates.Wait = d
		}
		if w.Gate != nil {
			argv, err := params.SplitWords(*w.Gate)
			if err != nil {
				return nil, fail("gate", err.Error())
			}
			s.Gates.Command = argv
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func lineOf(n ast.Node) int {
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line
	}
	return 0
}
