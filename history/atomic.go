package history

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes path through a temporary file in the same directory
// and renames it into place, so readers (and a crash) see either the old
// file or the complete new one, never a partial write. The rename must stay
// within one file system, hence the same directory.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriter(f)
	if err = write(bw); err != nil {
		return fmt.Errorf("history: writing %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("history: writing %s: %w", path, err)
	}
	// CreateTemp makes the file 0600; logs and plots are meant to be read by
	// others, like files from os.Create.
	if err = f.Chmod(0o644); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	// Without the sync, a power loss after the rename can leave an empty
	// file under the final name.
	if err = f.Sync(); err != nil {
		return fmt.Errorf("history: syncing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("history: closing %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}
