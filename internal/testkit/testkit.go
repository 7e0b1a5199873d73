// Package testkit holds what tests across tfrun share: the project's shared
// data set, which CI has and a developer's checkout may lack, and error
// checks that want the file and the problem named.
package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Shared returns a file of the shared data set (../shared/data next to the
// repository), skipping the test where it is absent. The repository root is
// found from the test's folder, so packages at any depth agree.
func Shared(t testing.TB, rel string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod above %s", dir)
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", filepath.FromSlash(rel))
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared data %s not available (needs ../shared next to the repository): %v", rel, err)
	}
	return p
}

// WantErr fails unless err is an error mentioning every one of substrs.
func WantErr(t testing.TB, err error, substrs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one mentioning %q", substrs)
	}
	for _, s := range substrs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
}
