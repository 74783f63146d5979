package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// accountLog appends to an account's log in the run directory, where the rollout's own
// engine log for the account follows.
func accountLog(runDir string) func(string) io.Writer {
	return func(id string) io.Writer { return appendFile(filepath.Join(runDir, id+".log")) }
}

type appendFile string

func (f appendFile) Write(b []byte) (int, error) {
	if err := os.MkdirAll(filepath.Dir(string(f)), 0o755); err != nil {
		return 0, err
	}
	fh, err := os.OpenFile(string(f), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	return fh.Write(b)
}

// prefixedLog writes each account's command stderr to w, every line prefixed with the
// account, for commands without a run directory (render, verify).
func prefixedLog(w io.Writer) func(string) io.Writer {
	var mu sync.Mutex
	return func(id string) io.Writer {
		return writerFunc(func(b []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			for _, line := range strings.SplitAfter(string(b), "\n") {
				if line != "" {
					if _, err := fmt.Fprintf(w, "%s: %s", id, line); err != nil {
						return 0, err
					}
				}
			}
			if !bytes.HasSuffix(b, []byte("\n")) && len(b) > 0 {
				fmt.Fprintln(w)
			}
			return len(b), nil
		})
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
