package inputfile

import (
	"context"
	"fmt"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// ParseYAML parses YAML (or JSON) within the limits, and so is the one way byoc-access turns
// a user's file into a syntax tree: decode from the tree it returns (yaml.NodeToValue), never
// from the bytes, which would lex, parse and expand the aliases again without the limits.
// Cancelling ctx (SIGINT, SIGTERM) stops it.
func ParseYAML(ctx context.Context, file string, data []byte) (*ast.File, error) {
	if len(data) > MaxBytes {
		return nil, sizeError(file, int64(len(data)))
	}
	if err := CheckText(file, data); err != nil {
		return nil, err
	}
	// The byte scan bounds what the YAML library is given: its lexer and parser cannot be
	// stopped, and the parser's memory grows with the square of the depth of flow nesting.
	if err := prescan(ctx, file, data); err != nil {
		return nil, err
	}
	type result struct {
		f   *ast.File
		err error
	}
	done := make(chan result, 1)
	go func() {
		tokens := lexer.Tokenize(string(data))
		if err := collectionDepth(file, tokens); err != nil {
			done <- result{err: err}
			return
		}
		f, err := parser.Parse(tokens, 0)
		done <- result{f, err}
	}()
	var res result
	select {
	case <-ctx.Done():
		// The parse goroutine is bounded by the limits and ends on its own.
		return nil, checkCtx(ctx, file)
	case res = <-done:
	}
	if res.err != nil {
		return nil, res.err
	}
	if err := checkAliases(file, res.f); err != nil {
		return nil, err
	}
	return res.f, nil
}

// prescan bounds the work the YAML library will be given, from the bytes. Items are counted
// over every byte, quoted or not (an upper bound a quote cannot hide anything from: a stray
// quote would otherwise make the scan skip the rest of the file); the depth of flow
// collections is counted outside quoted scalars and comments, for an early answer with a line.
// collectionDepth checks the depth exactly, from the tokens, before the parser runs.
func prescan(ctx context.Context, file string, data []byte) error {
	items, depth := 0, 0
	line := 1
	var quote byte // the quote of the scalar the scan is in, or 0
	comment := false
	startish := func(i int) bool { // a YAML indicator may start at i
		if i == 0 {
			return true
		}
		switch data[i-1] {
		case ' ', '\t', '\n', '\r', '[', '{', ',', ':', '-', '?':
			return true
		}
		return false
	}
	for i := 0; i < len(data); i++ {
		if i&0xffff == 0 {
			if err := checkCtx(ctx, file); err != nil {
				return err
			}
		}
		c := data[i]
		switch c {
		case ',', '[', '{', '&', '*':
			items++
		case '-', ':', '?':
			if i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\r' || data[i+1] == '\t' {
				items++
			}
		}
		if items > MaxItems {
			return &Error{File: file, Line: line, Limit: LimitItems,
				Message: fmt.Sprintf("more than %d YAML items (entries, keys, anchors), the input limit", MaxItems)}
		}
		if c == '\n' {
			line++
			comment = false
			continue
		}
		switch {
		case comment:
			continue
		case quote == '"':
			if c == '\\' {
				i++
			} else if c == '"' {
				quote = 0
			}
			continue
		case quote == '\'':
			if c == '\'' {
				if i+1 < len(data) && data[i+1] == '\'' {
					i++
				} else {
					quote = 0
				}
			}
			continue
		}
		switch c {
		case '"', '\'':
			if startish(i) {
				quote = c
			}
		case '#':
			if i == 0 || data[i-1] == ' ' || data[i-1] == '\t' {
				comment = true
			}
		case '[', '{':
			if startish(i) {
				depth++
				if depth > MaxDepth {
					return depthError(file, line, 0)
				}
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}

func depthError(file string, line, col int) *Error {
	return &Error{File: file, Line: line, Column: col, Limit: LimitDepth,
		Message: fmt.Sprintf("collections nest more than %d deep, the input limit", MaxDepth)}
}

// collectionDepth bounds the nesting of collections from the tokens: flow collections ([ and
// {) by their start and end, block collections (indented maps, "- - - x"), which prescan
// cannot see, by the tokens' columns.
func collectionDepth(file string, tokens token.Tokens) error {
	type level struct {
		col int
		seq bool
	}
	var stack []level
	flow := 0
	for i, tk := range tokens {
		switch tk.Type {
		case token.DocumentHeaderType:
			stack = stack[:0]
			continue
		case token.SequenceStartType, token.MappingStartType:
			flow++
			if flow+len(stack) > MaxDepth && tk.Position != nil {
				return depthError(file, tk.Position.Line, tk.Position.Column)
			}
		case token.SequenceEndType, token.MappingEndType:
			flow--
		}
		if flow > 0 || tk.Position == nil {
			continue
		}
		var col int
		var seq bool
		switch {
		case tk.Type == token.SequenceEntryType:
			col, seq = tk.Position.Column, true
		case tk.Type == token.MappingValueType && i > 0 && tokens[i-1].Position != nil:
			col = tokens[i-1].Position.Column // the key's
		default:
			continue
		}
		for len(stack) > 0 && (stack[len(stack)-1].col > col || (!seq && stack[len(stack)-1].col == col && stack[len(stack)-1].seq)) {
			stack = stack[:len(stack)-1]
		}
		if n := len(stack); n > 0 && stack[n-1].col == col && stack[n-1].seq == seq {
			continue
		}
		stack = append(stack, level{col, seq})
		if len(stack) > MaxDepth {
			return depthError(file, tk.Position.Line, tk.Position.Column)
		}
	}
	return nil
}

// checkAliases counts the nodes the file's aliases stand for, without expanding them: each
// anchor's size is counted once and an alias adds it again.
func checkAliases(file string, f *ast.File) error {
	sizes := map[string]int{}
	var aliased int
	var first *token.Token
	var count func(n ast.Node) int
	count = func(n ast.Node) int {
		if n == nil {
			return 0
		}
		switch x := n.(type) {
		case *ast.DocumentNode:
			return count(x.Body)
		case *ast.MappingNode:
			total := 1
			for _, mv := range x.Values {
				total = sat(total, count(mv))
			}
			return total
		case *ast.MappingValueNode:
			return sat(count(x.Key), count(x.Value))
		case *ast.MappingKeyNode:
			return sat(1, count(x.Value))
		case *ast.SequenceNode:
			total := 1
			for _, v := range x.Values {
				total = sat(total, count(v))
			}
			return total
		case *ast.TagNode:
			return count(x.Value)
		case *ast.AnchorNode:
			c := count(x.Value)
			if x.Name != nil {
				sizes[x.Name.String()] = c
			}
			return c
		case *ast.AliasNode:
			c := 1
			if x.Value != nil {
				if s, ok := sizes[x.Value.String()]; ok {
					c = s
				}
			}
			aliased = sat(aliased, c)
			if first == nil {
				first = x.GetToken()
			}
			return c
		}
		return 1
	}
	for _, d := range f.Docs {
		count(d)
		if aliased > MaxAliasNodes {
			e := &Error{File: file, Limit: LimitAliases,
				Message: fmt.Sprintf("aliases expand to more than %d nodes, the input limit (an alias bomb?)", MaxAliasNodes)}
			if first != nil && first.Position != nil {
				e.Line, e.Column = first.Position.Line, first.Position.Column
			}
			return e
		}
	}
	return nil
}

// sat adds without overflowing: a bomb's count may exceed any int.
func sat(a, b int) int {
	if s := a + b; s >= a && s >= b && s < 1<<40 {
		return s
	}
	return 1 << 40
}
