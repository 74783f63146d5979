// Torn metadata sidecars of a file:// backend (recover.go, case 1): found and removed.

package rollout

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/byoc-access/byoc-access/rollout/backend"
)

// sidecarSettle is how old a sidecar that does not decode must be before it counts as torn: a
// live CLI writes one within microseconds of truncating it.
const sidecarSettle = 2 * time.Second

// stackSidecars are the sidecars of the objects the CLI rewrites in place for a stack (its
// checkpoint in each compression, their backups, its tags) and of the backend's metadata, in
// both backend layouts: a torn meta.yaml sidecar is one of the things to repair, so the layout
// cannot be read first. Lock and history objects get a new name on every write, so a torn
// sidecar of theirs sits beside no object and is never read.
func (r *pass) stackSidecars(dir, stack string) []string {
	out := []string{filepath.Join(dir, filepath.FromSlash(".pulumi/meta.yaml.attrs"))}
	for _, layout := range []backend.Layout{backend.LayoutProject, backend.LayoutLegacy} {
		base := filepath.Join(dir, filepath.FromSlash(layout.StacksPrefix(r.dep.Project)), stack)
		out = append(out, base+".pulumi-tags.attrs")
		for _, ext := range []string{".json", ".json.gz", ".json.zst"} {
			out = append(out, base+ext+".attrs", base+ext+".bak.attrs")
		}
	}
	return out
}

// sidecarOK decodes a sidecar the way fileblob's getAttrs does.
func sidecarOK(b []byte) bool {
	var xa struct {
		CacheControl       string            `json:"user.cache_control"`
		ContentDisposition string            `json:"user.content_disposition"`
		ContentEncoding    string            `json:"user.content_encoding"`
		ContentLanguage    string            `json:"user.content_language"`
		ContentType        string            `json:"user.content_type"`
		Metadata           map[string]string `json:"user.metadata"`
		MD5                []byte            `json:"md5"`
	}
	return json.NewDecoder(bytes.NewReader(b)).Decode(&xa) == nil
}

// repairSidecars removes the torn sidecars of a stack's objects in a file:// backend and
// returns them, relative to the backend. A sidecar that does not decode but was written less
// than sidecarSettle ago may belong to a CLI writing it right now; it is read again once it
// has settled.
func (r *pass) repairSidecars(stack string) []string {
	dir, ok := backend.FileDir(r.opts.Backend)
	if !ok || dir == "" {
		return nil
	}
	var removed []string
	for _, p := range r.stackSidecars(dir, stack) {
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil || sidecarOK(b) {
			continue
		}
		if age := time.Since(info.ModTime()); age < sidecarSettle {
			time.Sleep(sidecarSettle - age)
			if b, err = os.ReadFile(p); err != nil || sidecarOK(b) {
				continue
			}
		}
		// Removing it is what a missing sidecar means to fileblob: default metadata. A CLI
		// that is, against all odds, still writing it writes into the removed file, harmlessly.
		if err := os.Remove(p); err == nil || errors.Is(err, os.ErrNotExist) {
			rel, _ := filepath.Rel(dir, p)
			removed = append(removed, filepath.ToSlash(rel))
		}
	}
	return removed
}
