package inputfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Limits of what one input file may cost to read. They are far above what a vendor spec, a
// CloudFormation template (CloudFormation itself takes at most 1 MB) or the accounts of the
// largest organizations need, and far below what takes a machine down.
const (
	// MaxBytes is the size of a file.
	MaxBytes = 4 << 20
	// MaxItems is the number of YAML collection entries and flow indicators (",", "[", "{",
	// "- ", ": ") in a file: the YAML library's time and memory follow it, not the size.
	MaxItems = 200_000
	// MaxDepth is how deeply collections may nest.
	MaxDepth = 64
	// MaxAliasNodes is how many nodes aliases (*name, <<: *name) may add when expanded.
	MaxAliasNodes = 10_000
)

// Limit names the limit a file broke, for callers that branch on it.
type Limit string

// The limits an *Error can name.
const (
	LimitSize    Limit = "size"
	LimitItems   Limit = "items"
	LimitDepth   Limit = "depth"
	LimitAliases Limit = "aliases"
	LimitUTF8    Limit = "utf-8"
)

// Error is an input that breaks a limit or is not UTF-8 text.
type Error struct {
	// File is the file as the user named it.
	File string
	// Line and Column are where the problem is, 1-based; 0 when it is the file as a whole.
	Line, Column int
	// Limit is the limit broken.
	Limit Limit
	// Message says what is wrong and the limit.
	Message string
}

func (e *Error) Error() string {
	pos := e.File
	if e.Line > 0 {
		pos = fmt.Sprintf("%s:%d", pos, e.Line)
		if e.Column > 0 {
			pos = fmt.Sprintf("%s:%d", pos, e.Column)
		}
	}
	return pos + ": " + e.Message
}

// ReadFile reads a file of at most MaxBytes that is UTF-8 text. A larger file is refused
// without being read: it may be a device or a pipe that never ends.
func ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxBytes {
		return nil, sizeError(path, st.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBytes {
		return nil, sizeError(path, -1)
	}
	if err := CheckText(path, data); err != nil {
		return nil, err
	}
	return data, nil
}

func sizeError(file string, size int64) *Error {
	what := "the file is"
	if size >= 0 {
		what = fmt.Sprintf("the file is %s,", mib(size))
	}
	return &Error{File: file, Limit: LimitSize, Message: fmt.Sprintf("%s over the input limit of %s", what, mib(MaxBytes))}
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// CheckText refuses data that is not UTF-8, naming the line and column of the first bad byte.
func CheckText(file string, data []byte) error {
	if utf8.Valid(data) {
		return nil
	}
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return &Error{File: file, Line: line, Column: col, Limit: LimitUTF8,
				Message: fmt.Sprintf("byte 0x%02x is not UTF-8 text: save the file as UTF-8", data[i])}
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += n
	}
	return nil
}

// IsLimit reports whether err is, or wraps, an *Error.
func IsLimit(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// checkCtx is the context's error, named for the file being read.
func checkCtx(ctx context.Context, file string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: reading stopped: %w", file, err)
	}
	return nil
}
