package batch

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ReadList reads a sheet list: one path per line; blank lines and lines
// starting with # are skipped; relative paths are relative to the list's
// folder, so a list travels with its sheets.
func ReadList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var sheets []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !filepath.IsAbs(line) {
			line = filepath.Join(filepath.Dir(path), line)
		}
		sheets = append(sheets, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(sheets) == 0 {
		return nil, fmt.Errorf("%s: lists no sheets", path)
	}
	return sheets, nil
}
