// Reading a CloudFormation template: YAML or JSON into plain values, with the YAML short
// forms of intrinsic functions (!Ref, !Sub, !GetAtt, ...) turned into their long forms, so the
// conversion sees one shape only.

package cfnimport

import (
	"context"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"github.com/byoc-access/byoc-access/internal/inputfile"
)

// cfnTags are CloudFormation's YAML short forms and the long form each stands for.
var cfnTags = map[string]string{
	"!Ref": "Ref", "!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!Join": "Fn::Join", "!If": "Fn::If",
	"!Select": "Fn::Select", "!Split": "Fn::Split", "!ImportValue": "Fn::ImportValue", "!FindInMap": "Fn::FindInMap",
	"!Base64": "Fn::Base64", "!GetAZs": "Fn::GetAZs", "!Equals": "Fn::Equals", "!Not": "Fn::Not", "!And": "Fn::And",
	"!Or": "Fn::Or", "!Condition": "Condition", "!Cidr": "Fn::Cidr", "!Transform": "Fn::Transform", "!ToJsonString": "Fn::ToJsonString",
}

// ParseTemplate reads a CloudFormation template, YAML or JSON, into plain values, with the
// short forms of intrinsic functions (!Ref, !Sub, ...) turned into their long forms.
func ParseTemplate(file string, data []byte) (map[string]any, error) {
	f, err := inputfile.ParseYAML(context.Background(), file, data)
	if inputfile.IsLimit(err) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a YAML or JSON template: %w", file, err)
	}
	if len(f.Docs) == 0 || f.Docs[0].Body == nil {
		return nil, fmt.Errorf("%s: empty template", file)
	}
	v, err := toValue(f.Docs[0].Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	tpl, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: a template is a map with Resources", file)
	}
	return tpl, nil
}

func toValue(n ast.Node) (any, error) {
	switch x := n.(type) {
	case *ast.DocumentNode:
		return toValue(x.Body)
	case *ast.TagNode:
		long, ok := cfnTags[x.Start.Value]
		if !ok {
			return toValue(x.Value)
		}
		inner, err := toValue(x.Value)
		if err != nil {
			return nil, err
		}
		if long == "Fn::GetAtt" {
			if s, ok := inner.(string); ok {
				inner = toAnyList(strings.SplitN(s, ".", 2))
			}
		}
		return map[string]any{long: inner}, nil
	case *ast.MappingNode:
		out := map[string]any{}
		for _, mv := range x.Values {
			k, v, err := pair(mv)
			if err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, nil
	case *ast.MappingValueNode:
		k, v, err := pair(x)
		if err != nil {
			return nil, err
		}
		return map[string]any{k: v}, nil
	case *ast.SequenceNode:
		out := make([]any, 0, len(x.Values))
		for _, el := range x.Values {
			v, err := toValue(el)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case *ast.AnchorNode:
		return toValue(x.Value)
	case nil:
		return nil, nil
	default:
		var v any
		if err := yaml.NodeToValue(n, &v); err != nil {
			return nil, err
		}
		return v, nil
	}
}

func pair(mv *ast.MappingValueNode) (string, any, error) {
	var k any
	if err := yaml.NodeToValue(mv.Key, &k); err != nil {
		return "", nil, err
	}
	v, err := toValue(mv.Value)
	return fmt.Sprint(k), v, err
}
